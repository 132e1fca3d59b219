"""The ``litert`` command line."""
