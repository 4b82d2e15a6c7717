"""Pieces shared by the `phextcc` commands: error reporting, common options, I/O."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from phextcc import driver
from phextcc.backend.program import Program
from phextcc.diagnostics import CompileError, InternalCompilerError, render_all

F = TypeVar("F", bound=Callable[..., Any])

EXIT_USER_ERROR = 1
EXIT_INTERNAL_ERROR = 2


def user_error_types() -> tuple[type[BaseException], ...]:
    """Errors that are the user's (bad input), shown as one `error:` line."""
    from phextcc.backend.siw_format import SiwFormatError
    from phextcc.backend.verifier import SiwVerifyError
    from runtime.errors import VtpuRuntimeError

    return (SiwFormatError, SiwVerifyError, VtpuRuntimeError)


def reports_errors(fn: F) -> F:
    """Run a command, turning every failure into a diagnostic and an exit status."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CompileError as exc:
            click.echo(render_all(exc.diagnostics, driver.source_cache()), err=True)
            sys.exit(EXIT_USER_ERROR)
        except InternalCompilerError as exc:
            click.echo(f"internal compiler error: {exc}", err=True)
            sys.exit(EXIT_INTERNAL_ERROR)
        except click.exceptions.Exit:
            raise
        except click.ClickException:
            raise
        except Exception as exc:  # noqa: BLE001 - classify, never show a traceback
            if isinstance(exc, user_error_types()):
                click.echo(f"error: {exc}", err=True)
                sys.exit(EXIT_USER_ERROR)
            click.echo(f"internal compiler error: {type(exc).__name__}: {exc}", err=True)
            sys.exit(EXIT_INTERNAL_ERROR)

    return wrapper  # type: ignore[return-value]


def opt_option(fn: F) -> F:
    return click.option("-O", "opt_level", type=click.IntRange(0, 3), default=0,
                        show_default=True, help="optimisation tier (-O0 .. -O3)")(fn)


def _checked_passes(_ctx: click.Context, _param: click.Parameter, spec: str | None
                    ) -> str | None:
    """A custom pipeline is parsed before anything is compiled: a bad pass name or
    option is a usage error."""
    if spec is not None:
        from phextcc.opt_cli import parse_passes

        parse_passes(spec)
    return spec


def passes_option(fn: F) -> F:
    return click.option("-p", "--passes", "passes", default=None, callback=_checked_passes,
                        help="custom IR pass pipeline instead of the -O level's, e.g. "
                             "'phx-cse,phx-dce' ('' for none: the unoptimised program); "
                             "-O still picks the SIW packing tier")(fn)


def parse_tiers(text: str) -> tuple[int, ...]:
    """A comma-separated list of -O levels, e.g. "0,1,2,3"."""
    try:
        tiers = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise click.BadParameter(f"expected tiers like 0,1,2,3, got {text!r}") from None
    if not tiers or any(t not in (0, 1, 2, 3) for t in tiers):
        raise click.BadParameter(f"tiers must be among 0,1,2,3, got {text!r}")
    return tiers


def kernel_option(fn: F) -> F:
    return click.option("--kernel", "kernel", default=None,
                        help="only this kernel of the file")(fn)


def write_text(output: str | None, text: str) -> None:
    if output in (None, "-"):
        click.echo(text, nl=False)
    else:
        Path(output).write_text(text)


def write_bytes(output: str, data: bytes) -> None:
    if output == "-":
        sys.stdout.buffer.write(data)
    else:
        Path(output).write_bytes(data)


def load_program(file: str, options: driver.Options) -> Program:
    """A Program from a .phx source (compiled) or a .siw binary (verified on load)."""
    if file.endswith(".siw"):
        from phextcc.backend.siw_format import decode

        return decode(driver.read_binary(file))
    if file.endswith(".siws"):
        from phextcc.backend.siw_text import assemble

        return assemble(driver.read_source(file), file)
    return driver.compile_source(driver.read_source(file), file, options)


