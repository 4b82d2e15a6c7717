"""Which ops may raise a runtime error, and so must run even when their result is
unused: in phextcc an integer division by zero and an out-of-range index are defined
runtime errors, not undefined behaviour, so deleting such an op changes the program.

xDSL's generic dead-code elimination (used by its dce, cse and canonicalize) deletes
any unused op without write effects, which includes a `phx.load` and an
`arith.divsi`; phextcc's versions of those passes consult `may_trap` first.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects import arith
from xdsl.dialects.builtin import IntegerAttr
from xdsl.ir import Operation, SSAValue

from phextcc.ir import phx_dialect as phx


def nonzero_constant(value: SSAValue) -> bool:
    owner = value.owner
    return (isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr)
            and owner.value.value.data != 0)


def _checked_access(op: phx.LoadOp | phx.StoreOp) -> bool:
    return op.in_bounds is None


def _division(op: arith.DivSIOp | arith.RemSIOp) -> bool:
    return not nonzero_constant(op.rhs)


TRAP_RULES: dict[type[Operation], Callable[[Operation], bool]] = {
    phx.LoadOp: _checked_access,  # type: ignore[dict-item]
    phx.StoreOp: _checked_access,  # type: ignore[dict-item]
    arith.DivSIOp: _division,  # type: ignore[dict-item]
    arith.RemSIOp: _division,  # type: ignore[dict-item]
}


def may_trap(op: Operation) -> bool:
    """True when running `op` may end the program with a runtime error."""
    rule = TRAP_RULES.get(type(op))
    return rule is not None and rule(op)


def contains_trap(op: Operation) -> bool:
    """`op` or an op nested in its regions may trap."""
    return any(may_trap(inner) for inner in op.walk())
