"""Inputs for a benchmark: seeded random tensors, or files.

Random inputs take dtype and shape from ``session.inputs``; symbolic
dimensions must have been fixed (``input_shapes`` at load, ``--input-shapes``
on the command line).  Floats are uniform in [-1, 1), integers uniform in
[0, 4) (small, so that index-like inputs stay in range), booleans fair coins.

Files (``--in-data``), taken in the order given:

* ``.npz``: tensors keyed by input name;
* ``.npy``: one tensor, for the next input not yet given;
* anything else (``.bin``): MindSpore Lite's raw flattened buffer, in the
  input's dtype and static shape, for the next input not yet given.
"""
from __future__ import annotations

import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..ir import DType
from .result import InputSpec

if TYPE_CHECKING:
    from ..runtime.session import Session, TensorInfo

_NPZ_MAGIC = b"PK\x03\x04"
_NPY_MAGIC = b"\x93NUMPY"


#: what numpy raises on a corrupt, truncated or pickled .npy/.npz
_UNREADABLE = (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile)


def read_array_file(path: Path) -> np.ndarray | dict[str, np.ndarray]:
    """A ``.npy`` array or every array of a ``.npz``, read completely now (``.npz`` members are
    lazy in numpy); a corrupt, truncated or pickled file is an :class:`InputError`."""
    try:
        data = np.load(path, allow_pickle=False)
        if isinstance(data, np.ndarray):
            return data
        with data:
            return {k: data[k] for k in data.files}
    except _UNREADABLE as err:
        raise InputError(f"input file {path}: not a readable .npy/.npz ({type(err).__name__}: {err})") from None


def _single_array(path: Path) -> np.ndarray:
    """The array of a ``.npy`` file (an archive here is an :class:`InputError`)."""
    data = read_array_file(path)
    if isinstance(data, dict):
        raise InputError(f"input file {path}: expected one array (.npy), got an archive")
    return data


def concrete_shape(info: TensorInfo) -> tuple[int, ...]:
    """The static shape of a ``TensorInfo``, or an error telling how to fix its symbolic dims."""
    if info.shape is None or any(not isinstance(d, int) for d in info.shape):
        dims = "?" if info.shape is None else ",".join(str(d) for d in info.shape)
        raise InputError(
            f"input {info.name!r} has dimensions [{dims}] that are not all known; give them with "
            f"--input-shapes {info.name}:d0,d1,... (input_shapes= in Python) or pass input data"
        )
    return tuple(d for d in info.shape if isinstance(d, int))


def random_inputs(session: Session, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random tensors of the dtype and shape of each model input."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for info in session.inputs:
        shape = concrete_shape(info)
        dtype = info.dtype or DType.FLOAT32
        if dtype is DType.STRING:
            raise InputError(f"input {info.name!r} is a string tensor: random data cannot be made, give --in-data")
        np_dtype = dtype.numpy
        if dtype is DType.BOOL:
            feeds[info.name] = rng.random(shape) < 0.5
        elif dtype.is_float:
            feeds[info.name] = rng.uniform(-1.0, 1.0, shape).astype(np_dtype)
        else:
            feeds[info.name] = rng.integers(0, 4, shape).astype(np_dtype)
    return feeds


def load_input_files(paths: Sequence[str | Path], session: Session) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Feeds from ``.npz``/``.npy``/raw ``.bin`` files (see the module docstring), and the file of each."""
    infos = {i.name: i for i in session.inputs}
    order = list(infos)
    feeds: dict[str, np.ndarray] = {}
    sources: dict[str, str] = {}

    def next_input(path: Path) -> str:
        pending = [n for n in order if n not in feeds]
        if not pending:
            raise InputError(f"input file {path}: the model's {len(order)} input(s) ({', '.join(order)}) are all given")
        return str(pending[0])

    for raw in paths:
        path = Path(raw)
        if not path.is_file():
            raise InputError(f"input file {path} does not exist")
        with open(path, "rb") as f:
            head = f.read(8)
        try:
            if head.startswith(_NPZ_MAGIC):
                arrays = read_array_file(path)
                unknown = [k for k in arrays if k not in infos]
                if unknown:
                    raise InputError(f"input file {path}: {unknown[0]!r} is not a model input "
                                     f"(inputs: {', '.join(order)})")
                feeds.update(arrays)
                sources.update({k: str(path) for k in arrays})
            else:
                name = next_input(path)
                is_npy = head.startswith(_NPY_MAGIC)
                feeds[name] = _single_array(path) if is_npy else _read_raw(path, infos[name])
                sources[name] = str(path)
        except (ValueError, OSError) as err:
            raise InputError(f"input file {path}: not readable ({err})") from None
    missing = [n for n in order if n not in feeds]
    if missing:
        raise InputError(f"no data for input {missing[0]!r} (inputs in order: {', '.join(order)})")
    return feeds, sources


def _read_raw(path: Path, info: TensorInfo) -> np.ndarray:
    dtype = (info.dtype or DType.FLOAT32).numpy
    shape = concrete_shape(info)
    data = np.fromfile(path, dtype=np.uint8)
    expected = int(np.prod(shape)) * dtype.itemsize
    if data.size != expected:
        raise InputError(
            f"input file {path}: {data.size} bytes, but input {info.name!r} ({info.dtype} {list(shape)}) "
            f"needs {expected} bytes (raw buffers have no header; .npy/.npz carry dtype and shape)"
        )
    return data.view(dtype).reshape(shape)


def resolve_inputs(session: Session, inputs: Any, seed: int) -> tuple[dict[str, np.ndarray], list[InputSpec]]:
    """Feeds for ``session`` from ``inputs`` (None, arrays or file paths) and how each was made."""
    if inputs is None:
        feeds = random_inputs(session, seed)
        sources = {name: f"random (seed {seed})" for name in feeds}
    elif isinstance(inputs, (str, Path)) or (isinstance(inputs, Sequence) and inputs
                                             and all(isinstance(p, (str, Path)) for p in inputs)):
        paths = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
        feeds, sources = load_input_files(paths, session)
    elif isinstance(inputs, Mapping):
        feeds = {k: np.asarray(v) for k, v in inputs.items()}
        sources = {name: "given" for name in feeds}
    else:
        names = [i.name for i in session.inputs]
        arrays = list(inputs)
        if len(arrays) != len(names):
            raise InputError(f"model takes {len(names)} input(s) ({', '.join(names)}), got {len(arrays)}")
        feeds = {n: np.asarray(a) for n, a in zip(names, arrays)}
        sources = {name: "given" for name in feeds}
    specs = [InputSpec(name, str(array.dtype), [int(d) for d in array.shape], sources.get(name, "given"))
             for name, array in feeds.items()]
    return feeds, specs

