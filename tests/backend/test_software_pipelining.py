"""Software pipelining (tier 3) end to end: which loops are pipelined, and every trap
of testing.md: trip counts around the stage count, runtime bounds, steps, bounds near
the i64 limit, carried registers and memory, aliasing, swaps, long-lived values,
huge bodies, messages. -O3 results must equal -O0 bit for bit (and numpy)."""

from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np
import pytest

from phextcc import driver
from phextcc.backend.codegen import kernels_of, siw_ir
from phextcc.backend.pipeline_expand import PipelineReport, pipeline_kernel
from phextcc.backend.program import Program
from phextcc.passes.pipeline import SCALAR_PASSES
from tests.backend.backend_helpers import run

SCALE = """
kernel scale(a: f32, x: f32[N], out: f32[N]) {
    for i in 0..N { out[i] = a * x[i]; }
}
"""

SEND_RECV = """
kernel relay(a: f32, x: f32[N], out: f32[N]) {
    let s = sentron_id();
    if s == 0 {
        for i in 0..N { send(1, a * x[i]); }
    } else if s == 1 {
        for i in 0..N { out[i] = a * recv<f32>(0); }
    }
}
"""


@functools.cache
def compiled(source: str, opt_level: int, passes: str | None = None) -> Program:
    return driver.compile_source(source, "test.phx",
                                 driver.Options(opt_level=opt_level, passes=passes))


def reports(source: str, passes: str | None = None) -> list[PipelineReport]:
    """What the pipeliner did with each loop at -O3 (after ``passes`` instead of the
    level's IR pipeline when given)."""
    module = siw_ir(driver.compile_to_ir(source, "test.phx",
                                         driver.Options(opt_level=3, passes=passes)))
    found: list[PipelineReport] = []
    for kernel in kernels_of(module):
        found.extend(pipeline_kernel(kernel))
    module.verify()
    return found


def outputs(source: str, kernel: str, args: dict[str, Any], opt_level: int,
            sentrons: int = 1, passes: str | None = None) -> dict[str, Any]:
    copied = copy.deepcopy(args)  # keeps one array passed twice one array
    run(compiled(source, opt_level, passes), kernel, copied, sentrons=sentrons)
    return copied


def assert_same_as_o0(source: str, kernel: str, args: dict[str, Any], sentrons: int = 1,
                      passes: str | None = None) -> dict[str, Any]:
    """-O3 leaves exactly the tensors -O0 leaves (bit patterns, NaNs included): the
    whole -O3 pipeline (or ``passes`` when given), and -O3's packing of the scalar
    passes' IR, where the pipeliner sees each loop as written (after unroll-inner it
    sees 16 copies per trip, and remainder loops it leaves alone), so that trip counts
    0, 1, 2, ... reach its guards, prologue and epilogue."""
    expected = outputs(source, kernel, args, 0, sentrons)
    actual = outputs(source, kernel, args, 3, sentrons, passes)
    as_written = outputs(source, kernel, args, 3, sentrons, ",".join(SCALAR_PASSES))
    for name, want in expected.items():
        if isinstance(want, np.ndarray):
            assert want.tobytes() == actual[name].tobytes(), name
            assert want.tobytes() == as_written[name].tobytes(), name
    return actual


def f32(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


# --- what is pipelined ------------------------------------------------------------


def test_the_streaming_loops_are_pipelined() -> None:
    # Every scheduled loop runs within a row or two of the busiest pipe's bound (a
    # spare row can keep every value shorter than II, or the kernel within the
    # registers).
    for source in (SCALE, SEND_RECV):
        scheduled = [r for r in reports(source) if r.ii]
        assert scheduled and all(r.resource_bound <= r.ii <= r.resource_bound + 2
                                 for r in scheduled), scheduled
    # A message stream is overlapped. A map's unrolled copies are scheduled; the
    # remainder loops unroll-inner leaves (fewer than 16 trips per entry) are not.
    assert any(r.pipelined and r.stages >= 2 for r in reports(SEND_RECV))
    for source in (SCALE, SEND_RECV):
        remainders = [r for r in reports(source) if "at most 15 trips" in r.reason]
        assert remainders and all(not r.pipelined for r in remainders)


def _loop_words(program: Program) -> list[list[str]]:
    """The ops of every loop in the stream (a backward branch and what it spans)."""
    words = program.words
    loops = []
    for index, word in enumerate(words):
        for instr in (word.d,):
            targets = [value for operand, value in zip(instr.info.operands, instr.args)
                       if operand.kind.name == "TARGET"]
            if targets and targets[0] <= index and instr.info.family != "DJMP":
                loops.append([i.info.family for w in words[targets[0]:index + 1]
                              for i in (w.d, w.s, w.c) if not i.info.is_nop])
    return loops


def test_the_streaming_loops_carry_no_copies_and_no_spill_code() -> None:
    loops = _loop_words(compiled(SCALE, 3))
    assert loops
    for ops in loops:
        assert not {"DMOV", "SMOVP", "SSPILL", "SFILL"} & set(ops), ops


def test_message_loops_carry_no_register_copies() -> None:
    loops = _loop_words(compiled(SEND_RECV, 3))
    assert loops
    for ops in loops:
        assert not {"DMOV", "SMOVP"} & set(ops), ops


def test_send_and_recv_loops_are_pipelined() -> None:
    found = reports(SEND_RECV)
    assert sum(r.pipelined for r in found) >= 2, found


def test_loops_with_bounds_checks_are_refused() -> None:
    source = """
    kernel gather(ids: i32[B], x: f32[N], out: f32[B]) {
        for b in 0..B { out[b] = x[i64(ids[b])]; }
    }
    """
    found = reports(source)
    assert found and not any(r.pipelined for r in found)
    assert any("DCHK" in r.reason for r in found)


def test_a_conditional_body_is_not_a_candidate_and_stays_correct() -> None:
    source = """
    kernel absolute(x: f32[N], out: f32[N]) {
        for i in 0..N { if x[i] > 0.0 { out[i] = x[i]; } else { out[i] = 0.0 - x[i]; } }
    }
    """
    assert not any(r.pipelined for r in reports(source))
    rng = np.random.default_rng(1)
    for n in (0, 1, 5, 37):
        x = f32(rng.standard_normal(n))
        got = assert_same_as_o0(source, "absolute", {"x": x, "out": f32(np.zeros(n))})
        np.testing.assert_array_equal(got["out"], np.abs(x))


def test_a_huge_body_is_refused_quickly() -> None:
    statements = "\n".join(f"        out[i] = out[i] * {k + 2}.0 + x[i];" for k in range(45))
    source = f"""
    kernel huge(x: f32[N], out: f32[N]) {{
        for i in 0..N {{
{statements}
        }}
    }}
    """
    found = reports(source)
    assert found and not any(r.pipelined for r in found)
    assert any("limit" in r.reason for r in found), found
    x = f32(np.arange(5))
    assert_same_as_o0(source, "huge", {"x": x, "out": f32(np.ones(5))})


# --- trip counts, bounds, steps ---------------------------------------------------


@pytest.mark.parametrize("n", [*range(0, 6), *range(14, 20), 31, 32, 33, 47, 48, 49, 100, 257])
def test_trip_counts_known_only_at_run_time(n: int) -> None:
    x = f32(np.random.default_rng(n).standard_normal(n))
    got = assert_same_as_o0(SCALE, "scale", {"a": np.float32(1.5), "x": x, "out": f32(np.zeros(n))})
    np.testing.assert_array_equal(got["out"], np.float32(1.5) * x)


@pytest.mark.parametrize("trips", [0, 1, 2, 3, 4, 5, 7, 9])
def test_constant_trip_counts(trips: int) -> None:
    source = f"""
    kernel fixed(x: f32[64], out: f32[64]) {{
        for i in 0..{trips} {{ out[i] = x[i] + 1.0; }}
    }}
    """
    x = f32(np.arange(64))
    got = assert_same_as_o0(source, "fixed", {"x": x, "out": f32(np.zeros(64))})
    expected = np.zeros(64, dtype=np.float32)
    expected[:trips] = x[:trips] + 1
    np.testing.assert_array_equal(got["out"], expected)


@pytest.mark.parametrize(("lo", "step"), [(0, 2), (0, 3), (1, 7), (5, 4)])
def test_steps_other_than_one(lo: int, step: int) -> None:
    # The float sum makes the loop serial, so it is overlapped (a map alone would be
    # left to the native vectoriser).
    source = f"""
    kernel strided(x: f32[N], out: f32[N], total: f32[1]) {{
        var acc: f32 = 0.0;
        for i in {lo}..N step {step} {{ let v = x[i] * 2.0 + 1.0; out[i] = v; acc += v; }}
        total[0] = acc;
    }}
    """
    assert any(r.pipelined for r in reports(source))
    for n in (0, 1, 2, 5, 6, 7, 13, 29, 64, 100, 131):
        x = f32(np.arange(n)) / 3
        got = assert_same_as_o0(source, "strided", {"x": x, "out": f32(np.zeros(n)),
                                                     "total": f32([0])})
        expected = np.zeros(n, dtype=np.float32)
        expected[lo::step] = x[lo::step] * np.float32(2) + np.float32(1)
        np.testing.assert_array_equal(got["out"], expected)


def test_backward_strides() -> None:
    source = """
    kernel reverse(x: f32[N], out: f32[N]) {
        for i in 0..N { out[N - 1 - i] = x[i] * 3.0; x[N - 1 - i] = 0.5; }
    }
    """
    for n in (0, 1, 2, 3, 7, 20, 33):
        x = f32(np.arange(n)) + 1
        got = assert_same_as_o0(source, "reverse", {"x": x, "out": f32(np.zeros(n))})
        expected_x, expected_out = x.copy(), np.zeros(n, dtype=np.float32)
        for i in range(n):
            expected_out[n - 1 - i] = expected_x[i] * np.float32(3)
            expected_x[n - 1 - i] = 0.5
        np.testing.assert_array_equal(got["out"], expected_out)
        np.testing.assert_array_equal(got["x"], expected_x)


# `chain` is a linear recurrence, not a reduction: the iterations are not independent
# lanes, so the loop is worth overlapping (pipeline_profitability).
COUNT = """
kernel count(lo: i64, hi: i64, s: i64, out: i64[3]) {
    var total: i64 = 0;
    var last: i64 = 0;
    var chain: i64 = 1;
    for i in lo..hi step s { total += ((i - lo) * 3) * 5 * 7; last = i; chain = chain * 3 + i; }
    out[0] = total;
    out[1] = last;
    out[2] = chain;
}
"""


def test_a_runtime_bound_loop_is_pipelined() -> None:
    assert any(r.pipelined and r.stages >= 2 for r in reports(COUNT))


@pytest.mark.parametrize(("lo", "hi", "step"), [
    (2**63 - 9, 2**63 - 1, 1), (2**63 - 30, 2**63 - 1, 3), (2**63 - 3, 2**63 - 1, 5),
    (2**63 - 12, 2**63 - 1, 2**62), (-2**63, -2**63 + 12, 1), (-2**63, -2**63 + 40, 4),
    (-2**63, 2**63 - 1, 2**62), (0, 0, 1), (5, 4, 1), *((0, n, 1) for n in range(1, 8)),
    (0, 29, 3), (7, 200, 1)])
def test_bounds_near_the_i64_limits_and_runtime_trip_counts(lo: int, hi: int, step: int
                                                           ) -> None:
    got = assert_same_as_o0(COUNT, "count", {"lo": lo, "hi": hi, "s": step,
                                             "out": np.zeros(3, dtype=np.int64)})
    visited = list(range(lo, hi, step))
    total = sum((i - lo) * 105 for i in visited)
    chain = 1
    for i in visited:
        chain = chain * 3 + i
    assert got["out"][0] == (total + 2**63) % 2**64 - 2**63
    assert got["out"][1] == (visited[-1] if visited else 0)
    assert got["out"][2] == (chain + 2**63) % 2**64 - 2**63


# --- carried values -----------------------------------------------------------


def test_reductions_are_bit_identical_to_o0() -> None:
    source = """
    kernel dot(x: f32[N], y: f32[N], out: f32[1]) {
        var acc: f32 = 0.0;
        for i in 0..N { acc += x[i] * y[i]; }
        out[0] = acc;
    }
    """
    rng = np.random.default_rng(7)
    for n in (0, 1, 2, 3, 4, 5, 17, 40, 300):
        x, y = f32(rng.standard_normal(n) * 1e3), f32(rng.standard_normal(n))
        got = assert_same_as_o0(source, "dot", {"x": x, "y": y, "out": f32([0])})
        acc = np.float32(0)
        for a, b in zip(x, y):
            acc = np.float32(acc + a * b)
        assert got["out"][0] == acc


def test_a_swap_carried_across_iterations() -> None:
    source = """
    kernel swap(x: f32[N], out: f32[2]) {
        var a: f32 = 1.0;
        var b: f32 = 2.0;
        for i in 0..N { let t = a; a = b + x[i]; b = t; }
        out[0] = a;
        out[1] = b;
    }
    """
    for n in (0, 1, 2, 3, 4, 5, 16, 33):
        x = f32(np.arange(n)) * 10
        got = assert_same_as_o0(source, "swap", {"x": x, "out": f32([0, 0])})
        a, b = np.float32(1), np.float32(2)
        for v in x:
            a, b = np.float32(b + v), a
        np.testing.assert_array_equal(got["out"], [a, b])


@pytest.mark.parametrize("distance", [1, 2, 3, 17])
def test_a_loop_carried_memory_dependence(distance: int) -> None:
    source = f"""
    kernel recur(x: f32[N], y: f32[N]) {{
        for i in {distance}..N {{ x[i] = x[i - {distance}] * 2.0 + y[i]; }}
    }}
    """
    for n in (0, distance, distance + 1, distance + 4, 50):
        x, y = f32(np.arange(n)) + 1, f32(np.arange(n)) * 0.25
        got = assert_same_as_o0(source, "recur", {"x": x, "y": y})
        expected = x.copy()
        for i in range(distance, n):
            expected[i] = expected[i - distance] * np.float32(2) + y[i]
        np.testing.assert_array_equal(got["x"], expected)


def test_a_read_ahead_of_a_write_across_iterations() -> None:
    source = """
    kernel shift(x: f32[N]) { for i in 0..N - 1 { x[i] = x[i + 1] + 1.0; } }
    """
    for n in (1, 2, 3, 6, 35):
        x = f32(np.arange(n)) * 2
        got = assert_same_as_o0(source, "shift", {"x": x})
        expected = x.copy()
        expected[:-1] = x[1:] + 1
        np.testing.assert_array_equal(got["x"], expected)


def test_a_tensor_passed_twice() -> None:
    source = """
    kernel smear(x: f32[N], out: f32[N]) { for i in 1..N { out[i] = x[i - 1] * 2.0; } }
    """
    for n in (0, 1, 2, 3, 5, 18, 40):
        buffer = f32(np.arange(n)) + 1
        args = {"x": buffer, "out": buffer}
        o0 = outputs(source, "smear", args, 0)
        o3 = outputs(source, "smear", args, 3)
        expected = buffer.copy()
        for i in range(1, n):
            expected[i] = expected[i - 1] * np.float32(2)
        np.testing.assert_array_equal(o0["out"], expected)
        np.testing.assert_array_equal(o3["out"], expected)


def test_values_living_longer_than_ii() -> None:
    source = """
    kernel cube(x: f32[N], out: f32[N], total: f32[1]) {
        var acc: f32 = 0.0;
        for i in 0..N { let v = x[i] * x[i] * x[i] + x[i]; out[i] = v; acc += v; }
        total[0] = acc;
    }
    """
    # Without unroll-inner (whose 16 copies make the II longer than any value lives),
    # x[i] is read by the last add long after the next x[i] is loaded: the kernel is
    # unrolled (modulo variable expansion) so that both have registers of their own.
    # (The float sum makes the loop serial: a map alone is left to the native
    # vectoriser.)
    scalar = ",".join(SCALAR_PASSES)
    found = reports(source, scalar)
    assert any(r.pipelined and r.kernel_copies >= 2 for r in found), found
    for n in (0, 1, 2, 3, 4, 5, 6, 9, 10, 11, 12, 15, 17, 25, 26, 27, 28, 40):
        x = f32(np.arange(n)) * 0.5 - 3
        got = assert_same_as_o0(source, "cube", {"x": x, "out": f32(np.zeros(n)),
                                                 "total": f32([0])}, passes=scalar)
        np.testing.assert_array_equal(got["out"], x * x * x + x)


def test_a_long_latency_op_in_the_body() -> None:
    source = """
    kernel slow(x: f32[N], out: f32[N]) { for i in 0..N { out[i] = sqrt(x[i]) + x[i]; } }
    """
    for n in (0, 1, 5, 17, 40):
        x = f32(np.arange(n)) + 0.5
        got = assert_same_as_o0(source, "slow", {"x": x, "out": f32(np.zeros(n))})
        np.testing.assert_array_equal(got["out"], np.sqrt(x) + x)


# --- messages -------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 2, 3, 17, 40])
def test_send_recv_loops_on_two_sentrons(n: int) -> None:
    x = f32(np.arange(n)) - 3
    got = assert_same_as_o0(SEND_RECV, "relay", {"a": np.float32(0.5), "x": x,
                                                 "out": f32(np.zeros(n))}, sentrons=2)
    np.testing.assert_array_equal(got["out"], np.float32(0.5) * (np.float32(0.5) * x))


def test_a_ping_pong_keeps_its_order() -> None:
    source = """
    kernel pingpong(x: f32[N], out: f32[N]) {
        let s = sentron_id();
        if s == 0 {
            for i in 0..N { send(1, x[i]); out[i] = recv<f32>(1); }
        } else {
            for i in 0..N { let v = recv<f32>(0); send(0, v * 2.0); }
        }
    }
    """
    for n in (0, 1, 3, 20):
        x = f32(np.arange(n))
        got = assert_same_as_o0(source, "pingpong", {"x": x, "out": f32(np.zeros(n))},
                                sentrons=2)
        np.testing.assert_array_equal(got["out"], x * 2)


def test_jit_agrees_with_the_simulator() -> None:
    from tests.jit.helpers import assert_same_outcome

    for source, name, n in ((SCALE, "scale", 37), (SEND_RECV, "relay", 21)):
        x = f32(np.arange(n)) * 0.75
        sentrons = 2 if name == "relay" else 1
        assert_same_outcome(compiled(source, 3), name,
                            [np.float32(1.25), x, f32(np.zeros(n))], sentrons=sentrons)
