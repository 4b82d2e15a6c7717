"""The .phx frontend: Lark grammar, parser, AST and semantic analysis.

``check_source(source, filename)`` is the entry point: it returns a ``TypedProgram``
(every name resolved, every expression typed) or raises
``phextcc.diagnostics.CompileError`` holding every diagnostic of the file.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from lark.exceptions import VisitError

from phextcc.diagnostics import CompileError, Diagnostic, Severity
from phextcc.frontend.ast import TypedProgram
from phextcc.frontend.parser import parse, parse_recovering
from phextcc.frontend.sema import check_program

# The tree walks are recursive: a sum of a few hundred terms is already deeper than
# Python's default limit allows. This limit handles thousands of levels and still
# fails cleanly (RecursionError, not a crash of the interpreter) beyond that.
_RECURSION_LIMIT = 20_000


@contextmanager
def deep_recursion() -> Iterator[None]:
    """Raise the recursion limit for a deep tree walk, restoring it afterwards."""
    previous = sys.getrecursionlimit()
    sys.setrecursionlimit(max(previous, _RECURSION_LIMIT))
    try:
        yield
    finally:
        sys.setrecursionlimit(previous)


def _too_deep(filename: str) -> CompileError:
    return CompileError([Diagnostic(
        Severity.ERROR, "program nests too deeply (thousands of levels of expressions or "
        "blocks); split it into smaller statements", filename, 1, 1)])


def check_source(source: str, filename: str = "<input>") -> TypedProgram:
    """Parse and check ``source``; raise ``CompileError`` with all errors found."""
    try:
        with deep_recursion():
            program, syntax_errors = parse_recovering(source, filename)
            return check_program(program, filename, source, syntax_errors)
    except RecursionError:
        raise _too_deep(filename) from None
    except VisitError as err:  # Lark wraps what a tree-builder callback raises
        if isinstance(err.orig_exc, RecursionError):
            raise _too_deep(filename) from None
        raise


__all__ = ["TypedProgram", "check_source", "deep_recursion", "parse", "parse_recovering"]
