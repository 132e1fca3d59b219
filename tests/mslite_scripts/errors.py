"""Wrong calls a MindSpore Lite user can make, and the exception type each raises.

Run as it is in MindSpore Lite 2.0's venv, or with only the import line
changed to ``import litert.mslite as mslite``; prints one JSON object
``{case: exception type name or "ok"}`` (tests/test_mslite_api.py compares
both with the table it keeps).

    python errors.py MODEL.ms
"""
import json
import os
import sys

import mindspore_lite as mslite
import numpy as np


def outcome(call):
    try:
        call()
    except Exception as err:  # noqa: BLE001  (the type is what is recorded)
        for kind in (TypeError, ValueError, RuntimeError):
            if isinstance(err, kind):
                return kind.__name__
        return "other:" + type(err).__name__
    return "ok"


def main(argv=None):
    model_path = (argv or sys.argv[1:])[0]
    context = mslite.Context()
    cpu = context.cpu
    model = mslite.Model()
    model.build_from_file(model_path, mslite.ModelType.MINDIR_LITE, context)
    inputs = model.get_inputs()
    tensor = inputs[0]
    cases = {
        "context.target = 'cpu'": lambda: setattr(context, "target", "cpu"),
        "context.target = ['npu']": lambda: setattr(context, "target", ["npu"]),
        "cpu.thread_num = '2'": lambda: setattr(cpu, "thread_num", "2"),
        "cpu.thread_num = -1": lambda: setattr(cpu, "thread_num", -1),
        "cpu.inter_op_parallel_num = -1": lambda: setattr(cpu, "inter_op_parallel_num", -1),
        "cpu.precision_mode = 'fp64'": lambda: setattr(cpu, "precision_mode", "fp64"),
        "cpu.thread_affinity_mode = 1.0": lambda: setattr(cpu, "thread_affinity_mode", 1.0),
        "cpu.thread_affinity_core_list = (0, 1)": lambda: setattr(cpu, "thread_affinity_core_list", (0, 1)),
        "ascend.device_id = -1": lambda: setattr(context.ascend, "device_id", -1),
        "parallel.workers_num = -1": lambda: setattr(context.parallel, "workers_num", -1),
        "build_from_file(1, ...)": lambda: mslite.Model().build_from_file(1, mslite.ModelType.MINDIR_LITE),
        "build_from_file(path, 4)": lambda: mslite.Model().build_from_file(model_path, 4),
        "build_from_file(missing)": lambda: mslite.Model().build_from_file("missing.ms", mslite.ModelType.MINDIR_LITE),
        "build_from_file(path, MINDIR)": lambda: mslite.Model().build_from_file(model_path, mslite.ModelType.MINDIR),
        "build_from_file(path, context='cpu')": lambda: mslite.Model().build_from_file(
            model_path, mslite.ModelType.MINDIR_LITE, "cpu"),
        "build_from_file(not a model)": lambda: mslite.Model().build_from_file(__file__, mslite.ModelType.MINDIR_LITE),
        "build_from_file(a directory)": lambda: mslite.Model().build_from_file(
            os.path.dirname(os.path.abspath(__file__)), mslite.ModelType.MINDIR_LITE),
        "set_data_from_numpy(list)": lambda: tensor.set_data_from_numpy([1.0, 2.0]),
        "set_data_from_numpy(float64)": lambda: tensor.set_data_from_numpy(np.zeros(tensor.shape, np.float64)),
        "set_data_from_numpy(wrong size)": lambda: tensor.set_data_from_numpy(np.zeros(3, np.float32)),
        "tensor.shape = (1, 2)": lambda: setattr(mslite.Tensor(), "shape", (1, 2)),
        "tensor.dtype = np.float32": lambda: setattr(mslite.Tensor(), "dtype", np.float32),
        "tensor.format = 'NHWC'": lambda: setattr(mslite.Tensor(), "format", "NHWC"),
        "tensor.name = 1": lambda: setattr(mslite.Tensor(), "name", 1),
        "predict('x')": lambda: model.predict("x"),
        "predict([1])": lambda: model.predict([1]),
        "predict([])": lambda: model.predict([]),
        "resize(inputs, 'x')": lambda: model.resize(inputs, "x"),
        "resize(inputs, [(1,)])": lambda: model.resize(inputs, [(1,)]),
        "resize(inputs, [[1.0]])": lambda: model.resize(inputs, [[1.0]]),
        "resize(inputs, [[1], [2]])": lambda: model.resize(inputs, [[1]] * (len(inputs) + 1)),
        "resize(inputs, wrong rank)": lambda: model.resize(inputs, [[2] for _ in inputs]),
        "converter.optimize = 'fast'": lambda: setattr(mslite.Converter(), "optimize", "fast"),
        "converter.input_format = Format.NC": lambda: setattr(mslite.Converter(), "input_format", mslite.Format.NC),
        "converter.weight_fp16 = 1": lambda: setattr(mslite.Converter(), "weight_fp16", 1),
        "converter.save_type = 4": lambda: setattr(mslite.Converter(), "save_type", 4),
        "converter.input_shape = {'a': (1, 2)}": lambda: setattr(mslite.Converter(), "input_shape", {"a": (1, 2)}),
        "converter.device = 'GPU'": lambda: setattr(mslite.Converter(), "device", "GPU"),
        "convert(2, ...)": lambda: mslite.Converter().convert(2, "m.onnx", "m"),
        "convert(missing)": lambda: mslite.Converter().convert(mslite.FmkType.ONNX, "missing.onnx", "m"),
        "runner.build_from_file(missing)": lambda: mslite.ModelParallelRunner().build_from_file("missing.ms"),
    }
    print(json.dumps({name: outcome(call) for name, call in cases.items()}))
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # MindSpore Lite 2.0 may crash in interpreter teardown after the work is done
