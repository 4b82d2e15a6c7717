"""Lexical scopes of a kernel, and the diagnostics sink semantic analysis writes to.

Scoping rules (see docs/language.md): the kernel scope holds the parameters and shape
symbols; every block, and every ``for`` loop (for its induction variable), opens a
nested scope. A name is visible from its declaration to the end of its scope. No
declaration may reuse a name that is visible at that point (no shadowing: a nested
``for i`` inside ``for i``, or ``let N`` with a shape symbol ``N``, is an error); the same
name may be declared again once the first declaration went out of scope.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from phextcc.diagnostics import Diagnostic, Severity
from phextcc.frontend import ast


class DiagnosticSink:
    """Collects the errors of one file, in the order they are found."""

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []

    def error(self, span: ast.Span, message: str) -> None:
        end_col = span.end_col if span.end_line == span.line else None
        self.diagnostics.append(
            Diagnostic(Severity.ERROR, message, span.file, span.line, span.col, end_col)
        )


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate, or ``""``."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.6)
    return f"; did you mean '{close[0]}'?" if close else ""


#: How each kind of declaration is called in messages.
DECL_KINDS: dict[type, str] = {
    ast.Param: "parameter",
    ast.ShapeSymbol: "shape symbol",
    ast.Let: "immutable 'let' binding",
    ast.Var: "variable",
    ast.LoopVar: "loop variable",
}


def describe_decl(decl: ast.Decl) -> str:
    """How a declaration is named in messages: ``parameter 'a'``, ``loop variable 'i'``."""
    return f"{DECL_KINDS[type(decl)]} '{decl.name}'"


def decl_position(decl: ast.Decl) -> ast.Span:
    if isinstance(decl, (ast.Let, ast.Var)):
        return decl.name_span
    return decl.span


class ScopeStack:
    """Nested name -> declaration maps, innermost last."""

    def __init__(self, sink: DiagnosticSink) -> None:
        self.sink = sink
        self._scopes: list[dict[str, ast.Decl]] = []

    @contextmanager
    def scope(self) -> Iterator[None]:
        self._scopes.append({})
        try:
            yield
        finally:
            self._scopes.pop()

    def lookup(self, name: str) -> ast.Decl | None:
        for scope in reversed(self._scopes):
            if name in scope:
                return scope[name]
        return None

    def visible_names(self) -> list[str]:
        return [name for scope in self._scopes for name in scope]

    def declare(self, name: str, decl: ast.Decl, where: ast.Span) -> None:
        """Declare in the innermost scope, reporting a clash with any visible name.

        The new declaration is entered even after a clash, so later uses resolve to it
        and do not produce follow-up errors.
        """
        previous = self.lookup(name)
        if previous is not None:
            at = decl_position(previous)
            self.sink.error(
                where,
                f"'{name}' is already declared at line {at.line}, column {at.col} "
                f"({DECL_KINDS[type(previous)]}); shadowing is not allowed",
            )
        self._scopes[-1][name] = decl
