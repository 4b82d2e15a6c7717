"""`prefetch-insert{distance=0 start=true writes=false enabled=true}`: software
prefetch for innermost loops that stream tensors along their last (contiguous) axis.

For `scf.for %i = %lb to %ub step s` (s a positive constant, the loop innermost) whose
body reads `t[l..., i + c]` (leading indices l loop-invariant and provably inside their
axes, c constant), the lines
the loop will need `d` iterations later are prefetched. d = ceil(memory latency /
cycles per iteration), the cycles being the busiest pipe's op count in the body (one op
per pipe per cycle) and the latency the DRAM latency of the default cycle profile. One
`phx.prefetch` per cache line an iteration advances over, not one per element.

A prefetch must never form a coordinate outside its tensor, so the loop is cut in two
at IR level, with the cut computed once before it:

    ok    = lb >= -min(P)
    bound = ok ? min(ub, E - max(P) for every stream) : lb
    split, r = scf.if lb >= bound { lb, inits } else {
        split = lb + ceil((bound - lb) / s) * s
        prefetch the lines of the first d iterations (`start`, see below)
        r = scf.for %i = %lb to %split step s iter_args(inits) {
            prefetch t[l..., i + p] for p in P; body }
        split, r }
    scf.for %i = %split to %ub step s iter_args(r) { body }

where P are a stream's prefetch offsets (distance included) and E the extent of its
last axis. Inside the first loop `lb <= i < bound`, so `0 <= i + p <= E - 1`: every
prefetch index is in range (and no addition wraps: extents are far below 2^48). The
two loops run the original iterations in the original order (the first runs those
with `i < bound`, the second the rest, on the first's results), so every effect and
every value is unchanged. The prefetches carry the `in_bounds` unit attribute: they are
proven in range, so instruction selection needs no run-time guard for them. A loop too
short to have a prefetching iteration pays the few ops of `bound` and a branch it falls
through.

The loop's own prefetches never cover its first d iterations; with `start` (the
default) their lines are prefetched before it, when it runs (in `scf.if lb + min(S)
>= 0` unless lb is a constant that passes; S are their offsets from lb, all below
min(P)), so those misses overlap too.

Loops left alone: not innermost, a step that is not a positive constant, an i32
induction variable, no stream read along its last axis, a loop that already prefetches,
and the second half of a loop already cut in two (the remainder loop of
`unroll-inner`, or this pass's own tail loop), whose few iterations a prefetch that far
ahead cannot help. Indices decreasing with `i`, scaled by a factor or of unknown shape
are not streams, and neither is a row the enclosing loop walks again on each of its
iterations (it stays in the cache after the first).

Profitability (docs/passes.md): in a lane-parallel loop (`unroll.lane_parallel`, the
loops LLVM vectorises natively) a stream is prefetched only when the step covers a
whole line, as unroll-inner's line factor makes it; loops whose bounds are loaded
(short CSR rows of unknown length) or whose trips a constant bounds within the
prefetch distance are not cut.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, builtin, scf
from xdsl.dialects.builtin import UnitAttr, i64
from xdsl.ir import Block, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter
from xdsl.traits import is_side_effect_free

from phextcc.backend.isa import ISA, Pipe
from phextcc.ir import phx_dialect as phx
from phextcc.passes.loop_rebuild import defined_outside
from phextcc.passes.prove_in_bounds import Affine, RangeAnalysis, index_in_range
from phextcc.passes.unroll import (
    ELEMENT_BYTES,
    LINE_BYTES,
    LOOP_OPS,
    constant,
    constant_int,
    depends_on_load,
    lane_parallel,
    span_bound,
    trip_count,
)
from runtime.profiles import ZEN4

MEMORY_LATENCY = ZEN4.dram_latency
# Offsets beyond these are not worth prefetching and would only risk large constants.
MAX_INDEX_OFFSET = 1 << 20
MAX_DISTANCE_ELEMENTS = 1 << 16
# Each stream costs an S op per line per iteration; past this many the S pipe pays more
# than the misses cost.
MAX_STREAMS_PER_LOOP = 8
# Lines prefetched before the loop for its first iterations, per stream. It must not
# bind at the usual distances: a line of the first d iterations left out is a DRAM miss
# the loop's own prefetches never cover (the stream example's producer prefetches 18
# lines ahead; a cap of 16 cost its consumer about 600 cycles of waiting, cold).
MAX_START_LINES = 32
# How many constant additions `iv_offset` follows from the induction variable.
MAX_OFFSET_CHAIN = 4

# Which pipe an IR op ends up on, through the machine family it selects to (the ISA
# table says the family's pipe). Ops not listed are D-pipe arithmetic; the free ones
# become immediates or stay outside the loop.
FAMILY_OF_OP: dict[type[Operation], str] = {
    phx.LoadOp: "SGATHER",
    phx.StoreOp: "SSCATTR",
    phx.PrefetchOp: "SPREFCH",
    phx.SendOp: "CSEND",
    phx.RecvOp: "CRECV",
    phx.BarrierOp: "CBAR",
    phx.AllReduceOp: "CREDUCE",
    phx.BroadcastOp: "CCAST",
}
DEFAULT_FAMILY = "DADD"
COORDINATE_FAMILY = "SINDEX"  # one coordinate per stream and iteration
LOOP_CONTROL_FAMILY = "DBR"  # the back edge: one fused compare-and-branch
FREE_OPS: tuple[type[Operation], ...] = (arith.ConstantOp, scf.YieldOp)
PIPE_OF_FAMILY: dict[str, Pipe] = {info.family: info.pipe for info in ISA}


@dataclass(frozen=True)
class Stream:
    """The accesses of one loop to one row `tensor[leading..., *]`, at offsets from the
    induction variable along the last axis."""

    tensor: SSAValue
    leading: tuple[SSAValue, ...]
    offsets: frozenset[int]
    read: bool

    @property
    def tensor_type(self) -> phx.TensorType:
        tensor_type = self.tensor.type
        assert isinstance(tensor_type, phx.TensorType)
        return tensor_type

    @property
    def elements_per_line(self) -> int:
        return max(1, LINE_BYTES // ELEMENT_BYTES[self.tensor_type.element_type])

    def prefetch_offsets(self, step: int, distance: int) -> tuple[int, ...]:
        """Offsets from `i` to prefetch, `distance` iterations ahead: one per line of
        the span an iteration advances over (the whole step when the accesses cover
        it, else the span between the lowest and highest offset)."""
        low, high = min(self.offsets), max(self.offsets)
        span = min(high - low + 1, step)
        line = self.elements_per_line
        lines = -(-span // line)
        ahead = distance * step
        return tuple(ahead + low + k * line for k in range(lines))


@dataclass(frozen=True)
class PlannedStream:
    """A stream with its prefetch offsets from `i`, `ahead` elements ahead of the
    accesses."""

    stream: Stream
    offsets: tuple[int, ...]
    ahead: int

    def start_offsets(self) -> tuple[int, ...]:
        """Offsets from `lb` of the lines the first `ahead` elements of the stream
        touch (what the loop's own prefetches never cover), at most
        MAX_START_LINES of them: each lies below min(offsets)."""
        first = min(self.offsets) - self.ahead
        line = self.stream.elements_per_line
        lines = min(MAX_START_LINES, -(-self.ahead // line))
        return tuple(first + k * line for k in range(lines))


def iv_offset(value: SSAValue, iv: SSAValue, depth: int = MAX_OFFSET_CHAIN) -> int | None:
    """c when `value` is `iv + c` through additions of constants, else None."""
    if value == iv:
        return 0
    owner = value.owner
    if depth == 0 or not isinstance(owner, Operation):
        return None
    match owner:
        case arith.AddiOp():
            for varying, term in ((owner.lhs, owner.rhs), (owner.rhs, owner.lhs)):
                amount = constant_int(term)
                inner = iv_offset(varying, iv, depth - 1)
                if amount is not None and inner is not None:
                    return inner + amount
        case arith.SubiOp():
            amount = constant_int(owner.rhs)
            inner = iv_offset(owner.lhs, iv, depth - 1)
            if amount is not None and inner is not None:
                return inner - amount
        case _:
            pass
    return None


def is_innermost(loop: scf.ForOp) -> bool:
    return not any(isinstance(op, LOOP_OPS) for op in loop.body.walk() if op is not loop)


def is_second_half(loop: scf.ForOp) -> bool:
    """True for a loop starting where an earlier loop of its block stops: the remainder
    loop of unroll-inner (its lb is the main loop's ub), or the tail loop this pass
    leaves (its lb is the split, the first result of the `scf.if` before it)."""
    cut = loop.lb.owner
    if isinstance(cut, scf.IfOp) and cut.results[0] == loop.lb and any(
            isinstance(op, phx.PrefetchOp) for op in cut.walk()):
        return True
    previous = loop.prev_op
    while previous is not None:
        if isinstance(previous, scf.ForOp) and previous.ub == loop.lb:
            return True
        previous = previous.prev_op
    return False


def candidate_step(loop: scf.ForOp) -> int | None:
    """The loop's constant step when the pass may work on it, else None."""
    step = constant_int(loop.step)
    if step is None or step <= 0 or step > MAX_DISTANCE_ELEMENTS:
        return None
    if loop.body.block.args[0].type != i64 or not is_innermost(loop):
        return None
    if any(isinstance(op, phx.PrefetchOp) for op in loop.body.walk()):
        return None
    if is_second_half(loop):
        return None
    return step


def find_streams(loop: scf.ForOp) -> list[Stream]:
    """The rows the body's unconditional loads and stores walk along, in body order.
    A row index must be provably inside its axis (prove-in-bounds' range analysis): a
    row chosen by a loaded value (a gather of rows) is left alone, as checking it at
    every entry of the loop costs more than rows that short gain."""
    iv = loop.body.block.args[0]
    facts = RangeAnalysis()
    found: dict[tuple[SSAValue, tuple[SSAValue, ...]], tuple[set[int], bool]] = {}
    for op in loop.body.block.ops:
        if not isinstance(op, phx.LoadOp | phx.StoreOp):
            continue
        tensor_type = op.tensor.type
        assert isinstance(tensor_type, phx.TensorType)
        if tensor_type.element_type not in ELEMENT_BYTES:
            continue
        *leading, last = op.indices
        offset = iv_offset(last, iv)
        if offset is None or abs(offset) > MAX_INDEX_OFFSET:
            continue
        if not all(defined_outside(index, loop) and index_in_range(facts, index, extent)
                   for index, extent in zip(leading, tensor_type.extents, strict=False)):
            continue
        if not defined_outside(op.tensor, loop):
            continue
        key = (op.tensor, tuple(leading))
        offsets, read = found.get(key, (set(), False))
        offsets.add(offset)
        found[key] = (offsets, read or isinstance(op, phx.LoadOp))
    return [Stream(tensor, leading, frozenset(offsets), read)
            for (tensor, leading), (offsets, read) in found.items()]


def pipe_of(op: Operation) -> Pipe:
    return PIPE_OF_FAMILY[FAMILY_OF_OP.get(type(op), DEFAULT_FAMILY)]


def is_free(op: Operation, iv: SSAValue) -> bool:
    """Constants and the yield take no slot; neither does `i + c`, which instruction
    selection folds into the immediate offset of the accesses using it."""
    return isinstance(op, FREE_OPS) or (
        len(op.results) == 1 and op.results[0] != iv and iv_offset(op.results[0], iv) is not None)


def cycles_per_iteration(loop: scf.ForOp, streams: int, prefetches: int) -> int:
    """The busiest pipe's op count per iteration, with the prefetches to be added."""
    iv = loop.body.block.args[0]
    counts = dict.fromkeys(Pipe, 0)
    for op in loop.body.walk():
        if not is_free(op, iv):
            counts[pipe_of(op)] += 1
    counts[PIPE_OF_FAMILY[COORDINATE_FAMILY]] += streams
    counts[PIPE_OF_FAMILY[FAMILY_OF_OP[phx.PrefetchOp]]] += prefetches
    counts[PIPE_OF_FAMILY[LOOP_CONTROL_FAMILY]] += 1
    return max(1, *counts.values())


def prefetch_distance(loop: scf.ForOp, step: int, streams: Sequence[Stream]) -> int:
    """Iterations ahead: enough for the memory latency to pass, at least one."""
    prefetches = sum(len(s.prefetch_offsets(step, 0)) for s in streams)
    cycles = cycles_per_iteration(loop, len(streams), prefetches)
    return max(1, -(-MEMORY_LATENCY // cycles))


def extent_value(extent: int | str) -> Operation:
    return phx.SymOp(extent) if isinstance(extent, str) else constant(extent)


class SplitBuilder:
    """Ops computing where the prefetching loop stops (see the module docstring)."""

    def __init__(self, loop: scf.ForOp) -> None:
        self.loop = loop
        self.ops: list[Operation] = []
        self.facts = RangeAnalysis()

    def add(self, op: Operation) -> SSAValue:
        self.ops.append(op)
        return op.results[0]

    def constant(self, value: int) -> SSAValue:
        return self.add(constant(value))

    def at_least(self, value: int) -> SSAValue | None:
        """`lb >= value`, or None when the range analysis shows it always holds."""
        interval = self.facts.interval(self.loop.lb)
        if interval is not None and any((form - Affine(value)).never_negative()
                                        for form in interval.lower):
            return None
        return self.add(arith.CmpiOp(self.loop.lb, self.constant(value), "sge"))

    def limit(self, plan: Sequence[PlannedStream]) -> SSAValue:
        """min(ub, E - max(P) for every stream): below it every prefetch index stays
        inside its row."""
        ends = {(planned.stream.tensor_type.extents[-1], max(planned.offsets)): None
                for planned in plan}
        limit = self.loop.ub
        for extent, highest in ends:
            end = self.add(arith.SubiOp(self.add(extent_value(extent)),
                                        self.constant(highest)))
            limit = self.add(arith.MinSIOp(limit, end))
        return limit

    def bound(self, plan: Sequence[PlannedStream]) -> SSAValue:
        """`ok ? limit : lb` with ok = `lb >= -min(P)` (left out when the range analysis
        shows it always holds): the prefetching loop runs the iterations below it."""
        limit = self.limit(plan)
        ok = self.at_least(-min(min(planned.offsets) for planned in plan))
        return limit if ok is None else self.add(arith.SelectOp(ok, limit, self.loop.lb))

    def split(self, step: int, bound: SSAValue) -> SSAValue:
        """lb + ceil((bound - lb) / step) * step, for lb < bound. Then ok held, so
        lb >= -min(P) and bound <= E < 2^48: `bound - lb` does not wrap."""
        span = self.add(arith.SubiOp(bound, self.loop.lb))
        return self.add(arith.AddiOp(self.loop.lb, self.whole_steps(span, step)))

    def whole_steps(self, span: SSAValue, step: int) -> SSAValue:
        """ceil(span / step) * step for 0 < span < 2^48: with a mask when the step is a
        power of two (this runs at every entry of the loop, a division costs ~18
        cycles), else through the trip count."""
        if step & (step - 1) == 0:
            if step == 1:
                return span
            rounded_up = self.add(arith.AddiOp(span, self.constant(step - 1)))
            return self.add(arith.AndIOp(rounded_up, self.constant(-step)))
        count_ops, trips = trip_count(self.loop, step, span)
        self.ops += count_ops
        return self.add(arith.MuliOp(trips, self.constant(step)))


def prefetch_ops(origin: SSAValue, plan: Sequence[PlannedStream],
                 start: bool) -> list[Operation]:
    """The index additions and prefetches of `t[l..., origin + p]` for every stream's
    offsets p: the loop's (from `i`), or with `start` the lines of its first iterations
    (from `lb`)."""
    ops: list[Operation] = []
    for planned in plan:
        stream = planned.stream
        for offset in planned.start_offsets() if start else planned.offsets:
            amount = constant(offset)
            index = arith.AddiOp(origin, amount.result)
            prefetch = phx.PrefetchOp(stream.tensor, [*stream.leading, index.result])
            prefetch.attributes[phx.PREFETCH_IN_BOUNDS_ATTR] = UnitAttr()
            ops += [amount, index, prefetch]
    return ops


def start_prefetches(loop: scf.ForOp, plan: Sequence[PlannedStream]) -> list[Operation]:
    """Prefetches of the lines of the first iterations, for when the prefetching loop
    runs: then `ok` held and `lb < E - max(P)`, and every start offset lies below
    min(P) <= max(P), so the indices are in range once they are >= 0: checked by an
    `scf.if lb + min(start offsets) >= 0` unless the range analysis proves it."""
    builder = SplitBuilder(loop)
    lowest = min(min(planned.start_offsets()) for planned in plan)
    non_negative = builder.at_least(-lowest)
    prefetches = prefetch_ops(loop.lb, plan, start=True)
    if non_negative is None:
        return prefetches
    return [*builder.ops, scf.IfOp(non_negative, [], [*prefetches, scf.YieldOp()])]


def split_and_prefetch(loop: scf.ForOp, step: int, plan: Sequence[PlannedStream],
                       prefetch_start: bool) -> None:
    """`scf.if lb >= bound` keeps the loop as it is (its results and lb go to the tail
    loop); else the prefetching loop runs up to the split, and the tail loop goes on
    from there. The short case is the `then` branch, the fall-through: a loop without
    any prefetching iteration is short, and a mispredicted branch would cost it most."""
    outside = SplitBuilder(loop)
    bound = outside.bound(plan)
    short = outside.add(arith.CmpiOp(loop.lb, bound, "sge"))
    Rewriter.insert_op(outside.ops, InsertPoint.before(loop))
    inside = SplitBuilder(loop)
    split = inside.split(step, bound)
    prefetching = [*inside.ops, *(start_prefetches(loop, plan) if prefetch_start else [])]
    first_region = loop.body.clone()
    first_block: Block = first_region.block
    first_op = first_block.first_op
    assert first_op is not None
    Rewriter.insert_op(prefetch_ops(first_block.args[0], plan, start=False),
                       InsertPoint.before(first_op))
    first = scf.ForOp(loop.lb, split, loop.step, list(loop.iter_args), first_region)
    prefetching += [first, scf.YieldOp(split, *first.results)]
    carried_types = [value.type for value in loop.iter_args]
    cut = scf.IfOp(short, [i64, *carried_types],
                   [scf.YieldOp(loop.lb, *loop.iter_args)], prefetching)
    Rewriter.insert_op(cut, InsertPoint.before(loop))
    tail = scf.ForOp(cut.results[0], loop.ub, loop.step, list(cut.results[1:]),
                     loop.detach_region(loop.body))
    Rewriter.insert_op(tail, InsertPoint.before(loop))
    for old, new in zip(loop.results, tail.results, strict=True):
        old.replace_all_uses_with(new)
    Rewriter.erase_op(loop)


def fits(planned: PlannedStream) -> bool:
    """False when a constant row length already rules out every prefetch."""
    extent = planned.stream.tensor_type.extents[-1]
    return isinstance(extent, str) or max(planned.offsets) < extent


def invariant_in(value: SSAValue, loop: Operation) -> bool:
    """`value` is the same on every iteration of `loop`: defined before it, or computed
    inside it by side-effect-free ops from such values."""
    if defined_outside(value, loop):
        return True
    owner = value.owner
    if not isinstance(owner, Operation) or owner.regions or not is_side_effect_free(owner):
        return False
    return all(invariant_in(operand, loop) for operand in owner.operands)


def enclosing_loop(loop: scf.ForOp) -> Operation | None:
    parent = loop.parent_op()
    while parent is not None and not isinstance(parent, LOOP_OPS):
        parent = parent.parent_op()
    return parent


def walked_again(loop: scf.ForOp, stream: Stream) -> bool:
    """The enclosing loop runs `loop` over the same row on each of its iterations (the
    row of `a` in gemm's `for j { for k { a[i, k] * b[k, j] } }`): after the first
    time the row is in the cache, and prefetching it again only costs."""
    outer = enclosing_loop(loop)
    return outer is not None and all(
        invariant_in(value, outer)
        for value in (loop.lb, loop.ub, stream.tensor, *stream.leading))


def covers_line(stream: Stream, step: int) -> bool:
    """An iteration advances by at least one whole line of the stream, so each of its
    prefetches asks for a line no earlier iteration asked for."""
    return step >= stream.elements_per_line


def worth_streaming(loop: scf.ForOp, step: int, stream: Stream, writes: bool) -> bool:
    """Whether a stream earns its prefetches. Besides rows only stored to (unless
    `writes`) and rows the enclosing loop walks again: in a lane-parallel loop
    (`unroll.lane_parallel`) a stream advancing less than a line per iteration, which
    would ask for each line several times, and whose prefetch calls keep the native
    vectoriser from the loop (the Laplacian's row loop, prefetched per element, ran
    1.7x the -O2 time natively; unroll-inner gives such loops a line per iteration
    when their copies fit)."""
    if not (stream.read or writes) or walked_again(loop, stream):
        return False
    return covers_line(stream, step) or not lane_parallel(loop)


def too_short(loop: scf.ForOp, step: int, iterations: int) -> bool:
    """The trip count is data (loaded bounds: CSR row segments, short and unknown), or
    bounded by a constant no longer than the distance: no iteration would prefetch,
    and the cut would cost at every entry."""
    if depends_on_load(loop.lb) or depends_on_load(loop.ub):
        return True
    bound = span_bound(loop.lb, loop.ub)
    return bound is not None and bound <= iterations * step


def plan_loop(loop: scf.ForOp, step: int, distance: int, writes: bool
              ) -> list[PlannedStream]:
    streams = [s for s in find_streams(loop)
               if worth_streaming(loop, step, s, writes)][:MAX_STREAMS_PER_LOOP]
    if not streams:
        return []
    iterations = distance if distance > 0 else prefetch_distance(loop, step, streams)
    iterations = min(iterations, max(1, MAX_DISTANCE_ELEMENTS // step))
    if too_short(loop, step, iterations):
        return []
    plan = [PlannedStream(s, s.prefetch_offsets(step, iterations), iterations * step)
            for s in streams]
    return [planned for planned in plan if fits(planned)]


@dataclass(frozen=True)
class PrefetchInsertPass(ModulePass):
    """Prefetch the rows innermost loops stream through, `distance` iterations ahead
    (0: from the memory latency and the body's busiest pipe); `start` also prefetches,
    before the loop, the lines of its first `distance` iterations; `writes` also
    prefetches rows that are only stored to; `enabled=false` turns the pass off."""

    name = "prefetch-insert"

    distance: int = 0
    start: bool = True
    writes: bool = False
    enabled: bool = True

    def __post_init__(self) -> None:
        if self.distance < 0:
            raise ValueError(f"prefetch-insert: distance must be >= 0, got {self.distance}")

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        if not self.enabled:
            return
        for loop in [o for o in op.walk() if isinstance(o, scf.ForOp)]:
            step = candidate_step(loop)
            if step is None:
                continue
            plan = plan_loop(loop, step, self.distance, self.writes)
            if plan:
                split_and_prefetch(loop, step, plan, self.start)
