"""Tier 2 (-O2): SIW packing by list scheduling over one block's dependence DAG.

Scheduling runs after register allocation, on physical registers: it can never raise
register pressure (no spill code appears because of it), at the price of the anti and
output dependences allocation introduced. The kernels of this language are short
bodies around memory streams where those false dependences cost little, and a
pressure-limited pre-allocation scheduler would need the allocator to respect a
schedule it cannot see.

Cycle-driven: at each cycle the ready ops (every predecessor placed, its word distance
met, its result due by now) fill the free slots, highest critical path first, program
order breaking ties. When nothing is due the schedule does not emit an empty word: the
next word simply issues later (the hardware stalls on its scoreboard), so the stream
never carries all-NOP words.
"""

from __future__ import annotations

import networkx as nx

from phextcc.backend.dependence_graph import critical_heights
from phextcc.backend.isa import Pipe
from phextcc.backend.pipe_assign import Words


class _Schedule:
    """Placement state; an op's word bound and due cycle are fixed once its last
    predecessor is placed (kept incrementally: a block can hold hundreds of ops)."""

    def __init__(self, graph: nx.DiGraph) -> None:
        self.graph = graph
        self.height = critical_heights(graph)
        self.word_of: dict[int, int] = {}
        self.time_of: dict[int, int] = {}
        self.missing = {node: graph.in_degree(node) for node in graph.nodes}
        self.earliest_word = dict.fromkeys(graph.nodes, 0)
        self.due_time = dict.fromkeys(graph.nodes, 0)
        self.successors = {node: [(succ, graph.edges[node, succ]["distance"],
                                   graph.edges[node, succ]["latency"])
                                  for succ in graph.successors(node)]
                           for node in graph.nodes}
        # Ops whose predecessors are all placed, not yet placed themselves.
        self.released = {node for node, count in self.missing.items() if count == 0}

    def placeable(self, node: int, word: int) -> bool:
        """Every predecessor is placed early enough for ``node`` to go in ``word``."""
        return self.missing[node] == 0 and self.earliest_word[node] <= word

    def due(self, node: int) -> int:
        """The cycle at which every input of ``node`` is ready."""
        return self.due_time[node]

    def place(self, node: int, word: int, time: int) -> None:
        self.word_of[node] = word
        self.time_of[node] = time
        self.released.discard(node)
        for succ, distance, latency in self.successors[node]:
            self.missing[succ] -= 1
            self.earliest_word[succ] = max(self.earliest_word[succ], word + distance)
            self.due_time[succ] = max(self.due_time[succ], time + latency)
            if self.missing[succ] == 0:
                self.released.add(succ)

    def priority(self, node: int) -> tuple[int, int]:
        return (-self.height[node], node)


def list_schedule(graph: nx.DiGraph) -> Words:
    """Pack one block's nodes into words (each node once; terminators last)."""
    schedule = _Schedule(graph)
    pipe_of = {node: graph.nodes[node]["instr"].pipe for node in graph.nodes}
    remaining = graph.number_of_nodes()
    words: Words = []
    time = 0
    while remaining:
        index = len(words)
        current: list[int] = []
        taken: set[Pipe] = set()
        while True:
            ready = [node for node in schedule.released
                     if pipe_of[node] not in taken
                     and schedule.placeable(node, index) and schedule.due(node) <= time]
            if not ready:
                break
            chosen = min(ready, key=schedule.priority)
            schedule.place(chosen, index, time)
            remaining -= 1
            current.append(chosen)
            taken.add(pipe_of[chosen])
        if not current:
            # Nothing is due yet: the next word issues when its first op can.
            time = min(schedule.due(node) for node in schedule.released
                       if schedule.placeable(node, index))
            continue
        words.append(sorted(current))
        time += 1
    return words
