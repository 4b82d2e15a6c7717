"""Regression checks of a bench run against a stored baseline document.

Simulated cycles and SIW counts are deterministic, so they must not grow at all. Native
times are noisy: a median may grow by the noise of both runs (three times the sum of
their median absolute deviations), by a relative floor, or by an absolute floor (timer
resolution and thread start-up jitter of sub-millisecond kernels), whichever is
largest."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

DEFAULT_TIME_FLOOR = 0.10   # a median may always grow by 10% before it counts
NOISE_FACTOR = 3.0
ABSOLUTE_TIME_FLOOR = 1e-3  # seconds


@dataclass(frozen=True)
class Regression:
    kernel: str
    variant: str        # "O0".."O3" or "hand"
    metric: str         # "siws", "sim cycles" or "native time"
    baseline: float
    current: float
    allowed: float

    def describe(self) -> str:
        growth = (self.current / self.baseline - 1.0) * 100 if self.baseline else float("inf")
        return (f"{self.kernel} {self.variant}: {self.metric} {self.baseline:.6g} -> "
                f"{self.current:.6g} (+{growth:.1f}%, allowed up to {self.allowed:.6g})")


def spread(samples: list[float]) -> float:
    """Median absolute deviation of the samples (0 for fewer than two)."""
    if len(samples) < 2:
        return 0.0
    middle = statistics.median(samples)
    return statistics.median(abs(s - middle) for s in samples)


def allowed_time(old: dict[str, Any], new: dict[str, Any], floor: float) -> float:
    noise = NOISE_FACTOR * (spread(old.get("samples", [])) + spread(new.get("samples", [])))
    return old["median"] + max(floor * old["median"], noise, ABSOLUTE_TIME_FLOOR)


def _variants(kernel: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield from kernel.get("tiers", {}).items()
    if kernel.get("hand"):
        yield "hand", kernel["hand"]


MetricCheck = Callable[[dict[str, Any], dict[str, Any], float], tuple[float, float, float] | None]


def _siws(old: dict[str, Any], new: dict[str, Any], _: float) -> tuple[float, float, float]:
    return old["siws"], new["siws"], old["siws"]


def _cycles(old: dict[str, Any], new: dict[str, Any], _: float) -> tuple[float, float, float]:
    return old["sim"]["cycles"], new["sim"]["cycles"], old["sim"]["cycles"]


def _native(old: dict[str, Any], new: dict[str, Any], floor: float
            ) -> tuple[float, float, float] | None:
    if "native" not in old or "native" not in new:
        return None
    return old["native"]["median"], new["native"]["median"], allowed_time(
        old["native"], new["native"], floor)


METRICS: dict[str, MetricCheck] = {"siws": _siws, "sim cycles": _cycles,
                                   "native time": _native}


def compare(baseline: dict[str, Any], current: dict[str, Any],
            time_floor: float = DEFAULT_TIME_FLOOR) -> list[Regression]:
    """Every metric of ``current`` that grew beyond what ``baseline`` allows. Kernels or
    tiers missing from either side are not compared; the sizes must match for a kernel
    to be compared at all (a different size is a different benchmark)."""
    found = []
    for name, kernel in current.get("kernels", {}).items():
        old_kernel = baseline.get("kernels", {}).get(name)
        if old_kernel is None or old_kernel.get("sim_size") != kernel.get("sim_size"):
            continue
        same_native_size = old_kernel.get("native_size") == kernel.get("native_size")
        old_variants = dict(_variants(old_kernel))
        for variant, entry in _variants(kernel):
            old = old_variants.get(variant)
            if old is None:
                continue
            for metric, check in METRICS.items():
                if metric == "native time" and not same_native_size:
                    continue
                values = check(old, entry, time_floor)
                if values is not None and values[1] > values[2]:
                    found.append(Regression(name, variant, metric, *values))
    return found


def machine_differences(baseline: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Which machine facts differ (native times are then only indicative)."""
    old, new = baseline.get("machine", {}), current.get("machine", {})
    return [f"{key}: {old.get(key)} -> {new.get(key)}"
            for key in ("cpu", "cores", "python", "llvmlite") if old.get(key) != new.get(key)]
