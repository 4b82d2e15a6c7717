"""Every example at every -O level computes exactly what the unoptimised program (no IR
pass, tier 0 packing) computes, bit for bit: no pass may change a float result. On the
simulator, with the IR verified between passes."""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from phextcc import driver
from phextcc.backend.codegen import compile_module
from phextcc.backend.program import Program
from phextcc.passes.pipeline import run_pipeline
from tests.e2e.oracle import EXAMPLES, make_arguments

SIZES = (0, 1, 2)
SLOW_SIZES = (3, 6)


@functools.cache
def compiled(path: str, opt_level: int, spec: str | None = None) -> Program:
    """Compile like the driver, but verifying the IR after every pass; ``spec`` replaces
    the pipeline of the -O level ('' compiles the program unoptimised)."""
    source = Path(path).read_text()
    module = driver.lower(driver.check(source, path), path)
    run_pipeline(module, opt_level, verify_between=True, spec=spec)
    return compile_module(module, opt_level=opt_level, source_name=path)


def unoptimised(path: str) -> Program:
    return compiled(path, 0, "")


def example_kernels() -> list[tuple[str, str]]:
    from tests.e2e.oracle import references

    makers = references().ARGUMENT_MAKERS
    pairs = []
    for path in sorted(EXAMPLES.glob("*.phx")):
        pairs.extend((str(path), k.name) for k in unoptimised(str(path)).kernels
                     if k.name in makers)
    return pairs


def run(program: Program, kernel: str, args: dict[str, Any], sentrons: int) -> dict[str, Any]:
    from runtime.simulator import simulate

    actual = copy.deepcopy(args)
    simulate(program, kernel, actual, sentrons=sentrons)
    return actual


def assert_bit_identical(expected: dict[str, Any], actual: dict[str, Any]) -> None:
    for name, want in expected.items():
        if isinstance(want, np.ndarray):
            got = actual[name]
            assert got.dtype == want.dtype
            assert got.tobytes() == want.tobytes(), f"{name} differs"


@pytest.mark.parametrize("opt_level", [0, 1, 2, 3])
@pytest.mark.parametrize(("path", "kernel"), example_kernels(),
                         ids=lambda value: Path(value).stem if "/" in str(value) else value)
def test_example_matches_the_unoptimised_program_bit_for_bit(path: str, kernel: str,
                                                              opt_level: int) -> None:
    check_against_unoptimised(path, kernel, opt_level, SIZES)


@pytest.mark.slow
@pytest.mark.parametrize("opt_level", [0, 1, 2, 3])
@pytest.mark.parametrize(("path", "kernel"), example_kernels(),
                         ids=lambda value: Path(value).stem if "/" in str(value) else value)
def test_example_matches_the_unoptimised_program_on_larger_inputs(
        path: str, kernel: str, opt_level: int) -> None:
    check_against_unoptimised(path, kernel, opt_level, SLOW_SIZES)


def check_against_unoptimised(path: str, kernel: str, opt_level: int, sizes: tuple[int, ...]
                              ) -> None:
    baseline = unoptimised(path)
    optimised = compiled(path, opt_level)
    sentrons = 3 if baseline.kernel(kernel).uses_cpipe else 1
    for size in sizes:
        args = make_arguments(kernel, size, seed=size)
        assert_bit_identical(run(baseline, kernel, args, sentrons),
                             run(optimised, kernel, args, sentrons))


def test_every_tier_removes_the_bounds_checks_of_the_laplacian() -> None:
    def checks(program: Program) -> int:
        return sum(1 for word in program.words for instr in word.ops
                   if instr.info.family == "DCHK")

    path = str(EXAMPLES / "laplacian.phx")
    assert checks(unoptimised(path)) > 0
    assert all(checks(compiled(path, level)) == 0 for level in (0, 1, 2, 3))
