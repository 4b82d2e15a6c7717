"""`strength-reduce`: index arithmetic of a loop's induction variable becomes a
loop-carried value updated by an addition.

Inside `scf.for %i = %lb to %ub step %s`, an i64 expression `e(i) = i * c + d` (c and
d loop-invariant) is replaced by an iter_arg that starts at `e(lb) = lb * c + d` and
grows by `s * c` per iteration. This is exact, not an approximation: i64 arithmetic
wraps (two's complement), so `(lb + k*s) * c + d` and `lb*c + d + k*(s*c)` are the same
value modulo 2^64 for every iteration k.

Reduced: `i * c` / `c * i` (any invariant c), and `x + d` / `d + x` / `x - d` where x is
`i` or `i * c` and d is an invariant that is not a constant (`i * W + j`-style row
offsets). A constant offset (`i + 1`, `i * c + 1`) stays an addition on the reduced value:
it costs the same one addition, and an iter_arg of its own would only take a register.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, builtin, scf
from xdsl.dialects.builtin import i64
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from phextcc.passes.loop_rebuild import add_iter_args, defined_outside

# At most this many new loop-carried values per loop: each takes a register.
MAX_REDUCTIONS_PER_LOOP = 4


@dataclass(frozen=True)
class Linear:
    """`iv * scale + offset` as the ops computing `scale` and `offset` before the loop
    would need them: both are SSA values defined outside the loop (offset None = 0)."""

    scale: SSAValue | None  # None means 1
    offset: SSAValue | None  # None means 0
    has_multiply: bool
    offset_sign: int = 1  # -1: the offset is subtracted


def is_constant(value: SSAValue) -> bool:
    return isinstance(value.owner, arith.ConstantOp)


class LinearForms:
    """Which values of one loop body are linear in its induction variable."""

    def __init__(self, loop: scf.ForOp) -> None:
        self.loop = loop
        self.iv = loop.body.block.args[0]
        self.forms: dict[SSAValue, Linear] = {self.iv: Linear(None, None, False)}

    def invariant(self, value: SSAValue) -> bool:
        return defined_outside(value, self.loop)

    def visit(self, op: Operation) -> None:
        if not op.results or op.results[0].type != i64:
            return
        form = self._form(op)
        if form is not None:
            self.forms[op.results[0]] = form

    def _form(self, op: Operation) -> Linear | None:
        match op:
            case arith.MuliOp():
                for varying, factor in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
                    if varying == self.iv and self.invariant(factor):
                        return Linear(factor, None, True)
            case arith.AddiOp():
                for varying, term in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
                    base = self.forms.get(varying)
                    if base is not None and base.offset is None and self.invariant(term) \
                            and not is_constant(term):
                        return Linear(base.scale, term, base.has_multiply)
            case arith.SubiOp():
                base = self.forms.get(op.lhs)
                if base is not None and base.offset is None and base.has_multiply \
                        and self.invariant(op.rhs) and not is_constant(op.rhs):
                    return Linear(base.scale, op.rhs, True, offset_sign=-1)
            case _:
                pass
        return None


def roots(forms: LinearForms) -> list[tuple[SSAValue, Linear]]:
    """Reducible values some user needs as they are (not only to build a bigger one)."""
    chosen = []
    for value, form in forms.forms.items():
        if value is not forms.iv and any(
            not use.operation.results or use.operation.results[0] not in forms.forms
            for use in value.uses
        ):
            chosen.append((value, form))
    return chosen[:MAX_REDUCTIONS_PER_LOOP]


def materialise(loop: scf.ForOp, form: Linear) -> tuple[SSAValue, SSAValue]:
    """(initial value, increment) of `form`, computed just before `loop`."""
    ops: list[Operation] = []
    start: SSAValue = loop.lb
    increment: SSAValue = loop.step
    if form.scale is not None:
        scaled_start = arith.MuliOp(loop.lb, form.scale)
        scaled_step = arith.MuliOp(loop.step, form.scale)
        ops += [scaled_start, scaled_step]
        start, increment = scaled_start.result, scaled_step.result
    if form.offset is not None:
        shift = arith.AddiOp if form.offset_sign == 1 else arith.SubiOp
        shifted = shift(start, form.offset)
        ops.append(shifted)
        start = shifted.result
    Rewriter.insert_op(ops, InsertPoint.before(loop))
    return start, increment


def reduce_loop(loop: scf.ForOp) -> None:
    forms = LinearForms(loop)
    for op in loop.body.block.ops:
        forms.visit(op)
    chosen = roots(forms)
    if not chosen:
        return
    starts, increments = zip(*(materialise(loop, form) for _, form in chosen), strict=True)

    def next_values(args: list[SSAValue]) -> list[Operation]:
        return [arith.AddiOp(arg, inc) for arg, inc in zip(args, increments, strict=True)]

    _, carried = add_iter_args(loop, list(starts), next_values)
    for (value, _), arg in zip(chosen, carried, strict=True):
        value.replace_all_uses_with(arg)
    erase_dead_arithmetic(list(forms.forms))


def erase_dead_arithmetic(values: list[SSAValue]) -> None:
    """Drop the now unused expressions, users before the values they use."""
    for value in reversed(values):
        owner = value.owner
        if isinstance(owner, Operation) and not any(r.uses for r in owner.results):
            Rewriter.erase_op(owner)


@dataclass(frozen=True)
class StrengthReducePass(ModulePass):
    """Replace induction-variable multiplications by loop-carried additions."""

    name = "strength-reduce"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        for loop in [o for o in op.walk() if isinstance(o, scf.ForOp)]:
            if loop.body.block.args[0].type == i64:
                reduce_loop(loop)
