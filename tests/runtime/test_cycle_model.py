"""Cycle model sanity: stalls where dependences are, none where they are not,
caches, prefetch, PPT, messages, branches, and the stats report."""

from __future__ import annotations

import json

import numpy as np
import pytest

from phextcc.backend.isa import Hint
from runtime.simulator import simulate
from runtime.stats import Stats
from tests.runtime.build import HALT, op, program, run_ops, tensor, word


def stats_of(ops: list, init: dict[int, int] | None = None, **kwargs: object) -> Stats:
    result = run_ops(ops, init, **kwargs)
    assert result.stats is not None
    return result.stats


def check_accounting(stats: Stats) -> None:
    for s in stats.sentrons:
        assert s.cycles == s.siws + sum(s.stall_cycles.values())


def test_dependent_chain_stalls_independent_ops_do_not() -> None:
    chain = stats_of([op("DMUL.i64", 1, 1, 2) for _ in range(10)], {1: 3, 2: 5})
    independent = stats_of([op("DMUL.i64", 3 + i % 8, 1, 2) for i in range(10)], {1: 3, 2: 5})
    # imul latency 3: each dependent multiply waits 2 cycles for the previous one
    assert chain.stall_cycles["raw_d"] == 9 * 2
    assert independent.stall_cycles["raw_d"] == 0
    assert independent.cycles == independent.siws
    check_accounting(chain)
    check_accounting(independent)


def test_cross_pipe_dependences_have_their_own_cause() -> None:
    stats = stats_of([op("CSID", 1), op("DADD.i64", 2, 1, 1), op("CPACK", 0, 2, 0),
                      op("SINDEX", 0, 0, 1, 0), op("SMOVP", 1, 0)])
    assert stats.stall_cycles["raw_c"] == 0  # alu latency 1 never stalls the next word
    slow = stats_of([op("DDIV.i64", 1, 1, 2), op("SINDEX", 0, 0, 1, 0),
                     op("SINDEX", 1, 0, 1, 0)], {1: 9, 2: 3})
    assert slow.stall_cycles["raw_d"] == 18 - 1


def test_full_words_count_three_ops_per_cycle() -> None:
    full = [word(op("DADD.i64", 1 + i % 4, 5, 5), op("SINDEX", i % 4, 4, 5, 0),
                 op("CPACK", i % 4, 5, 0)) for i in range(12)]
    stats = stats_of(full, {5: 1})
    assert stats.ops["D"] == 12 + 2 and stats.ops["S"] == 12 and stats.ops["C"] == 12
    assert stats.nops["C"] == stats.siws - 12
    assert stats.ops_per_cycle == pytest.approx(38 / stats.cycles)


def _sum_loop(prefetch: int | None, n: int):
    """s += x[i] for i < n (f64), optionally prefetching ``prefetch`` elements ahead."""
    body = [word(op("SGATHER.f64", 3, 0, 0), op("DADD.i64", 1, 1, 4))]
    if prefetch is not None:
        body.append(word(op("SPREFCH", 0, Hint.L1, prefetch)))
    body += [word(op("DADD.f64", 2, 2, 3), op("SINDEX", 0, 0, 4, 0))]
    top = 5
    words = [word(op("DSYM", 5, 0), op("SBASE", 0, 0)), op("DMOVI", 4, 1), op("DMOVI", 1, 0),
             op("DMOVI", 2, 0), op("DMOVI", 6, 0)] + body + [op("DBR.lt.i64", 1, 5, top), HALT]
    return program(words, params=(tensor("x", "f64", "n"),), symbols=("n",))


def test_prefetched_stream_has_fewer_memory_stalls() -> None:
    x = np.ones(8192)
    plain = simulate(_sum_loop(None, 8192), "k", [x]).stats
    fetched = simulate(_sum_loop(128, 8192), "k", [x]).stats
    assert plain is not None and fetched is not None
    assert fetched.stall_cycles["memory"] < plain.stall_cycles["memory"] / 4
    assert fetched.cache["prefetches"]["issued"] == 8192
    assert fetched.cycles < plain.cycles
    check_accounting(plain)
    check_accounting(fetched)


def test_cache_hits_and_misses_follow_real_lines() -> None:
    x = np.arange(32, dtype=np.int64)
    lines = len({(x.ctypes.data + 8 * i) >> 6 for i in range(32)})
    words = [op("SBASE", 0, 0)] + [op("SGATHER.i64", 1, 0, i) for i in range(32)] + [HALT]
    stats = simulate(program(words, params=(tensor("x", "i64", 32),)), "k", [x]).stats
    assert stats is not None
    assert stats.cache["L1"]["misses"] == lines
    assert stats.cache["L1"]["hits"] == 32 - lines
    assert stats.cache["L3"]["misses"] == lines  # cold: every miss goes to DRAM
    # all 32 accesses fall in one 2048-element page: one translation miss
    assert (stats.ppt["hits"], stats.ppt["misses"]) == (31, 1)


def test_spec_profile_is_more_optimistic() -> None:
    x = np.ones(2048)
    zen4 = simulate(_sum_loop(None, 2048), "k", [x]).stats
    spec = simulate(_sum_loop(None, 2048), "k", [x], profile="spec").stats
    assert zen4 is not None and spec is not None
    assert spec.cycles < zen4.cycles
    with pytest.raises(ValueError, match="unknown cycle profile 'm1'"):
        simulate(_sum_loop(None, 4), "k", [np.ones(4)], profile="m1")


def test_loop_exit_costs_one_misprediction() -> None:
    stats = stats_of([op("DMOVI", 1, 0), op("DMOVI", 3, 1), op("DADD.i64", 1, 1, 3),
                      op("DBR.lt.i64", 1, 2, 3)], {2: 20})
    assert stats.stall_cycles["branch"] == 13  # zen4 mispredict, once, at the exit


def test_message_latency_shows_as_recv_wait() -> None:
    # sentron 0 sends to 1 immediately; sentron 1 receives right away and waits
    prog = program([op("CSID", 1), op("DMOVI", 2, 1), op("DBNZ", 1, 5),
                    op("CSEND", 0, 2), HALT, op("DMOVI", 3, 0), op("CRECV", 0, 3), HALT])
    stats = simulate(prog, "k", [], sentrons=2).stats
    assert stats is not None
    receiver = stats.sentrons[1]
    assert receiver.stall_cycles["recv_wait"] > 0
    sender_issue = 3  # CSEND issues in cycle 3 on sentron 0
    assert receiver.cycles == sender_issue + 70 + 1 + 1  # arrival, CRECV, then DHALT
    check_accounting(stats)


def test_barrier_wait_for_the_slow_sentron() -> None:
    # sentron 1 does a division chain first; sentron 0 waits for it at the barrier
    prog = program([op("CSID", 1), op("DMOVI", 2, 3), op("DBZ", 1, 6),
                    op("DDIV.i64", 2, 2, 2), op("DDIV.i64", 2, 2, 2), op("DDIV.i64", 2, 2, 2),
                    op("CBAR"), HALT])
    stats = simulate(prog, "k", [], sentrons=2).stats
    assert stats is not None
    assert stats.sentrons[0].stall_cycles["barrier_wait"] > 20
    # the last to arrive only waits the barrier's own latency (1 cycle in zen4)
    assert stats.sentrons[1].stall_cycles["barrier_wait"] == 1
    assert stats.sentrons[0].cycles == stats.sentrons[1].cycles  # released together
    check_accounting(stats)


def test_stats_json_keys_and_text() -> None:
    stats = stats_of([op("DMUL.i64", 1, 1, 1)], {1: 2})
    data = stats.to_json()
    assert list(data) == ["siws", "ops", "nops", "cycles", "stall_cycles", "ops_per_cycle",
                          "sentrons", "cache", "ppt"]
    assert data["siws"] == 3 and data["ops"] == {"D": 3, "S": 0, "C": 0}
    json.dumps(data)
    text = stats.format_text()
    assert "ops/cycle" in text and "SIWs           3" in text


def test_stats_off_gives_none_and_same_results() -> None:
    x = np.arange(8, dtype=np.float64)
    assert simulate(_sum_loop(2, 8), "k", [x], collect_stats=False).stats is None
    on = simulate(_sum_loop(2, 8), "k", [x]).registers[0]
    off = simulate(_sum_loop(2, 8), "k", [x], collect_stats=False).registers[0]
    assert on == off


def test_pipe_bound_and_efficiency() -> None:
    # 4 D ops and 2 S ops, no dependences: the D pipe bounds ops/cycle at 6/4.
    stats = stats_of([word(op("DMOVI", 1, 1), op("SBASE", 0, 0)), op("DMOVI", 2, 2),
                      word(op("DMOVI", 3, 3), op("SBASE", 1, 1)), op("DMOVI", 4, 4)])
    sentron = stats.sentrons[0]
    assert sentron.ops == {"D": 5, "S": 2, "C": 0}  # + the final DHALT
    assert sentron.pipe_bound == pytest.approx(7 / 5)
    assert sentron.cycles == 5
    assert sentron.efficiency == pytest.approx((7 / 5) / (7 / 5))
    assert stats.to_json()["sentrons"][0]["pipe_bound"] == pytest.approx(1.4)
    assert "pipe bound 1.400" in stats.format_text()


def test_warm_runs_keep_the_caches_and_restore_the_arrays() -> None:
    # x[i] += 1 over 4096 elements: a warm-up run must not leave its increments behind.
    words = [word(op("DSYM", 5, 0), op("SBASE", 0, 0)), op("DMOVI", 4, 1), op("DMOVI", 1, 0),
             op("DMOVI", 6, 1), op("SGATHER.i64", 2, 0, 0), op("DADD.i64", 2, 2, 6),
             op("SSCATTR.i64", 0, 2, 0), word(op("DADD.i64", 1, 1, 4), op("SINDEX", 0, 0, 4, 0)),
             op("DBR.lt.i64", 1, 5, 4), HALT]
    kernel = program(words, params=(tensor("x", "i64", "n"),), symbols=("n",))
    cold_x, warm_x = np.arange(4096, dtype=np.int64), np.arange(4096, dtype=np.int64)
    cold = simulate(kernel, "k", [cold_x]).stats
    warm = simulate(kernel, "k", [warm_x], warm_runs=2).stats
    assert cold is not None and warm is not None
    np.testing.assert_array_equal(warm_x, np.arange(4096) + 1)
    np.testing.assert_array_equal(cold_x, warm_x)
    assert cold.cache["L3"]["misses"] > 0 and warm.cache["L3"]["misses"] == 0
    assert warm.stall_cycles["memory"] < cold.stall_cycles["memory"]
    assert warm.siws == cold.siws and warm.cycles < cold.cycles
    check_accounting(warm)
