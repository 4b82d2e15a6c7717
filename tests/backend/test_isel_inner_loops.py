"""Instruction selection for inner loops: constant index displacements become the
access's immediate offset on a shared SINDEX, compares fuse into DBR, and the rotated
loop's bottom test is one DBR when its increment cannot overflow."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp

from phextcc.backend.isel import select_module
from phextcc.ir.siw_dialect import BranchOp, SiwOp
from tests.backend.backend_helpers import compile_source, kernel, mnemonics, run

VECTOR = '%t: !phx.tensor<f32, ["N"]>'


def _ops(module: ModuleOp) -> list[SiwOp | BranchOp]:
    return [op for op in module.walk() if isinstance(op, SiwOp | BranchOp)]


def _accesses(module: ModuleOp) -> list[tuple[str, tuple[int, ...]]]:
    return [(op.mnemonic.data, op.immediates) for op in _ops(module)
            if isinstance(op, SiwOp) and op.mnemonic.data.startswith(("SGATHER", "SSCATTR",
                                                                       "SPREFCH"))]


def _select(params: str, body: str, symbols: tuple[str, ...] = ("N",)) -> ModuleOp:
    return select_module(kernel("", params, body, symbols))


# --- displacements --------------------------------------------------------------------


def test_unrolled_copies_share_one_sindex_and_lose_their_index_adds() -> None:
    body = "\n".join(
        [f"    %c{k} = arith.constant {k} : i64\n    %j{k} = arith.addi %i, %c{k} : i64\n"
         f"    %v{k} = phx.load %t[%j{k}] {{in_bounds}} : !phx.tensor<f32, [\"N\"]> -> f32"
         for k in range(1, 4)])
    module = _select(f"%i: i64, {VECTOR}", body)
    names = mnemonics(module)
    assert names.count("SINDEX") == 1
    assert "DADDI.i64" not in names and "DMOVI" not in names  # adds and constants died
    assert _accesses(module) == [("SGATHER.f32", (k,)) for k in range(1, 4)]


def test_a_subtracted_constant_is_a_negative_offset() -> None:
    body = ("    %c = arith.constant 1 : i64\n    %j = arith.subi %i, %c : i64\n"
            '    %v = phx.load %t[%j] {in_bounds} : !phx.tensor<f32, ["N"]> -> f32')
    assert _accesses(_select(f"%i: i64, {VECTOR}", body)) == [("SGATHER.f32", (-1,))]


def test_constant_on_the_left_and_nested_sums_fold() -> None:
    body = ("    %c = arith.constant 5 : i64\n    %d = arith.constant 2 : i64\n"
            "    %j = arith.addi %c, %i : i64\n    %k = arith.subi %j, %d : i64\n"
            '    %v = phx.load %t[%k] {in_bounds} : !phx.tensor<f32, ["N"]> -> f32')
    module = _select(f"%i: i64, {VECTOR}", body)
    assert _accesses(module) == [("SGATHER.f32", (3,))]
    names = mnemonics(module)
    assert not {"DADD.i64", "DADDI.i64", "DSUB.i64"} & set(names)


def test_checked_access_keeps_the_add_for_its_bounds_check() -> None:
    body = ("    %c = arith.constant 1 : i64\n    %j = arith.addi %i, %c : i64\n"
            '    %v = phx.load %t[%j] : !phx.tensor<f32, ["N"]> -> f32')
    module = _select(f"%i: i64, {VECTOR}", body)
    ops = _ops(module)
    add = next(op for op in ops if op.mnemonic.data == "DADDI.i64")
    check = next(op for op in ops if op.mnemonic.data == "DCHK")
    assert check.operands[0] is add.results[0]  # DCHK still checks i + 1 itself
    sindex = next(op for op in ops if op.mnemonic.data == "SINDEX")
    assert sindex.operands[1] is not add.results[0]  # the coordinate is formed from i
    assert _accesses(module) == [("SGATHER.f32", (1,))]


def test_row_major_displacement_with_constant_extents() -> None:
    body = ("    %c1 = arith.constant 1 : i64\n    %c2 = arith.constant 2 : i64\n"
            "    %a = arith.addi %i, %c1 : i64\n    %b = arith.addi %j, %c2 : i64\n"
            "    %v = phx.load %t[%a, %b] {in_bounds} : !phx.tensor<f32, [4, 8]> -> f32")
    module = _select("%i: i64, %j: i64, %t: !phx.tensor<f32, [4, 8]>", body, ())
    assert _accesses(module) == [("SGATHER.f32", (1 * 8 + 2,))]


def test_symbolic_stride_keeps_that_axis_displacement_in_the_register() -> None:
    body = ("    %c1 = arith.constant 1 : i64\n    %c2 = arith.constant 2 : i64\n"
            "    %a = arith.addi %i, %c1 : i64\n    %b = arith.addi %j, %c2 : i64\n"
            '    %v = phx.load %t[%a, %b] {in_bounds} : !phx.tensor<f32, [4, "M"]> -> f32')
    module = _select('%i: i64, %j: i64, %t: !phx.tensor<f32, [4, "M"]>', body, ("M",))
    # axis 0's stride is M (unknown): i + 1 stays a register; axis 1's +2 folds
    assert _accesses(module) == [("SGATHER.f32", (2,))]
    names = mnemonics(module)  # i + 1, then (i + 1) * M + j
    assert names.count("DADDI.i64") == 1 and names.count("DADD.i64") == 1


def test_displacement_outside_the_immediate_range_stays_in_the_register() -> None:
    body = ("    %c = arith.constant 4294967296 : i64\n    %j = arith.addi %i, %c : i64\n"
            '    %v = phx.load %t[%j] {in_bounds} : !phx.tensor<f32, ["N"]> -> f32')
    module = _select(f"%i: i64, {VECTOR}", body)
    assert _accesses(module) == [("SGATHER.f32", (0,))]
    assert "DADD.i64" in mnemonics(module)


def test_in_bounds_prefetch_needs_no_guard() -> None:
    body = ("    %c = arith.constant 64 : i64\n    %j = arith.addi %i, %c : i64\n"
            '    phx.prefetch %t[%j] {in_bounds} : !phx.tensor<f32, ["N"]>')
    module = _select(f"%i: i64, {VECTOR}", body)
    names = mnemonics(module)
    assert "DBZ" not in names and "DCMP.i64" not in names
    assert _accesses(module) == [("SPREFCH", (0, 64))]  # hint l1, offset 64


@pytest.mark.parametrize(("attributes", "hint"), [
    ("{in_bounds, level = 1 : i64}", 1), ("{level = 2 : i64}", 2), ("", 0)])
def test_a_prefetch_level_is_the_hint(attributes: str, hint: int) -> None:
    body = f'    phx.prefetch %t[%i] {attributes} : !phx.tensor<f32, ["N"]>'
    module = _select(f"%i: i64, {VECTOR}", body)
    assert _accesses(module) == [("SPREFCH", (hint, 0))]


def test_unused_values_of_the_input_are_kept() -> None:
    # Removing dead code is the IR passes' job; selection removes only what it orphaned.
    module = _select("%a: i64, %b: i64", "    %r = arith.addi %a, %b : i64", ())
    assert mnemonics(module) == ["DARG", "DARG", "DADD.i64"]


# --- fused branches -------------------------------------------------------------------

IF_BODY = """    %p = {compare}
    scf.if %p {{
      phx.store %x, %t[%i] {{in_bounds}} : !phx.tensor<f32, ["N"]>
    }}"""


@pytest.mark.parametrize(("compare", "branch"), [
    ("arith.cmpi slt, %i, %j : i64", "DBR.ge.i64"),
    ("arith.cmpi sge, %i, %j : i64", "DBR.lt.i64"),
    ("arith.cmpi eq, %w, %u : i32", "DBR.ne.i32"),
    ("arith.cmpi sgt, %i, %j : i64", "DBR.le.i64"),
    ("arith.cmpf oeq, %x, %y : f32", "DBR.ne.f32"),
    ("arith.cmpf une, %x, %y : f32", "DBR.eq.f32"),
])
def test_if_on_a_single_use_compare_is_one_dbr_on_the_negated_predicate(
        compare: str, branch: str) -> None:
    params = f"%i: i64, %j: i64, %w: i32, %u: i32, %x: f32, %y: f32, {VECTOR}"
    module = _select(params, IF_BODY.format(compare=compare))
    names = mnemonics(module)
    assert branch in names
    assert not any(n.startswith("DCMP") for n in names) and "DBZ" not in names


@pytest.mark.parametrize("predicate", ["olt", "ole", "ogt", "oge"])
def test_ordered_float_order_compares_do_not_fuse(predicate: str) -> None:
    # not(x < y) is "unordered or >=": no DBR tests that, so DCMP + DBZ stays.
    params = f"%i: i64, %x: f32, %y: f32, {VECTOR}"
    module = _select(params, IF_BODY.format(compare=f"arith.cmpf {predicate}, %x, %y : f32"))
    names = mnemonics(module)
    assert "DCMP.f32" in names and "DBZ" in names


def test_a_compare_with_another_use_is_not_fused() -> None:
    body = IF_BODY.format(compare="arith.cmpi slt, %i, %j : i64") + \
        "\n    %q = arith.extui %p : i1 to i64"
    module = _select(f"%i: i64, %j: i64, %x: f32, {VECTOR}", body)
    names = mnemonics(module)
    assert "DCMP.i64" in names and "DBZ" in names


def test_if_on_a_negated_bool_branches_on_the_bool() -> None:
    body = """    %true = arith.constant true
    %n = arith.xori %b, %true : i1
    scf.if %n {
      phx.store %x, %t[%i] {in_bounds} : !phx.tensor<f32, ["N"]>
    }"""
    module = _select(f"%b: i1, %i: i64, %x: f32, {VECTOR}", body)
    names = mnemonics(module)
    assert "DBNZ" in names and "DXOR.i64" not in names and "DBZ" not in names


def _loop(lb: str, ub: str, step: str) -> str:
    return f"""    %lb = {lb}
    %ub = {ub}
    %st = {step}
    scf.for %i = %lb to %ub step %st : i64 {{
      phx.store %x, %t[%i] {{in_bounds}} : !phx.tensor<f32, ["N"]>
    }}"""


CONST = "arith.constant {} : i64"


@pytest.mark.parametrize(("lb", "ub", "step", "fused"), [
    (CONST.format(0), "arith.addi %n, %n : i64", CONST.format(1), True),
    (CONST.format(0), CONST.format(100), CONST.format(7), True),
    (CONST.format(0), CONST.format((1 << 63) - 2), CONST.format(4), False),  # may wrap
    (CONST.format(0), "arith.addi %n, %n : i64", CONST.format(4), False),  # unknown ub
    (CONST.format(0), "arith.addi %n, %n : i64", "arith.addi %n, %n : i64", False),
])
def test_loop_bottom_test_is_one_dbr_when_the_increment_cannot_overflow(
        lb: str, ub: str, step: str, fused: bool) -> None:
    module = _select(f"%n: i64, %x: f32, {VECTOR}", _loop(lb, ub, step))
    names = mnemonics(module)
    assert ("DBR.lt.i64" in names) is fused
    assert ("DBNZ" in names) is not fused


@pytest.mark.parametrize(("bound", "fused"), [
    ("arith.muli %n, %c8 : i64", True),  # wraps, but keeps multiples of 8
    ("arith.minsi %m, %c16 : i64", True),
    ("arith.select %b, %m, %c16 : i64", True),
    ("arith.select %b, %n, %c16 : i64", False),  # n is not known to be a multiple
    ("arith.addi %m, %c8 : i64", True),
    ("arith.addi %m, %n : i64", False),
    ("arith.andi %n, %minus16 : i64", True),  # rounded down to a multiple of 16
    ("arith.andi %n, %c12 : i64", False),  # 4 is possible
])
def test_multiples_of_the_step_through_products_sums_and_choices(bound: str,
                                                                 fused: bool) -> None:
    body = f"""    %c8 = arith.constant 8 : i64
    %c16 = arith.constant 16 : i64
    %minus16 = arith.constant -16 : i64
    %c12 = arith.constant 12 : i64
    %m = arith.muli %n, %c16 : i64
    %ub = {bound}
    %lb = arith.constant 0 : i64
    scf.for %i = %lb to %ub step %c8 : i64 {{
      phx.store %x, %t[%i] {{in_bounds}} : !phx.tensor<f32, ["N"]>
    }}"""
    names = mnemonics(_select(f"%n: i64, %b: i1, %x: f32, {VECTOR}", body))
    assert ("DBR.lt.i64" in names) is fused and ("DBNZ" in names) is not fused


@pytest.mark.parametrize(("other", "fused"), [("%m", True), ("%n", False)])
def test_a_start_chosen_by_an_if_is_a_multiple_when_both_branches_yield_one(
        other: str, fused: bool) -> None:
    """A loop starting at an `scf.if` result (prefetch-insert's tail loop starts at lb
    or at the split): with both yields multiples of the step (12 here, not a power of
    two, so the start matters), so is every iv, and the bottom test is one DBR."""
    body = f"""    %c12 = arith.constant 12 : i64
    %zero = arith.constant 0 : i64
    %r = arith.remsi %n, %c12 : i64
    %m = arith.subi %n, %r : i64
    %lb = scf.if %b -> (i64) {{
      scf.yield %zero : i64
    }} else {{
      scf.yield {other} : i64
    }}
    scf.for %i = %lb to %m step %c12 : i64 {{
      phx.store %x, %t[%i] {{in_bounds}} : !phx.tensor<f32, ["N"]>
    }}"""
    names = mnemonics(_select(f"%n: i64, %b: i1, %x: f32, {VECTOR}", body))
    assert ("DBR.lt.i64" in names) is fused and ("DBNZ" in names) is not fused


@pytest.mark.parametrize(("step", "bound", "fused"), [
    (16, "arith.andi %n, %minus16 : i64", True),  # <= 2^63 - 16: iv + 16 fits
    (12, "arith.subi %n, %r12 : i64", False),  # a multiple of 12 may exceed 2^63 - 12
])
def test_a_power_of_two_step_needs_only_a_multiple_bound(step: int, bound: str,
                                                         fused: bool) -> None:
    body = f"""    %st = arith.constant {step} : i64
    %minus16 = arith.constant -16 : i64
    %c12 = arith.constant 12 : i64
    %r12 = arith.remsi %n, %c12 : i64
    %ub = {bound}
    scf.for %i = %lo to %ub step %st : i64 {{
      phx.store %x, %t[%i] {{in_bounds}} : !phx.tensor<f32, ["N"]>
    }}"""
    names = mnemonics(_select(f"%n: i64, %lo: i64, %x: f32, {VECTOR}", body))
    assert ("DBR.lt.i64" in names) is fused and ("DBNZ" in names) is not fused


def test_unrolled_main_loop_bound_is_a_multiple_of_the_step() -> None:
    # ub = a - a rem 8 with lb = 0 and step 8: iv + 8 <= ub, no wrap possible.
    body = """    %c8 = arith.constant 8 : i64
    %r = arith.remsi %n, %c8 : i64
    %ub = arith.subi %n, %r : i64
    %lb = arith.constant 0 : i64
    scf.for %i = %lb to %ub step %c8 : i64 {
      phx.store %x, %t[%i] {in_bounds} : !phx.tensor<f32, ["N"]>
    }"""
    names = mnemonics(_select(f"%n: i64, %x: f32, {VECTOR}", body))
    assert "DBR.lt.i64" in names and "DBNZ" not in names


# --- behaviour ------------------------------------------------------------------------


def test_stencil_with_negative_and_positive_displacements_runs() -> None:
    program = compile_source("""
    kernel smooth(x: f32[N], out: f32[N]) {
        for i in 1..N - 1 {
            out[i] = x[i - 1] + x[i] + x[i + 1];
        }
    }""")
    x = np.arange(9, dtype=np.float32) ** 2
    out = np.zeros(9, np.float32)
    run(program, "smooth", {"x": x, "out": out})
    expected = np.zeros(9, np.float32)
    expected[1:-1] = x[:-2] + x[1:-1] + x[2:]
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("opt_level", [0, 3])
def test_loops_up_to_int64_max_stop_exactly(opt_level: int) -> None:
    from phextcc import driver

    program = driver.compile_source("""
    kernel top(lo: i64, hi: i64, s: i64, out: i64[2]) {
        var count: i64 = 0;
        for i in lo..hi { count += 1; }
        out[0] = count;
        var stepped: i64 = 0;
        for i in lo..hi step 4 { stepped += 1; }
        out[1] = stepped;
    }""", "test.phx", driver.Options(opt_level=opt_level))
    top = (1 << 63) - 1
    for lo, hi in ((top - 3, top), (top - 1, top), (top - 9, top), (-5, 5)):
        out = np.zeros(2, np.int64)
        run(program, "top", {"lo": lo, "hi": hi, "s": 0, "out": out})
        assert list(out) == [hi - lo, -(-(hi - lo) // 4)]
