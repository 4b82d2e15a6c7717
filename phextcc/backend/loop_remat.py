"""Recompute loop-invariant constants in front of each loop that reads them (tiers 2+).

The allocator gives a value one covering interval. A constant made at the kernel's
entry (a DMOVI, DARG, DSYM, SBASE, ...) and read in several loops therefore holds a
register across everything between them, and its few reads per program point make
it the first thing spilled under pressure; spilled, it is recomputed before *every*
read, inside the hot loop. Splitting the range at the loop boundary fixes both: a
fresh copy of the defining op in the loop's preheader gives the loop its own short,
dense range (kept in a register), and the original range ends before the loop or
becomes cheap to spill because nothing inside the loop reads it.

Only ops that read no register and have no effect are copied (``rematerializable``
in the allocator's sense), so the copy is always equal to the original. The copy sits
at the end of the loop's preheader: the one block outside the loop that branches to
its header, which therefore dominates the loop. Loops without one are left alone.
"""

from __future__ import annotations

from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp
from xdsl.ir import Block, Operation, Region, SSAValue

from phextcc.backend.isa import Effect
from phextcc.backend.liveness import compute_liveness
from phextcc.backend.loop_nesting import control_flow_graph, natural_loops
from phextcc.backend.regalloc import all_values
from phextcc.ir.siw_dialect import SiwOp, use_operands


def _recomputable(value: SSAValue) -> SiwOp | None:
    op = value.owner
    if not isinstance(op, SiwOp) or len(op.results) != 1:
        return None
    info = op.info
    if use_operands(info) or info.effects != Effect.NONE:
        return None
    return op


def _reads_in(body: set[Block], value: SSAValue) -> list[tuple[Operation, int]]:
    uses = []
    for use in value.uses:
        op = use.operation
        if op.parent_block() in body:
            uses.append((op, use.index))
    return uses


def remat_invariants_before_loops(region: Region) -> int:
    """Give every loop its own copy of each recomputable constant it reads; returns the
    number of copies made. An original left without reads is deleted."""
    made = 0
    liveness = compute_liveness(region)
    order = {value: n for n, value in enumerate(all_values(region))}
    replaced: set[SiwOp] = set()
    graph = control_flow_graph(region)
    for header, body in natural_loops(region).items():
        outside = [pred for pred in graph.predecessors(header) if pred not in body]
        if len(outside) != 1 or outside[0].last_op is None:
            continue
        preheader = outside[0]
        for value in sorted(liveness.live_in[header], key=order.__getitem__):
            original = _recomputable(value)
            uses = _reads_in(body, value) if original is not None else []
            if original is None or not uses:
                continue
            copy = SiwOp(original.mnemonic.data, (), original.immediates, (value.type,))
            copy.location = original.location
            preheader.insert_op_before(copy, preheader.last_op)
            for op, index in uses:
                op.operands[index] = copy.res[0]
            replaced.add(original)
            made += 1
    for original in replaced:
        if not original.results[0].uses:
            original.detach()
            original.erase()
    return made


def remat_module(module: ModuleOp) -> None:
    for op in module.ops:
        if isinstance(op, FuncOp):
            remat_invariants_before_loops(op.body)
