"""Emitters of S-pipe ops: coordinates, tensor accesses, prefetch, spills.

An access whose p register has a statically known region (analysis.region_facts) reads
the tensor's own ``noalias`` base pointer with ``gep`` at ``coord + offset - base`` after
one unsigned compare of that offset against the tensor's element count, an entry-block
value: a loop-invariant limit, which keeps the loop vectorisable. The failing branch leaves
the kernel with MEMORY_FAULT and the address, so the launcher raises the simulator's exact
MemoryFault. Other accesses go through the checked region-table lookup (regions.py).
"""

from __future__ import annotations

from llvmlite import ir

from phextcc.backend.isa import OFFSET_BITS, PHEXT_DIM_BITS, RegClass, Type
from phextcc.backend.program import Instr
from runtime.jit.analysis import UNKNOWN, operand_values
from runtime.jit.irtypes import I32, I64, I128, LLVM_TYPE, PTR, VOID, const_int, declare_intrinsic
from runtime.jit.layout import ErrorCode
from runtime.jit.translate import Emitter, KernelTranslator, WordEffects, Write

PREFETCH_LOCALITY = {0: 3, 1: 2, 2: 1, 3: 0}  # Hint L1/L2/L3/NTA -> llvm.prefetch locality


def _type(instr: Instr) -> Type:
    assert instr.info.type is not None
    return instr.info.type


def emit_base(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    coord = ir.Constant(I128, v["param"] << OFFSET_BITS)
    return WordEffects([Write(RegClass.P, v["pd"], coord)])


def emit_index(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    builder = tr.builder
    step = builder.sext(tr.read_r(v["offset"]), I128)
    if v["dim"]:
        step = builder.mul(step, ir.Constant(I128, 1 << (PHEXT_DIM_BITS * v["dim"])))
    # One plain add (wrapping at 128 bits): LLVM sees an induction variable.
    moved = builder.add(tr.read_p(v["ps"]), step)
    return WordEffects([Write(RegClass.P, v["pd"], moved)])


def emit_movp(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    return WordEffects([Write(RegClass.P, v["pd"], tr.read_p(v["ps"]))])


def element_pointer(tr: KernelTranslator, instr: Instr, word: int, coord_reg: int,
                    offset: int, t: Type) -> ir.Value:
    """A pointer to the element an access of type ``t`` touches, after its check."""
    builder = tr.builder
    address = builder.add(tr.read_p(coord_reg), const_int(I128, offset))
    region = tr.region_of(word, coord_reg)
    details = (builder.trunc(address, I64),
               builder.trunc(builder.lshr(address, ir.Constant(I128, 64)), I64),
               instr.info.opcode)
    if region != UNKNOWN and tr.tensor_type(region) is t:
        element = builder.sub(address, ir.Constant(I128, region << OFFSET_BITS))
        if not tr.proven_in_range(word, "S"):  # versioning.py proved the loop's range
            inside = builder.icmp_unsigned("<", element, tr.numel[region])
            tr.fail_unless(inside, ErrorCode.MEMORY_FAULT, word, details)
        return builder.gep(tr.tensor_base[region], [builder.trunc(element, I64)],
                           inbounds=True, source_etype=LLVM_TYPE[t])
    pointer = builder.call(tr.runtime.region_element,
                           [tr.region_table, address, ir.Constant(I64, int(t)),
                            ir.Constant(I64, t.bits // 8)])
    tr.fail_unless(builder.icmp_unsigned("!=", pointer, ir.Constant(PTR, None)),
                   ErrorCode.MEMORY_FAULT, word, details)
    return pointer


def emit_gather(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    t, v = _type(instr), operand_values(instr)
    pointer = element_pointer(tr, instr, word, v["coord"], v["offset"], t)
    value = tr.builder.load(pointer, typ=LLVM_TYPE[t])
    return WordEffects([Write(RegClass.R, v["rd"], value, t)])


def emit_scatter(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    t, v = _type(instr), operand_values(instr)
    value = tr.read_r(v["rs"], t)
    pointer = element_pointer(tr, instr, word, v["coord"], v["offset"], t)
    tr.builder.store(value, pointer)
    return WordEffects()


def _step_coordinate(tr: KernelTranslator, v: dict[str, int]) -> Write:
    """The post-increment's write-back: one plain 128-bit add of the step (an induction
    variable to LLVM), computed from the coordinate as it was before the word."""
    moved = tr.builder.add(tr.read_p(v["coord"]), const_int(I128, v["step"]))
    return Write(RegClass.P, v["coord"], moved)


def emit_gather_post(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    effects = emit_gather(tr, instr, word)
    effects.writes.append(_step_coordinate(tr, operand_values(instr)))
    return effects


def emit_scatter_post(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    effects = emit_scatter(tr, instr, word)
    effects.writes.append(_step_coordinate(tr, operand_values(instr)))
    return effects


def emit_prefetch(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    """A hint, for addresses in a statically known tensor. ``llvm.prefetch`` has no
    effect on the program's behaviour whatever the address (it never faults), so the
    element offset is not range-checked: a prefetch costs one add and the instruction
    (the toolchain emits a dozen per row of an unrolled loop)."""
    v = operand_values(instr)
    region = tr.region_of(word, v["coord"])
    if region == UNKNOWN:
        return WordEffects()
    builder = tr.builder
    address = builder.add(tr.read_p(v["coord"]), const_int(I128, v["offset"]))
    element = builder.trunc(builder.sub(address, ir.Constant(I128, region << OFFSET_BITS)),
                            I64)
    pointer = builder.gep(tr.tensor_base[region], [element],
                          source_etype=LLVM_TYPE[tr.tensor_type(region)])
    fn = declare_intrinsic(tr.module, "llvm.prefetch", VOID, [PTR, I32, I32, I32], [PTR])
    builder.call(fn, [pointer, ir.Constant(I32, 0),
                      ir.Constant(I32, PREFETCH_LOCALITY[v["hint"]]), ir.Constant(I32, 1)])
    return WordEffects()


def emit_flush(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    return WordEffects()  # write-back and eviction do not change results on the host


# -- spills: a private [spill_words x i64] alloca that SROA splits into SSA values -----


def _slot(tr: KernelTranslator, slot: int) -> ir.Value:
    return tr.spill_slot(slot)


def emit_spill(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    tr.builder.store(tr.read_r(v["rs"]), _slot(tr, v["slot"]))
    return WordEffects()


def emit_fill(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    value = tr.builder.load(_slot(tr, v["slot"]), typ=I64)
    return WordEffects([Write(RegClass.R, v["rd"], value, Type.I64)])


def emit_spill_p(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    builder = tr.builder
    coord = tr.read_p(v["ps"])
    builder.store(builder.trunc(coord, I64), _slot(tr, v["slot"]))  # low word first
    builder.store(builder.trunc(builder.lshr(coord, ir.Constant(I128, 64)), I64),
                  _slot(tr, v["slot"] + 1))
    return WordEffects()


def emit_fill_p(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    builder = tr.builder
    low = builder.zext(builder.load(_slot(tr, v["slot"]), typ=I64), I128)
    high = builder.zext(builder.load(_slot(tr, v["slot"] + 1), typ=I64), I128)
    coord = builder.or_(low, builder.shl(high, ir.Constant(I128, 64)))
    return WordEffects([Write(RegClass.P, v["pd"], coord)])


def emit_spill_m(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    for lane, value in enumerate(tr.read_m(v["ms"])):
        tr.builder.store(value, _slot(tr, v["slot"] + lane))
    return WordEffects()


def emit_fill_m(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    return WordEffects([
        Write(RegClass.M, v["md"], tr.builder.load(_slot(tr, v["slot"] + lane), typ=I64),
              Type(lane))
        for lane in range(4)])


# -- SALLOC / SFREE: the launcher's allocator (it owns the region table), called back ---


def _call_allocator(tr: KernelTranslator, instr: Instr, word: int, operation: int,
                    size: ir.Value, coord: ir.Value) -> None:
    builder = tr.builder
    low = builder.trunc(coord, I64)
    high = builder.trunc(builder.lshr(coord, ir.Constant(I128, 64)), I64)
    code = builder.call(tr.runtime.allocator(), [tr.ctx, ir.Constant(I64, operation), size,
                                                 low, high, tr.message,
                                                 ir.Constant(I64, word)])
    tr.fail_unless(builder.icmp_unsigned("==", code, ir.Constant(I32, 0)),
                   ErrorCode.MEMORY_FAULT, word, (0, 0, instr.info.opcode))


def emit_alloc(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    _call_allocator(tr, instr, word, 0, tr.read_r(v["size"]), ir.Constant(I128, 0))
    builder = tr.builder
    low = builder.zext(builder.load(tr.message_lane(0)), I128)  # the allocator's result
    high = builder.zext(builder.load(tr.message_lane(1)), I128)
    coord = builder.or_(low, builder.shl(high, ir.Constant(I128, 64)))
    return WordEffects([Write(RegClass.P, v["pd"], coord)])


def emit_free(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    _call_allocator(tr, instr, word, 1, tr.read_r(v["size"]), tr.read_p(v["coord"]))
    return WordEffects()


MEMORY_EMITTERS: dict[str, Emitter] = {
    "SBASE": emit_base, "SINDEX": emit_index, "SMOVP": emit_movp, "SGATHER": emit_gather,
    "SSCATTR": emit_scatter, "SGATHERI": emit_gather_post, "SSCATTRI": emit_scatter_post,
    "SPREFCH": emit_prefetch, "SFLUSH": emit_flush,
    "SSPILL": emit_spill, "SFILL": emit_fill, "SSPILLP": emit_spill_p,
    "SFILLP": emit_fill_p, "SSPILLM": emit_spill_m, "SFILLM": emit_fill_m,
    "SALLOC": emit_alloc, "SFREE": emit_free,
}
