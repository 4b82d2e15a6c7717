"""An independent check of an allocated kernel: every read finds its value.

Abstract interpretation over the CFG: the state says which value (web) each register
and each spill slot holds. A write of value v to register R makes R hold v's web; a
spill copies a register's content to a slot, a fill the other way. At every register
read, R must hold exactly the web of the value read. Two simultaneously live values
sharing a register, a missing fill, a fill of the wrong slot or a spill that
overwrites a live slot all make some read fail. States merge at joins by keeping only
what all predecessors agree on.
"""

from __future__ import annotations

from xdsl.ir import Block, Operation, Region, SSAValue

from phextcc.backend.isa import Kind, RegClass
from phextcc.backend.liveness import instruction, successors
from phextcc.backend.regalloc import SPILL_CODE, build_webs
from phextcc.ir.siw_dialect import SiwOp, SiwRegisterType

Location = tuple[str, int]  # ("r", 3) for a register, ("slot", 5) for a spill word
State = dict[Location, SSAValue]

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
    def __init__(self, region: Region) -> None:
        self.region = region
        self.webs = build_webs(region)
        self.fill_content: dict[SSAValue, SSAValue | None] = {}

    def token(self, value: SSAValue) -> SSAValue | None:
        if value in self.fill_content:
            return self.fill_content[value]
        return self.webs.find(value)

    def step(self, op: Operation, state: State, check: bool) -> None:
        siw = instruction(op)
        if check:
            for value in siw.register_uses():
                held = state.get(register_of(value))
                if held is None or held is not self.token(value):
                    raise AllocationCheckError(
                        f"{op.name} {getattr(op, 'mnemonic', '')} reads {value} from "
                        f"{register_of(value)}, which does not hold it")
        mnemonic = op.mnemonic.data if isinstance(op, SiwOp) else ""
        if isinstance(op, SiwOp) and mnemonic in _SPILLS:
            words = _slot_words(_SPILLS[mnemonic], _slot_operand(op))
            content = state.get(register_of(op.args[0]))
            for word in words:
                state.pop(word, None)
            if content is not None:
                state[words[0]] = content
            return
        if isinstance(op, SiwOp) and mnemonic in _FILLS:
            words = _slot_words(_FILLS[mnemonic], _slot_operand(op))
            content = state.get(words[0])
            self.fill_content[op.res[0]] = content
            if content is None:
                state.pop(register_of(op.res[0]), None)
            else:
                state[register_of(op.res[0])] = content
            return
        for value in siw.register_defs():
            token = self.token(value)
            assert token is not None
            state[register_of(value)] = token

    def run(self) -> None:
        blocks = list(self.region.blocks)
        entry_state: dict[Block, State | None] = {b: None for b in blocks}
        entry_state[blocks[0]] = {}
        work = [blocks[0]]
        while work:
            block = work.pop()
            state = dict(entry_state[block] or {})
            for op in block.ops:
                self.step(op, state, check=False)
            for succ in successors(block):
                before = entry_state[succ]
                merged = dict(state) if before is None else {
                    k: v for k, v in before.items() if state.get(k) is v}
                if before is None or merged != before:
                    entry_state[succ] = merged
                    work.append(succ)
        for block in blocks:
            if entry_state[block] is None:
                continue  # unreachable
            state = dict(entry_state[block] or {})
            for op in block.ops:
                self.step(op, state, check=True)


def check_allocation(region: Region) -> None:
    """Raise ``AllocationCheckError`` unless every register read gets its value."""
    _Checker(region).run()
