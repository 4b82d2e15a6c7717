"""Where the Python locals of a kernel live: a scan of the function before translation.

Python has one scope per function; .phx has block scopes. A local is declared as a phx
``var`` in the innermost statement list that contains every use of it, at its first
assignment there, when that first statement is a plain ``name = value``. A temporary
of a loop body is then a variable of the body (a fresh value each iteration), not one
carried around the loop. Any other local is declared at the top of the kernel.
"""

from __future__ import annotations

import ast as pyast
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

_BODY_FIELDS = ("body", "orelse", "finalbody", "handlers")


@dataclass
class LocalsScan:
    assigned: set[str] = field(default_factory=set)  # names assigned anywhere: locals
    loop_targets: dict[str, pyast.AST] = field(default_factory=dict)  # first target node
    declaring: dict[int, str] = field(default_factory=dict)  # id(Assign) -> local it declares


def _statement_lists(stmt: pyast.stmt) -> Iterator[list[pyast.stmt]]:
    for name in _BODY_FIELDS:
        value = getattr(stmt, name, None)
        if isinstance(value, list) and value and isinstance(value[0], pyast.stmt):
            yield value


def _own_names(stmt: pyast.stmt) -> Iterator[str]:
    """Names in ``stmt`` itself, not in the statement lists nested in it."""
    for name, value in pyast.iter_fields(stmt):
        if name in _BODY_FIELDS:
            continue
        nodes = value if isinstance(value, list) else [value]
        for node in nodes:
            if isinstance(node, pyast.AST):
                yield from (n.id for n in pyast.walk(node) if isinstance(n, pyast.Name))


def _chains(body: list[pyast.stmt], chain: tuple[int, ...],
            lists: dict[int, list[pyast.stmt]], out: dict[str, list[tuple[int, ...]]]) -> None:
    """For every name, the chains of statement lists enclosing each of its uses."""
    lists[id(body)] = body
    here = (*chain, id(body))
    for stmt in body:
        for name in _own_names(stmt):
            out.setdefault(name, []).append(here)
        for nested in _statement_lists(stmt):
            _chains(nested, here, lists, out)


def _common_prefix(chains: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    prefix = chains[0]
    for chain in chains[1:]:
        length = 0
        while length < min(len(prefix), len(chain)) and prefix[length] == chain[length]:
            length += 1
        prefix = prefix[:length]
    return prefix


def _mentions(stmt: pyast.stmt, name: str) -> bool:
    return any(isinstance(n, pyast.Name) and n.id == name for n in pyast.walk(stmt))


def _declaring_statement(body: list[pyast.stmt], name: str) -> pyast.Assign | None:
    """The first statement of ``body`` that mentions ``name``, if it is ``name = value``
    with a value that does not read ``name``."""
    for stmt in body:
        if not _mentions(stmt, name):
            continue
        match stmt:
            case pyast.Assign(targets=[pyast.Name(id=target)], value=value) if (
                    target == name and not isinstance(value, pyast.Tuple)
                    and not any(isinstance(n, pyast.Name) and n.id == name
                                for n in pyast.walk(value))):
                return stmt
        return None
    return None


def scan_locals(tree: pyast.FunctionDef, parameters: Sequence[str]) -> LocalsScan:
    scan = LocalsScan()
    for node in pyast.walk(tree):
        match node:
            case pyast.Assign(targets=targets):
                for target in targets:
                    elements = target.elts if isinstance(target, pyast.Tuple) else [target]
                    scan.assigned.update(t.id for t in elements if isinstance(t, pyast.Name))
            case pyast.AugAssign(target=pyast.Name(id=name)) | \
                    pyast.AnnAssign(target=pyast.Name(id=name)):
                scan.assigned.add(name)
            case pyast.For(target=pyast.Name(id=name)):
                scan.loop_targets.setdefault(name, node.target)
    lists: dict[int, list[pyast.stmt]] = {}
    uses: dict[str, list[tuple[int, ...]]] = {}
    _chains(tree.body, (), lists, uses)
    for name in scan.assigned - set(parameters) - set(scan.loop_targets):
        innermost = _common_prefix(uses[name])
        if not innermost:
            continue
        declaring = _declaring_statement(lists[innermost[-1]], name)
        if declaring is not None:
            scan.declaring[id(declaring)] = name
    return scan
