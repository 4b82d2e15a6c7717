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
- ops that may trap keep their order, and no side effect (store, send, barrier, alloc)
  moves across one, so the first error of a run, its source location and what happened
  before it are those of the unscheduled stream; two of them never share a word
  (the simulator and the JIT run a word's slots in different orders);
- the block's terminators (branches, halt) come last: every op is in their word or
  an earlier one, and a conditional branch precedes its fall-through jump.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import networkx as nx

from phextcc.backend.isa import BY_MNEMONIC, Effect, OpInfo, Pipe
from phextcc.backend.program import Instr
from phextcc.backend.verifier import reg_effects
from runtime.profiles import ZEN4

_MEMORY_READ = Effect.READ_MEM | Effect.PREFETCH
_MEMORY_WRITE = Effect.WRITE_MEM | Effect.ALLOC
_SIDE_EFFECTS = Effect.WRITE_MEM | Effect.SEND | Effect.RECV | Effect.SYNC | Effect.ALLOC
_TERMINATORS = Effect.BRANCH | Effect.HALT
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


def _ordered(first: OpInfo, second: OpInfo) -> bool:
    """True when ``second`` (later) must stay in a later word than ``first``, apart from
    registers."""
    if first.pipe is Pipe.C and second.pipe is Pipe.C:
        return True
    first_reads, first_writes = _memory_effects(first)
    second_reads, second_writes = _memory_effects(second)
    if (first_writes and (second_reads or second_writes)) or (first_reads and second_writes):
        return True
    if first.effects & Effect.SPILL and second.effects & Effect.SPILL:
        return True
    if may_trap(first) and (may_trap(second) or second.effects & _SIDE_EFFECTS):
        return True
    return bool(first.effects & _SIDE_EFFECTS and may_trap(second))


@functools.cache
def _ordered_by_mnemonic(first: str, second: str) -> bool:
    """``_ordered`` memoised by mnemonic: blocks of hundreds of ops ask it for every
    pair."""
    return _ordered(BY_MNEMONIC[first], BY_MNEMONIC[second])


def _add_edge(graph: nx.DiGraph, a: int, b: int, distance: int, latency: int) -> None:
    """Add or strengthen the edge a -> b."""
    if graph.has_edge(a, b):
        data = graph.edges[a, b]
        data["distance"] = max(data["distance"], distance)
        data["latency"] = max(data["latency"], latency)
    else:
        graph.add_edge(a, b, distance=distance, latency=latency)


def build_dependence_graph(instrs: Sequence[Instr]) -> nx.DiGraph:
    """The DAG of one block's ops (node i = ``instrs[i]``, attribute ``instr``)."""
    graph = nx.DiGraph()
    effects = [reg_effects(instr) for instr in instrs]
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
            elif _ordered_by_mnemonic(earlier.mnemonic, later.info.mnemonic):
                _add_edge(graph, a, b, 1, 1)
    return graph


def critical_heights(graph: nx.DiGraph) -> dict[int, int]:
    """Longest latency path from each node to the end of the block (list priority)."""
    height: dict[int, int] = {}
    for node in reversed(list(nx.topological_sort(graph))):
        height[node] = max((graph.edges[node, succ]["latency"] + height[succ]
                            for succ in graph.successors(node)), default=0)
    return height
