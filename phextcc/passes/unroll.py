"""`unroll-inner{factor=4}`: partial unrolling of innermost `scf.for` loops, with a
remainder loop, for trip counts known only at run time.

xDSL's `scf-for-loop-unroll` only handles loops whose bounds are constants (it unrolls
fully), so phextcc has its own. For `scf.for %i = %lb to %ub step %s` (s a positive
constant) it emits

    trips    = lb < ub and (ub - lb) > 0 ? ceil((ub - lb) / s) : 0
    main_end = lb + (trips - trips % F) * s
    scf.for %i = %lb to %main_end step s*F { body(i); body(i+s); ... body(i+(F-1)s) }
    scf.for %i = %main_end to %ub step s   { body(i) }       (the remainder)

The iterations, and the order of every effect and every float operation, are the
original ones, so results are bit-identical. When `ub - lb` would wrap an i64 the trip
count is taken as 0, so the remainder loop is simply the original loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, builtin, scf
from xdsl.dialects.builtin import i64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

# Loops with bigger bodies are left alone: code size (and compile time) stays sane.
MAX_BODY_OPS = 48
MAX_STEP_TIMES_FACTOR = 1 << 40
LOOP_OPS: tuple[type[Operation], ...] = (scf.ForOp, scf.WhileOp)


def constant_int(value: SSAValue) -> int | None:
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, builtin.IntegerAttr):
        return owner.value.value.data
    return None


def body_size(loop: scf.ForOp) -> int:
    return sum(1 for op in loop.body.walk() if op is not loop)


def scaled_factor(loop: scf.ForOp, factor: int, max_ops: int) -> int:
    """``factor``, halved until the unrolled body holds at most ``max_ops`` ops (no
    limit when ``max_ops`` is 0): bigger bodies than that only add register pressure
    (spills) and code size."""
    size = body_size(loop)
    while max_ops and factor > 1 and factor * size > max_ops:
        factor //= 2
    return factor


def unrollable(loop: scf.ForOp, factor: int) -> int | None:
    """The loop's constant step when it should be unrolled, else None."""
    step = constant_int(loop.step)
    if step is None or step <= 0 or step * factor >= MAX_STEP_TIMES_FACTOR:
        return None
    if loop.lb.type != i64:
        return None
    body_ops = [op for op in loop.body.walk() if op is not loop]
    if len(body_ops) > MAX_BODY_OPS:
        return None
    if any(isinstance(op, LOOP_OPS) for op in body_ops):
        return None  # not innermost
    return step


def constant(value: int) -> arith.ConstantOp:
    return arith.ConstantOp.from_int_and_width(value, i64)


def trip_count(loop: scf.ForOp, step: int, span: SSAValue) -> tuple[list[Operation], SSAValue]:
    """ceil(span / step) for span > 0, without the overflow of `span + step - 1`."""
    if step == 1:
        return [], span
    zero, one, step_c = constant(0), constant(1), constant(step)
    whole = arith.DivSIOp(span, step_c)  # step_c is a non-zero constant: never traps
    part = arith.RemSIOp(span, step_c)
    has_part = arith.CmpiOp(part, zero.result, "ne")
    extra = arith.SelectOp(has_part, one.result, zero.result)
    trips = arith.AddiOp(whole, extra)
    return [zero, one, step_c, whole, part, has_part, extra, trips], trips.result


def main_loop_end(loop: scf.ForOp, step: int, factor: int) -> tuple[list[Operation], SSAValue]:
    """Ops computing where the unrolled loop stops (see the module docstring)."""
    zero, step_c, factor_c = constant(0), constant(step), constant(factor)
    span = arith.SubiOp(loop.ub, loop.lb)
    runs = arith.CmpiOp(loop.lb, loop.ub, "slt")
    no_wrap = arith.CmpiOp(span, zero, "sgt")
    valid = arith.AndIOp(runs, no_wrap)
    count_ops, trips = trip_count(loop, step, span.result)
    safe_trips = arith.SelectOp(valid, trips, zero)
    if factor & (factor - 1) == 0:
        # safe_trips >= 0, so rounding down to a multiple of a power of two is a mask
        # (an idiv costs as much as a short loop's whole body).
        mask = constant(-factor)
        rounding: list[Operation] = [mask, main := arith.AndIOp(safe_trips, mask)]
    else:
        leftover = arith.RemSIOp(safe_trips, factor_c)
        rounding = [leftover, main := arith.SubiOp(safe_trips, leftover)]
    distance = arith.MuliOp(main, step_c)
    end = arith.AddiOp(loop.lb, distance)
    ops: list[Operation] = [zero, step_c, factor_c, span, runs, no_wrap, valid, *count_ops,
                            safe_trips, *rounding, distance, end]
    return ops, end.result


def unrolled_body(loop: scf.ForOp, step: int, factor: int) -> scf.ForOp:
    """The main loop: `factor` copies of the body, each feeding the next."""
    old_block = loop.body.block
    new_block = builtin.Block(arg_types=[arg.type for arg in old_block.args])
    iv = new_block.args[0]
    carried: list[SSAValue] = list(new_block.args[1:])
    for copy in range(factor):
        mapper: dict[SSAValue, SSAValue] = dict(zip(old_block.args[1:], carried, strict=True))
        if copy == 0:
            mapper[old_block.args[0]] = iv
        else:
            offset = constant(copy * step)
            shifted = arith.AddiOp(iv, offset.result)
            new_block.add_ops([offset, shifted])
            mapper[old_block.args[0]] = shifted.result
        for op in old_block.ops:
            if isinstance(op, scf.YieldOp):
                carried = [mapper.get(v, v) for v in op.operands]
                continue
            new_block.add_op(op.clone(mapper))
    new_block.add_op(scf.YieldOp(*carried))
    return new_block  # type: ignore[return-value]


def unroll_loop(loop: scf.ForOp, step: int, factor: int) -> None:
    end_ops, end = main_loop_end(loop, step, factor)
    big_step = constant(step * factor)
    main = scf.ForOp(loop.lb, end, big_step.result, list(loop.iter_args),
                     unrolled_body(loop, step, factor))
    Rewriter.insert_op([*end_ops, big_step, main], InsertPoint.before(loop))
    region = loop.detach_region(loop.body)
    remainder = scf.ForOp(end, loop.ub, loop.step, list(main.results), region)
    Rewriter.insert_op(remainder, InsertPoint.before(loop))
    for old, new in zip(loop.results, remainder.results, strict=True):
        old.replace_all_uses_with(new)
    Rewriter.erase_op(loop)


@dataclass(frozen=True)
class UnrollInnerLoopsPass(ModulePass):
    """Unroll every innermost `scf.for` with a constant step by `factor` (smaller for
    bodies whose unrolled copy would exceed `max_ops` ops; 0: no such limit)."""

    name = "unroll-inner"

    factor: int = 4
    max_ops: int = 0

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        if self.factor < 2:
            return
        loops = [o for o in op.walk() if isinstance(o, scf.ForOp)]
        for loop in loops:
            factor = scaled_factor(loop, self.factor, self.max_ops)
            step = unrollable(loop, factor) if factor > 1 else None
            if step is not None:
                unroll_loop(loop, step, factor)
