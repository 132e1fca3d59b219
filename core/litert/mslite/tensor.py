"""``Tensor``: a named, typed, shaped buffer, as MindSpore Lite's Python API has it.

A model's input tensors are what ``Model.get_inputs`` returns: scripts fill
them with ``set_data_from_numpy`` and pass them back to ``predict``.  Like
MindSpore Lite, ``set_data_from_numpy`` checks the element type and the byte
size (not the shape: a flat array of the right size fills a 4-D tensor) and
copies the data.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ._checks import MSLiteRuntimeError, MSLiteTypeError, check_list_of, typed
from .enums import DATA_TYPE_OF_NUMPY, NUMPY_OF, DataType, Format


class Tensor:
    """``Tensor()`` is empty (float32, shape []); ``Tensor(array)`` holds a copy of a numpy array
    (as MindSpore Lite 2.1 and later accept)."""

    def __init__(self, tensor: np.ndarray | None = None):
        self._name = ""
        self._dtype = DataType.FLOAT32
        self._shape: list[int] = []
        self._format = Format.NCHW
        self._data: np.ndarray | None = None
        if tensor is not None:
            if not isinstance(tensor, np.ndarray):
                raise MSLiteTypeError(f"tensor must be numpy.ndarray or None, but got {type(tensor).__name__}.")
            dtype = DATA_TYPE_OF_NUMPY.get(tensor.dtype)
            if dtype is None:
                raise MSLiteTypeError(f"tensor: numpy dtype {tensor.dtype} has no MindSpore Lite DataType.")
            self._dtype, self._shape = dtype, [int(d) for d in tensor.shape]
            self._data = np.array(tensor, copy=True, order="C")

    @classmethod
    def _of(cls, name: str, shape: Sequence[int], dtype: DataType, fmt: Format, data: np.ndarray | None = None) -> Tensor:
        tensor = cls()
        tensor._name, tensor._shape, tensor._dtype, tensor._format = name, [int(d) for d in shape], dtype, fmt
        tensor._data = data
        return tensor

    def __str__(self) -> str:
        return (f"name: {self.name},\ndtype: {self.dtype},\nshape: {self.shape},\nformat: {self.format},\n"
                f"element_num: {self.element_num},\ndata_size: {self.data_size}.")

    # -- attributes -----------------------------------------------------------

    name = typed("name", str)

    @property
    def dtype(self) -> DataType:
        return self._dtype

    @dtype.setter
    def dtype(self, value: DataType) -> None:
        if not isinstance(value, DataType):
            raise MSLiteTypeError(f"dtype must be DataType, but got {type(value).__name__}.")
        if value is not self._dtype:
            self._dtype, self._data = value, None

    @property
    def shape(self) -> list[int]:
        return list(self._shape)

    @shape.setter
    def shape(self, value: list[int]) -> None:
        check_list_of("shape", value, int)
        if list(value) != self._shape:
            self._shape, self._data = [int(d) for d in value], None

    format = typed("format", Format)

    @property
    def element_num(self) -> int:
        return math.prod(self._shape)

    @property
    def data_size(self) -> int:
        """Bytes of the data: element_num x the element size."""
        numpy_type = NUMPY_OF.get(self._dtype)
        return self.element_num * (numpy_type.itemsize if numpy_type is not None else 0)

    # -- data -----------------------------------------------------------------

    def _numpy_type(self) -> np.dtype:
        numpy_type = NUMPY_OF.get(self._dtype)
        if numpy_type is None:
            raise MSLiteRuntimeError(f"tensor {self._name!r}: DataType {self._dtype.name} holds no numeric data.")
        return numpy_type

    def set_data_from_numpy(self, numpy_obj: np.ndarray) -> None:
        """Copy ``numpy_obj`` in: its dtype must be the tensor's and its byte size the tensor's ``data_size``."""
        if not isinstance(numpy_obj, np.ndarray):
            raise MSLiteTypeError(f"numpy_obj must be numpy.ndarray, but got {type(numpy_obj).__name__}.")
        if DATA_TYPE_OF_NUMPY.get(numpy_obj.dtype) is not self._dtype:
            raise MSLiteRuntimeError(f"data type not equal! Numpy type: {numpy_obj.dtype}, Tensor type: {self._dtype} "
                                     f"(tensor {self._name!r}: convert with astype first)")
        if numpy_obj.nbytes != self.data_size:
            raise MSLiteRuntimeError(f"data size not equal! Numpy size: {numpy_obj.nbytes}, Tensor size: "
                                     f"{self.data_size} (tensor {self._name!r} has shape {self._shape}, the array "
                                     f"{list(numpy_obj.shape)}; resize the model for other shapes)")
        self._data = np.array(numpy_obj, copy=True, order="C").reshape(self._shape)

    def get_data_to_numpy(self) -> np.ndarray:
        """The data, shaped as the tensor (zeros when nothing was set)."""
        if self._data is None:
            self._data = np.zeros(self._shape, self._numpy_type())
        return self._data
