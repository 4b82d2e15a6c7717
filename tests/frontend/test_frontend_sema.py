"""Semantic analysis of valid programs: resolved names, types, shape symbols."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from phextcc.frontend import ast, check_source
from phextcc.frontend.types import BOOL, F32, F64, I32, I64, VOID, ErrorType, TensorType
from tests.frontend.frontend_programs import CORE_PROGRAMS, EVERY_CONSTRUCT

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.phx"))


def _nodes(node: object) -> Iterator[object]:
    yield node
    if isinstance(node, tuple):
        for item in node:
            yield from _nodes(item)
    elif isinstance(node, ast.Node):
        for f in dataclasses.fields(node):
            if f.name not in ("decl", "span", "name_span", "ty", "param"):
                yield from _nodes(getattr(node, f.name))


def _evaluated_exprs(program: ast.Program) -> Iterator[ast.Expr]:
    """Every expression the lowering evaluates (not the op name of ``allreduce``)."""
    reduce_ops = {
        id(n.args[1]) for n in _nodes(program)
        if isinstance(n, ast.Call) and n.builtin is ast.Builtin.ALLREDUCE
    }
    for node in _nodes(program):
        if isinstance(node, ast.Expr) and id(node) not in reduce_ops:
            yield node


def _single_kernel(body: str, params: str = "a: i32, n: i64, f: f32, x: f32[N]") -> ast.Kernel:
    return check_source(f"kernel k({params}) {{\n{body}\n}}\n", "t.phx").kernels[0]


def _let_types(kernel: ast.Kernel) -> dict[str, object]:
    return {s.name: s.ty for s in _nodes(kernel.body) if isinstance(s, (ast.Let, ast.Var))}


@pytest.mark.parametrize("source", [CORE_PROGRAMS, EVERY_CONSTRUCT])
def test_every_expression_is_typed_and_every_name_resolved(source: str) -> None:
    typed = check_source(source, "all.phx")
    for expr in _evaluated_exprs(typed.program):
        assert expr.ty is not None and not isinstance(expr.ty, ErrorType), expr
        if isinstance(expr, ast.Name):
            assert expr.decl is not None and expr.decl.name == expr.ident


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_check_without_errors(path: Path) -> None:
    typed = check_source(path.read_text(), str(path))
    assert typed.kernels


@pytest.mark.parametrize(
    ("body", "name", "expected"),
    [
        ("let v = 1;", "v", I64),
        ("let v = 1.0;", "v", F64),
        ("let v = 1 + 2.5;", "v", F64),
        ("let v = a + 1;", "v", I32),
        ("let v = 1 + a;", "v", I32),
        ("let v = 2 * f;", "v", F32),  # an integer literal may become a float
        ("let v = f * 0.5;", "v", F32),
        ("let v: f32 = 1;", "v", F32),
        ("let v: f32 = 2.0 * 3.0;", "v", F32),
        ("let v: i32 = -2147483648;", "v", I32),
        ("let v = -9223372036854775808;", "v", I64),
        ("let v = a < 3;", "v", BOOL),
        ("let v = N;", "v", I64),
        ("let v = x[a];", "v", F32),
        ("let v = x[n + 1];", "v", F32),
        ("let v = f32(n);", "v", F32),
        ("let v = i64(a < 3);", "v", I64),  # bool converts to 0 or 1
        ("let v = f64(true);", "v", F64),
        ("let v = i32(2.7);", "v", I32),
        ("let v = min(f, 1.0);", "v", F32),
        ("let v = select(a > 0, 1, a);", "v", I32),
        ("let v = sentron_id();", "v", I64),
        ("let v = recv<i32>(0);", "v", I32),
        ("let v = broadcast(f, 0);", "v", F32),
        ("let v = allreduce(a, max);", "v", I32),
        ("let v = popcount(xor(a, 0x0f));", "v", I32),
        ("var v = 0.0;", "v", F64),
    ],
)
def test_binding_types(body: str, name: str, expected: object) -> None:
    assert _let_types(_single_kernel(body))[name] == expected


def test_literals_take_the_type_of_their_context() -> None:
    kernel = _single_kernel("var s: f32 = 0.0; s += 2; x[0] = 1; let c = a * 3;")
    literals = [n for n in _nodes(kernel.body) if isinstance(n, (ast.IntLit, ast.FloatLit))]
    assert [(type(lit).__name__, lit.ty) for lit in literals] == [
        ("FloatLit", F32), ("IntLit", F32), ("IntLit", I64), ("IntLit", F32), ("IntLit", I32),
    ]


def test_names_resolve_to_their_declarations() -> None:
    kernel = _single_kernel(
        "let c = a;\nvar acc = 0.0;\nfor i in 0..N { acc += f64(x[i]) + f64(c); }"
    )
    let, var, loop = kernel.body.stmts
    assert isinstance(let, ast.Let) and isinstance(var, ast.Var) and isinstance(loop, ast.For)
    names = {n.ident: n.decl for n in _nodes(kernel.body) if isinstance(n, ast.Name)}
    assert names["a"] is kernel.params[0]
    assert names["c"] is let
    assert names["acc"] is var
    assert names["i"] is loop.var
    assert names["x"] is kernel.params[3]
    assert names["N"] is kernel.symbols[0]


def test_sequential_scopes_may_reuse_a_name() -> None:
    kernel = _single_kernel("for i in 0..N { let t = i; }\nfor i in 0..N { let t = i * 2; }")
    first, second = kernel.body.stmts
    assert isinstance(first, ast.For) and isinstance(second, ast.For)
    uses = [n for n in _nodes(second.body) if isinstance(n, ast.Name) and n.ident == "i"]
    assert uses and all(u.decl is second.var for u in uses)


def test_shape_symbols_in_order_of_first_use() -> None:
    kernel = check_source(
        "kernel k(s: f32, a: f32[M, K], b: f32[K, N], out: f32[M, N]) { }", "t.phx"
    ).kernels[0]
    symbols = [(sym.name, sym.index, sym.param.name, sym.axis) for sym in kernel.symbols]
    assert symbols == [("M", 0, "a", 0), ("K", 1, "a", 1), ("N", 2, "b", 1)]
    assert all(sym.ty == I64 for sym in kernel.symbols)
    assert kernel.params[2].ty == TensorType(F32, ("K", "N"))


def test_allreduce_op_and_effect_calls() -> None:
    kernel = _single_kernel("let t = allreduce(f, sum); send(0, t); barrier();")
    reduce = kernel.body.stmts[0].value
    assert isinstance(reduce, ast.Call) and reduce.reduce_op is ast.ReduceOp.SUM
    send, barrier = kernel.body.stmts[1:]
    assert isinstance(send, ast.ExprStmt) and send.expr.ty == VOID
    assert isinstance(barrier, ast.ExprStmt) and barrier.expr.ty == VOID


def test_convert_literal_operand_uses_target_precision() -> None:
    kernel = _single_kernel("let v = f32(0.1); let w = i64(2.5);")
    first, second = (s.value for s in kernel.body.stmts)
    assert isinstance(first, ast.Convert) and first.operand.ty == F32
    assert isinstance(second, ast.Convert) and second.operand.ty == F64


def test_typed_program_lookup() -> None:
    typed = check_source(CORE_PROGRAMS, "core.phx")
    assert typed.kernel("dot").name == "dot"
    assert typed.file == "core.phx" and typed.source == CORE_PROGRAMS
    with pytest.raises(KeyError):
        typed.kernel("missing")
