"""`phextcc opt FILE.mlir -p NAME,...`: run passes on IR text, like `mlir-opt`.

Reads phx IR (custom or generic form; `-` for stdin), runs a pipeline given as a pass
list (`-p phx-canonicalize,cse,unroll-inner{factor=2}`) or as an -O level, verifies the
module after every pass, and prints the result. `--print-ir-after-all` dumps the IR
after each pass to stderr, `--time-passes` prints each pass's wall time to stderr.
Also runnable as `python -m phextcc.opt_cli`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import ArgSpecParseError, ParseError, VerifyException

from phextcc.ir.context import parse_ir, print_ir
from phextcc.passes.pipeline import PassTimes, build_pipeline, pipeline_spec, run_passes


def parse_passes(spec: str) -> tuple[ModulePass, ...]:
    """The passes of a textual pipeline; a bad name or option is a usage error."""
    if not spec:
        return ()
    try:
        return build_pipeline(spec).passes
    except (ValueError, ArgSpecParseError) as exc:
        raise click.ClickException(f"bad pass pipeline '{spec}': {exc}") from exc


def dump_to_stderr(label: str, module_text: str) -> None:
    """``--print-ir-after-all``: the IR after one pass, in mlir-opt's framing."""
    click.echo(f"// -----// IR Dump After {label} //----- //", err=True)
    click.echo(module_text, err=True, nl=False)


def read_input(path: str) -> tuple[str, str]:
    if path == "-":
        return sys.stdin.read(), "<stdin>"
    file = Path(path)
    if not file.is_file():
        raise click.ClickException(f"{path}: no such file")
    return file.read_text(), path


@click.command("opt")
@click.argument("file", type=str)
@click.option("-p", "--passes", "passes", default=None,
              help="comma-separated pass pipeline, e.g. phx-canonicalize,cse,licm")
@click.option("-O", "opt_level", type=click.IntRange(0, 3), default=None,
              help="run the pipeline of this tier instead of -p")
@click.option("--print-ir-after-all", is_flag=True, help="dump the IR after every pass")
@click.option("--time-passes", is_flag=True, help="report the time spent in each pass")
@click.option("--debuginfo", is_flag=True, help="print op locations")
@click.option("-o", "output", default="-", help="output file (default: stdout)")
def opt_command(file: str, passes: str | None, opt_level: int | None,
                print_ir_after_all: bool, time_passes: bool, debuginfo: bool,
                output: str) -> None:
    """Run IR passes on FILE.mlir (phx IR text; '-' reads stdin)."""
    if passes is not None and opt_level is not None:
        raise click.UsageError("give either -p or -O, not both")
    # Neither given: no pass (the input printed back, verified), as mlir-opt does.
    if passes is None:
        passes = pipeline_spec(opt_level) if opt_level is not None else ""
    pipeline = parse_passes(passes)
    text, name = read_input(file)
    try:
        module = parse_ir(text, name)
        module.verify()
    except (ParseError, VerifyException) as exc:
        raise click.ClickException(f"invalid IR in {name}:\n{exc}") from exc
    times = PassTimes() if time_passes else None
    run_passes(module, pipeline, dump=dump_to_stderr if print_ir_after_all else None,
               times=times)
    result = print_ir(module, debuginfo=debuginfo)
    if output == "-":
        click.echo(result, nl=False)
    else:
        Path(output).write_text(result)
    if times is not None:
        click.echo(times.report(), err=True)


if __name__ == "__main__":
    opt_command()
