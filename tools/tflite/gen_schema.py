"""Generate the module of litert's TFLite schema subset (development time only).

    python tools/tflite/gen_schema.py [--check]

Reads ``plugins/formats/litert_formats/tflite/tflite.fbs`` and writes
``tflite/schema.py`` with the ``.ms`` generator's code (``tools/mslite/gen_schema.py``):
the slot tables the shared FlatBuffers reader and verifier walk, the unions
and every enum.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "mslite"))
from gen_schema import FORMATS, run  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(run(FORMATS / "tflite" / "tflite.fbs", FORMATS / "tflite" / "schema.py",
                         "tools/tflite/gen_schema.py"))
