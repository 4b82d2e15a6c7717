"""Typing rules of the builtins, as data (the docs' builtins table mirrors this).

Most builtins take ``arity`` operands that must all have one type ``T`` from a category
(literals adapt to it) and return ``T``. ``select`` takes a bool condition first. The
sentron builtins ``send``, ``recv``, ``allreduce`` and ``broadcast`` have their own rules
in ``typecheck.py`` (``special=True`` here).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from phextcc.frontend.ast import Builtin
from phextcc.frontend.types import I64, VOID, ScalarType, VoidType


class Category(Enum):
    """A set of scalar types an operand may have."""

    FLOAT = "a float (f32 or f64)"
    INT = "an integer (i32 or i64)"
    NUMERIC = "a number"
    SCALAR = "a scalar"


CATEGORY_TEST: dict[Category, Callable[[ScalarType], bool]] = {
    Category.FLOAT: lambda t: t.is_float,
    Category.INT: lambda t: t.is_int,
    Category.NUMERIC: lambda t: t.is_numeric,
    Category.SCALAR: lambda t: True,
}


@dataclass(frozen=True)
class Signature:
    arity: int
    operands: Category | None  # category of the uniform operands (None: no operands)
    condition_first: bool = False  # the first argument is a bool condition (select)
    result: ScalarType | VoidType | None = None  # None: the uniform operand type
    has_effect: bool = False  # may be used as a statement
    special: bool = False  # typed by a dedicated rule
    doc: str = ""


SIGNATURES: dict[Builtin, Signature] = {
    Builtin.SQRT: Signature(1, Category.FLOAT, doc="sqrt(x: F) -> F"),
    Builtin.EXP: Signature(1, Category.FLOAT, doc="exp(x: F) -> F"),
    Builtin.LOG: Signature(1, Category.FLOAT, doc="log(x: F) -> F"),
    Builtin.TANH: Signature(1, Category.FLOAT, doc="tanh(x: F) -> F"),
    Builtin.FLOOR: Signature(1, Category.FLOAT, doc="floor(x: F) -> F"),
    Builtin.CEIL: Signature(1, Category.FLOAT, doc="ceil(x: F) -> F"),
    Builtin.ABS: Signature(1, Category.NUMERIC, doc="abs(x: N) -> N"),
    Builtin.MIN: Signature(2, Category.NUMERIC, doc="min(a: N, b: N) -> N"),
    Builtin.MAX: Signature(2, Category.NUMERIC, doc="max(a: N, b: N) -> N"),
    Builtin.FMA: Signature(3, Category.FLOAT, doc="fma(a: F, b: F, c: F) -> F"),
    Builtin.SELECT: Signature(3, Category.SCALAR, condition_first=True,
                              doc="select(c: bool, a: T, b: T) -> T"),
    Builtin.SENTRON_ID: Signature(0, None, result=I64, doc="sentron_id() -> i64"),
    Builtin.NUM_SENTRONS: Signature(0, None, result=I64, doc="num_sentrons() -> i64"),
    Builtin.BARRIER: Signature(0, None, result=VOID, has_effect=True, doc="barrier()"),
    Builtin.SEND: Signature(2, None, result=VOID, has_effect=True, special=True,
                            doc="send(dst: I, value: T)"),
    Builtin.RECV: Signature(1, None, has_effect=True, special=True,
                            doc="recv<T>(src: I) -> T"),
    Builtin.ALLREDUCE: Signature(2, None, has_effect=True, special=True,
                                 doc="allreduce(value: N, op) -> N"),
    Builtin.BROADCAST: Signature(2, None, has_effect=True, special=True,
                                 doc="broadcast(value: T, root: I) -> T"),
    Builtin.XOR: Signature(2, Category.INT, doc="xor(a: I, b: I) -> I"),
    Builtin.BITAND: Signature(2, Category.INT, doc="bitand(a: I, b: I) -> I"),
    Builtin.BITOR: Signature(2, Category.INT, doc="bitor(a: I, b: I) -> I"),
    Builtin.POPCOUNT: Signature(1, Category.INT, doc="popcount(a: I) -> I"),
    Builtin.SHL: Signature(2, Category.INT, doc="shl(a: I, n: I) -> I"),
    Builtin.SHR: Signature(2, Category.INT, doc="shr(a: I, n: I) -> I"),
}
