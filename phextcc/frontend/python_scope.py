"""State shared by the Python-subset converters: source positions, names, errors.

Positions: a Python ``ast`` node of the function's (dedented) source maps back to the
line and column of the real file, so diagnostics point into the user's ``.py`` file
with a caret, exactly like ``.phx`` diagnostics.
"""

from __future__ import annotations

import ast as pyast
from dataclasses import dataclass, field

from phextcc.diagnostics import CompileError, Diagnostic, Severity
from phextcc.frontend import ast
from phextcc.frontend.python_globals import PythonEnvironment
from phextcc.frontend.types import ScalarType


class RenderedCompileError(CompileError):
    """A ``CompileError`` whose ``str()`` is the rendered diagnostics (file:line:col,
    message, the source line and a caret), for errors raised to Python callers."""

    def __init__(self, diagnostics: list[Diagnostic], source: str | None,
                 note: str = "") -> None:
        super().__init__(diagnostics)
        self.source = source
        self.note = note

    def __str__(self) -> str:
        text = self.render(self.source)
        return f"{text}\n{self.note}" if self.note else text


class PythonKernelError(RenderedCompileError):
    """A Python kernel the compiler cannot accept (points into the ``.py`` file)."""


class Unsupported(Exception):
    """Raised inside the converter to stop at the first construct it rejects."""

    def __init__(self, span: ast.Span, message: str) -> None:
        super().__init__(message)
        self.span = span
        self.message = message

    def diagnostic(self) -> Diagnostic:
        span = self.span
        end_col = span.end_col if span.end_line == span.line else None
        return Diagnostic(Severity.ERROR, self.message, span.file, span.line, span.col,
                          end_col)


@dataclass(frozen=True)
class SourceMap:
    """Maps positions in the parsed function text to positions in its file."""

    filename: str
    file_text: str  # the whole file, for rendering
    first_line: int  # file line of the parsed text's line 1
    indent: int  # columns removed by dedenting

    def _column(self, line: int, byte_offset: int) -> int:
        """1-based character column of a UTF-8 byte offset in parsed line ``line``."""
        lines = self.file_text.splitlines()
        index = self.first_line + line - 2
        if 0 <= index < len(lines):
            text = lines[index][self.indent:]
            return len(text.encode("utf-8")[:byte_offset].decode("utf-8", "replace")) + \
                self.indent + 1
        return byte_offset + self.indent + 1

    def span(self, node: pyast.AST) -> ast.Span:
        line = getattr(node, "lineno", 1)
        end_line = getattr(node, "end_lineno", None) or line
        col = self._column(line, getattr(node, "col_offset", 0))
        end_offset = getattr(node, "end_col_offset", None)
        end_col = self._column(end_line, end_offset) if end_offset is not None else col + 1
        return ast.Span(self.filename, self.first_line + line - 1, col,
                        self.first_line + end_line - 1, end_col)


@dataclass
class LocalVar:
    """A Python local: declared as a phx ``var`` at the top of the kernel."""

    ident: str  # the phx name (a parameter copy gets a name Python cannot spell)
    ty: ScalarType
    first: ast.Span  # where its type was fixed


@dataclass(frozen=True)
class ArrayParam:
    name: str
    elem: ScalarType
    symbols: tuple[str, ...]  # one shape symbol per axis

    @property
    def rank(self) -> int:
        return len(self.symbols)


@dataclass
class FunctionScope:
    """Everything the converters know about the function being translated."""

    source: SourceMap
    env: PythonEnvironment
    scalars: dict[str, ScalarType]  # scalar parameters
    arrays: dict[str, ArrayParam]
    locals: dict[str, LocalVar] = field(default_factory=dict)
    assigned: set[str] = field(default_factory=set)  # definitely assigned locals here
    loop_vars: dict[str, str] = field(default_factory=dict)  # Python name -> phx ident
    first_assignment: dict[str, ast.Span] = field(default_factory=dict)
    local_names: set[str] = field(default_factory=set)  # assigned somewhere: Python locals
    loop_names: set[str] = field(default_factory=set)  # used as a loop variable somewhere
    fresh_counter: int = 0

    def fail(self, node: pyast.AST, message: str) -> Unsupported:
        return Unsupported(self.source.span(node), message)

    def fresh(self, base: str) -> str:
        """A phx name no Python identifier can collide with."""
        self.fresh_counter += 1
        return f"{base}.{self.fresh_counter}"
