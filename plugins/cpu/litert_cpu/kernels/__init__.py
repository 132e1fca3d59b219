"""Importing this package fills :data:`litert_cpu.kernels._registry.KERNELS`.

Kernels are grouped in four families, one module per operator or small
operator family inside each: ``nn`` (convolution, pooling, normalisation,
matrix products, attention, recurrent, quantised), ``math`` (elementwise,
activations, reductions, casts), ``tensor`` (shape and indexing, generators,
signal, random, strings) and ``misc`` (control flow, sequences, optionals,
training and ML-domain operators).
"""
from . import math, misc, nn, tensor  # noqa: F401
from ._base import Kernel, KernelContext

__all__ = ["Kernel", "KernelContext"]
