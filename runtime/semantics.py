"""What each D-pipe family computes, as data: tables of functions on register
bit patterns, keyed by family and element type.

The simulator's op builders look these up once per op at decode time; the inner
loop only calls the function found. Every function takes and returns 64-bit
register patterns (see ``floatbits`` for the conventions).
"""

from __future__ import annotations

import math
from collections.abc import Callable

from phextcc.backend.isa import Cond, RedOp, Type
from runtime.errors import IntegerDivisionByZero
from runtime.floatbits import (
    I32_MAX,
    I32_MIN,
    I64_MAX,
    I64_MIN,
    LIBM,
    M32,
    M64,
    f32_bits,
    f32_value,
    f64_bits,
    f64_value,
    fma_f32,
    fma_f64,
    i32_bits,
    int_to_f32,
    round_f32,
    signed32,
    signed64,
)

Unary = Callable[[int], int]
Binary = Callable[[int, int], int]
Ternary = Callable[[int, int, int], int]

_NAN = math.nan

# ---------------------------------------------------------------------------
# Integer helpers: wrap-around two's complement at the type's width.
# ---------------------------------------------------------------------------

_INT_WIDTH = {Type.I32: 32, Type.I64: 64}
_SIGNED: dict[Type, Unary] = {Type.I32: signed32, Type.I64: signed64}
_WRAP: dict[Type, Unary] = {Type.I32: i32_bits, Type.I64: lambda v: v & M64}


def _trunc_div(a: int, b: int) -> int:
    if b == 0:
        raise IntegerDivisionByZero()
    q = abs(a) // abs(b)
    return q if (a < 0) == (b < 0) else -q


def _trunc_rem(a: int, b: int) -> int:
    if b == 0:
        raise IntegerDivisionByZero()
    return a - b * _trunc_div(a, b)  # sign of the dividend; INT_MIN % -1 == 0


def _int_binary(t: Type, fn: Callable[[int, int], int]) -> Binary:
    to_signed, wrap = _SIGNED[t], _WRAP[t]
    return lambda a, b: wrap(fn(to_signed(a), to_signed(b)))


def _int_unary(t: Type, fn: Callable[[int], int]) -> Unary:
    to_signed, wrap = _SIGNED[t], _WRAP[t]
    return lambda a: wrap(fn(to_signed(a)))


def _shift_left(t: Type) -> Binary:
    mask, wrap = _INT_WIDTH[t] - 1, _WRAP[t]
    return lambda a, b: wrap(a << (b & mask))


def _shift_right(t: Type) -> Binary:
    mask, to_signed, wrap = _INT_WIDTH[t] - 1, _SIGNED[t], _WRAP[t]
    return lambda a, b: wrap(to_signed(a) >> (b & mask))


def _popcount(t: Type) -> Unary:
    width_mask = M32 if t is Type.I32 else M64
    return lambda a: (a & width_mask).bit_count()


# ---------------------------------------------------------------------------
# Float helpers: compute in double, round to the type (exact for + - * / sqrt
# on f32 because 53 >= 2 * 24 + 2), Python exceptions mapped to IEEE results.
# ---------------------------------------------------------------------------

def _fdiv(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if math.isnan(a) or a == 0.0:
            return _NAN
        return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _fsqrt(a: float) -> float:
    return math.sqrt(a) if a >= 0.0 or math.isnan(a) else _NAN


def _fmin(a: float, b: float) -> float:
    if math.isnan(a):
        return a
    if math.isnan(b):
        return b
    if a == b:  # -0.0 < +0.0
        return a if math.copysign(1.0, a) < 0 else b
    return min(b, a)


def _fmax(a: float, b: float) -> float:
    if math.isnan(a):
        return a
    if math.isnan(b):
        return b
    if a == b:
        return b if math.copysign(1.0, a) < 0 else a
    return max(b, a)


def _round_integral(fn: Callable[[float], int]) -> Callable[[float], float]:
    def integral(a: float) -> float:
        if not math.isfinite(a):
            return a
        result = float(fn(a))
        return math.copysign(0.0, a) if result == 0.0 else result
    return integral


_FLOAT_IO: dict[Type, tuple[Callable[[int], float], Callable[[float], int]]] = {
    Type.F32: (f32_value, f32_bits), Type.F64: (f64_value, f64_bits),
}


def _float_unary(t: Type, fn: Callable[[float], float]) -> Unary:
    load, store = _FLOAT_IO[t]
    return lambda a: store(fn(load(a)))


def _float_binary(t: Type, fn: Callable[[float, float], float]) -> Binary:
    load, store = _FLOAT_IO[t]
    return lambda a, b: store(fn(load(a), load(b)))


_FLOAT_FMA = {Type.F32: fma_f32, Type.F64: fma_f64}


def _float_fma(t: Type) -> Ternary:
    load, store = _FLOAT_IO[t]
    fma = _FLOAT_FMA[t]
    return lambda a, b, c: store(fma(load(a), load(b), load(c)))


# ---------------------------------------------------------------------------
# The tables.
# ---------------------------------------------------------------------------

_INT_BINARY_OPS: dict[str, Callable[[int, int], int]] = {
    "DADD": lambda a, b: a + b,
    "DSUB": lambda a, b: a - b,
    "DMUL": lambda a, b: a * b,
    "DDIV": _trunc_div,
    "DREM": _trunc_rem,
    "DMIN": min,
    "DMAX": max,
    "DAND": lambda a, b: a & b,
    "DOR": lambda a, b: a | b,
    "DXOR": lambda a, b: a ^ b,
}
_FLOAT_BINARY_OPS: dict[str, Callable[[float, float], float]] = {
    "DADD": lambda a, b: a + b,
    "DSUB": lambda a, b: a - b,
    "DMUL": lambda a, b: a * b,
    "DDIV": _fdiv,
    "DMIN": _fmin,
    "DMAX": _fmax,
}
_INT_UNARY_OPS: dict[str, Callable[[int], int]] = {
    "DNEG": lambda a: -a,
    "DABS": abs,
}
_FLOAT_UNARY_OPS: dict[str, Callable[[float], float]] = {
    "DNEG": lambda a: -a,
    "DABS": abs,
    "DSQRT": _fsqrt,
    "DFLOOR": _round_integral(math.floor),
    "DCEIL": _round_integral(math.ceil),
}
_LIBM_FAMILIES = {"DEXP": "exp", "DLOG": "log", "DTANH": "tanh"}


def _build_binary() -> dict[str, dict[Type, Binary]]:
    table: dict[str, dict[Type, Binary]] = {}
    for family, fn in _INT_BINARY_OPS.items():
        for t in (Type.I32, Type.I64):
            table.setdefault(family, {})[t] = _int_binary(t, fn)
    for family, ffn in _FLOAT_BINARY_OPS.items():
        for t in (Type.F32, Type.F64):
            table.setdefault(family, {})[t] = _float_binary(t, ffn)
    for t in (Type.I32, Type.I64):
        table.setdefault("DSHL", {})[t] = _shift_left(t)
        table.setdefault("DSHR", {})[t] = _shift_right(t)
    return table


def _build_unary() -> dict[str, dict[Type, Unary]]:
    table: dict[str, dict[Type, Unary]] = {}
    for family, fn in _INT_UNARY_OPS.items():
        for t in (Type.I32, Type.I64):
            table.setdefault(family, {})[t] = _int_unary(t, fn)
    for family, ffn in _FLOAT_UNARY_OPS.items():
        for t in (Type.F32, Type.F64):
            table.setdefault(family, {})[t] = _float_unary(t, ffn)
    for family, name in _LIBM_FAMILIES.items():
        for t in (Type.F32, Type.F64):
            table.setdefault(family, {})[t] = _float_unary(t, LIBM[(name, t)])
    for t in (Type.I32, Type.I64):
        table.setdefault("DPOPCNT", {})[t] = _popcount(t)
    return table


BINARY: dict[str, dict[Type, Binary]] = _build_binary()
UNARY: dict[str, dict[Type, Unary]] = _build_unary()
TERNARY: dict[str, dict[Type, Ternary]] = {
    "DFMA": {t: _float_fma(t) for t in (Type.F32, Type.F64)},
}

# Comparisons: signed for integers; floats compare as Python floats, which is
# exactly "ordered" for EQ/LT/LE/GT/GE and "unordered" for NE.
_PREDICATES: dict[Cond, Callable[[object, object], bool]] = {
    Cond.EQ: lambda a, b: a == b,
    Cond.NE: lambda a, b: a != b,
    Cond.LT: lambda a, b: a < b,  # type: ignore[operator]
    Cond.LE: lambda a, b: a <= b,  # type: ignore[operator]
    Cond.GT: lambda a, b: a > b,  # type: ignore[operator]
    Cond.GE: lambda a, b: a >= b,  # type: ignore[operator]
}
_OPERAND_VALUE: dict[Type, Callable[[int], int | float]] = {
    Type.I32: signed32, Type.I64: signed64, Type.F32: f32_value, Type.F64: f64_value,
}


def comparison(cond: Cond, t: Type) -> Callable[[int, int], bool]:
    """A predicate on two register patterns (DCMP, DBR)."""
    pred, value = _PREDICATES[cond], _OPERAND_VALUE[t]
    return lambda a, b: pred(value(a), value(b))


# Reductions (DRED, CREDUCE): a left fold with a binary pattern function.
_REDUCE_FAMILY = {RedOp.SUM: "DADD", RedOp.MAX: "DMAX", RedOp.MIN: "DMIN",
                  RedOp.AND: "DAND", RedOp.OR: "DOR", RedOp.XOR: "DXOR"}


def reducer(op: RedOp, t: Type) -> Binary | None:
    """The fold step of reduction ``op`` on type ``t``; None where undefined
    (bitwise reductions of floats)."""
    return BINARY[_REDUCE_FAMILY[op]].get(t)


# ---------------------------------------------------------------------------
# DCVT: every (from, to) pair.
# ---------------------------------------------------------------------------

_INT_RANGE = {Type.I32: (I32_MIN, I32_MAX), Type.I64: (I64_MIN, I64_MAX)}


def _float_to_int(to: Type) -> Callable[[float], int]:
    lo, hi = _INT_RANGE[to]
    wrap = _WRAP[to]

    def convert(x: float) -> int:
        if math.isnan(x):
            return 0
        if x >= hi:
            return wrap(hi)
        if x <= lo:
            return wrap(lo)
        return wrap(int(x))  # int() truncates toward zero
    return convert


_INT_TO_FLOAT: dict[Type, Callable[[int], int]] = {
    Type.F32: lambda v: f32_bits(int_to_f32(v)),
    Type.F64: lambda v: f64_bits(float(v)),  # int -> float is correctly rounded
}
_FLOAT_TO_FLOAT: dict[Type, Callable[[float], int]] = {
    Type.F32: lambda x: f32_bits(round_f32(x)),
    Type.F64: f64_bits,
}


def conversion(source: Type, target: Type) -> Unary:
    """DCVT.<target> rd, rs, <source> as a function on patterns."""
    read = _OPERAND_VALUE[source]
    if not source.is_float and not target.is_float:
        wrap = _WRAP[target]
        return lambda a: wrap(read(a))  # type: ignore[arg-type]
    if not source.is_float:
        to_float = _INT_TO_FLOAT[target]
        return lambda a: to_float(read(a))  # type: ignore[arg-type]
    if target.is_float:
        to_other = _FLOAT_TO_FLOAT[target]
        return lambda a: to_other(read(a))  # type: ignore[arg-type]
    to_int = _float_to_int(target)
    return lambda a: to_int(read(a))  # type: ignore[arg-type]
