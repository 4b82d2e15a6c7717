"""The human-readable table of a bench document (one row per kernel and variant, then
one line per kernel with the compiler gap and the peer ratios)."""

from __future__ import annotations

from typing import Any

COLUMNS = ("kernel", "variant", "ok", "compile s", "SIWs", "ops/SIW", "sim cycles",
           "ops/cyc", "warm ops/cyc", "eff", "native ms")


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _row(name: str, variant: str, entry: dict[str, Any]) -> list[str]:
    sim = entry.get("sim", {})
    native = entry.get("native", {})
    median = native.get("median")
    return [name, variant, "yes" if entry.get("correct") else "NO",
            _fmt(entry.get("compile_seconds"), ".2f"), str(entry.get("siws", "-")),
            _fmt(entry.get("ops_per_siw"), ".2f"), _fmt(sim.get("cycles"), "d"),
            _fmt(sim.get("ops_per_cycle"), ".3f"), _fmt(sim.get("warm_ops_per_cycle"), ".3f"),
            _fmt(sim.get("efficiency"), ".2f"),
            _fmt(median * 1e3 if median is not None else None, ".3f")]


def _table(rows: list[list[str]], header: tuple[str, ...]) -> str:
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) if rows else len(header[i])
              for i in range(len(header))]
    lines = ["  ".join(h.ljust(w) if i < 2 else h.rjust(w)
                       for i, (h, w) in enumerate(zip(header, widths)))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths))) for r in rows]
    return "\n".join(lines)


def _gap_row(name: str, kernel: dict[str, Any], peer_names: list[str]) -> list[str]:
    gap = kernel.get("compiler_gap") or {}
    cells = [name, gap.get("tier", "-"), _fmt(gap.get("siws"), ".2f"),
             _fmt(gap.get("cycles"), ".2f"), _fmt(gap.get("native"), ".2f")]
    for peer in peer_names:
        timing = kernel["peers"].get(peer, {})
        median = timing.get("median")
        cells.append(_fmt(median * 1e3 if median is not None else None, ".3f"))
        cells.append(_fmt(kernel["ratios"].get(peer), ".2f"))
    return cells


def render(document: dict[str, Any]) -> str:
    """The full text report of a bench document."""
    rows = []
    for name, kernel in document["kernels"].items():
        for variant, entry in kernel["tiers"].items():
            rows.append(_row(name, variant, entry))
        if kernel["hand"]:
            rows.append(_row(name, "hand", kernel["hand"]))
    machine = document["machine"]
    title = (f"suite {document['suite']}: {len(document['kernels'])} kernels, repeat "
             f"{document['repeat']}, {machine['cpu']} x{machine['cores']}, Python "
             f"{machine['python']}, llvmlite {machine['llvmlite']}")
    parts = [title, _table(rows, COLUMNS)]
    peer_names = list(document.get("peers", {}))
    header = ["kernel", "gap of", "SIW x", "cycles x", "native x"]
    for peer in peer_names:
        header += [f"{peer} ms", f"/{peer}"]
    gap_rows = [_gap_row(n, k, peer_names) for n, k in document["kernels"].items()]
    parts.append("compiler gap (tier / hand twin) and best tier against the peers "
                 "(/peer = tier time / peer time):")
    parts.append(_table(gap_rows, tuple(header)))
    for peer, info in document.get("peers", {}).items():
        if not info["available"]:
            parts.append(f"note: peer {peer} skipped: {info['note']}")
    parts.append(f"total {document.get('seconds', 0):.1f} s")
    return "\n\n".join(parts)
