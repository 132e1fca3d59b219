"""Side-by-side CPU latency: litert vs onnxruntime, onnx.reference and MindSpore Lite 2.0.

Every engine runs every model in its own subprocess (so peak RSS is its own),
on the same model file, the same inputs and the same thread count. Latency is
measured over warm runs; ratios use the minimum of the warm runs, the figure
least disturbed by a shared, noisy machine.  Engines take turns over
``--rounds`` fresh processes each (default 5), so a noisy stretch of the
machine is shared between them rather than falling on one.  The load column is
the fastest of those fresh processes and of ``--load-rounds`` more (default 10)
in which litert and onnxruntime, in turns, only import and load the model: on
the shared 2-vCPU guests we measure on, about one process in five loads up to
2x slower in every phase (reading, optimising, packing) whichever engine it
runs, and a small model's fastest load out of five still moved by ~10% from
one run of this script to the next (onnxruntime's LSTM: 26.2-31.0 ms in a day).

    python benchmarks/compare.py                       # all models, 2 threads
    python benchmarks/compare.py --models squeezenet,bert --iterations 5 --json out.json
    python benchmarks/compare.py --smoke               # one small model, two iterations (CI)
    python benchmarks/compare.py --models resnet18,resnet18_int8,mobilenet_v2,mobilenet_v2_int8 --engines litert,onnxruntime
    python benchmarks/compare.py --bf16 --models resnet50,squeezenet      # + litert bf16, OpenVINO fp32 and bf16

``<model>_int8`` is ``<model>`` quantised by onnxruntime's own ``quantize_static`` (QDQ): both engines run
that same file, and the int8 table sets each beside its float model.  MindSpore Lite (where its venv exists,
tools/mslite/build_venv.sh) runs converter_lite's own ``.ms`` of each model with NHWC inputs; its column is
empty where converter_lite or the runtime refuses the model (the error is printed under the row).  The
geomeans are over the float models.

Not a test: it asserts nothing about speed.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

ENGINES = ("litert", "onnxruntime", "onnx.reference")
#: reduced precision (``--bf16``): litert with ``precision="bf16"``, and OpenVINO (a peer) with its
#: inference-precision hint at f32 and at bf16; outputs saved beside the model to compare with litert's fp32
BF16_ENGINES = ("litert-bf16", "openvino", "openvino-bf16")
#: the seed engine itself, added where its venv exists (tools/mslite/build_venv.sh)
MSL_ENGINE = "mindspore_lite"
#: onnx.reference takes seconds per run on the big CNNs: it gets fewer runs
REFERENCE_ITERATIONS = 1


def build_models(cache: Path, names: list[str]) -> dict[str, tuple[Path, Path]]:
    """Write each model and its inputs (npz) once; returns name -> (model, inputs)."""
    import onnx
    from helpers import modelgen

    #: the generated model classes beyond the light zoo: name -> (builder, input shape)
    generated = {
        "vit": (modelgen.vit, (1, 3, 224, 224)),
        "unet": (modelgen.unet, (1, 3, 128, 128)),
        "lstm": (modelgen.small_lstm, (16, 1, 64)),
        "det_head": (modelgen.detection_head, (1, 3, 256, 256)),
        "resnet18": (modelgen.resnet18, (1, 3, 224, 224)),
    }

    cache.mkdir(parents=True, exist_ok=True)
    out = {}
    for name in names:
        model_path, input_path = cache / f"{name}.onnx", cache / f"{name}.npz"
        if not (model_path.exists() and input_path.exists()):
            if name.endswith(INT8_SUFFIX):
                base_model, base_inputs = build_models(cache, [name[:-len(INT8_SUFFIX)]])[name[:-len(INT8_SUFFIX)]]
                quantize_qdq(base_model, base_inputs, model_path)
                input_path.write_bytes(base_inputs.read_bytes())
                out[name] = (model_path, input_path)
                continue
            if name in modelgen.LIGHT_MODELS:
                model = modelgen.randomized_light_model(name, seed=0)
                feeds = modelgen.light_input(model, seed=1)
            elif name.startswith("mobilenet_v2"):
                model = modelgen.mobilenet_v2(seed=0)
                batch = int(name.rsplit("_b", 1)[1]) if "_b" in name else 1
                feeds = {"input": np.random.default_rng(1).standard_normal((batch, 3, 224, 224)).astype(np.float32)}
            elif name == "bert":
                model = modelgen.bert_encoder(seed=0, layers=4, hidden=256, heads=4, seq=128)
                feeds = modelgen.bert_inputs(batch=1, seq=128, hidden=256, seed=1)
            elif name in generated:
                build, shape = generated[name]
                model = build(seed=0)
                feeds = {model.graph.input[0].name: np.random.default_rng(1).standard_normal(shape).astype(np.float32)}
            else:
                raise SystemExit(f"unknown model {name!r}")
            onnx.save(model, model_path)
            np.savez(input_path, **feeds)
        out[name] = (model_path, input_path)
    return out


#: "<model>_int8": the model quantised by onnxruntime (QDQ), one file both engines run
INT8_SUFFIX = "_int8"
INT8_CALIBRATION_SAMPLES = 8


def quantize_qdq(model: Path, inputs: Path, output: Path) -> None:
    """onnxruntime's own static quantisation of ``model`` (after its ``quant_pre_process``): QDQ, uint8
    activations, int8 weights per channel, calibrated (MinMax) on random normal inputs of the benchmark
    input's shape (speed, not accuracy)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    feeds = dict(np.load(inputs))
    rng = np.random.default_rng(2)
    samples = [{k: rng.standard_normal(v.shape).astype(v.dtype) for k, v in feeds.items()}
               for _ in range(INT8_CALIBRATION_SAMPLES)]

    class Samples(CalibrationDataReader):
        def __init__(self):
            self.queue = iter(samples)

        def get_next(self):
            return next(self.queue, None)

    from onnxruntime.quantization.shape_inference import quant_pre_process

    # onnxruntime's recommended first step: BatchNormalization folded into the convolutions, shapes inferred
    prepared, tmp = output.with_name(output.name + ".pre.tmp"), output.with_name(output.name + ".tmp")
    quant_pre_process(str(model), str(prepared), skip_symbolic_shape=True)
    quantize_static(str(prepared), str(tmp), Samples(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    prepared.unlink()
    tmp.replace(output)


# ---------------------------------------------------------------- one engine, one model (subprocess)


def _peak_rss_mb(resource) -> float:
    """This process's peak resident set.  Linux's VmHWM belongs to the
    process's own address space; ``ru_maxrss`` is not reset by exec and
    reported the parent's peak for every worker."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(engine: str, model: str, inputs: str, threads: int, warmup: int, iterations: int) -> dict:
    import resource

    if engine == MSL_ENGINE:
        return _measure_mindspore_lite(model, inputs, threads, warmup, iterations)
    feeds = dict(np.load(inputs))
    start = time.perf_counter()
    if engine in ("litert", "litert-bf16"):
        import litert

        session = litert.load(model, devices=["cpu"], threads=threads, precision="bf16" if engine == "litert-bf16" else "fp32")
        run = lambda: session.predict(feeds)  # noqa: E731
    elif engine in ("openvino", "openvino-bf16"):
        import openvino

        compiled = openvino.Core().compile_model(model, "CPU", {
            "INFERENCE_PRECISION_HINT": "bf16" if engine == "openvino-bf16" else "f32",
            "INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"})
        request = compiled.create_infer_request()
        run = lambda: list(request.infer(feeds).values())  # noqa: E731
    elif engine == "onnxruntime":
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
        run = lambda: session.run(None, feeds)  # noqa: E731
    else:
        from onnx.reference import ReferenceEvaluator
        from threadpoolctl import threadpool_limits

        limiter = threadpool_limits(limits=threads)  # noqa: F841 - held for the process lifetime
        evaluator = ReferenceEvaluator(model)
        run = lambda: evaluator.run(None, feeds)  # noqa: E731
    load = time.perf_counter() - start
    if iterations == 0:  # a load-only process (--load-rounds)
        return {"load_s": load}
    for _ in range(warmup):
        run()
    times = []
    for _ in range(iterations):
        t0 = time.perf_counter()
        outputs = run()
        times.append(time.perf_counter() - t0)
    first = np.asarray(outputs[0], dtype=np.float64)
    if engine in ("litert", *BF16_ENGINES):
        _save_output(Path(model), engine, first)
    return {
        "load_s": load,
        "times_ms": [t * 1000 for t in times],
        "peak_rss_mb": _peak_rss_mb(resource),
        "output_checksum": float(np.sum(first)),
        "output_scale": float(np.max(np.abs(first))) if first.size else 0.0,
    }


def _output_path(model: Path, engine: str) -> Path:
    return model.with_name(f"{model.stem}.{engine}.out.npy")


def _save_output(model: Path, engine: str, output: np.ndarray) -> None:
    path = _output_path(model, engine)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.save(f, output)
    tmp.replace(path)


def _mslite_oracle():
    sys.path.insert(0, str(ROOT / "tools" / "mslite"))
    import mslite_oracle

    return mslite_oracle


def _measure_mindspore_lite(model: str, inputs: str, threads: int, warmup: int, iterations: int) -> dict:
    """converter_lite's .ms of the model (NHWC inputs, its default), timed by MindSpore Lite 2.0.0 itself."""
    oracle = _mslite_oracle()
    ms_path = Path(model).with_suffix(".msl.ms")
    if not ms_path.exists():
        oracle.convert(model, ms_path)
    feeds = [np.ascontiguousarray(v.transpose(0, 2, 3, 1)) if v.ndim == 4 else (v.astype(np.int32) if v.dtype == np.int64 else v)
             for v in np.load(inputs).values()]
    return oracle.bench(ms_path, feeds, threads=threads, warmup=warmup, loops=iterations)


def measure(engine: str, model: Path, inputs: Path, threads: int, warmup: int, iterations: int, timeout: float) -> dict:
    # bytecode caching on, as in a user's installed environment: with
    # PYTHONDONTWRITEBYTECODE (set on these machines) every worker would
    # recompile litert's Python sources and the load column would measure that
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["OMP_NUM_THREADS"] = str(threads)
    cmd = [sys.executable, __file__, "--_worker", engine, str(model), str(inputs), str(threads), str(warmup), str(iterations)]
    try:
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timeout after {timeout:.0f} s"}
    if result.returncode != 0:
        return {"error": (result.stderr.strip().splitlines() or ["failed"])[-1][:120]}
    return json.loads(result.stdout.strip().splitlines()[-1])


def _merge(old: dict | None, new: dict) -> dict:
    """Two rounds of one engine as one: all timed runs, the fastest load,
    the largest peak RSS; an error only when every round failed."""
    if old is None or "error" in old:
        return new
    if "error" in new:
        return old
    return {**old, "times_ms": old["times_ms"] + new["times_ms"], "load_s": min(old["load_s"], new["load_s"]),
            "peak_rss_mb": max(old["peak_rss_mb"], new["peak_rss_mb"])}


def _merge_load(old: dict | None, new: dict) -> dict | None:
    """A load-only process's load into an engine's rounds: the fastest load counts (one that failed adds nothing)."""
    if old is None or "error" in old or "error" in new:
        return old
    return {**old, "load_s": min(old["load_s"], new["load_s"])}


# ---------------------------------------------------------------- report


def _cell(r: dict | None, key: str) -> str:
    if not r or "error" in r:
        return "-"
    times = r["times_ms"]
    value = min(times) if key == "min" else float(np.median(times))
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _ratio(a: dict | None, b: dict | None) -> float:
    """min of a's runs / min of b's (nan unless both ran)."""
    ok = a and "error" not in a and b and "error" not in b
    return min(a["times_ms"]) / min(b["times_ms"]) if ok else math.nan


def _x(value: float, width: int, spec: str = ".2f", suffix: str = "") -> str:
    """A ratio cell, right-aligned; '-' where it was not measured."""
    return f"{'-' if math.isnan(value) else format(value, spec) + suffix:>{width}}"


def _geomean(xs: list[float]) -> float:
    return float(np.exp(np.mean(np.log(xs)))) if xs else math.nan


def report(results: dict, threads: int) -> tuple[list[str], dict]:
    """One row per model: litert, onnxruntime, and where they ran onnx.reference and MindSpore Lite (its own
    .ms of the model, NHWC input); the summary's geomeans are over the float models (int8 rows: report_int8)."""
    has_ref = any("onnx.reference" in by for by in results.values())
    has_msl = any(MSL_ENGINE in by for by in results.values())
    header = f"{'model':<17} {'litert med':>10} {'min':>7} {'ort med':>8} {'min':>7} {'x ort':>6}"
    header += f" {'ref min':>9} {'x ref':>7}" if has_ref else ""
    header += f" {'msl min':>8} {'x msl':>6}" if has_msl else ""
    lines = [f"threads={threads}; latency in ms over warm runs; x = litert min / other min (x ref: reference / litert)",
             "", header + f" {'load lt/ort s':>14} {'rss lt/ort MB':>14}"]
    ratios: dict[str, dict[str, float]] = {"ort": {}, "ref": {}, "msl": {}}
    for name, by in results.items():
        lt, ort, ref, msl = (by.get(e) for e in (*ENGINES, MSL_ENGINE))
        x = {"ort": _ratio(lt, ort), "ref": _ratio(ref, lt), "msl": _ratio(lt, msl)}
        if not name.endswith(INT8_SUFFIX):
            for key, value in x.items():
                if not math.isnan(value):
                    ratios[key][name] = value
        ok = lt and "error" not in lt and ort and "error" not in ort
        load = f"{lt['load_s']:.2f}/{ort['load_s']:.2f}" if ok else "-"
        rss = f"{lt['peak_rss_mb']:.0f}/{ort['peak_rss_mb']:.0f}" if ok else "-"
        row = (f"{name:<17} {_cell(lt, 'med'):>10} {_cell(lt, 'min'):>7} {_cell(ort, 'med'):>8} {_cell(ort, 'min'):>7} "
               f"{_x(x['ort'], 6)}")
        row += f" {_cell(ref, 'min'):>9} {_x(x['ref'], 7, '.0f', 'x')}" if has_ref else ""
        row += f" {_cell(msl, 'min'):>8} {_x(x['msl'], 6)}" if has_msl else ""
        lines.append(row + f" {load:>14} {rss:>14}")
        for engine, r in by.items():
            if r and "error" in r:
                lines.append(f"  {engine}: {r['error']}")
    ort_x, msl_x = ratios["ort"], ratios["msl"]
    summary = {"geomean_litert_over_ort": _geomean(list(ort_x.values())),
               "worst_litert_over_ort": max(ort_x.values(), default=math.nan),
               "geomean_reference_over_litert": _geomean(list(ratios["ref"].values())),
               "geomean_litert_over_msl": _geomean(list(msl_x.values())),
               "behind_msl": {k: round(v, 2) for k, v in sorted(msl_x.items(), key=lambda kv: -kv[1]) if v > 1.0}}
    worst = max(ort_x, key=ort_x.get) if ort_x else "-"
    lines += ["", f"geomean litert/onnxruntime = {summary['geomean_litert_over_ort']:.2f} over {len(ort_x)} float "
                  f"models (worst {summary['worst_litert_over_ort']:.2f}, {worst})"]
    if has_ref:
        lines.append(f"onnx.reference/litert = {summary['geomean_reference_over_litert']:.1f}x")
    if msl_x:
        behind = ", ".join(f"{k} {v:.2f}" for k, v in summary["behind_msl"].items()) or "none"
        lines.append(f"geomean litert/MindSpore Lite 2.0 = {summary['geomean_litert_over_msl']:.2f} over {len(msl_x)} "
                     f"models it converts; behind on: {behind}")
    return lines, summary


def report_int8(results: dict) -> list[str]:
    """int8 rows: each "<model>_int8" (onnxruntime's QDQ file) beside its float model, per engine."""
    rows = [(name, by, results.get(name[:-len(INT8_SUFFIX)], {})) for name, by in results.items()
            if name.endswith(INT8_SUFFIX)]
    if not rows:
        return []
    lines = ["", "int8: onnxruntime's static QDQ quantisation (uint8 activations, int8 weights per channel), the same "
             "file for both engines; speed-up = float min / int8 min",
             f"{'model':<20} {'litert int8':>11} {'float':>8} {'speed-up':>9} {'ort int8':>9} {'float':>8} "
             f"{'speed-up':>9} {'x ort':>6}"]

    def speedup(float_runs: dict, int8_runs: dict, engine: str) -> float:
        return _ratio(float_runs.get(engine), int8_runs.get(engine))

    for name, q, f in rows:
        lt, ort = q.get("litert"), q.get("onnxruntime")
        x_ort = _ratio(lt, ort)
        lines.append(f"{name:<20} {_cell(lt, 'min'):>11} {_cell(f.get('litert'), 'min'):>8} "
                     f"{_x(speedup(f, q, 'litert'), 9, '.2f', 'x')} {_cell(ort, 'min'):>9} "
                     f"{_cell(f.get('onnxruntime'), 'min'):>8} {_x(speedup(f, q, 'onnxruntime'), 9, '.2f', 'x')} "
                     f"{_x(x_ort, 6)}")
    return lines


def report_bf16(results: dict, models: dict) -> list[str]:
    """bf16 rows: litert and OpenVINO each at float32 and bf16, the speed-up, and each bf16 output's
    relative error ||bf16 - fp32|| / ||fp32|| against litert's float32 output."""
    ok = lambda r: r and "error" not in r  # noqa: E731
    rows = [(name, by) for name, by in results.items() if any(e in by for e in BF16_ENGINES)]
    if not rows:
        return []
    lines = ["", "bf16: litert precision='bf16' and OpenVINO's INFERENCE_PRECISION_HINT=bf16 beside their float32; "
             "speed-up = fp32 min / bf16 min; err = ||bf16 - fp32|| / ||fp32|| of output 0 (fp32 = litert's)",
             f"{'model':<16} {'litert fp32':>11} {'bf16':>7} {'speed-up':>9} {'err':>8} {'ov fp32':>8} {'bf16':>7} "
             f"{'speed-up':>9} {'err':>8} {'lt/ov bf16':>10}"]

    def minimum(r):
        return min(r["times_ms"]) if ok(r) else math.nan

    def error(name: str, engine: str) -> float:
        model = models[name][0]
        base, other = _output_path(model, "litert"), _output_path(model, engine)
        if not (base.exists() and other.exists()):
            return math.nan
        a, b = np.load(base), np.load(other)
        return float(np.linalg.norm(b - a) / np.linalg.norm(a)) if a.shape == b.shape and np.linalg.norm(a) else math.nan

    for name, by in rows:
        lt, lt16, ov, ov16 = (minimum(by.get(e)) for e in ("litert", "litert-bf16", "openvino", "openvino-bf16"))
        lines.append(f"{name:<16} {lt:>11.1f} {lt16:>7.1f} {lt / lt16:>8.2f}x {error(name, 'litert-bf16'):>8.1e} "
                     f"{ov:>8.1f} {ov16:>7.1f} {ov / ov16:>8.2f}x {error(name, 'openvino-bf16'):>8.1e} "
                     f"{lt16 / ov16:>10.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    from helpers.modelgen import LIGHT_MODELS

    default_models = [*LIGHT_MODELS, "mobilenet_v2", "mobilenet_v2_b8", "bert", "vit", "unet", "lstm", "det_head",
                      "resnet18", "resnet18_int8", "mobilenet_v2_int8"]
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", default=",".join(default_models))
    parser.add_argument("--engines", help=f"default: {','.join(ENGINES)}, plus {MSL_ENGINE} where its venv exists")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--iterations", type=int, default=10, help="timed runs per round")
    parser.add_argument("--rounds", type=int, default=5, help="fresh processes per engine, taken in turns")
    parser.add_argument("--load-rounds", type=int, default=10,
                        help="more fresh processes in which litert and onnxruntime, in turns, only load the model")
    parser.add_argument("--timeout", type=float, default=900)
    parser.add_argument("--json", help="write all measurements here")
    parser.add_argument("--cache", default=str(ROOT / "benchmarks" / ".cache"))
    parser.add_argument("--smoke", action="store_true", help="squeezenet only, 1 warm-up, 2 iterations")
    parser.add_argument("--bf16", action="store_true", help=f"add the engines {', '.join(BF16_ENGINES)} and their table")
    args = parser.parse_args(argv)
    if args.smoke:
        args.models, args.warmup, args.iterations, args.rounds, args.load_rounds = "squeezenet", 1, 2, 1, 1
    models = build_models(Path(args.cache), args.models.split(","))
    engines = args.engines.split(",") if args.engines else list(ENGINES) + ([MSL_ENGINE] if _mslite_oracle().available()[0] else [])
    if args.bf16:
        engines += [e for e in ("litert", *BF16_ENGINES) if e not in engines]
    results: dict[str, dict] = {}
    for name, (model, inputs) in models.items():
        results[name] = {}
        # engines take turns, round after round, so that a noisy stretch of a
        # shared machine does not fall on one engine only
        for round_ in range(args.rounds):
            for engine in engines:
                if engine == "onnx.reference" and round_ > 0:
                    continue  # seconds per run: one round is plenty
                iterations = min(args.iterations, REFERENCE_ITERATIONS) if engine == "onnx.reference" else args.iterations
                warmup = 0 if engine == "onnx.reference" else args.warmup
                result = measure(engine, model, inputs, args.threads, warmup, iterations, args.timeout)
                results[name][engine] = _merge(results[name].get(engine), result)
                print(f"  measured {name:<16} {engine:<15} {_cell(result, 'min'):>8} ms", file=sys.stderr, flush=True)
        loaders = [e for e in ("litert", "onnxruntime") if e in engines]
        for _ in range(args.load_rounds):
            for engine in loaders:
                results[name][engine] = _merge_load(results[name].get(engine),
                                                    measure(engine, model, inputs, args.threads, 0, 0, args.timeout))
        if loaders and args.load_rounds:
            loads = "  ".join(f"{e} {results[name][e]['load_s'] * 1e3:.1f} ms" for e in loaders if "error" not in results[name][e])
            print(f"  loaded   {name:<16} fastest of {args.rounds + args.load_rounds}: {loads}", file=sys.stderr, flush=True)
    lines, summary = report(results, args.threads)
    lines += report_int8(results)
    lines += report_bf16(results, models)
    print("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps({"threads": args.threads, "results": results, "summary": summary}, indent=2))
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--_worker":
        engine, model, inputs, threads, warmup, iterations = sys.argv[2:8]
        print(json.dumps(_measure(engine, model, inputs, int(threads), int(warmup), int(iterations))))
        sys.exit(0)
    sys.exit(main())
