"""Instruction selection for the phx ops: tensor access, shape symbols, sentrons.

A tensor element access becomes (docs/backend.md, "Tensor indices"):

    DCHK   ri, axis, param        one per axis, unless the access is `in_bounds`
    ...    flat = ((x0 * E1 + x1) * E2 + x2) ...   in i64 D ops (extents by DMOVI/DSYM)
    SINDEX pc, pb, rflat, d0      pb = the tensor's SBASE (once, at entry)
    SGATHER.<t> rd, pc, #c        or SSCATTR.<t> pc, rs, #c

where each index i_a = x_a + c_a with c_a a constant (an unrolled copy's `i + k`, a
stencil's `i - 1`) contributes x_a to the flat register and c_a * stride_a to the
immediate c, when its stride is a compile-time constant. The immediate is a full
128-bit add on the coordinate, and the access checks the final element offset, so
`x + c` addresses exactly what the register `x + c` would. The copies of an unrolled
body then share one SINDEX (``KernelSelector.reuse``) and the adds that formed their
indices die (isel_dce).

An access marked `in_bounds` carries ``siw.in_bounds``: it cannot trap, which frees
the packer to put it in a word with other ops that may (dependence_graph.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntAttr, IntegerAttr, UnitAttr, i64
from xdsl.ir import Block, Operation, SSAValue

from phextcc.backend import isa
from phextcc.backend.isa import Cond, Hint, RedOp, Type
from phextcc.backend.isel_builder import KernelSelector, SelectionError, machine_type
from phextcc.backend.isel_ops import Handler
from phextcc.ir import phx_dialect as phx
from phextcc.ir.siw_dialect import PROVEN_IN_BOUNDS_ATTR, BranchOp

_REDUCTIONS: dict[str, RedOp] = {"sum": RedOp.SUM, "max": RedOp.MAX, "min": RedOp.MIN}

# x + c and x - c (the sign of c) for an index split into register and displacement.
_DISPLACEMENT_SIGN: dict[type[Operation], int] = {arith.AddiOp: 1, arith.SubiOp: -1}
IMMEDIATE_RANGE = isa.operand_range(isa.Kind.IMM)


def _fits_immediate(value: int) -> bool:
    low, high = IMMEDIATE_RANGE
    return low <= value <= high


def integer_constant(value: SSAValue) -> int | None:
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
        return owner.value.value.data
    return None


def split_displacement(value: SSAValue) -> tuple[SSAValue | None, int]:
    """``value`` as ``x + c`` with c a constant that fits an immediate (c = 0 when
    ``value`` is not such a sum): ``i + 3`` -> (i, 3), ``(i + 1) - 2`` -> (i, -1); a
    constant is all displacement: ``7`` -> (None, 7)."""
    base, displacement = value, 0
    while base.type == i64:
        owner = base.owner
        sign = _DISPLACEMENT_SIGN.get(type(owner))
        if sign is None:
            break
        assert isinstance(owner, arith.AddiOp | arith.SubiOp)
        rhs, lhs = integer_constant(owner.rhs), integer_constant(owner.lhs)
        if rhs is not None:
            following, added = owner.lhs, sign * rhs
        elif lhs is not None and sign > 0:
            following, added = owner.rhs, lhs
        else:
            break
        if not _fits_immediate(displacement + added):
            break
        base, displacement = following, displacement + added
    known = integer_constant(base) if base.type == i64 else None
    if known is not None and _fits_immediate(displacement + known):
        return None, displacement + known
    return base, displacement


def extent_register(sel: KernelSelector, extent: int | str) -> SSAValue:
    if isinstance(extent, str):
        index = sel.symbol_index(extent)
        return sel.reuse(("DSYM", index), lambda: sel.value_op("DSYM", (), (index,)))
    return sel.reuse(("extent", extent), lambda: sel.constant(extent))


def _constant_strides(extents: Sequence[int | str]) -> list[int | None]:
    """Row-major stride of each axis, None where a later extent is a shape symbol."""
    strides: list[int | None] = []
    for axis in range(len(extents)):
        later = [e for e in extents[axis + 1:] if isinstance(e, int)]
        strides.append(prod(later) if len(later) == len(extents) - axis - 1 else None)
    return strides


def _scaled(sel: KernelSelector, flat: SSAValue, extent: int | str) -> SSAValue:
    return sel.reuse(("DMUL", flat, extent), lambda: sel.typed(
        "DMUL", Type.I64, [flat, extent_register(sel, extent)]))


def _plus(sel: KernelSelector, scaled: SSAValue, index: SSAValue) -> SSAValue:
    return sel.reuse(("DADD", scaled, index),
                     lambda: sel.typed("DADD", Type.I64, [scaled, index]))


def flat_offset(sel: KernelSelector, tensor: SSAValue, indices: Sequence[SSAValue]
                ) -> tuple[SSAValue | None, int]:
    """Row-major flat element offset of ``tensor[indices]`` as (i64 register or None
    for 0, constant displacement): the offset is register + displacement."""
    extents = sel.tensor_type(tensor).extents
    displacement = 0
    flat: SSAValue | None = None
    for axis, (index, stride) in enumerate(zip(indices, _constant_strides(extents))):
        part, added = (index, 0) if stride is None else split_displacement(index)
        if stride is not None and _fits_immediate(displacement + added * stride):
            displacement += added * stride
        else:
            part = index
        if part is not index:
            sel.maybe_unused.append(sel.reg(index))
        if flat is not None and axis > 0:
            flat = _scaled(sel, flat, extents[axis])
        if part is not None:
            register = sel.reg(part)
            flat = register if flat is None else _plus(sel, flat, register)
    return flat, displacement


def check_indices(sel: KernelSelector, tensor: SSAValue, indices: Sequence[SSAValue]) -> None:
    param = sel.param_index(tensor)
    for axis, index in enumerate(indices):
        sel.op("DCHK", [sel.reg(index)], [axis, param])


def coordinate(sel: KernelSelector, tensor: SSAValue, indices: Sequence[SSAValue],
               checked: bool) -> tuple[SSAValue, int]:
    """The phext coordinate register of an element (after the bounds checks) and the
    element offset along D0 the access adds to it."""
    if checked:
        check_indices(sel, tensor, indices)
    flat, displacement = flat_offset(sel, tensor, indices)
    index = sel.param_index(tensor)
    base = sel.tensor_bases.get(index)
    if base is None:
        base = sel.tensor_bases[index] = sel.value_op("SBASE", (), (index,))
    if flat is None:  # a constant offset: the base coordinate and the immediate do
        return base, displacement
    register = flat
    coord = sel.reuse(("SINDEX", base, register),
                      lambda: sel.value_op("SINDEX", [base, register], [0]))
    return coord, displacement


def select_load(sel: KernelSelector, op: Operation) -> None:
    assert isinstance(op, phx.LoadOp)
    coord, displacement = coordinate(sel, op.tensor, op.indices, op.in_bounds is None)
    t = machine_type(op.result.type)
    loaded = sel.typed("SGATHER", t, [coord], [displacement])
    if op.in_bounds is not None:
        _mark_proven(loaded.owner)
    sel.bind(op.result, loaded)


def select_store(sel: KernelSelector, op: Operation) -> None:
    assert isinstance(op, phx.StoreOp)
    coord, displacement = coordinate(sel, op.tensor, op.indices, op.in_bounds is None)
    t = machine_type(op.value.type)
    stored = sel.op(f"SSCATTR.{t.suffix}", [coord, sel.reg(op.value)], [displacement])
    if op.in_bounds is not None:
        _mark_proven(stored)


def _mark_proven(access: Operation) -> None:
    access.attributes[PROVEN_IN_BOUNDS_ATTR] = UnitAttr()


def select_prefetch(sel: KernelSelector, op: Operation) -> None:
    """SPREFCH, skipped at run time when an index is out of range: a prefetch must
    not even form a coordinate outside its tensor. A prefetch marked `in_bounds` is
    proven in range and needs no guard."""
    assert isinstance(op, phx.PrefetchOp)
    level = op.attributes.get(phx.PREFETCH_LEVEL_ATTR)
    if isinstance(level, IntegerAttr):
        level = level.value
    hint = Hint(level.data) if isinstance(level, IntAttr) else Hint.L1
    if phx.PREFETCH_IN_BOUNDS_ATTR in op.attributes:
        coord, displacement = coordinate(sel, op.tensor, op.indices, checked=False)
        sel.op("SPREFCH", [coord], [hint, displacement])
        return
    extents = sel.tensor_type(op.tensor).extents
    zero = sel.constant(0)
    in_range: SSAValue | None = None
    for extent, index in zip(extents, op.indices):
        value = sel.reg(index)
        above = sel.typed("DCMP", Type.I64, [value, zero], [Cond.GE])
        below = sel.typed("DCMP", Type.I64, [value, extent_register(sel, extent)], [Cond.LT])
        axis_ok = sel.typed("DAND", Type.I64, [above, below])
        in_range = axis_ok if in_range is None else sel.typed(
            "DAND", Type.I64, [in_range, axis_ok])
    assert in_range is not None
    do_block, done = Block(), Block()
    sel.emit(BranchOp("DBZ", [in_range], done, do_block))
    sel.start_block(do_block)
    coord, displacement = coordinate(sel, op.tensor, op.indices, checked=False)
    sel.op("SPREFCH", [coord], [hint, displacement])
    sel.jump(done)
    sel.start_block(done)


def select_sym(sel: KernelSelector, op: Operation) -> None:
    assert isinstance(op, phx.SymOp)
    sel.bind(op.result, sel.value_op("DSYM", (), (sel.symbol_index(op.symbol.data),)))


def select_sentron_id(sel: KernelSelector, op: Operation) -> None:
    sel.bind(op.results[0], sel.value_op("CSID"))


def select_num_sentrons(sel: KernelSelector, op: Operation) -> None:
    sel.bind(op.results[0], sel.value_op("CNUM"))


def select_send(sel: KernelSelector, op: Operation) -> None:
    """CSENDR: the scalar travels in lane 0 of a one-lane message (one C op)."""
    assert isinstance(op, phx.SendOp)
    sel.op("CSENDR", [sel.reg(op.value), sel.reg(op.dst)])


def select_recv(sel: KernelSelector, op: Operation) -> None:
    """CRECVR: lane 0 of the next message, whichever form sent it (one C op)."""
    assert isinstance(op, phx.RecvOp)
    sel.bind(op.result, sel.value_op("CRECVR", [sel.reg(op.src)]))


def select_barrier(sel: KernelSelector, op: Operation) -> None:
    sel.op("CBAR")


def select_allreduce(sel: KernelSelector, op: Operation) -> None:
    assert isinstance(op, phx.AllReduceOp)
    reduction = _REDUCTIONS.get(op.op.data)
    if reduction is None:
        raise SelectionError(f"unknown all-reduce operator {op.op.data!r}")
    t = machine_type(op.value.type)
    sel.bind(op.result, sel.typed("CREDUCE", t, [sel.reg(op.value)], [reduction]))


def select_broadcast(sel: KernelSelector, op: Operation) -> None:
    assert isinstance(op, phx.BroadcastOp)
    sel.bind(op.result, sel.value_op("CCAST", [sel.reg(op.value), sel.reg(op.root)]))


PHX_HANDLERS: dict[type[Operation], Handler] = {
    phx.LoadOp: select_load,
    phx.StoreOp: select_store,
    phx.PrefetchOp: select_prefetch,
    phx.SymOp: select_sym,
    phx.SentronIdOp: select_sentron_id,
    phx.NumSentronsOp: select_num_sentrons,
    phx.SendOp: select_send,
    phx.RecvOp: select_recv,
    phx.BarrierOp: select_barrier,
    phx.AllReduceOp: select_allreduce,
    phx.BroadcastOp: select_broadcast,
}
