"""The profitability rules of unroll-inner and prefetch-insert (docs/passes.md): each
rule applies to the loops it is about and leaves the others to the next rule, on small
.phx kernels lowered to -O2 IR. Every transformed kernel still computes what the
unoptimised program does (checked on the simulator for the ones the rules change)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from xdsl.dialects import scf
from xdsl.dialects.builtin import ModuleOp

from phextcc import driver
from phextcc.ir import phx_dialect as phx
from phextcc.ir.context import make_context
from phextcc.passes.pipeline import build_pipeline
from phextcc.passes.unroll import (
    UnrollDecision,
    data_shaped,
    lane_parallel,
    line_factor,
    span_bound,
    unroll_decision,
)
from tests.backend.backend_helpers import run as run_program
from tests.passes.profitability_kernels import FLOAT_REDUCTION, INT_REDUCTION, MAP

from .helpers import ops_of

O3_UNROLL = "unroll-inner{factor=16 max_ops=64 lane_max_ops=128}"

STENCIL = """
kernel stencil(u: f32[H, W], out: f32[H, W]) {
    for i in 1..H-1 {
        for j in 1..W-1 {
            out[i, j] = u[i-1, j] + u[i+1, j] + u[i, j-1] + u[i, j+1] - 4.0 * u[i, j];
        }
    }
}
"""
CSR_ROWS = """
kernel rows(ptr: i64[RP], vals: f32[NNZ], y: f32[R]) {
    for r in 0..R {
        var acc: f32 = 0.0;
        for k in ptr[r]..ptr[r + 1] { acc += vals[k]; }
        y[r] = acc;
    }
}
"""
GATHERED_ROWS = """
kernel bag(table: f32[V, D], ids: i32[B], out: f32[D]) {
    for b in 0..B {
        let row = i64(ids[b]);
        for d in 0..D { out[d] += table[row, d]; }
    }
}
"""
PANEL = """
kernel panel(a: f32[M, K], c: f32[M]) {
    for i in 0..M {
        for p0 in 0..K step 16 {
            var acc = c[i];
            for p in p0..min(p0 + 16, K) { acc += a[i, p]; }
            c[i] = acc;
        }
    }
}
"""


def o2_ir(source: str) -> ModuleOp:
    return driver.compile_to_ir(source, "test.phx", driver.Options(opt_level=2))


def apply(spec: str, module: ModuleOp) -> ModuleOp:
    build_pipeline(spec, verify_between=True).apply(make_context(), module)
    return module


def innermost(module: ModuleOp) -> scf.ForOp:
    loops = [op for op in module.walk() if isinstance(op, scf.ForOp)
             and not any(isinstance(inner, scf.ForOp) for inner in op.body.walk()
                         if inner is not op)]
    assert len(loops) == 1, loops
    return loops[0]


def decision(source: str, factor: int = 16, max_ops: int = 64, lane_max_ops: int = 128
             ) -> UnrollDecision:
    return unroll_decision(innermost(o2_ir(source)), factor, max_ops, lane_max_ops)


# --- the loop properties the rules read -------------------------------------------


def test_lane_parallel_loops_carry_only_integers_and_order_nothing() -> None:
    assert lane_parallel(innermost(o2_ir(MAP)))
    assert lane_parallel(innermost(o2_ir(INT_REDUCTION)))
    assert not lane_parallel(innermost(o2_ir(FLOAT_REDUCTION)))
    with_exp = MAP.replace("a * x[i]", "exp(x[i])")
    assert not lane_parallel(innermost(o2_ir(with_exp)))


def test_data_shaped_loops_have_loaded_bounds_or_gathered_rows() -> None:
    assert data_shaped(innermost(o2_ir(CSR_ROWS)))
    assert data_shaped(innermost(o2_ir(GATHERED_ROWS)))
    assert not data_shaped(innermost(o2_ir(MAP)))
    assert not data_shaped(innermost(o2_ir(STENCIL)))


def test_span_bounds_come_from_the_shape_of_the_upper_bound() -> None:
    panel = innermost(o2_ir(PANEL))
    assert span_bound(panel.lb, panel.ub) == 16
    whole_axis = innermost(o2_ir(MAP))
    assert span_bound(whole_axis.lb, whole_axis.ub) is None


def test_the_line_factor_covers_one_cache_line_of_the_narrowest_element() -> None:
    assert line_factor(innermost(o2_ir(MAP)), 1) == 16  # f32
    assert line_factor(innermost(o2_ir(INT_REDUCTION)), 1) == 8  # i64
    assert line_factor(innermost(o2_ir(MAP)), 4) == 4


# --- each rule applies, and refuses ---------------------------------------------


def test_data_shaped_loops_are_not_unrolled() -> None:
    assert decision(CSR_ROWS).factor == 1
    assert decision(GATHERED_ROWS).factor == 1
    assert decision(FLOAT_REDUCTION).factor > 1  # the same body over a symbol's extent


def test_lane_parallel_reductions_are_left_to_the_native_vectoriser() -> None:
    assert decision(INT_REDUCTION).factor == 1
    assert "reduction" in decision(INT_REDUCTION).reason


def test_lane_parallel_maps_take_one_line_or_nothing() -> None:
    assert decision(MAP).factor == 16
    assert decision(MAP, max_ops=32, lane_max_ops=0).factor == 1  # 16 x 4 ops > 32
    assert decision(MAP, lane_max_ops=0, max_ops=0).factor == 16
    assert decision(STENCIL).factor == 1  # 16 copies of a 14-op body exceed 128
    assert decision(STENCIL, lane_max_ops=1000).factor == 16
    assert decision(MAP, factor=8).factor == 1  # a line needs 16 copies
    fill = "kernel fill(out: f32[N]) { for i in 0..N { out[i] = 1.5; } }"
    assert decision(fill).factor == 1  # nothing to prefetch


def test_serial_loops_take_the_largest_factor_within_max_ops() -> None:
    assert decision(FLOAT_REDUCTION).factor == 8  # 8 copies of 5 ops + yield <= 64
    assert decision(FLOAT_REDUCTION, max_ops=0).factor == 16


def test_a_short_constant_trip_bound_leaves_the_loop_whole() -> None:
    assert decision(PANEL).factor == 1  # at most 16 trips
    assert "16 trips" in decision(PANEL).reason
    assert decision(PANEL.replace("p0 + 16", "p0 + 64")).factor == 1
    assert decision(PANEL.replace("p0 + 16", "p0 + 65")).factor == 16  # 3 ops x 16


def test_the_pass_follows_the_decisions() -> None:
    unrolled = apply(O3_UNROLL, o2_ir(MAP))
    assert len(ops_of(unrolled, scf.ForOp)) == 2
    assert len(ops_of(ops_of(unrolled, scf.ForOp)[0], phx.StoreOp)) == 16  # type: ignore
    for source in (STENCIL, INT_REDUCTION, CSR_ROWS):
        module = o2_ir(source)
        loops = len(ops_of(module, scf.ForOp))
        assert len(ops_of(apply(O3_UNROLL, module), scf.ForOp)) == loops


# --- prefetch-insert ------------------------------------------------------------


def prefetch_count(source: str, spec: str = "prefetch-insert") -> int:
    return len(ops_of(apply(spec, o2_ir(source)), phx.PrefetchOp))


def test_lane_parallel_loops_prefetch_only_a_line_per_iteration() -> None:
    assert prefetch_count(MAP) == 0  # one element per iteration: one line 16 times
    assert prefetch_count(MAP, f"{O3_UNROLL},prefetch-insert") > 0  # 16 per iteration
    assert prefetch_count(STENCIL) == 0
    assert prefetch_count(FLOAT_REDUCTION) > 0  # serial: its prefetches stay


def test_loaded_or_short_bounds_get_no_prefetch() -> None:
    assert prefetch_count(CSR_ROWS) == 0
    assert prefetch_count(CSR_ROWS, "prefetch-insert{distance=2}") == 0
    # At most 16 trips: within the computed distance (hundreds of cycles ahead), so no
    # iteration could prefetch; a forced distance of 2 leaves prefetching iterations.
    assert prefetch_count(PANEL) == 0
    assert prefetch_count(PANEL, "prefetch-insert{distance=2}") > 0
    assert prefetch_count(PANEL.replace("p0 + 16", "p0 + 2"),
                          "prefetch-insert{distance=2}") == 0


# --- the rules keep every result ------------------------------------------------


def unoptimised_and_o3(source: str, kernel: str, args: dict[str, Any]) -> None:
    results = []
    for options in (driver.Options(opt_level=0, passes=""), driver.Options(opt_level=3)):
        program = driver.compile_source(source, "test.phx", options)
        copied = copy.deepcopy(args)
        run_program(program, kernel, copied)
        results.append(copied)
    for name, value in results[0].items():
        if isinstance(value, np.ndarray):
            assert value.tobytes() == results[1][name].tobytes(), name


@pytest.mark.parametrize("n", [0, 1, 15, 16, 17, 40])
def test_rule_changed_kernels_agree_with_the_unoptimised_program(n: int) -> None:
    rng = np.random.default_rng(n)
    x = rng.standard_normal(n).astype(np.float32)
    unoptimised_and_o3(MAP, "scale", {"a": np.float32(1.5), "x": x, "out": np.zeros(n, np.float32)})
    words = rng.integers(-2**62, 2**62, size=(2, n), dtype=np.int64)
    unoptimised_and_o3(INT_REDUCTION, "bits", {"x": words[0], "y": words[1],
                                      "out": np.zeros(1, np.int64)})
    a = rng.standard_normal((3, n)).astype(np.float32)
    unoptimised_and_o3(PANEL, "panel", {"a": a, "c": np.zeros(3, np.float32)})
