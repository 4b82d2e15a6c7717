"""The dependence DAG of one basic block of allocated ops, shared by the packers.

Nodes are the block's ops in program order (0, 1, ...); an edge ``a -> b`` (a before b)
carries two numbers:

- ``distance``: the fewest SIWs ``b`` must come after ``a`` (0: may share a word, 1: a
  later word);
- ``latency``: the fewest cycles between their issues for ``b`` not to stall on ``a``
  (from the cycle model's default profile: one source of truth for latencies).

Edges come from the scheduling contract and from what an error must look like:

- registers (after allocation, so physical): RAW, WAR and WAW all forbid sharing a
  word (contract 2: no two ops of a word touch a register one of them writes);
- memory: every tensor may alias every other (a tensor can be passed twice), so a
  memory write stays ordered against every memory access; spill-area ops keep their
  order among themselves;
- C ops keep their order (message FIFOs, barriers, fences);
- ops that may stop the sentron (trap, or block: a receive, a barrier) keep their
  order, and no side effect (store, send, barrier, alloc) moves across one, so the
  first error of a run, its source location and what happened before it are those of
  the unscheduled stream. Two such ops share a word only when the earlier one's pipe
  comes first in ``isa.WORD_EXECUTION_ORDER``, the order in which both engines carry out
  a word (a trap ends the word there). An access an analysis proved inside its tensor
  (``siw.in_bounds``, passed as ``proven``) cannot trap;
- the block's terminators (branches, halt) come last: every op is in their word or
  an earlier one, and a conditional branch precedes its fall-through jump.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import networkx as nx

from phextcc.backend.isa import BY_MNEMONIC, EXECUTION_RANK, Effect, OpInfo, Pipe
from phextcc.backend.program import Instr
from phextcc.backend.verifier import reg_effects
from runtime.profiles import ZEN4

_MEMORY_READ = Effect.READ_MEM | Effect.PREFETCH
_MEMORY_WRITE = Effect.WRITE_MEM | Effect.ALLOC
_SIDE_EFFECTS = Effect.WRITE_MEM | Effect.SEND | Effect.RECV | Effect.SYNC | Effect.ALLOC
_TERMINATORS = Effect.BRANCH | Effect.HALT
_BLOCKS = Effect.RECV | Effect.SYNC
# Families whose ordering role the effects do not say: a fence orders memory.
_MEMORY_FENCES = frozenset({"CFENCE"})


def op_latency(info: OpInfo) -> int:
    """Cycles from issue to result in the default cycle profile (loads: an L1 hit plus
    the translation, which is what a well-prefetched stream sees)."""
    if info.effects & Effect.READ_MEM:
        return ZEN4.caches[0].latency + ZEN4.ppt_hit
    return max(1, ZEN4.latency[info.latency])


def is_terminator(info: OpInfo) -> bool:
    return bool(info.effects & _TERMINATORS)


def may_trap(info: OpInfo) -> bool:
    return bool(info.effects & Effect.TRAP)


def _memory_effects(info: OpInfo) -> tuple[bool, bool]:
    """(reads memory, writes memory) for ordering purposes."""
    if info.family in _MEMORY_FENCES:
        return True, True
    return bool(info.effects & _MEMORY_READ), bool(info.effects & _MEMORY_WRITE)


def _ordered(first: OpInfo, second: OpInfo, first_traps: bool, second_traps: bool
             ) -> int | None:
    """The fewest words ``second`` (later) must come after ``first`` for reasons other
    than registers (None: no constraint). ``*_traps``: whether that op may trap."""
    if first.pipe is Pipe.C and second.pipe is Pipe.C:
        return 1
    first_reads, first_writes = _memory_effects(first)
    second_reads, second_writes = _memory_effects(second)
    if (first_writes and (second_reads or second_writes)) or (first_reads and second_writes):
        return 1
    if first.effects & Effect.SPILL and second.effects & Effect.SPILL:
        return 1
    if first_traps and second_traps:
        return 1
    first_stops = first_traps or bool(first.effects & _BLOCKS)
    second_stops = second_traps or bool(second.effects & _BLOCKS)
    if (first_stops and (second_stops or second.effects & _SIDE_EFFECTS)) or \
            (first.effects & _SIDE_EFFECTS and second_stops):
        return 0 if EXECUTION_RANK[first.pipe] < EXECUTION_RANK[second.pipe] else 1
    return None


@functools.cache
def _ordered_by_mnemonic(first: str, second: str, first_traps: bool, second_traps: bool
                         ) -> int | None:
    """``_ordered`` memoised by mnemonic: blocks of hundreds of ops ask it for every
    pair."""
    return _ordered(BY_MNEMONIC[first], BY_MNEMONIC[second], first_traps, second_traps)


def _add_edge(graph: nx.DiGraph, a: int, b: int, distance: int, latency: int) -> None:
    """Add or strengthen the edge a -> b."""
    if graph.has_edge(a, b):
        data = graph.edges[a, b]
        data["distance"] = max(data["distance"], distance)
        data["latency"] = max(data["latency"], latency)
    else:
        graph.add_edge(a, b, distance=distance, latency=latency)


def build_dependence_graph(instrs: Sequence[Instr], proven: frozenset[int] = frozenset()
                           ) -> nx.DiGraph:
    """The DAG of one block's ops (node i = ``instrs[i]``, attribute ``instr``);
    ``proven``: the nodes that are accesses proven inside their tensor."""
    graph = nx.DiGraph()
    effects = [reg_effects(instr) for instr in instrs]
    traps = [may_trap(instr.info) and index not in proven
             for index, instr in enumerate(instrs)]
    for index, instr in enumerate(instrs):
        graph.add_node(index, instr=instr)
    for b, later in enumerate(instrs):
        later_reads, later_writes = effects[b]
        for a in range(b):
            earlier = instrs[a].info
            reads, writes = effects[a]
            if writes & later_reads:
                _add_edge(graph, a, b, 1, op_latency(earlier))
            if (reads & later_writes) or (writes & later_writes):
                _add_edge(graph, a, b, 1, 1)
            if is_terminator(later.info):
                # Terminators end the block: a branch may share its word with the
                # block's other ops (it takes effect after the word), one terminator
                # follows another in a later word.
                _add_edge(graph, a, b, 1 if is_terminator(earlier) else 0, 0)
            else:
                distance = _ordered_by_mnemonic(earlier.mnemonic, later.info.mnemonic,
                                                traps[a], traps[b])
                if distance is not None:
                    _add_edge(graph, a, b, distance, distance)
    return graph


def critical_heights(graph: nx.DiGraph) -> dict[int, int]:
    """Longest latency path from each node to the end of the block (list priority)."""
    height: dict[int, int] = {}
    for node in reversed(list(nx.topological_sort(graph))):
        height[node] = max((graph.edges[node, succ]["latency"] + height[succ]
                            for succ in graph.successors(node)), default=0)
    return height
