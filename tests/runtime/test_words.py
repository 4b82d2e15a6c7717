"""Word-level rules: read-before-write, branches, halting, spill areas, SIW budget."""

from __future__ import annotations

import pytest

from phextcc.backend.isa import Cond
from runtime.errors import ControlFlowError, MemoryFault, StepBudgetExceeded
from runtime.simulator import simulate
from tests.runtime.build import HALT, op, program, registers_after, run_ops, word


def test_swap_in_one_word_swaps() -> None:
    # D: r1 = r2 and C: r2 = lane of m (holding old r1) can't both be
    # expressed with one pipe; use D and S/C ops that read each other's target.
    regs = registers_after([
        op("CPACK", 0, 1, 0),  # m0.lane0 = r1 (7)
        word(op("DMOV", 1, 2), op("CUNPK", 2, 0, 0)),  # r1 = r2 ; r2 = m0.lane0
    ], {1: 7, 2: 9})
    assert regs[1:3] == [9, 7]


def test_word_ops_read_registers_from_before_the_word() -> None:
    regs = registers_after([
        word(op("DADD.i64", 1, 1, 2), op("SINDEX", 0, 0, 1, 0), op("CPACK", 0, 1, 1)),
    ], {1: 5, 2: 1})
    assert regs[1] == 6
    assert regs[16] == 5  # p0 = 0 + old r1
    assert regs[24][1] == 5  # the message got the old r1 too


def test_coordinate_swap_in_one_word() -> None:
    regs = registers_after([
        op("SINDEX", 0, 0, 1, 0), op("SINDEX", 1, 1, 2, 0),
        word(op("SMOVP", 0, 1)), word(op("SMOVP", 1, 0)),  # sequential: both become old p1
    ], {1: 3, 2: 4})
    assert regs[16] == regs[17] == 4


def _count_loop(cond: Cond, n: int) -> list:
    # r1 = 0; loop: r1 += 1; if r1 <cond> r2 goto loop
    return registers_after([
        op("DMOVI", 1, 0), op("DMOVI", 3, 1),
        op("DADD.i64", 1, 1, 3),  # SIW index 4 (2 DLDC-free: init has 1 load)
        op(f"DBR.{cond.name.lower()}.i64", 1, 2, 3),
    ], {2: n})


def test_backward_branch_loop() -> None:
    regs = _count_loop(Cond.LT, 10)
    assert regs[1] == 10


def test_branch_family() -> None:
    # DBZ skips, DBNZ jumps over a poison write, DJMP forward.
    regs = registers_after([
        op("DBNZ", 1, 3),  # index 2 -> 3 (skip nothing but taken)
        op("DBZ", 1, 5),  # r1 != 0: falls through
        op("DJMP", 6),  # index 4
        op("DMOVI", 4, 99),  # index 5: skipped
        op("DMOVI", 5, 1),  # index 6
    ], {1: 1, 2: 0})
    assert regs[4] == 0 and regs[5] == 1


def test_halt_ends_after_the_words_other_ops() -> None:
    prog = program([word(op("DHALT"), op("CSID", 3), op("SINDEX", 0, 0, 3, 0)),
                    op("DMOVI", 4, 1), HALT])
    result = simulate(prog, "k", [], sentrons=2)
    assert result.registers[1][3] == 1  # CSID ran in the halting word
    assert result.registers[1][4] == 0  # the next word did not
    assert result.siws == 2


def test_kernel_entry_offset_and_falling_off_the_end() -> None:
    prog = program([op("DMOVI", 1, 5)], prefix=3)
    with pytest.raises(ControlFlowError, match="control left kernel 'k'.*at SIW 4"):
        simulate(prog, "k", [])


def test_branch_target_outside_kernel_is_rejected() -> None:
    prog = program([op("DJMP", 0), HALT], prefix=2)
    with pytest.raises(ControlFlowError, match="targets SIW 0"):
        simulate(prog, "k", [])


def test_step_budget_stops_infinite_loops() -> None:
    prog = program([op("DJMP", 0)])
    with pytest.raises(StepBudgetExceeded, match="step budget of 1000 SIWs"):
        simulate(prog, "k", [], max_siws=1000, collect_stats=False)


def test_spill_and_fill_of_each_class() -> None:
    big = (1 << 100) + 12345
    result = run_ops([
        op("CPACK", 1, 1, 0), op("CPACK", 1, 2, 3),
        op("SINDEX", 2, 2, 1, 9),  # p2 = r1 * 2048**9
        op("SINDEX", 2, 2, 2, 0),
        op("SSPILL", 1, 0), op("SSPILLP", 2, 1), op("SSPILLM", 1, 3),
        op("DMOVI", 1, 0), op("SBASE", 2, 0), op("CPACK", 1, 0, 0),
        op("SFILL", 5, 0), op("SFILLP", 3, 1), op("SFILLM", 2, 3),
    ], {1: 1 << 5, 2: big & ((1 << 64) - 1)}, spill_words=7)
    regs = result.registers[0]
    assert regs[5] == 1 << 5
    assert regs[16 + 3] == ((1 << 5) << 99) + (big & ((1 << 64) - 1))
    assert regs[24 + 2] == (1 << 5, 0, 0, big & ((1 << 64) - 1))
    assert result.spill[0][0] == 1 << 5
    assert result.spill[0][2] == regs[19] >> 64  # p takes two words, low first


def test_spill_outside_the_area_faults() -> None:
    with pytest.raises(MemoryFault, match="spill slot 3 .*2 word\\(s\\)"):
        run_ops([op("SSPILLP", 0, 3)], spill_words=4)
    with pytest.raises(MemoryFault, match="spill area of 0 word"):
        run_ops([op("SFILL", 1, 0)])


def test_reserved_op_fails_only_when_reached() -> None:
    prog = program([op("DJMP", 2), op("DHDBIND", 1, 2, 3), HALT])
    assert simulate(prog, "k", []).siws == 2
    prog = program([op("DHDBIND", 1, 2, 3), HALT])
    with pytest.raises(Exception, match="DHDBIND is reserved"):
        simulate(prog, "k", [])


def test_runtime_errors_carry_the_source_location() -> None:
    from phextcc.backend.program import SourceLoc
    from runtime.errors import IntegerDivisionByZero

    prog = program([op("DMOVI", 1, 0), op("DDIV.i32", 2, 1, 1), HALT])
    prog.source_name = "div.phx"
    prog.locations = [None, SourceLoc(3, 5), None]
    with pytest.raises(IntegerDivisionByZero) as info:
        simulate(prog, "k", [])
    assert str(info.value) == "integer division by zero (at SIW 1, div.phx:3:5)"
    assert info.value.siw == 1
