"""litert's MindSpore MindIR (``.mindir``) format: reader and writer.

The protobuf schema is litert's own ``mind_ir.proto`` (wire-compatible with
MindSpore's); ``mind_ir_pb2.py`` is generated from it and committed.
"""
from ..lazy import lazy_exports

__all__ = ["MindirFrontend", "MindirSerializer"]
__getattr__ = lazy_exports(__name__, {"MindirFrontend": ".reader", "MindirSerializer": ".writer"})
