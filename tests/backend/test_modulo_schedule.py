"""The modulo scheduler alone: legal schedules (every node once, every dependence and
resource rule, stage-0 and branch pins) on hand-made and random loop graphs."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phextcc.backend.isa import Pipe
from phextcc.backend.modulo_schedule import (
    DependenceEdge,
    LoopGraph,
    ModuloSchedule,
    modulo_schedule,
    recurrence_mii,
    resource_mii,
    schedule_violations,
)

PIPES = (Pipe.D, Pipe.S, Pipe.C, None)


def _stream_graph(elements: int) -> LoopGraph:
    """load -> multiply -> store per element, plus iv += step, the test and branch."""
    pipes: list[Pipe | None] = []
    edges: list[DependenceEdge] = []
    for _ in range(elements):
        load, multiply, store = len(pipes), len(pipes) + 1, len(pipes) + 2
        pipes += [Pipe.S, Pipe.D, Pipe.S]
        edges += [DependenceEdge(load, multiply, 5, 0), DependenceEdge(multiply, store, 3, 0)]
    increment, branch = len(pipes), len(pipes) + 1
    pipes += [Pipe.D, Pipe.D]
    edges += [DependenceEdge(increment, increment, 1, 1),
              DependenceEdge(increment, branch, 1, 0)]
    edges += [DependenceEdge(increment, n, 1, 1) for n in range(0, 3 * elements, 3)]
    return LoopGraph(pipes, edges, frozenset({increment}), branch)


def test_stream_reaches_the_resource_bound_with_overlap() -> None:
    graph = _stream_graph(8)
    schedule = modulo_schedule(graph)
    assert schedule is not None
    assert schedule.ii == resource_mii(graph) == 16
    assert schedule_violations(graph, schedule) == []
    assert schedule.times[graph.branch] == schedule.ii - 1


def test_a_single_element_stream_overlaps_iterations() -> None:
    graph = _stream_graph(1)
    schedule = modulo_schedule(graph)
    assert schedule is not None
    # multiply, increment and branch share the D pipe: II 3; load to store spans more
    assert schedule.ii == 3 and schedule.stages >= 3


def test_a_recurrence_bounds_ii() -> None:
    # a -> b -> c -> a (distance 1): 3 + 4 + 2 cycles per iteration.
    edges = [DependenceEdge(0, 1, 3, 0), DependenceEdge(1, 2, 4, 0), DependenceEdge(2, 0, 2, 1)]
    graph = LoopGraph([Pipe.D, Pipe.D, Pipe.S], edges)
    assert recurrence_mii(graph) == 9
    schedule = modulo_schedule(graph)
    assert schedule is not None and schedule.ii == 9


def test_a_zero_distance_cycle_has_no_schedule() -> None:
    graph = LoopGraph([Pipe.D, Pipe.D], [DependenceEdge(0, 1, 1, 0), DependenceEdge(1, 0, 1, 0)])
    assert modulo_schedule(graph) is None


def test_violations_are_reported() -> None:
    graph = LoopGraph([Pipe.D, Pipe.D], [DependenceEdge(0, 1, 2, 0)], frozenset({1}))
    problems = schedule_violations(graph, ModuloSchedule(2, (0, 4)))
    assert any("edge" in p for p in problems) is False
    assert any("stage-0" in p for p in problems)
    assert any("share" in p for p in problems)
    assert schedule_violations(graph, ModuloSchedule(3, (0, 1)))[0].startswith("edge")


@st.composite
def loop_graphs(draw: st.DrawFn) -> LoopGraph:
    """Random loop graphs: forward edges of any distance, backward edges of distance
    >= 1 (a cycle of distance 0 would be no loop), maybe a pinned branch."""
    size = draw(st.integers(1, 24))
    pipes = draw(st.lists(st.sampled_from(PIPES), min_size=size, max_size=size))
    edges = []
    for _ in range(draw(st.integers(0, 3 * size))):
        a, b = draw(st.integers(0, size - 1)), draw(st.integers(0, size - 1))
        latency = draw(st.integers(0, 6))
        distance = draw(st.integers(0, 2)) if a < b else draw(st.integers(1, 3))
        edges.append(DependenceEdge(a, b, latency, distance))
    branch = None
    stage_zero: frozenset[int] = frozenset()
    if draw(st.booleans()):
        branch = size
        pipes = [*pipes, Pipe.D]
        test = draw(st.integers(0, size - 1))
        pipes[test] = Pipe.D
        # the loop test: computed from itself only, read by the branch
        edges = [e for e in edges if e.target != test]
        edges += [DependenceEdge(test, test, 1, 1), DependenceEdge(test, branch, 1, 0)]
        stage_zero = frozenset({test})
    return LoopGraph(pipes, edges, stage_zero, branch)


@settings(max_examples=150, deadline=None)
@given(loop_graphs())
def test_random_graphs_get_legal_schedules(graph: LoopGraph) -> None:
    schedule = modulo_schedule(graph)
    assert schedule is not None
    assert len(schedule.times) == graph.size  # every node exactly once
    assert schedule_violations(graph, schedule) == []
    assert schedule.ii >= resource_mii(graph)


@settings(max_examples=100, deadline=None)
@given(loop_graphs())
def test_single_stage_schedules_stay_in_one_stage(graph: LoopGraph) -> None:
    single = dataclasses.replace(graph, single_stage=True)
    span = sum(e.latency for e in graph.edges) + graph.size + 2
    schedule = modulo_schedule(single, max_ii=resource_mii(graph) + span)
    if any(e.distance == 0 for e in graph.edges if e.source == e.target):
        return
    assert schedule is not None
    assert schedule_violations(single, schedule) == []
    assert schedule.stages == 1


@pytest.mark.slow
@settings(max_examples=2000, deadline=None)
@given(loop_graphs())
def test_random_graphs_get_legal_schedules_long(graph: LoopGraph) -> None:
    schedule = modulo_schedule(graph)
    assert schedule is not None and schedule_violations(graph, schedule) == []
