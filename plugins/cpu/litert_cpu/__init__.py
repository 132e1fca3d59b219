"""litert's CPU backend: numpy + numexpr kernels for the litert core."""
