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
    def __init__(self, graph: nx.DiGraph) -> None:
        self.graph = graph
        self.height = critical_heights(graph)
        self.word_of: dict[int, int] = {}
        self.time_of: dict[int, int] = {}

    def placeable(self, node: int, word: int) -> bool:
        """Every predecessor is placed early enough for ``node`` to go in ``word``."""
        for pred in self.graph.predecessors(node):
            placed = self.word_of.get(pred)
            if placed is None or placed + self.graph.edges[pred, node]["distance"] > word:
                return False
        return True

    def due(self, node: int) -> int:
        """The cycle at which every input of ``node`` is ready."""
        return max((self.time_of[pred] + self.graph.edges[pred, node]["latency"]
                    for pred in self.graph.predecessors(node)), default=0)

    def place(self, node: int, word: int, time: int) -> None:
        self.word_of[node] = word
        self.time_of[node] = time

    def priority(self, node: int) -> tuple[int, int]:
        return (-self.height[node], node)


def list_schedule(graph: nx.DiGraph) -> Words:
    """Pack one block's nodes into words (each node once; terminators last)."""
    schedule = _Schedule(graph)
    waiting = set(graph.nodes)
    words: Words = []
    time = 0
    while waiting:
        index = len(words)
        current: list[int] = []
        taken: set[Pipe] = set()
        while True:
            ready = [node for node in waiting
                     if graph.nodes[node]["instr"].pipe not in taken
                     and schedule.placeable(node, index) and schedule.due(node) <= time]
            if not ready:
                break
            chosen = min(ready, key=schedule.priority)
            schedule.place(chosen, index, time)
            waiting.discard(chosen)
            current.append(chosen)
            taken.add(graph.nodes[chosen]["instr"].pipe)
        if not current:
            # Nothing is due yet: the next word issues when its first op can.
            time = min(schedule.due(node) for node in waiting
                       if schedule.placeable(node, index))
            continue
        words.append(sorted(current))
        time += 1
    return words
