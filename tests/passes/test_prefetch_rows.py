"""prefetch-next-row: results identical with the pass on and off (IR interpreter on a
row-by-row nest over many shapes, inner bounds and outer steps, traps included; the
row-wise examples on the simulator and natively), every prefetch it adds indexes
inside its tensor (checked where each one executes), and on short rows it takes most
of the memory stalls away."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xdsl.dialects import scf

from phextcc.ir import phx_dialect as phx
from phextcc.ir.context import parse_ir
from phextcc.passes.prefetch import iv_offset
from tests.e2e.oracle import EXAMPLES

from .helpers import ops_of, run
from .test_prefetch import (  # noqa: F401  (the fixture)
    WITH_PREFETCH,
    PrefetchRecorder,
    check_example,
    outcome,
    prefetches,
)


def _kernel(body: str) -> str:
    """Kernel k(t, o: f32[H, W], lb, ub: i64) around ``body`` (with %c0, %c1, %h and
    %w defined)."""
    return f"""
builtin.module {{
  func.func @k(%t: !phx.tensor<f32, ["H", "W"]>, %o: !phx.tensor<f32, ["H", "W"]>,
               %lb: i64, %ub: i64) attributes {{phx.kernel, phx.symbols = ["H", "W"],
               phx.param_names = ["t", "o", "lb", "ub"]}} {{
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %h = phx.sym "H"
    %w = phx.sym "W"
{body}
    func.return
  }}
}}
"""


# o[r, i] = t[r, i - 1] + t[r + 1, i] for r = 0, RSTEP, ... below H - 1 and i from lb
# to ub: rows r and r + 1 of t are read, so row r + RSTEP + 1 is the one prefetched
# (for RSTEP = 1, r + 2). t[r, i - 1] traps for i = 0, and i >= W traps too.
ROWS = _kernel("""\
    %rstep = arith.constant RSTEP : i64
    %last = arith.subi %h, %c1 : i64
    scf.for %r = %c0 to %last step %rstep : i64 {
      %down = arith.addi %r, %c1 : i64
      scf.for %i = %lb to %ub step %c1 : i64 {
        %im1 = arith.subi %i, %c1 : i64
        %a = phx.load %t[%r, %im1] : !phx.tensor<f32, ["H", "W"]> -> f32
        %b = phx.load %t[%down, %i] : !phx.tensor<f32, ["H", "W"]> -> f32
        %d = arith.addf %a, %b : f32
        phx.store %d, %o[%r, %i] : !phx.tensor<f32, ["H", "W"]>
      }
    }""")


# The same nest over every in-range column, i in 1..W: prove-in-bounds marks the loads,
# so the walk is bounded by the inner loop's own bounds instead of W.
PROVEN = ROWS.replace("scf.for %i = %lb to %ub", "scf.for %i = %c1 to %w")


def _arguments(h: int, w: int, lb: int, ub: int) -> dict[str, Any]:
    t = np.arange(h * w, dtype=np.float32).reshape(h, w) * np.float32(0.25)
    return {"t": t, "o": np.zeros((h, w), np.float32), "lb": lb, "ub": ub}


def _compare(rstep: int, cases: list[tuple[int, int, int, int]], kernel: str = ROWS,
             spec: str = "prefetch-next-row") -> None:
    text = kernel.replace("RSTEP", str(rstep))
    before, after = parse_ir(text), run(spec, text)
    assert ops_of(after, phx.PrefetchOp), "the pass must prefetch this nest"
    for h, w, lb, ub in cases:
        expected = outcome(before, _arguments(h, w, lb, ub))
        assert outcome(after, _arguments(h, w, lb, ub)) == expected, (h, w, lb, ub)


def test_the_next_new_row_is_prefetched_before_the_inner_loop() -> None:
    module = run("prefetch-next-row", ROWS.replace("RSTEP", "1"))
    (walk,) = [loop for loop in ops_of(module, scf.ForOp)
               if any(isinstance(op, phx.PrefetchOp) for op in loop.body.ops)]
    (prefetch,) = ops_of(module, phx.PrefetchOp)
    assert prefetch.attributes.get(phx.PREFETCH_IN_BOUNDS_ATTR) is not None
    assert walk.attributes[phx.TRIPS_BELOW_ATTR].data >= 2  # type: ignore[attr-defined]
    guard = walk.parent_op()
    outer = guard.parent_op() if isinstance(guard, scf.IfOp) else None
    assert isinstance(outer, scf.ForOp)
    # Row r + 2: r + 1 is read in this iteration already.
    assert iv_offset(prefetch.indices[0], outer.body.block.args[0]) == 2


CASES = [(h, w, lb, ub) for h in (0, 1, 2, 3, 5) for w in (0, 1, 17, 40)
         for lb, ub in ((1, 17), (1, 40), (0, 3), (1, 1), (-3, 2), (5, 41))]


@pytest.mark.parametrize("rstep", [1, 2, 3])
def test_results_and_prefetch_indices(rstep: int, prefetches: PrefetchRecorder  # noqa: F811
                                      ) -> None:
    _compare(rstep, CASES)
    assert prefetches.count > 0


@pytest.mark.parametrize("rstep", [1, 2])
def test_proven_accesses_bound_the_walk_by_the_loop(rstep: int,
                                                    prefetches: PrefetchRecorder  # noqa: F811
                                                    ) -> None:
    module = run("prove-in-bounds,prefetch-next-row", PROVEN.replace("RSTEP", str(rstep)))
    guards = ops_of(module, scf.IfOp)
    assert len(guards) == rstep  # rows r + rstep (and r + rstep + 1) are new
    assert not any(isinstance(op, phx.SymOp) for guard in guards for op in guard.walk())
    _compare(rstep, [(h, w, 0, 0) for h in (0, 1, 2, 3, 6) for w in (0, 1, 2, 17, 40)],
             PROVEN, "prove-in-bounds,prefetch-next-row")
    assert prefetches.count > 0


# s[r] = sum of t[r, i] for i in 0..W, for every row: after unroll-inner the main loop
# steps by 16 and its copies read t[r, i + 0 .. i + 15], all proven in bounds, up to
# the last multiple of 16; the remainder loop reads the rest.
SUMS = _kernel("""\
    %zero = arith.constant 0.0 : f32
    scf.for %r = %c0 to %h step %c1 : i64 {
      %s = scf.for %i = %c0 to %w step %c1 iter_args(%acc = %zero) -> (f32) : i64 {
        %v = phx.load %t[%r, %i] : !phx.tensor<f32, ["H", "W"]> -> f32
        %n = arith.addf %acc, %v : f32
        scf.yield %n : f32
      }
      phx.store %s, %o[%r, %c0] : !phx.tensor<f32, ["H", "W"]>
    }""")


def test_an_unrolled_main_loop_bounds_the_walk_by_its_last_trip(
        prefetches: PrefetchRecorder) -> None:  # noqa: F811
    """The main loop's last trip starts at ub - 16, not at ub - 1: the walk must stop
    at the last element that trip reads (rows of exactly 16 or 32 elements)."""
    spec = "prove-in-bounds,unroll-inner{factor=16},prefetch-next-row"
    module = run(spec, SUMS)
    assert ops_of(module, phx.PrefetchOp)
    before = parse_ir(SUMS)
    for h in (1, 2, 3):
        for w in (1, 15, 16, 17, 31, 32, 33, 48):
            expected = outcome(before, _arguments(max(h, 1), w, 0, 0))
            assert outcome(module, _arguments(max(h, 1), w, 0, 0)) == expected, (h, w)
    assert prefetches.count > 0


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow,
                                 HealthCheck.function_scoped_fixture])
@given(st.tuples(st.integers(0, 6), st.integers(0, 50), st.integers(-3, 60),
                 st.integers(-3, 60), st.integers(1, 4)))
def test_drawn_shapes_and_bounds(prefetches: PrefetchRecorder,  # noqa: F811
                                 drawn: tuple[int, int, int, int, int]) -> None:
    h, w, lb, ub, rstep = drawn
    _compare(rstep, [(h, w, lb, ub)])


@pytest.mark.parametrize("kernel", ["softmax", "laplacian", "hdc_similarity"])
@pytest.mark.parametrize("size", [1, 9])
def test_row_examples_agree_and_prefetch_inside_their_tensors(
        kernel: str, size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(EXAMPLES / f"{kernel}.phx")
    issued = check_example(path, kernel, size, native=size == 9, monkeypatch=monkeypatch)
    assert size == 1 or issued > 0


def test_short_rows_wait_far_less_for_memory() -> None:
    """softmax over 10 rows of 19: most of the cold misses at the start of each row are
    prefetched while the row before it is processed."""
    from runtime.bench.measure import aligned_arguments
    from runtime.simulator import simulate

    from .test_prefetch import compiled

    path = str(EXAMPLES / "softmax.phx")
    without_rows = ",".join(p for p in WITH_PREFETCH.split(",") if p != "prefetch-next-row")
    stalls = {}
    for label, spec in (("off", without_rows), ("on", WITH_PREFETCH)):
        args = aligned_arguments({"x": np.random.default_rng(0).standard_normal(
            (10, 19)).astype(np.float32), "out": np.zeros((10, 19), np.float32)})
        result = simulate(compiled(path, spec), "softmax", args)
        assert result.stats is not None
        stalls[label] = result.stats.to_json()["stall_cycles"]["memory"]
    assert stalls["on"] * 2 < stalls["off"], stalls
