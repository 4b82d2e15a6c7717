"""Emitters of D-pipe ops: one function per family, gathered in ``DENSE_EMITTERS``.

Semantics are common.md's: integers wrap at the op's width, integer division traps on
zero and gives INT_MIN / -1 = INT_MIN, INT_MIN % -1 = 0; floats are IEEE in the op's
precision (no fast-math flags unless asked), min/max propagate NaN (llvm.minimum and
llvm.maximum), exp/log/tanh call the C library, DCVT float -> int saturates
(llvm.fptosi.sat), comparisons are signed or ordered except NE on floats (unordered).
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from phextcc.backend.hardware_loops import loop_at
from phextcc.backend.isa import Cond, RedOp, RegClass, Type
from phextcc.backend.program import Instr
from runtime.jit.analysis import operand_values
from runtime.jit.irtypes import I1, I64, LLVM_TYPE, const_int, declare_intrinsic, from_bits
from runtime.jit.layout import ErrorCode
from runtime.jit.reduce_ops import fold_step, reduction_defined
from runtime.jit.translate import Emitter, KernelTranslator, WordEffects, Write

ICMP = {Cond.EQ: "==", Cond.NE: "!=", Cond.LT: "<", Cond.LE: "<=", Cond.GT: ">",
        Cond.GE: ">="}
INT_BINARY = {"DADD": "add", "DSUB": "sub", "DMUL": "mul", "DAND": "and_", "DOR": "or_",
              "DXOR": "xor"}
FLOAT_BINARY = {"DADD": "fadd", "DSUB": "fsub", "DMUL": "fmul", "DDIV": "fdiv"}
INT_INTRINSIC_BINARY = {"DMIN": "llvm.smin", "DMAX": "llvm.smax"}
FLOAT_INTRINSIC_BINARY = {"DMIN": "llvm.minimum", "DMAX": "llvm.maximum"}
FLOAT_INTRINSIC_UNARY = {"DSQRT": "llvm.sqrt", "DFLOOR": "llvm.floor", "DCEIL": "llvm.ceil",
                         "DABS": "llvm.fabs"}
LIBM = {"DEXP": "exp", "DLOG": "log", "DTANH": "tanh"}


def _type(instr: Instr) -> Type:
    assert instr.info.type is not None
    return instr.info.type


def _result(instr: Instr, value: ir.Value, t: Type | None) -> WordEffects:
    return WordEffects([Write(RegClass.R, operand_values(instr)["rd"], value, t)])


def intrinsic(tr: KernelTranslator, name: str, t: ir.Type, args: list[ir.Value],
              extra: tuple[ir.Type, ...] = ()) -> ir.Value:
    """Call overloaded intrinsic ``name`` returning ``t`` (overloaded on t and ``extra``)."""
    fn = declare_intrinsic(tr.module, name, t, [a.type for a in args], [t, *extra])
    return tr.builder.call(fn, args)


def binary_value(tr: KernelTranslator, family: str, t: Type, a: ir.Value, b: ir.Value,
                 word: int) -> ir.Value:
    """rs1 <family> rs2 at type t, shared by DADD... and the reductions."""
    builder = tr.builder
    if t.is_float:
        if family in FLOAT_BINARY:
            return getattr(builder, FLOAT_BINARY[family])(a, b, flags=tr.fast_flags)
        return intrinsic(tr, FLOAT_INTRINSIC_BINARY[family], LLVM_TYPE[t], [a, b])
    if family in INT_BINARY:
        return getattr(builder, INT_BINARY[family])(a, b)
    if family in INT_INTRINSIC_BINARY:
        return intrinsic(tr, INT_INTRINSIC_BINARY[family], LLVM_TYPE[t], [a, b])
    return _int_division(tr, family, t, a, b, word)


def _int_division(tr: KernelTranslator, family: str, t: Type, a: ir.Value, b: ir.Value,
                  word: int) -> ir.Value:
    builder = tr.builder
    ty = LLVM_TYPE[t]
    tr.fail_unless(builder.icmp_signed("!=", b, ir.Constant(ty, 0)),
                   ErrorCode.DIVISION_BY_ZERO, word)
    minus_one = builder.icmp_signed("==", b, const_int(ty, -1))
    # Divide by 1 where the divisor is -1: sdiv INT_MIN, -1 is undefined in LLVM.
    safe = builder.select(minus_one, ir.Constant(ty, 1), b)
    if family == "DDIV":
        return builder.select(minus_one, builder.sub(ir.Constant(ty, 0), a),
                              builder.sdiv(a, safe))
    return builder.select(minus_one, ir.Constant(ty, 0), builder.srem(a, safe))


def emit_binary(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    t, v = _type(instr), operand_values(instr)
    a, b = tr.read_r(v["rs1"], t), tr.read_r(v["rs2"], t)
    return _result(instr, binary_value(tr, instr.info.family, t, a, b, word), t)


def emit_add_immediate(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    t, v = _type(instr), operand_values(instr)
    a = tr.read_r(v["rs"], t)
    return _result(instr, binary_value(tr, "DADD", t, a, const_int(LLVM_TYPE[t], v["value"]),
                                       word), t)


def emit_shift(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    t, v = _type(instr), operand_values(instr)
    a, b = tr.read_r(v["rs1"], t), tr.read_r(v["rs2"], t)
    amount = tr.builder.and_(b, const_int(LLVM_TYPE[t], t.bits - 1))
    shifted = tr.builder.shl(a, amount) if instr.info.family == "DSHL" else \
        tr.builder.ashr(a, amount)
    return _result(instr, shifted, t)


def emit_fma(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    t, v = _type(instr), operand_values(instr)
    args = [tr.read_r(v[name], t) for name in ("rs1", "rs2", "rs3")]
    return _result(instr, intrinsic(tr, "llvm.fma", LLVM_TYPE[t], args), t)


def emit_unary(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    t, v = _type(instr), operand_values(instr)
    family = instr.info.family
    a = tr.read_r(v["rs"], t)
    builder = tr.builder
    ty = LLVM_TYPE[t]
    if family == "DNEG":
        value = builder.fneg(a, flags=tr.fast_flags) if t.is_float else \
            builder.sub(ir.Constant(ty, 0), a)
    elif family == "DABS" and not t.is_float:
        value = intrinsic(tr, "llvm.abs", ty, [a, ir.Constant(I1, 0)])
    elif family == "DPOPCNT":
        value = intrinsic(tr, "llvm.ctpop", ty, [a])
    elif family in LIBM:
        name = LIBM[family] + ("f" if t is Type.F32 else "")
        value = builder.call(tr.runtime.libm_function(name, t), [a])
    else:
        value = intrinsic(tr, FLOAT_INTRINSIC_UNARY[family], ty, [a])
    return _result(instr, value, t)


def compare(tr: KernelTranslator, cond: Cond, t: Type, a: ir.Value, b: ir.Value) -> ir.Value:
    if not t.is_float:
        return tr.builder.icmp_signed(ICMP[cond], a, b)
    if cond is Cond.NE:
        return tr.builder.fcmp_unordered("!=", a, b)
    return tr.builder.fcmp_ordered(ICMP[cond], a, b)


def emit_cmp(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    t, v = _type(instr), operand_values(instr)
    flag = compare(tr, Cond(v["cc"]), t, tr.read_r(v["rs1"], t), tr.read_r(v["rs2"], t))
    return _result(instr, tr.bool_bits(flag), Type.I64)


def emit_sel(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    held = tr.reg_types[v["rd"]]  # the analysis made rd's type hold both sources exactly
    chosen = tr.builder.select(tr.is_nonzero(tr.read_r(v["rc"])), tr.read_r(v["rs1"], held),
                               tr.read_r(v["rs2"], held))
    return _result(instr, chosen, held)


def emit_mov(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    held = tr.reg_types[v["rd"]]
    return _result(instr, tr.read_r(v["rs"], held), held)


def emit_movi(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    return _result(instr, tr.i64(operand_values(instr)["value"]), Type.I64)


def emit_ldc(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    return _result(instr, tr.i64(tr.program.pool[operand_values(instr)["index"]]), Type.I64)


def emit_arg(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    return _result(instr, tr.scalar_bits[operand_values(instr)["param"]], Type.I64)


def emit_sym(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    return _result(instr, tr.symbols[operand_values(instr)["symbol"]], Type.I64)


def emit_chk(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    if not tr.options.checks or tr.proven_in_range(word, "D"):
        return WordEffects()  # dropped, or proven by a versioned loop's range check
    v = operand_values(instr)
    index = tr.read_r(v["rs"])
    extent = tr.extents[v["param"]][v["axis"]]
    inside = tr.builder.icmp_unsigned("<", index, extent)  # also rejects negative indices
    tr.fail_unless(inside, ErrorCode.INDEX_OUT_OF_RANGE, word, (v["param"], v["axis"], index))
    return WordEffects()


def convert_value(tr: KernelTranslator, value: ir.Value, source: Type, target: Type) -> ir.Value:
    builder = tr.builder
    ty = LLVM_TYPE[target]
    if source is target:
        return value
    if not source.is_float and not target.is_float:
        return builder.sext(value, ty) if target.bits > source.bits else builder.trunc(value, ty)
    if not source.is_float:
        return builder.sitofp(value, ty)
    if target.is_float:
        return builder.fpext(value, ty) if target.bits > source.bits else \
            builder.fptrunc(value, ty)
    return intrinsic(tr, "llvm.fptosi.sat", ty, [value], (LLVM_TYPE[source],))


def emit_cvt(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    t, v = _type(instr), operand_values(instr)
    source = Type(v["from"])
    return _result(instr, convert_value(tr, tr.read_r(v["rs"], source), source, t), t)


def emit_red(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    t, v = _type(instr), operand_values(instr)
    op = RedOp(v["op"])
    if not reduction_defined(op, t):
        return tr.unsupported(instr, word, int(op) + 1)
    lanes = [from_bits(tr.builder, lane, t) for lane in tr.read_m(v["ms"])]
    total = lanes[0]
    for lane in lanes[1:]:  # a left fold, lane 0 first
        total = fold_step(tr.builder, tr.module, op, t, total, lane, tr.fast_flags)
    return _result(instr, total, t)


# -- control flow: the condition is read now, the branch is taken after the writes ------


def _branch_to(tr: KernelTranslator, flag: ir.Value | None, target: int,
               word: int) -> Callable[[], None]:
    def terminate() -> None:
        taken = tr.blocks[target]
        if flag is None:
            tr.builder.branch(taken)
        else:
            tr.builder.cbranch(flag, taken, tr.blocks[word + 1])
    return terminate


def emit_br(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    t, v = _type(instr), operand_values(instr)
    assert instr.info.cond is not None
    flag = compare(tr, instr.info.cond, t, tr.read_r(v["rs1"], t), tr.read_r(v["rs2"], t))
    return WordEffects(terminator=_branch_to(tr, flag, v["target"], word))


def emit_bnz(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    flag = tr.is_nonzero(tr.read_r(v["rs"]))
    if instr.info.family == "DBZ":
        flag = tr.builder.not_(flag)
    return WordEffects(terminator=_branch_to(tr, flag, v["target"], word))


def emit_jmp(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    return WordEffects(terminator=_branch_to(tr, None, operand_values(instr)["target"], word))


def emit_loop_setup(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    """DLOOP: the trip count (signed i64) goes into the loop counter; no trips skip the
    body. The loop-back is emitted with the body's last word (translate._loop_back)."""
    loop = loop_at(instr, word)
    assert loop is not None
    count = tr.read_r(loop.count)

    def terminate() -> None:
        builder = tr.builder
        builder.store(count, tr.loop_remaining)
        runs = builder.icmp_signed(">", count, ir.Constant(I64, 0))
        builder.cbranch(runs, tr.blocks[loop.first], tr.blocks[loop.exit])
    return WordEffects(terminator=terminate)


def emit_halt(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    return WordEffects(terminator=lambda: tr.leave(ErrorCode.OK, word))


DENSE_EMITTERS: dict[str, Emitter] = {
    **{family: emit_binary for family in ("DADD", "DSUB", "DMUL", "DDIV", "DREM", "DMIN",
                                          "DMAX", "DAND", "DOR", "DXOR")},
    **{family: emit_unary for family in ("DNEG", "DABS", "DSQRT", "DEXP", "DLOG", "DTANH",
                                         "DFLOOR", "DCEIL", "DPOPCNT")},
    "DSHL": emit_shift, "DSHR": emit_shift, "DFMA": emit_fma, "DCMP": emit_cmp,
    "DSEL": emit_sel, "DMOV": emit_mov, "DMOVI": emit_movi, "DADDI": emit_add_immediate,
    "DLDC": emit_ldc,
    "DARG": emit_arg, "DSYM": emit_sym, "DCHK": emit_chk, "DCVT": emit_cvt,
    "DRED": emit_red, "DBR": emit_br, "DBNZ": emit_bnz, "DBZ": emit_bnz, "DJMP": emit_jmp,
    "DHALT": emit_halt, "DLOOP": emit_loop_setup,
}
