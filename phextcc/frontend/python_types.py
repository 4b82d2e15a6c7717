"""Typing rules of the Python kernel subset (see docs/python.md).

A Python expression converts to a ``PyValue``: a phx AST expression with its type, or a
compile-time constant. Constants written as Python literals (and Python ``int``/``float``
/``bool`` globals) are *weak*, like Python scalars under numpy's NEP 50 rules: they take
the type of the other operand when the kind allows (``x32 * 2.0`` stays f32,
``i32 + 1`` stays i32); alone they are i64, f64 or bool. Expressions made only of weak
constants are evaluated by Python itself, so they follow Python semantics exactly.

Between typed values the numpy promotion table applies: two ints or two floats give
the wider one, an int with a float gives f64 (numpy: int32 + float32 -> float64).
"""

from __future__ import annotations

from dataclasses import dataclass

from phextcc.frontend import ast
from phextcc.frontend.types import BOOL, F32, F64, I32, I64, INT_RANGES, ScalarType

PyConstant = int | float | bool


@dataclass(frozen=True)
class PyValue:
    """A converted expression: ``expr`` of type ``ty``, or the constant ``const``.

    ``weak`` constants (Python literals) adapt to the other operand's type; a strong
    constant (``np.float32(0.5)``) keeps ``ty``. ``expr`` is None exactly for constants,
    which become literal nodes only once their final type is known (``materialize``).
    """

    ty: ScalarType
    expr: ast.Expr | None = None
    const: PyConstant | None = None
    weak: bool = False
    pure: bool = True  # False when evaluating twice would repeat an effect (recv, ...)

    @property
    def is_const(self) -> bool:
        return self.expr is None


def constant_type(value: PyConstant) -> ScalarType:
    """The type a lone Python constant gets: bool, i64 or f64."""
    if isinstance(value, bool):
        return BOOL
    return I64 if isinstance(value, int) else F64


def weak_constant(value: PyConstant) -> PyValue:
    return PyValue(constant_type(value), const=value, weak=True)


def _literal(value: PyConstant, ty: ScalarType, span: ast.Span) -> ast.Expr:
    """A literal node of exactly type ``ty`` (sema's context rules give it that type)."""
    if ty.is_bool:
        return ast.BoolLit(span=span, value=bool(value))
    if ty.is_float:
        number = float(value)
        lit: ast.Expr = ast.FloatLit(span=span, value=abs(number))
        negative = number < 0 or (number == 0.0 and str(number).startswith("-"))
    else:
        integer = int(value)
        lit = ast.IntLit(span=span, value=abs(integer))
        negative = integer < 0
    if negative:
        lit = ast.Unary(span=span, op=ast.UnaryOp.NEG, operand=lit)
    default = F64 if ty.is_float else I64
    if ty == default:
        return lit
    # f32(0.1) is the f32 nearest to 0.1, and i32(5) an i32: exactly numpy's conversion.
    return ast.Convert(span=span, target=ty, operand=lit)


def fits(value: PyConstant, ty: ScalarType) -> bool:
    if not ty.is_int or isinstance(value, float):
        return True
    low, high = INT_RANGES[ty]
    return low <= int(value) <= high


def materialize(value: PyValue, ty: ScalarType, span: ast.Span) -> ast.Expr:
    """The phx expression of ``value`` as type ``ty`` (constants become literals).

    The caller guarantees the conversion is one the rules allow; non-constant values of
    another type get an explicit ``Convert`` (bool -> number goes through ``select``).
    """
    if value.expr is None:
        assert value.const is not None
        if ty.is_bool:
            return _literal(bool(value.const), ty, span)
        if isinstance(value.const, float) and ty.is_int:
            inner = _literal(value.const, F64, span)
            return ast.Convert(span=span, target=ty, operand=inner)
        return _literal(value.const, ty, span)
    if value.ty == ty:
        return value.expr
    if value.ty.is_bool:
        one, zero = _literal(1, ty, span), _literal(0, ty, span)
        return ast.Call(span=span, name="select", name_span=span, builtin=ast.Builtin.SELECT,
                        args=(value.expr, one, zero))
    if ty.is_bool:
        return ast.Binary(span=span, op=ast.BinaryOp.NE, lhs=value.expr,
                          rhs=_literal(0, value.ty, span))
    return ast.Convert(span=span, target=ty, operand=value.expr)


def promote_types(a: ScalarType, b: ScalarType) -> ScalarType:
    """numpy's promotion of two typed (non-weak) numeric scalars."""
    if a == b:
        return a
    if a.is_float and b.is_float:
        return F64
    if a.is_int and b.is_int:
        return I64
    return F64  # int with float: float64, as numpy does for int32/int64 with float32


def result_type(a: PyValue, b: PyValue) -> ScalarType:
    """The common type of two numeric operands, weak constants adapting (NEP 50)."""
    if a.weak and not b.weak:
        a, b = b, a
    if not b.weak:
        return promote_types(a.ty, b.ty)
    if a.weak:  # both weak: Python's own rule (int with float is float)
        return F64 if F64 in (a.ty, b.ty) else a.ty
    if b.ty.is_int or a.ty.is_float:
        return a.ty  # an int literal adapts to any number, a float literal to floats
    return F64  # a float literal with an integer value


#: numpy dtype name -> element type of the subset.
DTYPE_TYPES: dict[str, ScalarType] = {
    "int32": I32, "int64": I64, "float32": F32, "float64": F64, "bool": BOOL,
}
