"""Per-op semantics of the D pipe, through the whole simulator."""

from __future__ import annotations

import math
import struct
from fractions import Fraction

import numpy as np
import pytest

from phextcc.backend.isa import ISA, Cond, RedOp, Type
from runtime.decode import OP_BUILDERS
from runtime.errors import IntegerDivisionByZero
from runtime.floatbits import (
    f32_bits,
    f32_value,
    f64_bits,
    f64_value,
    fma_f32,
    fma_f64,
    i32_bits,
    signed64,
)
from tests.runtime.build import op, registers_after

M64 = (1 << 64) - 1


def i64(v: int) -> int:
    return v & M64


def f32(x: float) -> int:
    return f32_bits(x)


def f64(x: float) -> int:
    return f64_bits(x)


def binary(mnemonic: str, a: int, b: int) -> int:
    return registers_after([op(mnemonic, 3, 1, 2)], {1: a, 2: b})[3]


def unary(mnemonic: str, a: int) -> int:
    return registers_after([op(mnemonic, 3, 1)], {1: a})[3]


def test_every_executable_family_has_a_builder() -> None:
    families = {o.family for o in ISA if not o.reserved and not o.is_nop}
    assert families - set(OP_BUILDERS) == set()


@pytest.mark.parametrize("mnemonic,a,b,want", [
    ("DADD.i32", 0x7FFFFFFF, 1, i32_bits(-(1 << 31))),
    ("DADD.i64", (1 << 63) - 1, 1, 1 << 63),
    ("DSUB.i32", i32_bits(-(1 << 31)), 1, 0x7FFFFFFF),
    ("DSUB.i64", 0, 1, M64),
    ("DMUL.i32", 0x10000, 0x10000, 0),
    ("DMUL.i64", 1 << 62, 4, 0),
    ("DDIV.i32", i32_bits(-7), 2, i32_bits(-3)),
    ("DDIV.i64", i64(-7), i64(-2), 3),
    ("DDIV.i32", i32_bits(-(1 << 31)), i32_bits(-1), i32_bits(-(1 << 31))),
    ("DDIV.i64", 1 << 63, M64, 1 << 63),
    ("DREM.i32", i32_bits(-7), 2, i32_bits(-1)),
    ("DREM.i64", 7, i64(-2), 1),
    ("DREM.i32", i32_bits(-(1 << 31)), i32_bits(-1), 0),
    ("DREM.i64", 1 << 63, M64, 0),
    ("DMIN.i32", i32_bits(-1), 1, i32_bits(-1)),
    ("DMAX.i64", i64(-5), 3, 3),
    ("DAND.i64", 0b1100, 0b1010, 0b1000),
    ("DOR.i32", 0b1100, 0b1010, 0b1110),
    ("DXOR.i64", 1, 1, 0),
    ("DSHL.i32", 1, 31, i32_bits(-(1 << 31))),
    ("DSHL.i32", 1, 33, 2),  # shift amount mod 32
    ("DSHL.i64", 3, 63, 1 << 63),
    ("DSHR.i32", i32_bits(-8), 1, i32_bits(-4)),  # arithmetic
    ("DSHR.i64", i64(-1), 70, M64),  # mod 64 -> 6
])
def test_integer_binary(mnemonic: str, a: int, b: int, want: int) -> None:
    assert binary(mnemonic, a, b) == want


@pytest.mark.parametrize("mnemonic", ["DDIV.i32", "DDIV.i64", "DREM.i32", "DREM.i64"])
def test_integer_division_by_zero_traps(mnemonic: str) -> None:
    with pytest.raises(IntegerDivisionByZero, match="integer division by zero"):
        binary(mnemonic, 5, 0)


@pytest.mark.parametrize("mnemonic,a,want", [
    ("DNEG.i32", i32_bits(-(1 << 31)), i32_bits(-(1 << 31))),
    ("DNEG.i64", 5, i64(-5)),
    ("DABS.i32", i32_bits(-(1 << 31)), i32_bits(-(1 << 31))),
    ("DABS.i64", i64(-9), 9),
    ("DPOPCNT.i32", i32_bits(-1), 32),
    ("DPOPCNT.i64", M64, 64),
])
def test_integer_unary(mnemonic: str, a: int, want: int) -> None:
    assert unary(mnemonic, a) == want


def test_f32_arithmetic_rounds_to_f32() -> None:
    a, b = f32(1.0), f32(2.0 ** -30)
    assert f32_value(binary("DADD.f32", a, b)) == 1.0  # tiny addend lost at f32 precision
    third = f32_value(binary("DDIV.f32", f32(1.0), f32(3.0)))
    assert third == float(np.float32(1.0) / np.float32(3.0))
    assert binary("DADD.f32", f32(1.0), f32(2.0)) >> 32 == 0  # upper half stays zero
    assert f32_value(binary("DMUL.f32", f32(3.4e38), f32(10.0))) == math.inf


def test_float_division_by_zero_is_ieee() -> None:
    assert f64_value(binary("DDIV.f64", f64(1.0), f64(-0.0))) == -math.inf
    assert math.isnan(f64_value(binary("DDIV.f64", f64(0.0), f64(0.0))))
    assert f32_value(binary("DDIV.f32", f32(-2.0), f32(0.0))) == -math.inf


@pytest.mark.parametrize("t,load,store", [("f32", f32_value, f32), ("f64", f64_value, f64)])
def test_float_min_max_propagate_nan_and_order_zeros(t: str, load, store) -> None:
    nan = store(math.nan)
    for mnemonic in (f"DMIN.{t}", f"DMAX.{t}"):
        assert math.isnan(load(binary(mnemonic, nan, store(1.0))))
        assert math.isnan(load(binary(mnemonic, store(1.0), nan)))
    assert math.copysign(1, load(binary(f"DMIN.{t}", store(0.0), store(-0.0)))) == -1
    assert math.copysign(1, load(binary(f"DMAX.{t}", store(-0.0), store(0.0)))) == 1
    assert load(binary(f"DMIN.{t}", store(-3.0), store(2.0))) == -3.0


@pytest.mark.parametrize("t,load,store", [("f32", f32_value, f32), ("f64", f64_value, f64)])
def test_float_unary(t: str, load, store) -> None:
    assert load(unary(f"DNEG.{t}", store(2.5))) == -2.5
    assert load(unary(f"DABS.{t}", store(-2.5))) == 2.5
    assert load(unary(f"DSQRT.{t}", store(2.25))) == 1.5
    assert math.isnan(load(unary(f"DSQRT.{t}", store(-1.0))))
    assert load(unary(f"DFLOOR.{t}", store(-1.5))) == -2.0
    assert load(unary(f"DCEIL.{t}", store(1.25))) == 2.0
    assert math.copysign(1, load(unary(f"DCEIL.{t}", store(-0.5)))) == -1  # -0.0
    assert load(unary(f"DFLOOR.{t}", store(math.inf))) == math.inf


def test_transcendentals_follow_libm() -> None:
    # glibc's expf is correctly rounded here (numpy's own exp is one ulp off).
    assert unary("DEXP.f32", f32(1.0)) == f32(math.e)
    assert f64_value(unary("DEXP.f64", f64(1.0))) == math.exp(1.0)
    assert f64_value(unary("DLOG.f64", f64(math.e))) == math.log(math.e)
    assert f64_value(unary("DLOG.f64", f64(0.0))) == -math.inf
    assert f64_value(unary("DTANH.f64", f64(0.5))) == math.tanh(0.5)
    assert f32_value(unary("DTANH.f32", f32(100.0))) == 1.0
    assert math.isnan(f32_value(unary("DLOG.f32", f32(-1.0))))


def _exact_f32(a: float, b: float, c: float) -> float:
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    return float(np.float32(float(exact))) if exact else 0.0


def test_fma_f32_is_rounded_once() -> None:
    # a*b+c lands exactly halfway between two f32 in double arithmetic only if
    # rounded twice; pick operands where double rounding would differ.
    a = 1.0 + 2.0 ** -12
    b = 1.0 + 2.0 ** -12  # a*b = 1 + 2^-11 + 2^-24 exactly
    c = 2.0 ** -60  # nudges just above the midpoint; double rounding would lose it
    got = f32_value(registers_after([op("DFMA.f32", 4, 1, 2, 3)],
                                    {1: f32(a), 2: f32(b), 3: f32(c)})[4])
    want = float(Fraction(1) + Fraction(2) ** -11 + Fraction(2) ** -23)  # rounds up
    assert got == want
    assert fma_f32(a, b, c) == want
    assert float(np.float32(a * b + c)) != want  # the naive way double-rounds


def test_fma_f64_exact_and_special_cases() -> None:
    a = 1.0 + 2.0 ** -30
    got = f64_value(registers_after([op("DFMA.f64", 4, 1, 2, 3)],
                                    {1: f64(a), 2: f64(a), 3: f64(-1.0)})[4])
    assert got == 2.0 ** -29 + 2.0 ** -60  # the naive a*a-1 loses the 2^-60 term
    assert a * a - 1.0 != got
    assert fma_f64(1e308, 10.0, -math.inf) == -math.inf
    assert math.isnan(fma_f64(math.inf, 0.0, 1.0))
    assert math.copysign(1, fma_f64(-0.0, 1.0, -0.0)) == -1
    assert math.copysign(1, fma_f64(1.0, 1.0, -1.0)) == 1
    assert fma_f64(1e308, 10.0, 0.0) == math.inf


@pytest.mark.parametrize("cond,a,b,want", [
    (Cond.LT, i64(-1), 1, 1), (Cond.GT, i64(-1), 1, 0), (Cond.EQ, 3, 3, 1),
    (Cond.NE, 3, 3, 0), (Cond.LE, 3, 3, 1), (Cond.GE, 2, 3, 0),
])
def test_integer_compare_is_signed(cond: Cond, a: int, b: int, want: int) -> None:
    assert registers_after([op("DCMP.i64", 3, 1, 2, cond)], {1: a, 2: b})[3] == want


def test_i32_compare_uses_low_bits_sign() -> None:
    assert registers_after([op("DCMP.i32", 3, 1, 2, Cond.LT)],
                           {1: i32_bits(-5), 2: 0})[3] == 1


@pytest.mark.parametrize("t,store", [("f32", f32), ("f64", f64)])
def test_float_compare_nan_rules(t: str, store) -> None:
    nan, one = store(math.nan), store(1.0)
    for cond in (Cond.EQ, Cond.LT, Cond.LE, Cond.GT, Cond.GE):
        assert registers_after([op(f"DCMP.{t}", 3, 1, 2, cond)], {1: nan, 2: one})[3] == 0
    assert registers_after([op(f"DCMP.{t}", 3, 1, 2, Cond.NE)], {1: nan, 2: one})[3] == 1
    assert registers_after([op(f"DCMP.{t}", 3, 1, 2, Cond.EQ)],
                           {1: store(-0.0), 2: store(0.0)})[3] == 1


def test_select_move_constants() -> None:
    regs = registers_after([
        op("DSEL", 4, 1, 2, 3), op("DSEL", 5, 0, 2, 3), op("DMOV", 6, 2),
        op("DMOVI", 7, -2), op("DLDC", 8, 0)], {1: 7, 2: 11, 3: 22})
    assert regs[4:9] == [11, 22, 11, i64(-2), 7]


@pytest.mark.parametrize("src,dst,value,want", [
    (Type.I32, Type.I64, i32_bits(-3), i64(-3)),
    (Type.I64, Type.I32, (1 << 32) + 5, 5),
    (Type.I64, Type.I32, 0x80000000, i32_bits(-(1 << 31))),
    (Type.I32, Type.F32, i32_bits(-3), f32(-3.0)),
    (Type.I64, Type.F64, (1 << 53) + 1, f64(2.0 ** 53)),  # ties to even
    (Type.I64, Type.F32, (1 << 60) + (1 << 36) + 1, f32(2.0 ** 60 + 2.0 ** 37)),  # one rounding
    (Type.F32, Type.I32, f32(-2.9), i32_bits(-2)),
    (Type.F64, Type.I32, f64(1e10), 0x7FFFFFFF),  # saturates
    (Type.F64, Type.I32, f64(-1e10), i32_bits(-(1 << 31))),
    (Type.F32, Type.I64, f32(math.nan), 0),
    (Type.F64, Type.I64, f64(math.inf), (1 << 63) - 1),
    (Type.F64, Type.I64, f64(-math.inf), 1 << 63),
    (Type.F64, Type.F32, f64(1.0 + 2.0 ** -30), f32(1.0)),
    (Type.F32, Type.F64, f32(0.1), f64(float(np.float32(0.1)))),
    (Type.F64, Type.F32, f64(1e300), f32(math.inf)),
])
def test_convert(src: Type, dst: Type, value: int, want: int) -> None:
    got = registers_after([op(f"DCVT.{dst.suffix}", 3, 1, src)], {1: value})[3]
    assert got == want


def test_i64_to_f32_double_rounding_case() -> None:
    # 2^60 + 2^36 + 1: rounding to double first gives 2^60 + 2^36, a tie in f32
    # that would round to even (2^60); rounding once gives 2^60 + 2^37.
    value = (1 << 60) + (1 << 36) + 1
    assert float(np.float32(float(value))) == 2.0 ** 60


def _message(lanes: list[int]) -> list:
    return [op("CPACK", 0, 1 + i, i) for i in range(4)]


@pytest.mark.parametrize("t,red,lanes,want", [
    (Type.I64, RedOp.SUM, [1, 2, 3, i64(-10)], i64(-4)),
    (Type.I32, RedOp.MAX, [i32_bits(-1), 5, 2, 3], 5),
    (Type.I64, RedOp.MIN, [4, i64(-2), 9, 0], i64(-2)),
    (Type.I64, RedOp.AND, [7, 6, 14, 15], 6),
    (Type.I64, RedOp.OR, [1, 2, 4, 8], 15),
    (Type.I64, RedOp.XOR, [1, 3, 0, 0], 2),
    (Type.F64, RedOp.SUM, [f64(1e16), f64(1.0), f64(-1e16), f64(1.0)], f64(1.0)),  # left fold
    (Type.F32, RedOp.MAX, [f32(1.0), f32(math.nan), f32(3.0), f32(0.0)], None),
])
def test_lane_reduction(t: Type, red: RedOp, lanes: list[int], want: int | None) -> None:
    init = {1 + i: v for i, v in enumerate(lanes)}
    got = registers_after(_message(lanes) + [op(f"DRED.{t.suffix}", 6, 0, red)], init)[6]
    if want is None:
        assert math.isnan(f32_value(got))
    else:
        assert got == want


def test_signed_helpers() -> None:
    assert signed64(M64) == -1
    assert struct.unpack("<f", struct.pack("<I", f32(1.5)))[0] == 1.5
