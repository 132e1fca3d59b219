"""Message classes of a compiled protobuf schema, for the generated ``*_pb2`` modules of the formats plugin.

Each ``*_pb2.py`` beside a ``.proto`` (Caffe, TF GraphDef and SavedModel, MindIR) holds only that schema's
serialized ``FileDescriptorProto``, written by ``tools/gen_proto_modules.py``; :func:`build_module` turns it
into the module's message and enum classes and constants the way protoc's own Python output does, so the
generated modules share one builder instead of each carrying a copy of protoc's.
"""

from __future__ import annotations

from google.protobuf import descriptor_pool
from google.protobuf.internal import builder


def build_module(namespace: dict[str, object], serialized_file: bytes) -> None:
    """Register one schema file in protobuf's default pool and fill ``namespace`` (a module's globals)
    with ``DESCRIPTOR``, its messages, enums and enum values; the schemas it imports must be built first."""
    descriptor = descriptor_pool.Default().AddSerializedFile(serialized_file)
    namespace["DESCRIPTOR"] = descriptor
    builder.BuildMessageAndEnumDescriptors(descriptor, namespace)
    builder.BuildTopDescriptorsAndMessages(descriptor, str(namespace["__name__"]), namespace)
