"""A small scalar evolution over SIW: register values as affine functions of the loop's
iteration number k.

Integer add, sub, mul and shift-left are ring operations modulo 2^64, so a chain of them
computes, modulo 2^64, the polynomial the chain spells, whatever wrapped on the way. A
value is therefore kept as ``base + slope * k (mod 2^64)`` where ``base`` and ``slope``
are polynomials over loop-invariant *atoms*: the entry value of a register, a shape
symbol, a scalar argument, or (while the loop is analysed) the unknown per-iteration
step of a register. Whether the value a register really holds equals the exact integer
``base + slope * k`` (no wrap) is not decided here: the range check at loop entry
proves it at both ends of the iteration space (a linear function has its extremes
there).

Coordinates (p registers) are kept as a base (a p register's entry value, or zero), a
128-bit constant, the i64 values added by SINDEX along D0 (each sign-extended, as the
op does) and, for a coordinate stepped in the loop, ``k`` times the step of that
p register. A post-increment (``SGATHERI``/``SSCATTRI``) adds its constant step to the
128-bit constant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from phextcc.backend.isa import OFFSET_BITS, Cond, Kind, Role, Type
from phextcc.backend.program import Instr, Program
from runtime.jit.analysis import operand_values

MASK64 = (1 << 64) - 1
MASK128 = (1 << 128) - 1

# Atom kinds: the value a register has when the loop is entered, a shape symbol, a
# scalar argument's bits, a spill slot's value at loop entry, and the unknown step of a
# register hypothesised to be an induction variable (replaced by the step found, see
# versioning.analyse_loop).
ENTRY, SYMBOL, ARGUMENT, SPILLED, STEP = "r", "sym", "arg", "spill", "step"
SLOT_STEP = "slot-step"  # the unknown step of a spill slot hypothesised to be an induction
# Spill slots each op writes (the register allocator keeps loop bounds there).
SLOTS_WRITTEN = {"SSPILL": 1, "SSPILLP": 2, "SSPILLM": 4}
Atom = tuple[str, int]
Monomial = tuple[Atom, ...]  # sorted; () is the constant term


@dataclass(frozen=True)
class Poly:
    """An integer polynomial over atoms with coefficients modulo 2^64."""

    terms: tuple[tuple[Monomial, int], ...] = ()

    @staticmethod
    def of(terms: Mapping[Monomial, int]) -> Poly:
        cleaned = {m: c & MASK64 for m, c in terms.items() if c & MASK64}
        return Poly(tuple(sorted(cleaned.items())))

    @staticmethod
    def const(value: int) -> Poly:
        return Poly.of({(): value})

    @staticmethod
    def atom(atom: Atom) -> Poly:
        return Poly.of({(atom,): 1})

    def __add__(self, other: Poly) -> Poly:
        total = dict(self.terms)
        for monomial, coeff in other.terms:
            total[monomial] = total.get(monomial, 0) + coeff
        return Poly.of(total)

    def __neg__(self) -> Poly:
        return Poly.of({m: -c for m, c in self.terms})

    def __sub__(self, other: Poly) -> Poly:
        return self + -other

    def __mul__(self, other: Poly) -> Poly:
        total: dict[Monomial, int] = {}
        for m1, c1 in self.terms:
            for m2, c2 in other.terms:
                monomial = tuple(sorted(m1 + m2))
                total[monomial] = total.get(monomial, 0) + c1 * c2
        return Poly.of(total)

    @property
    def is_zero(self) -> bool:
        return not self.terms

    @property
    def constant(self) -> int | None:
        """The value when the polynomial is a constant (as a signed i64), else None."""
        if not self.terms:
            return 0
        if len(self.terms) == 1 and self.terms[0][0] == ():
            return signed(self.terms[0][1], 64)
        return None

    def atoms(self) -> set[Atom]:
        return {atom for monomial, _ in self.terms for atom in monomial}

    def substitute(self, values: Mapping[Atom, Poly]) -> Poly:
        total = Poly()
        for monomial, coeff in self.terms:
            product = Poly.const(coeff)
            for atom in monomial:
                product = product * values.get(atom, Poly.atom(atom))
            total = total + product
        return total


ZERO = Poly()


def signed(value: int, bits: int) -> int:
    """``value`` read as a two's-complement integer of ``bits`` bits."""
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >> (bits - 1) else value


@dataclass(frozen=True)
class Affine:
    """``base + slope * k`` modulo 2^64 at iteration k."""

    base: Poly
    slope: Poly = ZERO

    @property
    def invariant(self) -> bool:
        return self.slope.is_zero

    def __add__(self, other: Affine) -> Affine:
        return Affine(self.base + other.base, self.slope + other.slope)

    def __sub__(self, other: Affine) -> Affine:
        return Affine(self.base - other.base, self.slope - other.slope)

    def times(self, other: Affine) -> Affine | None:
        """The product when it stays affine (one factor invariant)."""
        if other.invariant:
            return Affine(self.base * other.base, self.slope * other.base)
        if self.invariant:
            return Affine(self.base * other.base, self.base * other.slope)
        return None

    def substitute(self, values: Mapping[Atom, Poly]) -> Affine:
        return Affine(self.base.substitute(values), self.slope.substitute(values))


@dataclass(frozen=True)
class Compare:
    """The flag ``lhs cc rhs`` (signed i64) a DCMP left in a register."""

    cond: Cond
    lhs: Affine
    rhs: Affine


@dataclass(frozen=True)
class Coord:
    """A coordinate: ``entry(base) + const + sum(sext(addends)) + k * sum(step(p))``."""

    base: int | None  # p register whose entry value starts it; None: zero (SBASE)
    const: int = 0  # modulo 2^128
    addends: tuple[Affine, ...] = ()
    steps: tuple[int, ...] = ()  # p registers whose per-iteration step is added k times

    def plus(self, addend: Affine) -> Coord:
        return Coord(self.base, self.const, self.addends + (addend,), self.steps)


@dataclass
class State:
    """Symbolic register file before a word (None: not affine / unknown)."""

    r: dict[int, Affine | None] = field(default_factory=dict)
    flags: dict[int, Compare] = field(default_factory=dict)
    p: dict[int, Coord | None] = field(default_factory=dict)
    spill: dict[int, Affine | None] = field(default_factory=dict)

    def copy(self) -> State:
        return State(dict(self.r), dict(self.flags), dict(self.p), dict(self.spill))

    def value(self, reg: int) -> Affine | None:
        return self.r.get(reg, Affine(Poly.atom((ENTRY, reg))))

    def slot(self, slot: int) -> Affine | None:
        return self.spill.get(slot, Affine(Poly.atom((SPILLED, slot))))

    def coord(self, reg: int) -> Coord | None:
        return self.p.get(reg, Coord(reg))


@dataclass
class Writes:
    r: dict[int, Affine | None] = field(default_factory=dict)
    flags: dict[int, Compare] = field(default_factory=dict)
    p: dict[int, Coord | None] = field(default_factory=dict)
    spill: dict[int, Affine | None] = field(default_factory=dict)


Transfer = Callable[[Program, Instr, State], Writes]


def _binary(combine: Callable[[Affine, Affine], Affine | None]) -> Transfer:
    def transfer(program: Program, instr: Instr, state: State) -> Writes:
        v = operand_values(instr)
        a, b = state.value(v["rs1"]), state.value(v["rs2"])
        result = None
        if instr.info.type is Type.I64 and a is not None and b is not None:
            result = combine(a, b)
        return Writes(r={v["rd"]: result})
    return transfer


def _add_immediate(program: Program, instr: Instr, state: State) -> Writes:
    v = operand_values(instr)
    a = state.value(v["rs"])
    result = None
    if instr.info.type is Type.I64 and a is not None:
        result = a + Affine(Poly.const(v["value"]))
    return Writes(r={v["rd"]: result})


def _shift_left(a: Affine, b: Affine) -> Affine | None:
    count = b.base.constant if b.invariant else None
    if count is None:
        return None
    return a.times(Affine(Poly.const(1 << (count & 63))))  # the op masks the count


def _negate(program: Program, instr: Instr, state: State) -> Writes:
    v = operand_values(instr)
    a = state.value(v["rs"])
    ok = instr.info.type is Type.I64 and a is not None
    return Writes(r={v["rd"]: Affine(ZERO) - a if ok else None})  # type: ignore[operator]


def _move(program: Program, instr: Instr, state: State) -> Writes:
    v = operand_values(instr)
    writes = Writes(r={v["rd"]: state.value(v["rs"])})
    if v["rs"] in state.flags:
        writes.flags[v["rd"]] = state.flags[v["rs"]]
    return writes


def _constant(key: str, pool: bool = False) -> Transfer:
    def transfer(program: Program, instr: Instr, state: State) -> Writes:
        v = operand_values(instr)
        value = program.pool[v[key]] if pool else v[key]
        return Writes(r={v["rd"]: Affine(Poly.const(value))})
    return transfer


def _atom(kind: str, key: str) -> Transfer:
    def transfer(program: Program, instr: Instr, state: State) -> Writes:
        v = operand_values(instr)
        return Writes(r={v["rd"]: Affine(Poly.atom((kind, v[key])))})
    return transfer


def _compare(program: Program, instr: Instr, state: State) -> Writes:
    v = operand_values(instr)
    a, b = state.value(v["rs1"]), state.value(v["rs2"])
    writes = Writes(r={v["rd"]: None})
    if instr.info.type is Type.I64 and a is not None and b is not None:
        writes.flags[v["rd"]] = Compare(Cond(v["cc"]), a, b)
    return writes


def _base(program: Program, instr: Instr, state: State) -> Writes:
    v = operand_values(instr)
    return Writes(p={v["pd"]: Coord(None, v["param"] << OFFSET_BITS)})


def _index(program: Program, instr: Instr, state: State) -> Writes:
    v = operand_values(instr)
    coord, offset = state.coord(v["ps"]), state.value(v["offset"])
    moved = None
    if v["dim"] == 0 and coord is not None and offset is not None:
        moved = coord.plus(offset)
    return Writes(p={v["pd"]: moved})


def _copy_coord(program: Program, instr: Instr, state: State) -> Writes:
    v = operand_values(instr)
    return Writes(p={v["pd"]: state.coord(v["ps"])})


def _post_increment(program: Program, instr: Instr, state: State) -> Writes:
    """SGATHERI/SSCATTRI: the coordinate moves by the constant step (after the access,
    which reads it as it was); a loaded value is unknown."""
    v = operand_values(instr)
    coord = state.coord(v["coord"])
    moved = None if coord is None else \
        Coord(coord.base, (coord.const + v["step"]) & MASK128, coord.addends, coord.steps)
    writes = Writes(p={v["coord"]: moved})
    if "rd" in v:
        writes.r[v["rd"]] = None
    return writes


def _spill(program: Program, instr: Instr, state: State) -> Writes:
    v = operand_values(instr)
    return Writes(spill={v["slot"]: state.value(v["rs"])})


def _fill(program: Program, instr: Instr, state: State) -> Writes:
    v = operand_values(instr)
    return Writes(r={v["rd"]: state.slot(v["slot"])})


TRANSFERS: dict[str, Transfer] = {
    "DADD": _binary(lambda a, b: a + b),
    "DADDI": _add_immediate,
    "DSUB": _binary(lambda a, b: a - b),
    "DMUL": _binary(lambda a, b: a.times(b)),
    "DSHL": _binary(_shift_left),
    "DNEG": _negate,
    "DMOV": _move,
    "DMOVI": _constant("value"),
    "DLDC": _constant("index", pool=True),
    "DSYM": _atom(SYMBOL, "symbol"),
    "DARG": _atom(ARGUMENT, "param"),
    "DCMP": _compare,
    "SBASE": _base,
    "SINDEX": _index,
    "SMOVP": _copy_coord,
    "SGATHERI": _post_increment,
    "SSCATTRI": _post_increment,
    "SSPILL": _spill,
    "SFILL": _fill,
}


def written(instr: Instr) -> tuple[list[int], list[int]]:
    """(r registers, p registers) the op writes."""
    r_regs: list[int] = []
    p_regs: list[int] = []
    for operand, value in zip(instr.info.operands, instr.args):
        if operand.role not in (Role.DEF, Role.USEDEF):
            continue
        if operand.kind is Kind.R:
            r_regs.append(value)
        elif operand.kind is Kind.P:
            p_regs.append(value)
    return r_regs, p_regs


def slots_written(instr: Instr) -> list[int]:
    count = SLOTS_WRITTEN.get(instr.info.family, 0)
    if not count:
        return []
    first = operand_values(instr)["slot"]
    return list(range(first, first + count))


def _forget(instr: Instr) -> Writes:
    r_regs, p_regs = written(instr)
    return Writes(r=dict.fromkeys(r_regs), p=dict.fromkeys(p_regs),
                  spill=dict.fromkeys(slots_written(instr)))


def step_word(program: Program, index: int, state: State, skeleton: bool) -> State:
    """The state after word ``index``. Every op reads the state before the word; a word
    that may run other than once per iteration (``skeleton`` False) makes everything
    it writes unknown."""
    writes: list[Writes] = []
    for instr in program.words[index].ops:
        if instr.is_nop:
            continue
        transfer = TRANSFERS.get(instr.info.family) if skeleton else None
        writes.append(transfer(program, instr, state) if transfer else _forget(instr))
    after = state.copy()
    for w in writes:
        for reg, value in w.r.items():
            after.r[reg] = value
            after.flags.pop(reg, None)
        after.flags.update(w.flags)
        after.p.update(w.p)
        after.spill.update(w.spill)
    return after


# ---------------------------------------------------------------------------
# Constants reaching a word (so that a step or offset kept in a register, like the
# toolchain's ``DMOVI r4, #16`` before an unrolled loop, is known as a number).
# ---------------------------------------------------------------------------

NOT_CONSTANT = None
ConstState = tuple[int | None, ...]  # per r register: its value mod 2^64, or None


def _const_transfer(program: Program, instr: Instr, state: ConstState) -> ConstState:
    r_regs, _ = written(instr)
    if not r_regs:
        return state
    new = list(state)
    v = operand_values(instr)
    family = instr.info.family
    value: int | None = None
    if family == "DMOVI":
        value = v["value"] & MASK64
    elif family == "DLDC":
        value = program.pool[v["index"]] & MASK64
    elif family == "DMOV":
        value = state[v["rs"]]
    for reg in r_regs:
        new[reg] = value
    return tuple(new)


def _merge(state: ConstState, written_state: ConstState, original: ConstState) -> ConstState:
    """``state`` with the registers ``written_state`` changed from ``original``."""
    return tuple(w if w != o else s for s, w, o in zip(state, written_state, original))


def reaching_constants(program: Program, entry: int, end: int,
                       successors: Callable[[int], list[int]]) -> dict[int, ConstState]:
    """For each reachable word of ``[entry, end)``, the r registers holding a known
    constant before it (registers start at zero)."""
    from phextcc.backend.isa import RegClass

    before: dict[int, ConstState] = {entry: tuple([0] * RegClass.R.count)}
    worklist = [entry]
    while worklist:
        index = worklist.pop()
        state = original = before[index]
        for instr in program.words[index].ops:  # every op reads the state before the word
            if not instr.is_nop:
                state = _merge(state, _const_transfer(program, instr, original), original)
        for succ in successors(index):
            if not entry <= succ < end:
                continue
            old = before.get(succ)
            joined = state if old is None else tuple(
                a if a == b else NOT_CONSTANT for a, b in zip(old, state))
            if joined != old:
                before[succ] = joined
                worklist.append(succ)
    return before
