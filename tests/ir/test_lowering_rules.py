"""What each construct lowers to (the rules of docs/ir.md)."""

from __future__ import annotations

import pytest
from xdsl.dialects import arith, scf
from xdsl.dialects.builtin import FloatAttr, ModuleOp, f32, i1, i32, i64
from xdsl.ir import Operation

from phextcc.diagnostics import CompileError, InternalCompilerError
from phextcc.frontend import ast, check_source
from phextcc.ir import phx_dialect as phx
from phextcc.ir.context import print_ir
from phextcc.ir.lowering import lower_program

from .conftest import lower_source


def ops_of(module: ModuleOp, op_type: type[Operation]) -> list[Operation]:
    return [op for op in module.walk() if isinstance(op, op_type)]


def test_var_in_loop_becomes_iter_arg() -> None:
    module = lower_source("""
kernel k(x: f32[N], out: f32[1]) {
    var acc: f32 = 0.0;
    for i in 0..N { acc += x[i]; }
    out[0] = acc;
}""")
    (loop,) = ops_of(module, scf.ForOp)
    assert [a.type for a in loop.iter_args] == [f32]
    assert loop.lb.type == i64 and loop.step.type == i64
    (store,) = ops_of(module, phx.StoreOp)
    assert store.value is loop.results[0]  # type: ignore[attr-defined]


def test_branch_assignments_become_if_results() -> None:
    module = lower_source("""
kernel k(x: i64[N], out: i64[1]) {
    var a = 1;
    var b = 2;
    if x[0] > 0 { a = 3; } else { b = 4; }
    out[0] = a * b;
}""")
    (branch,) = ops_of(module, scf.IfOp)
    assert [r.type for r in branch.results] == [i64, i64]
    (mul,) = ops_of(module, arith.MuliOp)
    assert list(mul.operands) == list(branch.results)


def test_while_carries_assigned_vars() -> None:
    module = lower_source("""
kernel k(out: i64[1]) {
    var n = 10;
    var steps = 0;
    while n != 1 {
        if n % 2 == 0 { n = n / 2; } else { n = 3 * n + 1; }
        steps += 1;
    }
    out[0] = steps;
}""")
    (loop,) = ops_of(module, scf.WhileOp)
    assert [a.type for a in loop.arguments] == [i64, i64]
    (store,) = ops_of(module, phx.StoreOp)
    assert store.value is loop.results[1]  # type: ignore[attr-defined]


def test_and_or_evaluate_the_right_operand_inside_scf_if() -> None:
    module = lower_source("""
kernel k(x: f32[N], out: i64[1]) {
    let i = 5;
    if i < N and x[i] > 0.0 { out[0] = 1; }
    if i >= N or x[i] > 0.0 { out[0] = 2; }
}""")
    loads = ops_of(module, phx.LoadOp)
    assert len(loads) == 2
    for load in loads:
        parent = load.parent_op()
        assert isinstance(parent, scf.IfOp) and [r.type for r in parent.results] == [i1]
    text = print_ir(module)
    assert "arith.andi" not in text and "arith.ori" not in text


def test_return_in_loop_becomes_while_with_flag() -> None:
    module = lower_source("""
kernel k(x: f32[N], out: i64[1]) {
    for i in 0..N {
        if x[i] < 0.0 { out[0] = i; return; }
    }
    out[0] = -1;
}""")
    assert not ops_of(module, scf.ForOp)
    (loop,) = ops_of(module, scf.WhileOp)
    assert [a.type for a in loop.arguments] == [i64, i1]  # i, returned
    # The store after the loop only runs when the kernel has not returned.
    last_store = ops_of(module, phx.StoreOp)[-1]
    guard = last_store.parent_op()
    assert isinstance(guard, scf.IfOp)
    assert isinstance(guard.cond.owner, arith.XOrIOp)
    assert guard.cond.owner.lhs is loop.results[1]


def test_statements_after_unconditional_return_are_dropped() -> None:
    module = lower_source("""
kernel k(out: i64[1]) {
    out[0] = 1;
    return;
    out[0] = 2;
}""")
    assert len(ops_of(module, phx.StoreOp)) == 1


def test_kernel_without_return_has_no_flag() -> None:
    module = lower_source("kernel k(out: i64[N]) { for i in 0..N { out[i] = i; } }")
    assert not ops_of(module, arith.XOrIOp)
    assert not ops_of(module, scf.IfOp)


def test_runtime_step_is_guarded() -> None:
    module = lower_source("""
kernel k(out: i64[N], s: i64) {
    var total = 0;
    for i in 0..N step s { total += i; }
    out[0] = total;
}""")
    (loop,) = ops_of(module, scf.ForOp)
    guard = loop.parent_op()
    assert isinstance(guard, scf.IfOp) and [r.type for r in guard.results] == [i64]
    compare = guard.cond.owner
    assert isinstance(compare, arith.CmpiOp) and compare.predicate.value.data == 4  # sgt
    assert loop.step is compare.lhs


def test_constant_step_is_used_directly() -> None:
    module = lower_source("kernel k(out: i64[N]) { for i in 1..N step 4 { out[i] = i; } }")
    (loop,) = ops_of(module, scf.ForOp)
    assert loop.parent_op() is not None and not isinstance(loop.parent_op(), scf.IfOp)
    step = loop.step.owner
    assert isinstance(step, arith.ConstantOp) and step.value.value.data == 4


def test_constant_non_positive_step_is_a_user_error() -> None:
    typed = check_source("kernel k(out: i64[N]) { for i in 0..N step 2 { out[i] = i; } }",
                         "s.phx")
    loop = typed.kernels[0].body.stmts[0]
    assert isinstance(loop, ast.For) and isinstance(loop.step, ast.IntLit)
    loop.step.value = 0  # what sema would reject; the lowering must not trust it blindly
    with pytest.raises(CompileError, match="step must be positive"):
        lower_program(typed, "s.phx")


def test_compound_store_is_load_op_store() -> None:
    module = lower_source("kernel k(t: f32[N], i: i64) { t[i + 1] *= 2.0; }")
    (load,) = ops_of(module, phx.LoadOp)
    (mul,) = ops_of(module, arith.MulfOp)
    (store,) = ops_of(module, phx.StoreOp)
    assert mul.lhs is load.result
    assert store.value is mul.result  # type: ignore[attr-defined]
    assert list(store.indices) == list(load.indices)  # indices evaluated once
    assert len(ops_of(module, arith.AddiOp)) == 1


def test_i32_indices_are_sign_extended() -> None:
    module = lower_source("kernel k(t: f32[N], ids: i32[M]) { t[i64(ids[0])] = t[0]; }")
    assert all(index.type == i64 for load in ops_of(module, phx.LoadOp)
               for index in load.indices)  # type: ignore[attr-defined]
    assert len(ops_of(module, arith.ExtSIOp)) == 1


@pytest.mark.parametrize(
    ("expr", "op_type"),
    [
        ("i64(a)", arith.ExtSIOp),
        ("i32(b)", arith.TruncIOp),
        ("f32(a)", arith.SIToFPOp),
        ("i32(x)", arith.FPToSIOp),
        ("f64(x)", arith.ExtFOp),
        ("f32(y)", arith.TruncFOp),
    ],
)
def test_conversions(expr: str, op_type: type[Operation]) -> None:
    module = lower_source(f"""
kernel k(a: i32, b: i64, x: f32, y: f64, out: f64[1]) {{
    let v = {expr};
    out[0] = f64(v);
}}""")
    assert ops_of(module, op_type)


def test_same_type_conversion_emits_nothing() -> None:
    module = lower_source("kernel k(a: i64, out: i64[1]) { out[0] = i64(a); }")
    assert not ops_of(module, arith.ExtSIOp) and not ops_of(module, arith.TruncIOp)


def test_literals_take_their_context_type_and_f32_is_rounded() -> None:
    module = lower_source("kernel k(x: f32[1], n: i32[1]) { x[0] = 0.1; n[0] = n[0] + 7; }")
    constants = ops_of(module, arith.ConstantOp)
    floats = [c.value for c in constants if isinstance(c.value, FloatAttr)]
    assert [f.type for f in floats] == [f32]
    assert floats[0].value.data == pytest.approx(0.1, rel=1e-7) and floats[0].value.data != 0.1
    assert any(c.value.type == i32 and c.value.value.data == 7 for c in constants
               if not isinstance(c.value, FloatAttr))


@pytest.mark.parametrize(
    ("source_expr", "op_name"),
    [
        ("a / b", "arith.divsi"), ("a % b", "arith.remsi"), ("-a", "arith.subi"),
        ("min(a, b)", "arith.minsi"), ("max(a, b)", "arith.maxsi"), ("abs(a)", "math.absi"),
        ("xor(a, b)", "arith.xori"), ("bitand(a, b)", "arith.andi"),
        ("bitor(a, b)", "arith.ori"), ("popcount(a)", "math.ctpop"),
        ("shl(a, b)", "arith.shli"), ("shr(a, b)", "arith.shrsi"),
    ],
)
def test_integer_operations(source_expr: str, op_name: str) -> None:
    module = lower_source(f"kernel k(a: i64, b: i64, out: i64[1]) {{ out[0] = {source_expr}; }}")
    assert op_name in {op.name for op in module.walk()}


@pytest.mark.parametrize(
    ("source_expr", "op_name"),
    [
        ("x / y", "arith.divf"), ("-x", "arith.negf"), ("min(x, y)", "arith.minimumf"),
        ("max(x, y)", "arith.maximumf"), ("abs(x)", "math.absf"), ("sqrt(x)", "math.sqrt"),
        ("exp(x)", "math.exp"), ("log(x)", "math.log"), ("tanh(x)", "math.tanh"),
        ("floor(x)", "math.floor"), ("ceil(x)", "math.ceil"), ("fma(x, y, x)", "math.fma"),
        ("select(x < y, x, y)", "arith.select"),
    ],
)
def test_float_operations(source_expr: str, op_name: str) -> None:
    module = lower_source(f"kernel k(x: f32, y: f32, out: f32[1]) {{ out[0] = {source_expr}; }}")
    assert op_name in {op.name for op in module.walk()}


@pytest.mark.parametrize(
    ("comparison", "predicate"),
    [("==", "oeq"), ("!=", "une"), ("<", "olt"), ("<=", "ole"), (">", "ogt"), (">=", "oge")],
)
def test_float_comparisons_are_ordered_except_ne(comparison: str, predicate: str) -> None:
    module = lower_source(
        f"kernel k(x: f32, y: f32, out: i64[1]) {{ if x {comparison} y {{ out[0] = 1; }} }}"
    )
    assert f"arith.cmpf {predicate}" in print_ir(module)


def test_not_is_xori_with_true() -> None:
    module = lower_source("kernel k(b: bool, out: i64[1]) { if not b { out[0] = 1; } }")
    (xor,) = ops_of(module, arith.XOrIOp)
    constant = xor.rhs.owner
    assert isinstance(constant, arith.ConstantOp)
    assert constant.value.type == i1 and constant.value.value.data != 0  # true


def test_sentron_builtins() -> None:
    module = lower_source("""
kernel k(out: f64[1]) {
    let s = sentron_id();
    let k = num_sentrons();
    send((s + 1) % k, f64(s));
    let v = recv<f64>((s + k - 1) % k);
    barrier();
    let total = allreduce(v, sum);
    let low = allreduce(s, min);
    out[0] = broadcast(total, 0) + f64(low);
}""")
    names = [op.name for op in module.walk()]
    for name in ("phx.sentron_id", "phx.num_sentrons", "phx.send", "phx.recv",
                 "phx.barrier", "phx.allreduce", "phx.broadcast"):
        assert name in names
    reductions = ops_of(module, phx.AllReduceOp)
    assert [r.op.data for r in reductions] == ["sum", "min"]  # type: ignore[attr-defined]
    (recv,) = ops_of(module, phx.RecvOp)
    assert recv.result.type.name == "f64"  # type: ignore[attr-defined]


def test_shape_symbols_become_phx_sym() -> None:
    module = lower_source("kernel k(t: f32[A, B], out: i64[1]) { out[0] = A * B; }")
    assert [op.symbol.data for op in ops_of(module, phx.SymOp)] == ["A", "B"]  # type: ignore


def test_prefetch_lowers_to_phx_prefetch() -> None:
    module = lower_source("kernel k(t: f32[N]) { for i in 0..N { prefetch t[i + 16]; } }")
    (prefetch,) = ops_of(module, phx.PrefetchOp)
    assert len(prefetch.indices) == 1  # type: ignore[attr-defined]


def test_internal_error_names_the_lowering_stage() -> None:
    typed = check_source("kernel k(out: i64[1]) { out[0] = 1; }", "bad.phx")
    store = typed.kernels[0].body.stmts[0]
    assert isinstance(store, ast.Assign)
    store.value.ty = None  # a typed AST that breaks the frontend's contract
    with pytest.raises(InternalCompilerError) as info:
        lower_program(typed, "bad.phx")
    assert info.value.pass_name == "lowering"
    assert info.value.location == "bad.phx:1:34"


def test_unexpected_failure_becomes_an_internal_error_naming_the_kernel() -> None:
    typed = check_source("kernel k(out: i64[1]) { out[0] = 1; }", "bad.phx")
    store = typed.kernels[0].body.stmts[0]
    assert isinstance(store, ast.Assign)
    store.target = ast.IntLit(span=store.span, value=0)  # type: ignore[assignment]
    with pytest.raises(InternalCompilerError) as info:
        lower_program(typed, "bad.phx")
    assert info.value.pass_name == "lowering"
    assert "kernel 'k'" in info.value.message
    assert info.value.location == "bad.phx:1:1"
