"""Shared helpers of the tier tests: compile one source at each packing tier (with or
without the IR passes of that -O level), run on both engines, compare outcomes."""

from __future__ import annotations

import copy
import functools
import re
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
# Packing moves ops between words: an error names the same source location at every
# tier, but the SIW index it was raised at differs.
_SIW_INDEX = re.compile(r"SIW \d+")


def _error_text(error: VtpuRuntimeError) -> str:
    return f"{type(error).__name__}: " + _SIW_INDEX.sub("SIW _", str(error))


def _canonical(value: np.ndarray) -> np.ndarray:
    """NaN payloads are not specified (engines may differ on 0/0): one NaN for all."""
    if value.dtype.kind != "f":
        return value
    canonical = value.copy()
    canonical[np.isnan(canonical)] = np.nan
    return canonical


def _tensor_bytes(args: dict[str, Any]) -> dict[str, bytes]:
    """Tensor contents bit for bit (NaNs made canonical)."""
    return {name: _canonical(value).tobytes() for name, value in args.items()
            if isinstance(value, np.ndarray)}


def sim_outcome(program: Program, kernel: str, args: dict[str, Any], sentrons: int = 1
                ) -> Outcome:
    """('ok', tensor bytes) or ('ErrorClass: message', {})."""
    actual = copy.deepcopy(args)
    try:
        simulate(program, kernel, actual, sentrons=sentrons, collect_stats=False)
    except VtpuRuntimeError as error:
        return _error_text(error), {}
    return "ok", _tensor_bytes(actual)


def jit_outcome(program: Program, kernel: str, args: dict[str, Any], sentrons: int = 1
                ) -> Outcome:
    actual = copy.deepcopy(args)
    try:
        run(jit_compile(program), kernel, actual, sentrons=sentrons)
    except VtpuRuntimeError as error:
        return _error_text(error), {}
    return "ok", _tensor_bytes(actual)


def simulated_statistics(programs: list[Program], kernel: str, args: dict[str, Any],
                         sentrons: int = 1) -> list[dict[str, Any]]:
    """Simulated statistics (as JSON) of each program on the very same arrays (contents
    restored between runs), aligned as the benchmark aligns them: the cache model works
    on real addresses, so copies at other alignments would make cold-cache figures
    differ by more than the packing does, and differ from run to run."""
    from runtime.bench.measure import aligned_arguments

    arrays = aligned_arguments(args)
    pristine = copy.deepcopy(args)
    rows: list[dict[str, Any]] = []
    for program in programs:
        for name, value in arrays.items():
            if isinstance(value, np.ndarray):
                np.copyto(value, pristine[name])
        stats = simulate(program, kernel, arrays, sentrons=sentrons).stats
        assert stats is not None
        rows.append(stats.to_json())
    return rows


def simulated_ops_per_cycle(programs: list[Program], kernel: str, args: dict[str, Any],
                            sentrons: int = 1) -> list[float]:
    return [float(row["ops_per_cycle"])
            for row in simulated_statistics(programs, kernel, args, sentrons)]
