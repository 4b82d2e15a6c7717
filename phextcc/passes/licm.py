"""`phx-licm`: xDSL's loop-invariant code motion, restricted to ops that cannot trap.

xDSL's `licm` hoists ops that are side-effect free and speculatable. That is almost
phextcc's rule, but xDSL marks `arith.remsi` Pure (always speculatable), so a
`x % y` with a y that may be 0 would be hoisted out of a loop that may run zero times
and trap where the original program did not. This pass hoists the same ops as xDSL's,
minus any op that may trap (`traps.may_trap`), checked on the op and everything nested
in it. Loads are never hoisted (they read memory).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from xdsl.builder import Builder
from xdsl.context import Context
from xdsl.dialects import builtin, scf
from xdsl.ir import Operation, Region
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint
from xdsl.traits import is_side_effect_free, is_speculatable
from xdsl.transforms.loop_invariant_code_motion import can_be_hoisted

from phextcc.passes.traps import contains_trap


def hoistable(op: Operation, body: Region) -> bool:
    return (is_side_effect_free(op) and is_speculatable(op) and not contains_trap(op)
            and bool(can_be_hoisted(op, body)))


def hoist_invariant_ops(loop: scf.ForOp) -> None:
    """Move the loop-invariant, non-trapping ops of `loop`'s body in front of it."""
    body = loop.body
    builder = Builder(InsertPoint.before(loop))
    worklist: deque[Operation] = deque(body.block.ops)
    while worklist:
        op = worklist.popleft()
        if op.parent_region() is not body or not hoistable(op, body):
            continue
        op.detach()
        builder.insert(op)
        # Users in the body may have become invariant now.
        worklist.extend(use.operation for result in op.results for use in result.uses
                        if use.operation.parent_region() is body)


@dataclass(frozen=True)
class PhxLoopInvariantCodeMotionPass(ModulePass):
    """Hoist loop-invariant ops that cannot trap out of `scf.for` loops."""

    name = "phx-licm"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        # Innermost loops first, so an op can climb out of a whole nest.
        loops = [o for o in op.walk() if isinstance(o, scf.ForOp)]
        for loop in reversed(loops):
            hoist_invariant_ops(loop)
