"""Instruction selection: phx IR (docs/phx-ir contract) -> siw IR on virtual registers.

Each kernel ``func.func`` becomes a ``func.func`` of the same name with no arguments
(parameters are read with DARG / SBASE) whose body is a CFG of siw ops. Structured
control flow becomes blocks, laid out in the order the code will be emitted:

    scf.for   DBR.ge.i64 lb, ub -> exit(inits)
              body(iv, carried): ... ; iv' = DADD iv, step
              DBR.lt.i64 iv', ub -> body(iv', yields) ; jump exit(yields) ; exit(results):
              (rotated: a trip count of 0 never enters the body; when iv + step might
              overflow, the bottom test is DCMP.lt iv, ub - step + DBNZ: see lower_for)
    scf.while jump before(inits) ; before: ... DBZ cond -> exit ; after: ...
              jump before(yields) ; exit:
    scf.if    DBZ cond -> else ; then: ... jump merge(yields) ; else: ... jump merge(...)
              merge(results):

A DBZ on a compare used only by the branch is the fused DBR on the negated predicate
where the ISA has it (``isel_ops.branch_when_false``).

Values defined in a block that dominates their users (the while condition's
forwarded values) are used directly; loop heads, loop exits and if merges take
block arguments.

The attributes ``phx.param_names``/``phx.symbols`` are kept and the original
parameter types are recorded in ``siw.param_types`` for the kernel table.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import (
    ArrayAttr,
    FunctionType,
    IntegerAttr,
    ModuleOp,
    StringAttr,
    UnitAttr,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from phextcc.backend.isa import Cond, Type
from phextcc.backend.isel_builder import (
    KernelSelector,
    SelectionError,
    kernel_param_names,
    register_type_for,
)
from phextcc.backend.isel_dce import remove_unused
from phextcc.backend.isel_memory import PHX_HANDLERS
from phextcc.backend.isel_ops import (
    STRAIGHT_LINE_HANDLERS,
    Handler,
    branch_when_false,
    immediate_operand,
)
from phextcc.ir import phx_dialect as phx
from phextcc.ir import siw_dialect as siw
from phextcc.ir.phx_dialect import TensorType
from phextcc.ir.siw_dialect import BranchOp, HaltOp

Finish = Callable[[Operation], None]

INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1
U64_MASK = (1 << 64) - 1

PARAM_TYPES_ATTR = "siw.param_types"
KEPT_ATTRIBUTES = ("phx.kernel", "phx.symbols", "phx.param_names", "phx.min_sentrons",
                   "phx.max_sentrons")


def translate_block(sel: KernelSelector, block: Block, finish: Finish) -> None:
    """Select every op of an IR block; its terminator goes to ``finish``."""
    for op in block.ops:
        sel.location = op.location
        handler = HANDLERS.get(type(op))
        if handler is not None:
            handler(sel, op)
        elif type(op) in TERMINATORS:
            finish(op)
        else:
            raise SelectionError(f"no instruction selection for {op.name}")


def _argument_block(count: int) -> Block:
    return Block(arg_types=[register_type_for(i64)] * count)


def lower_for(sel: KernelSelector, op: Operation) -> None:
    """A rotated loop: one entry test, then the test at the bottom.

    The bottom test must not let the induction variable wrap into another iteration
    near the i64 limit. When ``iv + step`` provably cannot overflow (see
    ``_increment_cannot_overflow``) it is the one op ``DBR.lt.i64 iv', ub`` on the
    incremented value. Otherwise it is ``iv < ub - step`` (DCMP + DBNZ), which is
    ``iv + step < ub`` without the overflow; when ``ub - step`` itself wraps (only
    possible for steps above 1), no further iteration can be in range and the limit
    becomes INT64_MIN. (A DBR on the old ``iv`` would read it after the back edge's
    copy overwrote its register.)"""
    assert isinstance(op, scf.ForOp)
    lb, ub, step = sel.reg(op.lb), sel.reg(op.ub), sel.reg(op.step)
    inits = [sel.reg(v) for v in op.iter_args]
    preheader, body = Block(), _argument_block(1 + len(inits))
    done = _argument_block(len(inits))
    location = op.location
    sel.branch("DBR.ge.i64", [lb, ub], done, inits, preheader)
    sel.start_block(preheader)
    fused = _increment_cannot_overflow(op)
    limit = ub if fused else _bottom_test_limit(sel, op, ub, step)
    sel.jump(body, [lb, *inits])
    sel.start_block(body)
    induction = body.args[0]
    for ir_arg, reg in zip(op.body.block.args, body.args):
        sel.bind(ir_arg, reg)

    def increment() -> SSAValue:
        constant = immediate_operand(op.step)
        if constant is not None:
            return sel.typed("DADDI", Type.I64, [induction], [constant])
        return sel.typed("DADD", Type.I64, [induction, step])

    def latch(yield_op: Operation) -> None:
        sel.location = location
        if fused:
            following = increment()
            mnemonic, test = "DBR.lt.i64", [following, limit]
        else:
            again = sel.typed("DCMP", Type.I64, [induction, limit], [Cond.LT])
            following = increment()
            mnemonic, test = "DBNZ", [again]
        yields = [sel.reg(v) for v in yield_op.operands]
        back = [following, *yields]
        # The exit's copies go in a landing block so that they run once, not per trip.
        # A loop argument yielded to the exit whose register the back edge's copies
        # overwrite is saved first (else the landing would read the next trip's value).
        overwritten = {arg for arg, value in zip(body.args, back) if value is not arg}
        saved = {value: sel.copy(value) for value in yields if value in overwritten}
        landing = Block()
        bottom_test = sel.branch(mnemonic, test, body, back, landing)
        trips_below = op.attributes.get(phx.TRIPS_BELOW_ATTR)
        if trips_below is not None:
            bottom_test.attributes[siw.TRIPS_BELOW_ATTR] = trips_below
        sel.start_block(landing)
        sel.jump(done, [saved.get(value, value) for value in yields])

    translate_block(sel, op.body.block, latch)
    sel.start_block(done)
    for result, reg in zip(op.results, done.args):
        sel.bind(result, reg)


def _constant_value(value: SSAValue) -> int | None:
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
        return owner.value.value.data
    return None


def _increment_cannot_overflow(op: scf.ForOp) -> bool:
    """True when every iteration's ``iv + step`` fits in i64, so that ``iv + step < ub``
    is the exact bottom test. With a constant step s >= 1 and ``lb <= iv < ub``:

    - s == 1: iv + 1 <= ub;
    - a constant ub with ub - 1 + s <= INT64_MAX;
    - lb and ub both multiples of s (the unroll pass's main loop): then so is every
      iv, and iv < ub gives iv + s <= ub;
    - s a power of two and ub a multiple of s (the unrolled loop's tail, from any lb):
      ub <= INT64_MAX + 1 - s, the largest multiple of s, so iv + s <= ub - 1 + s fits."""
    step = _constant_value(op.step)
    if step is None or step < 1:
        return False
    if step == 1:
        return True
    ub = _constant_value(op.ub)
    if ub is not None:
        return ub - 1 + step <= INT64_MAX
    if not _known_multiple(op.ub, step):
        return False
    return _is_power_of_two(step) or _known_multiple(op.lb, step)


def _known_multiple(value: SSAValue, step: int, depth: int = 6) -> bool:
    """``value`` is provably a multiple of ``step`` as a signed i64 integer.

    ``a - (a rem f)`` is f * trunc(a / f) and never wraps; a select of two multiples is
    one, as is a min or max of two, or an ``scf.if`` result both branches yield a
    multiple for. Products and sums wrap modulo 2^64, which keeps
    divisibility only by powers of two, so they (and masks like ``x & -16``) count only
    when ``step`` is one."""
    known = _constant_value(value)
    if known is not None:
        return known % step == 0
    owner = value.owner
    if depth == 0 or not isinstance(owner, Operation):
        return False
    if isinstance(owner, scf.IfOp):  # a multiple on both paths (the split loop's start)
        index = owner.results.index(value)
        yields = [region.block.last_op for region in owner.regions if region.blocks]
        return len(yields) == 2 and all(
            isinstance(y, scf.YieldOp) and _known_multiple(y.operands[index], step, depth - 1)
            for y in yields)
    rule = _MULTIPLE_RULES.get(type(owner))
    return rule is not None and rule(owner, step, depth - 1)


def _rounded_down(op: Operation, step: int, depth: int) -> bool:
    assert isinstance(op, arith.SubiOp)
    remainder = op.rhs.owner
    if isinstance(remainder, arith.RemSIOp) and remainder.lhs == op.lhs:
        divisor = _constant_value(remainder.rhs)
        if divisor is not None and divisor != 0 and divisor % step == 0:
            return True
    return _wrapping_sum(op, step, depth)


def _wrapping_sum(op: Operation, step: int, depth: int) -> bool:
    return _is_power_of_two(step) and all(_known_multiple(v, step, depth)
                                          for v in op.operands)


def _product_or_mask(op: Operation, step: int, depth: int) -> bool:
    """x * y, or x & y: a multiple of a power of two when either operand is (the and
    keeps the operand's low zero bits; the product's wrap keeps them too)."""
    return _is_power_of_two(step) and any(_known_multiple(v, step, depth)
                                          for v in op.operands)


def _either_choice(op: Operation, step: int, depth: int) -> bool:
    """select/min/max yield one of their value operands: multiples when both are."""
    values = (op.lhs, op.rhs) if isinstance(op, arith.SelectOp) else op.operands
    return all(_known_multiple(v, step, depth) for v in values)


def _is_power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


_MULTIPLE_RULES: dict[type[Operation], Callable[[Operation, int, int], bool]] = {
    arith.SubiOp: _rounded_down,
    arith.AddiOp: _wrapping_sum,
    arith.MuliOp: _product_or_mask,
    arith.AndIOp: _product_or_mask,
    arith.SelectOp: _either_choice,
    arith.MinSIOp: _either_choice,
    arith.MaxSIOp: _either_choice,
}


def _bottom_test_limit(sel: KernelSelector, op: scf.ForOp, ub: SSAValue, step: SSAValue
                       ) -> SSAValue:
    """``ub - step``, or INT64_MIN when that wraps (see ``lower_for``)."""
    known_ub, known_step = _constant_value(op.ub), _constant_value(op.step)
    if known_ub is not None and known_step is not None:
        return sel.constant(max(known_ub - known_step, INT64_MIN) & U64_MASK)
    limit = sel.typed("DSUB", Type.I64, [ub, step])
    if known_step == 1:  # the loop runs only if ub > lb >= INT64_MIN: ub - 1 cannot wrap
        return limit
    wrapped = sel.typed("DCMP", Type.I64, [limit, ub], [Cond.GT])
    return sel.value_op("DSEL", [wrapped, sel.constant(INT64_MIN & U64_MASK), limit])


def lower_while(sel: KernelSelector, op: Operation) -> None:
    assert isinstance(op, scf.WhileOp)
    before = _argument_block(len(op.arguments))
    after, done = Block(), Block()
    sel.jump(before, [sel.reg(v) for v in op.arguments])
    sel.start_block(before)
    for ir_arg, reg in zip(op.before_region.block.args, before.args):
        sel.bind(ir_arg, reg)

    def test(condition: Operation) -> None:
        assert isinstance(condition, scf.ConditionOp)
        forwarded = [sel.reg(v) for v in condition.args]
        mnemonic, test = branch_when_false(sel, condition.condition)
        sel.emit(BranchOp(mnemonic, test, done, after))
        for ir_value, reg in zip((*op.results, *op.after_region.block.args),
                                 forwarded + forwarded):
            sel.bind(ir_value, reg)

    translate_block(sel, op.before_region.block, test)
    sel.start_block(after)
    translate_block(sel, op.after_region.block,
                    lambda y: sel.jump(before, [sel.reg(v) for v in y.operands]))
    sel.start_block(done)


def lower_if(sel: KernelSelector, op: Operation) -> None:
    assert isinstance(op, scf.IfOp)
    merge = _argument_block(len(op.results))
    then_block = Block()
    has_else = bool(op.false_region.blocks)
    else_block = Block() if has_else else merge
    mnemonic, test = branch_when_false(sel, op.cond)
    sel.emit(BranchOp(mnemonic, test, else_block, then_block))

    def to_merge(yield_op: Operation) -> None:
        sel.jump(merge, [sel.reg(v) for v in yield_op.operands])

    sel.start_block(then_block)
    translate_block(sel, op.true_region.block, to_merge)
    if has_else:
        sel.start_block(else_block)
        translate_block(sel, op.false_region.block, to_merge)
    sel.start_block(merge)
    for result, reg in zip(op.results, merge.args):
        sel.bind(result, reg)


CONTROL_HANDLERS: dict[type[Operation], Handler] = {
    scf.ForOp: lower_for,
    scf.WhileOp: lower_while,
    scf.IfOp: lower_if,
}

HANDLERS: dict[type[Operation], Handler] = {
    **STRAIGHT_LINE_HANDLERS, **PHX_HANDLERS, **CONTROL_HANDLERS,
}

TERMINATORS: frozenset[type[Operation]] = frozenset(
    {scf.YieldOp, scf.ConditionOp, func.ReturnOp})


def select_kernel(kernel: func.FuncOp) -> func.FuncOp:
    """The siw form of one kernel."""
    sel = KernelSelector(kernel)
    sel.location = kernel.location
    entry = kernel.body.block
    for index, arg in enumerate(entry.args):
        if not isinstance(arg.type, TensorType) and arg.uses:
            sel.bind(arg, sel.value_op("DARG", (), (index,)))
        elif arg.uses:
            # One base coordinate per tensor, formed once at entry rather than per access;
            # under register pressure the allocator rematerialises it at its uses.
            sel.tensor_bases[index] = sel.value_op("SBASE", (), (index,))

    def end(op: Operation) -> None:
        sel.emit(HaltOp())

    translate_block(sel, entry, end)
    remove_unused(sel.maybe_unused)
    selected = func.FuncOp(kernel.sym_name.data, FunctionType.from_lists([], []), sel.region)
    selected.location = kernel.location
    for name in KEPT_ATTRIBUTES:
        if name in kernel.attributes:
            selected.attributes[name] = kernel.attributes[name]
    selected.attributes.setdefault("phx.kernel", UnitAttr())
    # Always present after selection: the kernel table is built from them.
    selected.attributes["phx.symbols"] = ArrayAttr([StringAttr(s) for s in sel.symbols])
    selected.attributes["phx.param_names"] = ArrayAttr(
        [StringAttr(n) for n in kernel_param_names(kernel)])
    param_types: list[Attribute] = list(kernel.function_type.inputs.data)
    selected.attributes[PARAM_TYPES_ATTR] = ArrayAttr(param_types)
    return selected


def kernels_of(module: ModuleOp) -> list[func.FuncOp]:
    return [op for op in module.ops if isinstance(op, func.FuncOp)]


def select_module(module: ModuleOp) -> ModuleOp:
    """Instruction selection for every kernel of a phx module."""
    return ModuleOp([select_kernel(kernel) for kernel in kernels_of(module)])
