"""Differential fuzzing of register allocation: random kernels with more loop-carried
values than registers, run in the simulator against a Python evaluation."""

from __future__ import annotations

import random

import numpy as np
import pytest

from tests.backend.backend_helpers import allocate_checked, compile_source, run, source_module

OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
       "min": min, "max": max}


def _wrap(value: int) -> int:
    return (value + (1 << 63)) % (1 << 64) - (1 << 63)


Step = tuple[int, str, int, int, int | None]  # target, op, a, b, guard (v[g] < 0)


def random_kernel(seed: int) -> tuple[str, list[int], int, list[Step]]:
    rng = random.Random(seed)
    count = rng.randint(18, 26)  # more than the 16 general registers
    steps: list[Step] = [
        (rng.randrange(count), rng.choice(list(OPS)), rng.randrange(count),
         rng.randrange(count), rng.choice([None, None, rng.randrange(count)]))
        for _ in range(rng.randint(10, 30))]
    inits = [rng.randint(-50, 50) for _ in range(count)]
    lines = [f"        var v{k} = x[{k}];" for k in range(count)]
    lines.append("        for it in 0..n {")
    for target, op, a, b, guard in steps:
        expr = f"{op}(v{a}, v{b})" if op in ("min", "max") else f"v{a} {op} v{b}"
        if guard is None:
            lines.append(f"            v{target} = {expr};")
        else:  # a conditional update: an scf.if whose result merges many live values
            lines.append(f"            if v{guard} < 0 {{ v{target} = {expr}; }}")
    lines.append("        }")
    lines += [f"        out[{k}] = v{k};" for k in range(count)]
    source = "kernel fuzz(n: i64, x: i64[C], out: i64[C]) {\n" + "\n".join(lines) + "\n}\n"
    return source, inits, rng.randint(0, 4), steps


def evaluate(inits: list[int], trips: int, steps: list[Step]) -> list[int]:
    values = list(inits)
    for _ in range(trips):
        for target, op, a, b, guard in steps:
            if guard is None or values[guard] < 0:
                values[target] = _wrap(OPS[op](values[a], values[b]))
    return values


def _check(seed: int) -> None:
    source, inits, trips, steps = random_kernel(seed)
    allocate_checked(source_module(source))
    program = compile_source(source)
    assert program.kernels[0].spill_words > 0  # the point: more values than registers
    x = np.array(inits, np.int64)
    out = np.zeros(len(inits), np.int64)
    run(program, "fuzz", {"n": trips, "x": x, "out": out})
    assert out.tolist() == evaluate(inits, trips, steps), source


def _check_optimised(seed: int, level: int) -> None:
    """The same kernels through the whole -O pipeline: at -O3 the loop is unrolled or
    pipelined, invariants are split at it under pressure and allocation picks the
    cheaper of the two; the simulator and the JIT must still compute the evaluation."""
    from phextcc.driver import Options
    from phextcc.driver import compile_source as compile_at
    from runtime.jit import jit_compile
    from runtime.jit import run as run_native

    source, inits, trips, steps = random_kernel(seed)
    program = compile_at(source, "fuzz.phx", Options(opt_level=level))
    expected = evaluate(inits, trips, steps)
    for execute in (lambda args: run(program, "fuzz", args),
                    lambda args: run_native(jit_compile(program, opt_level=level), "fuzz",
                                            args)):
        x = np.array(inits, np.int64)
        out = np.zeros(len(inits), np.int64)
        execute({"n": trips, "x": x, "out": out})
        assert out.tolist() == expected, (level, source)


@pytest.mark.parametrize("seed", range(2))
def test_random_high_pressure_loops(seed: int) -> None:
    _check(seed)


@pytest.mark.parametrize(("seed", "level"), [(0, 3), (1, 2)])
def test_random_high_pressure_loops_optimised(seed: int, level: int) -> None:
    _check_optimised(seed, level)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2, 200))
def test_random_high_pressure_loops_long(seed: int) -> None:
    _check(seed)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(2, 100))
@pytest.mark.parametrize("level", [2, 3])
def test_random_high_pressure_loops_optimised_long(seed: int, level: int) -> None:
    _check_optimised(seed, level)
