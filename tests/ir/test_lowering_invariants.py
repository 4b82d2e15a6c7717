"""Invariants of the lowering, checked on every example: the IR contract holds."""

from __future__ import annotations

from pathlib import Path

from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    ArrayAttr,
    FileLineColLoc,
    FloatAttr,
    IndexType,
    ModuleOp,
    StringAttr,
    UnitAttr,
)

from phextcc.frontend import check_source
from phextcc.ir.context import parse_ir, print_ir
from phextcc.ir.lowering import lower_program

from .conftest import EXAMPLE_FILES, lower_source

ALLOWED_DIALECTS = {"builtin", "func", "arith", "math", "scf", "phx"}


def _lower_example(path: Path) -> ModuleOp:
    return lower_source(path.read_text(), str(path))


def test_there_are_examples_for_every_benchmark_kernel() -> None:
    names = {path.stem for path in EXAMPLE_FILES}
    assert {"saxpy", "dot", "embedding_bag", "laplacian", "dot_sentrons", "gemm",
            "gemm_tiled", "spmv_csr", "softmax", "poincare", "hdc_similarity",
            "hypergraph_conv", "stream", "ring_allreduce", "dot_allreduce"} <= names


def test_example_starts_with_a_comment_and_lowers(example_path: Path) -> None:
    text = example_path.read_text()
    assert text.startswith("// "), "each example starts with what it computes"
    module = _lower_example(example_path)
    kernels = [op for op in module.body.ops if isinstance(op, func.FuncOp)]
    assert [k.sym_name.data for k in kernels] == [example_path.stem]


def test_only_contract_dialects_and_no_index_type(example_path: Path) -> None:
    module = _lower_example(example_path)
    for op in module.walk():
        assert op.name.split(".")[0] in ALLOWED_DIALECTS, op.name
        types = [v.type for v in (*op.operands, *op.results)]
        types += [arg.type for region in op.regions for block in region.blocks
                  for arg in block.args]
        assert not any(isinstance(t, IndexType) for t in types), op.name


def test_every_op_has_a_source_location(example_path: Path) -> None:
    module = _lower_example(example_path)
    line_count = len(example_path.read_text().splitlines())
    for op in module.walk():
        if isinstance(op, ModuleOp):
            continue
        location = op.location
        assert isinstance(location, FileLineColLoc), op.name
        assert location.filename.data == str(example_path)
        assert 1 <= location.line.data <= line_count


def test_print_parse_print_is_identical(example_path: Path) -> None:
    module = _lower_example(example_path)
    for debuginfo in (False, True):
        text = print_ir(module, debuginfo=debuginfo)
        reparsed = parse_ir(text)
        reparsed.verify()
        assert print_ir(reparsed, debuginfo=debuginfo) == text


def test_kernel_attributes_follow_the_contract() -> None:
    module = lower_source(
        "kernel k(a: f32, t: f32[N, 4], u: i32[M, N], n: i64, b: bool) { }"
    )
    kernel = next(op for op in module.body.ops if isinstance(op, func.FuncOp))
    assert kernel.attributes["phx.kernel"] == UnitAttr()
    assert kernel.attributes["phx.symbols"] == ArrayAttr([StringAttr("N"), StringAttr("M")])
    assert kernel.attributes["phx.param_names"] == ArrayAttr(
        [StringAttr(name) for name in ("a", "t", "u", "n", "b")]
    )
    text = print_ir(module)
    assert ('(%0: f32, %1: !phx.tensor<f32, ["N", 4]>, %2: !phx.tensor<i32, ["M", "N"]>, '
            "%3: i64, %4: i1)") in text
    assert kernel.function_type.outputs.data == ()


def test_several_kernels_in_one_file_keep_their_order() -> None:
    source = "kernel b(x: f32[N]) { }\nkernel a(y: i64[M]) { y[0] = 1; }\n"
    module = lower_program(check_source(source, "two.phx"), "two.phx")
    module.verify()
    assert [op.sym_name.data for op in module.body.ops] == ["b", "a"]  # type: ignore[attr-defined]


def test_float_constants_survive_the_text_form_exactly() -> None:
    module = lower_source("""
kernel k(x: f64[3], y: f32[3]) {
    x[0] = 0.1; x[1] = 3.141592653589793; x[2] = 1e300;
    y[0] = 0.1; y[1] = 1e-45; y[2] = 16777217.0;
}""")
    reparsed = parse_ir(print_ir(module))

    def constants(m: ModuleOp) -> list[float]:
        return [op.value.value.data for op in m.walk()
                if isinstance(op, arith.ConstantOp) and isinstance(op.value, FloatAttr)]

    values = constants(module)
    assert values == constants(reparsed)
    assert values[:3] == [0.1, 3.141592653589793, 1e300]
    assert values[3:] == [0.10000000149011612, 1.401298464324817e-45, 16777216.0]  # f32
