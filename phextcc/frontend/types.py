"""The types of the .phx language, as seen by the frontend.

Scalars are interned singletons (compare with ``is`` or ``==``); tensors are values.
``ERROR`` is given to an expression that already produced a diagnostic: every check
accepts it silently, so one mistake gives one message instead of a cascade. ``VOID``
is the result of calls that return nothing (``send``, ``barrier``).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ScalarType:
    """One of i32, i64, f32, f64, bool."""

    name: str
    bits: int
    is_int: bool
    is_float: bool

    @property
    def is_bool(self) -> bool:
        return self.name == "bool"

    @property
    def is_numeric(self) -> bool:
        return self.is_int or self.is_float

    def __str__(self) -> str:
        return self.name


I32 = ScalarType("i32", 32, is_int=True, is_float=False)
I64 = ScalarType("i64", 64, is_int=True, is_float=False)
F32 = ScalarType("f32", 32, is_int=False, is_float=True)
F64 = ScalarType("f64", 64, is_int=False, is_float=True)
BOOL = ScalarType("bool", 1, is_int=False, is_float=False)

SCALAR_TYPES: dict[str, ScalarType] = {t.name: t for t in (I32, I64, F32, F64, BOOL)}

#: Range of values an integer literal may take in each integer type.
INT_RANGES: dict[ScalarType, tuple[int, int]] = {
    I32: (-(2**31), 2**31 - 1),
    I64: (-(2**63), 2**63 - 1),
}

MAX_TENSOR_RANK = 11


@dataclass(frozen=True)
class TensorType:
    """``elem[d0, d1, ...]``; each extent is a positive int or a shape symbol name."""

    elem: ScalarType
    dims: tuple[int | str, ...]

    @property
    def rank(self) -> int:
        return len(self.dims)

    def __str__(self) -> str:
        return f"{self.elem}[{', '.join(str(d) for d in self.dims)}]"


@dataclass(frozen=True)
class ErrorType:
    """The type of an expression that failed to check (suppresses cascades)."""

    def __str__(self) -> str:
        return "<error>"


@dataclass(frozen=True)
class VoidType:
    """The result of a call used only for its effect."""

    def __str__(self) -> str:
        return "void"


ERROR = ErrorType()
VOID = VoidType()

Type = ScalarType | TensorType | ErrorType | VoidType
