"""Tier 1 (-O1): pipe separation. Each op goes to the slot of its pipe (from the ISA
table) and the D, S and C work of a block is grouped into words, cycle by cycle, on the
registers the allocator chose. Tier 0 puts every op alone in its word.

Tier 1 knows the latencies (the dependence DAG's edges carry them, from the cycle
model's default profile): an op is placed once its inputs are due, the longest latency
chain first, so a block's loads issue before the arithmetic that waits for them and
their cache misses overlap instead of following one another. A packer blind to
latencies puts each consumer in the word right after its producer: it stalls there,
and every load behind it waits for that stall, so two misses of one iteration cost
twice the memory latency.

What tier 1 does not do is rename: the anti and output dependences of registers the
allocator reused inside a block stay (two values through one register keep their
order). Removing them is tier 2's job (rename.py, then the same list scheduler on the
freer DAG).
"""

from __future__ import annotations

import networkx as nx

Words = list[list[int]]  # per SIW, the block's node indices it holds


def pack_by_dependences(graph: nx.DiGraph) -> Words:
    """Group the nodes of one block into words: cycle-driven list scheduling over the
    block's DAG as built (false register dependences included), latencies honoured."""
    # Imported here: list_schedule itself imports ``Words`` from this module.
    from phextcc.backend.list_schedule import list_schedule

    return list_schedule(graph)


def one_per_word(graph: nx.DiGraph) -> Words:
    """Tier 0: every op alone in its word."""
    return [[node] for node in range(graph.number_of_nodes())]
