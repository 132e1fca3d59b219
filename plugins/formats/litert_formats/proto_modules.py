"""Message classes of a compiled protobuf schema, for the generated ``*_pb2`` modules of the formats plugin.

Each ``*_pb2.py`` beside a ``.proto`` (Caffe, TF GraphDef and SavedModel, MindIR) holds only that schema's
serialized ``FileDescriptorProto``, written by ``tools/gen_proto_modules.py``; :func:`build_module` turns it
into the module's message and enum classes and constants the way protoc's own Python output does, so the
generated modules share one builder instead of each carrying a copy of protoc's.

ONNX's schema is built in a pool of its own (``private=True``): the ``onnx`` package registers the same
``onnx.*`` names in the default pool, and litert reads ONNX files without importing it, so the two must
not meet in one pool (a duplicate-symbol error, whichever is imported second).
"""

from __future__ import annotations

from google.protobuf import descriptor_pool
from google.protobuf.internal import builder


def build_module(namespace: dict[str, object], serialized_file: bytes, private: bool = False) -> None:
    """Register one schema file in protobuf's default pool (or, ``private``, in a new pool of its own) and fill
    ``namespace`` (a module's globals) with ``DESCRIPTOR``, its messages, enums and enum values; the schemas it
    imports must be built first (in the default pool: a private schema imports none)."""
    pool = descriptor_pool.DescriptorPool() if private else descriptor_pool.Default()
    descriptor = pool.AddSerializedFile(serialized_file)
    namespace["DESCRIPTOR"] = descriptor
    builder.BuildMessageAndEnumDescriptors(descriptor, namespace)
    builder.BuildTopDescriptorsAndMessages(descriptor, str(namespace["__name__"]), namespace)
