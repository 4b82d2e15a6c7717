"""The xDSL context phextcc works in, and the IR text form (print and parse).

Printing then parsing then printing gives the same text, so IR can be dumped with
`--emit ir`, edited or stored, and fed back to a single pass.
"""

from __future__ import annotations

import importlib
import importlib.util
from io import StringIO

from xdsl.context import Context
from xdsl.dialects.arith import Arith
from xdsl.dialects.builtin import Builtin, ModuleOp
from xdsl.dialects.func import Func
from xdsl.dialects.math import Math
from xdsl.dialects.scf import Scf
from xdsl.ir import Dialect
from xdsl.parser import Parser
from xdsl.printer import Printer

from phextcc.ir.phx_dialect import Phx

CORE_DIALECTS: tuple[Dialect, ...] = (Builtin, Func, Arith, Math, Scf, Phx)

# Dialects of later pipeline stages, loaded when present in the tree: (module, attribute).
# Kept by name so this module does not depend on the backend being importable.
OPTIONAL_DIALECTS: tuple[tuple[str, str], ...] = (("phextcc.ir.siw_dialect", "Siw"),)


def _optional_dialects() -> list[Dialect]:
    dialects: list[Dialect] = []
    for module_name, attribute in OPTIONAL_DIALECTS:
        if importlib.util.find_spec(module_name) is None:
            continue
        dialect = getattr(importlib.import_module(module_name), attribute, None)
        if isinstance(dialect, Dialect):
            dialects.append(dialect)
    return dialects


def make_context() -> Context:
    """A context with builtin, func, arith, math, scf, phx (and siw when present)."""
    ctx = Context()
    for dialect in (*CORE_DIALECTS, *_optional_dialects()):
        ctx.load_dialect(dialect)
    return ctx


def print_ir(module: ModuleOp, debuginfo: bool = False) -> str:
    """The custom text form of `module`; with `debuginfo`, every op's `loc(...)`."""
    buffer = StringIO()
    Printer(stream=buffer, print_debuginfo=debuginfo).print_op(module)
    buffer.write("\n")
    return buffer.getvalue()


def parse_ir(text: str, name: str = "<ir>") -> ModuleOp:
    """Parse IR text (custom or generic form) back into a module."""
    return Parser(make_context(), text, name).parse_module()
