"""`prove-in-bounds`: mark element accesses whose every index is provably in range.

A `phx.load` / `phx.store` gets the `in_bounds` unit attribute (so instruction selection
drops its run-time `DCHK`s) only when, for every axis, `0 <= index <= extent - 1` holds
for every value the shape symbols may take. Values are bounded by intervals whose ends
are affine forms in the shape symbols (`2 * N - 1`, `H - 2`, `5`), a few per end (the
upper end of `min(i0 + 16, M)` is both `i0 + 16` and `M`); a form is known non-negative
when its constant and all its coefficients are (symbols are >= 0, and may be 0).

Why loop bounds give facts: an op in the body of `scf.for %i = %lb to %ub step %s` only
runs while `lb <= i < ub`, so inside it `i` lies in [lower(lb), upper(ub) - 1], even when
the loop may run zero times (then nothing inside runs, and nothing needs to be in range).
Induction variables never wrap on the way: with step 1, `i + 1 <= ub`; with a larger
constant step we require the bound's affine form, whose value is small (see
SYMBOL_LIMIT). Anything not understood (loaded values, while-loop arguments, iter_args)
has no interval, and accesses using it keep their checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, builtin, scf
from xdsl.dialects.builtin import IntegerAttr, UnitAttr
from xdsl.ir import BlockArgument, Operation, SSAValue
from xdsl.passes import ModulePass

from phextcc.ir import phx_dialect as phx

# Shape symbols are extents of tensors that exist in memory, far below this; with the
# limits on constants and coefficients below, no interval end can wrap an i64.
SYMBOL_LIMIT = 1 << 48
MAX_CONSTANT = 1 << 56
MAX_COEFFICIENT = 64


@dataclass(frozen=True)
class Affine:
    """constant + sum(coefficient * symbol), symbols named by their shape symbol."""

    constant: int
    terms: tuple[tuple[str, int], ...] = ()

    @staticmethod
    def symbol(name: str) -> Affine:
        return Affine(0, ((name, 1),))

    def __add__(self, other: Affine) -> Affine:
        coefficients = dict(self.terms)
        for name, coefficient in other.terms:
            coefficients[name] = coefficients.get(name, 0) + coefficient
        terms = tuple(sorted((n, c) for n, c in coefficients.items() if c != 0))
        return Affine(self.constant + other.constant, terms)

    def scaled(self, factor: int) -> Affine:
        return Affine(self.constant * factor, tuple((n, c * factor) for n, c in self.terms))

    def __sub__(self, other: Affine) -> Affine:
        return self + other.scaled(-1)

    def is_small(self) -> bool:
        """Every value it takes fits an i64 with room to spare (no wrap in + and -)."""
        return abs(self.constant) < MAX_CONSTANT and all(
            abs(c) <= MAX_COEFFICIENT for _, c in self.terms
        ) and len(self.terms) <= 8

    def never_negative(self) -> bool:
        return self.constant >= 0 and all(c >= 0 for _, c in self.terms)


# Each end of an interval is a few affine forms, any of which bounds the value: `min(a,
# b)` is below both upper bounds, and which one helps depends on the access.
MAX_FORMS = 4
Forms = tuple[Affine, ...]


@dataclass(frozen=True)
class Interval:
    """The value is >= every form in `lower` and <= every form in `upper`."""

    lower: Forms
    upper: Forms

    @staticmethod
    def exactly(value: Affine) -> Interval:
        return Interval((value,), (value,))

    def is_small(self) -> bool:
        return all(form.is_small() for form in (*self.lower, *self.upper))


def _pairwise(left: Forms, right: Forms, combine: Callable[[Affine, Affine], Affine]) -> Forms:
    return tuple(combine(a, b) for a in left for b in right)[:MAX_FORMS]


def scale_interval(interval: Interval, factor: int) -> Interval:
    low = tuple(form.scaled(factor) for form in interval.lower)
    high = tuple(form.scaled(factor) for form in interval.upper)
    return Interval(low, high) if factor >= 0 else Interval(high, low)


def _known_le(small: Affine, big: Affine) -> bool:
    return (big - small).never_negative()


def _tightest_lower_of_min(left: Forms, right: Forms) -> Forms:
    """Lower bounds of min(a, b): for la <= a and lb <= b, min(la, lb) when comparable."""
    forms = []
    for a in left:
        for b in right:
            if _known_le(a, b):
                forms.append(a)
            elif _known_le(b, a):
                forms.append(b)
    return tuple(forms)[:MAX_FORMS]


def _negate(forms: Forms) -> Forms:
    return tuple(form.scaled(-1) for form in forms)


class RangeAnalysis:
    """Intervals of i64 values, computed on demand and memoised."""

    def __init__(self) -> None:
        self.known: dict[SSAValue, Interval | None] = {}

    def interval(self, value: SSAValue) -> Interval | None:
        if value not in self.known:
            self.known[value] = None  # cycles (loop-carried values) stay unknown
            result = self._compute(value)
            if result is not None and not result.is_small():
                result = None
            self.known[value] = result
        return self.known[value]

    def _compute(self, value: SSAValue) -> Interval | None:
        if isinstance(value, BlockArgument):
            return self._block_argument(value)
        rule = OP_RULES.get(type(value.owner))
        return rule(self, value.owner) if rule is not None else None  # type: ignore[arg-type]

    def _block_argument(self, value: BlockArgument) -> Interval | None:
        loop = value.block.parent_op()
        if not isinstance(loop, scf.ForOp) or value.index != 0:
            return None
        lower, upper = self.interval(loop.lb), self.interval(loop.ub)
        if lower is None or upper is None:
            return None
        # `scf.for` runs only with a positive step (the lowering guards a step known
        # at run time with `scf.if step > 0`), so lb <= i <= ub - 1 whatever its size.
        step = constant_int(loop.step)
        if step is not None and not 0 < step < MAX_CONSTANT:
            return None
        return Interval(lower.lower, tuple(form - Affine(1) for form in upper.upper))


def constant_int(value: SSAValue) -> int | None:
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, IntegerAttr):
        return owner.value.value.data
    return None


def _constant(analysis: RangeAnalysis, op: arith.ConstantOp) -> Interval | None:
    value = constant_int(op.result)
    return Interval.exactly(Affine(value)) if value is not None else None


def _symbol(analysis: RangeAnalysis, op: phx.SymOp) -> Interval | None:
    return Interval.exactly(Affine.symbol(op.symbol.data))


def _sentron_id(analysis: RangeAnalysis, op: phx.SentronIdOp) -> Interval | None:
    """A sentron's number is at least 0 (and below the sentron count)."""
    return Interval((Affine(0),), ())


def _sentron_count(analysis: RangeAnalysis, op: phx.NumSentronsOp) -> Interval | None:
    return Interval((Affine(1),), ())


def _add(analysis: RangeAnalysis, op: arith.AddiOp) -> Interval | None:
    lhs, rhs = analysis.interval(op.lhs), analysis.interval(op.rhs)
    if lhs is None or rhs is None:
        return None
    return Interval(_pairwise(lhs.lower, rhs.lower, Affine.__add__),
                    _pairwise(lhs.upper, rhs.upper, Affine.__add__))


def _subtract(analysis: RangeAnalysis, op: arith.SubiOp) -> Interval | None:
    lhs, rhs = analysis.interval(op.lhs), analysis.interval(op.rhs)
    if lhs is None or rhs is None:
        return None
    return Interval(_pairwise(lhs.lower, rhs.upper, Affine.__sub__),
                    _pairwise(lhs.upper, rhs.lower, Affine.__sub__))


def _minimum(analysis: RangeAnalysis, op: arith.MinSIOp) -> Interval | None:
    lhs, rhs = analysis.interval(op.lhs), analysis.interval(op.rhs)
    if lhs is None or rhs is None:
        return None
    return Interval(_tightest_lower_of_min(lhs.lower, rhs.lower),
                    (*lhs.upper, *rhs.upper)[:MAX_FORMS])


def _maximum(analysis: RangeAnalysis, op: arith.MaxSIOp) -> Interval | None:
    """max(a, b) = -min(-a, -b)."""
    lhs, rhs = analysis.interval(op.lhs), analysis.interval(op.rhs)
    if lhs is None or rhs is None:
        return None
    upper = _negate(_tightest_lower_of_min(_negate(lhs.upper), _negate(rhs.upper)))
    return Interval((*lhs.lower, *rhs.lower)[:MAX_FORMS], upper)


def _multiply(analysis: RangeAnalysis, op: arith.MuliOp) -> Interval | None:
    for factor_value, other in ((op.rhs, op.lhs), (op.lhs, op.rhs)):
        factor = constant_int(factor_value)
        interval = analysis.interval(other)
        if factor is not None and interval is not None and abs(factor) <= MAX_COEFFICIENT:
            return scale_interval(interval, factor)
    return None


def _remainder(analysis: RangeAnalysis, op: arith.RemSIOp) -> Interval | None:
    """x % c with x >= 0 and a constant c > 0 lies in [0, c - 1] (and below x)."""
    divisor = constant_int(op.rhs)
    dividend = analysis.interval(op.lhs)
    if divisor is None or divisor <= 0 or dividend is None:
        return None
    if not any(form.never_negative() for form in dividend.lower):
        return None
    return Interval((Affine(0),), (Affine(divisor - 1), *dividend.upper)[:MAX_FORMS])


OP_RULES: dict[type[Operation], Callable[[RangeAnalysis, Operation], Interval | None]] = {
    arith.ConstantOp: _constant,  # type: ignore[dict-item]
    phx.SymOp: _symbol,  # type: ignore[dict-item]
    phx.SentronIdOp: _sentron_id,  # type: ignore[dict-item]
    phx.NumSentronsOp: _sentron_count,  # type: ignore[dict-item]
    arith.AddiOp: _add,  # type: ignore[dict-item]
    arith.SubiOp: _subtract,  # type: ignore[dict-item]
    arith.MuliOp: _multiply,  # type: ignore[dict-item]
    arith.RemSIOp: _remainder,  # type: ignore[dict-item]
    arith.MinSIOp: _minimum,  # type: ignore[dict-item]
    arith.MaxSIOp: _maximum,  # type: ignore[dict-item]
}

ACCESS_OPS: tuple[type[Operation], ...] = (phx.LoadOp, phx.StoreOp)


def extent_form(extent: int | str) -> Affine:
    return Affine(extent) if isinstance(extent, int) else Affine.symbol(extent)


def index_in_range(analysis: RangeAnalysis, index: SSAValue, extent: int | str) -> bool:
    interval = analysis.interval(index)
    if interval is None:
        return False
    last = extent_form(extent) - Affine(1)
    return any(form.never_negative() for form in interval.lower) and any(
        _known_le(form, last) for form in interval.upper
    )


def access_in_bounds(analysis: RangeAnalysis, op: phx.LoadOp | phx.StoreOp) -> bool:
    tensor_type = op.tensor.type
    assert isinstance(tensor_type, phx.TensorType)
    return all(
        index_in_range(analysis, index, extent)
        for index, extent in zip(op.indices, tensor_type.extents, strict=True)
    )


@dataclass(frozen=True)
class ProveInBoundsPass(ModulePass):
    """Set `in_bounds` on every load and store whose indices are proven in range."""

    name = "prove-in-bounds"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        analysis = RangeAnalysis()
        for access in op.walk():
            if isinstance(access, ACCESS_OPS) and access.in_bounds is None \
                    and access_in_bounds(analysis, access):
                access.in_bounds = UnitAttr()
