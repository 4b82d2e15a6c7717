"""Register allocation for siw IR: linear scan (Poletto & Sarkar, TOPLAS 1999) with
spilling to the sentron's spill area, one register class at a time.

Units of allocation are *webs*: a block argument and every value passed to it, and
the two sides of a tied operand (CPACK's message), share one register, so block
arguments and ties emit no code. Instruction selection passes fresh copies along
CFG edges, which keeps webs free of internal interference (``regalloc_coalesce``
checks it); copy coalescing then merges a copy's source into the web where the two
never live at once. ``regalloc_check.check_allocation`` verifies the result independently.

Each web gets one covering interval (``liveness.live_intervals``). When a class runs
out of registers, the allocation of that class is redone with a few registers of
the class reserved as scratch: a spilled web lives in its own slot of the spill area
(r: 1 word, p: 2, m: 4), each read is preceded by a fill into a scratch register and
each write followed by a spill from one (SFILL/SSPILL, SFILLP/SSPILLP, SFILLM/SSPILLM).
The kernel's ``siw.spill_words`` attribute records the area's size. A spilled value
whose def reads no register and has no effect (a constant, DARG, DSYM, SBASE) is
recomputed before each read instead of being stored (rematerialisation).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from xdsl.dialects.builtin import IntAttr, ModuleOp
from xdsl.dialects.func import FuncOp
from xdsl.ir import Attribute, Block, Operation, Region, SSAValue
from xdsl.rewriter import Rewriter

from phextcc.backend.isa import Effect, RegClass
from phextcc.backend.liveness import Interval, compute_liveness, instruction, live_intervals
from phextcc.backend.regalloc_coalesce import Webs, coalesce_copies
from phextcc.ir.siw_dialect import REGISTER_TYPE_OF_CLASS, SiwOp, regclass_of, use_operands

SPILL_WORDS_ATTR = "siw.spill_words"

# Fill / spill mnemonics and slot size (8-byte words) per class.
SPILL_CODE: dict[RegClass, tuple[str, str, int]] = {
    RegClass.R: ("SFILL", "SSPILL", 1),
    RegClass.P: ("SFILLP", "SSPILLP", 2),
    RegClass.M: ("SFILLM", "SSPILLM", 4),
}


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
    scratch: tuple[int, ...] = ()


def linear_scan(intervals: dict[SSAValue, Interval], registers: Iterable[int]
                ) -> tuple[dict[SSAValue, int], list[SSAValue]]:
    """Poletto & Sarkar: on pressure, spill the live interval that ends last."""
    order = sorted(intervals, key=lambda w: (intervals[w].start, intervals[w].end))
    position = {web: i for i, web in enumerate(order)}
    # Free registers in the order they were freed (least recently freed first): a
    # register just released is not handed out again at once, so the ops around the
    # release do not get false dependences that keep the packer from overlapping them.
    free = deque(sorted(registers))
    capacity = len(free)
    active: list[SSAValue] = []  # sorted by interval end
    assigned: dict[SSAValue, int] = {}
    spilled: list[SSAValue] = []
    for web in order:
        current = intervals[web]
        while active and intervals[active[0]].end < current.start:
            expired = active.pop(0)
            free.append(assigned[expired])
        if len(active) < capacity:
            assigned[web] = free.popleft()
        else:
            victim = active[-1] if active else None
            if victim is not None and intervals[victim].end > current.end:
                assigned[web] = assigned.pop(victim)
                active.remove(victim)
                spilled.append(victim)
            else:
                spilled.append(web)
                continue
        active.append(web)
        active.sort(key=lambda w: (intervals[w].end, position[w]))
    spilled.sort(key=lambda w: position[w])
    return assigned, spilled


def scratch_needed(region: Region, regclass: RegClass) -> int:
    """Registers a spilling op may need at once: its distinct reads of the class."""
    most = 1
    for block in region.blocks:
        for op in block.ops:
            reads = {v for v in instruction(op).register_uses() if regclass_of(v) is regclass}
            most = max(most, len(reads))
    return most


def allocate_class(region: Region, regclass: RegClass,
                   intervals: dict[SSAValue, Interval]) -> ClassAllocation:
    everything = range(regclass.count)
    assigned, spilled = linear_scan(intervals, everything)
    if not spilled:
        return ClassAllocation(assigned)
    reserve = scratch_needed(region, regclass)
    if reserve >= regclass.count:
        raise RegisterAllocationError(f"no {regclass.prefix} registers left after scratch")
    scratch = tuple(range(regclass.count - reserve, regclass.count))
    assigned, spilled = linear_scan(intervals, range(regclass.count - reserve))
    return ClassAllocation(assigned, spilled, scratch)


def _register(regclass: RegClass, number: int) -> Attribute:
    return REGISTER_TYPE_OF_CLASS[regclass].from_index(number)


@dataclass
class SpillPlan:
    slot: dict[SSAValue, int]  # web root -> first word of its slot
    scratch: dict[RegClass, tuple[int, ...]]
    words: int
    # Spilled webs recomputed at each read instead (their def reads no register and
    # has no effect: DMOVI, DLDC, DARG, DSYM, SBASE, ...): web root -> defining op.
    remat: dict[SSAValue, SiwOp] = field(default_factory=dict)
    # Each fill's result -> the value it reloads (for the allocation checker).
    reloads: dict[SSAValue, SSAValue] = field(default_factory=dict)


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
                final_type[arg] = _register(regclass, plan.scratch[regclass][0])
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
            scratch = [_register(regclass, plan.scratch[regclass][which])]
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
        final_type[result] = _register(regclass, plan.scratch[regclass][0])
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
    value_intervals = live_intervals(region, liveness)
    web_intervals: dict[RegClass, dict[SSAValue, Interval]] = {c: {} for c in RegClass}
    for value in values:
        interval = value_intervals.get(value)
        if interval is None:
            continue
        root = webs.find(value)
        per_class = web_intervals[regclass_of(value)]
        per_class[root] = interval.hull(per_class[root]) if root in per_class else interval
    allocations = {c: allocate_class(region, c, web_intervals[c]) for c in RegClass}

    web_sizes: dict[SSAValue, int] = {}
    for value in values:
        root = webs.find(value)
        web_sizes[root] = web_sizes.get(root, 0) + 1
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
    plan = SpillPlan(slots, {c: a.scratch for c, a in allocations.items()}, words, remat)

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
