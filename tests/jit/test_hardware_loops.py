"""DLOOP on both engines: trip counts, loop nests, messages in bodies, the affine
versioning of hardware loops with post-incremented coordinates (one entry check, an
unchecked vectorised body) and a property test against a Python model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phextcc.backend.program import Program
from runtime.errors import MemoryFault
from runtime.jit.analysis import region_facts
from runtime.jit.engine import build_llvm_module, target_machine
from runtime.jit.translate import JitOptions
from runtime.jit.versioning import VersionedLoop, versioned_loops
from runtime.simulator import simulate
from tests.isa.loop_programs import RELAY_IN_LOOPS
from tests.jit.helpers import asm, assert_same_outcome, refused

# out[0] = trips of the first body word, out[1] = of the loop-back word, out[2] = 1,
# out[3 + k] = k + 1: the loop-back word's S op ran on trip k
COUNT = """
.kernel k
.param out i64[N]
.param n i64
    { DARG r1, arg1 | SBASE p0, arg0 }
    { DMOVI r3, #1 | SBASE p1, arg0 }
    { DLOOP r1, @last }
    { DADD.i64 r2, r2, r3 }
last:
    { DADD.i64 r4, r4, r3 | SSCATTRI.i64 p1, r2, #3, #1 | CPACK m0, r2, lane1 }
    { DADD.i64 r5, r5, r3 | SSCATTR.i64 p0, r2, #0 }
    { SSCATTR.i64 p0, r4, #1 }
    { SSCATTR.i64 p0, r5, #2 }
    { DHALT }
"""

# y[i] = a * x[i] for i in 0..n with post-incremented coordinates: the stream kernel's
# shape (one D op, one load, one store per element, no loop control in any slot)
SCALE = """
.kernel scale
.param x f32[N]
.param y f32[M]
.param n i64
.param a f32
.symbols N M
    { DARG r1, arg2 | SBASE p0, arg0 }
    { DARG r2, arg3 | SBASE p1, arg1 }
    { DLOOP r1, @last }
    { SGATHERI.f32 r3, p0, #0, #1 }
    { DMUL.f32 r4, r3, r2 }
last:
    { SSCATTRI.f32 p1, r4, #0, #1 }
    { DHALT }
"""

# Two elements per trip, stepping by 2 with offsets 0 and 1, inside a DBR loop over rows.
ROWS = """
.kernel rows
.param x f32[R, C]
.param y f32[R, C]
.param half i64
.symbols R C
    { DARG r1, arg2 | SBASE p0, arg0 }
    { DSYM r6, sym0 | SBASE p1, arg1 }
    { DMOVI r7, #0 }
    { DMOVI r8, #1 }
row:
    { DLOOP r1, @last }
    { SGATHERI.f32 r2, p0, #1, #0 }
    { SGATHERI.f32 r3, p0, #0, #2 }
    { DADD.f32 r4, r2, r3 }
    { SSCATTRI.f32 p1, r4, #0, #1 }
last:
    { SSCATTRI.f32 p1, r4, #0, #1 }
    { DADD.i64 r7, r7, r8 }
    { DBR.lt.i64 r7, r6, @row }
    { DHALT }
"""


@pytest.mark.parametrize("n", [0, 1, 2, 17, -1, -(1 << 63), 100000])
def test_trip_counts_match_the_simulator(n: int) -> None:
    trips = max(n, 0)
    out = np.zeros(trips + 4, np.int64)
    args, error = assert_same_outcome(asm(COUNT), "k", [out, n])
    assert error is None
    assert list(args[0][:3]) == [trips, trips, 1]
    assert np.array_equal(args[0][3:3 + trips], np.arange(1, trips + 1))


def _scale_args(n: int, size: int = 40, out: int = 40) -> list[Any]:
    return [np.arange(1, size + 1, dtype=np.float32), np.zeros(out, np.float32), n, 2.0]


@pytest.mark.parametrize("n", [0, 1, 2, 39, 40, 41, 100, -5])
@pytest.mark.parametrize("opt_level", [0, 3])
def test_post_incremented_stream_matches_the_simulator(n: int, opt_level: int) -> None:
    args, error = assert_same_outcome(asm(SCALE), "scale", _scale_args(n),
                                      opt_level=opt_level)
    done = min(max(n, 0), 40)
    assert np.array_equal(args[1][:done], 2 * np.arange(1, done + 1, dtype=np.float32))
    assert (error is not None) == (n > 40)
    if n > 40:
        assert isinstance(error, MemoryFault) and "offset 40 outside region 0" in str(error)


def test_output_shorter_than_input_faults_on_the_store() -> None:
    args, error = assert_same_outcome(asm(SCALE), "scale", _scale_args(30, out=20))
    assert isinstance(error, MemoryFault) and "region 1 ('y', 20 elements)" in str(error)
    assert np.array_equal(args[1], 2 * np.arange(1, 21, dtype=np.float32))


@pytest.mark.parametrize("rows,cols,half", [(3, 8, 4), (1, 2, 1), (4, 6, 3), (2, 4, 0),
                                            (3, 4, 3)])
def test_hardware_loop_inside_a_branch_loop(rows: int, cols: int, half: int) -> None:
    x = np.arange(rows * cols, dtype=np.float32).reshape(rows, cols)
    args, error = assert_same_outcome(asm(ROWS), "rows", [x, np.zeros_like(x), half])
    if 2 * half * rows <= rows * cols:
        pairs = x.reshape(-1)[:2 * half * rows].reshape(-1, 2).sum(axis=1)
        assert np.array_equal(args[1].reshape(-1)[:2 * half * rows], np.repeat(pairs, 2))
    else:
        assert isinstance(error, MemoryFault)


TWO_LOOPS = """
.kernel k
.param out i64[N]
.param a i64
.param b i64
.param rounds i64
    { DARG r1, arg1 | SBASE p0, arg0 }
    { DARG r2, arg2 }
    { DARG r9, arg3 }
    { DMOVI r3, #1 }
outer:
    { DLOOP r1, @first }
first:
    { DADD.i64 r4, r4, r3 | SSCATTRI.i64 p0, r6, #0, #1 }
    { DLOOP r2, @second }
    { DADD.i64 r5, r5, r3 }
second:
    { DMUL.i64 r6, r4, r5 | SSCATTRI.i64 p0, r5, #0, #1 }
    { DADD.i64 r7, r7, r3 }
    { DBR.lt.i64 r7, r9, @outer }
    { SSCATTRI.i64 p0, r4, #0, #1 }
    { SSCATTRI.i64 p0, r5, #0, #1 }
    { DHALT }
"""


@pytest.mark.parametrize("a,b,rounds", [(4, 5, 3), (0, 2, 2), (3, 0, 2), (1, 1, 1),
                                        (-2, 3, 4), (6, 7, 9)])
def test_loops_after_loops_inside_a_branch_loop(a: int, b: int, rounds: int) -> None:
    # the first loop stores the product left by the second loop's previous round
    out = np.zeros(32, np.int64)
    args, error = assert_same_outcome(asm(TWO_LOOPS), "k", [out, a, b, rounds])
    trips_a, trips_b = max(a, 0) * rounds, max(b, 0) * rounds
    stores = trips_a + trips_b + 2
    assert (error is not None) == (stores > 32)
    if error is None:
        assert list(args[0][stores - 2:stores]) == [trips_a, trips_b]


def test_messages_in_loop_bodies_across_two_sentrons() -> None:
    text = RELAY_IN_LOOPS
    for n in (0, 1, 9):
        args, error = assert_same_outcome(asm(text), "k", [np.zeros(9, np.int64), n],
                                          sentrons=2)
        assert error is None and list(args[0][:n]) == [10 * i for i in range(1, n + 1)]
    # receiving more than was sent deadlocks on both engines alike
    receive_more = text.replace("{ DLOOP r1, @received }", "{ DADD.i64 r1, r1, r6 }\n"
                                "    { DLOOP r1, @received }")
    _, error = assert_same_outcome(asm(receive_more), "k", [np.zeros(9, np.int64), 3],
                                   sentrons=2, timeout=0.5)
    assert error is not None and "waits in CRECV from sentron 0" in str(error)


# -- versioning -------------------------------------------------------------------


def _loops(program: Program) -> dict[int, VersionedLoop]:
    kernel = program.kernels[0]
    return versioned_loops(program, kernel, region_facts(program, kernel))


def test_hardware_loop_with_post_increments_is_versioned() -> None:
    (loop,) = _loops(asm(SCALE)).values()
    assert (loop.header, loop.latch, loop.exit_word) == (3, 5, 5)
    assert loop.counter.base.constant == 1 and loop.counter.slope.constant == 1
    assert sorted(a.region for a in loop.accesses) == [0, 1]
    assert all(a.form.k_steps[0].constant == 1 for a in loop.accesses)


def test_unrolled_hardware_loop_steps_are_summed() -> None:
    (loop,) = _loops(asm(ROWS)).values()  # the DLOOP: the row loop around it is not
    assert loop.header == 5 and len(loop.accesses) == 4
    steps = {a.word: a.form.k_steps[0].constant for a in loop.accesses}
    assert set(steps.values()) == {2}  # p0 moves 0 + 2, p1 moves 1 + 1 per trip


def test_in_range_loops_take_the_unchecked_copy(refusals: None) -> None:
    program = asm(SCALE)
    for n in (1, 2, 39, 40):
        assert not refused(program, "scale", _scale_args(n)), n
    for n in (41, 1000):
        assert refused(program, "scale", _scale_args(n)), n
    assert refused(program, "scale", _scale_args(30, out=20))


def test_unchecked_copy_is_vectorised() -> None:
    machine = target_machine(3, None, None, jit=False)
    text = str(build_llvm_module(asm(SCALE), JitOptions(), machine))
    assert "x float>" in text  # a vector loop over the body


# -- property: simulator == JIT == a Python model -----------------------------------

DENSE = ("DADD.i64", "DSUB.i64", "DMUL.i64", "DXOR.i64", "DMAX.i64")
PY_OPS = {"DADD.i64": lambda a, b: a + b, "DSUB.i64": lambda a, b: a - b,
          "DMUL.i64": lambda a, b: a * b, "DXOR.i64": lambda a, b: a ^ b,
          "DMAX.i64": max}
M64 = (1 << 64) - 1


def _signed(value: int) -> int:
    value &= M64
    return value - (1 << 64) if value >> 63 else value


body_ops = st.lists(st.tuples(st.sampled_from(DENSE), st.integers(2, 5), st.integers(2, 5),
                              st.integers(2, 5)), min_size=1, max_size=4)


def _model(n: int, ops: list[tuple[str, int, int, int]], init: list[int]) -> list[int]:
    regs = dict(zip(range(2, 6), init))
    for _ in range(max(n, 0)):
        for mnemonic, d, a, b in ops:
            regs[d] = _signed(PY_OPS[mnemonic](regs[a], regs[b]))
    return [regs[r] for r in range(2, 6)]


def _loop_program(ops: list[tuple[str, int, int, int]]) -> Program:
    body = "\n".join(f"    {{ {m} r{d}, r{a}, r{b} }}" for m, d, a, b in ops)
    stores = "\n".join(f"    {{ SSCATTR.i64 p0, r{r}, #{r - 2} }}" for r in range(2, 6))
    lines = body.splitlines()
    lines.insert(len(lines) - 1, "last:")
    return asm("""
.kernel k
.param out i64[4]
.param n i64
.param a i64
.param b i64
    { DARG r1, arg1 | SBASE p0, arg0 }
    { DARG r2, arg2 }
    { DARG r3, arg3 }
    { DMOVI r4, #3 }
    { DMOVI r5, #-7 }
    { DLOOP r1, @last }
""" + "\n".join(lines) + "\n" + stores + "\n    { DHALT }\n")


def _check_random_body(n: int, ops: list[tuple[str, int, int, int]], a: int, b: int) -> None:
    program = _loop_program(ops)
    want = _model(n, ops, [a, b, 3, -7])
    out = np.zeros(4, np.int64)
    simulate(program, "k", [out, n, a, b], collect_stats=False)
    assert list(out) == want
    args, error = assert_same_outcome(program, "k", [np.zeros(4, np.int64), n, a, b])
    assert error is None and list(args[0]) == want


CASES = dict(n=st.integers(-2, 40), ops=body_ops, a=st.integers(-(1 << 63), (1 << 63) - 1),
             b=st.integers(-1000, 1000))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**CASES)
def test_random_bodies_agree_with_a_python_model(n: int, ops: list[tuple[str, int, int, int]],
                                                 a: int, b: int) -> None:
    _check_random_body(n, ops, a, b)


@pytest.mark.slow
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**CASES)
def test_random_bodies_agree_with_a_python_model_long(
        n: int, ops: list[tuple[str, int, int, int]], a: int, b: int) -> None:
    _check_random_body(n, ops, a, b)
