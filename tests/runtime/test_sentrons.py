"""Several sentrons: messages in FIFO order, barrier, collectives, deadlocks."""

from __future__ import annotations

import dataclasses
import math
from functools import reduce

import numpy as np
import pytest

from phextcc.backend.isa import RedOp, Type
from runtime.errors import CollectiveMismatch, DeadlockError, SentronCountError
from runtime.floatbits import f64_bits, f64_value
from runtime.semantics import reducer
from runtime.simulator import simulate
from tests.runtime.build import HALT, op, program, scalar, tensor, word

COUNTS = [1, 2, 3, 4, 8]


def ring_program():
    """Each sentron sends sid*10+k (k = 0, 1, 2) to its right neighbour, then
    stores the three values received from its left neighbour in out[sid*3 + k]."""
    ops = [
        word(op("DMOVI", 3, 1), op("CSID", 1)), op("CNUM", 2),
        op("DADD.i64", 4, 1, 3), op("DREM.i64", 4, 4, 2),  # dst = (sid+1) % n
        op("DADD.i64", 5, 1, 2), op("DSUB.i64", 5, 5, 3), op("DREM.i64", 5, 5, 2),  # src
        op("DMOVI", 6, 10), op("DMUL.i64", 7, 1, 6),
    ]
    for _ in range(3):
        ops += [op("CPACK", 0, 7, 0), word(op("CSEND", 0, 4), op("DADD.i64", 7, 7, 3))]
    ops += [word(op("DMOVI", 8, 3), op("SBASE", 0, 0)), op("DMUL.i64", 9, 1, 8),
            op("SINDEX", 0, 0, 9, 0)]
    for k in range(3):
        ops += [op("CRECV", 1, 5), op("CUNPK", 10, 1, 0), op("SSCATTR.i64", 0, 10, k)]
    return program(ops + [HALT], params=(tensor("out", "i64", "m"),), symbols=("m",))


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("stats", [False, True])
def test_ring_messages_arrive_in_fifo_order(count: int, stats: bool) -> None:
    out = np.full(count * 3, -1, dtype=np.int64)
    simulate(ring_program(), "k", [out], sentrons=count, collect_stats=stats)
    want = [((sid - 1) % count) * 10 + k for sid in range(count) for k in range(3)]
    assert out.tolist() == want


def barrier_program(with_barrier: bool):
    """x[sid] = sid + 1; (barrier); out[sid] = x[(sid + 1) % n]."""
    ops = [word(op("CSID", 1), op("SBASE", 0, 0)), word(op("CNUM", 2), op("SBASE", 1, 1)),
           op("DMOVI", 3, 1), op("DADD.i64", 4, 1, 3), op("SINDEX", 2, 0, 1, 0),
           op("SSCATTR.i64", 2, 4, 0), op("DREM.i64", 5, 4, 2)]
    if with_barrier:
        ops.append(op("CBAR"))
    ops += [op("SINDEX", 3, 0, 5, 0), op("SGATHER.i64", 6, 3, 0), op("SINDEX", 4, 1, 1, 0),
            op("SSCATTR.i64", 4, 6, 0), HALT]
    return program(ops, params=(tensor("x", "i64", "n"), tensor("out", "i64", "n")),
                   symbols=("n",))


@pytest.mark.parametrize("count", COUNTS)
def test_barrier_orders_memory(count: int) -> None:
    x, out = np.zeros(count, np.int64), np.zeros(count, np.int64)
    simulate(barrier_program(True), "k", [x, out], sentrons=count)
    assert out.tolist() == [(sid + 1) % count + 1 for sid in range(count)]


def test_without_the_barrier_the_race_shows() -> None:
    x, out = np.zeros(4, np.int64), np.zeros(4, np.int64)
    simulate(barrier_program(False), "k", [x, out], sentrons=4, collect_stats=False)
    assert out[0] == 0  # sentron 0 ran to completion before sentron 1 wrote x[1]


def reduce_program(t: str, red: RedOp):
    return program([
        word(op("CSID", 1), op("SBASE", 0, 0)), op("SBASE", 1, 1), op("SINDEX", 0, 0, 1, 0),
        op("SINDEX", 1, 1, 1, 0), op(f"SGATHER.{t}", 2, 0, 0),
        op(f"CREDUCE.{t}", 3, 2, red), op(f"SSCATTR.{t}", 1, 3, 0), HALT,
    ], params=(tensor("x", t, "n"), tensor("out", t, "n")), symbols=("n",))


_VALUES = {
    "i32": lambda n: np.array([(-1) ** i * (i * 7 + 3) for i in range(n)], np.int32),
    "i64": lambda n: np.array([(-1) ** i * (i << 40) for i in range(n)], np.int64),
    "f32": lambda n: np.array([1e8, 1.0, -1e8, 0.5, 3.0, -2.0, 1e-3, 7.0][:n], np.float32),
    "f64": lambda n: np.array([1e16, 1.0, -1e16, 1.0, 0.1, 0.2, 0.3, -0.7][:n], np.float64),
}


@pytest.mark.parametrize("count", COUNTS)
@pytest.mark.parametrize("t", ["i32", "i64", "f32", "f64"])
@pytest.mark.parametrize("red", [RedOp.SUM, RedOp.MAX, RedOp.MIN])
def test_allreduce_folds_in_sentron_order(count: int, t: str, red: RedOp) -> None:
    x = _VALUES[t](count)
    results = []
    for _ in range(2):
        out = np.zeros(count, x.dtype)
        simulate(reduce_program(t, red), "k", [x, out], sentrons=count)
        results.append(out.tobytes())
    assert results[0] == results[1]  # deterministic
    want = {RedOp.SUM: lambda a, b: a + b, RedOp.MAX: max, RedOp.MIN: min}[red]
    expected = reduce(want, x.tolist()) if not t.startswith("f") else reduce(
        want, [x.dtype.type(v) for v in x])
    assert np.frombuffer(results[0], x.dtype).tolist() == [expected] * count


def test_float_sum_is_a_left_fold() -> None:
    values = [1e16, 1.0, -1e16, 1.0]
    step = reducer(RedOp.SUM, Type.F64)
    assert step is not None
    folded = reduce(step, [f64_bits(v) for v in values])
    assert f64_value(folded) == 1.0  # ((1e16 + 1) - 1e16) + 1, not 2.0
    out = np.zeros(4)
    simulate(reduce_program("f64", RedOp.SUM), "k", [np.array(values), out], sentrons=4)
    assert out.tolist() == [1.0] * 4


def test_float_max_reduction_propagates_nan() -> None:
    out = np.zeros(3)
    simulate(reduce_program("f64", RedOp.MAX), "k", [np.array([1.0, math.nan, 2.0]), out],
             sentrons=3)
    assert all(math.isnan(v) for v in out)


@pytest.mark.parametrize("count", COUNTS)
def test_broadcast_from_last_sentron(count: int) -> None:
    prog = program([
        word(op("CSID", 1), op("SBASE", 0, 0)), op("CNUM", 2), op("DMOVI", 3, 1),
        op("DSUB.i64", 4, 2, 3), op("DMOVI", 5, 7), op("DMUL.i64", 6, 1, 5),
        op("DADD.i64", 6, 6, 3), op("CCAST", 7, 6, 4), op("SINDEX", 0, 0, 1, 0),
        op("SSCATTR.i64", 0, 7, 0), HALT,
    ], params=(tensor("out", "i64", "n"),), symbols=("n",))
    out = np.zeros(count, np.int64)
    simulate(prog, "k", [out], sentrons=count)
    assert out.tolist() == [(count - 1) * 7 + 1] * count


def _only_sentron_zero_halts_early(body: list) -> object:
    """CSID r1; if r1 == 0 halt; body; halt."""
    return program([op("CSID", 1), op("DMOVI", 2, 0), op("DBNZ", 1, 4), HALT] + body + [HALT])


def test_deadlock_recv_nobody_sends() -> None:
    prog = _only_sentron_zero_halts_early([op("CRECV", 0, 2)])
    with pytest.raises(DeadlockError) as info:
        simulate(prog, "k", [], sentrons=3)
    message = str(info.value)
    assert "sentron 1 waits in CRECV from sentron 0 at SIW 4" in message
    assert "sentron 2 waits in CRECV from sentron 0 at SIW 4" in message
    assert "sentron 0 has halted" in message
    assert "\n" not in message


def test_deadlock_barrier_skipped() -> None:
    prog = _only_sentron_zero_halts_early([op("CBAR")])
    with pytest.raises(DeadlockError, match="sentron 1 waits in CBAR at SIW 4"):
        simulate(prog, "k", [], sentrons=2)


def test_deadlock_both_receive_first() -> None:
    prog = program([op("CSID", 1), op("DMOVI", 2, 1), op("DSUB.i64", 3, 2, 1),
                    op("CRECV", 0, 3), HALT])
    with pytest.raises(DeadlockError, match="sentron 0 waits in CRECV from sentron 1 at SIW "
                                            "3; sentron 1 waits in CRECV from sentron 0"):
        simulate(prog, "k", [], sentrons=2)


def test_single_sentron_deadlocks_on_recv_from_itself() -> None:
    with pytest.raises(DeadlockError, match="sentron 0 waits in CRECV from sentron 0"):
        simulate(program([op("CRECV", 0, 0), HALT]), "k", [])


def test_collectives_must_match() -> None:
    prog = _only_sentron_zero_halts_early([op("CBAR")])
    prog.words[3] = word(op("CREDUCE.i64", 4, 1, RedOp.SUM))  # sentron 0 reduces instead
    prog.words.insert(4, word(op("DHALT")))
    prog.kernels[0] = dataclasses.replace(prog.kernels[0], length=len(prog.words))
    prog.words[2] = word(op("DBNZ", 1, 5))
    with pytest.raises(CollectiveMismatch, match="^sentrons met in different collectives: "
                                                 "sentron 0 in CREDUCE.i64 SUM at SIW 3; "
                                                 "sentron 1 in CBAR at SIW 5"):
        simulate(prog, "k", [], sentrons=2)


def test_bad_sentron_ids_and_counts() -> None:
    prog = program([op("DMOVI", 1, 5), op("CSEND", 0, 1), HALT])
    with pytest.raises(SentronCountError, match="sentron 0: CSEND to sentron 5, but there "
                                                "are only 2"):
        simulate(prog, "k", [], sentrons=2)
    with pytest.raises(SentronCountError, match="at least one sentron"):
        simulate(prog, "k", [], sentrons=0)
    prog.kernels[0] = dataclasses.replace(prog.kernels[0], min_sentrons=2, max_sentrons=4)
    with pytest.raises(SentronCountError, match="needs at least 2"):
        simulate(prog, "k", [], sentrons=1)
    with pytest.raises(SentronCountError, match="at most 4"):
        simulate(prog, "k", [], sentrons=5)


def test_scalar_arguments_reach_every_sentron() -> None:
    prog = program([op("DARG", 1, 0), op("CSID", 2), op("DADD.i64", 3, 1, 2), HALT],
                   params=(scalar("a", "i64"),))
    result = simulate(prog, "k", [40], sentrons=3)
    assert [regs[3] for regs in result.registers] == [40, 41, 42]
