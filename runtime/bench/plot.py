"""A chart of a bench document: per kernel, the native time of every tier, the hand twin
and the peers relative to the fastest of them (log scale). PNG through matplotlib when it
is installed, else a self-contained HTML page with an inline SVG."""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any

PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f")


def series(document: dict[str, Any]) -> tuple[list[str], list[str], list[list[float | None]]]:
    """Kernel names, variant names and, per kernel, each variant's median native time
    relative to the fastest variant of that kernel (None where it was not timed)."""
    kernels = list(document["kernels"])
    variants = list(document.get("tiers", [])) + ["hand"] + list(document.get("peers", {}))
    values: list[list[float | None]] = []
    for name in kernels:
        kernel = document["kernels"][name]
        entries = {**kernel["tiers"], "hand": kernel.get("hand") or {}}
        times = [entries.get(v, {}).get("native", {}).get("median") if v in entries
                 else kernel["peers"].get(v, {}).get("median") for v in variants]
        best = min((t for t in times if t), default=None)
        values.append([t / best if t and best else None for t in times])
    return kernels, variants, values


def _svg(document: dict[str, Any]) -> str:
    kernels, variants, values = series(document)
    bar, gap, left, top = 6, 10, 130, 30
    group = bar * len(variants) + gap
    width, height = 900, top + group * len(kernels) + 40
    peak = max((math.log10(v) for row in values for v in row if v), default=1.0) or 1.0
    scale = (width - left - 20) / peak
    opening = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
               f'font-family="sans-serif" font-size="11">')
    parts = [opening,
             f'<text x="{left}" y="16">native time / fastest (log scale, 1 = fastest)</text>']
    for k, name in enumerate(kernels):
        y0 = top + k * group
        parts.append(f'<text x="4" y="{y0 + group / 2}">{html.escape(name)}</text>')
        for v, ratio in enumerate(values[k]):
            if not ratio:
                continue
            length = max(1.0, math.log10(ratio) * scale)
            parts.append(f'<rect x="{left}" y="{y0 + v * bar}" width="{length:.1f}" '
                         f'height="{bar - 1}" fill="{PALETTE[v % len(PALETTE)]}">'
                         f'<title>{html.escape(variants[v])}: {ratio:.2f}x</title></rect>')
    legend_y = height - 14
    for v, variant in enumerate(variants):
        x = left + v * 80
        parts.append(f'<rect x="{x}" y="{legend_y - 9}" width="10" height="10" '
                     f'fill="{PALETTE[v % len(PALETTE)]}"/>'
                     f'<text x="{x + 14}" y="{legend_y}">{html.escape(variant)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def write_plot(document: dict[str, Any], path: Path) -> Path:
    """Write the chart; returns the file written (``.html`` when matplotlib is missing and
    a ``.png`` was asked for)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        from matplotlib import pyplot
    except ImportError:
        target = path if path.suffix in (".html", ".svg") else path.with_suffix(".html")
        svg = _svg(document)
        text = svg if target.suffix == ".svg" else (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>phextcc bench</title>"
            f"</head><body>{svg}</body></html>")
        target.write_text(text)
        return target
    kernels, variants, values = series(document)
    figure, axes = pyplot.subplots(figsize=(10, 0.5 + 0.45 * len(kernels) * 2))
    height = 0.8 / max(len(variants), 1)
    for v, variant in enumerate(variants):
        positions = [k + v * height for k in range(len(kernels))]
        axes.barh(positions, [row[v] or 0 for row in values], height=height, label=variant)
    axes.set_xscale("log")
    axes.set_yticks(range(len(kernels)), kernels)
    axes.set_xlabel("native time / fastest")
    axes.legend(fontsize="small")
    figure.tight_layout()
    figure.savefig(path)
    pyplot.close(figure)
    return path
