"""Every AST node kind, operator and builtin the frontend can produce has a lowering,
so a frontend addition without a lowering rule fails here, not in a user's program."""

from __future__ import annotations

import inspect

from phextcc.frontend import ast
from phextcc.ir import lower_expr, lowering


def _concrete_subclasses(base: type) -> set[type]:
    return {cls for _, cls in inspect.getmembers(ast, inspect.isclass)
            if issubclass(cls, base) and cls is not base}


def test_every_expression_kind_has_a_handler() -> None:
    assert _concrete_subclasses(ast.Expr) <= set(lower_expr.EXPR_HANDLERS)


def test_every_statement_kind_has_a_handler() -> None:
    handled = set(lowering.STMT_HANDLERS) | {ast.Return}  # return is structurised in place
    assert _concrete_subclasses(ast.Stmt) <= handled


def test_every_builtin_has_a_lowering() -> None:
    lowered = (set(lower_expr.CALL_HANDLERS) | set(lower_expr.FLOAT_MATH)
               | {builtin for builtin, _ in lower_expr.KIND_BUILTINS})
    assert set(ast.Builtin) == lowered


def test_every_binary_operator_has_int_and_float_rules() -> None:
    for op in ast.ARITHMETIC_OPS | ast.COMPARISON_OPS:
        assert (op, "int") in lower_expr.BINARY_OPS, op
        if op is not ast.BinaryOp.REM:  # sema rejects % on floats
            assert (op, "float") in lower_expr.BINARY_OPS, op
    for op in ast.COMPARISON_OPS:
        assert (op, "bool") in lower_expr.BINARY_OPS, op
    for compound in ast.COMPOUND_ASSIGN_OPS.values():
        assert (compound, "int") in lower_expr.BINARY_OPS
