"""Iterative modulo scheduling (Rau 1994) of one loop body's dependence graph.

The input is abstract: nodes with the pipe they occupy (None: no slot, e.g. a
``siw.undef``) and edges ``source -> target`` with a latency in cycles and a distance
in iterations. A schedule gives every node a time ``t``; iteration ``i`` runs node
``n`` at ``i * II + t[n]``. It is legal when

- every edge holds: ``t[target] + distance * II >= t[source] + latency``;
- every row ``r`` of the modulo reservation table holds at most one node per pipe
  (``t mod II == r``: one op per pipe per SIW in the steady state);
- the nodes pinned to stage 0 run in the first ``II`` cycles of their iteration and
  the loop's branch, if any, runs at exactly ``II - 1`` (the last word of the kernel).

II starts at MII = max(ResMII, RecMII) and grows until a schedule is found within a
budget of placement steps. Nodes are placed in program order first (each lands just
after its inputs, so values live briefly), then, if that fails at this II, by
decreasing height (the longest latency path to the end of the iteration, Rau's
priority, better for recurrences); when no row is free in the
window ``[Estart, Estart + II)``, the node displaces the occupant of a row and any
scheduled neighbour whose edge no longer holds goes back to the work list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from phextcc.backend.isa import Pipe

# Placement steps allowed per node before II is raised.
BUDGET_PER_NODE = 6
# How far above MII the search goes before giving up.
II_SEARCH_SPAN = 64


@dataclass(frozen=True)
class DependenceEdge:
    source: int
    target: int
    latency: int
    distance: int  # iterations: 0 within one iteration, k to the iteration k later


@dataclass
class LoopGraph:
    pipes: Sequence[Pipe | None]
    edges: Sequence[DependenceEdge]
    stage_zero: frozenset[int] = frozenset()  # nodes that must run in [0, II)
    branch: int | None = None  # the loop's branch: exactly at II - 1
    single_stage: bool = False  # every node in [0, II): a reordering, no overlap

    @property
    def size(self) -> int:
        return len(self.pipes)


@dataclass(frozen=True)
class ModuloSchedule:
    ii: int
    times: tuple[int, ...]

    def stage(self, node: int) -> int:
        return self.times[node] // self.ii

    def row(self, node: int) -> int:
        return self.times[node] % self.ii

    @property
    def stages(self) -> int:
        return max((t // self.ii for t in self.times), default=0) + 1


def resource_mii(graph: LoopGraph) -> int:
    counts: dict[Pipe, int] = {}
    for pipe in graph.pipes:
        if pipe is not None:
            counts[pipe] = counts.get(pipe, 0) + 1
    return max(counts.values(), default=1)


def _has_positive_cycle(graph: LoopGraph, ii: int) -> bool:
    """Longest-path relaxation with weights ``latency - II * distance``: a cycle of
    positive weight means no schedule at this II."""
    longest = [0] * graph.size
    forward = sorted(graph.edges, key=lambda e: e.source)  # few passes on a body
    for _ in range(graph.size + 1):
        changed = False
        for edge in forward:
            candidate = longest[edge.source] + edge.latency - ii * edge.distance
            if candidate > longest[edge.target]:
                longest[edge.target] = candidate
                changed = True
        if not changed:
            return False
    return True


def recurrence_mii(graph: LoopGraph, start: int = 1, limit: int = 1 << 16) -> int | None:
    """The smallest II >= start without a positive cycle (None: none up to limit, e.g.
    a cycle of distance 0 with positive latency)."""
    if not _has_positive_cycle(graph, start):
        return start
    low, high = start, start
    while _has_positive_cycle(graph, high):
        low, high = high, high * 2
        if high > limit:
            return None
    while high - low > 1:
        middle = (low + high) // 2
        if _has_positive_cycle(graph, middle):
            low = middle
        else:
            high = middle
    return high


def _heights(graph: LoopGraph, ii: int) -> list[int]:
    """Longest path from each node to the end of its iteration (HeightR)."""
    height = [0] * graph.size
    backward = sorted(graph.edges, key=lambda e: -e.target)  # few passes on a body
    for _ in range(graph.size + 1):
        changed = False
        for edge in backward:
            candidate = height[edge.target] + edge.latency - ii * edge.distance
            if candidate > height[edge.source]:
                height[edge.source] = candidate
                changed = True
        if not changed:
            break
    return height


@dataclass
class _Attempt:
    graph: LoopGraph
    ii: int
    time: dict[int, int] = field(default_factory=dict)
    last_time: dict[int, int] = field(default_factory=dict)
    occupant: dict[tuple[Pipe, int], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.preds: list[list[DependenceEdge]] = [[] for _ in range(self.graph.size)]
        self.succs: list[list[DependenceEdge]] = [[] for _ in range(self.graph.size)]
        for edge in self.graph.edges:
            self.preds[edge.target].append(edge)
            self.succs[edge.source].append(edge)

    def pinned(self, node: int) -> bool:
        return node in self.graph.stage_zero or node == self.graph.branch

    def earliest(self, node: int) -> int:
        return max([0] + [self.time[e.source] + e.latency - self.ii * e.distance
                          for e in self.preds[node] if e.source in self.time])

    def latest(self, node: int) -> int:
        """Upper bound of a pinned node: its stage and its scheduled successors."""
        if node == self.graph.branch:
            return self.ii - 1
        bound = self.ii - 1
        for edge in self.succs[node]:
            if edge.target in self.time:
                bound = min(bound, self.time[edge.target] - edge.latency
                            + self.ii * edge.distance)
        return bound

    def free(self, node: int, t: int) -> bool:
        pipe = self.graph.pipes[node]
        return pipe is None or (pipe, t % self.ii) not in self.occupant

    def place(self, node: int, t: int) -> None:
        pipe = self.graph.pipes[node]
        if pipe is not None:
            self.occupant[(pipe, t % self.ii)] = node
        self.time[node] = t
        self.last_time[node] = t

    def remove(self, node: int) -> None:
        t = self.time.pop(node)
        pipe = self.graph.pipes[node]
        if pipe is not None and self.occupant.get((pipe, t % self.ii)) == node:
            del self.occupant[(pipe, t % self.ii)]

    def violated_neighbours(self, node: int) -> list[int]:
        t = self.time[node]
        found = [e.target for e in self.succs[node] if e.target in self.time
                 and self.time[e.target] + self.ii * e.distance < t + e.latency]
        found += [e.source for e in self.preds[node] if e.source in self.time
                  and t + self.ii * e.distance < self.time[e.source] + e.latency]
        return [n for n in dict.fromkeys(found) if n != node]


def _schedule_at(graph: LoopGraph, ii: int, by_height: bool) -> ModuloSchedule | None:
    """One attempt at ``ii``: nodes in program order (each op lands just after what it
    reads, so values live briefly: the order that keeps register pressure low), or by
    height (what recurrences need)."""
    attempt = _Attempt(graph, ii)
    height = _heights(graph, ii) if by_height else [0] * graph.size
    # Pinned loop control goes as late as possible (below), so it is placed last op
    # first: each op then knows where its readers are.
    pinned_sign = 1 if graph.single_stage else -1
    order_key = {node: (0 if node == graph.branch else 1 if node in graph.stage_zero else 2,
                        -height[node], pinned_sign * node if node in graph.stage_zero else node)
                 for node in range(graph.size)}
    unscheduled = set(range(graph.size))
    budget = BUDGET_PER_NODE * graph.size + 8
    while unscheduled:
        budget -= 1
        if budget < 0:
            return None
        node = min(unscheduled, key=order_key.__getitem__)
        start = ii - 1 if node == graph.branch else attempt.earliest(node)
        if attempt.pinned(node) and not graph.single_stage:
            # Loop control as late as the branch allows: the old induction value then
            # dies before the new one is made, and the two share a register.
            window: Iterable[int] = range(attempt.latest(node), start - 1, -1)
        elif attempt.pinned(node):
            window = range(start, attempt.latest(node) + 1)
        elif graph.single_stage:
            window = range(start, ii)
        else:
            window = range(start, start + ii)
        chosen = next((t for t in window if attempt.free(node, t)), None)
        if chosen is None:
            if attempt.pinned(node):
                return None
            displaced = _displacing_time(attempt, node, start)
            if displaced is None:
                return None
            chosen, evicted = displaced
            if evicted is not None:
                unscheduled.add(evicted)
        attempt.place(node, chosen)
        unscheduled.discard(node)
        for victim in attempt.violated_neighbours(node):
            if attempt.pinned(victim):
                return None
            attempt.remove(victim)
            unscheduled.add(victim)
    return ModuloSchedule(ii, tuple(attempt.time[n] for n in range(graph.size)))


def _displacing_time(attempt: _Attempt, node: int, start: int
                     ) -> tuple[int, int | None] | None:
    """A time for ``node`` whose row is free or holds a movable op, and that op, which
    the caller puts back on the work list (Rau: at least one past the node's last
    try, so the search moves on)."""
    first = max(start, attempt.last_time.get(node, start - 1) + 1)
    pipe = attempt.graph.pipes[node]
    end = attempt.ii if attempt.graph.single_stage else first + attempt.ii
    for t in range(first, end):
        occupant = attempt.occupant.get((pipe, t % attempt.ii)) if pipe is not None else None
        if occupant is None:
            return t, None
        if not attempt.pinned(occupant):
            attempt.remove(occupant)
            return t, occupant
    return None


def modulo_schedule(graph: LoopGraph, max_ii: int | None = None, min_ii: int = 1,
                    recurrences_checked: bool = False) -> ModuloSchedule | None:
    """A legal modulo schedule of ``graph`` at the smallest II (>= ``min_ii``) found,
    or None. ``recurrences_checked``: the caller knows ``min_ii`` is at least RecMII
    (a search over II then skips recomputing it)."""
    minimum = max(resource_mii(graph), 2 if graph.branch is not None else 1, min_ii)
    rec = minimum if recurrences_checked else recurrence_mii(graph, minimum)
    if rec is None:
        return None
    limit = max_ii if max_ii is not None else rec + II_SEARCH_SPAN
    for ii in range(rec, limit + 1):
        for by_height in (False, True):
            found = _schedule_at(graph, ii, by_height)
            if found is not None and not schedule_violations(graph, found):
                return found
    return None


def sink_nodes(graph: LoopGraph, schedule: ModuloSchedule, nodes: Iterable[int]
               ) -> ModuloSchedule:
    """The schedule with each of ``nodes`` (latest first) moved as late as its
    successors, its stage confinement and the free rows allow: a load placed as soon
    as its address is ready holds its result register until the consumer runs, one
    placed just in time does not. Pinned nodes stay."""
    ii = schedule.ii
    times = list(schedule.times)
    succs: list[list[DependenceEdge]] = [[] for _ in range(graph.size)]
    for edge in graph.edges:
        succs[edge.source].append(edge)
    taken = {(pipe, times[n] % ii): n for n, pipe in enumerate(graph.pipes) if pipe is not None}
    for node in sorted(nodes, key=lambda n: -times[n]):
        if node in graph.stage_zero or node == graph.branch:
            continue
        latest = min([times[e.target] - e.latency + ii * e.distance
                      for e in succs[node] if e.target != node]
                     + ([ii - 1] if graph.single_stage else [times[node] + ii - 1]))
        pipe = graph.pipes[node]
        for t in range(latest, times[node], -1):
            if pipe is None or (pipe, t % ii) not in taken:
                if pipe is not None:
                    del taken[(pipe, times[node] % ii)]
                    taken[(pipe, t % ii)] = node
                times[node] = t
                break
    moved = ModuloSchedule(ii, tuple(times))
    return moved if not schedule_violations(graph, moved) else schedule


def schedule_violations(graph: LoopGraph, schedule: ModuloSchedule) -> list[str]:
    """Every broken rule of a schedule (empty when it is legal)."""
    problems: list[str] = []
    ii, times = schedule.ii, schedule.times
    if len(times) != graph.size:
        return [f"{len(times)} times for {graph.size} nodes"]
    for edge in graph.edges:
        if times[edge.target] + ii * edge.distance < times[edge.source] + edge.latency:
            problems.append(f"edge {edge} broken by times {times[edge.source]}, "
                            f"{times[edge.target]} at II {ii}")
    rows: dict[tuple[Pipe, int], int] = {}
    for node, pipe in enumerate(graph.pipes):
        if times[node] < 0:
            problems.append(f"node {node} at negative time {times[node]}")
        if pipe is None:
            continue
        key = (pipe, times[node] % ii)
        if key in rows:
            problems.append(f"nodes {rows[key]} and {node} share {key}")
        rows[key] = node
    for node in graph.stage_zero:
        if times[node] >= ii:
            problems.append(f"stage-0 node {node} at time {times[node]}")
    if graph.single_stage and any(t >= ii for t in times):
        problems.append("a node beyond the first stage of a single-stage schedule")
    if graph.branch is not None and times[graph.branch] != ii - 1:
        problems.append(f"branch at {times[graph.branch]}, not {ii - 1}")
    return problems
