"""Loop nesting depth of the blocks of a siw kernel, from its control-flow graph.

A back edge is an edge ``tail -> head`` where ``head`` dominates ``tail``; its natural
loop is ``head`` plus every block that reaches ``tail`` without passing through
``head``. A block's depth is the number of natural loops (merged per header) holding
it. The register allocator weighs a value's reads and writes by depth, so that what
it spills is what costs least to reload: values not touched inside hot loops.
"""

from __future__ import annotations

import networkx as nx
from xdsl.ir import Block, Region

from phextcc.backend.liveness import successors


def control_flow_graph(region: Region) -> nx.DiGraph:
    graph = nx.DiGraph()
    for block in region.blocks:
        graph.add_node(block)
        for succ in successors(block):
            graph.add_edge(block, succ)
    return graph


def loop_depths(region: Region) -> dict[Block, int]:
    """Nesting depth per block (0 outside every loop). Blocks the entry does not
    reach are given depth 0."""
    depth = dict.fromkeys(region.blocks, 0)
    for body in natural_loops(region).values():
        for block in body:
            depth[block] += 1
    return depth


def natural_loops(region: Region) -> dict[Block, set[Block]]:
    """Loop header -> the blocks of its natural loop (the header included), the loops
    of all back edges into one header merged."""
    blocks = list(region.blocks)
    if not blocks:
        return {}
    graph = control_flow_graph(region)
    # networkx leaves the entry out of its own dominator map (older versions map it
    # to itself): make it its own root either way.
    dominators = {**nx.immediate_dominators(graph, blocks[0]), blocks[0]: blocks[0]}
    bodies: dict[Block, set[Block]] = {}
    for tail, head in graph.edges:
        if tail in dominators and _dominates(dominators, head, tail):
            body = bodies.setdefault(head, {head})
            body |= _reaching(graph, tail, head)
    return bodies


def _dominates(dominators: dict[Block, Block], head: Block, block: Block) -> bool:
    while True:
        if block is head:
            return True
        parent = dominators[block]
        if parent is block:
            return False
        block = parent


def _reaching(graph: nx.DiGraph, tail: Block, head: Block) -> set[Block]:
    """Blocks from which ``tail`` is reached without passing through ``head``."""
    found = {tail}
    work = [tail]
    while work:
        block = work.pop()
        if block is head:
            continue
        for pred in graph.predecessors(block):
            if pred not in found:
                found.add(pred)
                work.append(pred)
    return found
