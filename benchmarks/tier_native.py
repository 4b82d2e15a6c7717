"""Native time of every benchmark kernel at two -O levels (default -O2 and -O3), in one
process, on the same arrays, the two programs alternating run by run.

For each kernel: the median kernel time of each level, the ratio of the medians
(second level / first; above 1.0 the second is slower), the ratio of the fastest runs,
and the run-to-run noise: the relative spread (interquartile range / median) of each
level's samples. A difference smaller than the noise is not a difference. Results are
checked against numpy first.

    python benchmarks/tier_native.py [--suite full] [--repeats 15] [--tiers 2,3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from runtime.bench.loading import benchmark_module
from runtime.bench.measure import compile_tier, fresh_copy, mismatches
from runtime.jit import jit_compile, run

suite = benchmark_module("suite")
SUITES = suite.SUITES


def _spread(samples: list[float]) -> float:
    quartiles = statistics.quantiles(samples, n=4)
    return (quartiles[2] - quartiles[0]) / statistics.median(samples)


def measure(case: suite.BenchCase, tiers: tuple[int, int], repeats: int) -> dict[str, float]:
    args = case.make_arguments(case.native_size)
    want = fresh_copy(args)
    suite.references().REFERENCES[case.name](**want, sentrons=case.sentrons)
    natives = []
    for tier in tiers:
        program, _ = compile_tier(str(case.source), tier)
        native = jit_compile(program, opt_level=tier)
        actual = fresh_copy(args)
        run(native, case.name, actual, sentrons=case.sentrons)
        problems = mismatches(actual, want, case.tolerance)
        if problems:
            raise SystemExit(f"{case.name} -O{tier}: {'; '.join(problems)}")
        natives.append((native, actual))
    samples: list[list[float]] = [[], []]
    for _ in range(repeats):
        for index, (native, actual) in enumerate(natives):
            samples[index].append(run(native, case.name, actual,
                                      sentrons=case.sentrons).seconds)
    low, high = samples
    return {"low_ms": statistics.median(low) * 1e3, "high_ms": statistics.median(high) * 1e3,
            "ratio": statistics.median(high) / statistics.median(low),
            "min_ratio": min(high) / min(low),
            "noise": max(_spread(low), _spread(high))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", default="full", choices=sorted(SUITES))
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--tiers", default="2,3")
    parser.add_argument("--kernels", default="", help="comma-separated subset")
    options = parser.parse_args()
    low, high = (int(t) for t in options.tiers.split(","))
    chosen = {k for k in options.kernels.split(",") if k}
    print(f"| kernel | -O{low} ms | -O{high} ms | median ratio | fastest-run ratio | noise |")
    print("|---|---|---|---|---|---|")
    for case in SUITES[options.suite]:
        if chosen and case.name not in chosen:
            continue
        row = measure(case, (low, high), options.repeats)
        print(f"| {case.name} | {row['low_ms']:.3f} | {row['high_ms']:.3f} | "
              f"{row['ratio']:.2f} | {row['min_ratio']:.2f} | {row['noise']:.0%} |",
              flush=True)


if __name__ == "__main__":
    main()
