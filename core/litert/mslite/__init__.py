"""MindSpore Lite's Python API, run by litert: replace ``import mindspore_lite as mslite`` with

    import litert.mslite as mslite

    context = mslite.Context()
    context.target = ["cpu"]
    context.cpu.thread_num = 2
    model = mslite.Model()
    model.build_from_file("mobilenetv2.ms", mslite.ModelType.MINDIR_LITE, context)
    inputs = model.get_inputs()
    inputs[0].set_data_from_numpy(image)
    outputs = model.predict(inputs)
    scores = outputs[0].get_data_to_numpy()

It follows the MindSpore Lite 2.x documentation, with MindSpore Lite 2.0.0
as the behavioural oracle (``tests/test_mslite_api.py``); what differs and
which options litert refuses or ignores (with a warning) is in
``docs/mindspore-lite-compat.md``.
"""
from .. import __version__  # noqa: E402  (litert's version; MindSpore Lite scripts print it)
from ._checks import MSLiteRuntimeError, MSLiteTypeError, MSLiteValueError
from .context import Context, OptionIgnoredWarning
from .converter import Converter
from .enums import DataType, FmkType, Format, ModelType
from .model import Model
from .parallel import ModelParallelRunner
from .tensor import Tensor

__all__ = ["Context", "Converter", "DataType", "FmkType", "Format", "MSLiteRuntimeError", "MSLiteTypeError",
           "MSLiteValueError", "Model", "ModelParallelRunner", "ModelType", "OptionIgnoredWarning", "Tensor",
           "__version__"]
