"""LLVM types of the machine's values and the exact bit conversions between register
representations (a register is 64 bits; see analysis.register_types)."""

from __future__ import annotations

from llvmlite import ir

from phextcc.backend.isa import Type

I1 = ir.IntType(1)
I8 = ir.IntType(8)
I32 = ir.IntType(32)
I64 = ir.IntType(64)
I128 = ir.IntType(128)
F32 = ir.FloatType()
F64 = ir.DoubleType()
PTR = ir.PointerType()
VOID = ir.VoidType()

LLVM_TYPE: dict[Type, ir.Type] = {Type.I32: I32, Type.I64: I64, Type.F32: F32, Type.F64: F64}
INT_OF_SIZE: dict[int, ir.IntType] = {32: I32, 64: I64}
DTYPE_TYPE = {"i32": Type.I32, "i64": Type.I64, "f32": Type.F32, "f64": Type.F64}


def to_bits(builder: ir.IRBuilder, value: ir.Value, t: Type) -> ir.Value:
    """The 64-bit register pattern of a value of type ``t`` (common.md conventions:
    i32 sign-extended, f32 bits zero-extended)."""
    if t is Type.I64:
        return value
    if t is Type.I32:
        return builder.sext(value, I64)
    if t is Type.F32:
        return builder.zext(builder.bitcast(value, I32), I64)
    return builder.bitcast(value, I64)


def from_bits(builder: ir.IRBuilder, bits: ir.Value, t: Type) -> ir.Value:
    """The value of type ``t`` a 64-bit register pattern holds (low half for 32 bits)."""
    if t is Type.I64:
        return bits
    if t is Type.I32:
        return builder.trunc(bits, I32)
    if t is Type.F32:
        return builder.bitcast(builder.trunc(bits, I32), F32)
    return builder.bitcast(bits, F64)


def convert_repr(builder: ir.IRBuilder, value: ir.Value, source: Type, target: Type) -> ir.Value:
    """Reinterpret a register held as ``source`` as ``target`` through its 64 bits."""
    if source is target:
        return value
    if {source, target} == {Type.F32, Type.I32}:
        return builder.bitcast(value, LLVM_TYPE[target])
    return from_bits(builder, to_bits(builder, value, source), target)


def const_int(t: ir.IntType, value: int) -> ir.Constant:
    return ir.Constant(t, value & ((1 << t.width) - 1))


def type_suffix(t: ir.Type) -> str:
    """LLVM's overload suffix of a scalar type (i32, f32, ...)."""
    if isinstance(t, ir.IntType):
        return f"i{t.width}"
    return {F32: "f32", F64: "f64"}.get(t, "p0")


def declare_intrinsic(module: ir.Module, name: str, ret: ir.Type, args: list[ir.Type],
                      overloads: list[ir.Type]) -> ir.Function:
    """``name.<suffixes>``, declared once per module with an explicit signature."""
    full = ".".join([name, *(type_suffix(t) for t in overloads)])
    if full in module.globals:
        return module.globals[full]
    return ir.Function(module, ir.FunctionType(ret, args), full)
