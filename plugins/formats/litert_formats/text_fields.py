"""Find string fields of a parsed protobuf message that are not valid text.

ONNX and MindIR are proto2 schemas: their ``string`` fields are not checked
for UTF-8 when parsed, and the Python runtime then hands back ``bytes``
instead of ``str`` (or a ``str`` with lone surrogates).  Readers call
:func:`first_bad_text` once, right after parsing, and refuse the file with
a typed error instead of meeting a ``TypeError`` deep inside.
"""
from __future__ import annotations

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

_STRING = FieldDescriptor.TYPE_STRING
_BYTES = FieldDescriptor.TYPE_BYTES
_MESSAGE = (FieldDescriptor.TYPE_MESSAGE, FieldDescriptor.TYPE_GROUP)


def _repeated(field: FieldDescriptor) -> bool:
    flag = getattr(field, "is_repeated", None)  # protobuf >= 6; ``label`` before (removed in 7)
    return bool(flag) if flag is not None else field.label == FieldDescriptor.LABEL_REPEATED


def _bad(value) -> bool:
    if not isinstance(value, str):
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _all_text(values) -> bool:
    """True when every item is valid text: one join and one encode (this runs on every string of a model)."""
    try:
        "".join(values).encode("utf-8")
    except (TypeError, UnicodeEncodeError):
        return False
    return True


def first_bad_text(message: Message, path: str = "") -> str | None:
    """The dotted path of the first string field of ``message`` that is not valid UTF-8, else None."""
    found = _first_bad(message)
    return None if found is None else (f"{path}.{found}" if path else found)


#: per field descriptor: (0 string | 1 message | 2 anything else, repeated); descriptors are few, fields many
_KINDS: dict[FieldDescriptor, tuple[int, bool]] = {}


def _kind(field: FieldDescriptor) -> tuple[int, bool]:
    found = _KINDS.get(field)
    if found is None:
        if field.type == _STRING:
            kind = 0
        # a map's entry type has options (map_entry); asking only then: GetOptions imports descriptor_pb2,
        # milliseconds of a process's first load
        elif field.type in _MESSAGE and not (field.message_type.has_options and field.message_type.GetOptions().map_entry):
            kind = 1
        else:
            kind = 2
        found = _KINDS[field] = (kind, _repeated(field))
    return found


#: per message type holding a ``bytes`` field: its string and message fields, by field number (else None)
_TEXT_FIELDS: dict[Descriptor, tuple[FieldDescriptor, ...] | None] = {}


def _text_fields(descriptor: Descriptor) -> tuple[FieldDescriptor, ...] | None:
    """The fields :func:`_first_bad` must look at in a message of this type, when the type has a ``bytes``
    field (a TensorProto's ``raw_data``): ``ListFields`` would hand back a copy of every byte of it, the
    weights of a whole model.  None for types without one (``ListFields`` is cheaper then)."""
    if descriptor not in _TEXT_FIELDS:
        fields = sorted(descriptor.fields, key=lambda f: f.number)
        has_bytes = any(f.type == _BYTES for f in fields)
        _TEXT_FIELDS[descriptor] = tuple(f for f in fields if _kind(f)[0] != 2) if has_bytes else None
    return _TEXT_FIELDS[descriptor]


def _set_fields(message: Message) -> list:
    """``message.ListFields()`` without its ``bytes`` fields (see :func:`_text_fields`)."""
    wanted = _text_fields(message.DESCRIPTOR)
    if wanted is None:
        return message.ListFields()
    found = []
    for field in wanted:
        if _kind(field)[1]:
            value = getattr(message, field.name)
            if len(value):
                found.append((field, value))
        elif message.HasField(field.name):
            found.append((field, getattr(message, field.name)))
    return found


def _first_bad(message: Message) -> str | None:
    """The path inside ``message`` of its first bad string (paths are built only on the way out of a find:
    this runs over every node of a model)."""
    for field, value in _set_fields(message):
        kind, repeated = _KINDS.get(field) or _kind(field)
        if kind == 0:
            if _all_text(list(value) if repeated else [value]):
                continue
            for index, item in enumerate(value if repeated else [value]):
                if _bad(item):
                    return f"{field.name}[{index}]" if repeated else field.name
        elif kind == 1:
            for index, item in enumerate(value if repeated else [value]):
                found = _first_bad(item)
                if found:
                    return f"{field.name}[{index}].{found}" if repeated else f"{field.name}.{found}"
    return None
