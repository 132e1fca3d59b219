"""The numpy kernels of the CPU backend, looked up in :data:`litert_cpu.kernels._registry.KERNELS`.

Kernels are grouped in four families, one module per operator or small
operator family inside each: ``nn`` (convolution, pooling, normalisation,
matrix products, attention, recurrent, quantised), ``math`` (elementwise,
activations, reductions, casts), ``tensor`` (shape and indexing, generators,
signal, random, strings) and ``misc`` (control flow, sequences, optionals,
training and ML-domain operators).  Importing this package imports no kernel
module: the table imports one the first time one of its kernels is asked for
(:func:`~litert_cpu.kernels._registry.load_all` imports them all).
"""
from ._base import Kernel, KernelContext

__all__ = ["Kernel", "KernelContext"]
