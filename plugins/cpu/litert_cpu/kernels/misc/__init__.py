"""Control-flow, sequence, optional, training and ML-domain kernels (see :mod:`litert_cpu.kernels`)."""
