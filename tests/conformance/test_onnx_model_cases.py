"""The model cases the onnx package ships, run by ONNX's own test runner.

``onnx.backend.test.BackendTest`` drives litert through its
``onnx.backend.base.Backend`` implementation over the ``simple``,
``pytorch-converted``, ``pytorch-operator`` and light-zoo (``real``) models.
"""
from __future__ import annotations

import onnx.backend.test
from helpers.conformance import load_expected

from litert_formats.onnx.onnx_backend import LitertBackend

backend_test = onnx.backend.test.BackendTest(LitertBackend, __name__)
for _name in load_expected():
    backend_test.exclude(f"^{_name}_cpu$")

MODEL_KINDS = ("OnnxBackendSimpleModelTest", "OnnxBackendPyTorchConvertedModelTest",
               "OnnxBackendPyTorchOperatorModelTest", "OnnxBackendRealModelTest")
for _kind in MODEL_KINDS:
    _cls = backend_test.test_cases[_kind]
    for _attr in [a for a in vars(_cls) if a.endswith("_cuda")]:
        delattr(_cls, _attr)  # litert's ONNX backend API serves the CPU device only
    globals()[_kind] = _cls
