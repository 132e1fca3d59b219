"""litert's MindSpore MindIR (``.mindir``) format: reader and writer.

The protobuf schema is litert's own ``mind_ir.proto`` (wire-compatible with
MindSpore's); ``mind_ir_pb2.py`` is generated from it and committed.
"""
from .reader import MindirFrontend

__all__ = ["MindirFrontend", "MindirSerializer"]


def __getattr__(name):
    if name == "MindirSerializer":
        from .writer import MindirSerializer

        return MindirSerializer
    raise AttributeError(name)
