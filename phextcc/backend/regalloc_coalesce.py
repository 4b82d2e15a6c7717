"""Copy coalescing before linear scan: merge a copy's source into the copy's web.

Instruction selection passes values along CFG edges through copies (``DMOV``,
``SMOVP``) into the web of the target block argument. When the copied value has no
other use and never lives at the same time as any member of that web, both can share
the register and the copy becomes ``DMOV rX, rX``, which emission drops: a loop's
``acc' = acc + x`` then writes the accumulator's register directly. As usual
(Chaitin), a copy does not make its result interfere with its source: both hold the
same value.

Interference is exact (from liveness at every definition).
"""

from __future__ import annotations

from xdsl.ir import Operation, Region, SSAValue

from phextcc.backend.isa import COPY_FAMILIES
from phextcc.backend.liveness import Liveness, instruction, reads
from phextcc.ir.siw_dialect import SPLIT_COPY_ATTR, SiwOp, regclass_of


class WebInterferenceError(Exception):
    """Instruction selection passed a value along an edge while the block argument it
    is passed to was still live (an internal compiler error)."""


class Webs:
    """Union-find over SSA values."""

    def __init__(self) -> None:
        self.parent: dict[SSAValue, SSAValue] = {}

    def find(self, value: SSAValue) -> SSAValue:
        root = value
        while self.parent.get(root, root) is not root:
            root = self.parent[root]
        while value is not root:  # path compression
            self.parent[value], value = root, self.parent.get(value, value)
        return root

    def union(self, a: SSAValue, b: SSAValue) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra is not rb:
            self.parent[rb] = ra


def _is_copy(op: Operation) -> bool:
    return isinstance(op, SiwOp) and op.info.family in COPY_FAMILIES


def interference(region: Region, liveness: Liveness) -> dict[SSAValue, set[SSAValue]]:
    """For every value, the values live where it is defined (and symmetrically)."""
    graph: dict[SSAValue, set[SSAValue]] = {}

    def interfere(defined: SSAValue, live: set[SSAValue]) -> None:
        for other in live:
            if other is not defined and regclass_of(other) is regclass_of(defined):
                graph.setdefault(defined, set()).add(other)
                graph.setdefault(other, set()).add(defined)

    for block in region.blocks:
        live = set(liveness.live_out[block])
        for op in reversed(list(block.ops)):
            defs = instruction(op).register_defs()
            # A copy's result holds its source's value: the two may share a register.
            same_value = {op.args[0]} if _is_copy(op) else set()
            for value in defs:
                interfere(value, live - same_value)
            live.difference_update(defs)
            live.update(reads(op))
        for arg in block.args:  # arguments are all defined on entry
            interfere(arg, live | set(block.args))
    return graph


def _members(webs: Webs, values: list[SSAValue]) -> dict[SSAValue, list[SSAValue]]:
    members: dict[SSAValue, list[SSAValue]] = {}
    for value in values:
        members.setdefault(webs.find(value), []).append(value)
    return members


def coalesce_copies(region: Region, webs: Webs, liveness: Liveness,
                    values: list[SSAValue]) -> int:
    """Union copy sources into their copy's web where no member of one is live where
    a member of the other is defined (copies of the same value excepted); returns how
    many copies were coalesced."""
    graph = interference(region, liveness)
    members = _members(webs, values)
    for group in members.values():  # a web is one register: its members must not clash
        for value in group:
            clash = graph.get(value, set()).intersection(group)
            if clash:
                raise WebInterferenceError(
                    f"{value} and {clash.pop()} share a register but live at once")
    merged = 0
    for block in region.blocks:
        for op in block.ops:
            if not _is_copy(op) or SPLIT_COPY_ATTR in op.attributes:
                continue
            assert isinstance(op, SiwOp)
            source, copy = op.args[0], op.res[0]
            source_root, copy_root = webs.find(source), webs.find(copy)
            if source_root is copy_root:
                continue
            if any(other in graph.get(a, ()) for a in members[source_root]
                   for other in members[copy_root]):
                continue
            webs.union(copy_root, source_root)
            root = webs.find(copy_root)
            joined = members.pop(source_root) + members.pop(copy_root)
            members[root] = joined
            merged += 1
    return merged
