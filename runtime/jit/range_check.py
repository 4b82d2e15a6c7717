"""The dispatch of a versioned loop: the i1 "every proven op stays in range at every
iteration", evaluated once per entry of the loop from the register values there.

It runs once per entry (once per row of an embedding bag), and every instruction it adds
there is one fewer row whose loads the CPU overlaps, so it is kept small and in i64:
magnitude bounds checked first make all later arithmetic exact in i64.

- The counter ``c(k) = a + s*k`` and the bound n: |a|, |n| <= 2^60 and 1 <= s <= 2^28
  (s mirrored for gt/ge loops). The loop goes on while ``c(k) < n`` (``<=``: n + 1), so
  the exit test first fails at k* = 0 if n - a <= 0, else ceil((n - a) / s); k* <= 2^31
  is required. Words up to the exit test run for k = 0..k*, words after it for
  k = 0..k*-1.
- Every affine value ``A + B*k`` an access or DCHK reads: |A| <= 2^58, |B| <= 2^28, so
  at every k <= k* it is below 2^60 in magnitude: it is the register's exact value (the
  polynomial holds modulo 2^64, and nothing wrapped), and up to four of them plus an
  offset below 2^59 add up exactly in i64 (``versioning.provable_access``).
- An access's element offsets ``start + sum(addends) + c + k * sum(steps)`` are linear
  in (c, k): inside ``[0, numel)`` (unsigned compares, tensors up to 2^61 elements) at
  the corners of the (offset, k) box means inside everywhere; with the sign of the slope
  known (a constant, or the counter's own slope), the two extreme corners suffice.
  ``start`` (a p register's entry value minus the tensor's base) is checked in i128 once.
- Accesses (and DCHKs) that differ only in a constant offset are checked as one group.
  So are accesses whose addresses differ by ``c*M + d`` in one addend, with M one
  invariant monomial and c, d constants: the copies an unrolled strided loop makes
  (``b[(p + c)*N + j]``). The group is checked at its two virtual extremes
  ``R + c_lo*M + d_min`` and ``R + c_hi*M + d_max`` (c_lo, c_hi the smaller and larger
  of ``c_min*M``, ``c_max*M``, chosen by the sign of M at run time), with |M| <= 2^40,
  |c| <= 2^16 and |d| <= 2^40: every member's addend then lies between the two in
  exact integers, so both within 2^58 bounds all of them, and the member addresses
  lie inside the box of the extremes' corners.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from llvmlite import ir

from phextcc.backend.isa import OFFSET_BITS, Cond
from runtime.jit.affine import (
    ARGUMENT,
    ENTRY,
    SPILLED,
    SYMBOL,
    Affine,
    Monomial,
    Poly,
    signed,
)
from runtime.jit.irtypes import I1, I64, I128
from runtime.jit.versioning import (
    ProvenAccess,
    ProvenIndex,
    VersionedLoop,
    access_constant,
    index_constant,
)

if TYPE_CHECKING:
    from runtime.jit.translate import KernelTranslator

# Bounds that make the i64 arithmetic exact: |B * k| <= 2^59 for every slope and count,
# |A + B*k| < 2^60, and an offset start (< numel <= 2^61) plus MAX_TERMS such terms plus
# a constant offset (<= 2^59) stays below 2^63.
COUNTER_LIMIT = 1 << 60  # |a|, |n|
STEP_LIMIT = 1 << 28  # s, |B| of every value, |step| of a coordinate
TRIP_LIMIT = 1 << 31  # k*
BASE_LIMIT = 1 << 58  # |A| of every value
NUMEL_LIMIT = 1 << 61  # elements of a tensor reached by a proven access
# A family of accesses (``c*M + d`` apart in one addend): |M|, |c| and |d| bounds.
FAMILY_MONOMIAL_LIMIT = 1 << 40
FAMILY_FACTOR_LIMIT = 1 << 16
FAMILY_SHIFT_LIMIT = 1 << 40


def _without_constant(poly: Poly) -> Poly:
    return Poly(tuple((m, c) for m, c in poly.terms if m != ()))


class RangeCheck:
    """Emits the dispatch condition of one loop at the builder's position."""

    def __init__(self, tr: KernelTranslator, loop: VersionedLoop) -> None:
        self.tr = tr
        self.loop = loop
        self.b = tr.builder
        self.monomials: dict[Monomial, ir.Value] = {}
        self.polys: dict[Poly, ir.Value] = {}
        self.bounded: dict[tuple[Poly, int], ir.Value] = {}
        self.true: ir.Value = ir.Constant(I1, 1)

    # -- values -------------------------------------------------------------
    def atom(self, kind: str, number: int) -> ir.Value:
        if kind == ENTRY:
            return self.tr.read_r(number)
        if kind == SYMBOL:
            return self.tr.symbols[number]
        if kind == SPILLED:
            return self.b.load(self.tr.spill_slot(number), typ=I64)
        assert kind == ARGUMENT
        return self.tr.scalar_bits[number]

    def poly(self, poly: Poly) -> ir.Value:
        """The polynomial in i64 (wrapping, as the registers do)."""
        if poly in self.polys:
            return self.polys[poly]
        b = self.b
        total: ir.Value = ir.Constant(I64, 0)
        for monomial, coeff in poly.terms:
            term = self.monomials.get(monomial)
            if term is None:
                term = ir.Constant(I64, 1)
                for kind, number in monomial:
                    term = b.mul(term, self.atom(kind, number))
                self.monomials[monomial] = term
            total = b.add(total, b.mul(term, ir.Constant(I64, signed(coeff, 64))))
        self.polys[poly] = total
        return total

    def i64(self, value: int) -> ir.Constant:
        return ir.Constant(I64, value)

    def within(self, poly: Poly, limit: int) -> ir.Value:
        """|poly| <= limit (as an i64 value), remembered per polynomial."""
        constant = poly.constant
        if constant is not None:
            return ir.Constant(I1, int(abs(constant) <= limit))
        key = (poly, limit)
        if key not in self.bounded:
            self.bounded[key] = self.within_value(self.poly(poly), limit)
        return self.bounded[key]

    def sign(self, poly: Poly) -> int | None:
        """The sign of ``poly`` when known before run time: a constant, or the counter's
        slope (the dispatch requires it positive for lt/le, negative for gt/ge)."""
        value = poly.constant
        if value is not None:
            return (value > 0) - (value < 0)
        if poly == self.loop.counter.slope:
            return -1 if self.loop.cond in (Cond.GT, Cond.GE) else 1
        return None

    # -- the condition ------------------------------------------------------
    def emit(self) -> ir.Value:
        b, loop = self.b, self.loop
        counter = loop.counter
        ok = b.and_(self.within(counter.base, COUNTER_LIMIT),
                    self.within(loop.bound, COUNTER_LIMIT))
        ok = b.and_(ok, self.within(counter.slope, STEP_LIMIT))
        start, slope, bound = (self.poly(counter.base), self.poly(counter.slope),
                               self.poly(loop.bound))
        if loop.cond in (Cond.GT, Cond.GE):  # mirror: go on while -c(k) < -n (or <=)
            start, slope, bound = b.neg(start), b.neg(slope), b.neg(bound)
        distance = b.sub(bound, start)
        if loop.cond in (Cond.LE, Cond.GE):
            distance = b.add(distance, self.i64(1))
        ok = b.and_(ok, b.icmp_signed(">=", slope, self.i64(1)))
        more = b.icmp_signed(">", distance, self.i64(0))
        # k* = ceil(d / s) = (d - 1) / s + 1 for d >= 1 (the select keeps a refused
        # dispatch from dividing by zero).
        safe_slope = b.select(ok, slope, self.i64(1))
        span = b.select(more, b.sub(distance, self.i64(1)), self.i64(0))
        exit_k = b.select(more, b.add(b.udiv(span, safe_slope), self.i64(1)), self.i64(0))
        ok = b.and_(ok, b.icmp_unsigned("<=", exit_k, self.i64(TRIP_LIMIT)))
        last_after = b.sub(exit_k, self.i64(1))
        for after_exit, group in _access_groups(loop.accesses):
            count = last_after if after_exit else exit_k
            fine = self.accesses_in_range(group, count)
            ok = b.and_(ok, b.or_(fine, b.not_(more)) if after_exit else fine)
        for after_exit, checks in _index_groups(loop.indices):
            count = last_after if after_exit else exit_k
            fine = self.indices_in_range(checks, count)
            ok = b.and_(ok, b.or_(fine, b.not_(more)) if after_exit else fine)
        return ok

    def bounded_affine(self, value: Affine) -> ir.Value:
        return self.b.and_(self.within(value.base, BASE_LIMIT),
                           self.within(value.slope, STEP_LIMIT))

    def in_box(self, first_low: ir.Value, first_high: ir.Value, slope: ir.Value | None,
               sign: int | None, count: ir.Value, low: int, high: int,
               limit: ir.Value) -> ir.Value:
        """0 <= first + c + slope*k < limit for every first in [first_low, first_high],
        c in [low, high] and k in [0, count] (all exact in i64 by the bounds already
        checked): the corners bound it."""
        b = self.b
        lasts: dict[int, ir.Value] = {}

        def last(first: ir.Value) -> ir.Value:
            if id(first) not in lasts:
                lasts[id(first)] = b.add(first, b.mul(slope, count))
            return lasts[id(first)]

        if slope is None or sign == 0:
            lows, highs = [first_low], [first_high]
        elif sign is None:
            lows, highs = [first_low, last(first_low)], [first_high, last(first_high)]
        elif sign > 0:
            lows, highs = [first_low], [last(first_high)]
        else:
            lows, highs = [last(first_low)], [first_high]
        ok = self.true
        done: set[tuple[int, int]] = set()
        for end, c in [(v, low) for v in lows] + [(v, high) for v in highs]:
            if (id(end), c) not in done:
                done.add((id(end), c))
                ok = b.and_(ok, b.icmp_unsigned("<", b.add(end, self.i64(c)), limit))
        return ok

    def family_extremes(self, family: AccessFamily) -> tuple[ir.Value, ir.Value, ir.Value]:
        """(bounds hold, lowest, highest) value of the varying addend's base over the
        family's members (see the module docstring)."""
        assert family.position is not None
        b = self.b
        rest = self.poly(family.leader.form.addends[family.position].base)
        ok: ir.Value = self.true
        lowest, highest = rest, rest
        if family.monomial is not None:
            factor_low, factor_high = min(family.factors), max(family.factors)
            monomial = self.poly(Poly.of({family.monomial: 1}))
            ok = self.within_value(monomial, FAMILY_MONOMIAL_LIMIT)
            non_negative = b.icmp_signed(">=", monomial, self.i64(0))
            at_low = b.select(non_negative, self.i64(factor_low), self.i64(factor_high))
            at_high = b.select(non_negative, self.i64(factor_high), self.i64(factor_low))
            lowest = b.add(rest, b.mul(at_low, monomial))
            highest = b.add(rest, b.mul(at_high, monomial))
        lowest = b.add(lowest, self.i64(min(family.shifts)))
        highest = b.add(highest, self.i64(max(family.shifts)))
        ok = b.and_(ok, b.and_(self.within_value(lowest, BASE_LIMIT),
                               self.within_value(highest, BASE_LIMIT)))
        return ok, lowest, highest

    def within_value(self, value: ir.Value, limit: int) -> ir.Value:
        """|value| <= limit for a value computed at run time."""
        shifted = self.b.add(value, self.i64(limit))
        return self.b.icmp_unsigned("<=", shifted, self.i64(2 * limit))

    def accesses_in_range(self, family: AccessFamily, count: ir.Value) -> ir.Value:
        b = self.b
        low, high = min(family.constants), max(family.constants)
        access = family.leader
        form = access.form
        numel = self.tr.numel[access.region]
        ok = b.icmp_unsigned("<=", numel, ir.Constant(I128, NUMEL_LIMIT))
        first_low: ir.Value = self.i64(0)
        if form.base is not None:  # a p register's entry value: its offset, in i128
            start = b.sub(self.tr.read_p(form.base),
                          ir.Constant(I128, access.region << OFFSET_BITS))
            ok = b.and_(ok, b.icmp_unsigned("<", start, numel))
            first_low = b.trunc(start, I64)
        first_high = first_low
        slopes: list[ir.Value] = []
        signs: set[int | None] = set()
        for position, addend in enumerate(form.addends):
            if position == family.position:
                bounded, lowest, highest = self.family_extremes(family)
                ok = b.and_(ok, b.and_(bounded, self.within(addend.slope, STEP_LIMIT)))
                first_low, first_high = b.add(first_low, lowest), b.add(first_high, highest)
            else:
                ok = b.and_(ok, self.bounded_affine(addend))
                term = self.poly(addend.base)
                first_low, first_high = b.add(first_low, term), b.add(first_high, term)
            if not addend.invariant:
                slopes.append(self.poly(addend.slope))
                signs.add(self.sign(addend.slope))
        for step in form.k_steps:
            ok = b.and_(ok, self.within(step, STEP_LIMIT))
            slopes.append(self.poly(step))
            signs.add(self.sign(step))
        slope = None
        for part in slopes:
            slope = part if slope is None else b.add(slope, part)
        sign = signs.pop() if len(signs) == 1 else (0 if not signs else None)
        limit = b.trunc(numel, I64)
        return b.and_(ok, self.in_box(first_low, first_high, slope, sign, count, low, high,
                                      limit))

    def indices_in_range(self, group: list[tuple[int, ProvenIndex]],
                         count: ir.Value) -> ir.Value:
        """0 <= index < extent for a group of DCHKs of one axis whose indices differ
        only in their constant term."""
        low, high = min(c for c, _ in group), max(c for c, _ in group)
        check = group[0][1]
        value = Affine(_without_constant(check.index.base), check.index.slope)
        extent = self.tr.extents[check.param][check.axis]
        slope = None if value.invariant else self.poly(value.slope)
        first = self.poly(value.base)
        fine = self.in_box(first, first, slope, self.sign(value.slope), count, low, high,
                           extent)
        return self.b.and_(self.bounded_affine(value), fine)


@dataclass
class AccessFamily:
    """Accesses of one tensor, from one base coordinate and with the same slopes, whose
    addresses differ by their constant offset and by ``factor*M + shift`` in the base of
    the addend at ``position`` (None: no addend differs), M being ``monomial`` (None: no
    factor is nonzero). Factors and shifts are relative to the leader's addend."""

    leader: ProvenAccess
    position: int | None = None
    monomial: Monomial | None = None
    factors: list[int] = field(default_factory=lambda: [0])
    shifts: list[int] = field(default_factory=lambda: [0])
    constants: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.constants.append(access_constant(self.leader))

    def admit(self, access: ProvenAccess) -> bool:
        """Add ``access`` when it fits the family (see the module docstring)."""
        ours, theirs = self.leader.form.addends, access.form.addends
        differing = [t for t, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
        position, monomial = self.position, self.monomial
        factor = shift = 0
        if differing:
            if len(differing) > 1 or position not in (None, differing[0]):
                return False
            position = differing[0]
            split = _split_difference(theirs[position].base - ours[position].base)
            if split is None:
                return False
            found, factor, shift = split
            if factor:
                if monomial not in (None, found):
                    return False
                monomial = found
        self.position, self.monomial = position, monomial
        self.factors.append(factor)
        self.shifts.append(shift)
        self.constants.append(access_constant(access))
        return True


def _split_difference(difference: Poly) -> tuple[Monomial | None, int, int] | None:
    """``difference`` as (M, c, d) with ``difference == c*M + d`` within the family
    bounds (M None when c is 0), or None."""
    shift = 0
    varying: list[tuple[Monomial, int]] = []
    for monomial, coeff in difference.terms:
        if monomial == ():
            shift = signed(coeff, 64)
        else:
            varying.append((monomial, signed(coeff, 64)))
    if len(varying) > 1 or abs(shift) > FAMILY_SHIFT_LIMIT:
        return None
    if not varying:
        return None, 0, shift
    (monomial, factor), = varying
    if abs(factor) > FAMILY_FACTOR_LIMIT:
        return None
    return monomial, factor, shift


def _access_groups(accesses: tuple[ProvenAccess, ...]) -> list[tuple[bool, AccessFamily]]:
    """The accesses as families checked together, each with whether it follows the
    exit test."""
    buckets: dict[tuple[object, ...], list[AccessFamily]] = {}
    for access in accesses:
        form = access.form
        key = (access.after_exit, access.region, form.base, form.k_steps,
               tuple(a.slope for a in form.addends))
        families = buckets.setdefault(key, [])
        if not any(family.admit(access) for family in families):
            families.append(AccessFamily(access))
    return [(key[0], family) for key, families in buckets.items()  # type: ignore[misc]
            for family in families]


def _index_groups(indices: tuple[ProvenIndex, ...]
                  ) -> list[tuple[bool, list[tuple[int, ProvenIndex]]]]:
    groups: dict[tuple[object, ...], list[tuple[int, ProvenIndex]]] = {}
    for check in indices:
        value = check.index
        key = (check.after_exit, check.param, check.axis, _without_constant(value.base),
               value.slope)
        groups.setdefault(key, []).append((index_constant(check), check))
    return [(key[0], group) for key, group in groups.items()]  # type: ignore[misc]
