"""`phx-canonicalize`: xDSL's canonicalisation, made safe for phextcc's semantics.

xDSL's patterns and folders are reused as they are, except its float constant folder,
and its dead-op removal, which would delete an unused op that may trap (see traps.py);
which computes in Python doubles (a NaN comes out with another sign or payload than the
machine produces, and an f32 overflow crashes the fold). phextcc adds:

- float folding in the op's own precision (numpy), only when the result is not a NaN,
  so a folded value is bit-for-bit what the machine computes;
- `arith.divsi` / `arith.remsi` of constants, truncating toward zero, INT_MIN / -1 =
  INT_MIN, and `x % 1 = 0`; never when the divisor is 0 (that division must trap at
  run time);
- reassociation of constant offsets in integer index arithmetic:
  `(x + c1) + c2 -> x + (c1 + c2)` (exact: integer adds wrap, so any grouping agrees).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from xdsl.context import Context
from xdsl.dialects import arith, builtin
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, IntegerType
from xdsl.ir import Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.pattern_rewriter import (
    GreedyRewritePatternApplier,
    PatternRewriter,
    PatternRewriteWalker,
    RewritePattern,
    op_type_rewrite_pattern,
)
from xdsl.traits import HasCanonicalizationPatternsTrait
from xdsl.transforms.canonicalization_patterns import arith as xdsl_arith_patterns
from xdsl.transforms.dead_code_elimination import is_trivially_dead

from phextcc.passes.dce import trap_aware_region_dce
from phextcc.passes.traps import contains_trap

# xDSL patterns that may change a float result; replaced by FoldFloatConstants below.
UNSAFE_XDSL_PATTERNS: frozenset[type[RewritePattern]] = frozenset(
    (
        xdsl_arith_patterns.FoldConstConstOp,
        xdsl_arith_patterns.FoldConstsByReassociation,
        xdsl_arith_patterns.SelectFoldCmpfPattern,
    )
)

FLOAT_DTYPES: dict[type, type[np.floating]] = {
    builtin.Float32Type: np.float32,
    builtin.Float64Type: np.float64,
}

FLOAT_FOLDS: dict[type[Operation], Callable[[np.floating, np.floating], np.floating]] = {
    arith.AddfOp: lambda a, b: a + b,
    arith.SubfOp: lambda a, b: a - b,
    arith.MulfOp: lambda a, b: a * b,
    arith.DivfOp: lambda a, b: a / b,
}


class EraseDeadNonTrappingOps(RewritePattern):
    """The greedy driver's own dead-op removal, minus ops that may trap."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        if op.parent is not None and is_trivially_dead(op) and not contains_trap(op):
            rewriter.erase(op)


class SafeCanonicalizationPattern(RewritePattern):
    """Every canonicalisation pattern an op's traits offer, minus the unsafe ones."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        patterns = [
            pattern
            for trait in op.get_traits_of_type(HasCanonicalizationPatternsTrait)
            for pattern in trait.get_patterns(type(op))
            if type(pattern) not in UNSAFE_XDSL_PATTERNS
        ]
        if patterns:
            GreedyRewritePatternApplier(patterns, dce_enabled=False).match_and_rewrite(op, rewriter)


def constant_of(value: SSAValue) -> IntegerAttr | FloatAttr | None:
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr | FloatAttr):
        return owner.value
    return None


def int_constant(value: SSAValue) -> int | None:
    attr = constant_of(value)
    if isinstance(attr, IntegerAttr) and isinstance(attr.type, IntegerType):
        return attr.value.data
    return None


def wrap(value: int, width: int) -> int:
    """Two's complement wrap of `value` to a signed `width`-bit integer."""
    value &= (1 << width) - 1
    return value - (1 << width) if value >> (width - 1) else value


class FoldFloatConstants(RewritePattern):
    """addf/subf/mulf/divf of two constants, in the op's precision, unless it is a NaN."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        fold = FLOAT_FOLDS.get(type(op))
        if fold is None:
            return
        lhs, rhs = constant_of(op.operands[0]), constant_of(op.operands[1])
        dtype = FLOAT_DTYPES.get(type(op.results[0].type))
        if not (isinstance(lhs, FloatAttr) and isinstance(rhs, FloatAttr)) or dtype is None:
            return
        with np.errstate(all="ignore"):
            result = fold(dtype(lhs.value.data), dtype(rhs.value.data))
        if np.isnan(result):
            return  # the machine's NaN sign and payload are its own business
        rewriter.replace(op, arith.ConstantOp(FloatAttr(float(result), op.results[0].type)))


def truncating_division(lhs: int, rhs: int, width: int) -> tuple[int, int]:
    """(quotient, remainder) with the vTPU's rules; `rhs` is never 0 here."""
    quotient = abs(lhs) // abs(rhs)
    if (lhs < 0) != (rhs < 0):
        quotient = -quotient
    return wrap(quotient, width), wrap(lhs - quotient * rhs, width)


class FoldIntegerDivision(RewritePattern):
    """divsi/remsi of two constants with a non-zero divisor."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.DivSIOp | arith.RemSIOp, rewriter: PatternRewriter,
                          /) -> None:
        lhs, rhs = int_constant(op.lhs), int_constant(op.rhs)
        result_type = op.result.type
        if lhs is None or rhs is None or rhs == 0 or not isinstance(result_type, IntegerType):
            return
        quotient, remainder = truncating_division(lhs, rhs, result_type.width.data)
        value = quotient if isinstance(op, arith.DivSIOp) else remainder
        rewriter.replace(op, arith.ConstantOp.from_int_and_width(value, result_type))


# Sign with which the constant operand of an add/sub counts in the combined offset.
OFFSET_SIGN: dict[type[Operation], int] = {arith.AddiOp: 1, arith.SubiOp: -1}


def constant_offset(op: Operation | None) -> tuple[SSAValue, int] | None:
    """`x + c` or `x - c` as (x, +-c); constants on the left only for additions."""
    sign = OFFSET_SIGN.get(type(op))
    if op is None or sign is None:
        return None
    lhs, rhs = op.operands
    if (c := int_constant(rhs)) is not None and int_constant(lhs) is None:
        return lhs, sign * c
    if sign == 1 and (c := int_constant(lhs)) is not None and int_constant(rhs) is None:
        return rhs, c
    return None


class ReassociateConstantOffsets(RewritePattern):
    """`(x +- c1) +- c2` -> `x + (c2 +- c1)`, so `i + 1 - 1` becomes `i`."""

    def match_and_rewrite(self, op: Operation, rewriter: PatternRewriter, /) -> None:
        outer = constant_offset(op)
        if outer is None or not isinstance(op.results[0].type, IntegerType):
            return
        inner_value, outer_offset = outer
        inner = constant_offset(inner_value.owner if isinstance(inner_value.owner, Operation)
                                else None)
        if inner is None:
            return
        base, inner_offset = inner
        width = op.results[0].type.width.data
        offset = wrap(inner_offset + outer_offset, width)
        if offset == 0:
            rewriter.replace(op, (), (base,))
            return
        constant = arith.ConstantOp.from_int_and_width(offset, op.results[0].type)
        rewriter.replace(op, [constant, arith.AddiOp(base, constant.result)])


class RemainderByUnit(RewritePattern):
    """`x % 1` and `x % -1` are 0 for every x (INT_MIN % -1 = 0 on the vTPU too)."""

    @op_type_rewrite_pattern
    def match_and_rewrite(self, op: arith.RemSIOp, rewriter: PatternRewriter, /) -> None:
        if int_constant(op.rhs) in (1, -1) and isinstance(op.result.type, IntegerType):
            rewriter.replace(op, arith.ConstantOp.from_int_and_width(0, op.result.type))


PHEXTCC_PATTERNS: tuple[RewritePattern, ...] = (
    FoldFloatConstants(),
    FoldIntegerDivision(),
    RemainderByUnit(),
    ReassociateConstantOffsets(),
)


@dataclass(frozen=True)
class PhxCanonicalizePass(ModulePass):
    """Canonicalise and constant-fold with phextcc's arithmetic semantics."""

    name = "phx-canonicalize"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        applier = GreedyRewritePatternApplier(
            [EraseDeadNonTrappingOps(), SafeCanonicalizationPattern(), *PHEXTCC_PATTERNS],
            ctx=ctx, folding_enabled=True, dce_enabled=False,
        )
        PatternRewriteWalker(applier, post_walk_func=trap_aware_region_dce).rewrite_module(op)
