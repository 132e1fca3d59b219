"""Batch inference on Ray Data: a litert predictor for ``Dataset.map_batches``.

    import ray
    from litert.ray import Predictor

    ds = ray.data.read_images("s3://bucket/images/", size=(224, 224))   # or any dataset with an image column
    scores = ds.map_batches(Predictor, fn_constructor_kwargs={"model": "mobilenetv2.ms"},
                            batch_size=64, concurrency=4, num_cpus=1)

Ray makes ``concurrency`` actors; each builds the model once (in its
constructor) and then runs every batch it is given.  :mod:`ray` itself is
only needed by the caller (``pip install litert[ray]``): this module does
not import it.

Weights: each actor is a process with its own copy of the compiled model
(the CPU backend copies constants into aligned buffers, so a memory-mapped
file or an object-store array would not stay shared).  To hold one copy per
node, run one actor per node and let it serve several batches at once on
threads: ``concurrency=<nodes>, max_concurrency=<cores>, num_cpus=<cores>``
(``max_concurrency`` is passed to the actor): the threads share the one
loaded model and the native kernels run them in parallel.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from .ir import Shape

#: Ray Data's default column for images (``read_images``)
IMAGE_COLUMN = "image"


class Predictor:
    """Callable class for ``map_batches``: ``{column: array}`` in, outputs (plus kept columns) out.

    :param model: model file (any format litert reads).
    :param input_column: the batch column fed to the model's (single) input.
    :param keep_columns: columns copied to the output batch (ids, paths...).
    :param layout: ``"NHWC"`` (default, as Ray's images) or ``"NCHW"``: the layout of
        the column; images are transposed when the model's 4-D input has the other one.
    :param dtype: the model's input dtype the column is cast to (default: the model's).
    :param threads: intra-op threads per call.
    :param devices: litert backend order (default: every backend by priority).

    Each row runs on its own when the model's batch dimension is fixed to 1
    (``.ms`` from converter_lite usually is), otherwise the batch runs at once.
    Output columns are named after the model's outputs.
    """

    def __init__(self, model: str | Path, *, input_column: str = IMAGE_COLUMN, keep_columns: Sequence[str] = (),
                 layout: str = "NHWC", dtype: str | None = None, threads: int = 1,
                 devices: Sequence[str] | None = None):
        import litert

        self.session = litert.load(model, devices=devices, threads=threads)
        if len(self.session.inputs) != 1:
            names = ", ".join(i.name for i in self.session.inputs)
            raise litert.errors.InputError(f"Predictor feeds one column to one input; {model} has inputs {names}")
        self.input = self.session.inputs[0]
        self.input_column = input_column
        self.keep_columns = tuple(keep_columns)
        self.transpose = _transpose_for(layout, self.input.shape, self.session.model.metadata)
        self.dtype = np.dtype(dtype) if dtype or self.input.dtype is None else self.input.dtype.numpy
        shape = self.input.shape or ()
        self.row_by_row = bool(shape) and shape[0] == 1
        self.output_names = [o.name for o in self.session.outputs]

    def __call__(self, batch: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        from litert.errors import InputError

        if self.input_column not in batch:
            raise InputError(f"batch has no column {self.input_column!r} (columns: {', '.join(batch)})")
        data = np.asarray(batch[self.input_column])
        if self.transpose is not None:
            data = data.transpose(self.transpose)
        data = np.ascontiguousarray(data, dtype=self.dtype)
        if self.row_by_row:
            rows = [self.session.predict([data[i:i + 1]]) for i in range(len(data))]
            outputs = [np.concatenate([r[k] for r in rows]) for k in range(len(self.output_names))]
        else:
            outputs = self.session.predict([data])
        result = {name: np.asarray(out) for name, out in zip(self.output_names, outputs)}
        for column in self.keep_columns:
            result[column] = np.asarray(batch[column])
        return result


def _transpose_for(layout: str, shape: Shape | None, metadata: Mapping[str, str]) -> tuple[int, ...] | None:
    """The axes permutation from the column's layout to the model's, for 4-D inputs."""
    from litert.convert import INPUT_FORMAT_KEY
    from litert.errors import InputError

    layout = layout.upper()
    if layout not in ("NHWC", "NCHW"):
        raise InputError(f"layout {layout!r}: NHWC or NCHW")
    if shape is None or len(shape) != 4:
        return None
    model_layout = metadata.get(INPUT_FORMAT_KEY, "NCHW")  # .ms records its layout; ONNX/MindIR are NCHW
    if model_layout == layout:
        return None
    return (0, 3, 1, 2) if layout == "NHWC" else (0, 2, 3, 1)


__all__ = ["IMAGE_COLUMN", "Predictor"]
