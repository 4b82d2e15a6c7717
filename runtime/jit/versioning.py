"""Loop versioning: one range check at loop entry selects a copy of the loop whose tensor
accesses carry no per-access bounds check.

The analysis works on the SIW stream (not on LLVM IR) because that is where the facts
are plain: which registers a loop writes, which p registers move by a loop-invariant
step, the region of each coordinate (analysis.region_facts) and the loop's trip count.
In LLVM IR the same facts are hidden behind i128 coordinate arithmetic that LLVM's own
range-check elimination does not handle.

A loop qualifies when its SIW range ``[header, latch]`` is entered at the header, the
header's D op is ``DBR.ge.i64 rI, rN, @exit`` with the exit outside the range, the latch
is ``DJMP @header``, no other word of the range branches or halts, rI is written in the
range only by ``DADD.i64 rI, rI, rS`` and rN, rS are not written in the range. Such a
loop runs its body for ``k = 0 .. T-1`` with ``rI = i0 + k*rS``. A tensor access
``SGATHER/SSCATTR`` in the body through a p register that the range never writes, or
writes only by ``SINDEX p, p, rK, d0`` (rK not written in the range), touches the
elements ``e0 + k*K`` (``+K`` when the access follows the SINDEX), an arithmetic
progression: it stays in ``[0, numel)`` for every k exactly when both its ends do.

At the header the translator emits a dispatch block that evaluates those end points
(with bounds on rS, rK and T that keep the arithmetic exact in i128) and branches to the
unchecked copy when every proven access is in range, else to the ordinary checked loop.
The checked loop is the original translation, so an out-of-range run faults at the
exact iteration with the earlier writes kept. Every other check (DCHK, division by zero,
accesses not proven) stays in both copies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from llvmlite import ir

from phextcc.backend.isa import OFFSET_BITS, Cond, Effect, RegClass, Role, Type
from phextcc.backend.program import Instr, KernelInfo, Program
from runtime.jit.analysis import UNKNOWN, RegionState, branch_target, operand_values
from runtime.jit.irtypes import DTYPE_TYPE, I1, I32, I64, I128

if TYPE_CHECKING:  # the translator imports this module
    from runtime.jit.translate import KernelTranslator

# Bounds that keep the range check exact in i64: |rS|, |rK|, T <= 2^31 make every
# (T-1)*K smaller than 2^62 in magnitude; i0, rN within 2^61 keep rN - i0 and rN + rS
# inside i64; tensors up to 2^62 elements.
STEP_LIMIT = 1 << 31
TRIP_LIMIT = 1 << 31
INDEX_LIMIT = 1 << 61
NUMEL_LIMIT = 1 << 62
ACCESS_FAMILIES = ("SGATHER", "SSCATTR")
WRITING_ROLES = (Role.DEF, Role.USEDEF)


@dataclass(frozen=True)
class ProvenAccess:
    """A tensor access whose element offsets form ``e0 + k*K`` over the iterations."""

    word: int
    coord: int  # the p register
    offset: int  # the immediate element offset
    region: int  # the tensor parameter it addresses
    stride: int | None  # the register rK of the p register's SINDEX, None if invariant
    after_step: bool  # the access reads the coordinate after this iteration's SINDEX


@dataclass(frozen=True)
class VersionedLoop:
    header: int
    latch: int
    induction: int  # rI
    limit: int  # rN
    step: int  # rS
    accesses: tuple[ProvenAccess, ...]

    @property
    def words(self) -> range:
        return range(self.header, self.latch + 1)

    def proven(self) -> frozenset[tuple[int, int]]:
        return frozenset((a.word, a.coord) for a in self.accesses)


def _written(instr: Instr, regclass: RegClass) -> list[int]:
    return [value for operand, value in zip(instr.info.operands, instr.args)
            if operand.kind.regclass is regclass and operand.role in WRITING_ROLES]


def _writers(program: Program, words: range,
             regclass: RegClass) -> dict[int, list[tuple[int, Instr]]]:
    """register -> every (word, op) of the range that writes it."""
    found: dict[int, list[tuple[int, Instr]]] = {}
    for index in words:
        for instr in program.words[index].ops:
            if instr.is_nop:
                continue
            for reg in _written(instr, regclass):
                found.setdefault(reg, []).append((index, instr))
    return found


def _induction_step(r_writers: dict[int, list[tuple[int, Instr]]], induction: int) -> int | None:
    """rS when rI's only write in the loop is ``DADD.i64 rI, rI, rS`` (or rS, rI)."""
    writes = r_writers.get(induction, [])
    if len(writes) != 1:
        return None
    instr = writes[0][1]
    if instr.info.family != "DADD" or instr.info.type is not Type.I64:
        return None
    v = operand_values(instr)
    if v["rs1"] == induction and v["rs2"] != induction:
        return v["rs2"]
    if v["rs2"] == induction and v["rs1"] != induction:
        return v["rs1"]
    return None


def _p_stride(p_writers: dict[int, list[tuple[int, Instr]]],
              r_writers: dict[int, list[tuple[int, Instr]]],
              preg: int, header: int) -> tuple[bool, int | None, int]:
    """(affine?, rK or None when invariant, word of the SINDEX or -1)."""
    writes = p_writers.get(preg, [])
    if not writes:
        return True, None, -1
    if len(writes) != 1:
        return False, None, -1
    word, instr = writes[0]
    v = operand_values(instr)
    if (instr.info.family != "SINDEX" or word == header or v["pd"] != preg
            or v["ps"] != preg or v["dim"] != 0 or v["offset"] in r_writers):
        return False, None, -1
    return True, v["offset"], word


def _loop_at(program: Program, kernel: KernelInfo, regions: dict[int, RegionState],
             header: int, latch: int) -> VersionedLoop | None:
    words = range(header, latch + 1)
    if any(index not in regions for index in words):
        return None
    test = program.words[header].d
    if test.info.family != "DBR" or test.info.cond is not Cond.GE or \
            test.info.type is not Type.I64:
        return None
    exit_target = branch_target(test)
    if exit_target is None or exit_target in words:
        return None
    for index in range(header + 1, latch):
        if program.words[index].d.info.effects & (Effect.BRANCH | Effect.HALT):
            return None
    v = operand_values(test)
    induction, limit = v["rs1"], v["rs2"]
    r_writers = _writers(program, words, RegClass.R)
    p_writers = _writers(program, words, RegClass.P)
    step = _induction_step(r_writers, induction)
    if step is None or limit in r_writers or step in r_writers or limit == induction:
        return None
    accesses = []
    for index in range(header + 1, latch + 1):
        s_op = program.words[index].s
        if s_op.info.family not in ACCESS_FAMILIES:
            continue
        a = operand_values(s_op)
        region = regions[index][a["coord"]]
        if region == UNKNOWN or DTYPE_TYPE[kernel.params[region].dtype] is not s_op.info.type:
            continue  # reached through the region table: stays checked
        affine, stride, step_word = _p_stride(p_writers, r_writers, a["coord"], header)
        if not affine:
            continue
        accesses.append(ProvenAccess(index, a["coord"], a["offset"], region, stride,
                                     stride is not None and index > step_word))
    if not accesses:
        return None
    return VersionedLoop(header, latch, induction, limit, step, tuple(accesses))


def versioned_loops(program: Program, kernel: KernelInfo,
                    regions: dict[int, RegionState]) -> dict[int, VersionedLoop]:
    """header SIW index -> the loop to version, for every loop that qualifies."""
    loops: dict[int, VersionedLoop] = {}
    start, end = kernel.entry, kernel.entry + kernel.length
    for latch in range(start, end):
        jump = program.words[latch].d
        target = branch_target(jump)
        if jump.info.family != "DJMP" or target is None or not start <= target <= latch:
            continue
        loop = _loop_at(program, kernel, regions, target, latch)
        if loop is not None and target not in loops:
            loops[target] = loop
    return loops


class RangeCheck:
    """Emits, at the loop entry, the i1 'every proven access stays in range'.

    It runs once per entry of the loop (per row of an embedding bag), so it is kept in
    i64 wherever the bounds below make that exact: only the first element offset of an
    access, which starts from the packed i128 coordinate, is computed in i128."""

    def __init__(self, tr: KernelTranslator, loop: VersionedLoop) -> None:
        self.tr = tr
        self.loop = loop
        self.builder = tr.builder

    def value(self, reg: int) -> ir.Value:
        return self.tr.read_r(reg, Type.I64)

    def within(self, value: ir.Value, low: int, high: int) -> ir.Value:
        b = self.builder
        return b.and_(b.icmp_signed(">=", value, ir.Constant(I64, low)),
                      b.icmp_signed("<=", value, ir.Constant(I64, high)))

    def emit(self) -> ir.Value:
        b, loop = self.builder, self.loop
        start, limit, step = (self.value(r) for r in (loop.induction, loop.limit, loop.step))
        # With these bounds rN - i0 and rN + rS fit in i64: rI cannot wrap in the loop.
        ok = b.and_(self.within(step, 1, STEP_LIMIT), self.within(start, -INDEX_LIMIT,
                                                                     INDEX_LIMIT))
        ok = b.and_(ok, self.within(limit, -INDEX_LIMIT, INDEX_LIMIT))
        runs = b.icmp_signed("<", start, limit)
        safe_step = b.select(ok, step, ir.Constant(I64, 1))
        distance = b.select(b.and_(ok, runs), b.sub(limit, start), ir.Constant(I64, 0))
        # T = ceil((rN - i0) / rS) (0 when the loop does not run).
        span = b.sub(b.add(distance, safe_step), ir.Constant(I64, 1))
        trips = b.udiv(span, safe_step)
        ok = b.and_(ok, b.icmp_unsigned("<=", trips, ir.Constant(I64, TRIP_LIMIT)))
        last = b.sub(trips, ir.Constant(I64, 1))
        strides: dict[int, ir.Value] = {}
        for access in loop.accesses:
            if access.stride is not None and access.stride not in strides:
                strides[access.stride] = self.value(access.stride)
                ok = b.and_(ok, self.within(strides[access.stride], -STEP_LIMIT, STEP_LIMIT))
        in_range: ir.Value = ir.Constant(I1, 1)
        for access in loop.accesses:
            in_range = b.and_(in_range, self.access_in_range(access, strides, last))
        # No iteration runs: nothing is accessed, the unchecked copy is as good.
        return b.and_(ok, b.or_(b.not_(runs), in_range))

    def access_in_range(self, access: ProvenAccess, strides: dict[int, ir.Value],
                        last: ir.Value) -> ir.Value:
        b = self.builder
        first = b.sub(b.add(self.tr.read_p(access.coord), ir.Constant(I128, access.offset)),
                      ir.Constant(I128, access.region << OFFSET_BITS))
        numel = self.tr.numel[access.region]
        if access.stride is None:
            return b.icmp_unsigned("<", first, numel)
        stride = strides[access.stride]
        if access.after_step:
            first = b.add(first, b.sext(stride, I128))
        inside = b.icmp_unsigned("<", first, numel)
        # first < numel <= 2^62 and |(T-1) * K| < 2^62: the last offset is exact in i64
        # (a negative one reads as a huge unsigned value and fails the compare).
        small = b.icmp_unsigned("<=", numel, ir.Constant(I128, NUMEL_LIMIT))
        final = b.add(b.trunc(first, I64), b.mul(last, stride))
        return b.and_(b.and_(inside, small),
                      b.icmp_unsigned("<", final, b.trunc(numel, I64)))


def emit_versioned_loop(tr: KernelTranslator, loop: VersionedLoop) -> int:
    """Translate ``loop`` twice behind its range check; the builder is positioned at the
    header's block, which becomes the dispatch. Returns the first SIW index after the loop.

    The checked copy keeps the original blocks of the words after the header, so a branch
    from outside into the middle of the range still lands in checked code."""
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
        tr.blocks, tr.proven_accesses = blocks, proven
        try:
            _emit_words(tr, loop.words)
        finally:
            tr.blocks, tr.proven_accesses = original, frozenset()
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
