"""SGATHERI/SSCATTRI on both engines: the access at coord + offset, the write-back of
coord + step, read-before-write inside a word, coordinates stepped out of their tensor
(harmless until used; the access that uses one raises the simulator's exact error with
the same earlier writes kept), and coordinates whose region is only known at run time."""

from __future__ import annotations

import numpy as np
import pytest

from phextcc.backend.program import Program
from runtime.errors import MemoryFault
from runtime.simulator import simulate
from tests.jit.helpers import asm, assert_same_outcome
from tests.runtime.build import HALT, op, program, tensor, word

M64 = (1 << 64) - 1


def test_access_then_write_back() -> None:
    # gather x[0 + 2], step by -1, gather x[-1 + 4]; scatter at 5, step by 7, at 7 + 5
    text = """
.kernel k
.param x i64[8]
.param out i64[16]
    { SBASE p0, arg0 }
    { SGATHERI.i64 r1, p0, #2, #-1 }
    { SGATHERI.i64 r2, p0, #4, #0 }
    { SBASE p1, arg1 }
    { SSCATTRI.i64 p1, r1, #5, #7 }
    { SSCATTRI.i64 p1, r2, #5, #7 }
    { SINDEX p2, p0, r1, d0 }
    { DHALT }
"""
    x = np.arange(10, 18, dtype=np.int64)
    result = simulate(asm(text), "k", [x, np.zeros(16, np.int64)], collect_stats=False)
    regs = result.registers[0]
    assert (regs[1], regs[2]) == (12, 13)
    assert regs[16] == (-1) & ((1 << 128) - 1)  # region 0, offset -1: wrapped, unused
    assert regs[17] == (1 << 110) + 14
    out = result.tensors[1]
    assert out[5] == 12 and out[12] == 13
    args, error = assert_same_outcome(asm(text), "k", [x, np.zeros(16, np.int64)])
    assert error is None and np.array_equal(args[1], out)


def _snapshot_program() -> Program:
    """Words whose ops read what another op of the same word writes: the verifier
    rejects them, both engines still read every register from before the word."""
    params = (tensor("x", "i64", 4), tensor("out", "i64", 4))
    return program([
        op("SBASE", 0, 0),
        op("DMOVI", 1, 7),
        word(op("DADD.i64", 3, 1, 1), op("SGATHERI.i64", 1, 0, 1, 2)),  # r3 = 14, r1 = x[1]
        op("SBASE", 1, 1),
        word(op("DMOVI", 4, 9), op("SSCATTRI.i64", 1, 3, 0, 1)),  # out[0] = 14
        word(op("DMOVI", 3, 5), op("SSCATTRI.i64", 1, 4, 0, 1)),  # out[1] = 9
        op("SSCATTRI.i64", 1, 3, 0, 1),  # out[2] = 5
        op("SSCATTRI.i64", 1, 1, 0, 1),  # out[3] = x[1]
        HALT], params=params)


def test_word_reads_registers_from_before_the_word() -> None:
    x = np.array([100, 101, 102, 103], np.int64)
    args, error = assert_same_outcome(_snapshot_program(), "k", [x, np.zeros(4, np.int64)])
    assert error is None and list(args[1]) == [14, 9, 5, 101]


STEP_OUT = """
.kernel k
.param out i32[N]
.param n i64
.param step i64
    { DARG r1, arg1 | SBASE p0, arg0 }
    { DMOVI r2, #1 }
    { DLOOP r1, @last }
    { DADD.i32 r3, r3, r2 }
last:
    { SSCATTRI.i32 p0, r3, #0, #STEP }
    { DHALT }
"""


@pytest.mark.parametrize("step,n,fails", [(3, 4, False), (3, 5, True), (1, 10, False),
                                          (1, 11, True), (-1, 1, False), (-1, 2, True),
                                          (0, 50, False), (7, 2, False)])
def test_stepping_out_of_the_tensor(step: int, n: int, fails: bool) -> None:
    # the coordinate steps past the end (or below the base) after the last store;
    # only a store through it faults, with the earlier stores kept
    text = STEP_OUT.replace("#STEP", f"#{step}")
    args, error = assert_same_outcome(asm(text), "k", [np.zeros(10, np.int32), n, 0])
    want = np.zeros(10, np.int32)
    for trip in range(n):
        if not 0 <= trip * step < 10:
            break
        want[trip * step] = trip + 1
    assert np.array_equal(args[0], want)
    assert (error is not None) == fails
    if fails:
        assert isinstance(error, MemoryFault) and "(at SIW 4)" in str(error)


def test_negative_step_faults_below_the_base_on_both_engines() -> None:
    text = STEP_OUT.replace("#STEP", "#-4")
    out = np.zeros(10, np.int32)
    args, error = assert_same_outcome(asm(text), "k", [out, 2, 0])
    assert isinstance(error, MemoryFault)
    assert args[0][0] == 1 and not args[0][1:].any()


def test_coordinates_of_unknown_region_use_the_region_table() -> None:
    # the coordinate comes back from a spill slot: the JIT cannot know its region
    text = """
.kernel k
.param x f64[6]
.param n i64
.spill 2
    { DARG r1, arg1 | SBASE p0, arg0 }
    { SSPILLP p0, spill0 }
    { SFILLP p1, spill0 }
    { DLOOP r1, @last }
    { SGATHERI.f64 r2, p1, #0, #0 }
    { DADD.f64 r3, r2, r2 }
last:
    { SSCATTRI.f64 p1, r3, #0, #2 }
    { DHALT }
"""
    for n in (0, 3, 4):
        x = np.arange(1, 7, dtype=np.float64)
        args, error = assert_same_outcome(asm(text), "k", [x, n])
        assert (error is not None) == (n == 4)
        assert list(args[0][::2][:min(n, 3)]) == [2.0, 6.0, 10.0][:min(n, 3)]


def test_post_increment_of_the_wrong_element_type_faults_alike() -> None:
    text = """
.kernel k
.param x f32[4]
    { SBASE p0, arg0 }
    { SGATHERI.i64 r1, p0, #0, #1 }
    { DHALT }
"""
    _, error = assert_same_outcome(asm(text), "k", [np.zeros(4, np.float32)])
    assert isinstance(error, MemoryFault) and "holds another element type" in str(error)
