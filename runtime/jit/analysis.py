"""Static facts the translator needs before it emits anything.

- ``basic_blocks``: the leaders of a kernel's SIW range (entry, every branch target,
  every word after a branch), so that each branch target becomes one LLVM block and LLVM
  sees natural loops.
- ``register_types``: which LLVM type each r register lives in. A register holds 64 bits,
  but a register only ever written by f32 ops can live in a ``float`` alloca (mem2reg then
  gives plain float SSA values that the vectoriser understands). A representation is
  chosen only if *every* definition produces a bit pattern it can hold exactly; else i64.
- ``region_facts``: for each word, the region (tensor parameter) each p register points
  into when it is known statically: SBASE gives it, SINDEX, SMOVP and post-increments
  keep it, joins of different regions and anything dynamic (fills, SALLOC) make it
  unknown.

Control flow includes hardware loops: a DLOOP goes to its body or past it, and the last
word of a body also goes back to the body's first word.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from phextcc.backend.hardware_loops import loop_at, loop_ending_at
from phextcc.backend.isa import REGION_DIM, Effect, Kind, RegClass, Role, Type
from phextcc.backend.program import Instr, KernelInfo, Program

# ---------------------------------------------------------------------------
# Control flow.
# ---------------------------------------------------------------------------


def operand_values(instr: Instr) -> dict[str, int]:
    return {operand.name: value for operand, value in zip(instr.info.operands, instr.args)}


def branch_target(instr: Instr) -> int | None:
    for operand, value in zip(instr.info.operands, instr.args):
        if operand.kind is Kind.TARGET:
            return value
    return None


def ends_block(instr: Instr) -> bool:
    return bool(instr.info.effects & (Effect.BRANCH | Effect.HALT | Effect.LOOP))


def basic_blocks(program: Program, kernel: KernelInfo) -> list[int]:
    """Sorted SIW indices that start a basic block: besides branch targets and the
    words after branches, a hardware loop's first body word (the loop-back target) and
    the word after its body (the exit)."""
    start, end = kernel.entry, kernel.entry + kernel.length
    leaders = {start}
    for index in range(start, end):
        d_op = program.words[index].d
        loop = loop_at(d_op, index)
        if loop is not None:
            leaders.update(w for w in (loop.first, loop.exit) if w < end)
            continue
        target = branch_target(d_op)
        if target is not None:
            leaders.add(target)
        if ends_block(d_op) and index + 1 < end:
            leaders.add(index + 1)
    return sorted(leaders)


def successors(program: Program, kernel: KernelInfo, index: int) -> list[int]:
    """SIW indices control may reach after word ``index`` (a DLOOP: its body and its
    exit; the last word of a body: the first body word and the exit)."""
    d_op = program.words[index].d
    family = d_op.info.family
    if family == "DHALT":
        return []
    kernel_end = kernel.entry + kernel.length
    setup = loop_at(d_op, index)
    if setup is not None:
        return [w for w in (setup.first, setup.exit) if w < kernel_end]
    target = branch_target(d_op)
    if family == "DJMP":
        return [target] if target is not None else []
    following = [index + 1] if index + 1 < kernel_end else []
    if target is None:
        loop = loop_ending_at(program, kernel, index)
        if loop is not None:
            return [loop.first] + following
    return following + ([target] if target is not None else [])


# ---------------------------------------------------------------------------
# Register representations.
# ---------------------------------------------------------------------------

ALWAYS = frozenset({Type.I64, Type.F64})  # 64-bit containers hold any bit pattern
ANY = frozenset(Type)
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


def _constant_fits(value: int) -> frozenset[Type]:
    """Representations that hold the 64-bit pattern of ``value`` exactly."""
    value &= (1 << 64) - 1
    signed = value - (1 << 64) if value >> 63 else value
    fits = set(ALWAYS)
    if I32_MIN <= signed <= I32_MAX:
        fits.add(Type.I32)
    if value >> 32 == 0:
        fits.add(Type.F32)
    return frozenset(fits)


def _typed_result(t: Type) -> frozenset[Type]:
    return ALWAYS | {t}


PARAM_TYPES = {"i32": Type.I32, "i64": Type.I64, "f32": Type.F32, "f64": Type.F64}


@dataclass
class _DefSite:
    """What one definition of an r register may be stored in, given the current
    representations of other registers (copies depend on their source)."""

    fits: Callable[[dict[int, Type]], frozenset[Type]]


def _def_fits(program: Program, kernel: KernelInfo, instr: Instr) -> _DefSite:
    family = instr.info.family
    values = operand_values(instr)
    t = instr.info.type
    if family == "DMOVI":
        fits = _constant_fits(values["value"])
        return _DefSite(lambda _reprs: fits)
    if family == "DLDC":
        fits = _constant_fits(program.pool[values["index"]])
        return _DefSite(lambda _reprs: fits)
    if family == "DARG":
        param = kernel.params[values["param"]]
        fits = _typed_result(PARAM_TYPES[param.dtype]) if param.dtype in PARAM_TYPES else ANY
        return _DefSite(lambda _reprs: fits)
    if family == "DMOV":
        src = values["rs"]
        return _DefSite(lambda reprs: ALWAYS | {reprs[src]})
    if family == "DSEL":
        a, b = values["rs1"], values["rs2"]
        return _DefSite(lambda reprs: ALWAYS | ({reprs[a]} & {reprs[b]}))
    if family in ("DCMP", "CSID", "CNUM"):  # small non-negative integers
        return _DefSite(lambda _reprs: ANY)
    if family == "DPOPCNT":
        return _DefSite(lambda _reprs: frozenset({Type.I32, Type.I64, Type.F64}))
    if t is not None:
        fits = _typed_result(t)
        return _DefSite(lambda _reprs: fits)
    return _DefSite(lambda _reprs: ALWAYS)  # fills, unpacks: unknown bits


def _r_operands(instr: Instr, roles: tuple[Role, ...]) -> list[int]:
    return [value for operand, value in zip(instr.info.operands, instr.args)
            if operand.kind is Kind.R and operand.role in roles]


def register_types(program: Program, kernel: KernelInfo) -> dict[int, Type]:
    """The representation of each r register (0..15) in this kernel."""
    defs: dict[int, list[_DefSite]] = {reg: [] for reg in range(RegClass.R.count)}
    uses: dict[int, Counter[Type]] = {reg: Counter() for reg in range(RegClass.R.count)}
    for index in range(kernel.entry, kernel.entry + kernel.length):
        for instr in program.words[index].ops:
            for reg in _r_operands(instr, (Role.DEF, Role.USEDEF)):
                defs[reg].append(_def_fits(program, kernel, instr))
            if instr.info.type is not None:
                for reg in _r_operands(instr, (Role.USE,)):
                    uses[reg][instr.info.type] += 1
    reprs = {reg: _preferred(ANY, uses[reg]) for reg in defs}
    # Registers read before any write start as zero bits: every representation holds 0.
    for _ in range(4 * RegClass.R.count):
        changed = False
        for reg, sites in defs.items():
            allowed = ANY
            for site in sites:
                allowed = allowed & site.fits(reprs)
            choice = _preferred(allowed, uses[reg]) if allowed else Type.I64
            if choice != reprs[reg]:
                reprs[reg] = choice
                changed = True
        if not changed:
            return reprs
    return {reg: Type.I64 for reg in defs}  # no fixed point: the safe container


def _preferred(allowed: frozenset[Type], uses: Counter[Type]) -> Type:
    """The most used type among the allowed ones, else i64."""
    ranked = [t for t, _count in uses.most_common() if t in allowed]
    if ranked:
        return ranked[0]
    return Type.I64 if Type.I64 in allowed else min(allowed)


# ---------------------------------------------------------------------------
# Regions of p registers.
# ---------------------------------------------------------------------------

UNKNOWN = -1
POST_INCREMENT_FAMILIES = frozenset({"SGATHERI", "SSCATTRI"})
RegionState = tuple[int, ...]  # per p register: a parameter index or UNKNOWN


def _transfer(instr: Instr, state: RegionState, kernel: KernelInfo) -> RegionState:
    family = instr.info.family
    values = operand_values(instr)
    new = list(state)
    if family == "SBASE":
        param = values["param"]
        new[values["pd"]] = param if kernel.params[param].is_tensor else UNKNOWN
    elif family == "SINDEX":
        # Moving along D10 changes the region; smaller dimensions keep it.
        keeps = values["dim"] < REGION_DIM
        new[values["pd"]] = state[values["ps"]] if keeps else UNKNOWN
    elif family == "SMOVP":
        new[values["pd"]] = state[values["ps"]]
    elif family in POST_INCREMENT_FAMILIES:
        # A step along D0 keeps the region; a carry into D10 leaves the coordinate
        # outside the tensor, which the access's offset check catches.
        pass
    else:
        for operand, value in zip(instr.info.operands, instr.args):
            if operand.kind is Kind.P and operand.role in (Role.DEF, Role.USEDEF):
                new[value] = UNKNOWN
    return tuple(new)


def _join(a: RegionState | None, b: RegionState) -> RegionState:
    if a is None:
        return b
    return tuple(x if x == y else UNKNOWN for x, y in zip(a, b))


def region_facts(program: Program, kernel: KernelInfo) -> dict[int, RegionState]:
    """For each reachable SIW index, the p-register regions *before* the word."""
    entry_state: RegionState = tuple([UNKNOWN] * RegClass.P.count)
    before: dict[int, RegionState] = {kernel.entry: entry_state}
    worklist = [kernel.entry]
    while worklist:
        index = worklist.pop()
        state = before[index]
        # Only S ops define p registers and a word has one S op: no intra-word order.
        after = _transfer(program.words[index].s, state, kernel)
        for succ in successors(program, kernel, index):
            joined = _join(before.get(succ), after)
            if before.get(succ) != joined:
                before[succ] = joined
                worklist.append(succ)
    return before
