"""Tier 1 packing (pipe_assign.pack_by_dependences): latency-aware grouping of a block's
D, S and C ops on the allocator's registers, judged by the cycles an in-order machine
needs to issue its words (the DAG's latencies are the cycle model's)."""

from __future__ import annotations

import networkx as nx

from phextcc.backend.dependence_graph import build_dependence_graph
from phextcc.backend.isa import BY_MNEMONIC
from phextcc.backend.list_schedule import list_schedule
from phextcc.backend.pipe_assign import Words, one_per_word, pack_by_dependences
from phextcc.backend.program import Instr
from phextcc.backend.rename import block_liveness, rename_block


def op(mnemonic: str, *args: int) -> Instr:
    return Instr(BY_MNEMONIC[mnemonic], args)


def issue_cycles(graph: nx.DiGraph, words: Words) -> int:
    """Cycles to issue ``words`` in order, one per cycle at best, each word waiting
    until every input of its ops is due (the scoreboard of the cycle model, with the
    latencies the DAG carries)."""
    issued: dict[int, int] = {}
    cycle = -1
    for word in words:
        cycle += 1
        for node in word:
            for producer in graph.predecessors(node):
                cycle = max(cycle, issued[producer] + graph.edges[producer, node]["latency"])
        for node in word:
            issued[node] = cycle
    return cycle + 1


def latency_blind(graph: nx.DiGraph) -> Words:
    """What tier 1 used to do: the same grouping with every latency taken as the word
    distance, so a consumer lands right after its producer."""
    unit = graph.copy()
    for a, b in unit.edges:
        unit.edges[a, b]["latency"] = unit.edges[a, b]["distance"]
    return list_schedule(unit)


def placement(words: Words) -> dict[int, int]:
    return {node: index for index, word in enumerate(words) for node in word}


# One iteration of dot_allreduce's loop: x[i] feeds a running max at once, y[i] only
# the product; both loads go through their own coordinate register.
DOT_PEAK = [
    op("SINDEX", 3, 0, 1, 0),        # 0: coordinate of x[i]
    op("SGATHER.f32", 4, 3, 0),      # 1: x[i]
    op("DMAX.f32", 5, 5, 4),         # 2: peak = max(peak, x[i])
    op("SINDEX", 4, 1, 1, 0),        # 3: coordinate of y[i]
    op("SGATHER.f32", 6, 4, 0),      # 4: y[i]
    op("DMUL.f32", 7, 4, 6),         # 5: x[i] * y[i]
    op("DADD.f32", 0, 0, 7),         # 6: acc += ...
    op("DADD.i64", 1, 1, 3),         # 7: i += k
    op("DBR.lt.i64", 1, 2, 0),       # 8: loop
]


def test_both_loads_issue_before_the_arithmetic_waiting_for_the_first() -> None:
    graph = build_dependence_graph(DOT_PEAK)
    placed = placement(pack_by_dependences(graph))
    # The y load does not queue behind the max that waits for x: their cache misses
    # overlap instead of costing the memory latency twice.
    assert placed[4] < placed[2]
    blind = placement(latency_blind(graph))
    assert blind[2] < blind[4]


def test_latencies_make_the_block_issue_sooner_than_a_latency_blind_grouping() -> None:
    graph = build_dependence_graph(DOT_PEAK)
    tier1 = issue_cycles(graph, pack_by_dependences(graph))
    assert tier1 < issue_cycles(graph, latency_blind(graph))
    assert tier1 < issue_cycles(graph, one_per_word(graph))


def test_the_branch_stays_last_and_every_op_is_placed_once() -> None:
    graph = build_dependence_graph(DOT_PEAK)
    words = pack_by_dependences(graph)
    placed = placement(words)
    assert sorted(placed) == list(range(len(DOT_PEAK)))
    assert placed[8] == len(words) - 1
    for word in words:
        pipes = [DOT_PEAK[node].pipe for node in word]
        assert len(pipes) == len(set(pipes))  # one op per pipe slot


class _Pending:
    """The fields renaming works on (emission's pending op)."""

    def __init__(self, instr: Instr) -> None:
        self.info = instr.info
        self.args = list(instr.args)


def test_tier_one_keeps_a_reused_register_in_order_and_tier_two_renames_it() -> None:
    # Both loads through p3: the allocator reused the register once the first load
    # had read it.
    instrs = [op("SINDEX", 3, 0, 1, 0), op("SGATHER.f32", 4, 3, 0),
              op("SINDEX", 3, 1, 1, 0), op("SGATHER.f32", 5, 3, 0),
              op("DADD.f32", 6, 4, 5)]
    graph = build_dependence_graph(instrs)
    tier1_words = pack_by_dependences(graph)
    placed = placement(tier1_words)
    assert placed[2] > placed[1]  # the second coordinate waits for the first load
    pending = [_Pending(instr) for instr in instrs]
    live_in, live_out = block_liveness([pending], [[]])
    assert rename_block(pending, live_in[0], live_out[0]) > 0
    renamed = build_dependence_graph([Instr(item.info, tuple(item.args)) for item in pending])
    tier2_cycles = issue_cycles(renamed, list_schedule(renamed))
    assert tier2_cycles <= issue_cycles(graph, tier1_words)
