"""Every example at every tier on both engines gives the results of the unoptimised
program (no IR pass, tier 0 packing), bit for bit, and simulated ops/cycle never drops
from one tier to the next."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from phextcc.backend.verifier import verify
from tests.e2e import oracle
from tests.tiers.helpers import (
    TIERS,
    full,
    jit_outcome,
    packed,
    sim_outcome,
    simulated_ops_per_cycle,
    simulated_statistics,
)

SIZE = 13  # odd, so unrolled or pipelined loops see a remainder


def _sentrons(path: str, kernel: str) -> tuple[int, ...]:
    return (1, 2, 3) if oracle.compiled(path, 0).kernel(kernel).uses_cpipe else (1,)


def _source(path: str) -> str:
    with open(path) as handle:
        return handle.read()


QUICK = ("saxpy", "dot", "stream", "dot_allreduce")


def _all_or_quick() -> list:
    """Every example kernel; outside the quick sample they run only with -m slow."""
    return [pytest.param(path, kernel, marks=() if kernel in QUICK else pytest.mark.slow)
            for path, kernel in oracle.example_kernels()]


@pytest.mark.parametrize(("path", "kernel"), _all_or_quick())
def test_example_tiers_match_the_unoptimised_program_on_the_simulator(path: str, kernel: str
                                                                      ) -> None:
    source = _source(path)
    args = oracle.make_arguments(kernel, SIZE)
    for sentrons in _sentrons(path, kernel):
        baseline = sim_outcome(packed(source, 0, path), kernel, args, sentrons)
        assert baseline[0] == "ok"
        for tier in TIERS:
            program = full(source, tier, path)
            verify(program)
            assert sim_outcome(program, kernel, args, sentrons) == baseline, \
                f"-O{tier} on {sentrons} sentrons"


def _native_check(path: str, kernel: str, tiers: tuple[int, ...]) -> None:
    source = _source(path)
    args = oracle.make_arguments(kernel, SIZE)
    for sentrons in _sentrons(path, kernel):
        baseline = sim_outcome(packed(source, 0, path), kernel, args, sentrons)
        for tier in tiers:
            assert jit_outcome(full(source, tier, path), kernel, args, sentrons) == baseline, \
                f"native -O{tier} on {sentrons} sentrons"


@pytest.mark.parametrize(("path", "kernel"), _all_or_quick())
def test_example_tiers_match_the_unoptimised_program_natively(path: str, kernel: str) -> None:
    _native_check(path, kernel, TIERS)


@pytest.mark.parametrize(("path", "kernel"), _all_or_quick())
def test_ops_per_cycle_never_drops_between_packing_tiers(path: str, kernel: str) -> None:
    """On one IR (the packing is all that differs), each tier is at least as dense in
    ops per simulated cycle as the one below."""
    source = _source(path)
    args = oracle.make_arguments(kernel, SIZE)
    sentrons = max(_sentrons(path, kernel))
    rates = simulated_ops_per_cycle([packed(source, tier, path) for tier in TIERS], kernel,
                                    args, sentrons)
    for lower, higher in itertools.pairwise(rates):
        assert higher >= lower - 1e-9, rates



def _smoke_cases() -> list:
    """The smoke suite's cases at its simulator sizes (the sizes `phextcc bench` reports)."""
    from runtime.bench.loading import benchmark_module

    return [pytest.param(case, id=case.name) for case in benchmark_module("suite").SUITES["smoke"]]


@pytest.mark.parametrize("case", _smoke_cases())
def test_ops_per_cycle_never_drops_between_O_levels(case: Any) -> None:
    """The whole pipeline, cold caches, as the benchmark measures it: -O0..-O2 run the
    same IR passes and differ in packing; -O3 adds unrolling, prefetch and software
    pipelining where its per-loop rules find them profitable. From one level to the
    next, ops/cycle never drops and cycles never rise."""
    path = str(case.source)
    source = _source(path)
    programs = [full(source, tier, path) for tier in TIERS]
    rows = simulated_statistics(programs, case.name, case.make_arguments(case.sim_size),
                                case.sentrons)
    for lower, higher in itertools.pairwise(rows):
        assert higher["ops_per_cycle"] >= lower["ops_per_cycle"] - 1e-9, rows
        assert higher["cycles"] <= lower["cycles"], rows
