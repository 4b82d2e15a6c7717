"""Native JIT vs Numba ``@njit`` on the same loops: saxpy and dot at 16M float32, an
embedding bag over a 100k x 64 table with 64k ids, and the call path of a tiny kernel.

The SIW kernels are written the way a tier-0 compiler emits them (one op per word, a
DCHK before the first access, every S access checked). Both sides are compiled before
timing; each figure is the median of ``--repeats`` runs; the ratio is JIT time / Numba
time (below 1.0: the JIT is faster); the two sides alternate within each repeat, and the
call-path rows are per call (1000 calls per sample). Results are checked against each
other first.

    python benchmarks/jit_vs_numba.py [--repeats 9] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from numba import njit

from phextcc.backend.assembler import assemble
from runtime.jit import jit_compile, run
from tests.jit.kernels import DOT, EMBEDDING_BAG, SAXPY


@njit(cache=False)
def saxpy_numba(x: np.ndarray, y: np.ndarray, a: np.float32) -> None:
    for i in range(x.shape[0]):
        y[i] = x[i] * a + y[i]


@njit(cache=False)
def dot_numba(x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    acc = np.float32(0.0)
    for i in range(x.shape[0]):
        acc += x[i] * y[i]
    out[0] = acc


@njit(cache=False)
def embedding_bag_numba(table: np.ndarray, ids: np.ndarray, out: np.ndarray, bag: int) -> None:
    for b in range(out.shape[0]):
        for j in range(bag):
            row = ids[b * bag + j]
            for d in range(table.shape[1]):
                out[b, d] += table[row, d]


def median_seconds(actions: tuple[Callable[[], object], ...], repeats: int,
                   clock: Callable[[], float], calls: int = 1) -> list[float]:
    """Median seconds per call of each action. The actions alternate within every repeat,
    so a change of load on a shared machine hits both sides alike."""
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(repeats):
        for action, samples in zip(actions, times):
            started = clock()
            for _ in range(calls):
                action()
            samples.append((clock() - started) / calls)
    return [statistics.median(samples) for samples in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    options = parser.parse_args()
    n = 1 << 16 if options.quick else 16 * 1024 * 1024
    rows, dim, ids_count, bag = (1000, 64, 4096, 8) if options.quick else \
        (100_000, 64, 65_536, 8)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(n).astype(np.float32)
    y = rng.standard_normal(n).astype(np.float32)
    table = rng.standard_normal((rows, dim)).astype(np.float32)
    ids = rng.integers(0, rows, ids_count).astype(np.int32)
    bags = ids_count // bag

    saxpy_native = jit_compile(assemble(SAXPY), opt_level=3)
    dot_native = jit_compile(assemble(DOT), opt_level=3)
    bag_native = jit_compile(assemble(EMBEDDING_BAG), opt_level=3)

    # Agreement first (this also compiles the Numba functions).
    y_jit, y_numba = y.copy(), y.copy()
    run(saxpy_native, "saxpy", [x, y_jit, 0.5])
    saxpy_numba(x, y_numba, np.float32(0.5))
    assert np.array_equal(y_jit, y_numba), "saxpy results differ"
    d_jit, d_numba = np.zeros(1, np.float32), np.zeros(1, np.float32)
    run(dot_native, "dot", [x, y, d_jit])
    dot_numba(x, y, d_numba)
    assert d_jit[0] == d_numba[0], "dot results differ"
    o_jit, o_numba = np.zeros((bags, dim), np.float32), np.zeros((bags, dim), np.float32)
    run(bag_native, "embedding_bag", [table, ids, o_jit, bag])
    embedding_bag_numba(table, ids, o_numba, bag)
    assert np.array_equal(o_jit, o_numba), "embedding bag results differ"

    small_x, small_y = x[:1024].copy(), y[:1024].copy()
    small_function = saxpy_native.function("saxpy")
    run(saxpy_native, "saxpy", [small_x, small_y, 0.5])  # prepares the call plan
    launch = saxpy_native.take_launch("saxpy", 1, lambda: None)
    saxpy_native.give_back_launch("saxpy", 1, launch)
    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        (f"saxpy f32 n={n}", lambda: run(saxpy_native, "saxpy", [x, y_jit, 0.5]),
         lambda: saxpy_numba(x, y_numba, np.float32(0.5))),
        (f"dot f32 n={n}", lambda: run(dot_native, "dot", [x, y, d_jit]),
         lambda: dot_numba(x, y, d_numba)),
        (f"embedding bag {rows}x{dim}, {ids_count} ids, bag {bag}",
         lambda: run(bag_native, "embedding_bag", [table, ids, o_jit, bag]),
         lambda: embedding_bag_numba(table, ids, o_numba, bag)),
        ("call path: saxpy n=1024",
         lambda: run(saxpy_native, "saxpy", [small_x, small_y, 0.5]),
         lambda: saxpy_numba(small_x, small_y, np.float32(0.5))),
    ]
    # Both sides run single-threaded in this thread, so its CPU time is what the kernel
    # cost even on a busy machine; wall time is printed beside it.
    clocks = {"cpu": time.thread_time, "wall": time.perf_counter}
    print(f"{'kernel':45s} {'clock':>5s} {'jit ms':>10s} {'numba ms':>10s} {'jit/numba':>10s}")
    for name, jit_action, numba_action in cases:
        calls = 1000 if name.startswith("call path") else 1
        for clock_name, clock in clocks.items():
            jit_time, numba_time = median_seconds((jit_action, numba_action),
                                                  options.repeats, clock, calls)
            print(f"{name:45s} {clock_name:>5s} {jit_time * 1e3:10.4f} "
                  f"{numba_time * 1e3:10.4f} {jit_time / numba_time:10.2f}")
    # The floor of the call path: the compiled function called through ctypes with an
    # argument block and context already filled (what run() adds is binding and checks).
    floor, = median_seconds((lambda: small_function(launch.context_addresses[0],
                                                    launch.args_address),),
                            options.repeats, time.perf_counter, 1000)
    print(f"{'call path floor: ctypes call of saxpy n=1024':45s} {'wall':>5s} "
          f"{floor * 1e3:10.4f}")


if __name__ == "__main__":
    main()
