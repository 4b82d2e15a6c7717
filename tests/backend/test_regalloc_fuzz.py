"""Differential fuzzing of register allocation: random kernels with more loop-carried
values than registers, run in the simulator against a Python evaluation."""

from __future__ import annotations

import random

import numpy as np
import pytest

from phextcc.backend.codegen import allocated_siw_ir
from phextcc.backend.regalloc_check import check_allocation
from tests.backend.backend_helpers import compile_source, only_kernel, run, source_module

OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
       "min": min, "max": max}


def _wrap(value: int) -> int:
    return (value + (1 << 63)) % (1 << 64) - (1 << 63)


def random_kernel(seed: int) -> tuple[str, list[int], int, list[tuple[int, str, int, int]]]:
    rng = random.Random(seed)
    count = rng.randint(18, 26)  # more than the 16 general registers
    steps = [(rng.randrange(count), rng.choice(list(OPS)), rng.randrange(count),
              rng.randrange(count)) for _ in range(rng.randint(10, 30))]
    inits = [rng.randint(-50, 50) for _ in range(count)]
    lines = [f"        var v{k} = x[{k}];" for k in range(count)]
    lines.append("        for it in 0..n {")
    for target, op, a, b in steps:
        expr = f"{op}(v{a}, v{b})" if op in ("min", "max") else f"v{a} {op} v{b}"
        lines.append(f"            v{target} = {expr};")
    lines.append("        }")
    lines += [f"        out[{k}] = v{k};" for k in range(count)]
    source = "kernel fuzz(n: i64, x: i64[C], out: i64[C]) {\n" + "\n".join(lines) + "\n}\n"
    return source, inits, rng.randint(0, 4), steps


def evaluate(inits: list[int], trips: int, steps: list[tuple[int, str, int, int]]
             ) -> list[int]:
    values = list(inits)
    for _ in range(trips):
        for target, op, a, b in steps:
            values[target] = _wrap(OPS[op](values[a], values[b]))
    return values


def _check(seed: int) -> None:
    source, inits, trips, steps = random_kernel(seed)
    check_allocation(only_kernel(allocated_siw_ir(source_module(source))).body)
    program = compile_source(source)
    assert program.kernels[0].spill_words > 0  # the point: more values than registers
    x = np.array(inits, np.int64)
    out = np.zeros(len(inits), np.int64)
    run(program, "fuzz", {"n": trips, "x": x, "out": out})
    assert out.tolist() == evaluate(inits, trips, steps), source


@pytest.mark.parametrize("seed", range(4))
def test_random_high_pressure_loops(seed: int) -> None:
    _check(seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4, 200))
def test_random_high_pressure_loops_long(seed: int) -> None:
    _check(seed)
