"""CSENDR/CRECVR, the one-op scalar message forms: simulator and JIT agree on every
outcome, and the messages share the FIFOs of CSEND/CRECV in both directions."""

from __future__ import annotations

import numpy as np
import pytest

from phextcc.backend.disassembler import disassemble
from phextcc.backend.isa import BY_MNEMONIC, Effect, Pipe
from runtime.errors import DeadlockError, SentronCountError
from runtime.simulator import simulate
from tests.jit.helpers import asm, assert_same_outcome

# Each sentron sends four messages to its right neighbour, alternating the forms, and
# receives them from its left one with the other form. out[sid] packs the four values;
# lanes[sid] is lane 1 of the CRECV'd CSENDR message, which must be 0 even though the
# m register held a non-zero lane 1 before the receive.
MIXED_RING = """
.kernel mixed
.param out i64[S]
.param lanes i64[S]
.cpipe yes
    { SBASE p0, arg0 | CSID r1 }
    { DMOVI r3, #1 | CNUM r2 }
    { DADD.i64 r4, r1, r3 | SBASE p1, arg1 }
    { DREM.i64 r4, r4, r2 }
    { DADD.i64 r5, r1, r2 }
    { DSUB.i64 r5, r5, r3 }
    { DREM.i64 r5, r5, r2 }
    { DMOVI r6, #10 }
    { DMUL.i64 r7, r1, r6 }
    { CSENDR r7, r4 }
    { DADD.i64 r7, r7, r3 }
    { CPACK m0, r7, lane0 }
    { DADD.i64 r7, r7, r3 | CSEND m0, r4 }
    { CSENDR r7, r4 }
    { DADD.i64 r7, r7, r3 }
    { CPACK m0, r7, lane0 }
    { CSEND m0, r4 }
    { CPACK m1, r6, lane1 }
    { CRECV m1, r5 }
    { CUNPK r8, m1, lane0 }
    { CUNPK r12, m1, lane1 }
    { CRECVR r9, r5 }
    { CRECV m2, r5 }
    { CUNPK r10, m2, lane0 }
    { CRECVR r11, r5 }
    { DMUL.i64 r8, r8, r6 }
    { DADD.i64 r8, r8, r9 }
    { DMUL.i64 r8, r8, r6 }
    { DADD.i64 r8, r8, r10 }
    { DMUL.i64 r8, r8, r6 }
    { DADD.i64 r8, r8, r11 | SINDEX p0, p0, r1, d0 }
    { SINDEX p1, p1, r1, d0 }
    { SSCATTR.i64 p0, r8, #0 }
    { SSCATTR.i64 p1, r12, #0 }
    DHALT
"""


def test_table_rows_are_c_pipe_message_ops() -> None:
    send, recv = BY_MNEMONIC["CSENDR"], BY_MNEMONIC["CRECVR"]
    assert send.pipe is recv.pipe is Pipe.C
    assert send.latency == recv.latency == BY_MNEMONIC["CSEND"].latency == "msg"
    assert send.effects == BY_MNEMONIC["CSEND"].effects and Effect.SEND in send.effects
    assert recv.effects == BY_MNEMONIC["CRECV"].effects and Effect.RECV in recv.effects
    assert send.extension and recv.extension
    assert [o.kind.prefix for o in send.operands] == ["r", "r"]
    assert [o.kind.prefix for o in recv.operands] == ["r", "r"]


def test_disassembly_assembles_back_to_the_same_words() -> None:
    program = asm(MIXED_RING)
    text = disassemble(program)
    assert "CSENDR r7, r4" in text and "CRECVR r9, r5" in text
    again = asm(text)
    assert [w.ops for w in again.words] == [w.ops for w in program.words]
    assert [w.deps for w in again.words] == [w.deps for w in program.words]


@pytest.mark.parametrize("sentrons", [1, 2, 3])
def test_mixed_forms_share_the_fifo(sentrons: int) -> None:
    args = [np.zeros(sentrons, np.int64), np.full(sentrons, 7, np.int64)]
    out, error = assert_same_outcome(asm(MIXED_RING), "mixed", args, sentrons=sentrons)
    assert error is None
    left = [(sid - 1) % sentrons * 10 for sid in range(sentrons)]
    # values v, v+1, v+2, v+3 in send order, received in the same order (FIFO)
    assert list(out[0]) == [v * 1000 + (v + 1) * 100 + (v + 2) * 10 + v + 3 for v in left]
    assert list(out[1]) == [0] * sentrons


def test_full_64_bits_travel_in_lane_zero() -> None:
    program = asm("""
.kernel wide
.param out i64[1]
.param value i64
.cpipe yes
    { DARG r1, arg1 | SBASE p0, arg0 | CSID r2 }
    { CSENDR r1, r2 }
    { CRECVR r3, r2 }
    { SSCATTR.i64 p0, r3, #0 }
    DHALT
""")
    value = -0x1234_5678_9ABC_DEF0
    out, error = assert_same_outcome(program, "wide", [np.zeros(1, np.int64), value])
    assert error is None and out[0][0] == value


def test_bad_destination_fails_like_csend() -> None:
    program = asm("""
.kernel bad
.param out i64[1]
.cpipe yes
    { DMOVI r1, #9 }
    { CSENDR r1, r1 }
    DHALT
""")
    _, error = assert_same_outcome(program, "bad", [np.zeros(1, np.int64)], sentrons=2)
    assert isinstance(error, SentronCountError)
    assert "CSEND to sentron 9" in str(error)


def test_bad_source_fails_like_crecv() -> None:
    program = asm("""
.kernel bad
.param out i64[1]
.cpipe yes
    { DMOVI r1, #-1 }
    { CRECVR r2, r1 }
    DHALT
""")
    _, error = assert_same_outcome(program, "bad", [np.zeros(1, np.int64)], sentrons=2)
    assert isinstance(error, SentronCountError)
    assert "CRECV from sentron -1" in str(error)


def test_receive_from_nobody_is_a_deadlock_naming_the_waiter() -> None:
    program = asm("""
.kernel lonely
.param out i64[1]
.cpipe yes
    { DMOVI r1, #0 | CSID r2 }
    { DBZ r2, @done }
    { CRECVR r3, r1 }
done:
    DHALT
""")
    _, error = assert_same_outcome(program, "lonely", [np.zeros(1, np.int64)], sentrons=2,
                                   timeout=0.2)
    assert isinstance(error, DeadlockError)
    assert "sentron 1 waits in CRECV from sentron 0" in str(error)


def test_cycle_model_counts_one_c_op_and_waits_for_the_message() -> None:
    """A receive right after the send waits for the message latency (recv_wait)."""
    program = asm("""
.kernel echo
.param out i64[1]
.cpipe yes
    { DMOVI r1, #5 | SBASE p0, arg0 | CSID r2 }
    { CSENDR r1, r2 }
    { CRECVR r3, r2 }
    { SSCATTR.i64 p0, r3, #0 }
    DHALT
""")
    out = np.zeros(1, np.int64)
    result = simulate(program, "echo", [out])
    assert out[0] == 5
    stats = result.stats
    assert stats is not None
    assert stats.ops["C"] == 3  # CSID, CSENDR, CRECVR
    assert stats.stall_cycles["recv_wait"] > 0
