"""Elementwise, activation, reduction and cast kernels (see :mod:`litert_cpu.kernels`)."""
