"""`phx-dce`: xDSL's dead-code elimination, except that ops which may trap (a checked
load, a division by a possibly-zero value) and loops or branches containing them stay.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.ir import Operation, Region
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import PatternRewriterListener
from xdsl.transforms.dead_code_elimination import LiveSet

from phextcc.passes.traps import contains_trap


class TrapAwareLiveSet(LiveSet):
    """Liveness where a possible runtime error is an observable effect."""

    def propagate_op_liveness(self, op: Operation) -> None:
        super().propagate_op_liveness(op)
        if not self.is_live(op) and contains_trap(op):
            self.set_live(op)


def trap_aware_region_dce(region: Region,
                          listener: PatternRewriterListener | None = None) -> bool:
    """Delete dead ops of `region`; True when something was deleted."""
    live_set = TrapAwareLiveSet()
    while live_set.changed:
        live_set.changed = False
        live_set.propagate_region_liveness(region)
    live_set.delete_dead(region, listener)
    return live_set.changed


@dataclass(frozen=True)
class PhxDeadCodeEliminationPass(ModulePass):
    """Remove unused ops without effects, keeping every op that may trap."""

    name = "phx-dce"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        trap_aware_region_dce(op.body)
