"""Code generation for a modulo-scheduled loop (tier 3), on siw IR before allocation.

With S stages and initiation interval II, iteration ``i`` runs op ``n`` in kernel
iteration ``i + stage(n)``. The loop becomes

    guard_0(entry args):  the loop-control slice of iteration 0 (pure ops) and the
    guard_1 .. :          loop's own branch, S - 1 times: iteration S - 1 exists?
                          if not, fallback; the values it computes are kept
    prologue:             kernel iterations 0 .. S-2 (stage s of iteration k - s)
    kernel(carried..):    ops of iterations j, j-1, ..., j-S+1 in modulo-row order,
                          the loop's branch (stage 0: does iteration j + 1 exist?)
    epilogue:             kernel iterations n .. n+S-2 (the stages still owed by the
                          last S - 1 iterations), then the loop's exit as before
    fallback:             jump to the original loop, left untouched (n < S)

A value produced in kernel iteration k and read in kernel iteration k + D (D >= 1)
travels through kernel block arguments ``(op, result, 1..D)``: the back edge passes
the new value to slot 1 and slot d to slot d + 1. Values that the entry arguments
stand for (block argument j of iteration 0 is "iteration -m" of the op it is computed
from) seed those slots when the prologue is shorter than the distance. Passing uses
fresh copies as instruction selection does; allocation coalesces a copy whenever the
old and the new value are never live at once (a value that lives less than II), so
the steady-state kernel carries no copy then.

The stream the outside sees is the schedule flattened by absolute time, which keeps
every dependence edge: memory order where accesses may meet, the one chain of C
traffic, and the loop test. Trip counts below S take the original loop.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from xdsl.dialects.builtin import IntAttr, UnitAttr
from xdsl.dialects.func import FuncOp
from xdsl.ir import Block, Operation, SSAValue

from phextcc.backend.isa import COPY_OF_CLASS, EXECUTION_RANK, Effect, RegClass
from phextcc.backend.modulo_schedule import (
    LoopGraph,
    ModuloSchedule,
    modulo_schedule,
    resource_mii,
    sink_nodes,
)
from phextcc.backend.pipeline_dependences import loop_graph
from phextcc.backend.pipeline_loop import (
    LoopModel,
    NotPipelinable,
    Ref,
    build_loop_model,
    loop_branch,
)
from phextcc.backend.pipeline_pressure import excess, kernel_demand, through_values
from phextcc.backend.pipeline_profitability import profitable_model
from phextcc.ir.siw_dialect import (
    COLD_PATH_ATTR,
    SCHEDULE_ROW_ATTR,
    BranchOp,
    JumpOp,
    SiwOp,
    UndefOp,
    regclass_of,
)

# Above this many stages the prologue and epilogue (each about S - 1 partial
# iterations) outweigh what overlap gains, and fewer loops run long enough to enter.
MAX_STAGES = 12

# Estimated words a register short costs in the kernel (a spill and its fills).
SPILL_COST = 3
# How far above the smallest II the search for a schedule that fits the registers
# goes: a quarter of it, within these bounds.
MIN_II_SEARCH = 8
MAX_II_SEARCH = 16
# Modulo variable expansion beyond this many kernel copies costs more code than the
# loop is worth.
MAX_KERNEL_COPIES = 4

Key = tuple[int, int]  # (op node, result)


@dataclass(frozen=True)
class PipelineReport:
    """What happened to one loop: ``ii``/``stages`` when pipelined, else ``reason``."""

    kernel: str
    ops: int
    ii: int = 0
    resource_bound: int = 0  # ResMII: the busiest pipe's ops per iteration
    kernel_copies: int = 0  # K of modulo variable expansion (1: none needed)
    stages: int = 0
    reason: str = ""

    @property
    def pipelined(self) -> bool:
        return not self.reason


class _Expansion:
    def __init__(self, model: LoopModel, schedule: ModuloSchedule) -> None:
        self.model = model
        self.schedule = schedule
        self.stages = schedule.stages
        self.branch_node = len(model.ops)
        self.location = model.branch.location
        self.depth = self._slot_depths()
        self.kernel_order = word_order(model, [schedule.row(n) for n in range(len(model.ops))])
        self.copies = self._kernel_copies()
        if self.copies > MAX_KERNEL_COPIES:
            raise NotPipelinable(f"a value lives across {self.copies} kernel iterations")
        self.slots: list[tuple[int, int, int]] = [
            (node, result, distance) for (node, result), deepest in sorted(self.depth.items())
            for distance in range(1, deepest + 1)]
        for node, result, _ in self.slots:
            if regclass_of(model.ops[node].results[result]) not in COPY_OF_CLASS:
                raise NotPipelinable("a message register would live across stages")
        for arg in model.block.args:
            if regclass_of(arg) not in COPY_OF_CLASS:
                raise NotPipelinable("a message register is carried around the loop")

    # --- analysis ------------------------------------------------------------

    def stage(self, node: int) -> int:
        return 0 if node == self.branch_node else self.schedule.stage(node)

    def _slot_depths(self) -> dict[Key, int]:
        """How many kernel iterations back each value is read (0: never)."""
        depth: dict[Key, int] = {}

        def need(ref: Ref, distance: int) -> None:
            if ref.node is not None and distance > 0:
                key = (ref.node, ref.result)
                depth[key] = max(depth.get(key, 0), distance)

        model = self.model
        for node, refs in enumerate([*model.operands, model.branch_operands]):
            for ref in refs:
                if ref.node is not None:
                    need(ref, self.stage(node) + ref.back - self.stage(ref.node))
        for ref in [*model.outside_uses.values(), *model.exit_arguments]:
            if ref.node is not None:
                need(ref, 1 + ref.back - self.stage(ref.node))
        return depth

    def _kernel_copies(self) -> int:
        """K, the kernel copies that give every value a register no other iteration's
        value of it needs while it lives: a value read D kernel iterations after it is
        made must not be remade before that read (K >= D, K >= D + 1 when the reader
        comes after the maker in kernel order)."""
        position = {node: index for index, node in enumerate(self.kernel_order)}
        position[self.branch_node] = len(self.kernel_order)
        copies = max([1, *self.depth.values()])
        model = self.model
        for node, refs in enumerate([*model.operands, model.branch_operands]):
            for ref in refs:
                if ref.node is None:
                    continue
                distance = self.stage(node) + ref.back - self.stage(ref.node)
                if distance >= 1:
                    later = position[node] > position[ref.node]
                    copies = max(copies, distance + 1 if later else distance)
        return copies

    # --- emission helpers ----------------------------------------------------

    def clone(self, block: Block, node: int, operands: Sequence[SSAValue]) -> Operation:
        op = self.model.ops[node]
        mapper = dict(zip(op.operands, operands))
        new = op.clone(value_mapper=mapper)
        new.operands = tuple(operands)
        block.add_op(new)
        return new

    def copy(self, block: Block, value: SSAValue) -> SSAValue:
        new = SiwOp(COPY_OF_CLASS[regclass_of(value)], (value,))
        new.location = self.location
        block.add_op(new)
        return new.res[0]

    def branch_clone(self, block: Block, operands: Sequence[SSAValue], again: Block,
                     leave: Block, again_values: Sequence[SSAValue] = (),
                     row: int | None = None) -> None:
        branch = self.model.branch
        if self.model.continue_on_taken:
            new = BranchOp(branch.mnemonic.data, operands, again, leave, again_values)
        else:
            new = BranchOp(branch.mnemonic.data, operands, leave, again, (), again_values)
        new.location = self.location
        if row is not None:
            new.attributes[SCHEDULE_ROW_ATTR] = IntAttr(row)
        block.add_op(new)

    def absolute_order(self, items: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
        """(iteration, node) pairs in the order the schedule runs them."""
        ii, times = self.schedule.ii, self.schedule.times
        return sorted(items, key=lambda item: (
            item[0] * ii + times[item[1]], not isinstance(self.model.ops[item[1]], UndefOp),
            item[1]))

    # --- the pieces ------------------------------------------------------------

    def run(self) -> None:
        model = self.model
        body = model.block
        region = body.parent
        assert region is not None
        guard = Block(arg_types=[arg.type for arg in body.args])
        fallback = Block()
        values: dict[tuple[int, int, int], SSAValue] = {
            (node, result, iteration): guard.args[arg]
            for (node, result, iteration), arg in model.virtual.items()}
        blocks = [guard]
        current = guard
        for iteration in range(self.stages - 1):
            for node in sorted(model.slice_nodes):
                self.emit_at(current, node, iteration, values)
            following = Block()
            self.branch_clone(current, [self.lookup(ref, iteration, values)
                                        for ref in model.branch_operands], following, fallback)
            blocks.append(following)
            current = following
        prologue = [(i, n) for i in range(self.stages - 1) for n in range(len(model.ops))
                    if i + self.stage(n) <= self.stages - 2]
        for iteration, node in self.absolute_order(prologue):
            if not (model.ops[node].results and (node, 0, iteration) in values):
                self.emit_at(current, node, iteration, values)  # else the guard has it
        slot_types = [model.ops[n].results[r].type for n, r, _ in self.slots]
        kernels = [Block(arg_types=slot_types)] + [Block() for _ in range(self.copies - 1)]
        initial = [self.initial_slot(current, slot, values) for slot in self.slots]
        current.add_op(JumpOp(kernels[0], [self.copy(current, v) for v in initial]))
        epilogue = Block(arg_types=slot_types)
        exits = self.emit_kernels(kernels, epilogue)
        self.emit_epilogue(epilogue)
        to_loop = JumpOp(body, [self.copy(fallback, arg) for arg in guard.args])
        to_loop.attributes[COLD_PATH_ATTR] = UnitAttr()
        fallback.add_op(to_loop)
        # The fallback goes right after the tests that lead to it: the entry values
        # it passes on then die before the kernel instead of living across it.
        # (Emission lays it out before the original loop, off the likely path.)
        for new in [*blocks[:-1], fallback, blocks[-1], *kernels, *exits, epilogue]:
            region.insert_block_before(new, body)
        entry = model.entry_jump
        preheader = entry.parent_block()
        assert preheader is not None
        preheader.insert_op_before(JumpOp(guard, entry.arguments), entry)
        preheader.erase_op(entry)

    def lookup(self, ref: Ref, iteration: int, values: dict[tuple[int, int, int], SSAValue]
               ) -> SSAValue:
        if ref.invariant:
            assert ref.value is not None
            return ref.value
        assert ref.node is not None
        return values[(ref.node, ref.result, iteration - ref.back)]

    def emit_at(self, block: Block, node: int, iteration: int,
                values: dict[tuple[int, int, int], SSAValue]) -> None:
        operands = [self.lookup(ref, iteration, values) for ref in self.model.operands[node]]
        new = self.clone(block, node, operands)
        for result, value in enumerate(new.results):
            values[(node, result, iteration)] = value

    def initial_slot(self, block: Block, slot: tuple[int, int, int],
                     values: dict[tuple[int, int, int], SSAValue]) -> SSAValue:
        """Slot (op, result, d) entering kernel iteration S - 1: the op's value of
        kernel iteration S - 1 - d (an entry value, or don't-care when nothing reads
        it)."""
        node, result, distance = slot
        iteration = self.stages - 1 - distance - self.stage(node)
        found = values.get((node, result, iteration))
        if found is not None:
            return found
        undef = UndefOp(self.model.ops[node].results[result].type)
        block.add_op(undef)
        return undef.res

    def emit_kernels(self, kernels: list[Block], epilogue: Block) -> list[Block]:
        """The kernel, unrolled into ``len(kernels)`` copies (modulo variable
        expansion): copy c runs kernel iterations c, c + K, ...; a value read D kernel
        iterations after it was made comes from copy c - D, or through the first
        copy's arguments when that wraps. Each copy tests the loop and leaves through
        its own exit block, which passes the state to the epilogue (copies that run
        once). Returns the exit blocks."""
        model = self.model
        count = len(kernels)
        slot_arg = {slot: kernels[0].args[index] for index, slot in enumerate(self.slots)}
        versions: list[dict[Key, SSAValue]] = []

        def made(key: Key, copy: int, distance: int) -> SSAValue:
            """The value of ``key`` made ``distance`` kernel iterations before copy
            ``copy`` runs (0: by copy ``copy`` itself)."""
            if distance <= copy:
                return versions[copy - distance][key]
            return slot_arg[(*key, distance - copy)]

        exits: list[Block] = []
        for copy, kernel in enumerate(kernels):
            versions.append({})

            def value(ref: Ref, stage: int, copy: int = copy) -> SSAValue:
                if ref.invariant:
                    assert ref.value is not None
                    return ref.value
                assert ref.node is not None
                distance = stage + ref.back - self.stage(ref.node)
                return made((ref.node, ref.result), copy, distance)

            for node in self.kernel_order:
                stage = self.stage(node)
                new = self.clone(kernel, node, [value(r, stage) for r in model.operands[node]])
                new.attributes[SCHEDULE_ROW_ATTR] = IntAttr(self.schedule.row(node))
                for result, produced in enumerate(new.results):
                    versions[copy][(node, result)] = produced
            leave = Block()
            exits.append(leave)
            condition = [value(ref, 0) for ref in model.branch_operands]
            if copy + 1 < count:
                state = [made((n, r), copy + 1, d) for n, r, d in self.slots]
                self.branch_clone(kernel, condition, kernels[copy + 1], leave,
                                  row=self.schedule.ii - 1)
            else:
                # The last copy leaves with what it passes around the back edge: the
                # exit's copies then join those webs instead of keeping the sources
                # alive beside them.
                state = [self.copy(kernel, made((n, r), count, d)) for n, r, d in self.slots]
                self.branch_clone(kernel, condition, kernels[0], leave, state,
                                  row=self.schedule.ii - 1)
            leave.add_op(JumpOp(epilogue, [self.copy(leave, v) for v in state]))
        return exits

    def emit_epilogue(self, epilogue: Block) -> None:
        """Iterations -1 .. -(S-1) relative to the trip count finish their stages; the
        epilogue's arguments are the kernel state of kernel iteration n."""
        model = self.model
        values: dict[tuple[int, int, int], SSAValue] = {}
        exit_state = {slot: epilogue.args[index] for index, slot in enumerate(self.slots)}

        def lookup(ref: Ref, iteration: int) -> SSAValue:
            if ref.invariant:
                assert ref.value is not None
                return ref.value
            assert ref.node is not None
            source = iteration - ref.back
            if source + self.stage(ref.node) >= 0:
                return values[(ref.node, ref.result, source)]
            return exit_state[(ref.node, ref.result, -source - self.stage(ref.node))]

        pending = [(i, n) for i in range(-(self.stages - 1), 0) for n in range(len(model.ops))
                   if i + self.stage(n) >= 0]
        for iteration, node in self.absolute_order(pending):
            operands = [lookup(ref, iteration) for ref in model.operands[node]]
            new = self.clone(epilogue, node, operands)
            for result, produced in enumerate(new.results):
                values[(node, result, iteration)] = produced
        exit_values = [lookup(ref, -1) for ref in model.exit_arguments]
        if not model.outside_uses:
            epilogue.add_op(JumpOp(model.exit_block,
                                   [self.copy(epilogue, v) for v in exit_values]))
            return
        mapper: dict[SSAValue, SSAValue] = {
            value: lookup(ref, -1) for value, ref in model.outside_uses.items()}
        mapper.update(zip(model.exit_block.args, exit_values))
        for op in model.exit_block.ops:
            epilogue.add_op(op.clone(value_mapper=mapper))


def word_order(model: LoopModel, slots: Sequence[int]) -> list[int]:
    """Ops by the word the schedule gives them (``siw.undef`` first in a word: its
    readers may share the word), and within a word in the order the machine carries
    a word out (``isa.WORD_EXECUTION_ORDER``): the schedule puts no ordering edge inside a
    row, and in this order the packer may keep a side effect and an op that may stop
    the sentron in one word (dependence_graph.py)."""
    def rank(node: int) -> int:
        op = model.ops[node]
        return EXECUTION_RANK[op.info.pipe] if isinstance(op, SiwOp) else -1

    return sorted(range(len(model.ops)), key=lambda node: (
        slots[node], not isinstance(model.ops[node], UndefOp), rank(node), node))


def reorder_single_stage(model: LoopModel, schedule: ModuloSchedule) -> bool:
    """Lay a one-stage schedule's ops out in its row order (copies for the back edge
    stay last): the packer after allocation keeps memory and message ops in program
    order, so this order is what lets it overlap the accesses of unrolled copies."""
    copies = [op for op in model.block.ops
              if op is not model.branch and op not in set(model.ops)]
    copy_results = {result for op in copies for result in op.results}
    if any(operand in copy_results for op in model.ops for operand in op.operands):
        return False
    order = word_order(model, list(schedule.times))
    for op in [*(model.ops[n] for n in order), *copies]:
        op.detach()
        model.block.insert_op_before(op, model.branch)
    return True


def _choose_schedule(model: LoopModel, graph: LoopGraph, through: Counter[RegClass]
                     ) -> tuple[ModuloSchedule, _Expansion] | None:
    """The schedule of least estimated cost: II plus ``SPILL_COST`` per register the
    kernel needs beyond the class (see pipeline_pressure; what the allocator cannot
    recompute it spills, in the loop). At each II from the smallest found it tries
    the overlapping schedule and one confined to a single stage (a reordering without
    overlap); the first that fits the registers ends the search, since a larger II
    costs more."""
    first = modulo_schedule(graph)
    if first is None:
        return None
    single = dataclasses.replace(graph, single_stage=True)
    loads = [n for n, op in enumerate(model.ops)
             if isinstance(op, SiwOp) and op.info.effects & Effect.READ_MEM]
    span = min(max(MIN_II_SEARCH, first.ii // 4), MAX_II_SEARCH)
    best: tuple[int, ModuloSchedule, _Expansion] | None = None
    for ii in range(first.ii, first.ii + span + 1):
        if best is not None and best[0] <= ii:
            break
        for candidate in (graph, single):
            schedule = first if (ii == first.ii and candidate is graph) else \
                modulo_schedule(candidate, min_ii=ii, max_ii=ii, recurrences_checked=True)
            if schedule is None:
                continue
            schedule = sink_nodes(candidate, schedule, loads)
            if schedule.stages > MAX_STAGES:
                continue
            try:
                expansion = _Expansion(model, schedule)
            except NotPipelinable:
                continue
            stages = {n: expansion.stage(n) for n in range(len(model.ops))}
            rows = {n: schedule.row(n) for n in range(len(model.ops))}
            demand = kernel_demand(model, rows, schedule.ii, stages, through)
            cost = schedule.ii + SPILL_COST * excess(demand)
            if best is None or cost < best[0]:
                best = (cost, schedule, expansion)
    return None if best is None else (best[1], best[2])


def pipeline_loop(block: Block, kernel_name: str = "") -> PipelineReport:
    """Software-pipeline one candidate loop body in place when it pays."""
    try:
        model = profitable_model(build_loop_model(block))
    except NotPipelinable as refusal:
        return PipelineReport(kernel_name, len(list(block.ops)), reason=str(refusal))
    size = len(model.ops)
    graph = loop_graph(model)
    bound = resource_mii(graph)
    through = through_values(model)
    choice = _choose_schedule(model, graph, through)
    if choice is None:
        return PipelineReport(kernel_name, size, resource_bound=bound,
                              reason="no modulo schedule found")
    schedule, expansion = choice
    done = functools.partial(PipelineReport, kernel_name, size, schedule.ii,
                             resource_bound=bound, stages=schedule.stages)
    if schedule.stages < 2:
        if not reorder_single_stage(model, schedule):
            return done(reason="one stage, and a copy feeds an op: body order kept")
        return done(reason="one stage: reordered in place, nothing to overlap")
    expansion.run()
    return done(kernel_copies=expansion.copies)


def pipeline_kernel(kernel: FuncOp) -> list[PipelineReport]:
    """Pipeline every innermost single-block loop of a selected kernel."""
    candidates = [block for block in kernel.body.blocks if loop_branch(block) is not None]
    return [pipeline_loop(block, kernel.sym_name.data) for block in candidates]
