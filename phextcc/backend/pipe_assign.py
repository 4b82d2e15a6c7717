"""Tier 1 (-O1): pipe separation. Each op goes to the slot of its pipe (from the ISA
table) and the D, S and C work of a block is grouped so that idle slots are filled:
ops are packed greedily, as early as their dependences allow (dependence_graph says
what orders what), longest dependence chain first. Unlike tiers 2-3 the packer does
not know latencies: a consumer may sit in the word right after its producer and stall
there. Tier 0 puts every op alone in its word.
"""

from __future__ import annotations

import networkx as nx

Words = list[list[int]]  # per SIW, the block's node indices it holds


def pack_by_dependences(graph: nx.DiGraph) -> Words:
    """Group the nodes of one block into words, ignoring latencies."""
    # Imported here: list_schedule itself imports ``Words`` from this module.
    from phextcc.backend.list_schedule import list_schedule

    unit = graph.copy()
    for a, b in unit.edges:
        unit.edges[a, b]["latency"] = unit.edges[a, b]["distance"]
    return list_schedule(unit)


def one_per_word(graph: nx.DiGraph) -> Words:
    """Tier 0: every op alone in its word."""
    return [[node] for node in range(graph.number_of_nodes())]
