"""Scratch registers for spill code, found where the spill code goes.

A spilled web is filled into a register before each read and spilled from one after
each write. Reserving those scratch registers for the whole kernel takes them from
every other value, hot loops included, although spill code usually sits where
registers are free anyway. So, after a linear scan over all registers, each op that
reads or writes a spilled web looks for registers no allocated web holds across it;
only when some op finds too few does allocation fall back to reserving scratch
registers for the whole kernel (regalloc.allocate_class).
"""

from __future__ import annotations

from collections.abc import Iterable

from xdsl.ir import Operation, Region, SSAValue

from phextcc.backend.isa import RegClass
from phextcc.backend.liveness import Interval, Ranges, instruction, number_ops
from phextcc.backend.regalloc_coalesce import Webs
from phextcc.ir.siw_dialect import regclass_of


def _distinct(values: Iterable[SSAValue]) -> list[SSAValue]:
    return list(dict.fromkeys(values))


def scratch_demand(op: Operation, regclass: RegClass, webs: Webs, spilled: set[SSAValue]
                   ) -> int:
    """Scratch registers of ``regclass`` the spill code around ``op`` needs: one per
    distinct spilled value it reads (the fills), at least one if it writes a spilled
    value (the spill reuses the first)."""
    siw = instruction(op)
    reads = _distinct(v for v in siw.register_uses()
                      if regclass_of(v) is regclass and webs.find(v) in spilled)
    writes = any(regclass_of(v) is regclass and webs.find(v) in spilled
                 for v in siw.register_defs())
    return max(len(reads), 1 if writes else 0)


def local_scratch(region: Region, regclass: RegClass, webs: Webs,
                  intervals: dict[SSAValue, Ranges], assigned: dict[SSAValue, int],
                  spilled: Iterable[SSAValue]) -> dict[Operation, tuple[int, ...]] | None:
    """For every op with spill code of ``regclass``: registers free across it (no
    allocated web's interval holds its read point 2n or write point 2n + 1), or None
    when some op has too few. The choice rotates with the op's position, so that
    neighbouring spill code does not chain through one register (false dependences
    the packer would have to respect)."""
    spilled_roots = set(spilled)
    held: dict[int, list[Interval]] = {}
    for root, register in assigned.items():
        held.setdefault(register, []).extend(intervals[root])
    numbers = number_ops(region)
    found: dict[Operation, tuple[int, ...]] = {}
    for block in region.blocks:
        for op in block.ops:
            need = scratch_demand(op, regclass, webs, spilled_roots)
            if not need:
                continue
            read_point = 2 * numbers[op]
            free = [register for register in range(regclass.count)
                    if not any(interval.start <= read_point + 1 and read_point <= interval.end
                               for interval in held.get(register, ()))]
            if len(free) < need:
                return None
            free.sort(key=lambda register: (register - numbers[op]) % regclass.count)
            found[op] = tuple(free[:need])
    return found
