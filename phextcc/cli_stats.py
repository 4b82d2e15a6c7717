"""`phextcc stats`: what each tier makes of a kernel. Static counts (SIWs, ops per pipe,
ops per SIW, NOP fraction per pipe) from the compiled stream; with arguments (NAME=VALUE
or --random) also the simulator's figures of a run at every tier on identical copies of
the same arrays (cycles, ops/cycle per sentron, stalls by cause), so that tiers are
compared on the same inputs and the same cache layout."""

from __future__ import annotations

import json
from typing import Any

import click

from phextcc import driver
from phextcc.backend.static_stats import static_stats
from phextcc.cli_common import kernel_option, load_program, parse_tiers, reports_errors
from phextcc.cli_run import parse_assignments, pick_kernel, random_arguments


def _tier_rows(file: str, tiers: tuple[int, ...], kernel: str | None, given: dict[str, Any],
               simulate_runs: bool, use_random: bool, seed: int, sentrons: int, warm: int
               ) -> dict[str, Any]:
    from runtime.bench.measure import aligned_arguments
    from runtime.simulator import simulate

    document: dict[str, Any] = {"file": file, "sentrons": sentrons, "warm_runs": warm,
                                "tiers": {}}
    args: dict[str, Any] | None = None
    for tier in tiers:
        program = load_program(file, driver.Options(opt_level=tier, kernel=kernel))
        info = pick_kernel(program, kernel)
        row: dict[str, Any] = {"static": static_stats(program)[info.name]}
        if simulate_runs:
            if args is None:
                args = random_arguments(info, given, seed) if use_random else dict(given)
            result = simulate(program, info.name, aligned_arguments(args),
                              sentrons=sentrons, profile="zen4", warm_runs=warm)
            assert result.stats is not None
            row["sim"] = result.stats.to_json()
        document["kernel"] = info.name
        document["tiers"][f"O{tier}"] = row
    return document


def _text(document: dict[str, Any]) -> str:
    rows = document["tiers"]
    simulated = any("sim" in row for row in rows.values())
    header = f"{'tier':<5} {'SIWs':>6} {'ops/SIW':>8} {'NOP D/S/C':>17}"
    if simulated:
        header += f" {'cycles':>10} {'ops/cycle':>10}  {'per sentron':<18} stalls"
    lines = [f"kernel {document.get('kernel', '?')}" + (
        f", {document['sentrons']} sentron(s), same arrays at every tier"
        + (f", after {document['warm_runs']} warm-up run(s)" if document["warm_runs"] else
           ", cold caches") if simulated else ""), header]
    for tier, row in rows.items():
        static = row["static"]
        nop = "/".join(f"{static['nop_fraction'][pipe]:.2f}" for pipe in ("D", "S", "C"))
        line = f"{tier:<5} {static['siws']:>6} {static['ops_per_siw']:>8.2f} {nop:>17}"
        sim = row.get("sim")
        if sim is not None:
            per = " ".join(f"{s['ops_per_cycle']:.3f}" for s in sim["sentrons"])
            stalls = " ".join(f"{cause}={cycles}" for cause, cycles
                              in sim["stall_cycles"].items() if cycles)
            line += f" {sim['cycles']:>10} {sim['ops_per_cycle']:>10.3f}  {per:<18} {stalls}"
        lines.append(line)
    return "\n".join(lines) + "\n"


@click.command("stats")
@click.argument("file")
@click.argument("assignments", nargs=-1)
@click.option("-O", "opt_level", type=click.IntRange(0, 3), default=None,
              help="one optimisation tier (default: every tier, -O0 .. -O3)")
@click.option("--tiers", default=None, help="tiers to compare, e.g. 0,2,3")
@kernel_option
@click.option("--random", "use_random", is_flag=True,
              help="simulate on seeded random data (shape symbols from NAME=INT)")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--sentrons", type=click.IntRange(1, 1024), default=1, show_default=True)
@click.option("--warm", type=click.IntRange(0, 100), default=0, show_default=True,
              help="untimed runs on the same arrays before the measured one (warm caches)")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
@reports_errors
def stats_command(file: str, assignments: tuple[str, ...], opt_level: int | None,
                  tiers: str | None, kernel: str | None, use_random: bool, seed: int,
                  sentrons: int, warm: int, as_json: bool) -> None:
    """Per tier: SIWs, ops per SIW and NOP fraction per pipe; with NAME=VALUE arguments
    or --random, also simulated cycles, ops/cycle per sentron and stalls by cause."""
    if opt_level is not None and tiers is not None:
        raise click.UsageError("give either -O or --tiers, not both")
    chosen = (opt_level,) if opt_level is not None else parse_tiers(tiers or "0,1,2,3")
    given = parse_assignments(assignments)
    simulate_runs = use_random or bool(given)
    document = _tier_rows(file, chosen, kernel, given, simulate_runs, use_random, seed,
                          sentrons, warm)
    click.echo(json.dumps(document, indent=2) if as_json else _text(document), nl=not as_json)
