"""`phextcc bench`: the regression benchmarks (see docs/benchmarks.md).

Exit status: 0 when every result is right and nothing regressed, 1 when a result is
wrong or (with --baseline) something regressed; the list of what went wrong is printed."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from phextcc.cli_common import parse_tiers
from runtime.bench import regression
from runtime.bench.loading import BENCHMARKS
from runtime.bench.peers import PEER_NAMES
from runtime.bench.report import render
from runtime.bench.runner import RunOptions, failures, run_suite

DEFAULT_BASELINE = BENCHMARKS / "baseline.json"


def _progress(message: str) -> None:
    # Only a terminal gets progress lines; a log or a pipe stays clean.
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[K{message}")
        sys.stderr.flush()


@click.command("bench")
@click.option("--suite", default="smoke", show_default=True, help="full, smoke or tiny")
@click.option("--kernels", "kernels", multiple=True,
              help="only these kernels (repeat the option or separate with commas)")
@click.option("--tiers", default="0,1,2,3", show_default=True, help="-O levels to measure")
@click.option("--repeat", default=5, show_default=True, type=click.IntRange(1),
              help="timed runs per measurement (after one warm-up)")
@click.option("--peers", default=",".join(PEER_NAMES), show_default=True,
              help="peers to time (comma separated; empty for none)")
@click.option("--no-native", is_flag=True, help="simulate only (no native timing, no peers)")
@click.option("--json", "json_path", default=None, type=click.Path(dir_okay=False),
              help="write the results as JSON")
@click.option("--baseline", "baseline_path", default=None, type=click.Path(dir_okay=False),
              help="compare against this stored JSON and fail on regressions")
@click.option("--update-baseline", is_flag=True,
              help=f"rewrite the baseline (--baseline, default {DEFAULT_BASELINE.name})")
@click.option("--time-tolerance", default=regression.DEFAULT_TIME_FLOOR, show_default=True,
              help="relative growth of a native median always tolerated")
@click.option("--plot", "plot_path", default=None, type=click.Path(dir_okay=False),
              help="write a chart (PNG with matplotlib, else HTML/SVG)")
def bench_command(suite: str, kernels: tuple[str, ...], tiers: str, repeat: int, peers: str,
                  no_native: bool, json_path: str | None, baseline_path: str | None,
                  update_baseline: bool, time_tolerance: float, plot_path: str | None) -> None:
    """Benchmark a suite at every tier against hand-tuned twins and numpy/Numba/C."""
    names = tuple(k.strip() for group in kernels for k in group.split(",") if k.strip())
    peer_names = tuple(p.strip() for p in peers.split(",") if p.strip())
    unknown = [p for p in peer_names if p not in PEER_NAMES]
    if unknown:
        raise click.BadParameter(f"unknown peers: {', '.join(unknown)}", param_hint="--peers")
    options = RunOptions(suite=suite, kernels=names, tiers=parse_tiers(tiers), repeat=repeat,
                         peers=peer_names, native=not no_native)
    try:
        document = run_suite(options, _progress)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    if sys.stderr.isatty():
        sys.stderr.write("\r\033[K")
    click.echo(render(document))
    problems = [f"wrong result: {f}" for f in failures(document)]
    if json_path:
        Path(json_path).write_text(json.dumps(document, indent=1) + "\n")
    if plot_path:
        from runtime.bench.plot import write_plot
        written = write_plot(document, Path(plot_path))
        click.echo(f"plot written to {written}")
    baseline_file = Path(baseline_path) if baseline_path else DEFAULT_BASELINE
    if update_baseline:
        if problems:
            click.echo("not updating the baseline: some results are wrong", err=True)
        else:
            baseline_file.write_text(json.dumps(document, indent=1) + "\n")
            click.echo(f"baseline written to {baseline_file}")
    elif baseline_path:
        baseline = json.loads(baseline_file.read_text())
        for difference in regression.machine_differences(baseline, document):
            click.echo(f"note: baseline machine differs: {difference}", err=True)
        found = regression.compare(baseline, document, time_tolerance)
        problems += [f"regression: {r.describe()}" for r in found]
        if not found:
            click.echo(f"no regressions against {baseline_file}")
    if problems:
        click.echo("\n".join(problems), err=True)
        sys.exit(1)
