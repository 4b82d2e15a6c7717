"""DLOOP in the simulator: trip counts, loops after loops and inside branch loops,
bodies of one word, loop-back words carrying S and C ops, messages inside bodies, and
the cycle model (the loop-back costs no op, no slot and no misprediction)."""

from __future__ import annotations

import numpy as np
import pytest

from phextcc.backend.assembler import assemble
from runtime.simulator import SimResult, simulate
from runtime.stats import Stats
from tests.isa.loop_programs import RELAY_IN_LOOPS

# r2 counts body runs; the loop-back word also stores r2 (S) and packs it (C).
COUNT = """
.kernel k
.param out i64[4]
.param n i64
    { DARG r1, arg1 | SBASE p0, arg0 }
    { DMOVI r3, #1 }
    { DLOOP r1, @last }
    { DADD.i64 r2, r2, r3 }
last:
    { DADD.i64 r4, r4, r3 | SSCATTR.i64 p0, r2, #0 | CPACK m0, r2, lane1 }
    { DADD.i64 r5, r5, r3 }
    { DHALT }
"""


def _run(text: str, args: list, **kwargs: object) -> SimResult:
    return simulate(assemble(text), "k", args, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("n,trips", [(0, 0), (1, 1), (2, 2), (17, 17), (-1, 0),
                                     (-(1 << 63), 0), (40000, 40000)])
def test_trip_counts(n: int, trips: int) -> None:
    out = np.zeros(4, np.int64)
    result = _run(COUNT, [out, n], collect_stats=False)
    regs = result.registers[0]
    assert regs[2] == regs[4] == trips  # every body word ran `trips` times
    assert regs[5] == 1  # the word after the body runs once, loop or not
    assert out[0] == trips  # the S op of the loop-back word ran on each trip
    assert regs[24][1] == trips  # and its C op
    assert result.siws == 3 + 2 * trips + 2


def test_loop_after_loop_and_inside_a_branch_loop() -> None:
    # outer DBR loop of 3 iterations around two DLOOPs of 4 and 5 trips (1-word bodies)
    regs = _run("""
.kernel k
    { DMOVI r1, #4 }
    { DMOVI r2, #5 }
    { DMOVI r3, #1 }
    { DMOVI r9, #3 }
outer:
    { DLOOP r1, @a }
a:
    { DADD.i64 r4, r4, r3 }
    { DLOOP r2, @b }
b:
    { DADD.i64 r5, r5, r3 }
    { DADD.i64 r6, r6, r3 }
    { DBR.lt.i64 r6, r9, @outer }
    { DHALT }
""", [], collect_stats=False).registers[0]
    assert (regs[4], regs[5], regs[6]) == (12, 15, 3)


def test_the_count_is_read_once() -> None:
    # the body rewrites the count register; the trip count is the value DLOOP read
    regs = _run("""
.kernel k
    { DMOVI r1, #6 }
    { DMOVI r3, #1 }
    { DLOOP r1, @last }
last:
    { DADD.i64 r1, r1, r3 | CNOP }
    { DHALT }
""", [], collect_stats=False).registers[0]
    assert regs[1] == 12


def test_messages_inside_loop_bodies_across_two_sentrons() -> None:
    # sentron 0 sends 10, 20, ...; sentron 1 stores what it receives into out[0..n)
    text = RELAY_IN_LOOPS
    out = np.zeros(9, np.int64)
    result = _run(text, [out, 9], sentrons=2)
    assert list(out) == [10 * i for i in range(1, 10)]
    assert result.stats is not None and result.stats.stall_cycles["recv_wait"] > 0


# -- the cycle model --------------------------------------------------------------


def _stats(text: str, args: list) -> Stats:
    stats = _run(text, args).stats
    assert stats is not None
    for s in stats.sentrons:
        assert s.cycles == s.siws + sum(s.stall_cycles.values())
    return stats


ONE_WORD = """
.kernel k
.param n i64
    { DARG r1, arg0 }
    { DMOVI r3, #1 }
    { DLOOP r1, @last }
last:
    { DADD.i64 r4, r3, r3 | SNOP | CSID r5 }
    { DHALT }
"""

BRANCH_LOOP = """
.kernel k
.param n i64
    { DARG r1, arg0 }
    { DMOVI r3, #1 }
    { DMOVI r2, #0 }
body:
    { DADD.i64 r2, r2, r3 | SNOP | CSID r5 }
    { DBR.lt.i64 r2, r1, @body }
    { DHALT }
"""


@pytest.mark.parametrize("n", [1, 100, 1000])
def test_loop_back_costs_no_op_no_slot_and_no_misprediction(n: int) -> None:
    stats = _stats(ONE_WORD, [n])
    assert stats.stall_cycles["branch"] == 0
    # DARG, DMOVI, DLOOP, n bodies of 2 ops, DHALT: the loop-back is not an op
    assert stats.ops == {"D": 3 + n + 1, "S": 0, "C": n}
    assert stats.siws == 4 + n
    assert n <= stats.cycles <= n + 8  # about one cycle per trip


def test_skipped_loop_is_not_mispredicted() -> None:
    stats = _stats(ONE_WORD, [0])
    assert stats.stall_cycles["branch"] == 0 and stats.siws == 4


def test_hardware_loop_beats_the_branch_loop() -> None:
    n = 500
    hardware = _stats(ONE_WORD, [n])
    branch = _stats(BRANCH_LOOP, [n])
    assert branch.stall_cycles["branch"] > 0  # the exit of the DBR loop
    assert branch.ops["D"] == hardware.ops["D"] + n  # the DBR on every trip, less DLOOP
    assert hardware.cycles < branch.cycles - n // 2


def test_post_increment_coordinate_is_ready_after_the_index_latency() -> None:
    # a chain of post-increment loads: each load's coordinate comes from the last one
    # without waiting for the load's data
    stats = _stats("""
.kernel k
.param x f32[64]
    { SBASE p0, arg0 }
    { DMOVI r1, #32 }
    { DLOOP r1, @last }
last:
    { SGATHERI.f32 r2, p0, #0, #1 }
    { DHALT }
""", [np.zeros(64, np.float32)])
    assert stats.stall_cycles["memory"] == stats.stall_cycles["raw_s"] == 0
    assert stats.ops["S"] == 33 and stats.siws == 36
