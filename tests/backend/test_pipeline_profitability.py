"""Which loops software pipelining takes (pipeline_profitability): each rule applies to
the loops it is about and refuses the others, on small kernels selected to SIW IR; a
refused loop keeps its body as it was."""

from __future__ import annotations

import pytest

from phextcc import driver
from phextcc.backend.codegen import kernels_of, siw_ir
from phextcc.backend.pipeline_expand import pipeline_kernel
from phextcc.backend.pipeline_loop import NotPipelinable, build_loop_model, loop_branch
from phextcc.backend.pipeline_profitability import (
    SHORT_TRIPS,
    OverlapDecision,
    overlap_decision,
    profitable_model,
    trip_bound,
)
from tests.passes.profitability_kernels import FLOAT_REDUCTION, INT_REDUCTION, MAP

LINEAR_RECURRENCE = """
kernel chain(x: i64[N], out: i64[1]) {
    var c: i64 = 1;
    for i in 0..N { c = c * 3 + x[i]; }
    out[0] = c;
}
"""
LIBM = """
kernel expo(x: f32[N], out: f32[N]) {
    for i in 0..N { out[i] = exp(x[i]); }
}
"""
SEND = """
kernel relay(x: f32[N], out: f32[N]) {
    if sentron_id() == 0 {
        for i in 0..N { send(1, x[i]); }
    } else {
        for i in 0..N { out[i] = recv<f32>(0); }
    }
}
"""
PANEL = """
kernel panel(a: f32[M, K], c: f32[M]) {
    for i in 0..M {
        for p0 in 0..K step 16 {
            var acc = c[i];
            for p in p0..min(p0 + SPAN, K) { acc += a[i, p]; }
            c[i] = acc;
        }
    }
}
"""


def decisions(source: str, opt_level: int = 2) -> list[OverlapDecision]:
    """The decision on every candidate loop of ``source`` compiled at ``opt_level``."""
    module = siw_ir(driver.compile_to_ir(source, "test.phx",
                                         driver.Options(opt_level=opt_level)))
    found = []
    for kernel in kernels_of(module):
        for block in kernel.body.blocks:
            if loop_branch(block) is not None:
                found.append(overlap_decision(build_loop_model(block)))
    assert found
    return found


def test_a_short_trip_bound_is_read_from_the_loop_test() -> None:
    for span in (16, SHORT_TRIPS):
        (decision,) = decisions(PANEL.replace("SPAN", str(span)))
        assert not decision.overlap and f"at most {span} trips" in decision.reason
    (longer,) = decisions(PANEL.replace("SPAN", str(SHORT_TRIPS + 1)))
    assert longer.overlap  # a float accumulation over more than SHORT_TRIPS trips


def test_no_trip_bound_without_a_constant_span() -> None:
    module = siw_ir(driver.compile_to_ir(FLOAT_REDUCTION, "test.phx",
                                         driver.Options(opt_level=2)))
    blocks = [b for k in kernels_of(module) for b in k.body.blocks
              if loop_branch(b) is not None]
    assert blocks and all(trip_bound(build_loop_model(b)) is None for b in blocks)


@pytest.mark.parametrize(("source", "why"), [
    (FLOAT_REDUCTION, "DADD.f32 carries a serial chain"),
    (LINEAR_RECURRENCE, "carries a serial chain"),
    (LIBM, "DEXP.f32 orders the iterations"),
    (SEND, "orders the iterations"),
])
def test_serial_loops_are_scheduled(source: str, why: str) -> None:
    found = decisions(source)
    assert all(d.overlap for d in found), found
    assert any(why in d.reason for d in found), found


@pytest.mark.parametrize("source", [MAP, INT_REDUCTION])
def test_one_copy_of_independent_lanes_is_left_to_the_native_vectoriser(source: str
                                                                        ) -> None:
    found = decisions(source)
    assert all(not d.overlap and "independent iterations" in d.reason for d in found)


def test_unrolled_copies_of_a_map_are_scheduled_and_its_remainder_is_not() -> None:
    found = decisions(MAP, opt_level=3)
    assert any(d.overlap and "unrolled copies" in d.reason for d in found), found
    assert any(not d.overlap for d in found), found  # the remainder loop


def test_a_refused_loop_keeps_its_body_and_says_why() -> None:
    module = siw_ir(driver.compile_to_ir(INT_REDUCTION, "test.phx",
                                         driver.Options(opt_level=3)))
    (kernel,) = kernels_of(module)
    before = [str(op) for op in kernel.body.walk()]
    reports = pipeline_kernel(kernel)
    assert reports and not any(r.pipelined for r in reports)
    assert all("independent iterations" in r.reason for r in reports)
    assert [str(op) for op in kernel.body.walk()] == before
    model = build_loop_model(next(b for b in kernel.body.blocks
                                  if loop_branch(b) is not None))
    with pytest.raises(NotPipelinable):
        profitable_model(model)


def test_an_accepted_loop_is_pipelined() -> None:
    module = siw_ir(driver.compile_to_ir(FLOAT_REDUCTION, "test.phx",
                                         driver.Options(opt_level=2)))
    (kernel,) = kernels_of(module)
    block = next(b for b in kernel.body.blocks if loop_branch(b) is not None)
    model = build_loop_model(block)
    assert profitable_model(model) is model
    assert any(r.pipelined and r.stages >= 2 for r in pipeline_kernel(kernel))
