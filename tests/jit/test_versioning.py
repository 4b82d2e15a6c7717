"""Loop versioning: which loops get an unchecked copy, and that both copies behave
exactly like the simulator (results, error messages, writes kept before a fault)."""

from __future__ import annotations

import numpy as np
import pytest

from runtime.errors import MemoryFault
from runtime.jit import emit_native
from runtime.jit.analysis import region_facts
from runtime.jit.versioning import versioned_loops
from tests.jit.helpers import asm, assert_same_outcome
from tests.jit.kernels import DOT, EMBEDDING_BAG, SAXPY

# y[i * s + o] = x[i * t] + 1.0 for i < n, n, s, t, o chosen by the caller: the loop bound
# is a scalar, so it can run past either tensor (the S-level check must catch it).
STRIDED = """
.kernel strided
.param x f32[N]
.param y f32[M]
.param n i64
.param s i64
.param t i64
.param o i64
.param one f32
.symbols N M
    { DARG r1, arg2 }
    { DARG r2, arg3 }
    { DARG r3, arg4 }
    { DARG r4, arg5 }
    { DARG r5, arg6 }
    { DMOVI r7, #1 }
    { DMOVI r8, #0 }
    { SBASE p0, arg0 }
    { SBASE p1, arg1 }
    { SINDEX p1, p1, r4, d0 }
loop:
    { DBR.ge.i64 r8, r1, @done }
    { SGATHER.f32 r9, p0, #0 }
    { DADD.f32 r9, r9, r5 }
    { SINDEX p0, p0, r3, d0 }
    { SSCATTR.f32 p1, r9, #0 }
    { SINDEX p1, p1, r2, d0 }
    { DADD.i64 r8, r8, r7 }
    { DJMP @loop }
done:
    DHALT
"""

# The same loop, but the step of the coordinate is loaded from memory inside the loop:
# not affine, so the loop must not be versioned.
NOT_AFFINE = """
.kernel walk
.param x f32[N]
.param steps i64[N]
.param n i64
.symbols N
    { DARG r1, arg2 }
    { DMOVI r7, #1 }
    { DMOVI r8, #0 }
    { SBASE p0, arg0 }
    { SBASE p1, arg1 }
loop:
    { DBR.ge.i64 r8, r1, @done }
    { SGATHER.i64 r2, p1, #0 }
    { SSCATTR.f32 p0, r8, #0 }
    { SINDEX p0, p0, r2, d0 }
    { SINDEX p1, p1, r7, d0 }
    { DADD.i64 r8, r8, r7 }
    { DJMP @loop }
done:
    DHALT
"""


def _loops(text: str) -> dict:
    program = asm(text)
    kernel = program.kernels[0]
    return versioned_loops(program, kernel, region_facts(program, kernel))


def test_tier0_loops_are_versioned_with_every_access_proven() -> None:
    saxpy = _loops(SAXPY)
    assert len(saxpy) == 1
    (loop,) = saxpy.values()
    assert len(loop.accesses) == 3  # two gathers and the scatter
    bag = _loops(EMBEDDING_BAG)
    # Only the innermost loop (columns) is versioned: the members loop qualifies too (its
    # ids access is affine) but contains a versioned loop, and the bags loop proves
    # nothing of its own.
    assert len(bag) == 1
    (columns,) = bag.values()
    assert {a.region for a in columns.accesses} == {0, 2}
    assert len(_loops(DOT)) == 1


def test_a_coordinate_stepped_by_a_loaded_value_is_not_proven() -> None:
    loops = _loops(NOT_AFFINE)
    # The ids-like walk over steps is affine (proven); the walk over x is not.
    (loop,) = loops.values()
    assert [a.region for a in loop.accesses] == [1]


def test_dispatch_and_both_copies_are_in_the_code() -> None:
    text = emit_native(asm(SAXPY), "llvm", opt_level=0)
    assert isinstance(text, str)
    assert ".fast" in text and ".checked" in text


def _strided_args(n: int, s: int, t: int, o: int, size_x: int = 40,
                  size_y: int = 50) -> list:
    rng = np.random.default_rng(abs(n * 7 + s) % (1 << 32))
    x = rng.standard_normal(size_x).astype(np.float32)
    y = np.zeros(size_y, np.float32)
    return [x, y, n, s, t, o, 1.0]


@pytest.mark.parametrize("opt_level", [0, 3])
@pytest.mark.parametrize("n, s, t, o", [
    (40, 1, 1, 0), (25, 2, 1, 0), (10, -3, 4, 49), (0, 1, 1, 0), (-5, 1, 1, 0),
    (13, 0, 3, 7), (20, 2, -2, 1), (45, 1, 0, 0),
])
def test_in_range_loops_match_the_simulator(opt_level: int, n: int, s: int, t: int,
                                            o: int) -> None:
    args = _strided_args(n, s, t, o)
    if t < 0:  # start x at its end so that a negative step stays inside
        args[0] = args[0][::-1].copy()
    _, error = assert_same_outcome(asm(STRIDED), "strided", args, opt_level=opt_level)
    if t >= 0:
        assert error is None


@pytest.mark.parametrize("opt_level", [0, 3])
@pytest.mark.parametrize("n, s, t, o", [
    (51, 1, 1, 0),    # x ends (at 40) before the loop does
    (30, 2, 1, 0),    # y: 2*25 = 50 is the first bad index, at iteration 25
    (10, -1, 1, 3),   # y: offset 3 - 4 = -1 at iteration 4
    (60, 1, 1, 0),    # x runs out first, at iteration 40
    (5, 1, 1, 50),    # y's first access is already outside
])
def test_out_of_range_loops_fault_at_the_same_iteration(opt_level: int, n: int, s: int,
                                                        t: int, o: int) -> None:
    _, error = assert_same_outcome(asm(STRIDED), "strided", _strided_args(n, s, t, o),
                                     opt_level=opt_level)
    assert isinstance(error, MemoryFault)


def test_out_of_range_keeps_exactly_the_earlier_writes() -> None:
    x = np.arange(1, 41, dtype=np.float32)
    y = np.zeros(50, np.float32)
    out, error = assert_same_outcome(asm(STRIDED), "strided", [x, y, 30, 2, 1, 0, 1.0])
    assert isinstance(error, MemoryFault)
    written = out[1]
    # Iterations 0..24 wrote y[0], y[2], ..., y[48]; iteration 25 faulted at y[50].
    assert np.array_equal(written[0:50:2], x[:25] + 1)
    assert not written[1::2].any()


def test_huge_trip_counts_and_steps_fall_back_to_the_checked_loop() -> None:
    # n near the i64 limit: the range check refuses (no wrap analysis), the checked loop
    # faults at the first bad index exactly like the simulator.
    args = _strided_args((1 << 63) - 1, 1, 1, 0)
    _, error = assert_same_outcome(asm(STRIDED), "strided", args)
    assert isinstance(error, MemoryFault)
    args = _strided_args(3, 1 << 50, 1, 0)
    _, error = assert_same_outcome(asm(STRIDED), "strided", args)
    assert isinstance(error, MemoryFault)


@pytest.mark.parametrize("bad_row", [False, True])
def test_embedding_bag_matches_the_simulator(bad_row: bool) -> None:
    rng = np.random.default_rng(3)
    table = rng.standard_normal((30, 16)).astype(np.float32)
    ids = rng.integers(0, 30, 24).astype(np.int32)
    if bad_row:
        ids[13] = 30  # DCHK names it before the inner loop touches the table
    out = np.zeros((6, 16), np.float32)
    _, error = assert_same_outcome(asm(EMBEDDING_BAG), "embedding_bag",
                                        [table, ids, out, 4])
    assert (error is not None) == bad_row
