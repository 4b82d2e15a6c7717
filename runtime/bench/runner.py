"""Running a suite: every case at every tier, its hand-tuned twin and its peers, into
the JSON document that report.py prints and regression.py compares."""

from __future__ import annotations

import datetime
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.bench import measure
from runtime.bench.loading import benchmark_module
from runtime.bench.peers import PEER_NAMES, PeerSet

SCHEMA = "phextcc-bench/1"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class RunOptions:
    suite: str = "smoke"
    kernels: tuple[str, ...] = ()
    tiers: tuple[int, ...] = (0, 1, 2, 3)
    repeat: int = 5
    peers: tuple[str, ...] = PEER_NAMES
    native: bool = True


def machine_info() -> dict[str, Any]:
    """What the timings depend on: CPU model, cores, Python and llvmlite versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        import llvmlite
        llvmlite_version = llvmlite.__version__
    except ImportError:
        llvmlite_version = None
    try:
        import numba
        numba_version: str | None = numba.__version__
    except ImportError:
        numba_version = None
    import numpy
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version(), "llvmlite": llvmlite_version,
            "numpy": numpy.__version__, "numba": numba_version}


def select_cases(suite: str, kernels: Sequence[str]) -> list[Any]:
    suites = benchmark_module("suite").SUITES
    if suite not in suites:
        raise ValueError(f"unknown suite {suite!r} (known: {', '.join(suites)})")
    cases = list(suites[suite])
    if kernels:
        known = {case.name for case in cases}
        unknown = [k for k in kernels if k not in known]
        if unknown:
            raise ValueError(f"not in suite {suite!r}: {', '.join(unknown)}")
        cases = [case for case in cases if case.name in kernels]
    return cases


def _shapes(args: dict[str, Any]) -> dict[str, list[int]]:
    return {name: list(value.shape) for name, value in args.items() if hasattr(value, "shape")
            and getattr(value, "ndim", 0) > 0}


def _reference_result(case: Any, args: dict[str, Any], call: Callable[[dict], None]
                      ) -> dict[str, Any]:
    expected = measure.fresh_copy(args)
    call(expected)
    return expected


def _measure_program(program: Any, tier: int, case: Any, sim_args: dict, sim_want: dict,
                     native_args: dict, native_want: dict, options: RunOptions
                     ) -> dict[str, Any]:
    entry: dict[str, Any] = measure.static_counts(program, case.name)
    entry["sim"], errors = measure.simulate_program(
        program, case.name, sim_args, sim_want, case.sentrons, case.tolerance)
    errors = [f"simulator: {e}" for e in errors]
    if options.native:
        entry["native"], native_errors = measure.time_native(
            program, tier, case.name, native_args, native_want, case.sentrons,
            case.tolerance, options.repeat)
        errors += [f"native: {e}" for e in native_errors]
    entry["correct"] = not errors
    entry["errors"] = errors
    return entry


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if not numerator or not denominator:
        return None
    return round(numerator / denominator, 4)


def compiler_gap(kernel: dict[str, Any], tier: str) -> dict[str, Any] | None:
    """How much slower the compiler's ``tier`` is than the hand-tuned twin: simulated
    cycles and native median time of the tier divided by the twin's (1.0 = no gap)."""
    hand, compiled = kernel.get("hand"), kernel["tiers"].get(tier)
    if not hand or not compiled:
        return None
    return {"tier": tier,
            "cycles": _ratio(compiled["sim"]["cycles"], hand["sim"]["cycles"]),
            "native": _ratio(compiled.get("native", {}).get("median"),
                             hand.get("native", {}).get("median")),
            "siws": _ratio(compiled["siws"], hand["siws"])}


def _measure_case(case: Any, options: RunOptions, peers: PeerSet, progress: Progress
                  ) -> dict[str, Any]:
    sim_args = case.make_arguments(case.sim_size)
    native_args = case.make_arguments(case.native_size) if options.native else {}
    numpy_call = peers.peers["numpy"].calls[case.name] if "numpy" in peers.peers else None
    references = benchmark_module("suite").references().REFERENCES
    reference = references[case.name]
    sim_want = _reference_result(case, sim_args, lambda a: reference(**a, sentrons=case.sentrons))
    native_want: dict[str, Any] = {}
    if options.native:
        oracle = numpy_call or (lambda a: reference(**a))
        native_want = _reference_result(case, native_args, oracle)
    kernel: dict[str, Any] = {
        "sentrons": case.sentrons, "sim_size": case.sim_size, "sim_shapes": _shapes(sim_args),
        "native_size": case.native_size if options.native else None,
        "native_shapes": _shapes(native_args), "tiers": {}, "hand": None, "peers": {}}
    for tier in options.tiers:
        progress(f"{case.name} -O{tier}")
        program, seconds = measure.compile_tier(str(case.source), tier)
        entry = _measure_program(program, tier, case, sim_args, sim_want, native_args,
                                 native_want, options)
        kernel["tiers"][f"O{tier}"] = {"compile_seconds": round(seconds, 4), **entry}
    if case.hand is not None:
        progress(f"{case.name} hand")
        program = measure.assemble_file(str(case.hand))
        kernel["hand"] = {"file": case.hand.name, **_measure_program(
            program, 3, case, sim_args, sim_want, native_args, native_want, options)}
    if options.native:
        for name, peer in peers.peers.items():
            call = peer.calls.get(case.name)
            if call is None:
                kernel["peers"][name] = {"skipped": peer.note or "no peer for this kernel"}
                continue
            progress(f"{case.name} {name}")
            kernel["peers"][name] = measure.time_peer(call, native_args, native_want,
                                                      case.tolerance, options.repeat)
    best_tier = f"O{max(options.tiers)}" if options.tiers else None
    kernel["compiler_gap"] = compiler_gap(kernel, best_tier) if best_tier else None
    best = kernel["tiers"].get(best_tier, {}).get("native", {}).get("median") \
        if best_tier else None
    kernel["ratios"] = {name: _ratio(best, timing.get("median"))
                        for name, timing in kernel["peers"].items()}
    return kernel


def run_suite(options: RunOptions, progress: Progress = lambda _: None) -> dict[str, Any]:
    """Measure every case of ``options.suite``; the result is the bench JSON document."""
    cases = select_cases(options.suite, options.kernels)
    started = time.perf_counter()
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "suite": options.suite,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine_info(),
        "repeat": options.repeat,
        "tiers": [f"O{t}" for t in options.tiers],
        "argv": sys.argv[1:],
    }
    with PeerSet(options.peers if options.native else ()) as peers:
        document["peers"] = peers.notes()
        document["kernels"] = {}
        for index, case in enumerate(cases):
            progress(f"[{index + 1}/{len(cases)}] {case.name}")
            document["kernels"][case.name] = _measure_case(case, options, peers, progress)
    document["seconds"] = round(time.perf_counter() - started, 2)
    return document


def failures(document: dict[str, Any]) -> list[str]:
    """Every wrong result of the run (compiled tiers, twins and peers)."""
    found = []
    for name, kernel in document["kernels"].items():
        for tier, entry in kernel["tiers"].items():
            found += [f"{name} {tier}: {e}" for e in entry["errors"]]
        if kernel["hand"]:
            found += [f"{name} hand: {e}" for e in kernel["hand"]["errors"]]
        for peer, entry in kernel["peers"].items():
            found += [f"{name} {peer}: {e}" for e in entry.get("errors", [])]
    return found
