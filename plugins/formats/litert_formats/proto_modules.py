"""Message classes of a compiled protobuf schema, for the generated ``*_pb2`` modules of the formats plugin.

Each ``*_pb2.py`` beside a ``.proto`` (Caffe, TF GraphDef and SavedModel, MindIR) holds only that schema's
serialized ``FileDescriptorProto``, written by ``tools/gen_proto_modules.py``; :func:`build_module` turns it
into the module's message and enum classes and constants the way protoc's own Python output does, so the
generated modules share one builder instead of each carrying a copy of protoc's.

ONNX's schema is built in a pool of its own (``private=True``): the ``onnx`` package registers the same
``onnx.*`` names in the default pool, and litert reads ONNX files without importing it, so the two must
not meet in one pool (a duplicate-symbol error, whichever is imported second).

A private schema under protobuf's upb runtime (the default since protobuf 4.21) is built straight on the
upb extension (:func:`_build_upb`): protobuf's ``builder`` imports ``descriptor_pool`` and through it the
pure-Python message implementation (``python_message``, ``text_format``, ``well_known_types``, which
imports ``calendar`` and ``locale``), which the upb runtime never uses: ~5 ms of CPU of every process's
first ONNX load on a 2-vCPU Zen 4.  Its result is the builder's, name for name
(``plugins/formats/tests/test_proto_modules.py``); other runtimes, and the shared default pool, take the
builder.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import message
from google.protobuf.internal import api_implementation, enum_type_wrapper


def build_module(namespace: dict[str, object], serialized_file: bytes, private: bool = False) -> None:
    """Register one schema file in protobuf's default pool (or, ``private``, in a new pool of its own) and fill
    ``namespace`` (a module's globals) with ``DESCRIPTOR``, its messages, enums and enum values; the schemas it
    imports must be built first (in the default pool: a private schema imports none)."""
    if private and _upb_runtime():
        _build_upb(namespace, serialized_file)
        return
    from google.protobuf import descriptor_pool
    from google.protobuf.internal import builder

    pool = descriptor_pool.DescriptorPool() if private else descriptor_pool.Default()
    descriptor = pool.AddSerializedFile(serialized_file)
    namespace["DESCRIPTOR"] = descriptor
    builder.BuildMessageAndEnumDescriptors(descriptor, namespace)
    builder.BuildTopDescriptorsAndMessages(descriptor, str(namespace["__name__"]), namespace)


def _upb_runtime() -> bool:
    return api_implementation.Type() == "upb"


def _build_upb(namespace: dict[str, object], serialized_file: bytes) -> None:
    """What ``builder.BuildMessageAndEnumDescriptors`` and ``BuildTopDescriptorsAndMessages`` put in a module,
    made with the upb extension's own pool and message metaclass (protobuf's ``GeneratedProtocolMessageType``
    under upb is that metaclass with nothing added)."""
    from google._upb import _message as upb

    descriptor = upb.DescriptorPool().AddSerializedFile(serialized_file)
    namespace["DESCRIPTOR"] = descriptor
    module = str(namespace["__name__"])

    def descriptors(msg: Any, prefix: str) -> None:
        for name, nested in msg.nested_types_by_name.items():
            namespace[prefix + name.upper()] = nested
            descriptors(nested, prefix + name.upper() + "_")
        for enum in msg.enum_types:
            namespace[prefix + enum.name.upper()] = enum

    def make_class(msg: Any, prefix: str) -> type:
        body: dict[str, Any] = {name: make_class(nested, prefix + msg.name + ".")
                                for name, nested in msg.nested_types_by_name.items()}
        body.update(DESCRIPTOR=msg, __module__=module, __qualname__=prefix + msg.name)
        cls: type = upb.MessageMeta(msg.name, (message.Message,), body)
        return cls

    for name, msg in descriptor.message_types_by_name.items():
        namespace["_" + name.upper()] = msg
        descriptors(msg, "_" + name.upper() + "_")
    for name, enum in descriptor.enum_types_by_name.items():
        namespace["_" + name.upper()] = enum
        namespace[name] = enum_type_wrapper.EnumTypeWrapper(enum)
        for value in enum.values:
            namespace[value.name] = value.number
    for name, extension in descriptor.extensions_by_name.items():
        namespace[name.upper() + "_FIELD_NUMBER"] = extension.number
        namespace[name] = extension
    for name, service in descriptor.services_by_name.items():
        namespace["_" + name.upper()] = service
    for name, msg in descriptor.message_types_by_name.items():
        namespace[name] = make_class(msg, "")
