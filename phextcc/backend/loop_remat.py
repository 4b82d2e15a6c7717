"""Split the live range of each loop invariant at the loops that read it (tier 3).

A value made before a loop and read in it (the constant `a`, a message's destination,
a loop bound) holds one register from its def to its last read, across everything
in between: the prologue of a pipelined loop, other loops. The allocator weighs a
spill by reads per program point held, so such a long range with a few reads in the
loop is what it spills first, and a spilled value is reloaded or recomputed before
*every* read, inside the hot loop. Giving the loop its own copy of the value fixes
both: the copy's range is short and dense (kept in a register), and the original's
range ends at the copy or is cheap to spill, its reloads running outside the loop.

The copy sits at the end of the loop's preheader, the one block outside the loop that
branches to its header (it dominates the loop); loops without one are left alone. A
constant (an op that reads no register and has no effect: DMOVI, DARG, DSYM, SBASE,
...) is recomputed there, and the original goes when nothing else reads it. Any
other r or p value gets a register copy marked ``siw.split``: copy coalescing leaves
it (that would undo the split), and the allocator lets the copy share its source's
register where the two are single values, so it costs nothing without pressure.
A kernel where no point has more live values of a class than it has registers is
left alone: nothing will be spilled, and the copies would only add work. Otherwise
codegen allocates the kernel with and without the splits and keeps the one that
executes fewer ops by a static estimate (``allocate_splitting_if_cheaper``).
"""

from __future__ import annotations

from xdsl.dialects.builtin import UnitAttr
from xdsl.dialects.func import FuncOp
from xdsl.ir import Block, Operation, Region, SSAValue

from phextcc.backend.isa import COPY_FAMILIES, COPY_OF_CLASS, Effect, RegClass
from phextcc.backend.liveness import Ranges, compute_liveness, live_ranges
from phextcc.backend.loop_nesting import control_flow_graph, loop_depths, natural_loops
from phextcc.backend.regalloc import LOOP_WEIGHT, all_values, allocate_kernel
from phextcc.ir.siw_dialect import (
    SPLIT_COPY_ATTR,
    SiwInstruction,
    SiwOp,
    UndefOp,
    regclass_of,
    use_operands,
)


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


def under_pressure(region: Region, live: dict[SSAValue, Ranges]) -> bool:
    """Whether more values of some class than it has registers are live at once
    anywhere in the kernel (values of one web never live at once, so this is the
    allocator's register demand): only then does the allocator spill, and only then
    is a split worth its copies. The point of pressure need not be in the loop: a
    pipelined loop's prologue is what usually evicts the invariants the loop reads."""
    change: dict[RegClass, dict[int, int]] = {}
    for value, pieces in live.items():
        steps = change.setdefault(regclass_of(value), {})
        for piece in pieces:
            steps[piece.start] = steps.get(piece.start, 0) + 1
            steps[piece.end + 1] = steps.get(piece.end + 1, 0) - 1
    for regclass, steps in change.items():
        count = 0
        for point in sorted(steps):
            count += steps[point]
            if count > regclass.count:
                return True
    return False


def remat_invariants_before_loops(region: Region) -> int:
    """In a kernel under register pressure, give every loop its own copy of each
    invariant it reads (recomputed for a constant, else a register copy); returns the
    number of copies made. A constant left without reads is deleted."""
    made = 0
    liveness = compute_liveness(region)
    if not under_pressure(region, live_ranges(region, liveness)):
        return 0
    order = {value: n for n, value in enumerate(all_values(region))}
    replaced: set[SiwOp] = set()
    graph = control_flow_graph(region)
    for header, body in natural_loops(region).items():
        outside = [pred for pred in graph.predecessors(header) if pred not in body]
        if len(outside) != 1 or outside[0].last_op is None:
            continue
        preheader = outside[0]
        for value in sorted(liveness.live_in[header], key=order.__getitem__):
            uses = _reads_in(body, value)
            original = _recomputable(value)
            if not uses or (original is None and regclass_of(value) not in COPY_OF_CLASS):
                continue
            if original is not None:
                copy = SiwOp(original.mnemonic.data, (), original.immediates, (value.type,))
                copy.location = original.location
                replaced.add(original)
            else:
                copy = SiwOp(COPY_OF_CLASS[regclass_of(value)], (value,))
                copy.location = preheader.last_op.location
                copy.attributes[SPLIT_COPY_ATTR] = UnitAttr()
            preheader.insert_op_before(copy, preheader.last_op)
            for op, index in uses:
                op.operands[index] = copy.res[0]
            made += 1
    for original in replaced:
        if not original.results[0].uses:
            original.detach()
            original.erase()
    return made


def executed_estimate(kernel: FuncOp) -> int:
    """Ops the allocated kernel emits, each weighing ``LOOP_WEIGHT`` to the power of its
    block's loop depth: a static estimate of the ops it executes (copies onto their own
    register and ``siw.undef`` emit nothing)."""
    depths = loop_depths(kernel.body)
    total = 0
    for block in kernel.body.blocks:
        emitted = sum(1 for op in block.ops if isinstance(op, SiwInstruction)
                      and not isinstance(op, UndefOp) and not _self_copy(op))
        total += emitted * LOOP_WEIGHT ** depths[block]
    return total


def _self_copy(op: Operation) -> bool:
    return isinstance(op, SiwOp) and op.info.family in COPY_FAMILIES \
        and op.args[0].type == op.res[0].type


def allocate_splitting_if_cheaper(kernel: FuncOp) -> FuncOp:
    """Allocate ``kernel`` as it is and a copy with its invariants split at the loops;
    keep (in the module, in place of ``kernel``) the one that executes fewer ops by
    ``executed_estimate``, and return it. Splitting adds copies outside the loops and
    pays only when it keeps spill code out of them."""
    split = kernel.clone()
    if not remat_invariants_before_loops(split.body):
        allocate_kernel(kernel)
        return kernel
    allocate_kernel(split)
    allocate_kernel(kernel)
    if executed_estimate(split) >= executed_estimate(kernel):
        return kernel
    parent = kernel.parent_block()
    assert parent is not None
    parent.insert_op_before(split, kernel)
    kernel.detach()
    kernel.erase()
    return split
