"""Instruction selection: phx IR (docs/phx-ir contract) -> siw IR on virtual registers.

Each kernel ``func.func`` becomes a ``func.func`` of the same name with no arguments
(parameters are read with DARG / SBASE) whose body is a CFG of siw ops. Structured
control flow becomes blocks, laid out in the order the code will be emitted:

    scf.for   DBR.ge.i64 lb, ub -> exit(inits) ; limit = ub - step (see lower_for)
              body(iv, carried): ... ; again = DCMP.lt iv, limit ; iv' = DADD iv, step
              DBNZ again -> body(iv', yields) ; jump exit(yields) ; exit(results):
              (rotated: a trip count of 0 never enters the body)
    scf.while jump before(inits) ; before: ... DBZ cond -> exit ; after: ...
              jump before(yields) ; exit:
    scf.if    DBZ cond -> else ; then: ... jump merge(yields) ; else: ... jump merge(...)
              merge(results):

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
from phextcc.backend.isel_memory import PHX_HANDLERS
from phextcc.backend.isel_ops import STRAIGHT_LINE_HANDLERS, Handler
from phextcc.ir.phx_dialect import TensorType
from phextcc.ir.siw_dialect import BranchOp, HaltOp

Finish = Callable[[Operation], None]

INT64_MIN = -(1 << 63)
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

    The bottom test is ``iv < ub - step`` (equivalent to ``iv + step < ub`` without
    overflow): an induction variable close to the i64 limit never wraps into another
    iteration. When ``ub - step`` itself wraps (only possible for steps above 1), no
    further iteration can be in range and the limit becomes INT64_MIN."""
    assert isinstance(op, scf.ForOp)
    lb, ub, step = sel.reg(op.lb), sel.reg(op.ub), sel.reg(op.step)
    inits = [sel.reg(v) for v in op.iter_args]
    preheader, body = Block(), _argument_block(1 + len(inits))
    done = _argument_block(len(inits))
    location = op.location
    sel.branch("DBR.ge.i64", [lb, ub], done, inits, preheader)
    sel.start_block(preheader)
    limit = _bottom_test_limit(sel, op, ub, step)
    sel.jump(body, [lb, *inits])
    sel.start_block(body)
    induction = body.args[0]
    for ir_arg, reg in zip(op.body.block.args, body.args):
        sel.bind(ir_arg, reg)

    def latch(yield_op: Operation) -> None:
        sel.location = location
        again = sel.typed("DCMP", Type.I64, [induction, limit], [Cond.LT])
        following = sel.typed("DADD", Type.I64, [induction, step])
        yields = [sel.reg(v) for v in yield_op.operands]
        back = [following, *yields]
        # The exit's copies go in a landing block so that they run once, not per trip.
        # A loop argument yielded to the exit whose register the back edge's copies
        # overwrite is saved first (else the landing would read the next trip's value).
        overwritten = {arg for arg, value in zip(body.args, back) if value is not arg}
        saved = {value: sel.copy(value) for value in yields if value in overwritten}
        landing = Block()
        sel.branch("DBNZ", [again], body, back, landing)
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
        sel.emit(BranchOp("DBZ", [sel.reg(condition.condition)], done, after))
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
    sel.emit(BranchOp("DBZ", [sel.reg(op.cond)], else_block, then_block))

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
