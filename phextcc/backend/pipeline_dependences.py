"""The dependence graph of one loop iteration, with distances in iterations, for the
modulo scheduler (``modulo_schedule.LoopGraph``).

Node ``k`` is ``model.ops[k]``; one more node, the last, is the loop's branch. Edges:

- registers: every operand read from a body op, at the distance (iterations back)
  the model resolved, with the producer's latency from the cycle model
  (``dependence_graph.op_latency``: loads at an L1 hit plus the translation);
- memory: two accesses of which one writes stay in order, within and across
  iterations, unless their element offsets provably differ. Offsets are compared as
  ``SINDEX(base, x) + offset`` along D0 with ``x`` a constant added to one root value:
  with the same root (an induction variable of constant step, or one value of one
  iteration) the iterations at which they meet are known exactly. The base is
  ignored on purpose: a tensor passed twice is one memory reached from two regions at
  the same element offsets, so different tensors may meet exactly where one tensor
  would;
- messages: every C op that sends, receives or synchronises forms one chain in body
  order, closed around the back edge (FIFO order and the original interleaving of
  all traffic, hence no new deadlock); a send stays after the memory accesses before
  it (what a receiver may rely on) and a receive before the accesses after it;
  barriers and fences order every access both ways.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass

from xdsl.ir import OpResult, SSAValue

from phextcc.backend.dependence_graph import op_latency
from phextcc.backend.isa import Effect, Pipe, Type
from phextcc.backend.modulo_schedule import DependenceEdge, LoopGraph
from phextcc.backend.pipeline_loop import LoopModel, Ref
from phextcc.ir.siw_dialect import SiwOp, immediate_operands

_MEMORY = Effect.READ_MEM | Effect.WRITE_MEM
_TRAFFIC = Effect.SEND | Effect.RECV | Effect.SYNC
_FENCE_FAMILIES = frozenset({"CFENCE"})
_CONSTANT_FAMILIES = frozenset({"DMOVI", "DLDC"})
_ACCESS_FAMILIES = frozenset({"SGATHER", "SSCATTR", "SPREFCH"})
_ORDER_LATENCY = 1

# A root value: (node, result, back) of a body op, or the invariant SSA value itself.
Root = tuple[int, int, int] | SSAValue


@dataclass(frozen=True)
class Address:
    """Element offset ``root + constant`` from some region base (along D0)."""

    root: Root
    constant: int


def _constant_of(ref: Ref) -> int | None:
    value = ref.value
    if not ref.invariant or not isinstance(value, OpResult):
        return None
    owner = value.owner
    if isinstance(owner, SiwOp) and owner.info.family in _CONSTANT_FAMILIES:
        (bits,) = owner.immediates
        return bits
    return None


class _AddressAnalysis:
    def __init__(self, model: LoopModel) -> None:
        self.model = model

    def _shift(self, ref: Ref, back: int) -> Ref:
        return ref if ref.invariant else Ref(ref.node, ref.result, ref.back + back)

    def linear(self, ref: Ref, depth: int = 0) -> Address:
        """``ref`` as root + constant through i64 additions of constants."""
        if ref.invariant:
            assert ref.value is not None
            return Address(ref.value, 0)
        assert ref.node is not None
        op = self.model.ops[ref.node]
        # An induction variable's update (it reads itself) is a root: expanding it
        # would only walk back through earlier iterations.
        reads_itself = any(r.node == ref.node for r in self.model.operands[ref.node])
        if depth < 8 and not reads_itself and isinstance(op, SiwOp) \
                and op.info.type is Type.I64 and op.info.family in ("DADD", "DSUB"):
            left, right = (self._shift(r, ref.back) for r in self.model.operands[ref.node])
            sign = 1 if op.info.family == "DADD" else -1
            right_constant = _constant_of(right)
            if right_constant is not None:
                inner = self.linear(left, depth + 1)
                return Address(inner.root, inner.constant + sign * right_constant)
            left_constant = _constant_of(left)
            if left_constant is not None and sign == 1:
                inner = self.linear(right, depth + 1)
                return Address(inner.root, inner.constant + left_constant)
        return Address((ref.node, ref.result, ref.back), 0)

    def step(self, root: Root) -> int | None:
        """The per-iteration step of a root that is an induction variable."""
        if not isinstance(root, tuple):
            return None
        node, result, _ = root
        op = self.model.ops[node]
        if not (isinstance(op, SiwOp) and op.info.type is Type.I64
                and op.info.family in ("DADD", "DSUB")):
            return None
        left, right = self.model.operands[node]
        constant = _constant_of(right)
        if left == Ref(node, result, 1) and constant:
            return constant if op.info.family == "DADD" else -constant
        if op.info.family == "DADD" and right == Ref(node, result, 1):
            return _constant_of(left) or None
        return None

    def address(self, node: int) -> Address | None:
        op = self.model.ops[node]
        if not isinstance(op, SiwOp) or op.info.family not in _ACCESS_FAMILIES:
            return None
        names = [operand.name for operand in immediate_operands(op.info)]
        offset = op.immediates[names.index("offset")] if "offset" in names else 0
        coordinate = self.model.operands[node][0]
        if coordinate.invariant:
            assert coordinate.value is not None
            return Address(coordinate.value, offset)
        assert coordinate.node is not None
        index_op = self.model.ops[coordinate.node]
        if not (isinstance(index_op, SiwOp) and index_op.info.family == "SINDEX"
                and index_op.immediates == (0,)):
            return None
        base, index = self.model.operands[coordinate.node]
        if not base.invariant:
            return None
        found = self.linear(self._shift(index, coordinate.back))
        return Address(found.root, found.constant + offset)


class Overlap(enum.Enum):
    """Where two accesses may touch the same element."""

    ANYWHERE = "any iterations"
    OTHER_ITERATIONS = "any two different iterations, never the same one"
    EXACTLY = "exactly the listed iteration distances"


def meeting_distances(analysis: _AddressAnalysis, first: int, second: int
                      ) -> tuple[Overlap, frozenset[int]]:
    """Where access ``second`` of iteration ``i + d`` may touch the element access
    ``first`` of iteration ``i`` touches: the distances ``d``."""
    a, b = analysis.address(first), analysis.address(second)
    if a is None or b is None:
        return Overlap.ANYWHERE, frozenset()
    if not isinstance(a.root, tuple) or not isinstance(b.root, tuple):
        if a.root is b.root and a.constant != b.constant:
            return Overlap.EXACTLY, frozenset()  # one fixed element each, different
        return Overlap.ANYWHERE, frozenset()
    step = analysis.step(a.root)
    if step is not None and a.root[:2] == b.root[:2]:
        # An induction variable of iteration i - back is X + (i - back) * step: bring
        # both to their own iteration; they meet where d * step == difference.
        difference = (a.constant - a.root[2] * step) - (b.constant - b.root[2] * step)
        if difference % step:
            return Overlap.EXACTLY, frozenset()
        return Overlap.EXACTLY, frozenset({difference // step})
    if a.root == b.root and a.constant != b.constant:
        return Overlap.OTHER_ITERATIONS, frozenset()
    return Overlap.ANYWHERE, frozenset()


def _memory_edges(model: LoopModel) -> Iterator[DependenceEdge]:
    analysis = _AddressAnalysis(model)
    accesses = [n for n, op in enumerate(model.ops)
                if isinstance(op, SiwOp) and op.info.effects & _MEMORY]
    for position, first in enumerate(accesses):
        for second in accesses[position + 1:]:
            if _writes(model, first) or _writes(model, second):
                yield from _pair_edges(analysis, first, second)


def _writes(model: LoopModel, node: int) -> bool:
    op = model.ops[node]
    return isinstance(op, SiwOp) and bool(op.info.effects & Effect.WRITE_MEM)


def _pair_edges(analysis: _AddressAnalysis, first: int, second: int
                ) -> Iterator[DependenceEdge]:
    """Edges between two accesses, ``first`` before ``second`` in body order (an
    access never meets itself in another iteration: every step is non-zero)."""
    overlap, distances = meeting_distances(analysis, first, second)
    if overlap is Overlap.ANYWHERE:
        yield DependenceEdge(first, second, _ORDER_LATENCY, 0)
        yield DependenceEdge(second, first, _ORDER_LATENCY, 1)
    elif overlap is Overlap.OTHER_ITERATIONS:
        yield DependenceEdge(first, second, _ORDER_LATENCY, 1)
        yield DependenceEdge(second, first, _ORDER_LATENCY, 1)
    for distance in distances:
        if distance > 0:
            yield DependenceEdge(first, second, _ORDER_LATENCY, distance)
        elif distance < 0:
            yield DependenceEdge(second, first, _ORDER_LATENCY, -distance)
        else:
            yield DependenceEdge(first, second, _ORDER_LATENCY, 0)


def _effects(model: LoopModel, node: int) -> Effect:
    op = model.ops[node]
    return op.info.effects if isinstance(op, SiwOp) else Effect.NONE


def _is_fence(model: LoopModel, node: int) -> bool:
    op = model.ops[node]
    return isinstance(op, SiwOp) and (op.info.family in _FENCE_FAMILIES
                                      or bool(op.info.effects & Effect.SYNC))


def _message_edges(model: LoopModel) -> Iterator[DependenceEdge]:
    traffic = [n for n in range(len(model.ops))
               if _effects(model, n) & _TRAFFIC or _is_fence(model, n)]
    for first, second in zip(traffic, traffic[1:]):
        yield DependenceEdge(first, second, _ORDER_LATENCY, 0)
    if len(traffic) > 1:
        yield DependenceEdge(traffic[-1], traffic[0], _ORDER_LATENCY, 1)
    accesses = [n for n in range(len(model.ops)) if _effects(model, n) & _MEMORY]
    for message in traffic:
        releases = bool(_effects(model, message) & Effect.SEND) or _is_fence(model, message)
        acquires = bool(_effects(model, message) & Effect.RECV) or _is_fence(model, message)
        for access in accesses:
            before = access < message
            if releases:  # earlier accesses stay before the send
                yield DependenceEdge(access, message, _ORDER_LATENCY, 0 if before else 1)
            if acquires:  # later accesses stay after the receive
                yield DependenceEdge(message, access, _ORDER_LATENCY, 1 if before else 0)


def _register_edges(model: LoopModel, branch: int) -> Iterator[DependenceEdge]:
    for node, refs in enumerate([*model.operands, model.branch_operands]):
        target = node if node < len(model.ops) else branch
        for ref in refs:
            if ref.node is not None:
                yield DependenceEdge(ref.node, target, _latency(model, ref.node), ref.back)


def _latency(model: LoopModel, node: int) -> int:
    op = model.ops[node]
    return op_latency(op.info) if isinstance(op, SiwOp) else 0


def loop_graph(model: LoopModel) -> LoopGraph:
    """The scheduler's graph of ``model`` (the branch is node ``len(model.ops)``)."""
    branch = len(model.ops)
    edges: dict[tuple[int, int, int], int] = {}
    for edge in (*_register_edges(model, branch), *_memory_edges(model),
                 *_message_edges(model)):
        key = (edge.source, edge.target, edge.distance)
        edges[key] = max(edges.get(key, 0), edge.latency)
    pipes: list[Pipe | None] = [*model.pipes, Pipe.D]
    return LoopGraph(
        pipes=pipes,
        edges=[DependenceEdge(s, t, latency, d) for (s, t, d), latency in edges.items()],
        stage_zero=model.slice_nodes, branch=branch)
