"""Python expressions -> typed phx AST expressions (``PyValue``), Python semantics kept.

Rules (docs/python.md has the full table):
- ``/`` is true division: two integers divide as f64, like Python and numpy.
- ``//`` and ``%`` on integers are floor-based, as in Python: they lower to the
  truncating phx ops plus a sign fix-up, so results equal Python's. On floats they are
  rejected (``math.floor(a / b)`` says what is meant).
- Operations on weak constants only are evaluated by Python at compile time.
- A constant negative index ``x[-1]`` counts from the end; a computed negative index is
  out of range (no wraparound at run time).
"""

from __future__ import annotations

import ast as pyast
import copy
import operator
from collections.abc import Callable

from phextcc.frontend import ast
from phextcc.frontend.python_globals import is_constant, lookup_callable, missing
from phextcc.frontend.python_scope import FunctionScope, Unsupported
from phextcc.frontend.python_types import (
    DTYPE_TYPES,
    PyConstant,
    PyValue,
    fits,
    materialize,
    result_type,
    weak_constant,
)
from phextcc.frontend.types import BOOL, F64, I64, ScalarType

# Python operator node -> (phx op, Python function used to fold weak constants)
_ARITHMETIC: dict[type, tuple[ast.BinaryOp, Callable[[object, object], object]]] = {
    pyast.Add: (ast.BinaryOp.ADD, operator.add),
    pyast.Sub: (ast.BinaryOp.SUB, operator.sub),
    pyast.Mult: (ast.BinaryOp.MUL, operator.mul),
}
_BITWISE: dict[type, tuple[ast.Builtin, Callable[[object, object], object]]] = {
    pyast.BitAnd: (ast.Builtin.BITAND, operator.and_),
    pyast.BitOr: (ast.Builtin.BITOR, operator.or_),
    pyast.BitXor: (ast.Builtin.XOR, operator.xor),
    pyast.LShift: (ast.Builtin.SHL, operator.lshift),
    pyast.RShift: (ast.Builtin.SHR, operator.rshift),
}
_COMPARISONS: dict[type, tuple[ast.BinaryOp, Callable[[object, object], object]]] = {
    pyast.Eq: (ast.BinaryOp.EQ, operator.eq), pyast.NotEq: (ast.BinaryOp.NE, operator.ne),
    pyast.Lt: (ast.BinaryOp.LT, operator.lt), pyast.LtE: (ast.BinaryOp.LE, operator.le),
    pyast.Gt: (ast.BinaryOp.GT, operator.gt), pyast.GtE: (ast.BinaryOp.GE, operator.ge),
}
_FOLDS: dict[type, Callable[[object, object], object]] = {
    pyast.Div: operator.truediv, pyast.FloorDiv: operator.floordiv, pyast.Mod: operator.mod,
    pyast.Pow: operator.pow,
}


def clone(expr: ast.Expr) -> ast.Expr:
    """A fresh copy of an unchecked expression tree (sema annotates nodes in place)."""
    return copy.deepcopy(expr)


def binary(op: ast.BinaryOp, lhs: ast.Expr, rhs: ast.Expr, span: ast.Span) -> ast.Expr:
    return ast.Binary(span=span, op=op, lhs=lhs, rhs=rhs)


def builtin_call(builtin: ast.Builtin, args: tuple[ast.Expr, ...], span: ast.Span) -> ast.Call:
    return ast.Call(span=span, name=builtin.value, name_span=span, builtin=builtin, args=args)


class ExprConverter:
    """Converts the expressions of one function (see the module docstring)."""

    def __init__(self, scope: FunctionScope) -> None:
        from phextcc.frontend.python_calls import CallConverter

        self.scope = scope
        self.calls = CallConverter(self)
        self._handlers: dict[type, Callable[..., PyValue]] = {
            pyast.Constant: self._constant,
            pyast.Name: self._name,
            pyast.BinOp: self._binop,
            pyast.UnaryOp: self._unaryop,
            pyast.BoolOp: self._boolop,
            pyast.Compare: self._compare,
            pyast.IfExp: self._ifexp,
            pyast.Subscript: self._subscript,
            pyast.Attribute: self._attribute,
            pyast.Call: self.calls.call,
        }

    # ---------------------------------------------------------------- entry points

    def span(self, node: pyast.AST) -> ast.Span:
        return self.scope.source.span(node)

    def fail(self, node: pyast.AST, message: str) -> Unsupported:
        return self.scope.fail(node, message)

    def value(self, node: pyast.expr) -> PyValue:
        handler = self._handlers.get(type(node))
        if handler is None:
            raise self.fail(node, f"{_describe_node(node)} is not supported in a kernel")
        return handler(node)

    def expr_as(self, value: PyValue, ty: ScalarType, node: pyast.AST) -> ast.Expr:
        """``value`` as a phx expression of type ``ty``; constants must fit."""
        if value.is_const and value.const is not None and not fits(value.const, ty):
            raise self.fail(node, f"the constant {value.const} does not fit in {ty}")
        return materialize(value, ty, self.span(node))

    def alone(self, value: PyValue, node: pyast.AST) -> ast.Expr:
        """``value`` as an expression of its own type (weak constants: i64/f64/bool)."""
        return self.expr_as(value, value.ty, node)

    def condition(self, node: pyast.expr) -> ast.Expr:
        """A condition (``if``/``while``): numbers are true when non-zero, as in Python."""
        value = self.value(node)
        if value.ty.is_bool:
            return self.alone(value, node)
        if value.is_const:
            return ast.BoolLit(span=self.span(node), value=bool(value.const))
        zero = weak_constant(0)
        return binary(ast.BinaryOp.NE, self.alone(value, node), self.expr_as(zero, value.ty, node),
                      self.span(node))

    def integer(self, node: pyast.expr, what: str) -> PyValue:
        value = self.value(node)
        if not value.ty.is_int:
            raise self.fail(node, f"{what} must be an integer, found {value.ty}")
        return value

    def numeric(self, value: PyValue, node: pyast.AST, what: str) -> PyValue:
        if value.ty.is_bool:
            raise self.fail(node, f"{what} needs a number, found bool (convert with int(...))")
        return value

    def duplicable(self, value: PyValue, node: pyast.AST, what: str) -> None:
        if not value.pure:
            raise self.fail(node, f"{what} evaluates this operand more than once; assign the "
                                  "value to a variable first")

    # ---------------------------------------------------------------- leaves

    def _constant(self, node: pyast.Constant) -> PyValue:
        if isinstance(node.value, (bool, int, float)):
            return weak_constant(node.value)
        raise self.fail(node, f"constants of type {type(node.value).__name__} are not "
                              "supported in a kernel")

    def _name(self, node: pyast.Name) -> PyValue:
        name, scope, span = node.id, self.scope, self.span(node)
        if name in scope.loop_vars:
            return PyValue(I64, ast.Name(span=span, ident=scope.loop_vars[name]))
        if name in scope.locals:
            if name not in scope.assigned:
                raise self.fail(node, _maybe_unassigned(name, scope.first_assignment.get(name)))
            local = scope.locals[name]
            return PyValue(local.ty, ast.Name(span=span, ident=local.ident))
        if name in scope.scalars:
            return PyValue(scope.scalars[name], ast.Name(span=span, ident=name))
        if name in scope.arrays:
            raise self.fail(node, f"array '{name}' cannot be used as a value; index it "
                                  f"({name}[i]) or read its shape ({name}.shape[0])")
        if name in scope.local_names:
            raise self.fail(node, _maybe_unassigned(name, scope.first_assignment.get(name)))
        if name in scope.loop_names:
            raise self.fail(node, f"loop variable '{name}' is only available inside its loop")
        obj = scope.env.lookup(name)
        return self.global_value(obj, name, node)

    def global_value(self, obj: object, name: str, node: pyast.AST) -> PyValue:
        if missing(obj):
            raise self.fail(node, f"name '{name}' is not defined")
        if is_constant(obj):
            return constant_value(obj)
        if lookup_callable(obj) is not None:
            raise self.fail(node, f"'{name}' is a function; it can only be called")
        raise self.fail(node, f"global '{name}' is not a constant (a kernel can read "
                              f"globals that are int, float or bool; it is a "
                              f"{type(obj).__name__})")

    # ---------------------------------------------------------------- operators

    def _binop(self, node: pyast.BinOp) -> PyValue:
        lhs, rhs = self.value(node.left), self.value(node.right)
        kind = type(node.op)
        if lhs.is_const and rhs.is_const and lhs.weak and rhs.weak:
            return self.fold(node, _fold_of(kind), lhs, rhs)
        span = self.span(node)
        self.numeric(lhs, node.left, f"operator {_symbol(node.op)}")
        self.numeric(rhs, node.right, f"operator {_symbol(node.op)}")
        pure = lhs.pure and rhs.pure
        if kind in _ARITHMETIC:
            ty = result_type(lhs, rhs)
            op = _ARITHMETIC[kind][0]
            return PyValue(ty, binary(op, self.expr_as(lhs, ty, node.left),
                                      self.expr_as(rhs, ty, node.right), span), pure=pure)
        if kind is pyast.Div:
            ty = result_type(lhs, rhs)
            ty = ty if ty.is_float else F64  # true division
            return PyValue(ty, binary(ast.BinaryOp.DIV, self.expr_as(lhs, ty, node.left),
                                      self.expr_as(rhs, ty, node.right), span), pure=pure)
        if kind in (pyast.FloorDiv, pyast.Mod):
            return self._floor_division(node, lhs, rhs)
        if kind in _BITWISE:
            ty = result_type(lhs, rhs)
            if not ty.is_int:
                raise self.fail(node, f"operator {_symbol(node.op)} needs integers, found {ty}")
            args = (self.expr_as(lhs, ty, node.left), self.expr_as(rhs, ty, node.right))
            return PyValue(ty, builtin_call(_BITWISE[kind][0], args, span), pure=pure)
        if kind is pyast.Pow:
            return self._power(node, lhs, rhs)
        raise self.fail(node, f"operator {_symbol(node.op)} is not supported in a kernel")

    def fold(self, node: pyast.AST, function: Callable[[object, object], object] | None,
             lhs: PyValue, rhs: PyValue) -> PyValue:
        """Evaluate an operation on two weak constants with Python itself."""
        if function is None:
            raise self.fail(node, "this operator is not supported in a kernel")
        try:
            result = function(lhs.const, rhs.const)
        except (ArithmeticError, ValueError) as exc:
            raise self.fail(node, f"constant expression fails: {exc}") from exc
        if not isinstance(result, (bool, int, float)):
            raise self.fail(node, "constant expression has no kernel type")
        return weak_constant(result)

    def _floor_division(self, node: pyast.BinOp, lhs: PyValue, rhs: PyValue) -> PyValue:
        ty = result_type(lhs, rhs)
        symbol = _symbol(node.op)
        if ty.is_float:
            hint = "use math.floor(a / b)" if isinstance(node.op, pyast.FloorDiv) else \
                "float '%' is not available"
            raise self.fail(node, f"operator {symbol} on floats is not supported ({hint})")
        if rhs.is_const and rhs.const == 0:
            raise self.fail(node.right, "integer division by zero")
        self.duplicable(lhs, node.left, f"'{symbol}' with Python's floor semantics")
        self.duplicable(rhs, node.right, f"'{symbol}' with Python's floor semantics")
        span = self.span(node)

        def a() -> ast.Expr:
            return clone(self.expr_as(lhs, ty, node.left))

        def b() -> ast.Expr:
            return clone(self.expr_as(rhs, ty, node.right))

        def zero() -> ast.Expr:
            return self.expr_as(weak_constant(0), ty, node)

        def remainder() -> ast.Expr:
            return binary(ast.BinaryOp.REM, a(), b(), span)

        # Python's result differs from C's exactly when the remainder is non-zero and
        # its sign differs from the divisor's.
        if rhs.is_const and isinstance(rhs.const, int) and rhs.const > 0:
            adjust: ast.Expr = binary(ast.BinaryOp.LT, remainder(), zero(), span)
        else:
            nonzero = binary(ast.BinaryOp.NE, remainder(), zero(), span)
            signs = binary(ast.BinaryOp.NE, binary(ast.BinaryOp.LT, remainder(), zero(), span),
                           binary(ast.BinaryOp.LT, b(), zero(), span), span)
            adjust = binary(ast.BinaryOp.AND, nonzero, signs, span)
        if isinstance(node.op, pyast.FloorDiv):
            truncated = binary(ast.BinaryOp.DIV, a(), b(), span)
            fixed = binary(ast.BinaryOp.SUB, binary(ast.BinaryOp.DIV, a(), b(), span),
                           self.expr_as(weak_constant(1), ty, node), span)
        else:
            truncated = remainder()
            fixed = binary(ast.BinaryOp.ADD, remainder(), b(), span)
        return PyValue(ty, builtin_call(ast.Builtin.SELECT, (adjust, fixed, truncated), span))

    def _power(self, node: pyast.BinOp, base: PyValue, exponent: PyValue) -> PyValue:
        if not (exponent.is_const and exponent.const == 2 and not isinstance(exponent.const,
                                                                            bool)):
            raise self.fail(node, "'**' is supported only with the constant exponent 2 "
                                  "(write x * x)")
        self.duplicable(base, node.left, "'**'")
        span = self.span(node)
        return PyValue(base.ty, binary(ast.BinaryOp.MUL, clone(self.alone(base, node.left)),
                                  clone(self.alone(base, node.left)), span))

    def _unaryop(self, node: pyast.UnaryOp) -> PyValue:
        operand = self.value(node.operand)
        span = self.span(node)
        if isinstance(node.op, pyast.Not):
            if operand.is_const:
                return weak_constant(not operand.const)
            if not operand.ty.is_bool:
                raise self.fail(node, f"'not' needs a bool, found {operand.ty} (compare "
                                      "explicitly, e.g. x == 0)")
            return PyValue(BOOL, ast.Unary(span=span, op=ast.UnaryOp.NOT, operand=operand.expr),
                           pure=operand.pure)
        self.numeric(operand, node.operand, f"unary {_symbol(node.op)}")
        if isinstance(node.op, pyast.UAdd):
            return operand
        if operand.is_const:
            assert operand.const is not None
            folded = -operand.const if isinstance(node.op, pyast.USub) else None
            if folded is None:
                if not isinstance(operand.const, int):
                    raise self.fail(node, "'~' needs an integer")
                folded = ~operand.const
            return PyValue(operand.ty, const=folded, weak=operand.weak)
        if isinstance(node.op, pyast.USub):
            return PyValue(operand.ty, ast.Unary(span=span, op=ast.UnaryOp.NEG,
                                                 operand=operand.expr), pure=operand.pure)
        if not operand.ty.is_int:
            raise self.fail(node, f"'~' needs an integer, found {operand.ty}")
        ones = self.expr_as(weak_constant(-1), operand.ty, node)
        return PyValue(operand.ty, builtin_call(ast.Builtin.XOR, (operand.expr, ones), span),
                       pure=operand.pure)

    def _boolop(self, node: pyast.BoolOp) -> PyValue:
        op = ast.BinaryOp.AND if isinstance(node.op, pyast.And) else ast.BinaryOp.OR
        values = [self.value(v) for v in node.values]
        for value, source in zip(values, node.values):
            if not value.ty.is_bool:
                raise self.fail(source, f"'{op.value}' needs bool operands, found "
                                        f"{value.ty} (compare explicitly, e.g. x != 0)")
        result = self.alone(values[0], node.values[0])
        for value, source in zip(values[1:], node.values[1:]):
            result = binary(op, result, self.alone(value, source), self.span(node))
        return PyValue(BOOL, result, pure=all(v.pure for v in values))

    def _compare(self, node: pyast.Compare) -> PyValue:
        operands = [node.left, *node.comparators]
        values = [self.value(v) for v in operands]
        if len(values) > 2:  # a < b < c is a < b and b < c, b evaluated once in Python
            for value, source in zip(values[1:-1], operands[1:-1]):
                self.duplicable(value, source, "a chained comparison")
        parts: list[ast.Expr] = []
        for op, (lhs, left), (rhs, right) in zip(node.ops, zip(values, operands),
                                                 zip(values[1:], operands[1:])):
            if type(op) not in _COMPARISONS:
                raise self.fail(node, f"comparison {_symbol(op)} is not supported in a kernel")
            parts.append(self._compare_pair(node, _COMPARISONS[type(op)][0], lhs, left,
                                            rhs, right))
        result = parts[0]
        for part in parts[1:]:
            result = binary(ast.BinaryOp.AND, result, part, self.span(node))
        return PyValue(BOOL, result, pure=all(v.pure for v in values))

    def _compare_pair(self, node: pyast.AST, op: ast.BinaryOp, lhs: PyValue, left: pyast.AST,
                      rhs: PyValue, right: pyast.AST) -> ast.Expr:
        if lhs.ty.is_bool or rhs.ty.is_bool:
            if not (lhs.ty.is_bool and rhs.ty.is_bool and op in (ast.BinaryOp.EQ,
                                                                 ast.BinaryOp.NE)):
                raise self.fail(node, f"cannot compare {lhs.ty} with {rhs.ty} using "
                                      f"'{op.value}'")
            ty = BOOL
        else:
            ty = result_type(lhs, rhs)
        return binary(op, clone(self.expr_as(lhs, ty, left)), clone(self.expr_as(rhs, ty, right)),
                      self.span(node))

    def _ifexp(self, node: pyast.IfExp) -> PyValue:
        cond = self.condition(node.test)
        body, orelse = self.value(node.body), self.value(node.orelse)
        for value, source in ((body, node.body), (orelse, node.orelse)):
            self.duplicable(value, source, "'x if c else y' (both sides are evaluated)")
        if body.ty.is_bool != orelse.ty.is_bool:
            raise self.fail(node, f"both sides of 'if/else' must have one kind, found "
                                  f"{body.ty} and {orelse.ty}")
        ty = BOOL if body.ty.is_bool else result_type(body, orelse)
        args = (cond, self.expr_as(body, ty, node.body), self.expr_as(orelse, ty, node.orelse))
        return PyValue(ty, builtin_call(ast.Builtin.SELECT, args, self.span(node)))

    # ---------------------------------------------------------------- arrays

    def array_of(self, node: pyast.expr) -> str:
        if isinstance(node, pyast.Name) and node.id in self.scope.arrays:
            return node.id
        if isinstance(node, pyast.Subscript) and isinstance(node.value, pyast.Name) and \
                node.value.id in self.scope.arrays:
            raise self.fail(node, f"index every axis at once: {node.value.id}[i, j], not "
                                  f"{node.value.id}[i][j]")
        self.value(node)  # reports unsupported constructs and non-constant globals first
        raise self.fail(node, f"'{pyast.unparse(node)}' is not an array argument; only array "
                              "arguments of the kernel can be indexed")

    def element(self, node: pyast.Subscript) -> tuple[str, ast.Index]:
        """The array element ``node`` designates (a load or a store target)."""
        name = self.array_of(node.value)
        array = self.scope.arrays[name]
        indices = list(node.slice.elts) if isinstance(node.slice, pyast.Tuple) else [node.slice]
        if any(isinstance(i, pyast.Slice) for i in indices):
            raise self.fail(node, "slices are not supported in a kernel; loop over the "
                                  "elements")
        if len(indices) != array.rank:
            raise self.fail(node, f"array '{name}' has {array.rank} dimension(s) but "
                                  f"{len(indices)} index(es) were given (whole rows are not "
                                  "supported)")
        exprs = tuple(self._index(index, array.symbols[axis], name)
                      for axis, index in enumerate(indices))
        span = self.span(node)
        return name, ast.Index(span=span, tensor=ast.Name(span=self.span(node.value), ident=name),
                               indices=exprs)

    def _index(self, node: pyast.expr, symbol: str, array: str) -> ast.Expr:
        value = self.integer(node, f"an index of '{array}'")
        if value.is_const and isinstance(value.const, int) and value.const < 0:
            span = self.span(node)  # x[-k] is x[len - k], as in Python
            return binary(ast.BinaryOp.SUB, ast.Name(span=span, ident=symbol),
                          self.expr_as(weak_constant(-value.const), I64, node), span)
        return self.expr_as(value, I64 if value.is_const else value.ty, node)

    def _subscript(self, node: pyast.Subscript) -> PyValue:
        base = node.value
        if isinstance(base, pyast.Attribute) and base.attr == "shape":
            name = self.array_of(base.value)
            axis = self.value(node.slice)
            rank = self.scope.arrays[name].rank
            if not (axis.is_const and isinstance(axis.const, int) and -rank <= axis.const < rank):
                raise self.fail(node.slice, f"'{name}.shape' needs a constant axis in "
                                            f"{-rank}..{rank - 1}")
            symbol = self.scope.arrays[name].symbols[axis.const]
            return PyValue(I64, ast.Name(span=self.span(node), ident=symbol))
        name, index = self.element(node)
        return PyValue(self.scope.arrays[name].elem, index)

    def _attribute(self, node: pyast.Attribute) -> PyValue:
        if isinstance(node.value, pyast.Name) and node.value.id in self.scope.arrays:
            array = self.scope.arrays[node.value.id]
            if node.attr == "ndim":
                return weak_constant(array.rank)
            if node.attr == "size":
                span = self.span(node)
                size: ast.Expr = ast.Name(span=span, ident=array.symbols[0])
                for symbol in array.symbols[1:]:
                    size = binary(ast.BinaryOp.MUL, size, ast.Name(span=span, ident=symbol), span)
                return PyValue(I64, size)
            raise self.fail(node, f"'{node.value.id}.{node.attr}' is not supported (use "
                                  f"{node.value.id}.shape[k], .ndim or .size)")
        obj = self.resolve_attribute(node)
        return self.global_value(obj, pyast.unparse(node), node)

    def resolve_attribute(self, node: pyast.expr) -> object:
        """The object a dotted name (``np.float32``, ``math.pi``) refers to."""
        if isinstance(node, pyast.Name):
            if node.id in self.scope.locals or node.id in self.scope.scalars or \
                    node.id in self.scope.loop_vars:
                raise self.fail(node, f"'{node.id}' has no attributes in a kernel")
            obj = self.scope.env.lookup(node.id)
            if missing(obj):
                raise self.fail(node, f"name '{node.id}' is not defined")
            return obj
        if isinstance(node, pyast.Attribute):
            owner = self.resolve_attribute(node.value)
            if not isinstance(owner, type) and type(owner).__name__ != "module":
                raise self.fail(node, f"attribute '{node.attr}' of a {type(owner).__name__} "
                                      "is not supported in a kernel")
            try:
                return getattr(owner, node.attr)
            except AttributeError as exc:
                raise self.fail(node, f"'{pyast.unparse(node.value)}' has no attribute "
                                      f"'{node.attr}'") from exc
        raise self.fail(node, f"{_describe_node(node)} is not supported in a kernel")


def constant_value(obj: object) -> PyValue:
    """A global constant: Python scalars are weak, numpy scalars keep their dtype."""
    if isinstance(obj, (bool, int, float)):
        return weak_constant(obj)
    dtype = getattr(obj, "dtype", None)
    ty = DTYPE_TYPES.get(str(dtype))
    item: PyConstant = obj.item()  # type: ignore[attr-defined]
    if ty is None:  # other numpy widths behave like the Python value
        return weak_constant(item)
    return PyValue(ty, const=item, weak=False)


def _fold_of(kind: type) -> Callable[[object, object], object] | None:
    if kind in _ARITHMETIC:
        return _ARITHMETIC[kind][1]
    if kind in _BITWISE:
        return _BITWISE[kind][1]
    return _FOLDS.get(kind)


def _maybe_unassigned(name: str, first: ast.Span | None) -> str:
    where = f" (first assigned at line {first.line}, inside a branch or loop)" if first else ""
    return (f"variable '{name}' may be used before it is assigned{where}; assign it on "
            "every path before this use")


_SYMBOLS: dict[type, str] = {
    pyast.Add: "'+'", pyast.Sub: "'-'", pyast.Mult: "'*'", pyast.Div: "'/'",
    pyast.FloorDiv: "'//'", pyast.Mod: "'%'", pyast.Pow: "'**'", pyast.MatMult: "'@'",
    pyast.BitAnd: "'&'", pyast.BitOr: "'|'", pyast.BitXor: "'^'", pyast.LShift: "'<<'",
    pyast.RShift: "'>>'", pyast.USub: "'-'", pyast.UAdd: "'+'", pyast.Invert: "'~'",
    pyast.Is: "'is'", pyast.IsNot: "'is not'", pyast.In: "'in'", pyast.NotIn: "'not in'",
}


def _symbol(op: pyast.AST) -> str:
    return _SYMBOLS.get(type(op), type(op).__name__)


_NODE_NAMES: dict[type, str] = {
    pyast.ListComp: "a list comprehension", pyast.SetComp: "a set comprehension",
    pyast.DictComp: "a dict comprehension", pyast.GeneratorExp: "a generator expression",
    pyast.Lambda: "a lambda", pyast.List: "a list", pyast.Tuple: "a tuple",
    pyast.Dict: "a dict", pyast.Set: "a set", pyast.JoinedStr: "an f-string",
    pyast.Starred: "'*' unpacking", pyast.NamedExpr: "':='", pyast.Await: "'await'",
    pyast.Yield: "'yield'", pyast.YieldFrom: "'yield from'", pyast.Slice: "a slice",
}


def _describe_node(node: pyast.AST) -> str:
    return _NODE_NAMES.get(type(node), f"'{type(node).__name__}' expression")
