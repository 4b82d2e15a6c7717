"""Register renaming inside blocks after allocation (tiers 2-3, before list scheduling).

The allocator reuses a register as soon as its value dies, which is what keeps pressure
low, but every reuse inside a block is an anti or output dependence that pins the
scheduler to program order (two loads through one coordinate register cannot overlap).
This pass gives such a reused value a register of the same class that the block leaves
completely untouched and that is neither live into nor out of the block, so the
renamed value cannot collide with anything: only values that die inside the block are
renamed, and pressure never rises above the number of physical registers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from phextcc.backend.isa import OpInfo, RegClass, Role

Reg = tuple[RegClass, int]


class RenamableOp(Protocol):
    info: OpInfo
    args: list[int]


def _registers(op: RenamableOp, roles: tuple[Role, ...]) -> set[Reg]:
    return {(operand.kind.regclass, value)
            for operand, value in zip(op.info.operands, op.args)
            if operand.kind.regclass is not None and operand.role in roles}


_READ = (Role.USE, Role.USEDEF)
_WRITE = (Role.DEF, Role.USEDEF)


def block_liveness(blocks: Sequence[Sequence[RenamableOp]],
                   successors: Sequence[Sequence[int]]) -> tuple[list[set[Reg]], list[set[Reg]]]:
    """(live-in, live-out) physical registers of each block (iterative dataflow)."""
    uses: list[set[Reg]] = []
    defs: list[set[Reg]] = []
    for ops in blocks:
        used: set[Reg] = set()
        defined: set[Reg] = set()
        for op in ops:
            used |= _registers(op, _READ) - defined
            defined |= _registers(op, _WRITE)
        uses.append(used)
        defs.append(defined)
    live_in: list[set[Reg]] = [set() for _ in blocks]
    live_out: list[set[Reg]] = [set() for _ in blocks]
    changed = True
    while changed:
        changed = False
        for index in reversed(range(len(blocks))):
            out = set().union(*(live_in[s] for s in successors[index]))
            new_in = uses[index] | (out - defs[index])
            if out != live_out[index] or new_in != live_in[index]:
                live_out[index], live_in[index] = out, new_in
                changed = True
    return live_in, live_out


def _replace(op: RenamableOp, old: Reg, new: Reg, roles: tuple[Role, ...]) -> None:
    for position, operand in enumerate(op.info.operands):
        if (operand.kind.regclass is old[0] and op.args[position] == old[1]
                and operand.role in roles):
            op.args[position] = new[1]


def _pure_defs(op: RenamableOp) -> set[Reg]:
    return _registers(op, (Role.DEF,))


def rename_block(ops: Sequence[RenamableOp], live_in: set[Reg], live_out: set[Reg]) -> int:
    """Rename, in place, the values of ``ops`` written to a register the block already
    touched; returns how many values were renamed."""
    touched: set[Reg] = set(live_in) | set(live_out)
    for op in ops:
        touched |= _registers(op, _READ + _WRITE)
    free = {regclass: [n for n in range(regclass.count) if (regclass, n) not in touched]
            for regclass in RegClass}
    seen: set[Reg] = set(live_in)
    renamed = 0
    for position, op in enumerate(ops):
        for reg in sorted(_pure_defs(op), key=lambda r: (r[0].prefix, r[1])):
            if reg in seen and free[reg[0]] and _dies_in_block(ops, position, reg, live_out):
                target = (reg[0], free[reg[0]].pop(0))
                _rename_range(ops, position, reg, target)
                renamed += 1
        seen |= _registers(op, _READ + _WRITE)
    return renamed


def _dies_in_block(ops: Sequence[RenamableOp], start: int, reg: Reg, live_out: set[Reg]
                   ) -> bool:
    """The value ``ops[start]`` writes to ``reg`` is redefined later in the block or is
    not live out of it."""
    return reg not in live_out or any(reg in _pure_defs(op) for op in ops[start + 1:])


def _rename_range(ops: Sequence[RenamableOp], start: int, old: Reg, new: Reg) -> None:
    _replace(ops[start], old, new, (Role.DEF,))
    for op in ops[start + 1:]:
        redefined = old in _pure_defs(op)
        _replace(op, old, new, _READ)  # a tied USEDEF operand carries the value on
        if redefined:
            return
