"""The packers on hand-made and generated op sequences: every edge of the dependence
DAG is respected, words stay independent, terminators come last, nothing is lost."""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx
from hypothesis import given, settings
from hypothesis import strategies as st

from phextcc.backend.dependence_graph import build_dependence_graph, is_terminator
from phextcc.backend.isa import BY_MNEMONIC
from phextcc.backend.list_schedule import list_schedule
from phextcc.backend.pipe_assign import Words, one_per_word, pack_by_dependences
from phextcc.backend.program import Instr, Word
from phextcc.backend.rename import block_liveness, rename_block
from phextcc.backend.verifier import check_word_independence

PACKERS: tuple[Callable[[nx.DiGraph], Words], ...] = (one_per_word, pack_by_dependences,
                                                     list_schedule)


def op(mnemonic: str, *args: int) -> Instr:
    return Instr(BY_MNEMONIC[mnemonic], args)


def check_schedule(instrs: list[Instr], words: Words) -> None:
    graph = build_dependence_graph(instrs)
    placed = {node: index for index, word in enumerate(words) for node in word}
    assert sorted(placed) == list(range(len(instrs)))  # each op exactly once
    for a, b, data in graph.edges(data=True):
        assert placed[b] - placed[a] >= data["distance"], (instrs[a], instrs[b])
    for index, word in enumerate(words):
        pipes = [instrs[node].pipe for node in word]
        assert word and len(set(pipes)) == len(pipes)
        slots = {instrs[node].pipe.name.lower(): instrs[node] for node in word}
        check_word_independence(Word(**slots), index)
    for node, instr in enumerate(instrs):
        if is_terminator(instr.info):
            assert all(placed[other] <= placed[node] for other in range(len(instrs)))


def test_register_dependences_forbid_sharing_a_word() -> None:
    instrs = [op("DADD.i64", 1, 2, 3), op("DMOVI", 2, 5), op("SBASE", 0, 0),
              op("SINDEX", 1, 0, 1, 0)]
    graph = build_dependence_graph(instrs)
    assert graph.edges[0, 1]["distance"] == 1  # WAR on r2
    assert graph.edges[0, 3]["distance"] == 1  # RAW on r1 (D result read by S)
    assert graph.edges[2, 3]["latency"] >= 1  # RAW on p0
    assert not graph.has_edge(1, 2)


def test_memory_ops_keep_their_order_and_loads_may_pass_loads() -> None:
    instrs = [op("SGATHER.f32", 1, 0, 0), op("SSCATTR.f32", 1, 2, 0),
              op("SGATHER.f32", 3, 1, 0), op("DMOVI", 4, 1)]
    graph = build_dependence_graph(instrs)
    assert graph.has_edge(0, 1) and graph.has_edge(1, 2)
    assert not graph.has_edge(0, 3) and not graph.has_edge(2, 3)


def test_pipe_separation_groups_pipes_by_dependences_and_waits_for_latencies() -> None:
    instrs = [op("SGATHER.f32", 1, 0, 0), op("DMUL.f32", 2, 1, 1), op("DMOVI", 3, 2),
              op("SBASE", 1, 1), op("CSID", 4)]
    words = pack_by_dependences(build_dependence_graph(instrs))
    check_schedule(instrs, words)
    placed = {node: index for index, word in enumerate(words) for node in word}
    # The independent ops fill the load's word and the word after it; the multiply
    # waits until the load's result is due instead of sitting right behind it.
    assert placed[0] == 0 and placed[2] == 0 and placed[4] == 0
    assert placed[3] == 1 and placed[1] == 2


def test_list_schedule_hoists_independent_loads_and_ends_with_the_branch() -> None:
    instrs = [op("SGATHER.f32", 1, 0, 0), op("DMUL.f32", 2, 1, 1),
              op("SGATHER.f32", 3, 1, 0), op("DADD.f32", 4, 3, 3),
              op("DBNZ", 5, 0)]
    words = list_schedule(build_dependence_graph(instrs))
    check_schedule(instrs, words)
    placed = {node: index for index, word in enumerate(words) for node in word}
    assert placed[2] == 1  # the second load does not wait behind the first multiply
    assert placed[4] == len(words) - 1


def test_renaming_breaks_false_dependences_only_for_values_that_die() -> None:
    class Pending:
        def __init__(self, instr: Instr) -> None:
            self.info = instr.info
            self.args = list(instr.args)

    ops = [Pending(op("SBASE", 0, 0)), Pending(op("SGATHER.f32", 1, 0, 0)),
           Pending(op("SBASE", 0, 1)), Pending(op("SGATHER.f32", 2, 0, 0)),
           Pending(op("DADD.f32", 1, 1, 2))]
    live_in, live_out = block_liveness([ops], [[]])
    assert rename_block(ops, live_in[0], live_out[0]) == 2
    assert ops[2].args[0] == ops[3].args[1] != 0  # the second coordinate moved
    assert ops[4].args[1] == 1 and ops[4].args[0] != 1  # the sum left r1


_MNEMONICS = ("DADD.i64", "DMUL.i64", "DMOVI", "SBASE", "SINDEX", "SGATHER.i64",
              "SSCATTR.i64", "DDIV.i64", "CPACK", "CSEND", "CUNPK", "DCHK")


@st.composite
def op_sequences(draw: st.DrawFn) -> list[Instr]:
    """Straight-line blocks over few registers (so dependences are dense), ending in a
    branch half of the time."""
    instrs: list[Instr] = []
    for _ in range(draw(st.integers(1, 14))):
        info = BY_MNEMONIC[draw(st.sampled_from(_MNEMONICS))]
        args = []
        for operand in info.operands:
            if operand.kind.regclass is not None:
                args.append(draw(st.integers(0, 2)))
            else:
                args.append(draw(st.integers(0, 1)))
        instrs.append(Instr(info, tuple(args)))
    if draw(st.booleans()):
        instrs.append(op("DBNZ", draw(st.integers(0, 2)), 0))
    return instrs


@settings(max_examples=150, deadline=None)
@given(op_sequences())
def test_every_packer_respects_the_dag(instrs: list[Instr]) -> None:
    graph = build_dependence_graph(instrs)
    for packer in PACKERS:
        check_schedule(instrs, packer(graph))


def test_static_stats_show_denser_words_at_higher_tiers() -> None:
    from phextcc.backend.static_stats import static_stats
    from tests.e2e import oracle
    from tests.tiers.helpers import packed

    path = oracle.EXAMPLES / "dot.phx"
    rows = [static_stats(packed(path.read_text(), tier, str(path)))["dot"]
            for tier in (0, 1, 2)]
    assert rows[0]["ops_per_siw"] == 1.0
    # Tier 1 already packs dot's loop as tightly as its dependences allow; tier 2 only
    # reorders it for latencies, so it is at least as dense.
    assert rows[0]["ops_per_siw"] < rows[1]["ops_per_siw"] <= rows[2]["ops_per_siw"]
    assert rows[2]["nop_fraction"]["S"] < rows[0]["nop_fraction"]["S"]
    assert all(0.0 <= share <= 1.0 for share in rows[2]["nop_fraction"].values())
