"""Register demand of a pipelined kernel, as the allocator will see it.

The allocator (regalloc.py) keeps a value in a register only where it is live (live
ranges with holes), so a value carried around the kernel's back edge frees its
register between its last read at the top and its new def at the bottom, and each
of the K versions of modulo variable expansion holds one only while live. So a kernel
needs, per register class:

    values live through the loop that the body reads (invariants; a value the body
    does not touch is spilled around it first, see regalloc.spill_weights)
  + the most values live at any point of the kernel's timeline, each value from its
    def to its last read, over as many laps of the timeline as kernel iterations
    separate the two (MaxLive of the modulo schedule)
  + ``COLORING_SLACK``

A schedule whose demand exceeds a class's registers spills inside the loop;
``pipeline_expand`` weighs that against a larger II.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from xdsl.ir import SSAValue

from phextcc.backend.isa import RegClass
from phextcc.backend.liveness import (
    Interval,
    compute_liveness,
    live_intervals,
    number_ops,
    reads,
)
from phextcc.backend.pipeline_loop import LoopModel, Ref
from phextcc.backend.regalloc import all_values, build_webs
from phextcc.backend.regalloc_coalesce import coalesce_copies
from phextcc.ir.siw_dialect import regclass_of


def through_values(model: LoopModel) -> Counter[RegClass]:
    """Webs whose covering interval spans the loop body without being the loop's own,
    and which the body reads, by class: values live into the loop and any web laid out
    around it (a later loop's induction variable coalesced with an earlier constant),
    as the allocator will see them. A web the body never touches costs nothing inside
    the loop: the allocator weighs spill candidates by loop depth and spills it first,
    with its fills outside the loop."""
    region = model.block.parent
    assert region is not None
    webs = build_webs(region)
    values = all_values(region)
    liveness = compute_liveness(region)
    coalesce_copies(region, webs, liveness, values)
    intervals = live_intervals(region, liveness)
    numbers = number_ops(region)
    first, last = model.block.first_op, model.block.last_op
    assert first is not None and last is not None
    start, end = 2 * numbers[first], 2 * numbers[last] + 1
    own = {webs.find(value) for value in [*model.block.args,
                                          *(r for op in model.block.ops for r in op.results)]}
    touched = {webs.find(value) for op in model.block.ops for value in reads(op)}
    hulls: dict[SSAValue, Interval] = {}
    for value in values:
        interval = intervals.get(value)
        root = webs.find(value)
        if interval is None or root in own or root not in touched:
            continue
        hulls[root] = interval.hull(hulls[root]) if root in hulls else interval
    return _by_class(root for root, hull in hulls.items()
                     if hull.start <= start and hull.end >= end)


def _by_class(values: Iterable[SSAValue]) -> Counter[RegClass]:
    return Counter(regclass_of(value) for value in values)


def kernel_demand(model: LoopModel, rows: dict[int, int], ii: int, stage: dict[int, int],
                  through: Counter[RegClass]) -> Counter[RegClass]:
    """Registers per class the kernel needs (see the module doc), with op ``n`` in row
    ``rows[n]`` of ``ii`` rows. A row becomes one word whose ops must not touch a
    register another of them writes, so a value read in a row and one written in it
    never share a register: both are placed at the row's end, as the allocator does
    (liveness.live_ranges)."""
    lap = 2 * ii
    last_read: dict[tuple[int, int], int] = {}

    def read(ref: Ref, at: int, distance: int) -> None:
        if ref.node is None:
            return
        key = (ref.node, ref.result)
        last_read[key] = max(last_read.get(key, 0), at + distance * lap)

    def point(node: int) -> int:
        return 2 * rows[node] + 1

    for node, refs in enumerate(model.operands):
        for ref in refs:
            if ref.node is not None:
                read(ref, point(node), stage[node] + ref.back - stage[ref.node])
    for ref in model.branch_operands:
        if ref.node is not None:
            read(ref, lap - 1, ref.back - stage[ref.node])
    for ref in [*model.outside_uses.values(), *model.exit_arguments]:
        if ref.node is not None:  # read after the loop's last kernel iteration
            read(ref, lap - 1, 1 + ref.back - stage[ref.node])
    # Per class: values live all around the timeline, and a difference array of the
    # partial laps (a value live from point b for r more points adds 1 on b .. b+r-1,
    # wrapping around).
    whole: Counter[RegClass] = Counter()
    change: dict[RegClass, list[int]] = {}
    for node in rows:
        for result, value in enumerate(model.ops[node].results):
            begin = point(node)
            points = max(begin, last_read.get((node, result), begin)) - begin + 1
            laps, rest = divmod(points, lap)
            regclass = regclass_of(value)
            whole[regclass] += laps
            steps = change.setdefault(regclass, [0] * (lap + 1))
            stop = begin + rest
            steps[begin] += 1
            if stop <= lap:
                steps[stop] -= 1
            else:  # wraps past the end of the kernel iteration
                steps[lap] -= 1
                steps[0] += 1
                steps[stop - lap] -= 1
    live: dict[RegClass, list[int]] = {}
    for regclass, steps in change.items():
        running, counts = 0, []
        for point in range(lap):
            running += steps[point]
            counts.append(running + whole[regclass])
        live[regclass] = counts
    demand: Counter[RegClass] = Counter(through)
    demand.update({regclass: max(counts) for regclass, counts in live.items()})
    return demand


# Registers the allocator may need beyond MaxLive: values live across the kernel's back
# edge make the ranges circular, which a linear scan colors with a register or two more
# than MaxLive. Measured on the streaming kernels: with 1, the producer's kernel spilled
# (20 words for 16 elements); with 2 it fits (18 words); 3 and 4 changed nothing.
COLORING_SLACK = 2


def excess(demand: Counter[RegClass]) -> int:
    """Registers needed beyond what each class has, summed over classes."""
    return sum(max(0, count + COLORING_SLACK - regclass.count)
               for regclass, count in demand.items())
