"""Type checking and name resolution of expressions.

Literal typing (see docs/language.md): an operator's or uniform builtin's operands
must all have one type. Operands made only of literals (``2``, ``-1.5``, ``2 * 3``) take
the type of the other operands; when every operand is such a literal they take the type
the context wants (an annotation, an assignment target, an index), else ``i64`` for
integers and ``f64`` as soon as a float literal is involved. An integer literal may
become a float type (its value converts to the nearest float); a float literal never
becomes an integer type.

Every check returns a type; after reporting an error it returns ``ERROR``, which every
rule accepts silently, so one mistake produces one message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from phextcc.frontend import ast
from phextcc.frontend.builtin_signatures import CATEGORY_TEST, SIGNATURES
from phextcc.frontend.scopes import DiagnosticSink, ScopeStack, describe_decl, did_you_mean
from phextcc.frontend.types import (
    BOOL,
    ERROR,
    F32,
    F64,
    I32,
    I64,
    INT_RANGES,
    VOID,
    ScalarType,
    TensorType,
    Type,
)


class LiteralShapes:
    """Which expressions are literal-only, and which contain a float literal.

    Memoised per node: the checker asks at every level of a long ``1 + 2 + ...`` chain,
    which would otherwise cost quadratic time.
    """

    def __init__(self) -> None:
        self._memo: dict[ast.Expr, tuple[bool, bool]] = {}

    def is_literal_only(self, expr: ast.Expr) -> bool:
        """Literals combined by arithmetic: such an expression adopts its context's type."""
        return self._shape(expr)[0]

    def has_float_literal(self, expr: ast.Expr) -> bool:
        return self._shape(expr)[1]

    def _shape(self, expr: ast.Expr) -> tuple[bool, bool]:
        known = self._memo.get(expr)
        if known is not None:
            return known
        shape: tuple[bool, bool]
        match expr:
            case ast.IntLit():
                shape = (True, False)
            case ast.FloatLit():
                shape = (True, True)
            case ast.Unary(op=ast.UnaryOp.NEG, operand=operand):
                shape = self._shape(operand)
            case ast.Binary(op=op, lhs=lhs, rhs=rhs) if op in ast.ARITHMETIC_OPS:
                (lhs_literal, lhs_float), (rhs_literal, rhs_float) = (
                    self._shape(lhs), self._shape(rhs))
                shape = (lhs_literal and rhs_literal, lhs_float or rhs_float)
            case _:
                shape = (False, False)
        self._memo[expr] = shape
        return shape


def constant_int(expr: ast.Expr) -> int | None:
    """The value of an integer literal, possibly negated; None for anything else."""
    match expr:
        case ast.IntLit(value=value):
            return value
        case ast.Unary(op=ast.UnaryOp.NEG, operand=operand):
            inner = constant_int(operand)
            return None if inner is None else -inner
    return None


def _scalar(ty: Type) -> ScalarType | None:
    return ty if isinstance(ty, ScalarType) else None


#: Conversion suggested when numeric types meet, widest first.
_WIDENING_ORDER = (F64, F32, I64, I32)


def _conversion_hint(types: Sequence[Type]) -> str:
    if not all(isinstance(t, ScalarType) and t.is_numeric for t in types):
        return ""
    widest = next(t for t in _WIDENING_ORDER if t in types)
    return f"; convert explicitly, e.g. {widest}(...)"


class ExprChecker:
    """Resolves names and types every expression of one kernel (fills ``ty``/``decl``)."""

    def __init__(self, scopes: ScopeStack, sink: DiagnosticSink) -> None:
        self.scopes = scopes
        self.sink = sink
        self.literals = LiteralShapes()
        self._handlers: dict[type, Callable[..., Type]] = {
            ast.IntLit: self._int_lit,
            ast.FloatLit: self._float_lit,
            ast.BoolLit: lambda expr, hint: BOOL,
            ast.Name: self._name,
            ast.Unary: self._unary,
            ast.Binary: self._binary,
            ast.Index: self._index,
            ast.Call: self._call,
            ast.Convert: self._convert,
        }
        self._special_builtins: dict[ast.Builtin, Callable[[ast.Call, Type | None], Type]] = {
            ast.Builtin.SEND: self._send,
            ast.Builtin.RECV: self._recv,
            ast.Builtin.ALLREDUCE: self._allreduce,
            ast.Builtin.BROADCAST: self._broadcast,
        }

    # ---------------------------------------------------------------- entry points

    def check(self, expr: ast.Expr, hint: Type | None) -> Type:
        """Type ``expr`` (``hint``: the type the context would like); may be VOID."""
        ty = self._handlers[type(expr)](expr, hint)
        expr.ty = ty
        return ty

    def value(self, expr: ast.Expr, hint: Type | None) -> Type:
        """Type ``expr`` where a value is needed (a call returning nothing is an error)."""
        ty = self.check(expr, hint)
        if ty == VOID:
            assert isinstance(expr, ast.Call)
            self.sink.error(expr.span, f"'{expr.name}' does not return a value")
            expr.ty = ERROR
            return ERROR
        return ty

    def expect(self, expr: ast.Expr, expected: ScalarType, what: str) -> Type:
        """Type ``expr`` and report it unless it is exactly ``expected``."""
        ty = self.value(expr, expected)
        if ty != ERROR and ty != expected:
            self.sink.error(expr.span, f"{what} must be {expected}, found {ty}")
            return ERROR
        return ty

    def expect_int(self, expr: ast.Expr, what: str) -> Type:
        """Type ``expr`` and report it unless it is an integer (i32 or i64)."""
        ty = self.value(expr, I64)
        scalar = _scalar(ty)
        if scalar is not None and not scalar.is_int:
            self.sink.error(expr.span, f"{what} must be an integer (i32 or i64), found {ty}")
            return ERROR
        return ty

    def unify(self, operands: Sequence[ast.Expr], hint: Type | None, what: str) -> Type:
        """The one type all ``operands`` share (literals adapting), or ERROR."""
        fixed = [e for e in operands if not self.literals.is_literal_only(e)]
        flexible = [e for e in operands if self.literals.is_literal_only(e)]
        types: list[Type] = [self.value(e, hint) for e in fixed]
        scalars = [t for t in types if isinstance(t, ScalarType)]
        hint_scalar = _scalar(hint) if hint is not None else None
        if scalars:
            common: ScalarType = scalars[0]
        elif hint_scalar is not None and hint_scalar.is_numeric:
            common = hint_scalar
        else:
            common = F64 if any(map(self.literals.has_float_literal, flexible)) else I64
        types += [self.value(e, common) for e in flexible]
        if ERROR in types:
            return ERROR
        distinct = list(dict.fromkeys(types))
        if len(distinct) > 1:
            span = ast.Span(operands[0].span.file, operands[0].span.line, operands[0].span.col,
                            operands[-1].span.end_line, operands[-1].span.end_col)
            self.sink.error(span, f"mismatched types in {what}: "
                                  + " and ".join(str(t) for t in distinct)
                                  + _conversion_hint(distinct))
            return ERROR
        return common

    # ---------------------------------------------------------------- literals and names

    def _int_literal_type(self, value: int, hint: Type | None, span: ast.Span) -> Type:
        """The type of an integer literal of (signed) ``value`` in context ``hint``."""
        target = _scalar(hint) if hint is not None else None
        if target is not None and target.is_float:
            return target
        ty = target if target is not None and target.is_int else I64
        low, high = INT_RANGES[ty]
        if not low <= value <= high:
            self.sink.error(span, f"integer literal {value} does not fit in {ty}")
            return ERROR
        return ty

    def _int_lit(self, expr: ast.IntLit, hint: Type | None) -> Type:
        return self._int_literal_type(expr.value, hint, expr.span)

    def _float_lit(self, expr: ast.FloatLit, hint: Type | None) -> Type:
        target = _scalar(hint) if hint is not None else None
        if target is not None and target.is_int:
            self.sink.error(expr.span, f"float literal {expr.value!r} cannot have integer "
                                       f"type {target}")
            return ERROR
        return target if target is not None and target.is_float else F64

    def _name(self, expr: ast.Name, hint: Type | None) -> Type:
        decl = self.resolve(expr)
        if decl is None:
            return ERROR
        if isinstance(decl.ty, TensorType):
            self.sink.error(expr.span, f"tensor '{expr.ident}' cannot be used as a value; "
                                       f"index it: {expr.ident}[...]")
            return ERROR
        return decl.ty if decl.ty is not None else ERROR

    def resolve(self, name: ast.Name) -> ast.Decl | None:
        """Fill ``name.decl``; report an unknown identifier."""
        decl = self.scopes.lookup(name.ident)
        if decl is None:
            if name.ident in ast.BUILTINS_BY_NAME:
                message = f"'{name.ident}' is a builtin function; call it: {name.ident}(...)"
            else:
                message = f"unknown identifier '{name.ident}'" + did_you_mean(
                    name.ident, self.scopes.visible_names())
            self.sink.error(name.span, message)
            return None
        name.decl = decl
        return decl

    # ---------------------------------------------------------------- operators

    def _unary(self, expr: ast.Unary, hint: Type | None) -> Type:
        if expr.op is ast.UnaryOp.NOT:
            self.expect(expr.operand, BOOL, "the operand of 'not'")
            return BOOL
        if isinstance(expr.operand, ast.IntLit):  # -9223372036854775808 must fit in i64
            ty = self._int_literal_type(-expr.operand.value, hint, expr.span)
            expr.operand.ty = ty
            return ty
        ty = self.value(expr.operand, hint)
        scalar = _scalar(ty)
        if scalar is not None and not scalar.is_numeric:
            self.sink.error(expr.span, f"unary '-' needs a number, found {ty}")
            return ERROR
        return ty

    def _binary(self, expr: ast.Binary, hint: Type | None) -> Type:
        op = expr.op
        what = f"'{op.value}'"
        if op in ast.LOGICAL_OPS:
            self.expect(expr.lhs, BOOL, f"the left operand of {what}")
            self.expect(expr.rhs, BOOL, f"the right operand of {what}")
            return BOOL
        is_comparison = op in ast.COMPARISON_OPS
        ty = self.unify((expr.lhs, expr.rhs), None if is_comparison else hint, what)
        scalar = _scalar(ty)
        if scalar is None:
            return BOOL if is_comparison else ERROR
        if op in (ast.BinaryOp.EQ, ast.BinaryOp.NE):
            return BOOL
        if not scalar.is_numeric:
            self.sink.error(expr.span, f"operator {what} needs numbers, found {scalar}")
            return BOOL if is_comparison else ERROR
        if is_comparison:
            return BOOL
        if op is ast.BinaryOp.REM and not scalar.is_int:
            self.sink.error(expr.span, f"operator '%' needs integers, found {scalar}")
            return ERROR
        if op in (ast.BinaryOp.DIV, ast.BinaryOp.REM) and scalar.is_int:
            self.check_division_by_zero(expr.rhs)
        return scalar

    def check_division_by_zero(self, divisor: ast.Expr) -> None:
        if constant_int(divisor) == 0:
            self.sink.error(divisor.span, "integer division by zero")

    # ---------------------------------------------------------------- tensors

    def tensor(self, name: ast.Name) -> TensorType | None:
        """Resolve the tensor of an element access (fills its ``decl`` and ``ty``)."""
        decl = self.resolve(name)
        if decl is None:
            return None
        if not isinstance(decl.ty, TensorType):
            of_type = f" of type {decl.ty}" if decl.ty is not None else ""
            self.sink.error(name.span, f"'{name.ident}' is not a tensor (it is "
                                       f"{describe_decl(decl)}{of_type})")
            return None
        name.ty = decl.ty
        return decl.ty

    def _index(self, expr: ast.Index, hint: Type | None) -> Type:
        tensor = self.tensor(expr.tensor)
        for index in expr.indices:
            self.expect_int(index, "an index")
        if tensor is None:
            return ERROR
        if len(expr.indices) != tensor.rank:
            given = len(expr.indices)
            self.sink.error(expr.span, f"tensor '{expr.tensor.ident}' has rank {tensor.rank} "
                                       f"but {given} ind{'ex was' if given == 1 else 'ices were'}"
                                       " given")
            return ERROR
        return tensor.elem

    # ---------------------------------------------------------------- calls

    def _call(self, call: ast.Call, hint: Type | None) -> Type:
        if call.builtin is None:
            self.sink.error(call.name_span, f"unknown function '{call.name}'"
                            + did_you_mean(call.name, ast.BUILTINS_BY_NAME))
            return self._give_up(call)
        signature = SIGNATURES[call.builtin]
        if len(call.args) != signature.arity:
            plural = "" if signature.arity == 1 else "s"
            self.sink.error(call.span, f"'{call.name}' takes {signature.arity} argument"
                                       f"{plural}, {len(call.args)} given")
            return self._give_up(call)
        if signature.special:
            return self._special_builtins[call.builtin](call, hint)
        if signature.operands is None:
            assert signature.result is not None
            return signature.result
        operands = call.args
        if signature.condition_first:
            self.expect(call.args[0], BOOL, f"the condition of '{call.name}'")
            operands = call.args[1:]
        ty = self.unify(operands, hint, f"'{call.name}'")
        scalar = _scalar(ty)
        if scalar is None:
            return ERROR
        if not CATEGORY_TEST[signature.operands](scalar):
            self.sink.error(call.span, f"'{call.name}' needs {signature.operands.value}, "
                                       f"found {scalar}")
            return ERROR
        return signature.result if signature.result is not None else scalar

    def _give_up(self, call: ast.Call) -> Type:
        for arg in call.args:  # still find the errors inside the arguments
            if not (call.builtin is ast.Builtin.ALLREDUCE and isinstance(arg, ast.Name)):
                self.value(arg, None)
        return ERROR

    def _send(self, call: ast.Call, hint: Type | None) -> Type:
        destination, payload = call.args
        self.expect_int(destination, "the destination of 'send'")
        self.value(payload, None)
        return VOID

    def _recv(self, call: ast.Call, hint: Type | None) -> Type:
        self.expect_int(call.args[0], "the source of 'recv'")
        return call.type_arg if call.type_arg is not None else ERROR

    def _allreduce(self, call: ast.Call, hint: Type | None) -> Type:
        payload, op = call.args
        if isinstance(op, ast.Name) and op.ident in {r.value for r in ast.ReduceOp}:
            call.reduce_op = ast.ReduceOp(op.ident)
        else:
            self.sink.error(op.span, "the second argument of 'allreduce' must be sum, max "
                                     "or min")
        ty = self.value(payload, hint)
        scalar = _scalar(ty)
        if scalar is not None and not scalar.is_numeric:
            self.sink.error(payload.span, f"'allreduce' needs a number, found {scalar}")
            return ERROR
        return ty if call.reduce_op is not None else ERROR

    def _broadcast(self, call: ast.Call, hint: Type | None) -> Type:
        payload, root = call.args
        ty = self.value(payload, hint)
        self.expect_int(root, "the root of 'broadcast'")
        return ty

    # ---------------------------------------------------------------- conversions

    def _convert(self, expr: ast.Convert, hint: Type | None) -> Type:
        target = expr.target
        operand = expr.operand
        operand_hint: Type | None = None
        if self.literals.is_literal_only(operand):  # f32(0.1): the f32 nearest to 0.1
            keep = target.is_float or not self.literals.has_float_literal(operand)
            operand_hint = target if keep else F64
        ty = self.value(operand, operand_hint)
        if target.is_bool:  # false/true from a number would hide a comparison
            self.sink.error(expr.span, "cannot convert to bool; compare instead, e.g. x != 0")
            return ERROR
        return target if ty != ERROR else ERROR
