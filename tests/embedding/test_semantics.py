"""Python semantics the compiled subset keeps: floor division and modulo, true
division, ranges with negative and run-time steps, NEP 50 promotion of literals,
negative constant indices, variables assigned on every path, tuple swaps, ..."""

from __future__ import annotations

import math

import numpy as np
import pytest

import phextcc.embedding as phx
from phextcc.embedding import num_sentrons, sentron_id

sim = phx.kernel(engine="sim", cache=False)

SCALE = 3  # a global constant: inlined into the kernel


@sim
def floor_ops(x, d, quot, rem):
    for i in range(len(x)):
        quot[i] = x[i] // d[i]
        rem[i] = x[i] % d[i]


@sim
def floor_ops_by_constants(x, out):
    for i in range(len(x)):
        out[i, 0] = x[i] // 4
        out[i, 1] = x[i] % 4
        out[i, 2] = x[i] // -3
        out[i, 3] = x[i] % -3


@pytest.mark.parametrize("dtype", [np.int64, np.int32])
def test_floor_division_and_modulo_follow_python(dtype: type) -> None:
    values = np.array([-7, -6, -1, 0, 1, 5, 6, 7, -9, 9], dtype)
    divisors = np.array([2, -2, 3, -3, 5, -5, 4, -4, 7, -7], dtype)
    quot, rem = np.zeros_like(values), np.zeros_like(values)
    floor_ops(values, divisors, quot, rem)
    assert quot.tolist() == [int(a) // int(b) for a, b in zip(values, divisors)]
    assert rem.tolist() == [int(a) % int(b) for a, b in zip(values, divisors)]
    table = np.zeros((len(values), 4), dtype)
    floor_ops_by_constants(values, table)
    expected = [[int(a) // 4, int(a) % 4, int(a) // -3, int(a) % -3] for a in values]
    assert table.tolist() == expected


@sim
def true_division(x, y, out):
    for i in range(len(x)):
        out[i] = x[i] / y[i]


def test_integer_true_division_gives_float64() -> None:
    x, y = np.array([7, -7, 1, 2], np.int64), np.array([2, 2, 3, 7], np.int64)
    out = np.zeros(4, np.float64)
    true_division(x, y, out)
    assert out.tolist() == [a / b for a, b in zip(x.tolist(), y.tolist())]


@sim
def ranges(n, step, out):
    k = 0
    for i in range(n - 1, -1, -2):  # a constant negative step
        out[k] = i
        k += 1
    for j in range(n, 0, step):  # a step known only at run time
        out[k] = j
        k += 1
    out[k] = -100


@pytest.mark.parametrize("n,step", [(7, -3), (6, 2), (0, -1), (5, 10), (4, -1)])
def test_ranges_with_negative_and_runtime_steps(n: int, step: int) -> None:
    out = np.zeros(40, np.int64)
    ranges(n, step, out)
    expected = [*range(n - 1, -1, -2), *range(n, 0, step), -100]
    assert out[:len(expected)].tolist() == expected


@sim
def promote(x, out32, out64):
    for i in range(len(x)):
        out32[i] = x[i] * 0.1 + 1  # Python literals adapt: computed in f32
        out64[i] = x[i] * i  # f32 with an i64 loop index: f64, as numpy


def test_literals_adapt_like_numpy_scalars() -> None:
    x = np.array([1.5, 2.25, 3.1], np.float32)
    out32, out64 = np.zeros(3, np.float32), np.zeros(3, np.float64)
    promote(x, out32, out64)
    np.testing.assert_array_equal(out32, x * 0.1 + 1)  # numpy's own NEP 50 result
    np.testing.assert_array_equal(out64, [np.float64(v) * i for i, v in enumerate(x)])


@sim
def builtins_and_control(x, out):
    last = x[-1]  # a constant negative index counts from the end
    total = 0.0
    i = 0
    while i < len(x):
        if not x[i] > 100.0 and (i < 4 or x[i] != 6.0):
            total += x[i] if 0 <= i < 3 else -x[i]
        i += 1
    if total > 0:
        sign = 1
    elif total < 0:
        sign = -1
    else:
        sign = 0
    a, b = i, sign
    a, b = b, a  # evaluated before any store: a swap
    out[0] = last
    out[1] = total
    out[2] = a
    out[3] = b
    out[4] = math.floor(-2.5 * x[0]) + SCALE  # math.floor returns an int
    out[5] = np.floor(x[1] * 0.5)
    out[6] = min(x[0], x[1], 2.5) + max(abs(x[2]), 1)
    out[7] = math.sqrt(x[0] + 8.0)


def test_builtins_control_flow_and_constants_match_plain_python() -> None:
    x = np.array([1.0, 3.0, -2.0, 4.0, 500.0, 6.0], np.float64)
    compiled, plain = np.zeros(8), np.zeros(8)
    builtins_and_control(x, compiled)
    builtins_and_control.py_func(x, plain)
    np.testing.assert_array_equal(compiled, plain)
    assert compiled[2] == -1 and compiled[3] == 6  # swapped


@sim
def scalar_parameters(n, flag, scale, out):
    if flag:
        n = n * 2  # a parameter can be reassigned: the kernel works on a copy
    for i in range(n):
        out[i] = scale * i


def test_python_scalars_and_reassigned_parameters() -> None:
    out = np.zeros(8, np.float64)
    scalar_parameters(3, True, 0.5, out)
    assert out.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 0, 0]
    assert str(scalar_parameters.signatures[0]) == \
        "(n: i64, flag: bool, scale: f64, out: f64[:])"


@sim
def spmd_stride(x, out):
    for i in range(sentron_id(), len(x), num_sentrons()):
        out[i] = x[i] * 2


@pytest.mark.parametrize("sentrons", [1, 3, 5])
def test_strided_spmd_loop(sentrons: int) -> None:
    x = np.arange(11, dtype=np.int32)
    out = np.zeros_like(x)
    spmd_stride(x, out, sentrons=sentrons)
    assert out.tolist() == (x * 2).tolist()


def test_plain_python_runs_the_same_function() -> None:
    x = np.arange(4, dtype=np.int32)
    out = np.zeros_like(x)
    spmd_stride.py_func(x, out)
    assert out.tolist() == [0, 2, 4, 6]


def test_runtime_errors_still_name_the_tensor() -> None:
    @phx.kernel(engine="sim", cache=False)
    def overrun(x, out):
        for i in range(len(x) + 1):
            out[i] = x[i]

    with pytest.raises(Exception, match="out of range") as info:
        overrun(np.zeros(3), np.zeros(3))
    assert "'x'" in str(info.value) or "'out'" in str(info.value)


def test_keyword_and_default_arguments() -> None:
    @phx.kernel(engine="sim", cache=False)
    def fill(out, value=7):
        for i in range(len(out)):
            out[i] = value

    out = np.zeros(3, np.int64)
    fill(out=out)
    assert out.tolist() == [7, 7, 7]
    fill(out, value=2)
    assert out.tolist() == [2, 2, 2]


def _make_closure_kernel(offset: int) -> phx.Kernel:
    @phx.kernel(engine="sim", cache=False)
    def with_closure(x, out):
        for i in range(x.size):
            out[i] = x[i] + offset  # a closure variable holding a constant
    return with_closure


def test_closure_constants_annotations_and_misc_operators() -> None:
    @phx.kernel(engine="sim", cache=False)
    def misc(x, flags, out):
        scale: float = 2  # an annotation converts, like float(2)
        out[0] = x.ndim + x.size
        out[1] = scale * math.pi
        out[2] = (flags[0] & 6) | (flags[1] ^ 1) << 2
        out[3] = x[1] ** 2
        out[4] = 1.0 if flags[0] > 3 else -1.0
        total = 0
        total //= 3
        total += flags[1] % 4
        out[5] = total

    x = np.array([1.5, 2.5, 3.5])
    flags = np.array([7, 10], np.int64)
    compiled, plain = np.zeros(6), np.zeros(6)
    misc(x, flags, compiled)
    misc.py_func(x, flags, plain)
    np.testing.assert_array_equal(compiled, plain)
    out = np.zeros(3, np.int64)
    _make_closure_kernel(5)(np.arange(3, dtype=np.int64), out)
    assert out.tolist() == [5, 6, 7]


def test_zero_runtime_step_is_an_error_not_a_hang() -> None:
    out = np.zeros(8, np.int64)
    with pytest.raises(Exception, match="division by zero"):
        ranges(3, 0, out)
