"""Sentrons as native threads: messages, barrier, collectives, deadlock, aborts; every
outcome compared with the simulator (results, error type and message)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from runtime.errors import (
    CollectiveMismatch,
    DeadlockError,
    IndexOutOfRange,
    SentronCountError,
)
from runtime.jit import jit_compile, run
from tests.jit.helpers import asm, assert_same_outcome

COUNTS = [1, 2, 3, 4, 8]

# Each sentron sends three messages to its right neighbour and receives three from its
# left one (FIFO order shows in the result: out[sid] = first*10^6 + second*10^3 + third).
RING = """
.kernel ring
.param out i64[S]
.cpipe yes
    { SBASE p0, arg0 | CSID r1 }
    { DMOVI r3, #1 | CNUM r2 }
    { DADD.i64 r4, r1, r3 }
    { DREM.i64 r4, r4, r2 }
    { DADD.i64 r5, r1, r2 }
    { DSUB.i64 r5, r5, r3 }
    { DREM.i64 r5, r5, r2 }
    { DMOVI r6, #100 }
    { DMUL.i64 r7, r1, r6 }
    { CPACK m0, r7, lane0 }
    { DADD.i64 r7, r7, r3 | CSEND m0, r4 }
    { CPACK m0, r7, lane0 }
    { DADD.i64 r7, r7, r3 | CSEND m0, r4 }
    { CPACK m0, r7, lane0 }
    { CSEND m0, r4 }
    { CRECV m1, r5 }
    { CUNPK r8, m1, lane0 }
    { CRECV m1, r5 }
    { CUNPK r9, m1, lane0 }
    { CRECV m1, r5 }
    { CUNPK r10, m1, lane0 }
    { DMOVI r11, #1000 | SINDEX p0, p0, r1, d0 }
    { DMUL.i64 r8, r8, r11 }
    { DADD.i64 r8, r8, r9 }
    { DMUL.i64 r8, r8, r11 }
    { DADD.i64 r8, r8, r10 }
    { SSCATTR.i64 p0, r8, #0 }
    DHALT
"""


@pytest.mark.parametrize("sentrons", COUNTS)
def test_ring_messages_arrive_in_fifo_order(sentrons: int) -> None:
    out, error = assert_same_outcome(asm(RING), "ring", [np.zeros(sentrons, np.int64)],
                                     sentrons=sentrons)
    assert error is None
    left = [(sid - 1) % sentrons * 100 for sid in range(sentrons)]
    assert list(out[0]) == [v * 1_000_000 + (v + 1) * 1000 + v + 2 for v in left]


# Sentron 0 sends n messages to the last sentron, which sums them: more than one chunk
# of the mailbox, so the FIFO must grow while the sender never blocks.
FLOOD = """
.kernel flood
.param out i64[1]
.param n i64
.cpipe yes
    { DARG r1, arg1 | SBASE p0, arg0 | CSID r2 }
    { DMOVI r3, #1 | CNUM r4 }
    { DSUB.i64 r4, r4, r3 }
    { DMOVI r5, #0 }
    { DMOVI r6, #0 }
    { DBNZ r2, @receiver }
send:
    { DBR.ge.i64 r5, r1, @done | CPACK m0, r5, lane0 }
    { DADD.i64 r5, r5, r3 | CSEND m0, r4 }
    { DJMP @send }
receiver:
    { DBR.ne.i64 r2, r4, @done }
recv:
    { DBR.ge.i64 r5, r1, @store }
    { CRECV m1, r7 }
    { CUNPK r8, m1, lane0 }
    { DADD.i64 r6, r6, r8 }
    { DADD.i64 r5, r5, r3 }
    { DJMP @recv }
store:
    { SSCATTR.i64 p0, r6, #0 }
done:
    DHALT
"""


@pytest.mark.parametrize("sentrons", [2, 3])
def test_mailbox_grows_past_one_chunk(sentrons: int) -> None:
    native = jit_compile(asm(FLOOD))
    out = np.zeros(1, np.int64)
    run(native, "flood", [out, 1000], sentrons=sentrons)
    assert out[0] == sum(range(1000))


def test_flood_matches_simulator() -> None:
    out, error = assert_same_outcome(asm(FLOOD), "flood", [np.zeros(1, np.int64), 300],
                                     sentrons=2)
    assert error is None and out[0][0] == sum(range(300))


def allreduce_program(t: str, op: str) -> str:
    return f"""
.kernel allreduce
.param vals {t}[S]
.param out {t}[S]
.cpipe yes
    {{ SBASE p0, arg0 | CSID r1 }}
    {{ SBASE p1, arg1 }}
    {{ SINDEX p0, p0, r1, d0 }}
    {{ SINDEX p1, p1, r1, d0 }}
    {{ SGATHER.{t} r2, p0, #0 }}
    {{ CREDUCE.{t} r3, r2, {op} }}
    {{ CREDUCE.{t} r4, r3, {op} }}
    {{ SSCATTR.{t} p1, r4, #0 }}
    DHALT
"""


NUMPY_TYPES = {"i32": np.int32, "i64": np.int64, "f32": np.float32, "f64": np.float64}


TYPES = ["i32", "i64", "f32", "f64"]
QUICK_ALLREDUCE = [(s, t, op) for t in TYPES for s, op in ((1, "sum"), (3, "sum"), (8, "max"),
                                                           (4, "min"))]
FULL_ALLREDUCE = [(s, t, op) for t in TYPES for s in COUNTS for op in ("sum", "max", "min")]


@pytest.mark.parametrize(("sentrons", "t", "op"), QUICK_ALLREDUCE)
def test_allreduce_is_deterministic_and_matches(sentrons: int, t: str, op: str) -> None:
    check_allreduce(sentrons, t, op)


@pytest.mark.slow
@pytest.mark.parametrize(("sentrons", "t", "op"), FULL_ALLREDUCE)
def test_allreduce_every_count_type_and_op(sentrons: int, t: str, op: str) -> None:
    check_allreduce(sentrons, t, op)


def check_allreduce(sentrons: int, t: str, op: str) -> None:
    rng = np.random.default_rng(sentrons)
    if t.startswith("f"):
        vals = (rng.standard_normal(sentrons) * 1e3).astype(NUMPY_TYPES[t])
    else:
        vals = rng.integers(-1 << 30, 1 << 30, sentrons).astype(NUMPY_TYPES[t])
    program = asm(allreduce_program(t, op))
    out, error = assert_same_outcome(program, "allreduce", [vals, np.zeros_like(vals)],
                                     sentrons=sentrons)
    assert error is None
    again = np.zeros_like(vals)
    run(jit_compile(program), "allreduce", [vals, again], sentrons=sentrons)
    assert again.tobytes() == out[1].tobytes()  # same bits run to run


BROADCAST = """
.kernel bcast
.param out i64[S]
.param root i64
.cpipe yes
    { DARG r1, arg1 | SBASE p0, arg0 | CSID r2 }
    { DMOVI r3, #7 }
    { DMUL.i64 r4, r2, r3 }
    { CCAST r5, r4, r1 }
    { SINDEX p0, p0, r2, d0 | CBAR }
    { SSCATTR.i64 p0, r5, #0 }
    DHALT
"""


@pytest.mark.parametrize("sentrons", [1, 3])
def test_broadcast_from_every_root(sentrons: int) -> None:
    for root in range(sentrons):
        out, error = assert_same_outcome(asm(BROADCAST), "bcast",
                                         [np.zeros(sentrons, np.int64), root],
                                         sentrons=sentrons)
        assert error is None and list(out[0]) == [root * 7] * sentrons


def test_broadcast_from_a_missing_root_fails_like_the_simulator() -> None:
    _, error = assert_same_outcome(asm(BROADCAST), "bcast", [np.zeros(2, np.int64), 5],
                                   sentrons=2)
    assert isinstance(error, SentronCountError)


# Every sentron writes its slot, meets at the barrier, then reads its left neighbour's.
BARRIER = """
.kernel neighbours
.param buf i64[S]
.param out i64[S]
.cpipe yes
    { SBASE p0, arg0 | CSID r1 }
    { DMOVI r3, #1 | CNUM r2 }
    { SINDEX p2, p0, r1, d0 }
    { DADD.i64 r4, r1, r2 | SBASE p1, arg1 }
    { DSUB.i64 r4, r4, r3 | SINDEX p1, p1, r1, d0 }
    { DREM.i64 r4, r4, r2 | SSCATTR.i64 p2, r1, #0 }
    { SINDEX p0, p0, r4, d0 | CBAR }
    { SGATHER.i64 r5, p0, #0 }
    { SSCATTR.i64 p1, r5, #0 }
    DHALT
"""


@pytest.mark.parametrize("sentrons", COUNTS)
def test_barrier_orders_writes_before_reads(sentrons: int) -> None:
    out, error = assert_same_outcome(asm(BARRIER), "neighbours",
                                     [np.full(sentrons, -1, np.int64),
                                      np.zeros(sentrons, np.int64)], sentrons=sentrons)
    assert error is None
    assert list(out[1]) == [(sid - 1) % sentrons for sid in range(sentrons)]


RECV_FROM_NOBODY = """
.kernel lonely
.param out i64[1]
.cpipe yes
    { DMOVI r1, #0 | CSID r2 }
    { DBZ r2, @done }
    { CRECV m0, r1 }
done:
    DHALT
"""

SKIPPED_BARRIER = """
.kernel skip
.param out i64[1]
.cpipe yes
    { CSID r1 }
    { DBZ r1, @done }
    { CBAR }
done:
    DHALT
"""


@pytest.mark.parametrize("source,sentrons", [(RECV_FROM_NOBODY, 2), (RECV_FROM_NOBODY, 3),
                                             (SKIPPED_BARRIER, 2), (SKIPPED_BARRIER, 4)],
                         ids=["recv-2", "recv-3", "barrier-2", "barrier-4"])
def test_deadlock_ends_with_an_error_naming_the_waiters(source: str, sentrons: int) -> None:
    program = asm(source)
    kernel = program.kernels[0].name
    started = time.perf_counter()
    _, error = assert_same_outcome(program, kernel, [np.zeros(1, np.int64)],
                                   sentrons=sentrons, timeout=0.2)
    assert time.perf_counter() - started < 10
    assert isinstance(error, DeadlockError)
    assert "sentron 0 has halted" in str(error)
    assert "sentron 1 waits in" in str(error)


MISMATCH = """
.kernel mismatch
.param out i64[1]
.cpipe yes
    { CSID r1 }
    { DBZ r1, @reduce }
    { CBAR }
    { DJMP @done }
reduce:
    { CREDUCE.i64 r2, r1, sum }
done:
    DHALT
"""


def test_different_collectives_are_a_mismatch() -> None:
    _, error = assert_same_outcome(asm(MISMATCH), "mismatch", [np.zeros(1, np.int64)],
                                   sentrons=2)
    assert isinstance(error, CollectiveMismatch)


def test_bad_destination_is_a_sentron_count_error() -> None:
    program = asm("""
.kernel bad
.param out i64[1]
.cpipe yes
    { DMOVI r1, #9 }
    { CSEND m0, r1 }
    DHALT
""")
    _, error = assert_same_outcome(program, "bad", [np.zeros(1, np.int64)], sentrons=2)
    assert isinstance(error, SentronCountError)
    assert "CSEND to sentron 9" in str(error)


def test_an_error_in_one_sentron_stops_the_others_without_waiting_for_the_timeout() -> None:
    program = asm("""
.kernel fail
.param out i64[2]
.cpipe yes
    { DMOVI r1, #5 | CSID r2 }
    { DBZ r2, @wait }
    { DCHK r1, axis0, arg0 }
wait:
    { CBAR }
    DHALT
""")
    started = time.perf_counter()
    with pytest.raises(IndexOutOfRange, match=r"^sentron 1: index 5 out of range"):
        run(jit_compile(program), "fail", [np.zeros(2, np.int64)], sentrons=2,
            deadlock_timeout=30.0)
    assert time.perf_counter() - started < 5
