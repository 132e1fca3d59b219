"""litert mindir format."""
