"""Property: generated kernels (loops with 0.. trips, conditionals, stores, loads and
divisions that may trap) give, at every packing tier, -O0's outcome exactly on the
simulator, errors included; a sample also runs natively."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from phextcc.diagnostics import CompileError
from tests.passes.program_gen import arguments, kernels
from tests.tiers.helpers import TIERS, jit_outcome, packed, sim_outcome

QUICK = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
THOROUGH = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def check_tiers_agree(source: str, args: dict[str, Any], native: bool) -> None:
    try:
        baseline = sim_outcome(packed(source, 0, "gen.phx"), "k", args)
    except CompileError:
        return  # a program the language rejects says nothing about packing
    for tier in TIERS[1:]:
        program = packed(source, tier, "gen.phx")
        assert sim_outcome(program, "k", args) == baseline, f"tier {tier}:\n{source}"
    if native:
        program = packed(source, TIERS[-1], "gen.phx")
        assert jit_outcome(program, "k", args) == baseline, f"native:\n{source}"


@QUICK
@given(kernels(), arguments())
def test_generated_kernels_agree_across_tiers(source: str, args: dict[str, Any]) -> None:
    check_tiers_agree(source, args, native=False)


@pytest.mark.slow
@THOROUGH
@given(kernels(), arguments())
def test_generated_kernels_agree_across_tiers_and_engines(source: str,
                                                          args: dict[str, Any]) -> None:
    check_tiers_agree(source, args, native=True)
