"""The model cases the onnx package ships, run by ONNX's own test runner.

``onnx.backend.test.BackendTest`` drives litert through its
``onnx.backend.base.Backend`` implementation over the ``simple``,
``pytorch-converted``, ``pytorch-operator`` and light-zoo (``real``) models.
"""
from __future__ import annotations

import onnx.backend.test

from litert_formats.onnx.onnx_backend import LitertBackend

from helpers.conformance import load_expected

backend_test = onnx.backend.test.BackendTest(LitertBackend, __name__)
backend_test.exclude(r"_cuda$")  # litert's ONNX backend API serves the CPU device only
for _name in load_expected():
    backend_test.exclude(f"^{_name}_cpu$")

globals().update({
    name: case for name, case in backend_test.test_cases.items()
    if name in ("OnnxBackendSimpleModelTest", "OnnxBackendPyTorchConvertedModelTest",
                "OnnxBackendPyTorchOperatorModelTest", "OnnxBackendRealModelTest")
})
