"""A MindSpore Lite user's script, written against its documented Python API (the quick-start flow).

tests/test_mslite_api.py runs it twice: as it is, in MindSpore Lite 2.0's
Python 3.7 venv (live tests), and with only the import line changed to
``import litert.mslite as mslite``.  Keep it Python 3.7 and MindSpore Lite
2.0 compatible: no API newer than 2.0 here.

    python quickstart.py MODEL.ms INPUTS.npz RESULT.npz [--batch 2] [--workers 2]

INPUTS.npz holds ``in_0``, ``in_1``... in the model's input order and layout.
RESULT.npz gets the outputs of one predict (``out_<i>``), their ``names``, the
input tensors' ``input_names``/``input_shapes``, the outputs after resizing
the batch (``batch_<i>``: the inputs stacked with a copy whose first input
is x 0.5) and those of a ModelParallelRunner serving requests from several
threads (``runner_<request>_<i>``: the first input x (1 + request / 4)).
"""
import argparse
import os
import sys
import threading

import mindspore_lite as mslite
import numpy as np


def build(model_path, threads):
    context = mslite.Context()
    context.target = ["cpu"]
    context.cpu.thread_num = threads
    model = mslite.Model()
    model.build_from_file(model_path, mslite.ModelType.MINDIR_LITE, context)
    return model


NUMPY_TYPE = {"FLOAT32": np.float32, "FLOAT16": np.float16, "INT32": np.int32, "INT64": np.int64,
              "INT8": np.int8, "UINT8": np.uint8, "BOOL": np.bool_}


def fill(model, tensors, arrays):
    """Set the input data, resizing first when the shapes differ (a dynamic dim, or another batch)."""
    if [list(t.shape) for t in tensors] != [list(a.shape) for a in arrays]:
        model.resize(tensors, [list(a.shape) for a in arrays])
        tensors = model.get_inputs()
    for tensor, array in zip(tensors, arrays):
        tensor.set_data_from_numpy(np.ascontiguousarray(array.astype(NUMPY_TYPE[tensor.dtype.name])))
    return tensors


def predict_once(model, arrays, result):
    inputs = model.get_inputs()
    result["input_names"] = np.array([t.name for t in inputs])
    result["input_shapes"] = np.array([",".join(str(d) for d in t.shape) for t in inputs])
    inputs = fill(model, inputs, arrays)
    outputs = model.predict(inputs)
    result["names"] = np.array([t.name for t in outputs])
    for i, output in enumerate(outputs):
        result[f"out_{i}"] = output.get_data_to_numpy().copy()


def scaled(arrays, factor):
    """Another request: the first input times ``factor``, the others (masks, states) as given."""
    return [(arrays[0] * factor).astype(arrays[0].dtype)] + list(arrays[1:])


def predict_batch(model, arrays, batch, result):
    rows = [scaled(arrays, 0.5 ** k) for k in range(batch)]
    stacked = [np.concatenate([row[i] for row in rows]) for i in range(len(arrays))]
    inputs = fill(model, model.get_inputs(), stacked)
    for i, output in enumerate(model.predict(inputs)):
        result[f"batch_{i}"] = output.get_data_to_numpy().copy()


def serve(model_path, arrays, workers, result, requests=4):
    context = mslite.Context()
    context.target = ["cpu"]
    context.cpu.thread_num = 1
    context.parallel.workers_num = workers
    runner = mslite.ModelParallelRunner()
    runner.build_from_file(model_path, context)
    answers = {}

    def client(index):
        inputs = runner.get_inputs()
        for tensor, array in zip(inputs, scaled(arrays, 1.0 + 0.25 * index)):
            tensor.set_data_from_numpy(np.ascontiguousarray(array.astype(NUMPY_TYPE[tensor.dtype.name])))
        answers[index] = [o.get_data_to_numpy().copy() for o in runner.predict(inputs)]

    threads = [threading.Thread(target=client, args=(i,)) for i in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for index in range(requests):
        for i, array in enumerate(answers[index]):
            result[f"runner_{index}_{i}"] = array


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("inputs")
    parser.add_argument("result")
    parser.add_argument("--batch", type=int, default=0, help="also resize to this batch and predict")
    parser.add_argument("--workers", type=int, default=0, help="also serve requests with a ModelParallelRunner")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    data = np.load(args.inputs)
    arrays = [data[f"in_{i}"] for i in range(len([k for k in data.files if k.startswith("in_")]))]
    result = {}
    model = build(args.model, args.threads)
    predict_once(model, arrays, result)
    if args.batch:
        predict_batch(model, arrays, args.batch, result)
    if args.workers:
        serve(args.model, arrays, args.workers, result)
    np.savez(args.result, **result)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    os._exit(code)  # MindSpore Lite 2.0 may crash in interpreter teardown after the work is done
