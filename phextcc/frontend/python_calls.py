"""Calls in a Python kernel: math functions, conversions, ``len`` and the sentron builtins.

Typing follows Numba and numpy rather than CPython where they differ, so that a kernel
computes in the precision of its data: ``math.sqrt`` of an f32 is an f32 (numpy's
``np.sqrt`` rule), of an integer an f64. ``math.floor``/``math.ceil`` return an integer
(i64) as in Python; ``np.floor``/``np.ceil`` keep the float type.
"""

from __future__ import annotations

import ast as pyast
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from phextcc.frontend import ast
from phextcc.frontend.python_globals import PyCallable, lookup_callable
from phextcc.frontend.python_types import PyValue, result_type, weak_constant
from phextcc.frontend.types import BOOL, F32, F64, I32, I64, ScalarType

if TYPE_CHECKING:
    from phextcc.frontend.python_exprs import ExprConverter

_FLOAT_MATH: dict[PyCallable, tuple[ast.Builtin, Callable[[float], float]]] = {
    PyCallable.SQRT: (ast.Builtin.SQRT, math.sqrt),
    PyCallable.EXP: (ast.Builtin.EXP, math.exp),
    PyCallable.LOG: (ast.Builtin.LOG, math.log),
    PyCallable.TANH: (ast.Builtin.TANH, math.tanh),
    PyCallable.FLOOR: (ast.Builtin.FLOOR, lambda v: float(np.floor(v))),
    PyCallable.CEIL: (ast.Builtin.CEIL, lambda v: float(np.ceil(v))),
}
_TO_INT: dict[PyCallable, ast.Builtin] = {
    PyCallable.FLOOR_TO_INT: ast.Builtin.FLOOR, PyCallable.CEIL_TO_INT: ast.Builtin.CEIL,
}
_CONVERSIONS: dict[PyCallable, ScalarType] = {
    PyCallable.TO_F32: F32, PyCallable.TO_F64: F64, PyCallable.TO_I32: I32,
    PyCallable.TO_I64: I64, PyCallable.TO_BOOL: BOOL,
}
_CONVERT_CONSTANT: dict[ScalarType, Callable[[object], object]] = {
    F32: lambda v: float(np.float32(v)), F64: float, I32: lambda v: int(np.int32(v)),
    I64: int, BOOL: bool,
}
_REDUCE_OPS = {op.value: op for op in ast.ReduceOp}
_RECV_TYPES: dict[object, ScalarType] = {
    np.float32: F32, np.float64: F64, float: F64, np.int32: I32, np.int64: I64, int: I64,
    bool: BOOL, np.bool_: BOOL,
}


class CallConverter:
    """Converts ``pyast.Call`` nodes (see the module docstring)."""

    def __init__(self, exprs: ExprConverter) -> None:
        self.exprs = exprs
        self._handlers: dict[PyCallable, Callable[[pyast.Call, PyCallable], PyValue]] = {
            **{c: self._float_math for c in _FLOAT_MATH},
            **{c: self._float_to_int for c in _TO_INT},
            **{c: self._conversion for c in _CONVERSIONS},
            PyCallable.ABS: self._abs,
            PyCallable.MIN: self._min_max,
            PyCallable.MAX: self._min_max,
            PyCallable.LEN: self._len,
            PyCallable.RANGE: self._range_outside_for,
            PyCallable.SENTRON_ID: self._no_argument,
            PyCallable.NUM_SENTRONS: self._no_argument,
            PyCallable.BARRIER: self._no_argument,
            PyCallable.SEND: self._send,
            PyCallable.RECV: self._recv,
            PyCallable.ALLREDUCE: self._allreduce,
            PyCallable.BROADCAST: self._broadcast,
        }

    def target(self, node: pyast.Call) -> PyCallable:
        """Which known callable ``node`` calls, or a clear error."""
        obj = self.exprs.resolve_attribute(node.func) if isinstance(
            node.func, (pyast.Name, pyast.Attribute)) else None
        what = pyast.unparse(node.func)
        known = lookup_callable(obj) if obj is not None else None
        if known is None:
            raise self.exprs.fail(node.func, f"call to '{what}' is not supported in a kernel "
                                              "(only math functions, numpy scalar types, abs, "
                                              "min, max, len and the sentron builtins)")
        if node.keywords:
            raise self.exprs.fail(node.keywords[0].value or node,
                                  f"keyword arguments are not supported in a call to '{what}'")
        return known

    def call(self, node: pyast.Call) -> PyValue:
        elem = self.dtype_of(node.func)
        if elem is not None:  # x.dtype.type(v): v converted to x's element type
            self._arity(node, 1)
            return self._convert(node, elem, weak=False)
        callee = self.target(node)
        return self._handlers[callee](node, callee)

    def dtype_of(self, node: pyast.expr) -> ScalarType | None:
        """The element type named by ``x.dtype.type`` for an array argument ``x``."""
        match node:
            case pyast.Attribute(attr="type", value=pyast.Attribute(
                    attr="dtype", value=pyast.Name(id=name))) if name in self.exprs.scope.arrays:
                return self.exprs.scope.arrays[name].elem
        return None

    def _arity(self, node: pyast.Call, count: int) -> None:
        if len(node.args) != count:
            name = pyast.unparse(node.func)
            raise self.exprs.fail(node, f"'{name}' takes {count} argument"
                                        f"{'' if count == 1 else 's'}, {len(node.args)} given")

    def _builtin(self, builtin: ast.Builtin, args: tuple[ast.Expr, ...], node: pyast.AST
                 ) -> ast.Call:
        span = self.exprs.span(node)
        return ast.Call(span=span, name=builtin.value, name_span=span, builtin=builtin,
                        args=args)

    # ---------------------------------------------------------------- math

    def _float_math(self, node: pyast.Call, callee: PyCallable) -> PyValue:
        self._arity(node, 1)
        operand = self.exprs.numeric(self.exprs.value(node.args[0]), node.args[0],
                                     pyast.unparse(node.func))
        builtin, fold = _FLOAT_MATH[callee]
        if operand.is_const and operand.weak:
            try:
                return weak_constant(fold(float(operand.const)))  # type: ignore[arg-type]
            except (ValueError, OverflowError) as exc:
                raise self.exprs.fail(node, f"constant expression fails: {exc}") from exc
        ty = operand.ty if operand.ty.is_float else F64
        arg = self.exprs.expr_as(operand, ty, node.args[0])
        return PyValue(ty, self._builtin(builtin, (arg,), node), pure=operand.pure)

    def _float_to_int(self, node: pyast.Call, callee: PyCallable) -> PyValue:
        self._arity(node, 1)
        operand = self.exprs.numeric(self.exprs.value(node.args[0]), node.args[0],
                                     pyast.unparse(node.func))
        if operand.ty.is_int:
            return operand if operand.is_const else PyValue(
                I64, self.exprs.expr_as(operand, I64, node.args[0]), pure=operand.pure)
        if operand.is_const and operand.weak:
            fold = math.floor if callee is PyCallable.FLOOR_TO_INT else math.ceil
            try:
                return weak_constant(fold(float(operand.const)))  # type: ignore[arg-type]
            except (ValueError, OverflowError) as exc:
                raise self.exprs.fail(node, f"constant expression fails: {exc}") from exc
        arg = self.exprs.expr_as(operand, operand.ty, node.args[0])
        rounded = self._builtin(_TO_INT[callee], (arg,), node)
        span = self.exprs.span(node)
        return PyValue(I64, ast.Convert(span=span, target=I64, operand=rounded),
                       pure=operand.pure)

    def _abs(self, node: pyast.Call, callee: PyCallable) -> PyValue:
        self._arity(node, 1)
        operand = self.exprs.numeric(self.exprs.value(node.args[0]), node.args[0], "abs")
        if operand.is_const and operand.weak:
            return weak_constant(abs(operand.const))  # type: ignore[arg-type]
        arg = self.exprs.alone(operand, node.args[0])
        return PyValue(operand.ty, self._builtin(ast.Builtin.ABS, (arg,), node),
                       pure=operand.pure)

    def _min_max(self, node: pyast.Call, callee: PyCallable) -> PyValue:
        name = callee.value
        if len(node.args) < 2:
            raise self.exprs.fail(node, f"'{name}' needs at least two arguments in a kernel "
                                        "(a sequence is not supported)")
        values = [self.exprs.numeric(self.exprs.value(a), a, name) for a in node.args]
        if all(v.is_const and v.weak for v in values):
            consts = [v.const for v in values]
            return weak_constant(min(consts) if callee is PyCallable.MIN  # type: ignore[type-var]
                                 else max(consts))  # type: ignore[type-var]
        ty = values[0]
        for value in values[1:]:
            ty = PyValue(result_type(ty, value), const=0, weak=ty.weak and value.weak)
        builtin = ast.Builtin.MIN if callee is PyCallable.MIN else ast.Builtin.MAX
        result = self.exprs.expr_as(values[0], ty.ty, node.args[0])
        for value, source in zip(values[1:], node.args[1:]):
            arg = self.exprs.expr_as(value, ty.ty, source)
            result = self._builtin(builtin, (result, arg), node)
        return PyValue(ty.ty, result, pure=all(v.pure for v in values))

    # ---------------------------------------------------------------- conversions, len

    def _conversion(self, node: pyast.Call, callee: PyCallable) -> PyValue:
        self._arity(node, 1)
        # float()/int()/bool() of a constant give Python scalars: weak, like literals
        weak = isinstance(node.func, pyast.Name) and node.func.id in ("int", "float", "bool")
        return self._convert(node, _CONVERSIONS[callee], weak)

    def _convert(self, node: pyast.Call, target: ScalarType, weak: bool) -> PyValue:
        operand = self.exprs.value(node.args[0])
        if operand.is_const:
            assert operand.const is not None
            value = _CONVERT_CONSTANT[target](operand.const)
            return PyValue(target, const=value, weak=weak)  # type: ignore[arg-type]
        return PyValue(target, self.exprs.expr_as(operand, target, node.args[0]),
                       pure=operand.pure)

    def _len(self, node: pyast.Call, callee: PyCallable) -> PyValue:
        self._arity(node, 1)
        name = self.exprs.array_of(node.args[0])
        symbol = self.exprs.scope.arrays[name].symbols[0]
        return PyValue(I64, ast.Name(span=self.exprs.span(node), ident=symbol))

    def _range_outside_for(self, node: pyast.Call, callee: PyCallable) -> PyValue:
        raise self.exprs.fail(node, "range() can only be used as 'for ... in range(...)'")

    # ---------------------------------------------------------------- sentron builtins

    def _no_argument(self, node: pyast.Call, callee: PyCallable) -> PyValue:
        self._arity(node, 0)
        builtin = ast.BUILTINS_BY_NAME[callee.value]
        ty = BOOL if callee is PyCallable.BARRIER else I64  # barrier: used as a statement
        return PyValue(ty, self._builtin(builtin, (), node),
                       pure=callee is not PyCallable.BARRIER)

    def _sentron_number(self, node: pyast.expr, what: str) -> ast.Expr:
        value = self.exprs.integer(node, what)
        return self.exprs.expr_as(value, I64 if value.is_const else value.ty, node)

    def _send(self, node: pyast.Call, callee: PyCallable) -> PyValue:
        self._arity(node, 2)
        dst = self._sentron_number(node.args[0], "the destination of 'send'")
        payload = self.exprs.value(node.args[1])
        args = (dst, self.exprs.alone(payload, node.args[1]))
        return PyValue(BOOL, self._builtin(ast.Builtin.SEND, args, node), pure=False)

    def _recv(self, node: pyast.Call, callee: PyCallable) -> PyValue:
        if len(node.args) != 2:
            raise self.exprs.fail(node, "'recv' takes the source and the type of the value: "
                                        "recv(src, np.float32)")
        src = self._sentron_number(node.args[0], "the source of 'recv'")
        ty = self.dtype_of(node.args[1]) or _RECV_TYPES.get(self._type_object(node.args[1]))
        if ty is None:
            raise self.exprs.fail(node.args[1], "the type of 'recv' must be one of "
                                                "np.float32, np.float64, np.int32, np.int64, "
                                                "float, int, bool")
        call = self._builtin(ast.Builtin.RECV, (src,), node)
        call.type_arg = ty
        return PyValue(ty, call, pure=False)

    def _type_object(self, node: pyast.expr) -> object:
        if isinstance(node, (pyast.Name, pyast.Attribute)):
            return self.exprs.resolve_attribute(node)
        return None

    def _allreduce(self, node: pyast.Call, callee: PyCallable) -> PyValue:
        self._arity(node, 2)
        op_node = node.args[1]
        if not (isinstance(op_node, pyast.Constant) and op_node.value in _REDUCE_OPS):
            raise self.exprs.fail(op_node, "the second argument of 'allreduce' must be "
                                           "\"sum\", \"max\" or \"min\"")
        payload = self.exprs.numeric(self.exprs.value(node.args[0]), node.args[0], "allreduce")
        span = self.exprs.span(op_node)
        op_name = ast.Name(span=span, ident=op_node.value)
        call = self._builtin(ast.Builtin.ALLREDUCE,
                             (self.exprs.alone(payload, node.args[0]), op_name), node)
        return PyValue(payload.ty, call, pure=False)

    def _broadcast(self, node: pyast.Call, callee: PyCallable) -> PyValue:
        self._arity(node, 2)
        payload = self.exprs.value(node.args[0])
        root = self._sentron_number(node.args[1], "the root of 'broadcast'")
        call = self._builtin(ast.Builtin.BROADCAST,
                             (self.exprs.alone(payload, node.args[0]), root), node)
        return PyValue(payload.ty, call, pure=False)
