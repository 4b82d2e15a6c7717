"""Rebuilding an `scf.for` with more loop-carried values (xDSL ops have fixed operand
lists, so adding an iter_arg means a new loop op that takes over the old body)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from xdsl.dialects import scf
from xdsl.ir import Block, Operation, SSAValue
from xdsl.rewriter import InsertPoint, Rewriter


def defined_outside(value: SSAValue, loop: Operation) -> bool:
    """True when `value` is available before `loop` runs (not made inside it)."""
    owner = value.owner
    if isinstance(owner, Block):
        parent = owner.parent_op()
        return parent is not None and not loop.is_ancestor(parent) and parent is not loop
    return not loop.is_ancestor(owner)


def add_iter_args(
    loop: scf.ForOp,
    inits: Sequence[SSAValue],
    next_values: Callable[[Sequence[SSAValue]], list[Operation]],
) -> tuple[scf.ForOp, list[SSAValue]]:
    """A copy of `loop` carrying `inits` as extra iter_args. `next_values(args)` returns
    ops (one per new argument, built before the yield) whose first result is that
    argument's value in the next iteration. Returns the new loop and its new body
    arguments; the old loop is erased and its results rewired."""
    body = loop.body.block
    new_args = [body.insert_arg(init.type, len(body.args)) for init in inits]
    update_ops = next_values(new_args)
    old_yield = body.last_op
    assert isinstance(old_yield, scf.YieldOp)
    for update in update_ops:
        body.insert_op_before(update, old_yield)
    new_yield = scf.YieldOp(*old_yield.operands, *(op.results[0] for op in update_ops))
    body.insert_op_before(new_yield, old_yield)
    Rewriter.erase_op(old_yield)
    region = loop.detach_region(loop.body)
    new_loop = scf.ForOp(loop.lb, loop.ub, loop.step, [*loop.iter_args, *inits], region)
    Rewriter.insert_op(new_loop, InsertPoint.before(loop))
    old_count = len(loop.results)
    for old, new in zip(loop.results, new_loop.results[:old_count], strict=True):
        old.replace_all_uses_with(new)
    Rewriter.erase_op(loop)
    return new_loop, new_args
