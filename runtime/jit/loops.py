"""The shape of SIW loops the versioning can reason about.

A candidate is a contiguous SIW range ``[header, latch]`` whose latch branches back to
the header. It qualifies when control leaves it at one word only (the *exit test*: the
latch's own conditional branch in a rotated loop, the header's ``DBR`` in a top-tested
one), no other word branches to the header, and nothing in it halts. The body of a
hardware loop (``DLOOP``) always qualifies: it is straight-line, entered only from its
DLOOP, and left after its last word when the trips run out.

The *skeleton* of the loop is the set of words that run exactly once per iteration, in
address order: those that dominate the latch (inside the range, back edges to the
header removed) and lie on no cycle of that graph. Everything else (a nested loop, the
body of a conditional) runs zero or more times per iteration; the affine evaluation
treats what those words write as unknown. Evaluating words in address order is sound
when every backward edge inside the range spans non-skeleton words only: then no path
between two skeleton words leaves the words between them.
"""

from __future__ import annotations

from dataclasses import dataclass

from phextcc.backend.hardware_loops import HardwareLoop, loops_by_end
from phextcc.backend.isa import Effect
from phextcc.backend.program import KernelInfo, Program
from runtime.jit.analysis import branch_target, successors


@dataclass(frozen=True)
class LoopShape:
    header: int
    latch: int
    exit_word: int  # the one word with a successor outside the range
    exits_when_taken: bool  # the exit test leaves when its branch is taken
    skeleton: frozenset[int]
    hardware: HardwareLoop | None = None  # a DLOOP body: the sequencer is the exit test

    @property
    def words(self) -> range:
        return range(self.header, self.latch + 1)


def _postorder(graph: dict[int, list[int]], entry: int,
               seen: set[int] | None = None) -> list[int]:
    """Nodes reachable from ``entry`` and not in ``seen`` (which is updated), in
    depth-first postorder (iteratively)."""
    order: list[int] = []
    seen = set() if seen is None else seen
    seen.add(entry)
    stack: list[tuple[int, int]] = [(entry, 0)]
    while stack:
        node, next_child = stack.pop()
        children = graph[node]
        if next_child < len(children):
            stack.append((node, next_child + 1))
            child = children[next_child]
            if child not in seen:
                seen.add(child)
                stack.append((child, 0))
        else:
            order.append(node)
    return order


def _dominators_of(graph: dict[int, list[int]], entry: int, target: int) -> set[int]:
    """The nodes that dominate ``target`` (Cooper, Harvey and Kennedy's iteration over
    reverse postorder), ``target`` included."""
    order = _postorder(graph, entry)
    rank = {node: i for i, node in enumerate(order)}  # postorder number
    preds: dict[int, list[int]] = {node: [] for node in order}
    for node in order:
        for succ in graph[node]:
            preds[succ].append(node)
    idom = {entry: entry}

    def intersect(a: int, b: int) -> int:
        while a != b:
            while rank[a] < rank[b]:
                a = idom[a]
            while rank[b] < rank[a]:
                b = idom[b]
        return a

    changed = True
    while changed:
        changed = False
        for node in reversed(order):
            if node == entry:
                continue
            done = [p for p in preds[node] if p in idom]
            new = done[0]
            for other in done[1:]:
                new = intersect(other, new)
            if idom.get(node) != new:
                idom[node] = new
                changed = True
    found = {target}
    while target != entry:
        target = idom[target]
        found.add(target)
    return found


def _on_cycles(graph: dict[int, list[int]], nodes: list[int]) -> set[int]:
    """Nodes on a cycle: members of a strongly connected component with an inner edge
    (Kosaraju: postorder on the graph, then components on the reversed graph)."""
    order: list[int] = []
    seen: set[int] = set()
    for node in nodes:
        if node not in seen:
            order.extend(_postorder(graph, node, seen))
    reverse: dict[int, list[int]] = {node: [] for node in graph}
    for node in graph:
        for succ in graph[node]:
            reverse[succ].append(node)
    cyclic: set[int] = set()
    assigned: set[int] = set()
    for node in reversed(order):
        if node in assigned:
            continue
        component = {node}
        stack = [node]
        while stack:
            current = stack.pop()
            for prev in reverse[current]:
                if prev not in assigned and prev not in component:
                    component.add(prev)
                    stack.append(prev)
        assigned |= component
        if len(component) > 1 or node in graph[node]:
            cyclic |= component
    return cyclic


def loop_shape(program: Program, kernel: KernelInfo, header: int,
               latch: int) -> LoopShape | None:
    words = range(header, latch + 1)
    inner: dict[int, list[int]] = {}
    exits: list[tuple[int, int]] = []
    for index in words:
        d_op = program.words[index].d
        if d_op.info.effects & Effect.HALT:
            return None
        inner[index] = []
        for succ in successors(program, kernel, index):
            if succ not in words:
                exits.append((index, succ))
            elif succ == header:
                if index != latch:
                    return None  # a second back edge: some iterations skip the latch
            else:
                inner[index].append(succ)
        if not successors(program, kernel, index) and not d_op.info.effects & Effect.BRANCH:
            return None  # falls off the kernel
    exit_words = {index for index, _ in exits}
    if len(exit_words) != 1:
        return None  # no exit (runs forever) or several
    (exit_word,) = exit_words
    exit_op = program.words[exit_word].d
    if exit_op.info.family not in ("DBR", "DBNZ", "DBZ"):
        return None
    target = branch_target(exit_op)
    exits_when_taken = target not in words
    if exits_when_taken and exit_word + 1 not in words:
        return None  # both ways leave
    reach_all = set(_postorder(inner, header))
    if latch not in reach_all:
        return None
    skeleton = _dominators_of(inner, header, latch) - _on_cycles(inner, list(words))
    for index in words:
        for succ in inner[index]:
            if succ <= index and any(w in skeleton for w in range(succ, index + 1)):
                return None
    if exit_word not in skeleton or any(w not in reach_all for w in words):
        return None
    return LoopShape(header, latch, exit_word, exits_when_taken, frozenset(skeleton))


def hardware_loop_shape(loop: HardwareLoop) -> LoopShape:
    """A DLOOP body: straight-line, so every word is in the skeleton; the exit test is
    the sequencer's, after the last word."""
    return LoopShape(loop.first, loop.end, loop.end, False, frozenset(loop.body), loop)


def candidate_loops(program: Program, kernel: KernelInfo) -> list[LoopShape]:
    """Every qualifying loop, one per header (the innermost), ranges nested or disjoint."""
    start, end = kernel.entry, kernel.entry + kernel.length
    found: dict[int, LoopShape] = {loop.first: hardware_loop_shape(loop)
                                   for loop in loops_by_end(program, kernel).values()}
    for latch in range(start, end):
        target = branch_target(program.words[latch].d)
        if target is None or not start <= target <= latch or target in found:
            continue
        shape = loop_shape(program, kernel, target, latch)
        if shape is not None:
            found[target] = shape
    kept: list[LoopShape] = []
    for shape in sorted(found.values(), key=lambda s: (s.header, -s.latch)):
        if all(_nested_or_disjoint(shape, other) for other in kept):
            kept.append(shape)
    return kept


def _nested_or_disjoint(a: LoopShape, b: LoopShape) -> bool:
    if a.latch < b.header or b.latch < a.header:
        return True
    return (a.header >= b.header and a.latch <= b.latch) or \
        (b.header >= a.header and b.latch <= a.latch)
