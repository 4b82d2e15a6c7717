"""Instruction selection of each op kind of the IR contract."""

from __future__ import annotations

import pytest

from phextcc.backend.isel import select_module
from phextcc.ir.context import print_ir
from phextcc.ir.siw_dialect import SiwOp
from tests.backend.backend_helpers import kernel, mnemonics, only_kernel

SCALARS = "%a: i64, %b: i64, %f: f32, %g: f32, %d: f64, %w: i32, %v: i32, %c: i1, %e: i1"

# (IR op producing %r from the scalar params, the mnemonic it must select)
CASES: list[tuple[str, str]] = [
    ("%r = arith.addi %a, %b : i64", "DADD.i64"),
    ("%r = arith.addi %w, %v : i32", "DADD.i32"),
    ("%r = arith.subi %a, %b : i64", "DSUB.i64"),
    ("%r = arith.muli %w, %v : i32", "DMUL.i32"),
    ("%r = arith.divsi %a, %b : i64", "DDIV.i64"),
    ("%r = arith.remsi %w, %v : i32", "DREM.i32"),
    ("%r = arith.addf %f, %g : f32", "DADD.f32"),
    ("%r = arith.subf %d, %d : f64", "DSUB.f64"),
    ("%r = arith.mulf %f, %g : f32", "DMUL.f32"),
    ("%r = arith.divf %d, %d : f64", "DDIV.f64"),
    ("%r = arith.negf %f : f32", "DNEG.f32"),
    ("%r = arith.cmpi slt, %a, %b : i64", "DCMP.i64"),
    ("%r = arith.cmpf une, %f, %g : f32", "DCMP.f32"),
    ("%r = arith.select %c, %f, %g : f32", "DSEL"),
    ("%r = arith.andi %c, %e : i1", "DAND.i64"),
    ("%r = arith.ori %c, %e : i1", "DOR.i64"),
    ("%r = arith.xori %w, %v : i32", "DXOR.i32"),
    ("%r = arith.minsi %a, %b : i64", "DMIN.i64"),
    ("%r = arith.maxsi %w, %v : i32", "DMAX.i32"),
    ("%r = arith.minimumf %f, %g : f32", "DMIN.f32"),
    ("%r = arith.maximumf %d, %d : f64", "DMAX.f64"),
    ("%r = arith.shli %a, %b : i64", "DSHL.i64"),
    ("%r = arith.shrsi %w, %v : i32", "DSHR.i32"),
    ("%r = arith.sitofp %a : i64 to f32", "DCVT.f32"),
    ("%r = arith.fptosi %d : f64 to i32", "DCVT.i32"),
    ("%r = arith.extsi %w : i32 to i64", "DCVT.i64"),
    ("%r = arith.trunci %a : i64 to i32", "DCVT.i32"),
    ("%r = arith.extf %f : f32 to f64", "DCVT.f64"),
    ("%r = arith.truncf %d : f64 to f32", "DCVT.f32"),
    ("%r = math.sqrt %f : f32", "DSQRT.f32"),
    ("%r = math.exp %d : f64", "DEXP.f64"),
    ("%r = math.log %f : f32", "DLOG.f32"),
    ("%r = math.tanh %f : f32", "DTANH.f32"),
    ("%r = math.floor %d : f64", "DFLOOR.f64"),
    ("%r = math.ceil %f : f32", "DCEIL.f32"),
    ("%r = math.absf %f : f32", "DABS.f32"),
    ("%r = math.absi %a : i64", "DABS.i64"),
    ("%r = math.fma %f, %g, %f : f32", "DFMA.f32"),
    ("%r = math.ctpop %a : i64", "DPOPCNT.i64"),
    ("%r = phx.sentron_id", "CSID"),
    ("%r = phx.num_sentrons", "CNUM"),
    ('%r = phx.sym "N"', "DSYM"),
    ("%r = phx.allreduce %f {op = \"max\"} : f32", "CREDUCE.f32"),
    ("%r = phx.broadcast %d, %a : f64", "CCAST"),
]

TENSOR = '%t: !phx.tensor<f32, ["N", 4]>'


def _select(body: str) -> list[str]:
    module = kernel("", f"{SCALARS}, {TENSOR}", f"    {body}", symbols=("N",))
    return mnemonics(select_module(module))


@pytest.mark.parametrize(("ir", "expected"), CASES, ids=[c[1] + ":" + c[0][5:20] for c in CASES])
def test_each_op_selects_its_typed_instruction(ir: str, expected: str) -> None:
    assert expected in _select(ir)


def test_compare_predicate_and_from_type_are_immediates() -> None:
    module = kernel("", SCALARS, "    %r = arith.cmpf ole, %f, %g : f32\n"
                    "    %s = arith.fptosi %d : f64 to i32")
    ops = {op.mnemonic.data: op for op in select_module(module).walk() if isinstance(op, SiwOp)}
    assert ops["DCMP.f32"].immediates == (3,)  # Cond.LE
    assert ops["DCVT.i32"].immediates == (3,)  # from Type.F64


def test_integer_negation_becomes_dneg() -> None:
    selected = _select("%z = arith.constant 0 : i64\n    %r = arith.subi %z, %a : i64")
    assert "DNEG.i64" in selected and "DSUB.i64" not in selected


def test_bool_zero_extension_is_free() -> None:
    plain = _select("%r = arith.addi %a, %b : i64")
    extended = _select("%x = arith.extui %c : i1 to i64\n    %r = arith.addi %x, %b : i64")
    assert [m for m in extended if m.startswith("D")] == [m for m in plain if m.startswith("D")]


@pytest.mark.parametrize(("constant", "mnemonic", "value"), [
    ("arith.constant 7 : i64", "DMOVI", 7),
    ("arith.constant -2147483648 : i64", "DMOVI", -(1 << 31)),
    ("arith.constant 2147483648 : i64", "DLDC", 1 << 31),
    ("arith.constant true", "DMOVI", 1),
    ("arith.constant 0.0 : f64", "DMOVI", 0),
    ("arith.constant 1.5 : f32", "DMOVI", 0x3FC00000),
    ("arith.constant -1.5 : f32", "DLDC", 0xBFC00000),
    ("arith.constant 1.5 : f64", "DLDC", 0x3FF8000000000000),
])
def test_constants_use_an_immediate_when_it_fits_else_the_pool(
        constant: str, mnemonic: str, value: int) -> None:
    module = kernel("", "", f"    %r = {constant}")
    ops = [op for op in select_module(module).walk() if isinstance(op, SiwOp)]
    assert [(op.mnemonic.data, op.immediates) for op in ops] == [(mnemonic, (value,))]


def test_load_checks_each_axis_then_indexes_row_major() -> None:
    body = '    %x = phx.load %t[%i, %j] : !phx.tensor<f32, ["N", 4]> -> f32'
    module = select_module(kernel("", f"%i: i64, %j: i64, {TENSOR}", body, symbols=("N",)))
    ops = [op for op in module.walk() if isinstance(op, SiwOp)]
    names = [op.mnemonic.data for op in ops]
    # The tensor's base coordinate is formed once, at kernel entry.
    assert names == ["DARG", "DARG", "SBASE", "DCHK", "DCHK", "DMOVI", "DMUL.i64",
                     "DADD.i64", "SINDEX", "SGATHER.f32"]
    checks = [op.immediates for op in ops if op.mnemonic.data == "DCHK"]
    assert checks == [(0, 2), (1, 2)]  # (axis, parameter index of %t)
    assert ops[2].immediates == (2,)  # SBASE of parameter 2
    assert ops[5].immediates == (4,)  # the inner extent
    assert ops[8].immediates == (0,)  # SINDEX along D0
    assert ops[9].immediates == (0,)  # no constant displacement


def test_constant_indices_address_from_the_base_with_an_immediate() -> None:
    body = ("    %i = arith.constant 2 : i64\n    %j = arith.constant 3 : i64\n"
            '    %x = phx.load %t[%i, %j] : !phx.tensor<f32, ["N", 4]> -> f32')
    module = select_module(kernel("", f"%s: i64, {TENSOR}", body, symbols=("N",)))
    ops = [op for op in module.walk() if isinstance(op, SiwOp)]
    names = [op.mnemonic.data for op in ops]
    # The checks still read the indices; the access is base + 2 * 4 + 3, no SINDEX.
    assert names == ["SBASE", "DMOVI", "DMOVI", "DCHK", "DCHK", "SGATHER.f32"]
    assert ops[-1].operands[0] is ops[0].results[0] and ops[-1].immediates == (11,)


def test_symbolic_extent_is_read_with_dsym_and_in_bounds_skips_checks() -> None:
    body = ("    %v = arith.constant 1.0 : f32\n"
            '    phx.store %v, %t[%i, %j] {in_bounds} : !phx.tensor<f32, [4, "M"]>')
    module = select_module(kernel("", '%i: i64, %j: i64, %t: !phx.tensor<f32, [4, "M"]>',
                                  body, ("M",)))
    names = mnemonics(module)
    assert "DCHK" not in names
    assert names[2] == "SBASE"  # once, at kernel entry
    assert names[-5:] == ["DSYM", "DMUL.i64", "DADD.i64", "SINDEX", "SSCATTR.f32"]


def test_prefetch_is_guarded_so_it_never_forms_an_outside_coordinate() -> None:
    body = '    phx.prefetch %t[%i] : !phx.tensor<i64, ["N"]>'
    module = select_module(kernel("", '%i: i64, %t: !phx.tensor<i64, ["N"]>', body, ("N",)))
    names = mnemonics(module)
    # The element coordinate is only formed behind the guard (the base, offset 0, is
    # formed once at entry and is not an access).
    assert names.index("DBZ") < names.index("SINDEX") < names.index("SPREFCH")
    assert names.count("DCMP.i64") == 2 and "DCHK" not in names


def test_send_and_recv_are_one_c_op_each() -> None:
    body = ("    %x = phx.recv %a : f32\n    phx.send %b, %x : f32\n    phx.barrier")
    module = select_module(kernel("", SCALARS, body))
    names = [n for n in mnemonics(module) if n.startswith("C")]
    assert names == ["CRECVR", "CSENDR", "CBAR"]
    text = print_ir(module)
    assert "!siw.m" not in text  # no message register is needed


def test_scalar_parameters_are_read_with_darg_by_parameter_index() -> None:
    module = select_module(kernel("", f"{TENSOR}, %q: i64", "    %r = arith.addi %q, %q : i64",
                                  ("N",)))
    darg = [op for op in only_kernel(module).walk()
            if isinstance(op, SiwOp) and op.mnemonic.data == "DARG"]
    assert [op.immediates for op in darg] == [(1,)]
