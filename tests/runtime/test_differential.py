"""Semantic tables against independent oracles (numpy, exact rationals) on
generated values."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from phextcc.backend.isa import Type
from runtime.floatbits import (
    f32_bits,
    f32_value,
    fma_exact,
    fma_f32,
    fraction_to_f32,
    i32_bits,
    int_to_f32,
    signed32,
    signed64,
)
from runtime.semantics import BINARY, UNARY, conversion

M64 = (1 << 64) - 1
i32s = st.integers(-(1 << 31), (1 << 31) - 1)
i64s = st.integers(-(1 << 63), (1 << 63) - 1)
f32s = st.floats(width=32)

_NUMPY_INT = {"DADD": np.add, "DSUB": np.subtract, "DMUL": np.multiply,
              "DAND": np.bitwise_and, "DOR": np.bitwise_or, "DXOR": np.bitwise_xor}
_NUMPY_F32 = {"DADD": np.add, "DSUB": np.subtract, "DMUL": np.multiply, "DDIV": np.divide}


@settings(max_examples=30, deadline=None)
@given(a=i32s, b=i32s)
def test_i32_ops_wrap_like_numpy(a: int, b: int) -> None:
    for family, ufunc in _NUMPY_INT.items():
        want = int(ufunc(np.array([a], np.int32), np.array([b], np.int32))[0])
        assert signed32(BINARY[family][Type.I32](i32_bits(a), i32_bits(b))) == want


@settings(max_examples=30, deadline=None)
@given(a=i64s, b=i64s)
def test_i64_ops_wrap_like_numpy(a: int, b: int) -> None:
    for family, ufunc in _NUMPY_INT.items():
        want = int(ufunc(np.array([a], np.int64), np.array([b], np.int64))[0])
        assert signed64(BINARY[family][Type.I64](a & M64, b & M64)) == want
    if b != 0:
        q = signed64(BINARY["DDIV"][Type.I64](a & M64, b & M64))
        r = signed64(BINARY["DREM"][Type.I64](a & M64, b & M64))
        if not (a == -(1 << 63) and b == -1):
            assert q == int(Fraction(a, b))  # truncation toward zero
        assert signed64((q * b + r) & M64) == a


def _same_float(x: float, y: float) -> bool:
    return (math.isnan(x) and math.isnan(y)) or (x == y and math.copysign(1, x) ==
                                                 math.copysign(1, y))


@settings(max_examples=30, deadline=None)
@given(a=f32s, b=f32s)
def test_f32_ops_round_like_numpy(a: float, b: float) -> None:
    x, y = np.array([a], np.float32), np.array([b], np.float32)
    with np.errstate(all="ignore"):
        for family, ufunc in _NUMPY_F32.items():
            want = float(ufunc(x, y)[0])
            got = f32_value(BINARY[family][Type.F32](f32_bits(a), f32_bits(b)))
            assert _same_float(got, want), (family, a, b, got, want)
        want_sqrt = float(np.sqrt(x)[0])
    assert _same_float(f32_value(UNARY["DSQRT"][Type.F32](f32_bits(a))), want_sqrt)


@settings(max_examples=30, deadline=None)
@given(d=st.floats(allow_nan=False, allow_infinity=False))
def test_exact_f32_rounding_matches_the_hardware_cast(d: float) -> None:
    got = fraction_to_f32(Fraction(d)) if d else 0.0
    with np.errstate(over="ignore"):
        want = float(np.float32(d))
    assert got == want


@settings(max_examples=30, deadline=None)
@given(a=f32s, b=f32s, c=f32s)
def test_fma_f32_fast_path_matches_exact_rationals(a: float, b: float, c: float) -> None:
    assert _same_float(fma_f32(a, b, c), fma_exact(a, b, c, fraction_to_f32))


@settings(max_examples=30, deadline=None)
@given(v=i64s)
def test_int_to_f32_rounds_once(v: int) -> None:
    assert int_to_f32(v) == fraction_to_f32(Fraction(v))
    to_f32 = conversion(Type.I64, Type.F32)
    assert f32_value(to_f32(v & M64)) == int_to_f32(v)
