"""`prefetch-next-row{enabled=true}`: prefetch the next row of a row-by-row loop nest
while the current row is processed.

prefetch-insert prefetches along the row an innermost loop walks, `d` iterations
ahead; a row shorter than `d` iterations gets nothing, so a nest over short rows
(softmax's rows of a few dozen elements, walked three times each) waits for memory at
the start of every row. This pass looks one step further out: for

    scf.for %r = ... step so {                       (the enclosing loop)
        ...
        scf.for %i = %lb to %ub step s { ... t[.., r + e, .., i + c] ... }
    }

it prefetches, before the inner loop, the first lines of row `r + so + e` of `t`,
the row the next iteration of the enclosing loop reads, so that the memory latency
passes while the current row is processed:

    scf.if r + so < ub_outer [and lb < ub] {
        start = lb + c_min                         (max(.., 0) unless proven)
        stop  = min(start + J L, ub - s + 1 + c_max)   (E_last unless proven)
        scf.for %c = start to stop step L { prefetch t[.., r + so + e, .., c] }
    }

`t[.., r + e, .., *]` is a read stream of the inner loop (prefetch-insert's
`find_streams`: `r + e` and every other leading index proven inside its axis for
every iteration of the enclosing loop, the others invariant in it). So when the
enclosing loop has a next iteration (`r + so < ub_outer`), that iteration's row index
`r + so + e` is inside its axis too, and nothing wraps (rows are far below 2^48).
Along the last axis:
- when every access of the stream in the inner loop carries prove-in-bounds' mark,
  the first trip's `lb + c_min` and the last trip's `last + c_max` are inside the axis
  whenever `lb < ub` (part of the guard). The last trip starts somewhere in
  `[ub - s, ub - 1]`, so `lb + c_min .. ub - s + c_max` lies inside the axis and the
  walk needs only the inner loop's bounds (an unrolled main loop's last trip starts
  at `ub - 16`, not `ub - 1`);
- otherwise the walk starts at `max(lb + c_min, 0)` and stops at `E_last` or before
  (an addition near the i64 limit that wraps makes the stop negative and the walk
  empty).
Either way no coordinate is ever formed outside the tensor, and the prefetches carry
`in_bounds`. Only values live anyway are read (the loops' bounds and induction
variables, constants): an extent read there would hold a register through the inner
loop, which on warm caches cost the Laplacian's row loop more than the walk (26% more
cycles with `H` and `W` held, 3% without). L is a line's elements; J is the number of
lines prefetch-insert's start prefetches would cover (the lines of the first `d`
iterations), at most MAX_ROW_LINES, fewer when a constant extent holds fewer lines;
a short row stops the walk at its end. The walk is marked `phx.trips_below` (J + 1),
so the backend does not software-pipeline it.

A next row is prefetched once per iteration of the enclosing loop, before the first
inner loop reading that tensor row, and not at all when some inner loop of the same
iteration reads it already (the Laplacian's rows r - 1, r, r + 1: only r + 2 is new).
Left alone: an enclosing loop that is not an `scf.for` with a constant positive step,
the remainder or tail half of a split loop, rows chosen by loaded values, and rows
only stored to.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, builtin, scf
from xdsl.dialects.builtin import IntAttr, UnitAttr, i64
from xdsl.ir import Block, Operation, Region, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from phextcc.backend.isa import Hint
from phextcc.ir import phx_dialect as phx
from phextcc.passes.loop_rebuild import defined_outside
from phextcc.passes.prefetch import (
    MAX_INDEX_OFFSET,
    Stream,
    candidate_step,
    extent_value,
    find_streams,
    iv_offset,
    prefetch_distance,
)
from phextcc.passes.unroll import constant, constant_int

# At most this many lines of a next row: the walk is for rows too short to prefetch
# along; a longer row's loop prefetches its own first lines (prefetch-insert's start).
MAX_ROW_LINES = 16
# The next row goes to L2, not L1: it is read a whole row later, and natively a line
# brought into L1 that early is evicted by the current rows first (the Laplacian ran
# 3-6% slower than -O2 with L1 prefetches of its next row, within noise with L2 ones).
NEXT_ROW_LEVEL = Hint.L2


@dataclass(frozen=True)
class NextRow:
    """Row `outer_iv + offset` (at leading position `position`) of a stream, whose next
    row the enclosing loop's following iteration reads."""

    stream: Stream
    position: int
    offset: int

    def key(self, shift: int) -> tuple[object, ...]:
        """The identity of the row `shift` further along the enclosing loop."""
        others = tuple(v for k, v in enumerate(self.stream.leading) if k != self.position)
        return (self.stream.tensor, self.position, others, self.offset + shift)


def row_of(stream: Stream, outer: scf.ForOp) -> NextRow | None:
    """The stream's row as `outer_iv + e` at one leading position, the others invariant
    in the enclosing loop; None otherwise."""
    iv = outer.body.block.args[0]
    found: NextRow | None = None
    for position, index in enumerate(stream.leading):
        offset = iv_offset(index, iv)
        if offset is not None:
            if found is not None or abs(offset) > MAX_INDEX_OFFSET:
                return None
            found = NextRow(stream, position, offset)
        elif not defined_outside(index, outer):
            return None
    return found


def line_count(stream: Stream, loop: scf.ForOp, step: int) -> int:
    """Lines of the next row to prefetch: those of the first `d` iterations (at most
    MAX_ROW_LINES), and no more than a constant row holds."""
    line = stream.elements_per_line
    ahead = prefetch_distance(loop, step, [stream]) * step
    lines = min(MAX_ROW_LINES, -(-ahead // line))
    extent = stream.tensor_type.extents[-1]
    if isinstance(extent, int):
        lines = min(lines, -(-extent // line))
    return max(lines, 0)


def proven_stream(stream: Stream, loop: scf.ForOp) -> bool:
    """Every access of the stream in the loop carries prove-in-bounds' mark: for
    `lb <= i < ub` each `i + c` lies inside the last axis."""
    return all(op.in_bounds is not None for op in loop.body.block.ops
               if isinstance(op, phx.LoadOp | phx.StoreOp) and op.tensor == stream.tensor
               and tuple(op.indices[:-1]) == stream.leading)


def next_row_prefetches(row: NextRow, loop: scf.ForOp, step: int, outer: scf.ForOp,
                        outer_step: int, lines: int) -> list[Operation]:
    """The guarded walk prefetching the next row's first `lines` lines (see the module
    docstring). Only values live anyway are read (the loop bounds and induction
    variables, constants): an extent read here would hold a register through the inner
    loop."""
    stream = row.stream
    line = stream.elements_per_line
    low, high = min(stream.offsets), max(stream.offsets)
    ops: list[Operation] = []

    def add(op: Operation, into: list[Operation] = ops) -> SSAValue:
        into.append(op)
        return op.results[0]

    following = add(arith.AddiOp(outer.body.block.args[0], add(constant(outer_step))))
    cond = add(arith.CmpiOp(following, outer.ub, "slt"))
    proven = proven_stream(stream, loop)
    if proven:
        cond = add(arith.AndIOp(cond, add(arith.CmpiOp(loop.lb, loop.ub, "slt"))))
    inside: list[Operation] = []

    def plus(value: SSAValue, amount: int) -> SSAValue:
        """`value + amount`, folded when either is known."""
        known = constant_int(value)
        if known is not None:
            return add(constant(known + amount), inside)
        if amount == 0:
            return value
        return add(arith.AddiOp(value, add(constant(amount), inside)), inside)

    next_index = plus(following, row.offset)
    start = plus(loop.lb, low)
    if proven:  # the first trip (lb) and the last (lb < ub - step + 1 <= last < ub)
        end = plus(loop.ub, high - step + 1)
    else:
        if constant_int(start) is None or constant_int(start) < 0:
            start = add(arith.MaxSIOp(start, add(constant(0), inside)), inside)
        end = add(extent_value(stream.tensor_type.extents[-1]), inside)
    span = add(arith.AddiOp(start, add(constant(lines * line), inside)), inside)
    stop = add(arith.MinSIOp(span, end), inside)
    body = Block(arg_types=[i64])
    leading = list(stream.leading)
    leading[row.position] = next_index
    prefetch = phx.PrefetchOp(stream.tensor, [*leading, body.args[0]])
    prefetch.attributes[phx.PREFETCH_IN_BOUNDS_ATTR] = UnitAttr()
    prefetch.attributes[phx.PREFETCH_LEVEL_ATTR] = IntAttr(int(NEXT_ROW_LEVEL))
    body.add_ops([prefetch, scf.YieldOp()])
    walk = scf.ForOp(start, stop, add(constant(line), inside), [], Region(body))
    walk.attributes[phx.TRIPS_BELOW_ATTR] = IntAttr(lines + 1)
    inside += [walk, scf.YieldOp()]
    ops.append(scf.IfOp(cond, [], inside))
    return ops


def outer_step(loop: scf.ForOp) -> int | None:
    """The constant step of the `scf.for` whose body holds `loop` directly."""
    outer = loop.parent_op()
    if not isinstance(outer, scf.ForOp) or loop.parent_block() is not outer.body.block:
        return None
    step = constant_int(outer.step)
    if step is None or step <= 0 or step > MAX_INDEX_OFFSET:
        return None
    return step


@dataclass(frozen=True)
class PrefetchNextRowPass(ModulePass):
    """Prefetch, before an innermost loop, the first lines of the row the next
    iteration of its enclosing loop reads (see the module docstring)."""

    name = "prefetch-next-row"

    enabled: bool = True

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        if not self.enabled:
            return
        candidates: dict[scf.ForOp, list[tuple[scf.ForOp, int, NextRow]]] = {}
        for loop in [o for o in op.walk() if isinstance(o, scf.ForOp)]:
            step = candidate_step(loop)
            step_out = outer_step(loop)
            if step is None or step_out is None:
                continue
            outer = loop.parent_op()
            assert isinstance(outer, scf.ForOp)
            for stream in find_streams(loop):
                row = row_of(stream, outer)
                if row is not None and stream.read:
                    candidates.setdefault(outer, []).append((loop, step, row))
        for outer, rows in candidates.items():
            step_out = constant_int(outer.step)
            assert step_out is not None
            current = {row.key(0) for _, _, row in rows}
            done: set[tuple[object, ...]] = set()
            for loop, step, row in rows:
                target = row.key(step_out)
                if target in current or target in done:
                    continue
                done.add(target)
                prefetches = next_row_prefetches(row, loop, step, outer, step_out,
                                                 line_count(row.stream, loop, step))
                if prefetches:
                    Rewriter.insert_op(prefetches, InsertPoint.before(loop))
