"""An independent check of an allocated kernel: every read finds its value.

Abstract interpretation over the CFG, knowing nothing of how allocation worked: the
state says which SSA values each register and each spill slot holds (a set: after a
copy, or a spill and a fill, one location holds several equal values). A write of v
makes its register hold v alone; a copy makes the destination hold what the source
held plus the copy; a spill copies a register's set to a slot, a fill back; along a
CFG edge, every location holding a passed value also holds the block argument it is
passed to. At every register read, the register must hold the value read. Two live
values sharing a register, a block argument overwritten before its last read (the
"lost copy"), a missing fill or a spill over a live slot all make some read fail;
with the allocator's ``reloads`` record (fill result -> value it stands for) a fill
from the wrong slot does too. States merge at joins by intersection.
"""

from __future__ import annotations

from collections.abc import Mapping

from xdsl.ir import Block, Operation, Region, SSAValue

from phextcc.backend.isa import BY_MNEMONIC, COPY_FAMILIES, Kind, RegClass
from phextcc.backend.liveness import instruction, successors
from phextcc.backend.regalloc import SPILL_CODE
from phextcc.ir.siw_dialect import SiwOp, SiwRegisterType

Location = tuple[str, int]  # ("r", 3) for a register, ("slot", 5) for a spill word
State = dict[Location, frozenset[SSAValue]]

_FILLS = {fill: regclass for regclass, (fill, _, _) in SPILL_CODE.items()}
_SPILLS = {spill: regclass for regclass, (_, spill, _) in SPILL_CODE.items()}


class AllocationCheckError(Exception):
    pass


def register_of(value: SSAValue) -> Location:
    reg_type = value.type
    if not isinstance(reg_type, SiwRegisterType) or not reg_type.is_allocated:
        raise AllocationCheckError(f"{value} has no allocated register")
    return (reg_type.regclass.prefix, reg_type.number)


def _slot_words(regclass: RegClass, first: int) -> list[Location]:
    return [("slot", first + k) for k in range(SPILL_CODE[regclass][2])]


def _slot_operand(op: SiwOp) -> int:
    slots = [o for o in op.info.operands if o.kind is Kind.SLOT]
    assert len(slots) == 1
    return op.immediates[0]


class _Checker:
    def __init__(self, region: Region, reloads: Mapping[SSAValue, SSAValue]) -> None:
        self.region = region
        self.reloads = reloads

    def check_reads(self, op: Operation, state: State) -> None:
        for value in instruction(op).register_uses():
            if value not in state.get(register_of(value), frozenset()):
                raise AllocationCheckError(
                    f"{op.name} {getattr(op, 'mnemonic', '')} reads {value} from "
                    f"{register_of(value)}, which does not hold it")

    def step(self, op: Operation, state: State) -> None:
        mnemonic = op.mnemonic.data if isinstance(op, SiwOp) else ""
        if isinstance(op, SiwOp) and mnemonic in _SPILLS:
            content = state.get(register_of(op.args[0]), frozenset())
            first, *rest = _slot_words(_SPILLS[mnemonic], _slot_operand(op))
            state[first] = content
            for word in rest:
                state.pop(word, None)
            return
        if isinstance(op, SiwOp) and mnemonic in _FILLS:
            first = _slot_words(_FILLS[mnemonic], _slot_operand(op))[0]
            content = state.get(first, frozenset())
            target = op.res[0]
            # The fill stands for the value it reloads only if the slot holds that value.
            origin = self.reloads.get(target)
            holds = origin is None or origin in content
            state[register_of(target)] = content | {target} if holds else content
            return
        if isinstance(op, SiwOp) and BY_MNEMONIC[mnemonic].family in COPY_FAMILIES:
            source = state.get(register_of(op.args[0]), frozenset())
            state[register_of(op.res[0])] = source | {op.res[0]}
            return
        for value in instruction(op).register_defs():
            state[register_of(value)] = frozenset({value})

    @staticmethod
    def along_edge(state: State, target: Block, passed: tuple[SSAValue, ...]) -> State:
        """Entering ``target``: wherever a passed value is, its block argument is too."""
        entered = dict(state)
        for arg, value in zip(target.args, passed):
            for location, values in state.items():
                if value in values:
                    entered[location] = entered[location] | {arg}
        return entered

    def run(self) -> None:
        blocks = list(self.region.blocks)
        for block in blocks:  # every value, block arguments included, has a register
            for value in (*block.args, *(r for op in block.ops for r in op.results)):
                register_of(value)
        entry_state: dict[Block, State | None] = {b: None for b in blocks}
        entry_state[blocks[0]] = {}
        work = [blocks[0]]
        while work:
            block = work.pop()
            state = dict(entry_state[block] or {})
            for op in block.ops:
                self.step(op, state)
            last = block.last_op
            assert last is not None
            for succ, passed in instruction(last).successor_arguments() or (
                    (s, ()) for s in successors(block)):
                leaving = self.along_edge(state, succ, passed)
                before = entry_state[succ]
                merged = leaving if before is None else {
                    k: v & leaving[k] for k, v in before.items() if k in leaving}
                if before is None or merged != before:
                    entry_state[succ] = merged
                    work.append(succ)
        for block in blocks:
            if entry_state[block] is None:
                continue  # unreachable
            state = dict(entry_state[block] or {})
            for op in block.ops:
                self.check_reads(op, state)
                self.step(op, state)


def check_allocation(region: Region, reloads: Mapping[SSAValue, SSAValue] | None = None
                     ) -> None:
    """Raise ``AllocationCheckError`` unless every register read gets its value.

    ``reloads`` (from ``regalloc.allocate_region``) says which value each fill
    reloads; without it a fill is trusted to load whatever its slot holds."""
    _Checker(region, reloads or {}).run()
