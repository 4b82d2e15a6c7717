"""How fast the simulator runs: SIWs per second on a saxpy loop.

    python -m runtime.simulator_bench [n] [repeats]

Reports the median of ``repeats`` runs with statistics off (the fast path) and
on (cycle model, caches and PPT). A measurement, not a test.
"""

from __future__ import annotations

import statistics
import sys
import time

import numpy as np

from phextcc.backend.isa import BY_MNEMONIC, Pipe
from phextcc.backend.program import Instr, KernelInfo, Param, Program, Word
from runtime.simulator import simulate


def _op(mnemonic: str, *args: int) -> Instr:
    return Instr(BY_MNEMONIC[mnemonic], args)


def _word(*ops: Instr) -> Word:
    return Word(**{op.pipe.name.lower(): op for op in ops if op.pipe in Pipe})


def saxpy_program() -> Program:
    """y[i] = a * x[i] + y[i] for n >= 1, five words per element."""
    loop = 4
    words = [
        _word(_op("DARG", 1, 2), _op("SBASE", 0, 0)),
        _word(_op("DSYM", 2, 0), _op("SBASE", 1, 1)),
        _word(_op("DMOVI", 3, 0)),
        _word(_op("DMOVI", 4, 1)),
        _word(_op("DADD.i64", 3, 3, 4), _op("SGATHER.f32", 5, 0, 0)),  # loop:
        _word(_op("SGATHER.f32", 6, 1, 0)),
        _word(_op("DFMA.f32", 7, 1, 5, 6), _op("SINDEX", 0, 0, 4, 0)),
        _word(_op("SSCATTR.f32", 1, 7, 0)),
        _word(_op("DBR.lt.i64", 3, 2, loop), _op("SINDEX", 1, 1, 4, 0)),
        _word(_op("DHALT")),
    ]
    params = (Param("x", "f32", ("n",), True), Param("y", "f32", ("n",), True),
              Param("a", "f32"))
    kernel = KernelInfo("saxpy", params, ("n",), 0, len(words))
    return Program(kernels=[kernel], words=words)


def measure(n: int, repeats: int, collect_stats: bool) -> tuple[float, int]:
    program = saxpy_program()
    rates = []
    siws = 0
    for _ in range(repeats):
        x = np.arange(n, dtype=np.float32)
        y = np.ones(n, dtype=np.float32)
        # CPU time of this process: wall time is unreliable on a shared machine.
        start = time.process_time()
        result = simulate(program, "saxpy", [x, y, 2.0], collect_stats=collect_stats)
        elapsed = time.process_time() - start
        assert np.array_equal(y, np.float32(2.0) * np.arange(n, dtype=np.float32) + 1)
        siws = result.siws
        rates.append(siws / elapsed)
    return statistics.median(rates), siws


def main(argv: list[str]) -> None:
    n = int(argv[0]) if argv else 100_000
    repeats = int(argv[1]) if len(argv) > 1 else 5
    for collect_stats in (False, True):
        rate, siws = measure(n, repeats, collect_stats)
        label = "stats on " if collect_stats else "stats off"
        print(f"saxpy n={n}: {siws} SIWs, {label}: {rate / 1e6:.2f} M SIWs/s "
              f"(median of {repeats})")


if __name__ == "__main__":
    main(sys.argv[1:])
