"""Shared helpers of the tier tests: compile one source at each packing tier (with or
without the IR passes of that -O level), run on both engines, compare outcomes."""

from __future__ import annotations

import copy
import functools
from typing import Any

import numpy as np

from phextcc import driver
from phextcc.backend.codegen import compile_module
from phextcc.backend.program import Program
from runtime.errors import VtpuRuntimeError
from runtime.jit import jit_compile, run
from runtime.simulator import simulate

TIERS = (0, 1, 2, 3)


@functools.cache
def packed(source: str, tier: int, name: str = "t.phx") -> Program:
    """The source lowered without IR passes, packed by ``tier``: only the packing
    differs between tiers, so results must be bit for bit those of tier 0."""
    module = driver.lower(driver.check(source, name), name)
    return compile_module(module, opt_level=tier, source_name=name)


@functools.cache
def full(source: str, level: int, name: str = "t.phx") -> Program:
    """The source through the whole pipeline at -O``level``."""
    return driver.compile_source(source, name, driver.Options(opt_level=level))


Outcome = tuple[str, dict[str, bytes]]


def _tensor_bytes(args: dict[str, Any]) -> dict[str, bytes]:
    return {name: value.tobytes() for name, value in args.items()
            if isinstance(value, np.ndarray)}


def sim_outcome(program: Program, kernel: str, args: dict[str, Any], sentrons: int = 1
                ) -> Outcome:
    """('ok', tensor bytes) or ('ErrorClass: message', {})."""
    actual = copy.deepcopy(args)
    try:
        simulate(program, kernel, actual, sentrons=sentrons, collect_stats=False)
    except VtpuRuntimeError as error:
        return f"{type(error).__name__}: {error}", {}
    return "ok", _tensor_bytes(actual)


def jit_outcome(program: Program, kernel: str, args: dict[str, Any], sentrons: int = 1
                ) -> Outcome:
    actual = copy.deepcopy(args)
    try:
        run(jit_compile(program), kernel, actual, sentrons=sentrons)
    except VtpuRuntimeError as error:
        return f"{type(error).__name__}: {error}", {}
    return "ok", _tensor_bytes(actual)


def simulated_ops_per_cycle(program: Program, kernel: str, args: dict[str, Any],
                            sentrons: int = 1) -> float:
    stats = simulate(program, kernel, copy.deepcopy(args), sentrons=sentrons).stats
    assert stats is not None
    return float(stats.to_json()["ops_per_cycle"])
