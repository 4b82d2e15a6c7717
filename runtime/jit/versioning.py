"""Loop versioning: one range check at loop entry selects a copy of the loop whose
tensor accesses and index checks carry no per-iteration check.

Which loops (loops.py): a contiguous SIW range whose latch branches back to its header,
left at one word only (the exit test: the latch's ``DBNZ``/``DBR.<cc>`` of a rotated
loop, the header's ``DBR`` of a top-tested one), or a hardware loop body (``DLOOP``,
whose exit test is the sequencer's: iteration k goes on while k + 1 < count). The words
that run exactly once per iteration form the loop's skeleton; nested loops and
conditional code inside it are evaluated as "writes something unknown".

What is proven (affine.py): every register is evaluated over one iteration as
``base + slope * k`` (mod 2^64) in the iteration number k, with each register the loop
writes first hypothesised to be an induction variable ``entry + k * step``; the
hypotheses that the evaluation of the whole iteration does not confirm are dropped and
the evaluation repeated. The exit test must compare an affine counter with an invariant
bound (``lt``/``le`` with a positive slope, ``gt``/``ge`` with a negative one, checked
at run time), which gives the exit iteration k*. Then an ``SGATHER``/``SSCATTR`` of the
skeleton whose coordinate is affine and whose region is a known tensor of the access's
type, and a ``DCHK`` whose index is affine, are in range at every iteration exactly when
they are at the first and the last one (a linear function has its extremes at the ends),
provided no value wrapped: the dispatch (range_check.py) checks magnitude bounds that
rule that out.

At the header the translator emits the dispatch evaluating all of that from the register
values at entry; it branches to the unchecked copy when everything holds, else to the
ordinary checked loop, which faults at the exact iteration with the earlier writes kept
(the same code as without versioning). Nested loops are versioned innermost first: an
index loaded from memory in the outer loop (the embedding bag's row) then costs one
dispatch per outer iteration, not a check per element.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from llvmlite import ir

from phextcc.backend.isa import OFFSET_BITS, Cond, Type
from phextcc.backend.program import KernelInfo, Program
from runtime.jit.affine import (
    ENTRY,
    SLOT_STEP,
    SPILLED,
    STEP,
    Affine,
    Atom,
    Compare,
    ConstState,
    Coord,
    Poly,
    State,
    reaching_constants,
    signed,
    slots_written,
    step_word,
    written,
)
from runtime.jit.analysis import UNKNOWN, RegionState, operand_values, successors
from runtime.jit.irtypes import DTYPE_TYPE, I32
from runtime.jit.loops import LoopShape, candidate_loops

if TYPE_CHECKING:  # the translator imports this module
    from runtime.jit.translate import KernelTranslator

ACCESS_FAMILIES = ("SGATHER", "SSCATTR", "SGATHERI", "SSCATTRI")
NEGATED = {Cond.LT: Cond.GE, Cond.LE: Cond.GT, Cond.GT: Cond.LE, Cond.GE: Cond.LT,
           Cond.EQ: Cond.NE, Cond.NE: Cond.EQ}
SWAPPED = {Cond.LT: Cond.GT, Cond.LE: Cond.GE, Cond.GT: Cond.LT, Cond.GE: Cond.LE,
           Cond.EQ: Cond.EQ, Cond.NE: Cond.NE}
S_PIPE, D_PIPE = "S", "D"


@dataclass(frozen=True)
class AddressForm:
    """Element offsets ``entry(base) + const - region<<110 + sum(sext(addends)) + k * sum
    (sext(k_steps))`` of an access over the iterations (128-bit)."""

    base: int | None
    const: int
    addends: tuple[Affine, ...]
    k_steps: tuple[Poly, ...]


@dataclass(frozen=True)
class ProvenAccess:
    word: int
    coord: int  # the p register
    offset: int  # the immediate element offset
    region: int  # the tensor parameter it addresses
    form: AddressForm
    after_exit: bool  # the word follows the exit test (runs one iteration fewer)


@dataclass(frozen=True)
class ProvenIndex:
    word: int
    param: int
    axis: int
    index: Affine
    after_exit: bool


@dataclass(frozen=True)
class VersionedLoop:
    header: int
    latch: int
    exit_word: int
    counter: Affine  # the loop continues while ``counter cond bound``
    cond: Cond  # LT, LE (slope > 0) or GT, GE (slope < 0)
    bound: Poly
    accesses: tuple[ProvenAccess, ...]
    indices: tuple[ProvenIndex, ...]

    @property
    def words(self) -> range:
        return range(self.header, self.latch + 1)

    def proven(self) -> frozenset[tuple[int, str]]:
        """(word, pipe) of every op the unchecked copy leaves unchecked."""
        return frozenset([(a.word, S_PIPE) for a in self.accesses] +
                         [(i.word, D_PIPE) for i in self.indices])


# What the range check (range_check.py) can prove in exact i64 arithmetic.
OFFSET_LIMIT = 1 << 59  # |constant element offset| of an access or an index
MAX_TERMS = 4  # addends plus coordinate steps of one access


def access_constant(access: ProvenAccess) -> int:
    """The access's constant element offset (from its base coordinate, or from the
    tensor's base when the coordinate starts at an SBASE)."""
    form = access.form
    base = 0 if form.base is not None else access.region << OFFSET_BITS
    return signed(form.const + access.offset - base, 128)


def index_constant(check: ProvenIndex) -> int:
    return signed(dict(check.index.base.terms).get((), 0), 64)


def provable_access(access: ProvenAccess) -> bool:
    form = access.form
    return abs(access_constant(access)) <= OFFSET_LIMIT and \
        len(form.addends) + len(form.k_steps) <= MAX_TERMS


def provable_index(check: ProvenIndex) -> bool:
    return abs(index_constant(check)) <= OFFSET_LIMIT


# ---------------------------------------------------------------------------
# Analysis.
# ---------------------------------------------------------------------------


@dataclass
class Hypotheses:
    """What is assumed at the start of every iteration, until one iteration's evaluation
    confirms it: registers and spill slots that grow by an invariant step, registers set
    back to their entry constant, coordinates stepped by an invariant amount."""

    inductions: set[int]
    slot_inductions: set[int]
    fixed: dict[int, int]
    coord_inductions: set[int]


@dataclass(frozen=True)
class Written:
    """What the loop writes (everywhere / outside its skeleton)."""

    r: set[int]
    r_other: set[int]
    p: set[int]
    p_other: set[int]
    slots: set[int]
    slots_other: set[int]


def _evaluate(program: Program, shape: LoopShape, guess: Hypotheses, written: Written,
              constants: ConstState | None) -> tuple[dict[int, State], State]:
    """The symbolic state before every word of one iteration, and after the latch.
    Registers that hold a known constant at entry and that the loop does not write, or
    sets back to that constant, start as that number (a shift count must be one)."""
    state = State()
    inductions, fixed, coord_inductions = guess.inductions, guess.fixed, guess.coord_inductions
    written_r, written_p = written.r, written.p
    for reg, value in enumerate(constants or ()):
        if value is not None and reg not in written_r:
            state.r[reg] = Affine(Poly.const(value))
    for reg in written_r:
        if reg in fixed:
            state.r[reg] = Affine(Poly.const(fixed[reg]))
        elif reg in inductions:
            state.r[reg] = Affine(Poly.atom((ENTRY, reg)), Poly.atom((STEP, reg)))
        else:
            state.r[reg] = None
    for reg in written_p:
        state.p[reg] = Coord(reg, 0, (), (reg,)) if reg in coord_inductions else None
    for slot in written.slots:  # the toolchain keeps counters in spill slots, too
        state.spill[slot] = Affine(Poly.atom((SPILLED, slot)), Poly.atom((SLOT_STEP, slot))) \
            if slot in guess.slot_inductions else None
    before: dict[int, State] = {}
    for index in shape.words:
        before[index] = state
        state = step_word(program, index, state, index in shape.skeleton)
    return before, state


def _invariant_step(value: Poly, written: Written) -> bool:
    """No atom of ``value`` changes in the loop."""
    return all(kind not in (STEP, SLOT_STEP) and not (kind == ENTRY and n in written.r)
               and not (kind == SPILLED and n in written.slots)
               for kind, n in value.atoms())


def _confirmed(end: Affine | None, entry: Atom, step: Atom, written: Written) -> Poly | None:
    """The step of a register or slot when one iteration adds an invariant amount."""
    if end is None or end.slope != Poly.atom(step):
        return None
    delta = end.base - Poly.atom(entry)
    return delta if _invariant_step(delta, written) else None


def _confirmed_p(end: Coord | None, reg: int, written: Written) -> tuple[Poly, ...] | None:
    """The step of a coordinate over one iteration: its SINDEX addends plus the constant
    its post-increments added (which must fit an i64, as a step does)."""
    if end is None or end.base != reg or end.steps != (reg,):
        return None
    if not all(a.invariant and _invariant_step(a.base, written) for a in end.addends):
        return None
    constant = signed(end.const, 128)
    if not -(1 << 63) <= constant < 1 << 63:
        return None
    return tuple(a.base for a in end.addends) + ((Poly.const(constant),) if constant else ())


def _written_sets(program: Program, shape: LoopShape) -> Written:
    found = Written(set(), set(), set(), set(), set(), set())
    for index in shape.words:
        for instr in program.words[index].ops:
            r_regs, p_regs = written(instr)
            slots = slots_written(instr)
            found.r.update(r_regs)
            found.p.update(p_regs)
            found.slots.update(slots)
            if index not in shape.skeleton:
                found.r_other.update(r_regs)
                found.p_other.update(p_regs)
                found.slots_other.update(slots)
    return found


def _exit_compare(program: Program, shape: LoopShape, state: State) -> Compare | None:
    """The condition under which the loop goes on, as read by the exit test."""
    if shape.hardware is not None:
        # After the body of iteration k the sequencer goes on while k + 1 < count, the
        # count the DLOOP read: its register's value when the body is entered.
        return Compare(Cond.LT, Affine(Poly.const(1), Poly.const(1)),
                       Affine(Poly.atom((ENTRY, shape.hardware.count))))
    instr = program.words[shape.exit_word].d
    v = operand_values(instr)
    family = instr.info.family
    if family == "DBR":
        if instr.info.type is not Type.I64:
            return None
        lhs, rhs = state.value(v["rs1"]), state.value(v["rs2"])
        if lhs is None or rhs is None or instr.info.cond is None:
            return None
        compare = Compare(instr.info.cond, lhs, rhs)
    else:
        found = state.flags.get(v["rs"])
        if found is None:
            return None
        compare = found
    true_continues = (family != "DBZ") != shape.exits_when_taken
    if true_continues:
        return compare
    return Compare(NEGATED[compare.cond], compare.lhs, compare.rhs)


def analyse_loop(program: Program, kernel: KernelInfo, regions: dict[int, RegionState],
                 shape: LoopShape, checks: bool = True,
                 constants: ConstState | None = None) -> VersionedLoop | None:
    """The loop to version, or None. ``constants``: the registers known to hold a
    constant when the header is entered (they become numbers in the range check)."""
    written = _written_sets(program, shape)
    candidates = written.r - written.r_other
    fixed = {reg: value for reg, value in enumerate(constants or ())
             if value is not None and reg in candidates}
    guess = Hypotheses(candidates - set(fixed), written.slots - written.slots_other, fixed,
                       written.p - written.p_other)
    while True:
        before, end = _evaluate(program, shape, guess, written, constants)
        unfixed = {reg for reg, value in guess.fixed.items()
                   if end.r.get(reg) != Affine(Poly.const(value))}
        r_steps = {reg: _confirmed(end.r.get(reg), (ENTRY, reg), (STEP, reg), written)
                   for reg in guess.inductions}
        slot_steps = {slot: _confirmed(end.spill.get(slot), (SPILLED, slot),
                                       (SLOT_STEP, slot), written)
                      for slot in guess.slot_inductions}
        p_steps = {reg: _confirmed_p(end.p.get(reg), reg, written)
                   for reg in guess.coord_inductions}
        dropped_r = {reg for reg, step in r_steps.items() if step is None}
        dropped_slots = {slot for slot, step in slot_steps.items() if step is None}
        dropped_p = {reg for reg, step in p_steps.items() if step is None}
        if not (unfixed or dropped_r or dropped_slots or dropped_p):
            break
        for reg in unfixed:  # maybe an induction after all
            del guess.fixed[reg]
        guess.inductions = (guess.inductions - dropped_r) | unfixed
        guess.slot_inductions -= dropped_slots
        guess.coord_inductions -= dropped_p
    steps: dict[Atom, Poly] = {(STEP, reg): step for reg, step in r_steps.items()
                               if step is not None}
    steps.update({(SLOT_STEP, slot): step for slot, step in slot_steps.items()
                  if step is not None})
    known = {(ENTRY, reg): Poly.const(value) for reg, value in enumerate(constants or ())
             if value is not None}

    def final(value: Affine) -> Affine:
        return value.substitute(steps).substitute(known)

    compare = _exit_compare(program, shape, before[shape.exit_word])
    if compare is None:
        return None
    lhs, rhs = final(compare.lhs), final(compare.rhs)
    if not lhs.invariant and rhs.invariant:
        counter, bound, cond = lhs, rhs.base, compare.cond
    elif lhs.invariant and not rhs.invariant:
        counter, bound, cond = rhs, lhs.base, SWAPPED[compare.cond]
    else:
        return None
    if cond in (Cond.EQ, Cond.NE):
        return None
    accesses: list[ProvenAccess] = []
    indices: list[ProvenIndex] = []
    for index in sorted(shape.skeleton):
        state = before[index]
        after_exit = index > shape.exit_word
        s_op, d_op = program.words[index].s, program.words[index].d
        if s_op.info.family in ACCESS_FAMILIES:
            a = operand_values(s_op)
            region = regions[index][a["coord"]]
            coord = state.coord(a["coord"])
            if region != UNKNOWN and coord is not None and \
                    DTYPE_TYPE[kernel.params[region].dtype] is s_op.info.type:
                form = AddressForm(
                    coord.base, coord.const, tuple(final(x) for x in coord.addends),
                    tuple(step.substitute(known) for reg in coord.steps
                          for step in p_steps[reg] or ()))
                access = ProvenAccess(index, a["coord"], a["offset"], region, form,
                                      after_exit)
                if provable_access(access):
                    accesses.append(access)
        if d_op.info.family == "DCHK" and checks:
            c = operand_values(d_op)
            value = state.value(c["rs"])
            if value is not None:
                check = ProvenIndex(index, c["param"], c["axis"], final(value), after_exit)
                if provable_index(check):
                    indices.append(check)
    if not accesses and not indices:
        return None
    return VersionedLoop(shape.header, shape.latch, shape.exit_word, counter, cond, bound,
                         tuple(accesses), tuple(indices))


def versioned_loops(program: Program, kernel: KernelInfo, regions: dict[int, RegionState],
                    checks: bool = True) -> dict[int, VersionedLoop]:
    """header SIW index -> the loop to version, for every loop that qualifies.

    A loop that contains another versioned loop is not versioned itself: what it could
    prove is only its own skeleton (the embedding bag's ``ids[b]``, one check per outer
    iteration), while a second copy of everything nested in it (dispatches included)
    measured slower than the checks it saves."""
    found: dict[int, VersionedLoop] = {}
    start = kernel.entry
    constants = reaching_constants(program, start, start + kernel.length,
                                   lambda index: successors(program, kernel, index))
    for shape in candidate_loops(program, kernel):
        if any(index not in regions for index in shape.words):
            continue
        loop = analyse_loop(program, kernel, regions, shape, checks,
                            constants.get(shape.header))
        if loop is not None:
            found[shape.header] = loop
    return {header: loop for header, loop in found.items()
            if not any(other is not loop and loop.header <= other.header and
                       other.latch <= loop.latch for other in found.values())}


# ---------------------------------------------------------------------------
# Emission.
# ---------------------------------------------------------------------------


def emit_versioned_loop(tr: KernelTranslator, loop: VersionedLoop) -> int:
    """Translate ``loop`` twice behind its range check; the builder is positioned at the
    header's block, which becomes the dispatch. Returns the first SIW index after the loop.

    The checked copy keeps the original blocks of the words after the header, so a branch
    from outside into the middle of the range still lands in checked code."""
    from runtime.jit.range_check import RangeCheck

    builder = tr.builder
    original = tr.blocks
    checked = dict(original)
    fast = dict(original)
    checked[loop.header] = tr.function.append_basic_block(f"w{loop.header}.checked")
    for index in loop.words:
        if index in original:
            fast[index] = tr.function.append_basic_block(f"w{index}.fast")
    in_range = RangeCheck(tr, loop).emit()
    branch = builder.cbranch(in_range, fast[loop.header], checked[loop.header])
    branch.set_metadata("prof", tr.module.add_metadata(
        [ir.MetaDataString(tr.module, "branch_weights"), ir.Constant(I32, 1048575),
         ir.Constant(I32, 1)]))
    for blocks, proven in ((checked, frozenset()), (fast, loop.proven())):
        tr.blocks, tr.proven_ops = blocks, proven
        try:
            _emit_words(tr, loop.words)
        finally:
            tr.blocks, tr.proven_ops = original, frozenset()
    return loop.latch + 1


def _emit_words(tr: KernelTranslator, words: range) -> None:
    builder = tr.builder
    for index in words:
        if index in tr.blocks:
            if not builder.block.is_terminated:
                builder.branch(tr.blocks[index])
            builder.position_at_end(tr.blocks[index])
        elif builder.block.is_terminated:
            continue
        tr.emit_word(index)
