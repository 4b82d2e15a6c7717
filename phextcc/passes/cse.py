"""`phx-cse`: xDSL's common-subexpression elimination, except that it never deletes an
unused op that may trap (xDSL's driver also drops trivially dead ops on the way).

Merging two identical trapping ops stays allowed: the one kept dominates the other, so
it runs first and raises the same error at the same point.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import builtin
from xdsl.ir import Operation
from xdsl.passes import ModulePass
from xdsl.transforms.common_subexpression_elimination import CSEDriver
from xdsl.transforms.dead_code_elimination import is_trivially_dead

from phextcc.passes.traps import contains_trap


class TrapAwareCSEDriver(CSEDriver):
    def _simplify_operation(self, op: Operation) -> None:
        if is_trivially_dead(op) and contains_trap(op):
            return  # unused but observable: keep it, and do not offer it as a replacement
        super()._simplify_operation(op)


@dataclass(frozen=True)
class PhxCommonSubexpressionEliminationPass(ModulePass):
    """Merge identical ops, keeping every unused op that may trap."""

    name = "phx-cse"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        TrapAwareCSEDriver().simplify(op)
