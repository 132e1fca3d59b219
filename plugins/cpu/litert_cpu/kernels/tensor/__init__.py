"""Shape, indexing, generator, signal, random and string kernels (see :mod:`litert_cpu.kernels`)."""
