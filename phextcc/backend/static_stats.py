"""Static counts of a compiled program, per kernel: what `phextcc stats` prints."""

from __future__ import annotations

from typing import Any

from phextcc.backend.isa import Pipe
from phextcc.backend.program import Program


def static_stats(program: Program) -> dict[str, dict[str, Any]]:
    """SIWs, real (non-NOP) ops and NOPs per pipe, ops per SIW and the NOP fraction of
    each pipe's slots, for each kernel."""
    table: dict[str, dict[str, Any]] = {}
    for kernel in program.kernels:
        words = program.words[kernel.entry:kernel.entry + kernel.length]
        ops = {pipe.name: 0 for pipe in Pipe}
        nops = {pipe.name: 0 for pipe in Pipe}
        for word in words:
            for instr in word.ops:
                (nops if instr.is_nop else ops)[instr.pipe.name] += 1
        total = sum(ops.values())
        table[kernel.name] = {
            "siws": len(words),
            "ops": ops,
            "nops": nops,
            "ops_per_siw": total / len(words) if words else 0.0,
            # Share of each pipe's slots holding a NOP: what packing leaves idle.
            "nop_fraction": {pipe: nops[pipe] / len(words) if words else 0.0
                             for pipe in nops},
        }
    return table
