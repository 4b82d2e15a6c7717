"""Packing a software-pipelined kernel block by the rows of its modulo schedule.

The modulo scheduler (modulo_schedule.py) places every op of a kernel iteration in a
row so that each pipe issues at most one op per row and every dependence, latency
included, is met around the back edge as well. The list scheduler, run after register
allocation, sees only the one block and re-derives an order that ignores the next
kernel iteration, so it packs the kernel looser than the rows did. Allocation may
however add spill code (ops without a row) or reuse a register in a way a row cannot
hold: the rows are followed only when they still respect the allocated block's
dependence DAG, else the block is list scheduled.
"""

from __future__ import annotations

from collections.abc import Sequence

import networkx as nx

from phextcc.backend.dependence_graph import is_terminator

Words = list[list[int]]


def follow_rows(graph: nx.DiGraph, rows: Sequence[int | None]) -> Words | None:
    """Words holding node n in row ``rows[n]`` (rows without ops dropped; nodes without
    a row must be terminators, each in a word of its own after the rows), or None when
    that breaks a dependence or puts two ops of one pipe in a word."""
    placed: dict[int, list[int]] = {}
    trailing: list[int] = []
    for node, row in enumerate(rows):
        if row is not None:
            placed.setdefault(row, []).append(node)
        elif is_terminator(graph.nodes[node]["instr"].info):
            trailing.append(node)
        else:
            return None
    words: Words = [sorted(placed[row]) for row in sorted(placed)]
    words.extend([node] for node in trailing)
    word_of = {node: index for index, word in enumerate(words) for node in word}
    for word in words:
        pipes = [graph.nodes[node]["instr"].pipe for node in word]
        if len(set(pipes)) != len(pipes):
            return None
    for first, second, data in graph.edges(data=True):
        if word_of[second] - word_of[first] < data["distance"]:
            return None
    return words
