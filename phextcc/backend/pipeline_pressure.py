"""Register demand of a pipelined kernel, as the allocator will see it.

The allocator (regalloc.py) gives each web one covering interval: a value carried
around the kernel's back edge (a kernel block argument, the value passed to it and
the copy between them) holds its register across the whole kernel even where it is
dead, and with K kernel copies (modulo variable expansion) each of its K versions
spans about a whole copy. So a kernel needs, per register class:

    values live through the loop (invariants, values read after it)
  + K * the values crossing a kernel iteration boundary
  + the most values made and read inside one kernel iteration at any point

A schedule whose demand exceeds a class's registers spills inside the loop;
``pipeline_expand`` weighs that against a larger II.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from xdsl.ir import SSAValue

from phextcc.backend.isa import RegClass
from phextcc.backend.liveness import Interval, compute_liveness, live_intervals, number_ops
from phextcc.backend.pipeline_loop import LoopModel
from phextcc.backend.regalloc import all_values, build_webs
from phextcc.backend.regalloc_coalesce import coalesce_copies
from phextcc.ir.siw_dialect import regclass_of


def through_values(model: LoopModel) -> Counter[RegClass]:
    """Webs whose covering interval spans the loop body without being the loop's own,
    by class: values live into the loop and any web laid out around it (a value read
    in a branch placed after the loop, a later loop's induction variable coalesced
    with an earlier constant), as the allocator will see them."""
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
    hulls: dict[SSAValue, Interval] = {}
    for value in values:
        interval = intervals.get(value)
        root = webs.find(value)
        if interval is None or root in own:
            continue
        hulls[root] = interval.hull(hulls[root]) if root in hulls else interval
    return _by_class(root for root, hull in hulls.items()
                     if hull.start <= start and hull.end >= end)


def _by_class(values: Iterable[SSAValue]) -> Counter[RegClass]:
    return Counter(regclass_of(value) for value in values)


def kernel_demand(model: LoopModel, order: list[int], stage: dict[int, int],
                  slots: Iterable[tuple[int, int, int]], copies: int,
                  through: Counter[RegClass]) -> Counter[RegClass]:
    """Registers per class the kernel (ops in ``order``) needs; see the module doc."""
    crossing: set[tuple[int, int]] = set()
    demand: Counter[RegClass] = Counter(through)
    for node, result, _ in slots:
        demand[regclass_of(model.ops[node].results[result])] += copies
        crossing.add((node, result))
    position = {node: index for index, node in enumerate(order)}
    end = len(order)
    last_read: dict[tuple[int, int], int] = {}
    readers = [*((node, refs) for node, refs in enumerate(model.operands)),
               (None, model.branch_operands)]
    for reader, refs in readers:
        at = end if reader is None else position[reader]
        reader_stage = 0 if reader is None else stage[reader]
        for ref in refs:
            if ref.node is None or reader_stage + ref.back != stage[ref.node]:
                continue  # not made and read in one kernel iteration
            key = (ref.node, ref.result)
            last_read[key] = max(last_read.get(key, 0), at)
    events: list[tuple[int, int, RegClass]] = []  # (point, +1/-1, class)
    for node in order:
        for result, value in enumerate(model.ops[node].results):
            key = (node, result)
            if key in crossing:
                continue
            start = position[node]
            events.append((2 * start + 1, 1, regclass_of(value)))
            # op n reads at 2n and writes at 2n + 1: a value read last by op n and a
            # value op n makes may share a register
            events.append((2 * max(last_read.get(key, start), start) + 1, -1,
                           regclass_of(value)))
    live: Counter[RegClass] = Counter()
    peak: Counter[RegClass] = Counter()
    for _, change, regclass in sorted(events, key=lambda e: (e[0], e[1])):
        live[regclass] += change
        peak[regclass] = max(peak[regclass], live[regclass])
    demand.update(peak)
    return demand


def excess(demand: Counter[RegClass]) -> int:
    """Registers needed beyond what each class has, summed over classes."""
    return sum(max(0, count - regclass.count) for regclass, count in demand.items())
