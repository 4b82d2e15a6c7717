"""`phextcc run`: execute a kernel on the simulator or natively, on .npy files or
seeded random data, and write the tensors back."""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import numpy as np

from phextcc import driver
from phextcc.backend.program import KernelInfo, Program
from phextcc.cli_common import (
    kernel_option,
    load_program,
    opt_option,
    passes_option,
    reports_errors,
)

if TYPE_CHECKING:
    from runtime.stats import Stats

NUMPY_DTYPES = {"i32": np.int32, "i64": np.int64, "f32": np.float32, "f64": np.float64,
                "bool": np.bool_}
INT_LITERAL = re.compile(r"^[+-]?(0x[0-9a-fA-F_]+|[0-9][0-9_]*)$")
FLOAT_LITERAL = re.compile(r"^[+-]?([0-9][0-9_]*\.[0-9_]*|\.[0-9]+|[0-9][0-9_]*)"
                           r"([eE][+-]?[0-9]+)?$|^[+-]?(inf|nan)$")
DEFAULT_EXTENT = 1024


class ArgumentSyntaxError(click.UsageError):
    pass


def parse_value(text: str) -> Any:
    """A NAME=VALUE right-hand side: a .npy path, true/false, an int or a float."""
    if text.endswith(".npy"):
        path = Path(text)
        if not path.is_file():
            raise ArgumentSyntaxError(f"no such .npy file: {text}")
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise ArgumentSyntaxError(f"cannot read {text}: {exc}") from exc
    if text in ("true", "false"):
        return text == "true"
    if INT_LITERAL.match(text):
        return int(text.replace("_", ""), 0)
    if FLOAT_LITERAL.match(text):
        return float(text.replace("_", ""))
    raise ArgumentSyntaxError(f"'{text}' is neither a scalar literal nor a .npy path")


def parse_assignments(items: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.isidentifier():
            raise ArgumentSyntaxError(f"expected NAME=VALUE, got '{item}'")
        values[name] = parse_value(text)
    return values


def pick_kernel(program: Program, kernel: str | None) -> KernelInfo:
    names = [k.name for k in program.kernels]
    if kernel is None:
        if len(names) != 1:
            raise ArgumentSyntaxError(
                f"the file has {len(names)} kernels ({', '.join(names)}): choose one with "
                f"--kernel")
        return program.kernels[0]
    if kernel not in names:
        raise ArgumentSyntaxError(f"no kernel named '{kernel}' (kernels: {', '.join(names)})")
    return program.kernel(kernel)


def random_arguments(info: KernelInfo, given: dict[str, Any], seed: int) -> dict[str, Any]:
    """Fill every parameter not given with seeded random data; shape symbols come from
    NAME=INT assignments, else DEFAULT_EXTENT."""
    rng = np.random.default_rng(seed)
    args: dict[str, Any] = {}
    for p in info.params:
        if p.name in given:
            args[p.name] = given[p.name]
            continue
        dtype = NUMPY_DTYPES[p.dtype]
        if p.is_tensor:
            shape = tuple(d if isinstance(d, int) else int(given.get(d, DEFAULT_EXTENT))
                          for d in p.dims)
            if p.dtype in ("f32", "f64"):
                args[p.name] = rng.uniform(-1.0, 1.0, shape).astype(dtype)
            else:
                args[p.name] = rng.integers(0, 16, shape).astype(dtype)
        elif p.dtype == "bool":
            args[p.name] = True
        elif p.dtype in ("f32", "f64"):
            args[p.name] = float(np.round(rng.uniform(0.5, 2.0), 3))
        else:
            args[p.name] = int(rng.integers(1, 8))
    return args


def summarise(name: str, array: np.ndarray) -> str:
    head = ", ".join(f"{v:.6g}" if array.dtype.kind == "f" else str(v)
                     for v in array.reshape(-1)[:4])
    if array.size == 0:
        return f"{name}: {array.dtype}{list(array.shape)} (empty)"
    return (f"{name}: {array.dtype}{list(array.shape)} min={array.min():.6g} "
            f"max={array.max():.6g} mean={array.mean(dtype=np.float64):.6g} [{head}, ...]")


def execute(program: Program, kernel: str, args: dict[str, Any], engine: str, sentrons: int,
            opt_level: int, profile: str, checks: bool, repeat: int, warm: int = 0
            ) -> Stats | None:
    """Run once on the chosen engine; with the JIT and ``repeat`` > 1, run ``repeat``
    times and print the median kernel time (compilation excluded)."""
    if engine == "sim":
        from runtime.simulator import simulate

        return simulate(program, kernel, args, sentrons=sentrons, profile=profile,
                        warm_runs=warm).stats
    from runtime.jit import jit_compile, run

    native = jit_compile(program, opt_level=opt_level, checks=checks)
    seconds = [run(native, kernel, args, sentrons=sentrons).seconds
               for _ in range(max(1, repeat))]
    if repeat > 1:
        click.echo(f"median kernel time over {repeat} runs: "
                   f"{statistics.median(seconds) * 1e3:.4f} ms")
    return None


@click.command("run")
@click.argument("file")
@click.argument("assignments", nargs=-1)
@kernel_option
@opt_option
@passes_option
@click.option("--engine", type=click.Choice(["jit", "sim"]), default="jit", show_default=True,
              help="native code (jit) or the reference simulator (sim)")
@click.option("--sentrons", type=click.IntRange(1, 1024), default=1, show_default=True)
@click.option("--out", "out_dir", default=None, help="write every tensor to DIR/NAME.npy")
@click.option("--random", "use_random", is_flag=True,
              help="fill arguments not given with seeded random data")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--profile", type=click.Choice(["zen4", "spec"]), default="zen4",
              show_default=True, help="latency profile of the simulator's cycle model")
@click.option("--repeat", type=click.IntRange(1, 100000), default=1, show_default=True,
              help="(jit) run N times and print the median kernel time")
@click.option("--unchecked", is_flag=True,
              help="(jit) drop the bounds checks the compiler could not prove")
@click.option("--stats", "show_stats", is_flag=True, help="print simulator statistics")
@click.option("--warm", type=click.IntRange(0, 100), default=0, show_default=True,
              help="(sim) untimed runs on the same arrays before the measured one, so the "
                   "statistics show warm caches (the steady state of repeated calls)")
@click.option("--stats-json", "stats_json", default=None, help="write statistics as JSON")
@reports_errors
def run_command(file: str, assignments: tuple[str, ...], kernel: str | None, opt_level: int,
                passes: str | None, engine: str, sentrons: int, out_dir: str | None,
                use_random: bool, seed: int, profile: str, repeat: int, unchecked: bool,
                show_stats: bool, warm: int, stats_json: str | None) -> None:
    """Run a kernel of FILE (.phx, .siws or .siw) with NAME=VALUE arguments
    (a scalar literal such as 2.5, 7, true, or a path to a .npy file)."""
    program = load_program(file, driver.Options(opt_level=opt_level, passes=passes))
    info = pick_kernel(program, kernel)
    given = parse_assignments(assignments)
    if use_random:
        args = random_arguments(info, given, seed)
    else:
        params = {p.name for p in info.params}
        args = {k: v for k, v in given.items() if k in params}
        unknown = sorted(set(given) - params - set(info.symbols))
        if unknown:
            raise ArgumentSyntaxError(f"kernel '{info.name}' has no parameter "
                                      f"{', '.join(repr(u) for u in unknown)}")
    if (show_stats or stats_json) and engine == "jit":
        engine = "sim"  # statistics are the simulator's; native runs have no cycle model
    if warm and engine == "jit":
        engine = "sim"  # warm-up runs only change what the cycle model reports
    stats = execute(program, info.name, args, engine, sentrons, opt_level, profile,
                    not unchecked, repeat, warm)
    tensors = {p.name: args[p.name] for p in info.params if p.is_tensor}
    if use_random:
        for name, array in tensors.items():
            click.echo(summarise(name, array))
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        for name, array in tensors.items():
            np.save(Path(out_dir) / f"{name}.npy", array)
    if stats is not None and show_stats:
        click.echo(stats.format_text())
    if stats is not None and stats_json:
        Path(stats_json).write_text(json.dumps(stats.to_json(), indent=2) + "\n")
