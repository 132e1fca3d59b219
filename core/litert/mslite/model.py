"""``Model``: build a model file for a context, fill its input tensors, predict.

A Model is one :class:`litert.Session`.  ``build_from_file`` checks its
arguments as MindSpore Lite does (TypeError, then RuntimeError for a missing
file or a failed build) and also checks that ``model_type`` matches the file
(MindSpore Lite refuses a ``.ms`` built as ``ModelType.MINDIR``).
"""
from __future__ import annotations

import configparser
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..convert import INPUT_FORMAT_KEY
from ..errors import LitertError
from ._checks import MSLiteRuntimeError, MSLiteTypeError, MSLiteValueError, check_config_dict, check_type
from .context import Context, OptionIgnoredWarning
from .enums import DATA_TYPE_OF_NUMPY, FRONTEND_OF_MODEL_TYPE, DataType, Format, ModelType, data_type_of
from .tensor import Tensor

if TYPE_CHECKING:
    from ..runtime.session import Session

#: input layouts litert's .ms reader records
_FORMAT_OF_LAYOUT = {"NHWC": Format.NHWC, "NCHW": Format.NCHW}


def load_session(model_path: Any, model_type: Any, context: Context | None, what: str) -> Session:
    """The litert Session for a model file; argument and file checks as MindSpore Lite makes them."""
    import litert

    from ..runtime.loading import find_frontend

    check_type("model_path", model_path, str)
    if model_type is not None:
        check_type("model_type", model_type, ModelType)
    context = Context() if context is None else context
    check_type("context", context, Context)
    if not os.path.exists(model_path):
        raise MSLiteRuntimeError(f"{what} failed, model_path does not exist: {model_path}")
    options = context.session_options()
    try:
        frontend = find_frontend(Path(model_path))
        if model_type is not None and frontend.name != FRONTEND_OF_MODEL_TYPE[model_type]:
            raise MSLiteRuntimeError(f"{what} failed: {model_path} is a {frontend.name} model, but model_type is "
                                     f"{model_type} (which reads {FRONTEND_OF_MODEL_TYPE[model_type]} files)")
        return litert.load(model_path, devices=options.devices, threads=options.threads, fmk=frontend.name)
    except MSLiteRuntimeError:
        raise
    except LitertError as err:
        raise MSLiteRuntimeError(f"{what} failed! {err}") from err
    except OSError as err:  # a directory, an unreadable file
        raise MSLiteRuntimeError(f"{what} failed! {model_path}: {err.strerror or err}") from err


def read_config(config_path: str, config_dict: dict[str, dict[str, str]] | None, what: str) -> None:
    """Check a runtime config file and dict; each section litert does not apply gives a warning."""
    check_type("config_path", config_path, str)
    sections: list[str] = []
    if config_path:
        if not os.path.exists(config_path):
            raise MSLiteRuntimeError(f"{what} failed, config_path does not exist: {config_path}")
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        try:
            parser.read(config_path)
        except configparser.Error as err:
            raise MSLiteRuntimeError(f"load configuration failed! {config_path}: {err}") from None
        sections += parser.sections()
    if config_dict is not None:
        sections += list(check_config_dict("config_dict", config_dict))
    for section in dict.fromkeys(sections):
        warnings.warn(f"litert.mslite: config section [{section}] is not applied by litert: ignored",
                      OptionIgnoredWarning, stacklevel=3)


def input_tensors(session: Session) -> list[Tensor]:
    """Fresh input tensors of a session (zero data), in input order; a dynamic dim shows as -1."""
    layout = _FORMAT_OF_LAYOUT.get(session.model.metadata.get(INPUT_FORMAT_KEY, ""), Format.NCHW)
    tensors = []
    for info in session.inputs:
        shape = [d if isinstance(d, int) else -1 for d in (info.shape or ())]
        tensors.append(Tensor._of(info.name, shape, data_type_of(info.dtype), layout if len(shape) == 4
                                  else Format.NCHW))
    return tensors


def declared_outputs(session: Session) -> list[Tensor]:
    """Output tensors without data: names, dtypes and shapes as the model declares them (-1 where unknown)."""
    tensors = []
    for info in session.outputs:
        shape = [d if isinstance(d, int) else -1 for d in (info.shape or ())]
        tensors.append(Tensor._of(info.name, shape, data_type_of(info.dtype), Format.DEFAULT))
    return tensors


def feed_of(inputs: Any, session: Session) -> list[np.ndarray]:
    """The arrays to run, from a list of Tensors (or numpy arrays, as MindSpore Lite 2.1+ accepts)."""
    if not isinstance(inputs, (list, tuple)):
        raise MSLiteTypeError(f"inputs must be list or tuple, but got {type(inputs).__name__}.")
    wanted = session.inputs
    if len(inputs) != len(wanted):
        raise MSLiteRuntimeError(f"predict failed: the model takes {len(wanted)} input(s) "
                                 f"({', '.join(i.name for i in wanted)}), got {len(inputs)}")
    arrays = []
    for index, (item, info) in enumerate(zip(inputs, wanted)):
        if isinstance(item, Tensor):
            array = item.get_data_to_numpy()
        elif isinstance(item, np.ndarray):
            array = item
        else:
            raise MSLiteTypeError(f"inputs element must be Tensor or numpy.ndarray, but got "
                                  f"{type(item).__name__} at index {index}.")
        if info.shape is not None and (len(info.shape) != array.ndim or any(
                isinstance(d, int) and d != g for d, g in zip(info.shape, array.shape))):
            dims = [d if isinstance(d, int) else -1 for d in info.shape]
            raise MSLiteRuntimeError(f"predict failed: input {index} ({info.name!r}) has shape {list(array.shape)}, "
                                     f"the model expects {dims}; call resize() for other shapes")
        arrays.append(array)
    return arrays


def output_tensors(session: Session, arrays: Sequence[np.ndarray], outputs: Any = None) -> list[Tensor]:
    """Output Tensors holding ``arrays``; filled into the caller's ``outputs`` tensors when given."""
    names = [info.name for info in session.outputs]
    if outputs is None:
        outputs = [Tensor() for _ in arrays]
    else:
        if not isinstance(outputs, list):
            raise MSLiteTypeError(f"outputs must be list, but got {type(outputs).__name__}.")
        for index, item in enumerate(outputs):
            if not isinstance(item, Tensor):
                raise MSLiteTypeError(f"outputs element must be Tensor, but got {type(item).__name__} at index {index}.")
        if len(outputs) != len(arrays):
            raise MSLiteRuntimeError(f"predict failed: the model has {len(arrays)} output(s), got {len(outputs)} "
                                     "output tensors")
    for tensor, name, array in zip(outputs, names, arrays):
        array = np.asarray(array)
        tensor._name, tensor._shape = name, [int(d) for d in array.shape]
        tensor._dtype = DATA_TYPE_OF_NUMPY.get(array.dtype, DataType.UNKNOWN)
        tensor._format, tensor._data = Format.DEFAULT, array
    return list(outputs)


class Model:
    """A MindSpore Lite model, run by litert."""

    def __init__(self) -> None:
        self.model_path_ = ""
        self._session: Session | None = None
        self._inputs: list[Tensor] = []
        self._outputs: list[Tensor] = []

    def __str__(self) -> str:
        return f"model_path: {self.model_path_}."

    def build_from_file(self, model_path: str, model_type: ModelType, context: Context | None = None,
                        config_path: str = "", config_dict: dict[str, dict[str, str]] | None = None, dec_key: bytes | None = None,
                        dec_mode: str = "AES-GCM", dec_num_parallel: int = 0) -> None:
        """Load and compile ``model_path`` (``.ms`` for MINDIR_LITE, ``.mindir`` for MINDIR)."""
        check_type("model_path", model_path, str)
        check_type("model_type", model_type, ModelType)
        check_type("context", context, Context, allow_none=True)
        check_type("config_path", config_path, str)
        if not os.path.exists(model_path):
            raise MSLiteRuntimeError(f"build_from_file failed, model_path does not exist: {model_path}")
        read_config(config_path, config_dict, "build_from_file")
        if dec_key is not None:
            check_type("dec_key", dec_key, bytes)
            check_type("dec_mode", dec_mode, str)
            check_type("dec_num_parallel", dec_num_parallel, int)
            raise MSLiteRuntimeError("build_from_file failed: litert cannot decrypt models (dec_key); "
                                     "convert an unencrypted model")
        self._session = load_session(model_path, model_type, context, "build_from_file")
        self.model_path_ = model_path
        self._inputs = input_tensors(self._session)
        self._outputs = []

    @property
    def session(self) -> Session:
        """The underlying :class:`litert.Session` (a litert extension)."""
        return self._built()

    def _built(self) -> Session:
        if self._session is None:
            raise MSLiteRuntimeError("the model is not built: call build_from_file first")
        return self._session

    def get_inputs(self) -> list[Tensor]:
        """The model's input tensors, in order (the same objects every call; empty before a build)."""
        return list(self._inputs)

    def get_outputs(self) -> list[Tensor]:
        """The output tensors: those of the last predict, else name, dtype and shape (-1 where unknown)."""
        if self._session is None:
            return []
        return list(self._outputs) if self._outputs else declared_outputs(self._session)

    def predict(self, inputs: Any, outputs: Any = None) -> list[Tensor]:
        """Run on ``inputs`` (the model's input Tensors, in order); a new list of output Tensors."""
        session = self._built()
        arrays = feed_of(inputs, session)
        try:
            results = session.predict(arrays)
        except LitertError as err:
            raise MSLiteRuntimeError(f"predict failed! {err}") from err
        self._outputs = output_tensors(session, results, outputs)
        return list(self._outputs)

    def resize(self, inputs: Any, dims: Any) -> None:
        """Give ``inputs`` the shapes ``dims`` (a list of int lists, in the same order)."""
        if not isinstance(inputs, list):
            raise MSLiteTypeError(f"inputs must be list, but got {type(inputs).__name__}.")
        if not isinstance(dims, list):
            raise MSLiteTypeError(f"dims must be list, but got {type(dims).__name__}.")
        for index, item in enumerate(inputs):
            if not isinstance(item, Tensor):
                raise MSLiteTypeError(f"inputs element must be Tensor, but got {type(item).__name__} at index {index}.")
        for index, shape in enumerate(dims):
            if not isinstance(shape, list):
                raise MSLiteTypeError(f"dims element must be list, but got {type(shape).__name__} at index {index}.")
            for j, dim in enumerate(shape):
                if not isinstance(dim, int) or isinstance(dim, bool):
                    raise MSLiteTypeError(f"dims element's element must be int, but got {type(dim).__name__} at "
                                          f"{index}th dims element's {j}th element.")
        if len(inputs) != len(dims):
            raise MSLiteValueError(f"inputs' size does not match dims' size, but got inputs: {len(inputs)} and "
                                   f"dims: {len(dims)}.")
        session = self._built()
        names = [info.name for info in session.inputs]
        shapes = {}
        for tensor, shape in zip(inputs, dims):
            if tensor.name not in names:
                raise MSLiteRuntimeError(f"resize failed! {tensor.name!r} is not an input of the model "
                                         f"(inputs: {', '.join(names)})")
            if any(d <= 0 for d in shape):
                raise MSLiteRuntimeError(f"resize failed! dims of {tensor.name!r} must be positive, got {shape}")
            shapes[tensor.name] = shape
        try:
            session.resize(shapes)
        except LitertError as err:
            raise MSLiteRuntimeError(f"resize failed! {err}") from err
        fresh = {t.name: t for t in input_tensors(session)}
        for tensor in self._inputs + [t for t in inputs if t not in self._inputs]:
            if tensor.name in fresh:
                tensor._shape, tensor._data = fresh[tensor.name].shape, None
        self._outputs = []

    def get_model_info(self, key: str) -> str:
        """Model information by key: ``"input_shape"`` gives ``name:d0,d1;...`` of the current inputs; other
        keys give ``""`` (MindSpore Lite's answer for a key the model does not hold)."""
        check_type("key", key, str)
        if key == "input_shape" and self._session is not None:
            return ";".join(f"{t.name}:{','.join(str(d) for d in t.shape)}" for t in self._inputs)
        return ""
