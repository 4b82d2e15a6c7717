"""Register allocation for siw IR: linear scan (Poletto & Sarkar, TOPLAS 1999) with
spilling to the sentron's spill area, one register class at a time.

Units of allocation are *webs*: a block argument and every value passed to it, and
the two sides of a tied operand (CPACK's message), share one register, so block
arguments and ties emit no code. Instruction selection passes fresh copies along
CFG edges, which keeps webs free of internal interference (``regalloc_coalesce``
checks it); copy coalescing then merges a copy's source into the web where the two
never live at once. ``regalloc_check.check_allocation`` verifies the result independently.

Each web gets one covering interval (``liveness.live_intervals``). When no register
is free, the web of least spill weight per point it holds a register (reads and writes
weighted by loop depth) is spilled. When a class runs out of registers, the
allocation of that class is redone with a few registers of the class reserved as
scratch: a spilled web lives in its own slot of the spill area
(r: 1 word, p: 2, m: 4), each read is preceded by a fill into a scratch register and
each write followed by a spill from one (SFILL/SSPILL, SFILLP/SSPILLP, SFILLM/SSPILLM).
The kernel's ``siw.spill_words`` attribute records the area's size. A spilled value
whose def reads no register and has no effect (a constant, DARG, DSYM, SBASE) is
recomputed before each read instead of being stored (rematerialisation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from xdsl.dialects.builtin import IntAttr, ModuleOp
from xdsl.dialects.func import FuncOp
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.rewriter import Rewriter

from phextcc.backend.isa import Effect, RegClass
from phextcc.backend.liveness import (
    Interval,
    Ranges,
    compute_liveness,
    instruction,
    live_ranges,
    merge_ranges,
    ranges_overlap,
    reads,
)
from phextcc.backend.loop_nesting import loop_depths
from phextcc.backend.regalloc_coalesce import Webs, coalesce_copies
from phextcc.backend.regalloc_scratch import local_scratch
from phextcc.ir.siw_dialect import (
    REGISTER_TYPE_OF_CLASS,
    SPLIT_COPY_ATTR,
    SiwOp,
    regclass_of,
    use_operands,
)

SPILL_WORDS_ATTR = "siw.spill_words"

# Fill / spill mnemonics and slot size (8-byte words) per class.
SPILL_CODE: dict[RegClass, tuple[str, str, int]] = {
    RegClass.R: ("SFILL", "SSPILL", 1),
    RegClass.P: ("SFILLP", "SSPILLP", 2),
    RegClass.M: ("SFILLM", "SSPILLM", 4),
}


# How much more one read or write inside a loop costs than one just outside it (the
# usual guess of ten iterations per loop level, as in Chaitin's allocator).
LOOP_WEIGHT = 10


class RegisterAllocationError(Exception):
    """The IR cannot be allocated (an internal compiler error)."""


def all_values(region: Region) -> list[SSAValue]:
    values: list[SSAValue] = []
    for block in region.blocks:
        values.extend(block.args)
        for op in block.ops:
            values.extend(op.results)
    return values


def build_webs(region: Region) -> Webs:
    webs = Webs()
    for block in region.blocks:
        for op in block.ops:
            siw = instruction(op)
            for target, passed in siw.successor_arguments():
                for value, arg in zip(passed, target.args):
                    webs.union(arg, value)
            for operand, result in siw.tied_registers():
                webs.union(operand, result)
    return webs


@dataclass
class ClassAllocation:
    """The outcome for one register class."""

    register: dict[SSAValue, int] = field(default_factory=dict)  # web root -> register
    spilled: list[SSAValue] = field(default_factory=list)  # web roots, in interval order
    scratch: tuple[int, ...] = ()  # reserved for all spill code of the class
    # Or, when registers are free wherever spill code goes: op -> its scratch registers.
    local_scratch: dict[Operation, tuple[int, ...]] = field(default_factory=dict)


def linear_scan(intervals: Mapping[SSAValue, Interval | Ranges], registers: Iterable[int],
                weights: dict[SSAValue, float] | None = None,
                hints: Mapping[SSAValue, SSAValue] | None = None
                ) -> tuple[dict[SSAValue, int], list[SSAValue]]:
    """Linear scan (Poletto & Sarkar) over live ranges with holes (Traub et al.'s
    second-chance binpacking idea, without splitting): webs are taken by start; a
    register is free for a web when no web already in it is live at any point where
    the new one is, so a loop-carried value's register serves others between its last
    read at the top of the loop and its new def at the bottom.

    When no register is free, the cheapest to spill goes: the new web, or the webs in
    its way in one register. A web costs its spill weight (reads and writes weighted by
    loop depth, ``spill_weights``) per program point it holds a register: spilling it
    frees the most register time for the fewest reloads. Of equal costs, the one that
    ends last is spilled (Poletto & Sarkar's own rule, all there is without weights).

    ``hints``: web -> the web it copies, one SSA value each (a copy that splits a
    range): the two hold one value, so the copy may share the source's register even
    where both are live, and then costs nothing."""
    weights = weights or {}
    hints = hints or {}
    ranges: dict[SSAValue, Ranges] = {
        web: (value,) if isinstance(value, Interval) else value
        for web, value in intervals.items()}
    order = sorted(ranges, key=lambda w: (ranges[w][0].start, ranges[w][-1].end))
    position = {web: i for i, web in enumerate(order)}

    def cost(web: SSAValue) -> float:
        held = sum(piece.end - piece.start + 1 for piece in ranges[web])
        return weights.get(web, 0.0) / held

    def end(web: SSAValue) -> int:
        return ranges[web][-1].end

    # Per register: the webs in it that may still meet a later web (those ending before
    # the current start are dropped), and when its last web ended: of the free
    # registers, the one released longest ago is handed out, so the ops around a
    # release do not get false dependences that keep the packer from overlapping them.
    holders: dict[int, list[SSAValue]] = {register: [] for register in registers}
    released = dict.fromkeys(holders, -1)
    assigned: dict[SSAValue, int] = {}
    spilled: list[SSAValue] = []
    for web in order:
        start = ranges[web][0].start
        source = hints.get(web)
        in_way: dict[int, list[SSAValue]] = {}
        for register, webs_in in holders.items():
            for old in [w for w in webs_in if end(w) < start]:
                webs_in.remove(old)
                released[register] = max(released[register], end(old))
            in_way[register] = [w for w in webs_in if w is not source
                                and ranges_overlap(ranges[w], ranges[web])]
        free = [register for register, blocking in in_way.items() if not blocking]
        if free:
            hinted = assigned.get(source) if source is not None else None
            chosen = hinted if hinted in free else min(free, key=lambda r: (released[r], r))
        else:
            eviction = {register: (sum(cost(w) for w in blocking),
                                   -max(end(w) for w in blocking))
                        for register, blocking in in_way.items()}
            chosen = min(eviction, key=eviction.__getitem__)
            if (cost(web), -end(web)) <= eviction[chosen]:
                spilled.append(web)
                continue
            for victim in in_way[chosen]:
                holders[chosen].remove(victim)
                del assigned[victim]
                spilled.append(victim)
        assigned[web] = chosen
        holders[chosen].append(web)
    spilled.sort(key=lambda w: position[w])
    return assigned, spilled


def split_hints(region: Region, webs: Webs, web_sizes: dict[SSAValue, int]
                ) -> dict[SSAValue, SSAValue]:
    """Copy result's web -> source's web for the copies that split a range on purpose
    (``siw.split``), when each web is that one SSA value: no other value ever enters
    either, so they may share a register wherever they live."""
    hints: dict[SSAValue, SSAValue] = {}
    for block in region.blocks:
        for op in block.ops:
            if isinstance(op, SiwOp) and SPLIT_COPY_ATTR in op.attributes:
                copy, source = webs.find(op.res[0]), webs.find(op.args[0])
                if web_sizes[copy] == 1 and web_sizes[source] == 1:
                    hints[copy] = source
    return hints


def spill_weights(region: Region, webs: Webs) -> dict[SSAValue, float]:
    """Per web root: its reads and writes, each weighing ``LOOP_WEIGHT`` to the power of
    its block's loop depth. A value not touched inside a loop is cheap to spill even
    when it lives across one: its fills and spills run outside."""
    depth = loop_depths(region)
    weight: dict[SSAValue, float] = {}
    for block in region.blocks:
        cost = float(LOOP_WEIGHT ** depth[block])
        for op in block.ops:
            for value in (*reads(op), *instruction(op).register_defs()):
                root = webs.find(value)
                weight[root] = weight.get(root, 0.0) + cost
    return weight


def scratch_needed(region: Region, regclass: RegClass) -> int:
    """Registers a spilling op may need at once: its distinct reads of the class."""
    most = 1
    for block in region.blocks:
        for op in block.ops:
            reads = {v for v in instruction(op).register_uses() if regclass_of(v) is regclass}
            most = max(most, len(reads))
    return most


def allocate_class(region: Region, regclass: RegClass, intervals: dict[SSAValue, Ranges],
                   webs: Webs, weights: dict[SSAValue, float] | None = None,
                   hints: Mapping[SSAValue, SSAValue] | None = None) -> ClassAllocation:
    everything = range(regclass.count)
    assigned, spilled = linear_scan(intervals, everything, weights, hints)
    if not spilled:
        return ClassAllocation(assigned)
    local = local_scratch(region, regclass, webs, intervals, assigned, spilled)
    if local is not None:
        return ClassAllocation(assigned, spilled, local_scratch=local)
    reserve = scratch_needed(region, regclass)
    if reserve >= regclass.count:
        raise RegisterAllocationError(f"no {regclass.prefix} registers left after scratch")
    scratch = tuple(range(regclass.count - reserve, regclass.count))
    assigned, spilled = linear_scan(intervals, range(regclass.count - reserve), weights, hints)
    return ClassAllocation(assigned, spilled, scratch)


def _register(regclass: RegClass, number: int) -> Attribute:
    return REGISTER_TYPE_OF_CLASS[regclass].from_index(number)


@dataclass
class SpillPlan:
    slot: dict[SSAValue, int]  # web root -> first word of its slot
    scratch: dict[RegClass, tuple[int, ...]]
    words: int
    local_scratch: dict[tuple[Operation, RegClass], tuple[int, ...]] = field(
        default_factory=dict)
    # Spilled webs recomputed at each read instead (their def reads no register and
    # has no effect: DMOVI, DLDC, DARG, DSYM, SBASE, ...): web root -> defining op.
    remat: dict[SSAValue, SiwOp] = field(default_factory=dict)
    # Each fill's result -> the value it reloads (for the allocation checker).
    reloads: dict[SSAValue, SSAValue] = field(default_factory=dict)


    def scratch_for(self, op: Operation, regclass: RegClass) -> tuple[int, ...]:
        return self.local_scratch.get((op, regclass)) or self.scratch[regclass]


@dataclass
class AllocationResult:
    spill_words: int
    reloads: dict[SSAValue, SSAValue]  # fill result -> the value it stands for


def rematerializable(value: SSAValue, web_size: int) -> SiwOp | None:
    """The defining op of ``value`` if re-running it at each read is as good as a fill."""
    op = value.owner
    if web_size != 1 or not isinstance(op, SiwOp):
        return None
    info = op.info
    if use_operands(info) or info.effects != Effect.NONE or len(op.res) != 1:
        return None
    return op


def insert_spill_code(region: Region, webs: Webs, plan: SpillPlan,
                      final_type: dict[SSAValue, Attribute]) -> None:
    """Fill before every read and spill after every write of a spilled web."""
    for block in list(region.blocks):
        for op in list(block.ops):
            _fill_reads(block, op, webs, plan)
            if not any(webs.find(r) in plan.remat for r in op.results):
                _spill_writes(block, op, webs, plan, final_type)
        for arg in block.args:
            if webs.find(arg) in plan.slot:  # lives in its slot; the type is nominal
                regclass = regclass_of(arg)
                final_type[arg] = _register(regclass, (*plan.scratch[regclass], 0)[0])
    for op in plan.remat.values():  # every read now has its own copy
        op.detach()
        op.erase()


def _fill_reads(block: Block, op: Operation, webs: Webs, plan: SpillPlan) -> None:
    # Register reads are the leading operands of every siw op.
    count = len(instruction(op).register_uses())
    filled: dict[SSAValue, SSAValue] = {}
    used_scratch: dict[RegClass, int] = {}
    for index in range(count):
        value = op.operands[index]
        root = webs.find(value)
        if root not in plan.slot and root not in plan.remat:
            continue
        if value not in filled:
            regclass = regclass_of(value)
            which = used_scratch.get(regclass, 0)
            used_scratch[regclass] = which + 1
            scratch = [_register(regclass, plan.scratch_for(op, regclass)[which])]
            original = plan.remat.get(root)
            if original is not None:
                fill = SiwOp(original.mnemonic.data, (), original.immediates, scratch)
            else:
                fill = SiwOp(SPILL_CODE[regclass][0], (), (plan.slot[root],), scratch)
                plan.reloads[fill.res[0]] = value
            fill.location = op.location
            block.insert_op_before(fill, op)
            filled[value] = fill.res[0]
        op.operands[index] = filled[value]


def _spill_writes(block: Block, op: Operation, webs: Webs, plan: SpillPlan,
                  final_type: dict[SSAValue, Attribute]) -> None:
    for result in op.results:
        root = webs.find(result)
        if root not in plan.slot:
            continue
        regclass = regclass_of(result)
        final_type[result] = _register(regclass, plan.scratch_for(op, regclass)[0])
        _, spill_mnemonic, _ = SPILL_CODE[regclass]
        spill = SiwOp(spill_mnemonic, (result,), (plan.slot[root],))
        spill.location = op.location
        block.insert_op_after(spill, op)


def allocate_region(region: Region) -> AllocationResult:
    """Allocate every value of a kernel body in place."""
    webs = build_webs(region)
    values = all_values(region)
    liveness = compute_liveness(region)
    coalesce_copies(region, webs, liveness, values)
    value_ranges = live_ranges(region, liveness)
    pieces: dict[SSAValue, list[Interval]] = {}
    for value in values:
        root = webs.find(value)
        pieces.setdefault(root, []).extend(value_ranges.get(value, ()))
    web_intervals: dict[RegClass, dict[SSAValue, Ranges]] = {c: {} for c in RegClass}
    for root, parts in pieces.items():
        if parts:
            web_intervals[regclass_of(root)][root] = merge_ranges(parts)
    web_sizes: dict[SSAValue, int] = {}
    for value in values:
        root = webs.find(value)
        web_sizes[root] = web_sizes.get(root, 0) + 1
    weights = spill_weights(region, webs)
    hints = split_hints(region, webs, web_sizes)
    allocations = {c: allocate_class(region, c, web_intervals[c], webs, weights, hints)
                   for c in RegClass}
    slots: dict[SSAValue, int] = {}
    remat: dict[SSAValue, SiwOp] = {}
    words = 0
    for regclass, allocation in allocations.items():
        for root in allocation.spilled:
            definition = rematerializable(root, web_sizes[root])
            if definition is not None:
                remat[root] = definition
                continue
            slots[root] = words
            words += SPILL_CODE[regclass][2]
    plan = SpillPlan(slots, {c: a.scratch for c, a in allocations.items()}, words,
                     {(op, c): registers for c, a in allocations.items()
                      for op, registers in a.local_scratch.items()}, remat)

    final_type: dict[SSAValue, Attribute] = {}
    for value in values:
        root = webs.find(value)
        regclass = regclass_of(value)
        number = allocations[regclass].register.get(root)
        if number is not None:
            final_type[value] = _register(regclass, number)
    insert_spill_code(region, webs, plan, final_type)
    renamed: dict[SSAValue, SSAValue] = {}
    for value, new_type in final_type.items():
        if value.owner in remat.values():
            continue
        if value.type != new_type:
            renamed[value] = Rewriter.replace_value_with_new_type(value, new_type)
    reloads = {fill: renamed.get(v, v) for fill, v in plan.reloads.items()}
    return AllocationResult(words, reloads)


def allocate_kernel(kernel: FuncOp) -> AllocationResult:
    result = allocate_region(kernel.body)
    kernel.attributes[SPILL_WORDS_ATTR] = IntAttr(result.spill_words)
    return result


def allocate_module(module: ModuleOp) -> None:
    for op in module.ops:
        if isinstance(op, FuncOp):
            allocate_kernel(op)
