"""Which loops software pipelining takes, and the model of one iteration it works on.

A candidate is a rotated loop body after instruction selection: one block that
branches to itself (``siw.branch`` with the block as one successor), entered from one
other block by a ``siw.jump``, straight-line, at most ``MAX_BODY_OPS`` ops, free of
ops whose errors could change which error a run reports first (only proven-safe
accesses and message ops may trap: the loop carries no DCHK, division or collective),
of allocation and of spill code, with a loop-control slice (the ops the branch's
condition depends on) that reads no memory and runs no message op.

The model describes iteration ``i`` as the body's real ops (register copies are
aliases: each operand is resolved through them) and where each operand's value comes
from: an op of the same iteration, an op ``back`` iterations earlier (through the
block arguments), or a value defined outside the loop. Block argument ``j`` of
iteration 0 is the value the entry jump passes; for iteration ``i >= 1`` it is the
back-edge value of iteration ``i - 1``. ``virtual`` names, for each (op, result,
-back) that the entry values stand for, the block argument holding it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from xdsl.ir import Block, BlockArgument, Operation, OpResult, SSAValue

from phextcc.backend.isa import COPY_FAMILIES, Effect, Pipe
from phextcc.ir.siw_dialect import BranchOp, JumpOp, SiwInstruction, SiwOp, UndefOp

MAX_BODY_OPS = 200
# Ops of a loop's exit block, duplicated on the pipelined path when it reads values
# of the loop body directly.
LANDING_LIMIT = 16

# Ops that may trap but are accepted in a pipelined loop: accesses the bounds proof
# made safe (a loop still holding a DCHK is refused) and message ops, whose order
# is kept (one chain through every C traffic op of the loop).
SAFE_TRAPPING_FAMILIES = frozenset({"SGATHER", "SSCATTR", "SPREFCH", "CSEND", "CRECV",
                                    "CSENDR", "CRECVR"})
_REFUSED_EFFECTS = Effect.ALLOC | Effect.SPILL | Effect.HALT | Effect.BRANCH
_SLICE_FORBIDDEN = (Effect.READ_MEM | Effect.WRITE_MEM | Effect.PREFETCH | Effect.SEND
                    | Effect.RECV | Effect.SYNC | Effect.TRAP)


class NotPipelinable(Exception):
    """The loop stays as it is (the message says why)."""


@dataclass(frozen=True)
class Ref:
    """Where an operand's value comes from: result ``result`` of body op ``node``,
    ``back`` iterations earlier, or (``node`` None) the loop-invariant ``value``."""

    node: int | None
    result: int = 0
    back: int = 0
    value: SSAValue | None = None

    @property
    def invariant(self) -> bool:
        return self.node is None


@dataclass
class LoopModel:
    block: Block
    entry_jump: JumpOp
    ops: list[Operation]  # the real ops of one iteration, in body order
    operands: list[list[Ref]]  # per op, per register operand
    branch: BranchOp
    branch_operands: list[Ref]
    continue_on_taken: bool
    exit_block: Block
    exit_arguments: list[Ref]
    outside_uses: dict[SSAValue, Ref]  # body values read outside the body
    virtual: dict[tuple[int, int, int], int] = field(default_factory=dict)
    slice_nodes: frozenset[int] = frozenset()

    @property
    def pipes(self) -> list[Pipe | None]:
        return [op.info.pipe if isinstance(op, SiwOp) else None for op in self.ops]


def is_copy(op: Operation) -> bool:
    return isinstance(op, SiwOp) and op.info.family in COPY_FAMILIES


def loop_branch(block: Block) -> BranchOp | None:
    """The block's terminator when it branches back to the block itself."""
    last = block.last_op
    if isinstance(last, BranchOp) and block in (last.taken, last.fallthrough) \
            and last.taken is not last.fallthrough:
        return last
    return None


def _check_op(op: Operation) -> None:
    if isinstance(op, UndefOp):
        return
    if not isinstance(op, SiwOp):
        raise NotPipelinable(f"{op.name} inside the loop")
    info = op.info
    if info.effects & _REFUSED_EFFECTS:
        raise NotPipelinable(f"{info.mnemonic} inside the loop")
    if info.effects & Effect.TRAP and info.family not in SAFE_TRAPPING_FAMILIES:
        raise NotPipelinable(f"{info.mnemonic} may trap")


class _Resolver:
    def __init__(self, block: Block, ops: Sequence[Operation], back_values: Sequence[SSAValue]
                 ) -> None:
        self.block = block
        self.node_of = {op: index for index, op in enumerate(ops)}
        self.back_values = back_values

    def resolve(self, value: SSAValue, back: int = 0) -> Ref:
        while True:
            if isinstance(value, BlockArgument) and value.owner is self.block:
                if back > len(self.block.args):
                    raise NotPipelinable("loop values rotate without being computed")
                value, back = self.back_values[value.index], back + 1
                continue
            owner = value.owner if isinstance(value, OpResult) else None
            if owner is not None and owner.parent_block() is self.block:
                if is_copy(owner):
                    value = owner.operands[0]
                    continue
                return Ref(self.node_of[owner], value.index, back)
            if back:
                raise NotPipelinable("a loop value is an invariant after the first trip")
            return Ref(None, value=value)


def _entry_jump(block: Block) -> JumpOp:
    predecessors = {pred for pred in block.predecessors() if pred is not block}
    if len(predecessors) != 1:
        raise NotPipelinable("the loop has several entries")
    (entry,) = predecessors
    jump = entry.last_op
    if not isinstance(jump, JumpOp) or jump.dest is not block:
        raise NotPipelinable("the loop is not entered by a jump")
    return jump


def _slice(model: LoopModel) -> frozenset[int]:
    """The ops the branch depends on (through any number of iterations)."""
    found: set[int] = set()
    work = [ref.node for ref in model.branch_operands if ref.node is not None]
    while work:
        node = work.pop()
        if node in found:
            continue
        found.add(node)
        op = model.ops[node]
        if isinstance(op, SiwOp) and op.info.effects & _SLICE_FORBIDDEN:
            raise NotPipelinable(f"the loop test depends on {op.info.mnemonic}")
        work.extend(ref.node for ref in model.operands[node] if ref.node is not None)
    return frozenset(found)


def _outside_uses(block: Block, resolver: _Resolver) -> dict[SSAValue, Ref]:
    found: dict[SSAValue, Ref] = {}
    values: list[SSAValue] = list(block.args)
    for op in block.ops:
        values.extend(op.results)
    for value in values:
        if any(use.operation.parent_block() is not block for use in value.uses):
            found[value] = resolver.resolve(value)
    return found


def _virtual_values(model: LoopModel, resolver: _Resolver) -> dict[tuple[int, int, int], int]:
    virtual: dict[tuple[int, int, int], int] = {}
    for arg in model.block.args:
        ref = resolver.resolve(arg)
        key = (ref.node, ref.result, -ref.back)
        assert ref.node is not None
        if key in virtual:
            raise NotPipelinable("two loop values start from one computed value")
        virtual[key] = arg.index
    return virtual


def build_loop_model(block: Block) -> LoopModel:
    """The model of a candidate loop body; raises NotPipelinable otherwise."""
    branch = loop_branch(block)
    if branch is None:
        raise NotPipelinable("not a single-block loop")
    entry_jump = _entry_jump(block)
    continue_on_taken = branch.taken is block
    back_values = list(branch.taken_arguments if continue_on_taken
                       else branch.fallthrough_arguments)
    exit_values = list(branch.fallthrough_arguments if continue_on_taken
                       else branch.taken_arguments)
    ops: list[Operation] = []
    for op in block.ops:
        if op is branch:
            continue
        _check_op(op)
        if not is_copy(op):
            ops.append(op)
    if len(ops) > MAX_BODY_OPS:
        raise NotPipelinable(f"{len(ops)} ops in the loop body (limit {MAX_BODY_OPS})")
    resolver = _Resolver(block, ops, back_values)
    operands = [[resolver.resolve(v) for v in _register_uses(op)] for op in ops]
    model = LoopModel(
        block=block, entry_jump=entry_jump, ops=ops, operands=operands, branch=branch,
        branch_operands=[resolver.resolve(v) for v in branch.args],
        continue_on_taken=continue_on_taken,
        exit_block=branch.fallthrough if continue_on_taken else branch.taken,
        exit_arguments=[resolver.resolve(v) for v in exit_values],
        outside_uses=_outside_uses(block, resolver))
    model.virtual = _virtual_values(model, resolver)
    model.slice_nodes = _slice(model)
    if model.outside_uses:
        _check_landing(model)
    return model


def _register_uses(op: Operation) -> tuple[SSAValue, ...]:
    assert isinstance(op, SiwInstruction)
    return op.register_uses()



def _check_landing(model: LoopModel) -> None:
    """Body values read after the loop must be read only by the exit block, which only
    the loop reaches and which is small enough to copy for the pipelined path."""
    landing = model.exit_block
    if set(landing.predecessors()) != {model.block}:
        raise NotPipelinable("loop values are read past a shared exit")
    if len(list(landing.ops)) > LANDING_LIMIT:
        raise NotPipelinable("the loop exit block is too large to duplicate")
    for value in model.outside_uses:
        for use in value.uses:
            if use.operation.parent_block() not in (model.block, landing):
                raise NotPipelinable("loop values are read beyond the exit block")
