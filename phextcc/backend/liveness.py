"""Liveness of siw register values: backward dataflow over the CFG, then intervals.

Written against the siw op interface (``register_uses``, ``register_defs``,
``successor_arguments``), so it needs no knowledge of individual mnemonics.

A value passed to a successor's block argument is read by the branch; a block
argument is defined at the top of its block. The equations, iterated to a fixed
point (loops make the CFG cyclic):

    live_out(B) = union of live_in(S) over the successors S of B
    live_in(B)  = upward_uses(B) | (live_out(B) - defs(B))

Program points for intervals: op number n (in layout order) reads at 2n and writes
at 2n + 1, so a value last read by an op and a value that op defines may share a
register (a word reads all registers before it writes any).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from xdsl.dialects.builtin import IntAttr
from xdsl.ir import Block, Operation, Region, SSAValue

from phextcc.ir.siw_dialect import SCHEDULE_ROW_ATTR, SiwInstruction


def instruction(op: Operation) -> SiwInstruction:
    if not isinstance(op, SiwInstruction):
        raise TypeError(f"{op.name} is not a siw op")
    return op


def reads(op: Operation) -> tuple[SSAValue, ...]:
    """Every value the op needs in a register when it executes, edge values included."""
    siw = instruction(op)
    passed = tuple(v for _, values in siw.successor_arguments() for v in values)
    return siw.register_uses() + passed


def successors(block: Block) -> tuple[Block, ...]:
    last = block.last_op
    return tuple(last.successors) if last is not None else ()


@dataclass
class Liveness:
    live_in: dict[Block, set[SSAValue]] = field(default_factory=dict)
    live_out: dict[Block, set[SSAValue]] = field(default_factory=dict)


def _local_sets(block: Block) -> tuple[set[SSAValue], set[SSAValue]]:
    upward: set[SSAValue] = set()
    defined: set[SSAValue] = set(block.args)
    for op in block.ops:
        upward.update(v for v in reads(op) if v not in defined)
        defined.update(instruction(op).register_defs())
    return upward, defined


def compute_liveness(region: Region) -> Liveness:
    blocks = list(region.blocks)
    local = {block: _local_sets(block) for block in blocks}
    result = Liveness({b: set() for b in blocks}, {b: set() for b in blocks})
    changed = True
    while changed:
        changed = False
        for block in reversed(blocks):  # reverse layout order converges fast
            out: set[SSAValue] = set()
            for succ in successors(block):
                out |= result.live_in[succ]
            upward, defined = local[block]
            live_in = upward | (out - defined)
            if out != result.live_out[block] or live_in != result.live_in[block]:
                result.live_out[block], result.live_in[block] = out, live_in
                changed = True
    return result


@dataclass(frozen=True)
class Interval:
    """Inclusive range of program points."""

    start: int
    end: int

    def overlaps(self, other: Interval) -> bool:
        return self.start <= other.end and other.start <= self.end

    def hull(self, other: Interval) -> Interval:
        return Interval(min(self.start, other.start), max(self.end, other.end))


Ranges = tuple[Interval, ...]  # sorted, disjoint and not adjacent


def merge_ranges(intervals: list[Interval]) -> Ranges:
    """The union of ``intervals`` as sorted disjoint ranges (touching ones joined)."""
    merged: list[Interval] = []
    for interval in sorted(intervals, key=lambda i: i.start):
        if merged and interval.start <= merged[-1].end + 1:
            merged[-1] = merged[-1].hull(interval)
        else:
            merged.append(interval)
    return tuple(merged)


def ranges_overlap(first: Ranges, second: Ranges) -> bool:
    i = j = 0
    while i < len(first) and j < len(second):
        if first[i].overlaps(second[j]):
            return True
        if first[i].end < second[j].end:
            i += 1
        else:
            j += 1
    return False


def number_ops(region: Region) -> dict[Operation, int]:
    numbers: dict[Operation, int] = {}
    for block in region.blocks:
        for op in block.ops:
            numbers[op] = len(numbers)
    return numbers


def live_ranges(region: Region, liveness: Liveness | None = None
                ) -> dict[SSAValue, Ranges]:
    """Where each value is live, with its holes: per block, from the block's start (live
    in, or a block argument) or the def to the block's end (live out) or the last read.
    A loop-carried value is then live at the top of the loop until its last read and
    again from its new def to the bottom, not in between."""
    liveness = liveness or compute_liveness(region)
    numbers = number_ops(region)
    pieces: dict[SSAValue, list[Interval]] = {}
    for block in region.blocks:
        first, last = block.first_op, block.last_op
        assert first is not None and last is not None, "a siw block ends in a terminator"
        start, end = 2 * numbers[first], 2 * numbers[last] + 1
        low: dict[SSAValue, int] = {value: start for value in liveness.live_in[block]}
        low.update((arg, start) for arg in block.args)
        high: dict[SSAValue, int] = {}
        row_end = _row_ends(block, numbers)
        for op in block.ops:
            n = numbers[op]
            read_at, write_at = row_end.get(op, (2 * n, 2 * n + 1))
            for value in reads(op):
                high[value] = read_at
                low.setdefault(value, start)  # only for malformed IR: read before any def
            for value in instruction(op).register_defs():
                low.setdefault(value, write_at)
                high.setdefault(value, write_at)
        for value in liveness.live_out[block]:
            high[value] = end
        for value, begin in low.items():
            pieces.setdefault(value, []).append(Interval(begin, max(begin, high.get(value, begin))))
    return {value: merge_ranges(parts) for value, parts in pieces.items()}


def _row_ends(block: Block, numbers: dict[Operation, int]) -> dict[Operation, tuple[int, int]]:
    """(read point, write point) of the ops of a pipelined kernel block that carry a
    schedule row: both at the row's end. Emission packs a row into one word, whose ops
    must not touch a register another of them writes (scheduling contract 2), so a
    value read in a row must not share a register with one written in it."""
    last: dict[int, int] = {}
    rowed: list[tuple[Operation, int]] = []
    for op in block.ops:
        row = op.attributes.get(SCHEDULE_ROW_ATTR)
        if isinstance(row, IntAttr):
            last[row.data] = max(last.get(row.data, 0), numbers[op])
            rowed.append((op, row.data))
    return {op: (2 * last[row] + 1, 2 * last[row] + 1) for op, row in rowed}


def live_intervals(region: Region, liveness: Liveness | None = None
                   ) -> dict[SSAValue, Interval]:
    """One covering interval per value (holes inside it are not used)."""
    liveness = liveness or compute_liveness(region)
    numbers = number_ops(region)
    points: dict[SSAValue, list[int]] = {}

    def touch(value: SSAValue, point: int) -> None:
        points.setdefault(value, []).append(point)

    for block in region.blocks:
        first, last = block.first_op, block.last_op
        assert first is not None and last is not None, "a siw block ends in a terminator"
        start, end = 2 * numbers[first], 2 * numbers[last] + 1
        for arg in block.args:
            touch(arg, start)
        for value in liveness.live_in[block]:
            touch(value, start)
        for value in liveness.live_out[block]:
            touch(value, end)
        for op in block.ops:
            n = numbers[op]
            for value in reads(op):
                touch(value, 2 * n)
            for value in instruction(op).register_defs():
                touch(value, 2 * n + 1)
    return {value: Interval(min(p), max(p)) for value, p in points.items()}
