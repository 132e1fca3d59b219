"""``debug_info_save_path``: MindSpore Lite's ``quant_param.csv`` (one row per quantised tensor).

Columns as MindSpore Lite writes them: NodeName, NodeType, TensorName, ElementsNum, Dims, Scale,
ZeroPoint, Bits, CorrectionVar, CorrectionMean (per-channel values joined with spaces; litert applies no
bias correction, so the correction columns hold the neutral 1 and 0).  The two other debug files of
MindSpore Lite (``output_summary.csv``, ``round_*.csv``) are not written.
"""
from __future__ import annotations

import csv
import io
import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import LitertError

COLUMNS = ("NodeName", "NodeType", "TensorName", "ElementsNum", "Dims", "Scale", "ZeroPoint", "Bits",
           "CorrectionVar", "CorrectionMean")


def quant_param_csv(rows: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row["NodeName"], row["NodeType"], row["TensorName"], row["ElementsNum"],
                         " ".join(str(d) for d in row["Dims"]), " ".join(f"{s:.9g}" for s in row["Scale"]),
                         " ".join(str(z) for z in row["ZeroPoint"]), row["Bits"], 1, 0])
    return buffer.getvalue()


def write_debug_csvs(folder: Path, rows: list[dict[str, Any]]) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=".quant_param.", suffix=".csv", dir=folder)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(quant_param_csv(rows))
        os.replace(temporary, folder / "quant_param.csv")
    except OSError as err:
        raise LitertError(f"debug_info_save_path {folder}: cannot write ({err})") from None
