"""Versioning of loops shaped like the toolchain's output: rotated loops (guard, then a
body ending in DCMP + DBNZ or a fused DBR.<cc>), addresses formed as SINDEX from a base
with a flat offset computed in D registers, DCHKs, nested loops, indices loaded from
memory. Each case checks what the analysis proves, that the dispatch takes the unchecked
copy when everything is in range (a probe turns a refused dispatch into an error), and
that both engines agree on results, errors and the writes kept before an error."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phextcc.backend.program import Program
from runtime.errors import IndexOutOfRange, MemoryFault
from runtime.jit.analysis import region_facts
from runtime.jit.versioning import VersionedLoop, versioned_loops
from tests.jit.helpers import asm, assert_same_outcome, refused

# y[i*s + o] = x[i] + 1 for i in [lo, n): a rotated loop, DCMP before the increment.
ROTATED = """
.kernel rotated
.param x f32[N]
.param y f32[M]
.param lo i64
.param n i64
.param s i64
.param o i64
.param one f32
.symbols N M
    { DARG r1, arg2 }
    { DARG r2, arg3 }
    { DARG r3, arg4 }
    { DARG r4, arg5 }
    { DARG r5, arg6 }
    { DMOVI r6, #1 }
    { SBASE p0, arg0 }
    { SBASE p1, arg1 }
    { DBR.ge.i64 r1, r2, @done }
    { DSUB.i64 r2, r2, r6 }
body:
    { DCMP.i64 r8, r1, r2, lt | SINDEX p2, p0, r1, d0 }
    { DCHK r1, axis0, arg0 }
    { SGATHER.f32 r9, p2, #0 }
    { DMUL.i64 r10, r1, r3 }
    { DADD.i64 r10, r10, r4 }
    { DADD.f32 r9, r9, r5 | SINDEX p3, p1, r10, d0 }
    { DADD.i64 r1, r1, r6 | SSCATTR.f32 p3, r9, #0 }
    { DBNZ r8, @body }
done:
    DHALT
"""

# The same with a fused compare-and-branch after the increment, the flat offset built
# by a copy and a shift, and constant offsets in the immediates (an unrolled body).
FUSED = """
.kernel fused
.param x f32[N]
.param y f32[M]
.param n i64
.param o i64
.symbols N M
    { DMOVI r1, #0 }
    { DARG r2, arg2 }
    { DARG r4, arg3 }
    { DMOVI r6, #2 }
    { DMOVI r11, #1 }
    { SBASE p0, arg0 }
    { SBASE p1, arg1 }
    { DBR.ge.i64 r1, r2, @done }
body:
    { DMOV r12, r1 | SINDEX p2, p0, r1, d0 }
    { DSHL.i64 r10, r12, r11 | SGATHER.f32 r9, p2, #0 }
    { DADD.i64 r10, r10, r4 | SGATHER.f32 r13, p2, #1 }
    { SINDEX p3, p1, r10, d0 }
    { SSCATTR.f32 p3, r9, #0 }
    { DADD.i64 r1, r1, r6 | SSCATTR.f32 p3, r13, #2 }
    { DBR.lt.i64 r1, r2, @body }
done:
    DHALT
"""

# y[i] = x[i - 1] for i from hi down to lo + 1: a negative step and a gt exit test.
DOWN = """
.kernel down
.param x f32[N]
.param y f32[N]
.param hi i64
.param lo i64
.symbols N
    { DARG r1, arg2 }
    { DARG r2, arg3 }
    { DMOVI r6, #1 }
    { SBASE p0, arg0 }
    { SBASE p1, arg1 }
    { DBR.le.i64 r1, r2, @done }
body:
    { DSUB.i64 r3, r1, r6 | SINDEX p3, p1, r1, d0 }
    { SINDEX p2, p0, r3, d0 }
    { SGATHER.f32 r9, p2, #0 }
    { DSUB.i64 r1, r1, r6 | SSCATTR.f32 p3, r9, #0 }
    { DBR.gt.i64 r1, r2, @body }
done:
    DHALT
"""

# out[i, j] = a[i, j] * 2 for i < rows, j < cols (scalars that may exceed the tensor):
# the inner loop's flat offset is affine in both induction variables.
NESTED = """
.kernel nested
.param a f32[R, C]
.param out f32[R, C]
.param rows i64
.param cols i64
.param two f32
.symbols R C
    { DARG r1, arg2 }
    { DARG r2, arg3 }
    { DARG r3, arg4 }
    { DSYM r4, sym1 }
    { DMOVI r5, #0 }
    { DMOVI r6, #1 }
    { SBASE p0, arg0 }
    { SBASE p1, arg1 }
    { DBR.ge.i64 r5, r1, @done }
rows:
    { DMOVI r7, #0 }
    { DBR.ge.i64 r7, r2, @next_row }
    { DMUL.i64 r8, r5, r4 }
cols:
    { DADD.i64 r9, r8, r7 }
    { DCHK r5, axis0, arg0 }
    { DCHK r7, axis1, arg0 }
    { SINDEX p2, p0, r9, d0 }
    { SGATHER.f32 r10, p2, #0 }
    { DMUL.f32 r10, r10, r3 | SINDEX p3, p1, r9, d0 }
    { DADD.i64 r7, r7, r6 | SSCATTR.f32 p3, r10, #0 }
    { DBR.lt.i64 r7, r2, @cols }
next_row:
    { DADD.i64 r5, r5, r6 }
    { DBR.lt.i64 r5, r1, @rows }
done:
    DHALT
"""

# y[i] = x[i*i]: the offset is quadratic in i, so that access stays checked; the store
# to y[i] is affine and proven (r7 is set back to its entry value every iteration).
QUADRATIC = """
.kernel quadratic
.param x f32[N]
.param y f32[N]
.param n i64
.symbols N
    { DMOVI r1, #0 }
    { DARG r2, arg2 }
    { DMOVI r3, #0 }
    { DMOVI r4, #1 }
    { DMOVI r6, #2 }
    { DMOVI r7, #1 }
    { SBASE p0, arg0 }
    { SBASE p1, arg1 }
    { DBR.ge.i64 r1, r2, @done }
body:
    { SINDEX p2, p0, r3, d0 }
    { SGATHER.f32 r9, p2, #0 }
    { SINDEX p3, p1, r1, d0 }
    { SSCATTR.f32 p3, r9, #0 }
    { DADD.i64 r3, r3, r4 }
    { DADD.i64 r4, r4, r6 }
    { DADD.i64 r1, r1, r7 }
    { DMOVI r7, #1 }
    { DBR.lt.i64 r1, r2, @body }
done:
    DHALT
"""

# x[i] += one for i < n with the counter kept in a spill slot (register pressure in an
# unrolled body makes the toolchain do that).
SPILLED_COUNTER = """
.kernel spilled
.param x f32[N]
.param n i64
.param one f32
.symbols N
.spill 1
    { DMOVI r1, #0 }
    { DARG r2, arg1 }
    { DARG r5, arg2 }
    { DMOVI r6, #1 }
    { SBASE p0, arg0 }
    { SSPILL r1, spill0 }
    { DBR.ge.i64 r1, r2, @done }
body:
    { SFILL r3, spill0 }
    { SINDEX p1, p0, r3, d0 }
    { SGATHER.f32 r4, p1, #0 }
    { DADD.f32 r4, r4, r5 }
    { SSCATTR.f32 p1, r4, #0 }
    { DADD.i64 r3, r3, r6 }
    { SSPILL r3, spill0 }
    { DMOVI r3, #7 }
    { SFILL r7, spill0 }
    { DBR.lt.i64 r7, r2, @body }
done:
    DHALT
"""


def _loops(program: Program) -> dict[int, VersionedLoop]:
    kernel = program.kernels[0]
    return versioned_loops(program, kernel, region_facts(program, kernel))


def _only_loop(program: Program) -> VersionedLoop:
    (loop,) = _loops(program).values()
    return loop


# -- what the analysis proves ------------------------------------------------------


def test_rotated_loop_with_a_computed_flat_offset_is_proven() -> None:
    loop = _only_loop(asm(ROTATED))
    assert sorted(a.region for a in loop.accesses) == [0, 1]
    assert [(i.param, i.axis) for i in loop.indices] == [(0, 0)]
    store = next(a for a in loop.accesses if a.region == 1)
    (addend,) = store.form.addends
    assert not addend.invariant  # i*s + o moves with the iteration


def test_fused_exit_test_shift_chain_and_immediate_offsets() -> None:
    loop = _only_loop(asm(FUSED))
    assert len(loop.accesses) == 4
    assert loop.counter.slope.constant == 2  # DMOVI r6, #2 reaches the header


def test_negative_steps_are_analysed() -> None:
    loop = _only_loop(asm(DOWN))
    assert loop.counter.slope.constant == -1
    assert len(loop.accesses) == 2


def test_nested_loops_version_the_inner_loop() -> None:
    loops = _loops(asm(NESTED))
    (inner,) = loops.values()
    assert len(inner.accesses) == 2 and len(inner.indices) == 2
    assert any(i.index.invariant for i in inner.indices)  # the row: one check per row


def test_counters_kept_in_spill_slots_are_inductions() -> None:
    loop = _only_loop(asm(SPILLED_COUNTER))
    assert len(loop.accesses) == 2


def test_spilled_counters(refusals: None) -> None:
    program = asm(SPILLED_COUNTER)
    for n, in_range in [(0, True), (1, True), (30, True), (31, False)]:
        args = [np.arange(30, dtype=np.float32), n, 1.0]
        assert refused(program, "spilled", args) == (not in_range), n


@pytest.mark.parametrize("n", [0, 1, 30, 31])
def test_spilled_counters_match_the_simulator(n: int) -> None:
    assert_same_outcome(asm(SPILLED_COUNTER), "spilled", [np.arange(30, dtype=np.float32),
                                                          n, 1.0])


def test_quadratic_offsets_and_loaded_steps_are_not_proven() -> None:
    loop = _only_loop(asm(QUADRATIC))
    assert [a.region for a in loop.accesses] == [1]


# -- the dispatch: probe which copy runs ------------------------------------------


def _rotated_args(lo: int, n: int, s: int, o: int, size_x: int = 40,
                  size_y: int = 90) -> list[Any]:
    x = np.arange(1, size_x + 1, dtype=np.float32)
    return [x, np.zeros(size_y, np.float32), lo, n, s, o, 1.0]


IN_RANGE = [(0, 40, 2, 0), (0, 1, 1, 0), (0, 2, 1, 0), (5, 40, 1, 3), (0, 30, -3, 89),
            (39, 40, 0, 7), (10, 10, 1, 0)]
OUT_OF_RANGE = [(0, 41, 1, 0), (0, 40, 3, 0), (0, 40, -1, 5), (-1, 5, 1, 0),
                (0, 5, 1, 90), (0, 8, 1 << 62, 0), (0, 1 << 62, 1, 0),
                ((1 << 63) - 4, (1 << 63) - 1, 1, 0)]


def test_rotated_loops_take_the_unchecked_copy_exactly_when_in_range(refusals: None) -> None:
    program = asm(ROTATED)
    for case in IN_RANGE:
        assert not refused(program, "rotated", _rotated_args(*case)), case
    for case in OUT_OF_RANGE:
        assert refused(program, "rotated", _rotated_args(*case)), case


@pytest.mark.parametrize("opt_level", [0, 3])
def test_rotated_loops_match_the_simulator(opt_level: int) -> None:
    program = asm(ROTATED)
    for case in IN_RANGE + OUT_OF_RANGE:
        _, error = assert_same_outcome(program, "rotated", _rotated_args(*case),
                                       opt_level=opt_level)
        assert (error is None) == (case in IN_RANGE), case


# Loop parameters near the edges the range check reasons about: i64 limits (wrap-around
# of the counter or of i*s + o), its own magnitude bounds, and ordinary small values.
EDGES = [0, 1, 2, 39, 40, 41, 89, 90, -1, -2, 1 << 28, (1 << 28) + 1, 1 << 31, 1 << 58,
         (1 << 59) + 3, 1 << 60, 1 << 62, (1 << 63) - 1, -(1 << 63), -(1 << 62), 3 << 61]
PARAMS = st.one_of(st.sampled_from(EDGES), st.integers(-4, 95),
                   st.integers(-(1 << 63), (1 << 63) - 1))


def _check_rotated(values: tuple[int, int, int, int]) -> None:
    # Every run stops within about 40 iterations whatever the values: the DCHK or the
    # accesses of x fault once the counter leaves x.
    lo, n, s, o = values
    assert_same_outcome(asm(ROTATED), "rotated", _rotated_args(lo, n, s, o))
    x = np.arange(1, 41, dtype=np.float32)
    assert_same_outcome(asm(FUSED), "fused", [x, np.zeros(90, np.float32), n, o])
    assert_same_outcome(asm(DOWN), "down", [x[:20].copy(), np.zeros(20, np.float32), n, lo])


@settings(max_examples=30, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.tuples(PARAMS, PARAMS, PARAMS, PARAMS))
def test_rotated_loops_with_drawn_parameters(values: tuple[int, int, int, int]) -> None:
    _check_rotated(values)


@pytest.mark.slow
@settings(max_examples=400, deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.tuples(PARAMS, PARAMS, PARAMS, PARAMS))
def test_rotated_loops_with_drawn_parameters_long(values: tuple[int, int, int, int]) -> None:
    _check_rotated(values)


def test_a_bad_index_keeps_exactly_the_earlier_writes() -> None:
    # y[3*i]: iteration 30 writes y[90], one past the end; y[0], y[3], ..., y[87] stay.
    out, error = assert_same_outcome(asm(ROTATED), "rotated", _rotated_args(0, 40, 3, 0))
    assert isinstance(error, MemoryFault)
    assert np.array_equal(out[1][0:90:3], np.arange(2, 32, dtype=np.float32))


def test_fused_loops(refusals: None) -> None:
    x = np.arange(1, 41, dtype=np.float32)
    program = asm(FUSED)
    for n, o, in_range in [(0, 0, True), (2, 0, True), (4, 0, True), (40, 0, True),
                           (38, 7, True), (39, 0, True), (40, 12, False), (42, 0, False)]:
        args = [x, np.zeros(90, np.float32), n, o]
        assert refused(program, "fused", args) == (not in_range), (n, o)


@pytest.mark.parametrize("n, o", [(0, 0), (2, 0), (40, 0), (38, 7), (40, 12), (42, 0),
                                  (39, 0)])
def test_fused_loops_match_the_simulator(n: int, o: int) -> None:
    x = np.arange(1, 41, dtype=np.float32)
    assert_same_outcome(asm(FUSED), "fused", [x, np.zeros(90, np.float32), n, o])


def test_negative_steps(refusals: None) -> None:
    x = np.arange(1, 21, dtype=np.float32)
    program = asm(DOWN)
    for hi, lo, in_range in [(19, 0, True), (19, 18, True), (19, 19, True), (1, 0, True),
                             (20, 0, False), (19, -1, False)]:
        args = [x, np.zeros(20, np.float32), hi, lo]
        assert refused(program, "down", args) == (not in_range), (hi, lo)


@pytest.mark.parametrize("hi, lo", [(19, 0), (19, 18), (19, 19), (1, 0), (20, 0), (19, -1),
                                    (25, 5)])
def test_negative_steps_match_the_simulator(hi: int, lo: int) -> None:
    x = np.arange(1, 21, dtype=np.float32)
    assert_same_outcome(asm(DOWN), "down", [x, np.zeros(20, np.float32), hi, lo])


def test_nested_loops(refusals: None) -> None:
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    program = asm(NESTED)
    for rows, cols, in_range in [(4, 6, True), (1, 1, True), (0, 6, True), (4, 0, True),
                                 (5, 6, False), (4, 7, False)]:
        args = [a, np.zeros((4, 6), np.float32), rows, cols, 2.0]
        assert refused(program, "nested", args) == (not in_range), (rows, cols)


@pytest.mark.parametrize("rows, cols", [(4, 6), (1, 1), (0, 6), (4, 0), (5, 6), (4, 7)])
def test_nested_loops_match_the_simulator(rows: int, cols: int) -> None:
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    out, error = assert_same_outcome(asm(NESTED), "nested",
                                     [a, np.zeros((4, 6), np.float32), rows, cols, 2.0])
    if rows <= 4 and cols <= 6:
        assert error is None
    else:
        assert isinstance(error, IndexOutOfRange)


def test_quadratic_offsets_match_the_simulator() -> None:
    x = np.arange(1, 41, dtype=np.float32)
    for n in (0, 3, 6, 7):  # i*i reaches 36 at i = 6, 49 (outside x) at i = 7
        assert_same_outcome(asm(QUADRATIC), "quadratic", [x, np.zeros(40, np.float32), n])


# -- indices loaded from memory: the toolchain's embedding bag ---------------------

oracle = pytest.importorskip("tests.e2e.oracle")


# -O2 compiles the loops differently (not unrolled); it runs with the slow tests.
LEVELS = [pytest.param(2, marks=pytest.mark.slow), 3]


@pytest.mark.parametrize("opt_level", LEVELS)
@pytest.mark.parametrize("bad", [None, 0, 5, 11])
def test_compiled_embedding_bag_per_row_dispatch(opt_level: int, bad: int | None) -> None:
    program = oracle.compiled(str(oracle.EXAMPLES / "embedding_bag.phx"), opt_level)
    rng = np.random.default_rng(7)
    table = rng.standard_normal((50, 40)).astype(np.float32)
    ids = rng.integers(0, 50, 12).astype(np.int32)
    if bad is not None:
        ids[bad] = 50 + bad  # the row's DCHK fails; earlier rows were summed
    out, error = assert_same_outcome(program, "embedding_bag",
                                     [table, ids, np.zeros(40, np.float32)])
    assert (error is None) == (bad is None)


@pytest.mark.parametrize("opt_level", LEVELS)
def test_compiled_embedding_bag_rows_take_the_unchecked_copy(refusals: None,
                                                             opt_level: int) -> None:
    program = oracle.compiled(str(oracle.EXAMPLES / "embedding_bag.phx"), opt_level)
    rng = np.random.default_rng(8)
    table = rng.standard_normal((50, 64)).astype(np.float32)
    ids = rng.integers(0, 50, 30).astype(np.int32)
    assert _loops(program)
    assert not refused(program, "embedding_bag", [table, ids, np.zeros(64, np.float32)])
