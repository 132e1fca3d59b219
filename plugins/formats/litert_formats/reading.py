"""What every format reader does around its operator readers, in one place.

A reader turns a file's operators into IR nodes one by one; around that loop
each of them checks the same things the same way: the names given in
``input_shapes`` are model inputs, an operator reader's Python error on
values no converter writes is a :class:`~litert.errors.ModelLoadError` saying
where, a protobuf file that does not parse is one too; and the model it
returns is a graph in litert's operator set (:func:`translated_model`).

A frontend's ``load`` gets a :class:`~pathlib.Path` and a
:class:`~litert.formats.LoadOptions` (``litert.runtime.loading.read_model``
makes them from what the caller gave): the frontends do not convert them again.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from litert.errors import InputError, LitertError, ModelLoadError
from litert.formats import LoadOptions
from litert.ir import Graph, Layout, Model
from litert.schema import schemas

#: what an operator reader may raise on values no converter writes (a wrong-rank weight, a bad perm...)
MALFORMED = (ValueError, IndexError, KeyError, TypeError, ZeroDivisionError, OverflowError)


@contextmanager
def malformed_as_load_error(where: str) -> Iterator[None]:
    """Run a reader step: a litert error passes as it is; a :data:`MALFORMED` one becomes a
    ``ModelLoadError("<where> (<type>: <message>)")`` without the reader's traceback (the file is at fault)."""
    try:
        yield
    except LitertError:
        raise
    except MALFORMED as err:
        raise ModelLoadError(f"{where} ({type(err).__name__}: {err})") from None


def translated_model(graph: Graph, source_format: str, producer: str, metadata: dict[str, str]) -> Model:
    """The model a frontend read from a format with its own operator set: its graph has been translated into
    litert's, the latest ONNX default opset, whatever the source's own versioning (ONNX keeps its models')."""
    return Model(graph=graph, opsets={"": schemas().latest_opset()}, producer=producer, source_format=source_format,
                 metadata=metadata)


def check_input_shapes(options: LoadOptions, graph: Graph) -> None:
    """Refuse ``input_shapes`` entries that name no input of ``graph``."""
    unknown = sorted(set(options.input_shapes) - set(graph.inputs))
    if unknown:
        raise InputError(f"input_shapes names {unknown}; the model's inputs are {graph.inputs}")


def histogram_text(counts: Counter[str]) -> str:
    """``"Conv 12, Relu 9, Add 3"``: the most frequent first, ties in first-seen order (a model's operator line)."""
    return ", ".join(f"{k} {v}" for k, v in counts.most_common())


def symbolic_dims(name: str, dims: Iterable[int]) -> tuple[int | str, ...]:
    """A stored shape with each unknown (negative) dim named ``<name>_d<i>``."""
    return tuple(d if d >= 0 else f"{name}_d{i}" for i, d in enumerate(dims))


def declare_input(graph: Graph, options: LoadOptions, name: str, dims: Iterable[int] | None, nhwc: bool) -> None:
    """Value ``name`` becomes a graph input of the file's ``dims`` (:func:`symbolic_dims`; None: unknown), NHWC
    when it is 4-D and the file says ``nhwc``; a shape in ``options.input_shapes`` replaces the file's."""
    value = graph.value(name)
    value.shape = symbolic_dims(name, dims) if dims is not None else None
    if nhwc and value.shape is not None and len(value.shape) == 4:
        value.layout = Layout.NHWC
    if name in options.input_shapes:
        value.shape = tuple(options.input_shapes[name])
    graph.inputs.append(name)


class _NamedTensor(Protocol):
    name: str
    index: int


def unique_tensor_names(tensors: Iterable[_NamedTensor], prefix: str = "") -> dict[int, str]:
    """``{tensor index: IR name}``: the tensor's own name, or with its index when empty or repeated; all unique."""
    tensors = list(tensors)
    used = Counter(t.name for t in tensors)
    taken: set[str] = set()
    names: dict[int, str] = {}
    for t in tensors:
        name = prefix + (t.name if t.name and used[t.name] == 1 else f"{t.name or 'tensor'}_{t.index}")
        while name in taken:
            name = f"{name}_{t.index}"
        taken.add(name)
        names[t.index] = name
    return names


class _Parsable(Protocol):
    def ParseFromString(self, data: bytes) -> Any: ...


Message = TypeVar("Message", bound=_Parsable)


def read_message(path: Path, message: Message, what: str, errors: tuple[type[BaseException], ...], *,
                 missing: str = "model file", detail: Callable[[Any], str] = str) -> Message:
    """``message`` (a protobuf message) parsed from the binary file ``path``.

    A missing (``no such <missing>``), empty or unparsable file (``not a <what> (<detail(error)>)``, for the
    ``errors`` the parser raises) is a :class:`~litert.errors.ModelLoadError`."""
    if not path.is_file():
        raise ModelLoadError(f"{path}: no such {missing}")
    data = path.read_bytes()
    if not data:
        raise ModelLoadError(f"{path}: empty file")
    try:
        message.ParseFromString(data)
    except errors as err:
        raise ModelLoadError(f"{path}: not a {what} ({detail(err)})") from None
    return message
