"""Tier 1 on the examples: knowing the latencies, -O1 issues the loads of one loop
iteration together so that their cache misses overlap, which the latency-blind
grouping did not (dot_allreduce at -O1 then took more cycles than at -O0)."""

from __future__ import annotations

import pytest

from tests.e2e import oracle
from tests.tiers.helpers import full, simulated_statistics

SIZE = 13


@pytest.mark.parametrize(("name", "sentrons"), [("saxpy", 1), ("dot_allreduce", 2)])
def test_O1_overlaps_the_misses_of_one_iteration(name: str, sentrons: int) -> None:
    path = str(oracle.EXAMPLES / f"{name}.phx")
    source = (oracle.EXAMPLES / f"{name}.phx").read_text()
    args = oracle.make_arguments(name, SIZE)
    o0, o1, o2 = simulated_statistics([full(source, level, path) for level in (0, 1, 2)],
                                      name, args, sentrons)
    # -O0 runs one op per word, each load followed by the op waiting for it; -O1 puts
    # the loads of an iteration first, as -O2 does.
    assert o1["stall_cycles"]["memory"] < o0["stall_cycles"]["memory"]
    assert o1["stall_cycles"]["memory"] <= o2["stall_cycles"]["memory"]
    assert o1["cycles"] < o0["cycles"]
