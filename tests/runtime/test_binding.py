"""Argument binding: every kind of mismatch is an ArgumentError naming the parameter."""

from __future__ import annotations

import numpy as np
import pytest

from phextcc.backend.program import KernelInfo
from runtime.binding import bind_arguments
from runtime.errors import ArgumentError
from runtime.floatbits import f32_bits, f64_bits, i32_bits
from tests.runtime.build import scalar, tensor

KERNEL = KernelInfo(
    name="k",
    params=(tensor("x", "f32", "n", 3), tensor("y", "f32", "n"), scalar("a", "f32"),
            scalar("k", "i32"), scalar("flag", "bool"), scalar("big", "i64"),
            scalar("d", "f64")),
    symbols=("n",), entry=0, length=1)


def good_args() -> list:
    return [np.zeros((4, 3), np.float32), np.zeros(4, np.float32), 2.0, -3, True, 1 << 40,
            np.float64(0.5)]


def test_good_arguments_bind() -> None:
    x, y = np.zeros((4, 3), np.float32), np.zeros(4, np.float32)
    bound = bind_arguments(KERNEL, [x, y, 2, np.int32(-3), np.bool_(False), 7, 0.5])
    assert bound.symbols == (4,)
    assert bound.tensors[0] is x and bound.tensors[1] is y
    assert bound.scalars == {2: f32_bits(2.0), 3: i32_bits(-3), 4: 0, 5: 7, 6: f64_bits(0.5)}
    assert bound.extent(0, 1) == 3


def test_mapping_arguments() -> None:
    names = [p.name for p in KERNEL.params]
    bound = bind_arguments(KERNEL, dict(zip(names, good_args())))
    assert bound.scalars[3] == i32_bits(-3)
    with pytest.raises(ArgumentError, match="argument 'zz': kernel 'k' has no parameter"):
        bind_arguments(KERNEL, {**dict(zip(names, good_args())), "zz": 1})
    missing = dict(zip(names, good_args()))
    del missing["flag"]
    with pytest.raises(ArgumentError, match="argument 'flag': missing argument"):
        bind_arguments(KERNEL, missing)


def test_wrong_count() -> None:
    with pytest.raises(ArgumentError, match="takes 7 argument\\(s\\).*got 2"):
        bind_arguments(KERNEL, good_args()[:2])


def _replace(index: int, value: object) -> list:
    args = good_args()
    args[index] = value
    return args


@pytest.mark.parametrize("index,value,pattern", [
    (0, np.zeros((4, 3), np.float64), "'x': dtype mismatch: expected float32, got float64"),
    (0, np.zeros(4, np.float32), "'x': rank mismatch: expected 2"),
    (0, np.zeros((3, 4), np.float32).T, "'x': array is not C-contiguous"),
    (0, [[0.0] * 3] * 4, "'x': expected a numpy array"),
    (0, np.zeros((4, 2), np.float32), "'x': shape mismatch: axis 1 must have extent 3, got 2"),
    (1, np.zeros(5, np.float32), ("'y': shape symbol 'n' mismatch: axis 0 has extent 5, "
                                  "but 'n' = 4 from axis 0 of 'x'")),
    (2, "2.0", "'a': expected a number"),
    (3, 1.5, "'k': expected an integer \\(i32\\), got float"),
    (3, np.float32(1.0), "'k': expected an integer"),
    (3, 1 << 31, "'k': value 2147483648 does not fit in i32"),
    (4, 2, "'flag': expected a bool"),
    (4, 1.0, "'flag': expected a bool"),
    (5, 1 << 63, "'big': value .* does not fit in i64"),
])
def test_mismatches(index: int, value: object, pattern: str) -> None:
    with pytest.raises(ArgumentError, match=pattern):
        bind_arguments(KERNEL, _replace(index, value))


def test_read_only_array_is_rejected() -> None:
    x = np.zeros((4, 3), np.float32)
    x.flags.writeable = False
    with pytest.raises(ArgumentError, match="'x': array is read-only"):
        bind_arguments(KERNEL, _replace(0, x))


def test_int_accepted_for_float_and_rounded_to_f32() -> None:
    bound = bind_arguments(KERNEL, _replace(2, 16777217))
    assert bound.scalars[2] == f32_bits(16777216.0)


def test_unbound_symbol() -> None:
    kernel = KernelInfo("k", (scalar("a", "i32"),), ("m",), 0, 1)
    with pytest.raises(ArgumentError, match="shape symbol 'm' of kernel 'k' is not bound"):
        bind_arguments(kernel, [1])


def test_float_too_large_for_a_float_parameter() -> None:
    with pytest.raises(ArgumentError, match="'d': value .* does not fit in f64"):
        bind_arguments(KERNEL, _replace(6, 10 ** 400))


PAIR = KernelInfo(name="pair", params=(tensor("x", "f32", "n"), tensor("out", "f32", "n")),
                  symbols=("n",), entry=0, length=1)


def test_tensors_are_one_array_or_disjoint() -> None:
    buf = np.arange(12, dtype=np.float32)
    bind_arguments(PAIR, [buf, buf])  # one array twice: element for element
    bind_arguments(PAIR, [buf[:6], buf[6:]])  # touching, not overlapping
    bind_arguments(PAIR, [buf[:6], buf[:6].copy()])
    bind_arguments(PAIR, [buf[:6], buf[:6].view(np.float32)])  # a second view, same start
    for x, out in ((buf[:11], buf[1:]), (buf[1:], buf[:11]), (buf[2:8], buf[:6])):
        with pytest.raises(ArgumentError, match="argument 'out': shares memory with 'x' "
                                                 "without being the same array"):
            bind_arguments(PAIR, [x, out])


def test_both_engines_reject_a_shifted_view_at_every_level() -> None:
    """`out[i] = x[i] * 2 + 1` with out = x shifted by one element: -O0 runs a
    recurrence, -O3's unrolled and pipelined loop would not; the call is refused."""
    from phextcc import driver
    from runtime.jit import jit_compile, run
    from runtime.simulator import simulate

    source = "kernel shift(x: f32[N], out: f32[N]) { for i in 0..N { out[i] = x[i] * 2.0 + 1.0; } }"
    for level in (0, 3):
        program = driver.compile_source(source, "shift.phx", driver.Options(opt_level=level))
        native = jit_compile(program, opt_level=level)
        for natively in (False, True):
            buf = np.arange(40, dtype=np.float32)
            args = {"x": buf[:-1], "out": buf[1:]}
            with pytest.raises(ArgumentError, match="shares memory"):
                if natively:
                    run(native, "shift", args)
                else:
                    simulate(program, "shift", args)
            assert np.array_equal(buf, np.arange(40, dtype=np.float32))  # nothing ran
