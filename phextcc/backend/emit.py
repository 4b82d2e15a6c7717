"""Emission: allocated siw IR -> ``Program`` words, packed by the tier's packer.

Each block's ops become a list of pending ops in program order; the packer of the
tier (``PACKERS``) groups them into words over the block's dependence DAG (tier 0: one
op per word; tier 1: pipe separation by dependences; tiers 2-3: list scheduling with
latencies), each op in
the slot of its pipe and NOPs in the idle slots. Blocks are laid out
in region order, except that a block holding nothing but a jump is not laid out at all:
every branch to it goes straight to the jump's destination (jump threading), so that a
loop guard whose exit edge was split into such a block falls through into its loop
instead of taking a forward branch, predicted wrong, over a DJMP. A block whose jump
is marked cold (``siw.cold``: the pipeliner's path to the unpipelined loop) is laid
out right before the jump's destination, so the test leading to it falls through
into the likely path and the cold block into its destination. A conditional branch
whose fall-through successor is not the next block gets a DJMP after it, and a jump to
the next block is dropped. Branch targets
are absolute SIW indices in the stream (kernels are laid out one after another).
Register copies onto themselves (coalesced by allocation) and ``siw.undef`` emit
nothing. DLDC constants are interned in the program's constant pool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import networkx as nx
from xdsl.dialects.builtin import FileLineColLoc, IntAttr
from xdsl.dialects.func import FuncOp
from xdsl.ir import Block, Operation, SSAValue

from phextcc.backend import isa
from phextcc.backend.dependence_graph import build_dependence_graph, may_trap
from phextcc.backend.isa import Kind, OpInfo, Pipe, Role
from phextcc.backend.list_schedule import list_schedule
from phextcc.backend.pipe_assign import Words, one_per_word, pack_by_dependences
from phextcc.backend.program import Instr, Program, SourceLoc, Word
from phextcc.backend.rename import block_liveness, rename_block
from phextcc.backend.row_pack import follow_rows
from phextcc.backend.verifier import compute_deps
from phextcc.ir.siw_dialect import (
    COLD_PATH_ATTR,
    PROVEN_IN_BOUNDS_ATTR,
    SCHEDULE_ROW_ATTR,
    BranchOp,
    HaltOp,
    JumpOp,
    SiwOp,
    SiwRegisterType,
    UndefOp,
    immediate_operands,
)

_U64 = (1 << 64) - 1
_SLOT_NAMES = {Pipe.D: "d", Pipe.S: "s", Pipe.C: "c"}

# Control never falls through these (a dropped jump to the next block is no op at all).
_ENDS_FLOW = frozenset({"DJMP", "DHALT"})
# Tiers that rename registers inside blocks before scheduling (rename.py).
RENAME_FROM_TIER = 2
# Tiers whose pipelined kernel blocks keep the modulo schedule's rows (row_pack.py).
ROWS_FROM_TIER = 3

Packer = Callable[[nx.DiGraph], Words]

# The packer of each optimisation tier (levels above the table use its last entry).
PACKERS: tuple[Packer, ...] = (one_per_word, pack_by_dependences, list_schedule,
                                list_schedule)


class EmissionError(Exception):
    pass


def register_number(value: SSAValue) -> int:
    reg_type = value.type
    if not isinstance(reg_type, SiwRegisterType):
        raise EmissionError(f"{value} is not a register")
    return reg_type.number


@dataclass
class _Pending:
    """One op in layout order; ``target`` is filled once block addresses are known."""

    info: OpInfo
    args: list[int]
    location: SourceLoc | None
    target: Block | None = None  # the TARGET operand's block
    proven: bool = False  # an access proven inside its tensor: it cannot trap
    row: int | None = None  # the modulo schedule's row, in a pipelined kernel block

    @property
    def may_trap(self) -> bool:
        return may_trap(self.info) and not self.proven


@dataclass
class ProgramBuilder:
    """Accumulates kernels into one program: stream, constant pool, locations."""

    program: Program = field(default_factory=Program)
    pool_index: dict[int, int] = field(default_factory=dict)

    def intern(self, value: int) -> int:
        bits = value & _U64
        if bits not in self.pool_index:
            self.pool_index[bits] = len(self.program.pool)
            self.program.pool.append(bits)
        return self.pool_index[bits]

    def append(self, instrs: list[Instr], location: SourceLoc | None) -> None:
        """Append one word holding ``instrs`` (at most one per pipe)."""
        words = self.program.words
        slots = {_SLOT_NAMES[instr.pipe]: instr for instr in instrs}
        word = Word(**slots)
        deps = compute_deps(words[-1] if words else None, word)
        words.append(Word(d=word.d, s=word.s, c=word.c, deps=deps))
        self.program.locations.append(location)


@dataclass(frozen=True)
class _Layout:
    """Where a block's successors are, as emitted: ``next`` is the block laid out right
    after it, ``destination`` maps a successor to the block control really reaches."""

    next: Block | None
    threads: dict[Block, Block]

    def destination(self, block: Block) -> Block:
        return self.threads.get(block, block)


def _is_self_copy(op: Operation) -> bool:
    return (isinstance(op, SiwOp) and op.info.family in isa.COPY_FAMILIES
            and [register_number(v) for v in op.args] == [register_number(v) for v in op.res])


def _jump_only(block: Block) -> JumpOp | None:
    """The block's jump when the block emits nothing else (its copies were coalesced)."""
    ops = [op for op in block.ops if not isinstance(op, UndefOp) and not _is_self_copy(op)]
    return ops[0] if len(ops) == 1 and isinstance(ops[0], JumpOp) else None


def _jump_threads(blocks: list[Block]) -> dict[Block, Block]:
    """Each jump-only block (but the entry) -> the first block along its chain of jumps
    that does something (a chain closing on itself stops where it repeats)."""
    threads: dict[Block, Block] = {}
    for block in blocks[1:]:
        seen = {block}
        target = block
        while (jump := _jump_only(target)) is not None and jump.dest not in seen:
            target = jump.dest
            seen.add(target)
        if target is not block:
            threads[block] = target
    return threads


def _successor_blocks(block: Block) -> list[Block]:
    last = block.last_op
    if isinstance(last, BranchOp):
        return [last.taken, last.fallthrough]
    if isinstance(last, JumpOp):
        return [last.dest]
    return []


def _laid_out(blocks: list[Block], threads: dict[Block, Block]) -> list[Block]:
    """The blocks to emit: threaded jump-only blocks go unless something still reaches
    them (the entry, a chain's repeat, or a block falling into them without a jump)."""
    reached = {threads.get(target, target) for block in blocks
               for target in _successor_blocks(block)}
    kept = []
    for position, block in enumerate(blocks):
        falls_in = position > 0 and not isinstance(
            blocks[position - 1].last_op, (BranchOp, JumpOp, HaltOp))
        if block not in threads or block in reached or falls_in:
            kept.append(block)
    return kept


def _fall_through(block: Block, threads: dict[Block, Block]) -> Block | None:
    """Where control goes from ``block`` when no branch is taken (None: nowhere)."""
    last = block.last_op
    if isinstance(last, BranchOp):
        return threads.get(last.fallthrough, last.fallthrough)
    if isinstance(last, JumpOp):
        return threads.get(last.dest, last.dest)
    return None


def _cold_blocks_sunk(blocks: list[Block], threads: dict[Block, Block]) -> list[Block]:
    """The layout with each block whose jump is marked cold moved right before the
    jump's destination, when that lies further on and nothing falls into it there."""
    order = list(blocks)
    for block in blocks:
        jump = block.last_op
        if not (isinstance(jump, JumpOp) and COLD_PATH_ATTR in jump.attributes):
            continue
        target = threads.get(jump.dest, jump.dest)
        if target not in order or order.index(target) < order.index(block):
            continue
        position = order.index(target)
        if position > 0 and _fall_through(order[position - 1], threads) is target:
            continue
        order.remove(block)
        order.insert(order.index(target), block)
    return order


def source_location(op: Operation) -> SourceLoc | None:
    loc = op.location
    if isinstance(loc, FileLineColLoc) and loc.line.data >= 1:
        return SourceLoc(loc.line.data, loc.column.data)
    return None


def _operand_values(info: OpInfo, uses: list[int], defs: list[int], imms: list[int]
                    ) -> list[int]:
    """Operand values in table order from the IR's uses, defs and immediates."""
    args: list[int] = []
    for operand in info.operands:
        if operand.role is Role.USE:
            args.append(uses.pop(0))
        elif operand.role is Role.DEF:
            args.append(defs.pop(0))
        elif operand.role is Role.USEDEF:
            used, defined = uses.pop(0), defs.pop(0)
            if used != defined:
                raise EmissionError(f"{info.mnemonic}: tied operand in r{used} and r{defined}")
            args.append(used)
        elif operand.kind is Kind.TARGET:
            args.append(0)  # patched later
        else:
            args.append(imms.pop(0))
    return args


def _emit_op(builder: ProgramBuilder, op: Operation, layout: _Layout) -> list[_Pending]:
    assert isinstance(op, SiwOp)
    info = op.info
    if _is_self_copy(op):
        return []
    uses = [register_number(v) for v in op.args]
    defs = [register_number(v) for v in op.res]
    imms = list(op.immediates)
    for index, operand in enumerate(immediate_operands(info)):
        if operand.kind is Kind.POOL:
            imms[index] = builder.intern(imms[index])
    return [_Pending(info, _operand_values(info, uses, defs, imms), source_location(op),
                     proven=PROVEN_IN_BOUNDS_ATTR in op.attributes, row=_row(op))]


def _row(op: Operation) -> int | None:
    row = op.attributes.get(SCHEDULE_ROW_ATTR)
    return row.data if isinstance(row, IntAttr) else None


def _emit_branch(builder: ProgramBuilder, op: Operation, layout: _Layout) -> list[_Pending]:
    assert isinstance(op, BranchOp)
    info = op.info
    uses = [register_number(v) for v in op.args]
    taken, fallthrough = layout.destination(op.taken), layout.destination(op.fallthrough)
    if taken is fallthrough:
        return [] if taken is layout.next else [_jump_to(taken, source_location(op))]
    negated = isa.negated_branch(info) if taken is layout.next else None
    if negated is not None:
        # Taken into the next block: branch on the negated test to the other successor
        # and fall through instead (a forward taken branch is predicted wrong, and the
        # jump the fall-through would need costs a word).
        return [_Pending(negated, _operand_values(negated, uses, [], []),
                         source_location(op), fallthrough, row=_row(op))]
    pending = [_Pending(info, _operand_values(info, uses, [], []), source_location(op),
                        taken, row=_row(op))]
    if fallthrough is not layout.next:
        pending.append(_jump_to(fallthrough, source_location(op)))
    return pending


def _jump_to(block: Block, location: SourceLoc | None) -> _Pending:
    return _Pending(isa.BY_MNEMONIC["DJMP"], [0], location, block)


def _emit_jump(builder: ProgramBuilder, op: Operation, layout: _Layout) -> list[_Pending]:
    assert isinstance(op, JumpOp)
    dest = layout.destination(op.dest)
    if dest is layout.next:
        return []
    return [_jump_to(dest, source_location(op))]


def _emit_halt(builder: ProgramBuilder, op: Operation, layout: _Layout) -> list[_Pending]:
    return [_Pending(isa.BY_MNEMONIC["DHALT"], [], source_location(op))]


def _emit_nothing(builder: ProgramBuilder, op: Operation, layout: _Layout) -> list[_Pending]:
    return []


Emitter = Callable[[ProgramBuilder, Operation, _Layout], list[_Pending]]

EMITTERS: dict[type[Operation], Emitter] = {
    SiwOp: _emit_op,
    BranchOp: _emit_branch,
    JumpOp: _emit_jump,
    HaltOp: _emit_halt,
    UndefOp: _emit_nothing,
}


def _block_ops(builder: ProgramBuilder, block: Block, layout: _Layout) -> list[_Pending]:
    pending: list[_Pending] = []
    for op in block.ops:
        emitter = EMITTERS.get(type(op))
        if emitter is None:
            raise EmissionError(f"cannot emit {op.name}")
        pending.extend(emitter(builder, op, layout))
    return pending


def _word_location(ops: list[_Pending]) -> SourceLoc | None:
    """The location a word reports: its op that may trap (a word holds at most one),
    else its first op in program order."""
    for item in ops:
        if item.may_trap:
            return item.location
    return ops[0].location


def _successors(blocks: list[Block], block_ops: list[list[_Pending]]) -> list[list[int]]:
    """Successor block indices of each block in the emitted layout."""
    index_of = {block: index for index, block in enumerate(blocks)}
    successors: list[list[int]] = []
    for index, ops in enumerate(block_ops):
        following = [index_of[item.target] for item in ops if item.target is not None]
        ends_flow = bool(ops) and ops[-1].info.family in _ENDS_FLOW
        if not ends_flow and index + 1 < len(blocks):
            following.append(index + 1)
        successors.append(following)
    return successors


def packer_for(opt_level: int) -> Packer:
    return PACKERS[max(0, min(opt_level, len(PACKERS) - 1))]


def emit_kernel(builder: ProgramBuilder, kernel: FuncOp, opt_level: int = 0
                ) -> tuple[int, int]:
    """Append one allocated kernel to the stream, packed for ``opt_level``; returns
    (entry, length)."""
    pack = packer_for(opt_level)
    entry = len(builder.program.words)
    threads = _jump_threads(list(kernel.body.blocks))
    blocks = _cold_blocks_sunk(_laid_out(list(kernel.body.blocks), threads), threads)
    block_ops = [_block_ops(builder, block, _Layout(
        blocks[position + 1] if position + 1 < len(blocks) else None, threads))
        for position, block in enumerate(blocks)]
    if opt_level >= RENAME_FROM_TIER:
        successors = _successors(blocks, block_ops)
        live_in, live_out = block_liveness(block_ops, successors)
        for index, ops in enumerate(block_ops):
            rename_block(ops, live_in[index], live_out[index])
    words: list[list[_Pending]] = []
    address: dict[Block, int] = {}
    for block, pending in zip(blocks, block_ops):
        address[block] = entry + len(words)
        if not pending:
            continue
        instrs = [Instr(item.info, tuple(item.args)) for item in pending]
        proven = frozenset(index for index, item in enumerate(pending) if item.proven)
        graph = build_dependence_graph(instrs, proven)
        packed = None
        if opt_level >= ROWS_FROM_TIER and any(item.row is not None for item in pending):
            packed = follow_rows(graph, [item.row for item in pending])
        words.extend([pending[node] for node in word] for word in packed or pack(graph))
    for word in words:
        instrs = []
        for item in word:
            args = item.args
            if item.target is not None:
                target_index = [o.kind for o in item.info.operands].index(Kind.TARGET)
                args[target_index] = address[item.target]
            instrs.append(Instr(item.info, tuple(args)))
        builder.append(instrs, _word_location(word))
    return entry, len(words)
