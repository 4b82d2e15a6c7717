"""Syntactic facts the lowering needs before it builds a structured op.

An `scf.for`/`scf.while`/`scf.if` must know, when it is created, which values it
carries: the mutable locals (`var`) declared outside it and assigned inside it, and
whether a `return` inside it can set the "returned" flag.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

from phextcc.frontend import ast


def _children_of_if(stmt: ast.If) -> tuple[ast.Stmt, ...]:
    return (stmt.then,) if stmt.orelse is None else (stmt.then, stmt.orelse)


# Nested statements of each compound statement; leaves have none.
_CHILDREN: dict[type[ast.Stmt], Callable[[ast.Stmt], Iterable[ast.Stmt]]] = {
    ast.Block: lambda stmt: stmt.stmts,  # type: ignore[attr-defined]
    ast.For: lambda stmt: (stmt.body,),  # type: ignore[attr-defined]
    ast.While: lambda stmt: (stmt.body,),  # type: ignore[attr-defined]
    ast.If: _children_of_if,  # type: ignore[dict-item]
}


def walk_stmts(stmts: Iterable[ast.Stmt]) -> Iterator[ast.Stmt]:
    """Every statement in `stmts`, nested ones included, in source order."""
    for stmt in stmts:
        yield stmt
        children = _CHILDREN.get(type(stmt))
        if children is not None:
            yield from walk_stmts(children(stmt))


def may_return(stmts: Iterable[ast.Stmt]) -> bool:
    """Whether executing `stmts` can reach a `return`."""
    return any(isinstance(stmt, ast.Return) for stmt in walk_stmts(stmts))


def assigned_outer_vars(stmts: Iterable[ast.Stmt]) -> list[ast.Var]:
    """The `var`s assigned in `stmts` but declared before them, in order of first
    assignment: the values a structured op around `stmts` must carry out."""
    all_stmts = list(walk_stmts(stmts))
    declared_inside = {id(stmt) for stmt in all_stmts if isinstance(stmt, ast.Var)}
    assigned: dict[int, ast.Var] = {}
    for stmt in all_stmts:
        if not (isinstance(stmt, ast.Assign) and isinstance(stmt.target, ast.Name)):
            continue
        decl = stmt.target.decl
        if isinstance(decl, ast.Var) and id(decl) not in declared_inside:
            assigned.setdefault(id(decl), decl)
    return list(assigned.values())
