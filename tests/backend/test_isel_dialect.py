"""The siw dialect: register types, table-driven verification, print/parse."""

from __future__ import annotations

import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, ModuleOp
from xdsl.ir import Block, Region
from xdsl.utils.exceptions import VerifyException

from phextcc.backend import isa
from phextcc.backend.isa import Effect, Kind
from phextcc.ir.context import parse_ir, print_ir
from phextcc.ir.siw_dialect import (
    REGISTER_TYPE_OF_CLASS,
    BranchOp,
    HaltOp,
    JumpOp,
    MReg,
    PReg,
    RReg,
    SiwOp,
    UndefOp,
    def_operands,
    immediate_operands,
    use_operands,
)


def _module(*blocks: Block) -> ModuleOp:
    return ModuleOp([func.FuncOp("k", FunctionType.from_lists([], []), Region(list(blocks)))])


def _sample_immediate(kind: Kind) -> int:
    low, high = isa.operand_range(kind)
    return min(max(1, low), high)


def _straight_line_rows() -> list[isa.OpInfo]:
    return [row for row in isa.ISA
            if not row.reserved and not row.effects & (Effect.BRANCH | Effect.HALT)]


def test_register_types_print_and_name_registers() -> None:
    assert str(RReg.from_index(3)) == "!siw.r<r3>"
    assert str(PReg.from_index(7)) == "!siw.p<p7>"
    assert str(MReg.unallocated()) == "!siw.m"
    assert RReg.from_index(15).number == 15
    assert [r.number for r in MReg.allocatable_registers()] == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        _ = RReg.unallocated().number


@pytest.mark.parametrize("row", _straight_line_rows(), ids=lambda r: r.mnemonic)
def test_every_table_row_builds_verifies_and_round_trips(row: isa.OpInfo) -> None:
    block = Block()
    args = []
    for operand in use_operands(row):
        source = UndefOp(REGISTER_TYPE_OF_CLASS[operand.kind.regclass].unallocated())
        block.add_op(source)
        args.append(source.res)
    imms = [_sample_immediate(o.kind) for o in immediate_operands(row)]
    op = SiwOp(row.mnemonic, args, imms)
    block.add_ops([op, HaltOp()])
    assert len(op.res) == len(def_operands(row))
    module = _module(block)
    module.verify()
    text = print_ir(module)
    assert f'"{row.mnemonic}"' in text
    assert print_ir(parse_ir(text)) == text


def test_verifier_checks_register_classes_against_the_table() -> None:
    block = Block()
    p = UndefOp(PReg.unallocated())
    r = UndefOp(RReg.unallocated())
    bad = SiwOp("DADD.i64", [p.res, r.res])  # rs1 must be an r register
    block.add_ops([p, r, bad, HaltOp()])
    with pytest.raises(VerifyException, match="rs1 must be a r register"):
        _module(block).verify()


def test_verifier_checks_immediates() -> None:
    for imms, message in (([], "takes 1 immediates"), ([11], "outside")):
        block = Block()
        block.add_ops([SiwOp("SBASE", [], [0]), SiwOp("DMOVI", [], [1]),
                       SiwOp("DSYM", [], [0])])
        bad = SiwOp("SINDEX", [block.first_op.res[0], block.last_op.res[0]], imms)
        block.add_ops([bad, HaltOp()])
        with pytest.raises(VerifyException, match=message):
            _module(block).verify()


def test_verifier_rejects_reserved_and_control_flow_rows_in_siw_op() -> None:
    for mnemonic, message in (("CROUTE", "reserved"), ("DJMP", "control flow")):
        block = Block()
        if mnemonic == "CROUTE":
            m, r = UndefOp(MReg.unallocated()), UndefOp(RReg.unallocated())
            block.add_ops([m, r, SiwOp(mnemonic, [m.res, r.res])])
        else:
            block.add_op(SiwOp(mnemonic, [], []))
        block.add_op(HaltOp())
        with pytest.raises(VerifyException, match=message):
            _module(block).verify()


def test_branches_carry_successors_and_round_trip() -> None:
    entry, loop, done = Block(), Block(arg_types=[RReg.unallocated()]), Block()
    zero = SiwOp("DMOVI", [], [0])
    entry.add_ops([zero, JumpOp(loop, [zero.res[0]])])
    one = SiwOp("DMOVI", [], [1])
    loop.add_ops([one, BranchOp("DBR.lt.i64", [loop.args[0], one.res[0]], loop, done,
                                [one.res[0]], [])])
    done.add_op(HaltOp())
    module = _module(entry, loop, done)
    module.verify()
    text = print_ir(module)
    assert 'siw.branch "DBR.lt.i64"' in text and "siw.jump ^bb1" in text
    assert print_ir(parse_ir(text)) == text


def test_branch_verifier_rejects_unconditional_rows_and_bad_arguments() -> None:
    entry, done = Block(), Block(arg_types=[RReg.unallocated()])
    r = SiwOp("DMOVI", [], [0])
    entry.add_ops([r, BranchOp("DJMP", [], done, done, [r.res[0]], [r.res[0]])])
    done.add_op(HaltOp())
    with pytest.raises(VerifyException, match="not a conditional branch"):
        _module(entry, done).verify()
    entry2, done2 = Block(), Block(arg_types=[RReg.unallocated()])
    entry2.add_ops([JumpOp(done2, [])])
    done2.add_op(HaltOp())
    with pytest.raises(VerifyException, match="passes 0 values"):
        _module(entry2, done2).verify()


def test_tied_operand_of_cpack_is_reported() -> None:
    m = UndefOp(MReg.unallocated())
    r = SiwOp("DMOVI", [], [5])
    pack = SiwOp("CPACK", [m.res, r.res[0]], [0])
    assert pack.tied_registers() == ((m.res, pack.res[0]),)
    assert SiwOp("DADD.i64", [r.res[0], r.res[0]]).tied_registers() == ()


def test_selected_and_allocated_kernels_round_trip_with_locations() -> None:
    from phextcc.backend.codegen import allocated_siw_ir, siw_ir
    from tests.backend.backend_helpers import source_module

    module = source_module("kernel k(n: i64, x: f32[N]) {\n"
                           "  for i in 0..n { if x[i] > 0.0 { x[i] = 2.0; } }\n}\n")
    for stage in (siw_ir(module), allocated_siw_ir(module)):
        stage.verify()
        text = print_ir(stage, debuginfo=True)
        assert 'loc("test.phx":2:' in text
        assert print_ir(parse_ir(text), debuginfo=True) == text
