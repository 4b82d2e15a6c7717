"""Control flow through the whole backend, run in the simulator: loops with every kind
of trip count, nested loops, if/else with results, while, short-circuit, early return."""

from __future__ import annotations

import numpy as np
import pytest

from phextcc.backend.codegen import siw_ir
from tests.backend.backend_helpers import compile_source, mnemonics, run, source_module

COUNT_LOOP = """
kernel count(lo: i64, hi: i64, st: i64, out: i64[2]) {
    var n: i64 = 0;
    var last: i64 = -1;
    for i in lo..hi step st {
        n += 1;
        last = i;
    }
    out[0] = n;
    out[1] = last;
}
"""


@pytest.mark.parametrize(("lo", "hi", "st"), [
    (0, 0, 1), (5, 3, 1), (0, 1, 1), (0, 2, 1), (0, 37, 1), (3, 20, 4), (-5, 5, 3),
    (0, 10, 0), (0, 10, -2),
])
def test_for_loop_trip_counts_and_runtime_bounds(lo: int, hi: int, st: int) -> None:
    program = compile_source(COUNT_LOOP)
    out = np.zeros(2, np.int64)
    run(program, "count", {"lo": lo, "hi": hi, "st": st, "out": out})
    trips = list(range(lo, hi, st)) if st > 0 else []
    assert out.tolist() == [len(trips), trips[-1] if trips else -1]


def test_for_loop_with_constant_bounds_is_tested_at_the_top() -> None:
    source = "kernel k(out: i64[1]) { var n: i64 = 0; for i in 4..4 { n += 1; } out[0] = n; }"
    names = mnemonics(siw_ir(source_module(source)))
    assert "DBR.ge.i64" in names
    out = np.full(1, 7, np.int64)
    run(compile_source(source), "k", {"out": out})
    assert out[0] == 0


def test_nested_loops_with_carried_values() -> None:
    source = """
    kernel tri(n: i64, out: i64[N]) {
        for i in 0..n {
            var acc: i64 = 0;
            for j in 0..i + 1 { acc += j * i; }
            out[i] = acc;
        }
    }"""
    out = np.zeros(6, np.int64)
    run(compile_source(source), "tri", {"n": 6, "out": out})
    assert out.tolist() == [sum(j * i for j in range(i + 1)) for i in range(6)]


def test_loop_carried_swap_uses_the_previous_iteration_values() -> None:
    source = """
    kernel fib(n: i64, out: i64[2]) {
        var a: i64 = 0;
        var b: i64 = 1;
        for i in 0..n { let t = a + b; a = b; b = t; }
        out[0] = a; out[1] = b;
    }"""
    out = np.zeros(2, np.int64)
    run(compile_source(source), "fib", {"n": 10, "out": out})
    assert out.tolist() == [55, 89]
    swap = """
    kernel swap(n: i64, out: i64[2]) {
        var a: i64 = 1;
        var b: i64 = 2;
        for i in 0..n { let t = a; a = b; b = t; }
        out[0] = a; out[1] = b;
    }"""
    for n, expected in ((0, [1, 2]), (1, [2, 1]), (3, [2, 1]), (4, [1, 2])):
        out = np.zeros(2, np.int64)
        run(compile_source(swap), "swap", {"n": n, "out": out})
        assert out.tolist() == expected


def test_if_else_with_results_and_else_if_chains() -> None:
    source = """
    kernel classify(x: f64[N], out: i32[N]) {
        for i in 0..N {
            var c: i32 = 0;
            if x[i] < 0.0 { c = -1; } else if x[i] > 0.0 { c = 1; } else { c = 0; }
            out[i] = c;
        }
    }"""
    x = np.array([-2.0, 0.0, 3.5, -0.0, np.nan])
    out = np.full(5, 9, np.int32)
    run(compile_source(source), "classify", {"x": x, "out": out})
    assert out.tolist() == [-1, 0, 1, 0, 0]


def test_while_loop_runs_zero_and_many_times() -> None:
    source = """
    kernel collatz(start: i64, out: i64[1]) {
        var n = start;
        var steps: i64 = 0;
        while n > 1 {
            if n % 2 == 0 { n = n / 2; } else { n = 3 * n + 1; }
            steps += 1;
        }
        out[0] = steps;
    }"""
    program = compile_source(source)
    for start, steps in ((1, 0), (6, 8), (27, 111)):
        out = np.zeros(1, np.int64)
        run(program, "collatz", {"start": start, "out": out})
        assert out[0] == steps


def test_short_circuit_guards_an_out_of_range_load() -> None:
    source = """
    kernel guarded(k: i64, x: i64[N], out: i64[1]) {
        var hits: i64 = 0;
        if k < N and x[k] > 0 { hits = 1; }
        if k >= N or x[k] < 0 { hits += 10; }
        out[0] = hits;
    }"""
    program = compile_source(source)
    x = np.array([5, -3, 0], np.int64)
    for k, expected in ((0, 1), (1, 10), (2, 0), (3, 10), (100, 10)):
        out = np.zeros(1, np.int64)
        run(program, "guarded", {"k": k, "x": x, "out": out})
        assert out[0] == expected


def test_early_return_inside_a_loop() -> None:
    source = """
    kernel find(x: i64[N], target: i64, out: i64[1]) {
        out[0] = -1;
        for i in 0..N {
            if x[i] == target { out[0] = i; return; }
        }
        out[0] = -2;
    }"""
    program = compile_source(source)
    x = np.array([4, 7, 7, 1], np.int64)
    for target, expected in ((7, 1), (1, 3), (9, -2)):
        out = np.zeros(1, np.int64)
        run(program, "find", {"x": x, "target": target, "out": out})
        assert out[0] == expected


def test_bounds_check_names_tensor_and_index_at_run_time() -> None:
    source = "kernel oob(i: i64, x: f32[N]) { x[i] = 1.0; }"
    program = compile_source(source)
    with pytest.raises(Exception, match="x") as info:
        run(program, "oob", {"i": 4, "x": np.zeros(4, np.float32)})
    assert "4" in str(info.value)


def test_prefetch_near_the_end_never_faults_and_changes_nothing() -> None:
    source = """
    kernel pre(x: f32[N], out: f32[N]) {
        for i in 0..N { prefetch x[i + 16]; prefetch x[i - 20]; out[i] = x[i] * 2.0; }
    }"""
    program = compile_source(source)
    for n in (0, 1, 16, 40):
        x = np.arange(n, dtype=np.float32)
        out = np.zeros(n, np.float32)
        run(program, "pre", {"x": x, "out": out})
        assert out.tolist() == (x * 2).tolist()


def test_axes_longer_than_2048_carry_into_higher_phext_dimensions() -> None:
    source = """
    kernel big(v: i64[N], m: i64[R, C]) {
        v[N - 1] = v[2047] + v[2048];
        m[R - 1, C - 1] = m[0, 2049] + m[1, 0];
    }"""
    v = np.arange(5000, dtype=np.int64)
    m = np.arange(3 * 3000, dtype=np.int64).reshape(3, 3000)
    run(compile_source(source), "big", {"v": v, "m": m})
    assert v[-1] == 2047 + 2048
    assert m[2, 2999] == 2049 + 3000


I64_MAX = (1 << 63) - 1
I64_MIN = -(1 << 63)


@pytest.mark.parametrize(("lo", "hi", "st"), [
    (I64_MAX - 3, I64_MAX, 1), (I64_MAX - 3, I64_MAX, 2), (I64_MAX - 5, I64_MAX, 4),
    (I64_MIN, I64_MIN + 3, 1), (I64_MIN, I64_MIN + 3, 5), (I64_MIN, I64_MIN + 9, 4),
    (I64_MAX - 1, I64_MAX, I64_MAX),
])
def test_loops_at_the_integer_limits_never_wrap(lo: int, hi: int, st: int) -> None:
    program = compile_source(COUNT_LOOP)
    out = np.zeros(2, np.int64)
    run(program, "count", {"lo": lo, "hi": hi, "st": st, "out": out})
    trips = list(range(lo, hi, st))
    assert out.tolist() == [len(trips), trips[-1]]


def test_constant_bounds_near_the_limit_fold_the_bottom_test() -> None:
    source = f"""
    kernel edge(out: i64[2]) {{
        var n: i64 = 0;
        var last: i64 = 0;
        for i in {I64_MAX - 4}..{I64_MAX} step 3 {{ n += 1; last = i; }}
        out[0] = n;
        out[1] = last;
    }}"""
    names = mnemonics(siw_ir(source_module(source)))
    assert "DSEL" not in names  # the limit is a compile-time constant
    out = np.zeros(2, np.int64)
    run(compile_source(source), "edge", {"out": out})
    assert out.tolist() == [2, I64_MAX - 1]
