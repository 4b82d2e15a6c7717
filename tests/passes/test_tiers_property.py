"""Property: for generated small kernels and inputs, every -O level computes what the
unoptimised program (no IR pass, tier 0 packing) computes, bit for bit, and raises the
same runtime error when that raises one (a division by zero must still trap, an
out-of-range index must still be reported)."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings

from phextcc import driver
from phextcc.diagnostics import CompileError
from phextcc.passes.pipeline import run_pipeline

from .program_gen import arguments, kernels

DEFAULT = settings(max_examples=12, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])
THOROUGH = settings(max_examples=300, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def compile_at(source: str, opt_level: int, spec: str | None = None) -> Any:
    """The source at -O``opt_level``; ``spec`` replaces its IR pipeline ('' for none)."""
    from phextcc.backend.codegen import compile_module
    module = driver.lower(driver.check(source, "gen.phx"), "gen.phx")
    run_pipeline(module, opt_level, verify_between=True, spec=spec)
    return compile_module(module, opt_level=opt_level, source_name="gen.phx")


def outcome(program: Any, args: dict[str, Any]) -> tuple[str, dict[str, bytes]]:
    """('ok', final tensor bytes) or (error class name, {})."""
    from runtime.errors import VtpuRuntimeError
    from runtime.simulator import simulate

    actual = copy.deepcopy(args)
    try:
        simulate(program, "k", actual)
    except VtpuRuntimeError as exc:
        return type(exc).__name__, {}
    return "ok", {name: value.tobytes() for name, value in actual.items()
                  if isinstance(value, np.ndarray)}


def check_all_tiers_agree(source: str, args: dict[str, Any]) -> None:
    try:
        baseline = outcome(compile_at(source, 0, ""), args)
    except CompileError:
        return  # a generated program the language rejects says nothing about the passes
    for opt_level in (0, 1, 2, 3):
        assert outcome(compile_at(source, opt_level), args) == baseline, \
            f"-O{opt_level} differs from the unoptimised program on:\n{source}\nwith {args}"


@DEFAULT
@given(kernels(), arguments())
def test_every_tier_agrees_with_the_unoptimised_program(source: str, args: dict[str, Any]
                                                        ) -> None:
    check_all_tiers_agree(source, args)


@pytest.mark.slow
@THOROUGH
@given(kernels(), arguments())
def test_every_tier_agrees_with_the_unoptimised_program_many_programs(
        source: str, args: dict[str, Any]) -> None:
    check_all_tiers_agree(source, args)


@pytest.mark.parametrize("divisor", [0, 3])
def test_division_by_a_zero_argument_traps_at_every_tier(divisor: int) -> None:
    source = ("kernel k(a: i64, b: i64, x: f32, t: i64[N], u: f32[N], out: i64[8], "
              "fout: f32[8]) {\n for i in 0..N { out[0] = 7 / b; }\n}\n")
    args = {"a": 0, "b": divisor, "x": 0.0, "t": np.zeros(2, np.int64),
            "u": np.zeros(2, np.float32), "out": np.zeros(8, np.int64),
            "fout": np.zeros(8, np.float32)}
    results = {outcome(compile_at(source, level, spec), args)[0]
               for level in range(4) for spec in ("", None)}
    assert results == {"IntegerDivisionByZero" if divisor == 0 else "ok"}
