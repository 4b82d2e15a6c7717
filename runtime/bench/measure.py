"""Measuring one kernel: compile at a tier, count its SIWs, simulate it on the small
inputs, time it natively on the large inputs, and check every result against numpy."""

from __future__ import annotations

import copy
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from phextcc import driver
from phextcc.backend.program import Program
from phextcc.backend.static_stats import static_stats

Arguments = dict[str, Any]
SIM_FIELDS = ("siws", "cycles", "ops_per_cycle", "pipe_bound", "efficiency")


def compile_tier(source_path: str, tier: int) -> tuple[Program, float]:
    """The program of a .phx file at -O<tier>, and the seconds the compile took."""
    with open(source_path) as handle:
        source = handle.read()
    started = time.perf_counter()
    program = driver.compile_source(source, source_path, driver.Options(opt_level=tier))
    return program, time.perf_counter() - started


def assemble_file(path: str) -> Program:
    from phextcc.backend.assembler import assemble
    with open(path) as handle:
        return assemble(handle.read(), path)


def static_counts(program: Program, kernel: str) -> dict[str, Any]:
    counts = static_stats(program)[kernel]
    return {"siws": counts["siws"], "ops": sum(counts["ops"].values()),
            "ops_per_siw": counts["ops_per_siw"]}


def mismatches(got: Arguments, want: Arguments, tolerance: float) -> list[str]:
    """Why ``got`` differs from ``want`` (empty when it agrees): integers exactly, floats
    within ``tolerance`` times the largest |value| of each output."""
    problems = []
    for name, expected in want.items():
        if not isinstance(expected, np.ndarray):
            continue
        actual = np.asarray(got[name])
        if actual.shape != expected.shape:
            problems.append(f"{name}: shape {actual.shape} != {expected.shape}")
            continue
        if expected.dtype.kind != "f":
            wrong = np.flatnonzero(actual.ravel() != expected.ravel())
            if wrong.size:
                problems.append(f"{name}: {wrong.size} elements differ (first at flat "
                                f"index {wrong[0]})")
            continue
        scale = max(1.0, float(np.max(np.abs(expected), initial=0.0)))
        error = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
        worst = float(np.max(error, initial=0.0))
        if not np.isfinite(worst) or worst > tolerance * scale:
            problems.append(f"{name}: max error {worst:.3g} > {tolerance:g} x {scale:.3g}")
    return problems


def fresh_copy(args: Arguments) -> Arguments:
    return copy.deepcopy(args)


# The simulator's cache model works on the arrays' real addresses, so cycle counts depend
# on where numpy put them; aligning every simulated array to 2 MiB (beyond the set index
# bits of every simulated cache level) makes the counts the same from run to run.
SIM_ALIGNMENT = 2 * 1024 * 1024


def aligned_copy(array: np.ndarray, alignment: int = SIM_ALIGNMENT) -> np.ndarray:
    """A C-contiguous copy of ``array`` whose data starts at a multiple of ``alignment``."""
    raw = np.empty(array.nbytes + alignment, np.uint8)
    start = (-raw.ctypes.data) % alignment
    copied = raw[start:start + array.nbytes].view(array.dtype).reshape(array.shape)
    copied[...] = array
    return copied


def aligned_arguments(args: Arguments) -> Arguments:
    return {name: aligned_copy(value) if isinstance(value, np.ndarray) else value
            for name, value in args.items()}


def time_samples(action: Callable[[], float | None], repeat: int) -> list[float]:
    """Seconds of ``repeat`` runs after one warm-up run; an action that returns its own
    measurement (the native runtime's kernel time) is trusted over the wall clock."""
    action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        measured = action()
        elapsed = time.perf_counter() - started
        samples.append(float(measured) if measured is not None else elapsed)
    return samples


def timing_summary(samples: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(samples), "samples": samples}


def simulate_program(program: Program, kernel: str, args: Arguments, want: Arguments,
                     sentrons: int, tolerance: float) -> tuple[dict[str, Any], list[str]]:
    """Simulated statistics of one run on ``args`` (cold caches: the compulsory misses
    of a first call), the warm figures of the same run after one warm-up run on the
    same arrays (the steady state of repeated calls), and the cold run's mismatches
    with ``want``."""
    from runtime.simulator import simulate
    actual = aligned_arguments(args)
    result = simulate(program, kernel, actual, sentrons=sentrons, profile="zen4")
    summary = _sim_summary(result.stats.to_json())
    errors = mismatches(actual, want, tolerance)
    warm_args = aligned_arguments(args)  # simulate wrote only into ``actual``
    warm = simulate(program, kernel, warm_args, sentrons=sentrons, profile="zen4",
                    warm_runs=1).stats.to_json()
    summary["warm_cycles"] = warm["cycles"]
    summary["warm_ops_per_cycle"] = warm["ops_per_cycle"]
    return summary, errors


def _sim_summary(stats: dict[str, Any]) -> dict[str, Any]:
    summary = {key: stats[key] for key in ("siws", "cycles", "ops_per_cycle")}
    summary["ops"] = sum(stats["ops"].values())
    per_sentron = stats.get("sentrons", [])
    if per_sentron:
        summary["pipe_bound"] = round(sum(s["pipe_bound"] for s in per_sentron)
                                      / len(per_sentron), 4)
        summary["efficiency"] = round(sum(s["efficiency"] for s in per_sentron)
                                      / len(per_sentron), 4)
    summary["stall_cycles"] = stats["stall_cycles"]
    return summary


def time_native(program: Program, tier: int, kernel: str, args: Arguments, want: Arguments,
                sentrons: int, tolerance: float, repeat: int
                ) -> tuple[dict[str, Any], list[str]]:
    """Native timing (kernel seconds as the runtime measures them) and the mismatches of
    the first run with ``want``."""
    from runtime.jit import jit_compile, run
    started = time.perf_counter()
    native = jit_compile(program, opt_level=tier)
    jit_seconds = time.perf_counter() - started
    actual = fresh_copy(args)
    run(native, kernel, actual, sentrons=sentrons)
    problems = mismatches(actual, want, tolerance)
    samples = time_samples(lambda: run(native, kernel, actual, sentrons=sentrons).seconds,
                           repeat)
    return {"jit_seconds": jit_seconds, **timing_summary(samples)}, problems


def time_peer(call: Callable[[Arguments], None], args: Arguments, want: Arguments,
              tolerance: float, repeat: int) -> dict[str, Any]:
    actual = fresh_copy(args)
    call(actual)
    problems = mismatches(actual, want, tolerance)
    result = timing_summary(time_samples(lambda: call(actual), repeat))
    if problems:
        result["errors"] = problems
    return result
