"""Tier-0 emission: one op per word, exact deps, resolved targets, pool, locations."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects import func
from xdsl.dialects.builtin import ArrayAttr, FunctionType, ModuleOp, StringAttr, UnitAttr
from xdsl.ir import Block, Region

from phextcc.backend.codegen import program_from_siw
from phextcc.backend.isa import Kind
from phextcc.backend.verifier import compute_deps, verify
from phextcc.ir.siw_dialect import COLD_PATH_ATTR, BranchOp, HaltOp, JumpOp, SiwOp
from tests.backend.backend_helpers import compile_source, run

TWO_KERNELS = """
kernel first(out: i64[2]) {
    out[0] = 5000000000;
    for i in 0..2 { out[1] += i; }
}
kernel second(n: i64, out: i64[1]) {
    var s: i64 = 0;
    for i in 0..n { s += 5000000000; }
    out[0] = s;
}
"""


def test_one_real_op_per_word_with_exact_deps_and_verified() -> None:
    program = compile_source(TWO_KERNELS)
    verify(program)
    previous = None
    for word in program.words:
        assert sum(not op.is_nop for op in word.ops) == 1
        assert word.deps == compute_deps(previous, word)
        previous = word


def test_kernels_are_laid_out_in_order_and_branches_stay_inside() -> None:
    program = compile_source(TWO_KERNELS)
    first, second = program.kernels
    assert (first.entry, second.entry) == (0, first.length)
    assert second.entry + second.length == len(program.words)
    for kernel in program.kernels:
        for index in range(kernel.entry, kernel.entry + kernel.length):
            instr = program.words[index].d
            for operand, value in zip(instr.info.operands, instr.args):
                if operand.kind is Kind.TARGET:
                    assert kernel.entry <= value < kernel.entry + kernel.length
        assert program.words[kernel.entry + kernel.length - 1].d.info.mnemonic == "DHALT"


def test_constant_pool_is_deduplicated_across_kernels() -> None:
    program = compile_source(TWO_KERNELS)
    assert program.pool == [5000000000]
    loads = [w.d.args for w in program.words if w.d.info.mnemonic == "DLDC"]
    assert len(loads) == 2 and all(args[1] == 0 for args in loads)
    out = np.zeros(1, np.int64)
    run(program, "second", {"n": 3, "out": out})
    assert out[0] == 15000000000


def test_source_locations_follow_the_ir_ops() -> None:
    source = "kernel k(x: f32[N]) {\n    for i in 0..N {\n        x[i] = x[i] * 2.0;\n    }\n}\n"
    program = compile_source(source)
    assert program.source_name == "test.phx"
    assert len(program.locations) == len(program.words)
    gather = next(i for i, w in enumerate(program.words) if w.s.info.family == "SGATHER")
    scatter = next(i for i, w in enumerate(program.words) if w.s.info.family == "SSCATTR")
    branch = next(i for i, w in enumerate(program.words) if w.d.info.family == "DBR")
    assert program.locations[gather].line == 3 and program.locations[scatter].line == 3
    assert program.locations[branch].line == 2


def test_coalesced_copies_vanish_and_jumps_to_the_next_block_are_dropped() -> None:
    program = compile_source("kernel k(n: i64, out: i64[1]) "
                             "{ var s: i64 = 0; for i in 0..n { s += i; } out[0] = s; }")
    for word in program.words:
        if word.d.info.mnemonic == "DMOV":
            assert word.d.args[0] != word.d.args[1]
        if word.d.info.mnemonic == "DJMP":
            assert word.d.args[0] != program.words.index(word) + 1


def _kernel(blocks: list[Block]) -> ModuleOp:
    kernel = func.FuncOp("k", FunctionType.from_lists([], []), Region(blocks))
    kernel.attributes["phx.param_names"] = ArrayAttr([])
    kernel.attributes["siw.param_types"] = ArrayAttr([])
    kernel.attributes["phx.symbols"] = ArrayAttr[StringAttr]([])
    return ModuleOp([kernel])


def test_a_fall_through_that_is_not_next_gets_a_jump() -> None:
    entry, later, taken, other = Block(), Block(), Block(), Block()
    flag = SiwOp("DMOVI", [], [0])
    entry.add_ops([flag, BranchOp("DBNZ", [flag.res[0]], taken, later)])
    other.add_op(HaltOp())  # laid out between the branch and both its successors
    taken.add_op(HaltOp())
    later.add_ops([SiwOp("DMOVI", [], [1]), JumpOp(taken)])
    program = program_from_siw(_kernel([entry, other, taken, later]))
    names = [w.d.info.mnemonic for w in program.words]
    assert names == ["DMOVI", "DBNZ", "DJMP", "DHALT", "DHALT", "DMOVI", "DJMP"]
    assert program.words[1].d.args[1] == 4  # DBNZ -> taken
    assert program.words[2].d.args[0] == 5  # fall through -> later
    assert program.words[6].d.args[0] == 4


def test_a_branch_taken_into_the_next_block_is_negated_to_fall_through() -> None:
    entry, later, taken = Block(), Block(), Block()
    flag = SiwOp("DMOVI", [], [0])
    entry.add_ops([flag, BranchOp("DBNZ", [flag.res[0]], taken, later)])
    taken.add_op(HaltOp())  # laid out right after the branch
    later.add_ops([SiwOp("DMOVI", [], [1]), JumpOp(taken)])
    program = program_from_siw(_kernel([entry, taken, later]))
    names = [w.d.info.mnemonic for w in program.words]
    assert names == ["DMOVI", "DBZ", "DHALT", "DMOVI", "DJMP"]
    assert program.words[1].d.args[1] == 3  # DBZ -> later; DBNZ's target falls through
    assert program.words[4].d.args[0] == 2


def test_a_branch_into_a_block_holding_only_a_jump_goes_to_the_jump_s_destination() -> None:
    """A loop guard whose exit edge was split into a jump-only block: the block is not
    laid out, the guard branches to the exit on the negated test and falls into the
    loop (no forward taken branch, no DJMP)."""
    entry, exit_edge, loop, done = Block(), Block(), Block(), Block()
    flag = SiwOp("DMOVI", [], [1])
    entry.add_ops([flag, BranchOp("DBNZ", [flag.res[0]], loop, exit_edge)])
    exit_edge.add_op(JumpOp(done))
    loop.add_ops([SiwOp("DMOVI", [], [2]), JumpOp(done)])
    done.add_op(HaltOp())
    program = program_from_siw(_kernel([entry, exit_edge, loop, done]))
    names = [w.d.info.mnemonic for w in program.words]
    assert names == ["DMOVI", "DBZ", "DMOVI", "DHALT"]
    assert program.words[1].d.args[1] == 3  # DBZ -> done, past the loop


def _guarded(cold: bool, fall_into_loop: bool = False) -> list[str]:
    """A pipelining guard: likely into the pipelined path, else a fallback block (a
    copy and a jump) to the original loop, which an epilogue jumps over or falls into."""
    entry, fallback, pipelined, loop, done = Block(), Block(), Block(), Block(), Block()
    flag = SiwOp("DMOVI", [], [1])
    entry.add_ops([flag, BranchOp("DBNZ", [flag.res[0]], pipelined, fallback)])
    to_loop = JumpOp(loop)
    if cold:
        to_loop.attributes[COLD_PATH_ATTR] = UnitAttr()
    fallback.add_ops([SiwOp("DMOVI", [], [2]), to_loop])
    pipelined.add_ops([SiwOp("DMOVI", [], [3]), JumpOp(loop if fall_into_loop else done)])
    loop.add_ops([SiwOp("DMOVI", [], [4]), JumpOp(done)])
    done.add_op(HaltOp())
    program = program_from_siw(_kernel([entry, fallback, pipelined, loop, done]))
    branches = ("DBZ", "DBNZ", "DJMP")
    return [w.d.info.mnemonic + (str(w.d.args[-1]) if w.d.info.family in branches else "")
            for w in program.words]


def test_a_cold_block_is_laid_out_before_its_destination() -> None:
    # Unmarked: region order; the likely path is a forward taken branch, the fallback
    # jumps to the loop.
    assert _guarded(cold=False) == ["DMOVI", "DBNZ4", "DMOVI", "DJMP6", "DMOVI", "DJMP7",
                                    "DMOVI", "DHALT"]
    # Marked cold: the guard falls into the likely path, the cold block into the loop.
    assert _guarded(cold=True) == ["DMOVI", "DBZ4", "DMOVI", "DJMP6", "DMOVI", "DMOVI",
                                   "DHALT"]
    # Where the likely path falls into the loop itself, the cold block stays put.
    assert _guarded(cold=True, fall_into_loop=True) == _guarded(cold=False,
                                                                 fall_into_loop=True)


def test_a_chain_of_jumps_is_followed_and_a_cycle_of_them_kept() -> None:
    entry, first, second, spin = Block(), Block(), Block(), Block()
    flag = SiwOp("DMOVI", [], [0])
    entry.add_ops([flag, BranchOp("DBNZ", [flag.res[0]], spin, first)])
    first.add_op(JumpOp(second))
    second.add_op(JumpOp(entry))
    spin.add_op(JumpOp(spin))  # jumps only to itself: still reached, still laid out
    program = program_from_siw(_kernel([entry, first, second, spin]))
    names = [w.d.info.mnemonic for w in program.words]
    assert names == ["DMOVI", "DBZ", "DJMP"]
    assert program.words[1].d.args[1] == 0  # DBZ -> entry, through both jumps
    assert program.words[2].d.args[0] == 2  # the spin loop


def test_no_example_branches_over_a_lone_jump() -> None:
    """At every tier: no conditional branch to word i + 2 over a word that only jumps
    (the pattern jump threading removes)."""
    from pathlib import Path

    from phextcc import driver
    from tests.e2e.oracle import EXAMPLES

    for path in sorted(EXAMPLES.glob("*.phx")):
        for level in (0, 3):
            program = driver.compile_source(Path(path).read_text(), str(path),
                                            driver.Options(opt_level=level))
            words = program.words
            for index, word in enumerate(words[:-2]):
                family = word.d.info.family
                if family not in ("DBR", "DBZ", "DBNZ"):
                    continue
                over = words[index + 1]
                lone_jump = over.d.info.family == "DJMP" and over.s.is_nop and over.c.is_nop
                assert not (lone_jump and word.d.args[-1] == index + 2), \
                    f"{path.name} -O{level}: word {index}"


@pytest.mark.parametrize(("mnemonic", "negated"), [
    ("DBR.lt.i64", "DBR.ge.i64"), ("DBR.le.i32", "DBR.gt.i32"), ("DBR.eq.f64", "DBR.ne.f64"),
    ("DBR.lt.f32", None), ("DBZ", "DBNZ"), ("DJMP", None)])
def test_branch_negation_is_exact(mnemonic: str, negated: str | None) -> None:
    from phextcc.backend.isa import BY_MNEMONIC, negated_branch

    row = negated_branch(BY_MNEMONIC[mnemonic])
    assert (row.mnemonic if row is not None else None) == negated
