"""Drive the real MindSpore Lite 2.0.0 from its own Python 3.7 venv.

Run with the venv's interpreter (see build_venv.sh), never imported by litert:

    python msl_run.py convert MODEL.onnx OUT_PREFIX [--input-format NHWC|NCHW] [--optimize general|none]
        [--config-file F] [--fmk ONNX|TFLITE] [--fp16]
    python msl_run.py run MODEL.ms INPUTS.npz OUTPUTS.npz [--threads N]
    python msl_run.py bench MODEL.ms INPUTS.npz RESULT.json [--threads N] [--warmup N] [--loops N]

``convert`` writes ``OUT_PREFIX.ms`` (the converter appends ``.ms``).
``run`` feeds the arrays of INPUTS.npz to the model's inputs in order
(``arr_0``, ``arr_1``... or by name when the names match the model's inputs),
and writes the outputs to OUTPUTS.npz as ``out_0``, ``out_1``... plus
``names`` (the output tensor names) and ``input_names``.
The MindSpore Lite process may crash at interpreter exit after writing its
results, so callers check the result files, not only the exit code; the
script prints ``MSL-OK`` on stdout when the work is done.
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def _lite():
    import mindspore_lite as mslite

    return mslite


def _context(mslite, threads):
    context = mslite.Context()
    context.target = ["cpu"]
    context.cpu.thread_num = threads
    return context


def convert_model(mslite, model_file, output, input_format="NHWC", optimize="general", fmk="ONNX", config_file="",
                  fp16=False):
    """converter_lite on one model; True when it wrote ``output + ".ms"`` (also used by msl_batch.py)."""
    converter = mslite.Converter()
    converter.save_type = mslite.ModelType.MINDIR_LITE
    converter.input_format = getattr(mslite.Format, input_format)
    converter.optimize = optimize
    converter.weight_fp16 = bool(fp16)
    converter.convert(fmk_type=getattr(mslite.FmkType, fmk), model_file=model_file, output_file=output,
                      config_file=config_file)
    return os.path.isfile(output + ".ms")


def convert(args):
    if not convert_model(_lite(), args.model, args.output, args.input_format, args.optimize, args.fmk,
                         args.config_file or "", args.fp16):
        sys.stderr.write(f"converter produced no {args.output}.ms\n")
        return 1
    return 0


def load_model(mslite, path, threads):
    """A built MindSpore Lite model on the CPU with ``threads`` threads (also used by msl_batch.py)."""
    model = mslite.Model()
    model.build_from_file(path, mslite.ModelType.MINDIR_LITE, _context(mslite, threads))
    return model


def feed(model, path):
    """Set the model's inputs from an ``.npz`` (by name, else ``arr_i`` in order), resizing when shapes differ."""
    inputs = model.get_inputs()
    data = np.load(path)
    by_name = {k: data[k] for k in data.files}
    arrays = []
    for i, tensor in enumerate(inputs):
        if tensor.name in by_name:
            arr = by_name[tensor.name]
        else:
            arr = by_name[f"arr_{i}"]
        arrays.append(arr)
    shapes = [list(a.shape) for a in arrays]
    if shapes != [list(t.shape) for t in inputs]:
        model.resize(inputs, shapes)
        inputs = model.get_inputs()
    for tensor, arr in zip(inputs, arrays):
        want = tensor.get_data_to_numpy().dtype
        tensor.set_data_from_numpy(np.ascontiguousarray(arr.astype(want)))
    return inputs


def run(args):
    model = load_model(_lite(), args.model, args.threads)
    inputs = feed(model, args.inputs)
    outputs = model.predict(inputs)
    result = {f"out_{i}": t.get_data_to_numpy() for i, t in enumerate(outputs)}
    result["names"] = np.array([t.name for t in outputs])
    result["input_names"] = np.array([t.name for t in inputs])
    np.savez(args.outputs, **result)
    return 0


def bench(args):
    import resource

    start = time.perf_counter()
    model = load_model(_lite(), args.model, args.threads)
    inputs = feed(model, args.inputs)
    load = time.perf_counter() - start
    for _ in range(args.warmup):
        model.predict(inputs)
    times = []
    outputs = None
    for _ in range(args.loops):
        start = time.perf_counter()
        outputs = model.predict(inputs)
        times.append((time.perf_counter() - start) * 1000.0)
    first = outputs[0].get_data_to_numpy().astype(np.float64) if outputs else np.zeros(0)
    ordered = sorted(times)
    with open(args.result, "w") as f:
        json.dump({"median_ms": ordered[len(ordered) // 2], "min_ms": ordered[0], "loops": len(times),
                   "times_ms": times, "load_s": load,
                   "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
                   "output_checksum": float(first.sum()), "output_scale": float(np.abs(first).max()) if first.size else 0.0},
                  f)
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    p = sub.add_parser("convert")
    p.add_argument("model")
    p.add_argument("output")
    p.add_argument("--input-format", default="NHWC", choices=("NHWC", "NCHW"))
    p.add_argument("--optimize", default="general", choices=("general", "none"))
    p.add_argument("--config-file", help="converter config (e.g. [common_quant_param] for weight quantisation)")
    p.add_argument("--fmk", default="ONNX", choices=("ONNX", "TFLITE"), help="source framework")
    p.add_argument("--fp16", action="store_true", help="float32 constants stored as float16 (--fp16=on)")
    p.set_defaults(fn=convert)
    for name, fn in (("run", run), ("bench", bench)):
        p = sub.add_parser(name)
        p.add_argument("model")
        p.add_argument("inputs")
        p.add_argument("outputs" if name == "run" else "result")
        p.add_argument("--threads", type=int, default=2)
        if name == "bench":
            p.add_argument("--warmup", type=int, default=3)
            p.add_argument("--loops", type=int, default=20)
        p.set_defaults(fn=fn)
    args = parser.parse_args(argv)
    if not getattr(args, "fn", None):
        parser.print_help()
        return 2
    code = args.fn(args)
    sys.stdout.write("MSL-OK\n")
    sys.stdout.flush()
    if code == 0:
        os._exit(0)  # skip the interpreter teardown that may crash MindSpore Lite
    return code


if __name__ == "__main__":
    sys.exit(main())
