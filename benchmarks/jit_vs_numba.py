"""Native JIT vs Numba ``@njit`` on the same loops: saxpy and dot at 16M float32 and an
embedding bag over a 100k x 64 float32 table with 64k ids, plus the call path of a tiny
kernel.

The main rows run the kernels the toolchain compiles from ``examples/saxpy.phx``,
``examples/dot.phx`` and ``examples/embedding_bag.phx`` with ``phextcc.compile(path,
opt=2)`` and ``opt=3`` (default ``checks=True``); the ``siw`` rows run the hand-written
tier-0 SIW kernels of ``tests/jit/kernels.py`` (one op per word, a DCHK on the first
access, every S access checked). Every kernel is compiled before timing and its results
are checked against Numba's first. Each figure is the median of ``--repeats`` samples;
the two sides alternate within each repeat (a change of load on a shared machine hits
both alike); the ratio is JIT time / Numba time (below 1.0: the JIT is faster). The
call-path rows are per call (1000 calls per sample).

    python benchmarks/jit_vs_numba.py [--repeats 11] [--quick]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from numba import njit  # noqa: E402

import phextcc  # noqa: E402
from phextcc.backend.assembler import assemble  # noqa: E402
from runtime.jit import jit_compile, run  # noqa: E402
from runtime.jit.engine import NativeModule  # noqa: E402
from tests.jit.kernels import DOT, EMBEDDING_BAG, SAXPY  # noqa: E402

EXAMPLES = ROOT / "examples"
Action = Callable[[], object]


# -- Numba twins: the loops of the .phx examples ------------------------------------


@njit(cache=False)
def saxpy_numba(a: np.float32, x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    for i in range(x.shape[0]):
        out[i] = a * x[i] + y[i]


@njit(cache=False)
def dot_numba(x: np.ndarray, y: np.ndarray, out: np.ndarray) -> None:
    acc = np.float32(0.0)
    for i in range(x.shape[0]):
        acc += x[i] * y[i]
    out[0] = acc


@njit(cache=False)
def embedding_bag_numba(table: np.ndarray, ids: np.ndarray, out: np.ndarray) -> None:
    for d in range(out.shape[0]):
        out[d] = 0.0
    for b in range(ids.shape[0]):
        row = ids[b]
        for d in range(table.shape[1]):
            out[d] += table[row, d]


# -- Numba twins of the hand-written SIW kernels -----------------------------------


@njit(cache=False)
def saxpy_inplace_numba(x: np.ndarray, y: np.ndarray, a: np.float32) -> None:
    for i in range(x.shape[0]):
        y[i] = x[i] * a + y[i]


@njit(cache=False)
def bags_numba(table: np.ndarray, ids: np.ndarray, out: np.ndarray, bag: int) -> None:
    for b in range(out.shape[0]):
        for j in range(bag):
            row = ids[b * bag + j]
            for d in range(table.shape[1]):
                out[b, d] += table[row, d]


@dataclass
class Case:
    name: str
    jit: Action
    numba: Action
    calls: int = 1


def median_seconds(actions: tuple[Action, ...], repeats: int,
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


def compiled_native(example: str, kernel: str, opt: int) -> NativeModule:
    """The native code ``phextcc.compile(examples/<example>.phx, opt=opt)`` runs."""
    module = phextcc.compile(str(EXAMPLES / f"{example}.phx"), opt=opt, cache=False)
    return module[kernel].native()


def compiled_cases(opt: int, data: dict[str, np.ndarray]) -> list[Case]:
    x, y, table, ids = data["x"], data["y"], data["table"], data["ids"]
    a = np.float32(0.5)
    cases: list[Case] = []

    saxpy = compiled_native("saxpy", "saxpy", opt)
    out_jit, out_numba = np.zeros_like(x), np.zeros_like(x)
    run(saxpy, "saxpy", [0.5, x, y, out_jit])
    saxpy_numba(a, x, y, out_numba)
    assert np.array_equal(out_jit, out_numba), f"saxpy O{opt}: results differ"
    cases.append(Case(f"saxpy f32 n={x.size} (O{opt})",
                      lambda: run(saxpy, "saxpy", [0.5, x, y, out_jit]),
                      lambda: saxpy_numba(a, x, y, out_numba)))

    dot = compiled_native("dot", "dot", opt)
    d_jit, d_numba = np.zeros(1, np.float32), np.zeros(1, np.float32)
    run(dot, "dot", [x, y, d_jit])
    dot_numba(x, y, d_numba)
    assert d_jit[0] == d_numba[0], f"dot O{opt}: results differ"
    cases.append(Case(f"dot f32 n={x.size} (O{opt})", lambda: run(dot, "dot", [x, y, d_jit]),
                      lambda: dot_numba(x, y, d_numba)))

    bag = compiled_native("embedding_bag", "embedding_bag", opt)
    dim = table.shape[1]
    e_jit, e_numba = np.zeros(dim, np.float32), np.zeros(dim, np.float32)
    run(bag, "embedding_bag", [table, ids, e_jit])
    embedding_bag_numba(table, ids, e_numba)
    assert np.array_equal(e_jit, e_numba), f"embedding bag O{opt}: results differ"
    cases.append(Case(f"embedding bag {table.shape[0]}x{dim}, {ids.size} ids (O{opt})",
                      lambda: run(bag, "embedding_bag", [table, ids, e_jit]),
                      lambda: embedding_bag_numba(table, ids, e_numba)))

    small = [x[:1024].copy(), y[:1024].copy(), np.zeros(1024, np.float32)]
    run(saxpy, "saxpy", [0.5, *small])  # prepares the call plan
    cases.append(Case(f"call path: saxpy n=1024 (O{opt})",
                      lambda: run(saxpy, "saxpy", [0.5, *small]),
                      lambda: saxpy_numba(a, *small), calls=1000))
    return cases


def siw_cases(data: dict[str, np.ndarray], bag: int) -> list[Case]:
    """The hand-written tier-0 SIW kernels (extra rows)."""
    x, y, table, ids = data["x"], data["y"], data["table"], data["ids"]
    saxpy = jit_compile(assemble(SAXPY), opt_level=3)
    bags = jit_compile(assemble(EMBEDDING_BAG), opt_level=3)
    y_jit, y_numba = y.copy(), y.copy()
    run(saxpy, "saxpy", [x, y_jit, 0.5])
    saxpy_inplace_numba(x, y_numba, np.float32(0.5))
    assert np.array_equal(y_jit, y_numba), "siw saxpy: results differ"
    count = ids.size // bag
    o_jit = np.zeros((count, table.shape[1]), np.float32)
    o_numba = np.zeros_like(o_jit)
    run(bags, "embedding_bag", [table, ids, o_jit, bag])
    bags_numba(table, ids, o_numba, bag)
    assert np.array_equal(o_jit, o_numba), "siw embedding bag: results differ"
    dot = jit_compile(assemble(DOT), opt_level=3)
    d_jit, d_numba = np.zeros(1, np.float32), np.zeros(1, np.float32)
    run(dot, "dot", [x, y, d_jit])
    dot_numba(x, y, d_numba)
    assert d_jit[0] == d_numba[0], "siw dot: results differ"
    return [
        Case(f"siw saxpy (in place) n={x.size}", lambda: run(saxpy, "saxpy", [x, y_jit, 0.5]),
             lambda: saxpy_inplace_numba(x, y_numba, np.float32(0.5))),
        Case(f"siw dot n={x.size}", lambda: run(dot, "dot", [x, y, d_jit]),
             lambda: dot_numba(x, y, d_numba)),
        Case(f"siw embedding bag, bags of {bag}",
             lambda: run(bags, "embedding_bag", [table, ids, o_jit, bag]),
             lambda: bags_numba(table, ids, o_numba, bag)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    parser.add_argument("--no-siw", action="store_true", help="skip the hand-written rows")
    options = parser.parse_args()
    n = 1 << 16 if options.quick else 16 * 1024 * 1024
    rows, dim, ids_count, bag = (1000, 64, 4096, 8) if options.quick else \
        (100_000, 64, 65_536, 8)
    rng = np.random.default_rng(0)
    data = {
        "x": rng.standard_normal(n).astype(np.float32),
        "y": rng.standard_normal(n).astype(np.float32),
        "table": rng.standard_normal((rows, dim)).astype(np.float32),
        "ids": rng.integers(0, rows, ids_count).astype(np.int32),
    }
    cases = compiled_cases(2, data) + compiled_cases(3, data)
    if not options.no_siw:
        cases += siw_cases(data, bag)
    # Both sides run single-threaded in this thread, so its CPU time is what the kernel
    # cost even on a busy machine; wall time is printed beside it.
    clocks = {"cpu": time.thread_time, "wall": time.perf_counter}
    print(f"{'kernel':48s} {'clock':>5s} {'jit ms':>10s} {'numba ms':>10s} {'jit/numba':>10s}")
    for case in cases:
        for clock_name, clock in clocks.items():
            jit_time, numba_time = median_seconds((case.jit, case.numba), options.repeats,
                                                  clock, case.calls)
            print(f"{case.name:48s} {clock_name:>5s} {jit_time * 1e3:10.4f} "
                  f"{numba_time * 1e3:10.4f} {jit_time / numba_time:10.2f}", flush=True)


if __name__ == "__main__":
    main()
