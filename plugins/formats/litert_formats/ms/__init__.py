"""litert ms format."""
