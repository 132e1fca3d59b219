"""Re-run the ONNX node conformance cases and rewrite the expected-failures list.

    python tools/update_conformance.py          # rewrite tests/conformance/expected_failures.txt
    python tools/update_conformance.py --check  # print the summary only

Each failing case gets a category so the list reads as a to-do list; the
header records the pass count the test suite must not fall below.
"""
from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from helpers.conformance import EXPECTED, node_cases, run_case  # noqa: E402

#: (regex on "case name: reason", category), first match wins
CATEGORIES = (
    (r"Gradient|preview\.training", "training-op"),
    (r"^test_bernoulli", "random-output"),  # compares draws of an unseeded generator
    (r"ImageDecoder", "image-decoding"),
    (r"no backend|no CPU kernel", "missing-kernel"),
    (r"float8|float4|e8m0|FLOAT8|FLOAT4|int4|INT4|bf16|fp16|bfloat16|float16", "low-precision-dtype"),
    (r"mismatch", "numerics"),
)


#: model cases (simple, pytorch-*, light) not passed yet, with their category and reason
MODEL_CASE_FAILURES: dict[str, str] = {}


def categorize(name: str, reason: str) -> str:
    text = f"{name}: {reason}"
    for pattern, category in CATEGORIES:
        if re.search(pattern, text):
            return category
    return "error"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    cases = node_cases()
    failures = {c.name: r for c in cases if (r := run_case(c)) is not None}
    passed = len(cases) - len(failures)
    rows = sorted((categorize(n, r), n, r) for n, r in failures.items())
    sizes = Counter(cat for cat, _, _ in rows)
    print(f"onnx node conformance: {passed}/{len(cases)}")
    for category, size in sizes.most_common():
        print(f"  {category}: {size}")
    if args.check:
        return 0
    lines = [
        "# ONNX node conformance cases litert does not pass yet, one per line:",
        "# <case name> <category>: <reason>.  Regenerate with tools/update_conformance.py.",
        f"# recorded: {passed}/{len(cases)}",
        "# categories: " + ", ".join(f"{c} {n}" for c, n in sizes.most_common()),
    ]
    lines += [f"{name} {category}: {reason}" for category, name, reason in rows]
    if MODEL_CASE_FAILURES:
        lines += ["# model cases"] + [f"{name} {why}" for name, why in MODEL_CASE_FAILURES.items()]
    EXPECTED.write_text("\n".join(lines) + "\n")
    print(f"wrote {EXPECTED}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
