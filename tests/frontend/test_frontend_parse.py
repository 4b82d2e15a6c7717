"""Parsing: every construct is accepted and builds the expected AST."""

from __future__ import annotations

import dataclasses

import pytest
from lark import Tree

from phextcc.diagnostics import CompileError
from phextcc.frontend import ast, check_source, parse
from phextcc.frontend.parser import AstBuilder, lark_parser
from tests.frontend.frontend_programs import CORE_PROGRAMS, EVERY_CONSTRUCT, SAXPY


def _walk(node: object):
    """Every AST node and value reachable from ``node`` (through fields and tuples)."""
    yield node
    if isinstance(node, tuple):
        for item in node:
            yield from _walk(item)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            if f.name in ("decl", "span", "name_span", "ty", "param"):
                continue
            yield from _walk(getattr(node, f.name))


def _kernel_body(statements: str) -> ast.Block:
    program = parse(f"kernel k(a: i32, x: f32[N]) {{ {statements} }}", "t.phx")
    return program.kernels[0].body


def _expr(text: str) -> ast.Expr:
    stmt = _kernel_body(f"let v = {text};").stmts[0]
    assert isinstance(stmt, ast.Let)
    return stmt.value


def _shape(expr: ast.Expr) -> str:
    """A fully parenthesised rendering showing how the parser grouped ``expr``."""
    match expr:
        case ast.Binary(op=op, lhs=lhs, rhs=rhs):
            return f"({_shape(lhs)} {op.value} {_shape(rhs)})"
        case ast.Unary(op=op, operand=operand):
            return f"({op.value} {_shape(operand)})"
        case ast.Name(ident=ident):
            return ident
        case ast.IntLit(value=value) | ast.FloatLit(value=value):
            return repr(value)
        case ast.BoolLit(value=value):
            return "true" if value else "false"
        case ast.Index(tensor=tensor, indices=indices):
            return f"{tensor.ident}[{', '.join(_shape(i) for i in indices)}]"
        case ast.Call(name=name, args=args):
            return f"{name}({', '.join(_shape(a) for a in args)})"
        case ast.Convert(target=target, operand=operand):
            return f"{target}({_shape(operand)})"
    raise AssertionError(expr)


@pytest.mark.parametrize("source", [SAXPY, CORE_PROGRAMS, EVERY_CONSTRUCT])
def test_valid_programs_check(source: str) -> None:
    typed = check_source(source, "ok.phx")
    assert typed.kernels


def test_core_program_kernel_names() -> None:
    typed = check_source(CORE_PROGRAMS, "core.phx")
    assert [k.name for k in typed.kernels] == ["dot", "embedding_bag", "laplacian",
                                               "dot_sentrons"]
    assert typed.kernel("laplacian").params[1].ty.dims == ("H", "W")


def test_every_grammar_rule_has_a_handler() -> None:
    missing = []
    checked = set()
    for rule in lark_parser().rules:
        kept = [s for s in rule.expansion if not getattr(s, "filter_out", False)]
        if rule.options.expand1 and len(kept) == 1 and rule.alias is None:
            continue  # an inlined `?rule` with one child never builds a tree node
        name = rule.alias or rule.origin.name
        if str(name).startswith("_"):
            continue  # Lark's helper rules for `*`/`+` are inlined into their parent
        checked.add(str(name))
        if not callable(getattr(AstBuilder, str(name), None)):
            missing.append(str(name))
    assert missing == []
    assert {"kernel", "binary", "unary", "convert", "recv_call", "int_lit", "assign_op",
            "index", "call", "name", "block", "param_type"} <= checked


def test_no_lark_tree_left_in_the_ast() -> None:
    program = parse(EVERY_CONSTRUCT, "all.phx")
    leftovers = [n for n in _walk(program) if isinstance(n, Tree)]
    assert leftovers == []
    kinds = {type(n) for n in _walk(program)}
    expected = {ast.Let, ast.Var, ast.Assign, ast.For, ast.While, ast.If, ast.Return,
                ast.Prefetch, ast.ExprStmt, ast.IntLit, ast.FloatLit, ast.BoolLit, ast.Name,
                ast.Unary, ast.Binary, ast.Index, ast.Call, ast.Convert, ast.Block}
    assert expected <= kinds


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("1 + 2 * 3", "(1 + (2 * 3))"),
        ("1 * 2 + 3", "((1 * 2) + 3)"),
        ("1 - 2 - 3", "((1 - 2) - 3)"),
        ("8 / 4 / 2", "((8 / 4) / 2)"),
        ("7 % 3 * 2", "((7 % 3) * 2)"),
        ("-a * 2", "((- a) * 2)"),
        ("- -a", "(- (- a))"),
        ("-x[1]", "(- x[1])"),
        ("-sqrt(2.0)", "(- sqrt(2.0))"),
        ("(1 + 2) * 3", "((1 + 2) * 3)"),
        ("a + 1 < a * 2", "((a + 1) < (a * 2))"),
        ("a < 1 and a > 0", "((a < 1) and (a > 0))"),
        ("true or false and true", "(true or (false and true))"),
        ("not true and false", "((not true) and false)"),
        ("not a == 1", "(not (a == 1))"),
        ("not not true", "(not (not true))"),
        ("a == 1 or a != 2 and a <= 3", "((a == 1) or ((a != 2) and (a <= 3)))"),
        ("a >= 1 == true", None),  # comparisons do not chain
        ("x[a + 1, 2]", "x[(a + 1), 2]"),
        ("f32(a) * 2.0", "(f32(a) * 2.0)"),
        ("min(1, 2) + max(3, 4)", "(min(1, 2) + max(3, 4))"),
    ],
)
def test_precedence(text: str, shape: str | None) -> None:
    if shape is None:
        with pytest.raises(CompileError, match="cannot be chained"):
            _expr(text)
    else:
        assert _shape(_expr(text)) == shape


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("42", ast.IntLit, 42),
        ("0x2a", ast.IntLit, 42),
        ("0X2A", ast.IntLit, 42),
        ("0xff_ff", ast.IntLit, 65535),
        ("1_000", ast.IntLit, 1000),
        ("007", ast.IntLit, 7),
        ("1.0", ast.FloatLit, 1.0),
        ("1e-3", ast.FloatLit, 1e-3),
        ("2.5e3", ast.FloatLit, 2500.0),
        ("1E+2", ast.FloatLit, 100.0),
        ("1_000.5", ast.FloatLit, 1000.5),
        ("true", ast.BoolLit, True),
        ("false", ast.BoolLit, False),
    ],
)
def test_literal_forms(text: str, kind: type, value: object) -> None:
    expr = _expr(text)
    assert type(expr) is kind
    assert expr.value == value


def test_range_does_not_lex_as_float() -> None:
    stmt = _kernel_body("for i in 1..N-1 { }").stmts[0]
    assert isinstance(stmt, ast.For)
    assert _shape(stmt.start) == "1"
    assert _shape(stmt.stop) == "(N - 1)"
    assert stmt.step is None


def test_else_if_chain_nests() -> None:
    stmt = _kernel_body("if a > 0 { } else if a < 0 { } else { return; }").stmts[0]
    assert isinstance(stmt, ast.If)
    assert stmt.orelse is not None and isinstance(stmt.orelse.stmts[0], ast.If)
    inner = stmt.orelse.stmts[0]
    assert isinstance(inner.orelse, ast.Block)
    assert isinstance(inner.orelse.stmts[0], ast.Return)


def test_assignment_operators() -> None:
    body = _kernel_body("var v = 1; v = 2; v += 1; v -= 1; v *= 2; v /= 2; x[0] += 1.0;")
    ops = [s.op for s in body.stmts if isinstance(s, ast.Assign)]
    assert ops == list(ast.AssignOp) + [ast.AssignOp.ADD]
    store = body.stmts[-1]
    assert isinstance(store, ast.Assign) and isinstance(store.target, ast.Index)


def test_params_are_numbered_and_typed() -> None:
    kernel = parse("kernel k(a: f32, t: i32[N, 4], b: bool) { }", "t.phx").kernels[0]
    assert [(p.name, p.index) for p in kernel.params] == [("a", 0), ("t", 1), ("b", 2)]
    tensor = kernel.params[1].ty
    assert str(tensor) == "i32[N, 4]"
    assert [s.col for s in kernel.params[1].dim_spans] == [25, 28]


def test_spans_are_one_based_with_exclusive_end() -> None:
    program = parse("kernel k() {\n    let value = 1 + 2;\n}\n", "s.phx")
    let = program.kernels[0].body.stmts[0]
    assert isinstance(let, ast.Let)
    assert (let.span.line, let.span.col) == (2, 5)
    assert (let.name_span.col, let.name_span.end_col) == (9, 14)
    assert (let.value.span.col, let.value.span.end_col) == (17, 22)
    assert let.span.file == "s.phx"


def test_recv_and_allreduce_forms() -> None:
    body = _kernel_body("let r = recv<f64>(0); let t = allreduce(r, max);")
    recv = body.stmts[0].value
    assert isinstance(recv, ast.Call) and recv.builtin is ast.Builtin.RECV
    assert str(recv.type_arg) == "f64"
    reduce = body.stmts[1].value
    assert isinstance(reduce, ast.Call) and reduce.builtin is ast.Builtin.ALLREDUCE


def test_keywords_are_reserved() -> None:
    for word in ("let", "kernel", "step", "recv", "i32", "bool", "prefetch", "true"):
        with pytest.raises(CompileError, match="expected identifier"):
            parse(f"kernel k() {{ let {word} = 1; }}", "t.phx")


def test_reduce_op_names_and_builtins_are_not_reserved() -> None:
    typed = check_source("kernel k() { let sum = 1; let sqrt_ = 2; let kernels = sum; }", "t")
    assert typed.kernels[0].name == "k"
