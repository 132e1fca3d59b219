"""The litert demo: make a real model on the spot, convert it, run it.

Builds a MobileNetV2 (random weights, dynamic batch) with onnx.helper,
converts it with litert's optimiser (BatchNorm folding, activation fusion),
runs it on the CPU backend and prints the placement, the memory plan, the
output and the latency.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from helpers.modelgen import mobilenet_v2  # noqa: E402

import litert  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        src, opt = Path(tmp) / "mobilenet_v2.onnx", Path(tmp) / "mobilenet_v2.opt.onnx"
        onnx.save(mobilenet_v2(seed=0), src)
        print(f"made {src.name}: MobileNetV2, {src.stat().st_size / 2**20:.1f} MiB")
        print("\n".join(litert.convert(src, opt).lines()))
        model = litert.load(opt, devices=["cpu"], threads=2)
        print("inputs: ", ", ".join(map(str, model.inputs)))
        print("\n".join(model.summary_lines()))
        x = np.random.default_rng(0).standard_normal((1, 3, 224, 224)).astype(np.float32)
        model.predict([x])  # warm-up; binds the dynamic batch dim, so the arena plan is complete
        print(model.memory_plan.summary(), "for N=1")
        times = []
        for _ in range(5):
            start = time.perf_counter()
            [logits] = model.predict([x])
            times.append(time.perf_counter() - start)
        top = np.argsort(logits[0])[::-1][:3]
        print(f"top-3 classes {top.tolist()} logits {np.round(logits[0][top], 3).tolist()}")
        print(f"latency: min {min(times) * 1000:.1f} ms, median {sorted(times)[2] * 1000:.1f} ms (batch 1, 2 threads)")


if __name__ == "__main__":
    main()
