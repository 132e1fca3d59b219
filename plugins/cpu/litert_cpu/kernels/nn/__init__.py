"""Convolution, pooling, normalisation, matrix-product, attention, recurrent and quantised kernels
(see :mod:`litert_cpu.kernels`)."""
