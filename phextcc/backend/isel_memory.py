"""Instruction selection for the phx ops: tensor access, shape symbols, sentrons.

A tensor element access becomes (docs/backend.md, "Tensor indices"):

    DCHK   ri, axis, param        one per axis, unless the access is `in_bounds`
    ...    flat = ((i0 * E1 + i1) * E2 + i2) ...   in i64 D ops (extents by DMOVI/DSYM)
    SBASE  pb, param              region = parameter index, offset 0 (once, at entry)
    SINDEX pc, pb, rflat, d0      flat offset added at D0, carrying into D1..D9
    SGATHER.<t> rd, pc, #0        or SSCATTR.<t> pc, rs, #0
"""

from __future__ import annotations

from collections.abc import Sequence

from xdsl.ir import Block, Operation, SSAValue

from phextcc.backend.isa import Cond, Hint, RedOp, Type
from phextcc.backend.isel_builder import KernelSelector, SelectionError, machine_type
from phextcc.backend.isel_ops import Handler
from phextcc.ir import phx_dialect as phx
from phextcc.ir.siw_dialect import BranchOp, MReg, UndefOp

_REDUCTIONS: dict[str, RedOp] = {"sum": RedOp.SUM, "max": RedOp.MAX, "min": RedOp.MIN}


def extent_register(sel: KernelSelector, extent: int | str) -> SSAValue:
    if isinstance(extent, str):
        return sel.value_op("DSYM", (), (sel.symbol_index(extent),))
    return sel.constant(extent)


def flat_offset(sel: KernelSelector, tensor: SSAValue, indices: Sequence[SSAValue]
                ) -> SSAValue:
    """Row-major flat element offset of ``tensor[indices]`` (i64)."""
    extents = sel.tensor_type(tensor).extents
    flat = sel.reg(indices[0])
    for extent, index in zip(extents[1:], indices[1:]):
        scaled = sel.typed("DMUL", Type.I64, [flat, extent_register(sel, extent)])
        flat = sel.typed("DADD", Type.I64, [scaled, sel.reg(index)])
    return flat


def check_indices(sel: KernelSelector, tensor: SSAValue, indices: Sequence[SSAValue]) -> None:
    param = sel.param_index(tensor)
    for axis, index in enumerate(indices):
        sel.op("DCHK", [sel.reg(index)], [axis, param])


def coordinate(sel: KernelSelector, tensor: SSAValue, indices: Sequence[SSAValue],
               checked: bool) -> SSAValue:
    """The phext coordinate register of an element (after the bounds checks)."""
    if checked:
        check_indices(sel, tensor, indices)
    flat = flat_offset(sel, tensor, indices)
    index = sel.param_index(tensor)
    base = sel.tensor_bases.get(index)
    if base is None:
        base = sel.value_op("SBASE", (), (index,))
    return sel.value_op("SINDEX", [base, flat], [0])


def select_load(sel: KernelSelector, op: Operation) -> None:
    assert isinstance(op, phx.LoadOp)
    coord = coordinate(sel, op.tensor, op.indices, op.in_bounds is None)
    t = machine_type(op.result.type)
    sel.bind(op.result, sel.typed("SGATHER", t, [coord], [0]))


def select_store(sel: KernelSelector, op: Operation) -> None:
    assert isinstance(op, phx.StoreOp)
    coord = coordinate(sel, op.tensor, op.indices, op.in_bounds is None)
    t = machine_type(op.value.type)
    sel.op(f"SSCATTR.{t.suffix}", [coord, sel.reg(op.value)], [0])


def select_prefetch(sel: KernelSelector, op: Operation) -> None:
    """SPREFCH, skipped at run time when an index is out of range: a prefetch must
    not even form a coordinate outside its tensor."""
    assert isinstance(op, phx.PrefetchOp)
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
    coord = coordinate(sel, op.tensor, op.indices, checked=False)
    sel.op("SPREFCH", [coord], [Hint.L1, 0])
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
    """CPACK the scalar into lane 0 of a message, then CSEND it."""
    assert isinstance(op, phx.SendOp)
    empty = sel.emit(UndefOp(MReg.unallocated())).results[0]
    message = sel.value_op("CPACK", [empty, sel.reg(op.value)], [0])
    sel.op("CSEND", [message, sel.reg(op.dst)])


def select_recv(sel: KernelSelector, op: Operation) -> None:
    assert isinstance(op, phx.RecvOp)
    message = sel.value_op("CRECV", [sel.reg(op.src)])
    sel.bind(op.result, sel.value_op("CUNPK", [message], [0]))


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
