"""Removal of the values instruction selection itself left unused.

Selection emits some values before it knows whether they will be read: the DCMP of a
compare that then fuses into a DBR, the index add of an access whose constant moved
into the access's immediate offset. Selection records such values as candidates; after
the kernel is selected, a candidate's defining op goes when none of its results is
read and its table row has no effect (a possible trap, a store, a message or a fence
always stays), and then so, by the same test, do the definitions of its operands.
Values the input itself never reads are left alone: removing them is the IR passes'
job, and -O0 keeps them.
"""

from __future__ import annotations

from collections.abc import Iterable

from xdsl.ir import Operation, SSAValue

from phextcc.backend.isa import Effect
from phextcc.ir.siw_dialect import SiwOp


def _removable(op: Operation) -> bool:
    if not op.results or any(result.uses for result in op.results):
        return False
    return isinstance(op, SiwOp) and op.info.effects == Effect.NONE


def remove_unused(candidates: Iterable[SSAValue]) -> int:
    """Erase the defining op of each unused candidate, and of the operands that leaves
    unused; returns how many ops went."""
    pending = list(candidates)
    removed = 0
    while pending:
        op = pending.pop().owner
        if not isinstance(op, Operation) or op.parent is None or not _removable(op):
            continue
        operands = list(op.operands)
        op.parent.erase_op(op)
        removed += 1
        pending.extend(operands)
    return removed
