"""The `phextcc` command line.

    phextcc FILE.phx [-O0..-O3] [--kernel K] [--emit ...] [-o OUT]   compile
    phextcc run FILE(.phx|.siw) [options] NAME=VALUE...               execute
    phextcc dis FILE.siw | phextcc as FILE.siws -o OUT.siw             binary <-> text
    phextcc stats FILE.phx [-ON | --tiers 0,1,2,3] [--random NAME=V...]  per-tier counts

User mistakes print `file:line:col: error: ...` (or `error: ...`) and exit 1; an
internal failure prints `internal compiler error` with the stage and exits 2.
"""

from __future__ import annotations

from pathlib import Path

import click

from phextcc import __version__, driver
from phextcc.bench_cli import bench_command
from phextcc.cli_common import (
    kernel_option,
    opt_option,
    passes_option,
    reports_errors,
    write_bytes,
    write_text,
)
from phextcc.cli_run import run_command
from phextcc.cli_stats import stats_command
from phextcc.embedding.cache_cli import cache_command
from phextcc.opt_cli import opt_command

EMIT_KINDS = ("ast", "ir", "siw-asm", "siw", "llvm", "asm", "obj")


class DefaultCompileGroup(click.Group):
    """`phextcc FILE ...` means `phextcc compile FILE ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in (
                "--help", "-h", "--version"):
            args = ["compile", *args]
        return super().parse_args(ctx, args)


@click.group(cls=DefaultCompileGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="phextcc")
def main() -> None:
    """phextcc: compile .phx kernels to packed vTPU SIW streams, and run them.

    `phextcc FILE.phx -O3` compiles FILE.phx to FILE.siw; see the commands below.
    """


@main.command("compile")
@click.argument("file")
@opt_option
@passes_option
@kernel_option
@click.option("--emit", "emit", type=click.Choice(EMIT_KINDS), default="siw", show_default=True,
              help="what to produce")
@click.option("-o", "output", default=None, help="output file ('-' for stdout)")
@click.option("-mcpu", "mcpu", default=None, help="target CPU for --emit llvm|asm|obj")
@click.option("-mattr", "mattr", default=None, help="target features for --emit llvm|asm|obj")
@click.option("--print-pipeline", is_flag=True,
              help="print the IR pass pipeline that would run (the -O level's or --passes)")
@click.option("--print-ir-after-all", is_flag=True,
              help="dump the IR after every pass to stderr")
@click.option("--time-passes", is_flag=True,
              help="report the time spent in each pass on stderr")
@reports_errors
def compile_command(file: str, opt_level: int, passes: str | None, kernel: str | None,
                    emit: str, output: str | None, mcpu: str | None, mattr: str | None,
                    print_pipeline: bool, print_ir_after_all: bool, time_passes: bool) -> None:
    """Compile FILE.phx (default: write FILE.siw)."""
    from phextcc.opt_cli import dump_to_stderr
    from phextcc.passes.pipeline import PassTimes, pipeline_spec

    if print_pipeline:
        click.echo(pipeline_spec(opt_level) if passes is None else passes)
        return
    options = driver.Options(opt_level=opt_level, kernel=kernel, passes=passes)
    trace = None
    if print_ir_after_all or time_passes:
        trace = driver.PassTrace(dump=dump_to_stderr if print_ir_after_all else None,
                                 times=PassTimes() if time_passes else None)
    _compile(file, options, trace, emit, output, mcpu, mattr)
    if trace is not None and trace.times is not None:
        click.echo(trace.times.report(), err=True)


def _compile(file: str, options: driver.Options, trace: driver.PassTrace | None, emit: str,
             output: str | None, mcpu: str | None, mattr: str | None) -> None:
    source = driver.read_source(file)
    if emit == "ast":
        write_text(output, driver.format_ast(driver.check(source, file)) + "\n")
        return
    if emit == "ir":
        from phextcc.ir.context import print_ir

        write_text(output, print_ir(driver.compile_to_ir(source, file, options, trace)))
        return
    program = driver.compile_source(source, file, options, trace)
    if emit == "siw-asm":
        from phextcc.backend.siw_text import disassemble

        write_text(output, disassemble(program))
    elif emit == "siw":
        from phextcc.backend.siw_format import encode

        target = output or str(Path(file).with_suffix(".siw"))
        write_bytes(target, encode(program))
    else:
        from runtime.jit.emit_native import emit_native

        result = emit_native(program, emit, cpu=mcpu, mattr=mattr, opt_level=options.opt_level)
        if isinstance(result, bytes):
            write_bytes(output or str(Path(file).with_suffix(".o")), result)
        else:
            write_text(output, result)


@main.command("dis")
@click.argument("file")
@click.option("-o", "output", default=None, help="output file")
@reports_errors
def dis_command(file: str, output: str | None) -> None:
    """Disassemble a .siw binary (it is verified first)."""
    from phextcc.backend.siw_format import decode
    from phextcc.backend.siw_text import disassemble

    write_text(output, disassemble(decode(driver.read_binary(file))))


@main.command("as")
@click.argument("file")
@click.option("-o", "output", default=None, help="output file (default: FILE.siw)")
@reports_errors
def as_command(file: str, output: str | None) -> None:
    """Assemble a .siws text file into a .siw binary."""
    from phextcc.backend.siw_format import encode
    from phextcc.backend.siw_text import assemble

    program = assemble(driver.read_source(file), file)
    write_bytes(output or str(Path(file).with_suffix(".siw")), encode(program))


main.add_command(run_command)
main.add_command(stats_command)
main.add_command(cache_command)
main.add_command(opt_command)
main.add_command(bench_command)
