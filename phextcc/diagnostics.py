"""Compiler diagnostics: user errors (``CompileError``) vs internal failures.

A user mistake becomes one or more ``Diagnostic`` records collected into a
``CompileError``; the CLI renders them gcc-style and exits 1. A bug in the compiler is an
``InternalCompilerError`` naming the pass it happened in; the CLI prints
``internal compiler error: <str(error)>`` (``... during <pass>``) and exits 2.
Lines and columns are 1-based; line 0 means "no position" (an error about a whole file,
or about no file at all).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"


@dataclass(frozen=True)
class Diagnostic:
    """One message at a source position. ``end_col`` (exclusive) is on the same line."""

    severity: Severity
    message: str
    file: str
    line: int
    col: int
    end_col: int | None = None

    @classmethod
    def file_level(cls, file: str, message: str) -> Diagnostic:
        """An error about a whole file (unreadable, empty...): ``FILE: error: MESSAGE``."""
        return cls(Severity.ERROR, message, file, 0, 0)

    @classmethod
    def plain(cls, message: str) -> Diagnostic:
        """An error about no file in particular: ``error: MESSAGE``."""
        return cls(Severity.ERROR, message, "", 0, 0)

    def location(self) -> str:
        if self.line <= 0:
            return self.file
        return f"{self.file}:{self.line}:{self.col}"

    def __str__(self) -> str:
        where = self.location()
        prefix = f"{where}: " if where else ""
        return f"{prefix}{self.severity.value}: {self.message}"


class CompileError(Exception):
    """A user error in the program: carries every diagnostic found in the run."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics: list[Diagnostic] = list(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    def render(self, source: str | None) -> str:
        """All diagnostics with their source lines and carets, one after another."""
        return "\n".join(render(d, source) for d in self.diagnostics)


class InternalCompilerError(Exception):
    """A compiler bug (never the user's fault), with the pass it happened during.

    ``str(error)`` is ``MESSAGE [at LOCATION] during PASS``; the CLI puts
    ``internal compiler error: `` in front.
    """

    def __init__(self, pass_name: str, message: str, location: str | None = None) -> None:
        self.pass_name = pass_name
        self.message = message
        self.location = location
        where = f" at {location}" if location else ""
        super().__init__(f"{message}{where} during {pass_name}")


def _caret_line(source_line: str, col: int, end_col: int | None) -> str:
    # Keep tabs from the source line in the padding so the caret lines up in a terminal.
    padding = "".join("\t" if ch == "\t" else " " for ch in source_line[: col - 1])
    width = 1
    if end_col is not None and end_col > col + 1:
        width = min(end_col, len(source_line) + 1) - col
    return padding + "^" + "~" * max(width - 1, 0)


def render(diag: Diagnostic, source: str | None) -> str:
    """``FILE:LINE:COL: error: MESSAGE``, then the source line and a caret line."""
    head = str(diag)
    if source is None or diag.line <= 0:
        return head
    lines = source.splitlines()
    if not 1 <= diag.line <= len(lines):
        return head
    source_line = lines[diag.line - 1]
    return f"{head}\n{source_line}\n{_caret_line(source_line, diag.col, diag.end_col)}"


def render_all(diagnostics: Iterable[Diagnostic], sources: Mapping[str, str] | None = None) -> str:
    """Render each diagnostic with the text of its file taken from ``sources``."""
    texts = sources or {}
    return "\n".join(render(d, texts.get(d.file)) for d in diagnostics)
