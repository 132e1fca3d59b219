"""litert's MindSpore MindIR (``.mindir``) format: reader and writer.

The protobuf schema is litert's own ``mind_ir.proto`` (wire-compatible with
MindSpore's); ``mind_ir_pb2.py`` is generated from it and committed.
"""

__all__ = ["MindirFrontend", "MindirSerializer"]


def __getattr__(name):
    # imported on first use: registering the format must not load the reader (see ..lazy)
    if name == "MindirFrontend":
        from .reader import MindirFrontend

        return MindirFrontend
    if name == "MindirSerializer":
        from .writer import MindirSerializer

        return MindirSerializer
    raise AttributeError(name)
