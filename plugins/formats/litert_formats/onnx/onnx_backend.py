"""litert as an ``onnx.backend.base.Backend``, so ONNX's own test runner
(``onnx.backend.test.BackendTest``) and other ONNX tooling can drive it.

    from litert_formats.onnx.onnx_backend import LitertBackend
    rep = LitertBackend.prepare(model_proto)
    outputs = rep.run([x])
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import onnx
from onnx.backend.base import Backend, BackendRep


class LitertBackendRep(BackendRep):
    """A prepared model: a :class:`litert.Session`."""

    def __init__(self, session) -> None:
        self.session = session

    def run(self, inputs: Any, **kwargs: Any) -> tuple:
        feeds: dict[str, Any] | list[Any]
        if isinstance(inputs, dict):
            feeds = inputs
        elif isinstance(inputs, (list, tuple)):
            feeds = list(inputs)
        else:
            feeds = [inputs]
        return tuple(self.session.predict(feeds))


class LitertBackend(Backend):
    """ONNX backend API over litert's CPU engine (and any other backends)."""

    @classmethod
    def is_compatible(cls, model: onnx.ModelProto, device: str = "CPU", **kwargs: Any) -> bool:
        return True

    @classmethod
    def supports_device(cls, device: str) -> bool:
        return device.upper() == "CPU"

    @classmethod
    def prepare(cls, model: onnx.ModelProto | str | bytes, device: str = "CPU", **kwargs: Any) -> LitertBackendRep:
        import litert

        if isinstance(model, str) and Path(model).exists():
            return LitertBackendRep(litert.load(model, **kwargs))
        if isinstance(model, onnx.ModelProto):
            model = model.SerializeToString()
        if isinstance(model, str):
            raise FileNotFoundError(f"{model}: no such ONNX model file")
        with tempfile.TemporaryDirectory(prefix="litert-onnx-") as tmp:
            path = Path(tmp) / "model.onnx"
            path.write_bytes(model)
            session = litert.load(path, devices=kwargs.pop("devices", None), threads=kwargs.pop("threads", None), **kwargs)
        return LitertBackendRep(session)

    @classmethod
    def run_model(cls, model: onnx.ModelProto, inputs: Any, device: str = "CPU", **kwargs: Any) -> tuple:
        return cls.prepare(model, device, **kwargs).run(inputs)

    @classmethod
    def run_node(cls, node: onnx.NodeProto, inputs: Any, device: str = "CPU", outputs_info=None, **kwargs: Any):
        raise NotImplementedError("litert runs whole models; wrap the node in a model (onnx.helper.make_model)")


prepare = LitertBackend.prepare
run_model = LitertBackend.run_model
supports_device = LitertBackend.supports_device
