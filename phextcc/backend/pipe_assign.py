"""Tier 1 (-O1): pipe separation. Each op goes to the slot of its pipe (from the ISA
table) and ops are packed in program order: an op joins the word being built when its
pipe's slot is free and nothing orders it after an op already there (dependence_graph
says what does). Nothing is reordered, so idle slots are filled only by neighbours.
"""

from __future__ import annotations

import networkx as nx

from phextcc.backend.isa import Pipe

Words = list[list[int]]  # per SIW, the block's node indices it holds


def pack_in_order(graph: nx.DiGraph) -> Words:
    """Group the nodes 0..n-1 of one block, in order, into words."""
    words: Words = []
    current: list[int] = []
    taken: set[Pipe] = set()
    for node in range(graph.number_of_nodes()):
        pipe = graph.nodes[node]["instr"].pipe
        blocked = pipe in taken or any(
            graph.has_edge(other, node) and graph.edges[other, node]["distance"] > 0
            for other in current)
        if blocked:
            words.append(current)
            current, taken = [], set()
        current.append(node)
        taken.add(pipe)
    if current:
        words.append(current)
    return words


def one_per_word(graph: nx.DiGraph) -> Words:
    """Tier 0: every op alone in its word."""
    return [[node] for node in range(graph.number_of_nodes())]
