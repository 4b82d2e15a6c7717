"""Register bit patterns <-> Python numbers, and exactly rounded float helpers.

Register conventions (common to simulator and JIT): r registers hold 64-bit
patterns as Python ints in 0 .. 2**64-1; i32 values sign-extended to 64 bits,
f32 values as their IEEE pattern in the low 32 bits (upper bits zero), f64 bits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
from collections.abc import Callable
from fractions import Fraction

from phextcc.backend.isa import Type

M64 = (1 << 64) - 1
M32 = (1 << 32) - 1
SIGN32 = 1 << 31
SIGN64 = 1 << 63
I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1

# One scratch buffer viewed four ways: assignment through a typed memoryview is a
# C cast (double -> float rounds to nearest even, overflow gives inf), which is
# exactly the f32 rounding the machine needs, and much cheaper than struct.
_scratch = bytearray(8)
_as_u32 = memoryview(_scratch).cast("I")
_as_f32 = memoryview(_scratch).cast("f")
_as_u64 = memoryview(_scratch).cast("Q")
_as_f64 = memoryview(_scratch).cast("d")


def f32_value(bits: int) -> float:
    """The f32 held in the low 32 bits of a register, as a Python float."""
    _as_u32[0] = bits & M32
    return _as_f32[0]


def f32_bits(x: float) -> int:
    """Round a Python float to f32 (nearest even) and return its pattern."""
    _as_f32[0] = x
    return _as_u32[0]


def f64_value(bits: int) -> float:
    _as_u64[0] = bits & M64
    return _as_f64[0]


def f64_bits(x: float) -> int:
    _as_f64[0] = x
    return _as_u64[0]


def round_f32(x: float) -> float:
    """x rounded to the nearest f32, as a Python float."""
    _as_f32[0] = x
    return _as_f32[0]


def signed64(bits: int) -> int:
    return bits - (1 << 64) if bits & SIGN64 else bits


def signed32(bits: int) -> int:
    low = bits & M32
    return low - (1 << 32) if low & SIGN32 else low


def i32_bits(value: int) -> int:
    """Wrap to 32 bits, sign-extend, return the 64-bit pattern."""
    low = value & M32
    return low | 0xFFFFFFFF00000000 if low & SIGN32 else low


def i64_bits(value: int) -> int:
    return value & M64


# Per type: register pattern -> Python value, and Python value -> register pattern
# (integers wrap, floats round to the type's precision).
TO_VALUE: dict[Type, Callable[[int], int | float]] = {
    Type.I32: signed32, Type.I64: signed64, Type.F32: f32_value, Type.F64: f64_value,
}
FROM_VALUE: dict[Type, Callable[..., int]] = {
    Type.I32: i32_bits, Type.I64: i64_bits, Type.F32: f32_bits, Type.F64: f64_bits,
}

# ---------------------------------------------------------------------------
# Exact rounding for the cases where doing the work in double and rounding again
# would double-round: FMA, and i64 -> f32 conversion.
# ---------------------------------------------------------------------------

_F32_MANT = 24  # significand bits including the hidden one
_F32_EMIN = -126
_F32_OVERFLOW = Fraction(2) ** 128 - Fraction(2) ** (128 - _F32_MANT - 1)  # halfway to 2**128


def fraction_to_f32(q: Fraction) -> float:
    """The f32 nearest to the exact rational q (ties to even), as a Python float.
    A zero q gives +0.0 (callers decide the sign of an exact zero)."""
    if q == 0:
        return 0.0
    negative = q < 0
    mag = -q if negative else q
    if mag >= _F32_OVERFLOW:
        return -math.inf if negative else math.inf
    exponent = mag.numerator.bit_length() - mag.denominator.bit_length()
    if Fraction(2) ** exponent > mag:
        exponent -= 1  # now 2**exponent <= mag < 2**(exponent+1)
    quantum_exp = max(exponent, _F32_EMIN) - (_F32_MANT - 1)
    scaled = mag / Fraction(2) ** quantum_exp
    whole = scaled.numerator // scaled.denominator
    rest = scaled - whole
    if rest > Fraction(1, 2) or (rest == Fraction(1, 2) and whole & 1):
        whole += 1
    result = math.ldexp(float(whole), quantum_exp)
    return -result if negative else result


def fraction_to_f64(q: Fraction) -> float:
    """The double nearest to q (Python's int / int division is correctly rounded)."""
    try:
        return q.numerator / q.denominator
    except OverflowError:
        return math.inf if q > 0 else -math.inf


def int_to_f32(value: int) -> float:
    """Integer -> nearest f32 with a single rounding."""
    if -(1 << 53) <= value <= 1 << 53:
        return round_f32(float(value))  # exact in double, so one rounding
    return fraction_to_f32(Fraction(value))


def _exact_zero_sum_sign(product_negative: bool, addend: float) -> float:
    # IEEE round-to-nearest: an exact zero sum is +0 unless both terms are -0.
    return -0.0 if product_negative and math.copysign(1.0, addend) < 0 else 0.0


def fma_exact(a: float, b: float, c: float, round_to: Callable[[Fraction], float]) -> float:
    """a * b + c rounded once, by exact rational arithmetic (finite operands)."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return a * b + c  # inf/nan product: plain IEEE arithmetic is already exact
    if not math.isfinite(c):
        return c
    product = Fraction(a) * Fraction(b)
    total = product + Fraction(c)
    if total == 0:
        product_negative = (product < 0) or (
            product == 0 and (math.copysign(1.0, a) < 0) != (math.copysign(1.0, b) < 0))
        if product != 0:
            return 0.0
        return _exact_zero_sum_sign(product_negative, c)
    result = round_to(total)
    if result == 0:  # underflow keeps the sign of the exact result
        return math.copysign(0.0, float(total.numerator))
    return result


def fma_f32(a: float, b: float, c: float) -> float:
    """Single-rounded f32 FMA. The product of two f32 is exact in double; the sum is
    computed exactly too when TwoSum shows no error, otherwise by rationals."""
    if math.isfinite(a) and math.isfinite(b) and math.isfinite(c):
        p = a * b
        s = p + c
        t = s - p
        err = (p - (s - t)) + (c - t)
        if err == 0.0:
            return round_f32(s)
    return fma_exact(a, b, c, fraction_to_f32)


def fma_f64(a: float, b: float, c: float) -> float:
    return fma_exact(a, b, c, fraction_to_f64)


# ---------------------------------------------------------------------------
# The C library functions, so that simulator and JIT agree bit for bit.
# ---------------------------------------------------------------------------

def _load_libm() -> ctypes.CDLL:
    name = ctypes.util.find_library("m")
    return ctypes.CDLL(name) if name else ctypes.CDLL(None)


_LIBM = _load_libm()


def _c_function(name: str, ctype: type) -> Callable[[float], float]:
    fn = getattr(_LIBM, name)
    fn.restype = ctype
    fn.argtypes = [ctype]
    return fn  # type: ignore[no-any-return]


LIBM: dict[tuple[str, Type], Callable[[float], float]] = {
    ("exp", Type.F32): _c_function("expf", ctypes.c_float),
    ("exp", Type.F64): _c_function("exp", ctypes.c_double),
    ("log", Type.F32): _c_function("logf", ctypes.c_float),
    ("log", Type.F64): _c_function("log", ctypes.c_double),
    ("tanh", Type.F32): _c_function("tanhf", ctypes.c_float),
    ("tanh", Type.F64): _c_function("tanh", ctypes.c_double),
}
