"""Pick the frontend for a model file and read it into the IR."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import ModelLoadError, typed_errors
from ..formats import Frontend, LoadOptions, by_name_or_suffix
from ..ir import Model
from ..ir.validate import validate_graph
from ..plugins import host


def find_frontend(path: Path, fmk: str | None = None) -> Frontend:
    """The frontend named ``fmk``, else the one claiming the suffix, else the one that sniffs the file."""
    frontends = host().frontends
    chosen = by_name_or_suffix(frontends, path, fmk, "frontend")
    if chosen is not None:
        return chosen
    with open(path, "rb") as f:
        head = f.read(64)
    for frontend in frontends.values():
        if frontend.sniff(head):
            return frontend
    raise ModelLoadError(
        f"{path}: unknown model format (known: {', '.join(sorted(frontends)) or 'none installed'}; use --fmk)"
    )


def read_model(path: str | Path, fmk: str | None = None, options: LoadOptions | None = None) -> Model:
    if not isinstance(path, (str, os.PathLike)):
        # an in-memory model (bytes, an onnx.ModelProto) or anything else: one line saying what load takes
        raise ModelLoadError(f"a model is loaded from a file: give its path (str or os.PathLike), not a "
                             f"{type(path).__name__} (save an in-memory model to a file first)")
    path = Path(path)
    if not path.exists():
        raise ModelLoadError(f"{path}: no such file")
    if path.is_dir():
        raise ModelLoadError(f"{path}: is a directory, not a model file")
    frontend = find_frontend(path, fmk)
    with typed_errors(ModelLoadError, f"{path}: cannot read the model"):
        model: Model = frontend.load(path, options or LoadOptions())
    model.source_format = model.source_format or frontend.name
    validate_graph(model.graph, str(path))
    return model
