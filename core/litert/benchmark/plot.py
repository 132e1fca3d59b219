"""A chart of the per-operator profile that a person can open.

``.html`` (default): one self-contained file, inline SVG bar charts (the
slowest nodes, then time per op type, bars coloured by op type, hover for
details) and the full table; no script, no network.  ``.svg``: the node
chart alone.  ``.png``: drawn with matplotlib when it is installed (it is
not a litert dependency).
"""
from __future__ import annotations

import html
import importlib
import importlib.util
from pathlib import Path

from ..atomic import atomic_write, write_text
from ..errors import InputError
from .result import Profile

#: colour-blind-safe palette (Okabe-Ito, then Tableau), cycled over op types
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
           "#4E79A7", "#F28E2B", "#59A14F", "#B07AA1", "#76B7B2", "#EDC948", "#FF9DA7", "#9C755F")
TOP_NODES = 40


def _colours(profile: Profile) -> dict[str, str]:
    return {t.op_type: PALETTE[i % len(PALETTE)] for i, t in enumerate(profile.op_types)}


def _bars_svg(rows: list[tuple[str, float, str, str]], unit: str = "ms", width: int = 960) -> str:
    """Horizontal bars: rows of (label, value, colour, tooltip)."""
    label_w, value_w, bar_h, gap, top = 300, 150, 18, 4, 8
    plot_w = width - label_w - value_w
    peak = max((v for _, v, _, _ in rows), default=0.0) or 1.0
    height = top * 2 + len(rows) * (bar_h + gap)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">']
    for i, (label, value, colour, tip) in enumerate(rows):
        y = top + i * (bar_h + gap)
        w = max(1.0, plot_w * value / peak)
        short = label if len(label) <= 44 else label[:41] + "..."
        parts.append(
            f'<g><title>{html.escape(tip)}</title>'
            f'<text x="{label_w - 6}" y="{y + bar_h - 5}" text-anchor="end">{html.escape(short)}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar_h}" fill="{colour}"/>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + bar_h - 5}">{value:.3f} {unit}</text></g>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _short(op_type: str) -> str:
    return op_type.rsplit("::", 1)[-1]


def node_chart_svg(profile: Profile, top: int = TOP_NODES) -> str:
    colours = _colours(profile)
    rows = [(f"{t.node}  {_short(t.op_type)}", t.total_ms, colours[t.op_type],
             f"{t.node} ({t.op_type} on {t.device}): {t.total_ms:.3f} ms total, {t.calls} calls, "
             f"{t.mean_ms:.4f} ms per call, {t.share:.1%} of kernel time")
            for t in profile.nodes[:top]]
    return _bars_svg(rows)


def op_type_chart_svg(profile: Profile) -> str:
    colours = _colours(profile)
    rows = [(t.op_type, t.total_ms, colours[t.op_type],
             f"{t.op_type}: {t.nodes} nodes, {t.calls} calls, {t.total_ms:.3f} ms, {t.share:.1%} of kernel time")
            for t in profile.op_types]
    return _bars_svg(rows)


def profile_html(profile: Profile, title: str) -> str:
    colours = _colours(profile)
    legend = " ".join(f'<span class="key"><i style="background:{c}"></i>{html.escape(op)}</span>'
                      for op, c in colours.items())
    rows = "\n".join(
        f"<tr><td>{html.escape(t.node)}</td><td>{html.escape(t.op_type)}</td><td>{html.escape(t.device)}</td>"
        f"<td>{t.calls}</td><td>{t.total_ms:.3f}</td><td>{t.mean_ms:.4f}</td><td>{t.share:.1%}</td></tr>"
        for t in profile.nodes
    )
    share = profile.kernel_ms / profile.run_ms if profile.run_ms else 0.0
    shown = min(len(profile.nodes), TOP_NODES)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 13px; }}
td, th {{ padding: 2px 10px; border-bottom: 1px solid #ddd; text-align: right; }}
td:nth-child(-n+3), th:nth-child(-n+3) {{ text-align: left; }}
.key {{ margin-right: 1em; white-space: nowrap; font-size: 13px; }}
.key i {{ display: inline-block; width: 10px; height: 10px; margin-right: 4px; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p>{profile.loops} profiled loops: kernels {profile.kernel_ms:.3f} ms of {profile.run_ms:.3f} ms run time
({share:.1%}); {len(profile.nodes)} nodes, {len(profile.op_types)} op types.</p>
<p>{legend}</p>
<h2>Slowest {shown} nodes (total over all loops)</h2>
{node_chart_svg(profile)}
<h2>Time per op type</h2>
{op_type_chart_svg(profile)}
<h2>All nodes</h2>
<table><tr><th>node</th><th>op type</th><th>device</th><th>calls</th><th>total ms</th><th>mean ms</th>
<th>share</th></tr>
{rows}
</table>
</body></html>
"""


def _write_png(profile: Profile, path: Path, title: str) -> None:
    matplotlib = importlib.import_module("matplotlib")
    matplotlib.use("Agg")
    plt = importlib.import_module("matplotlib.pyplot")
    colours = _colours(profile)
    nodes = profile.nodes[:TOP_NODES][::-1]
    fig, ax = plt.subplots(figsize=(10, 0.28 * len(nodes) + 1.5))
    ax.barh([f"{t.node}  {_short(t.op_type)}" for t in nodes], [t.total_ms for t in nodes],
            color=[colours[t.op_type] for t in nodes])
    ax.set_xlabel("total ms over all loops")
    ax.set_title(title)
    fig.tight_layout()
    with atomic_write(path) as f:
        fig.savefig(f, dpi=100, format="png")
    plt.close(fig)


def check_plot_path(path: str | Path) -> None:
    """Fail before a long run when the chart could not be written afterwards."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".html", ".htm", ".svg", ".png"):
        raise InputError(f"--plot {path}: unknown chart format {suffix or '(none)'!r}; use .html, .svg or .png")
    if suffix == ".png" and importlib.util.find_spec("matplotlib") is None:
        raise InputError(f"--plot {path}: PNG output needs matplotlib, which is not installed; "
                         "use a .html or .svg file")
    if not path.parent.is_dir():
        raise InputError(f"--plot {path}: directory {path.parent} does not exist")


def write_plot(profile: Profile, path: str | Path, title: str = "litert per-operator profile") -> Path:
    """Write the chart; the suffix picks the form (``.html``/``.htm``, ``.svg``, ``.png``)."""
    check_plot_path(path)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        write_text(path, profile_html(profile, title))
    elif suffix == ".svg":
        write_text(path, node_chart_svg(profile))
    else:
        _write_png(profile, path, title)
    return path
