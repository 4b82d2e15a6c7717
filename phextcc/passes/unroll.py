"""`unroll-inner{factor=4}`: partial unrolling of innermost `scf.for` loops, with a
remainder loop, for trip counts known only at run time.

xDSL's `scf-for-loop-unroll` only handles loops whose bounds are constants (it unrolls
fully), so phextcc has its own. For `scf.for %i = %lb to %ub step %s` (s a positive
constant) it emits

    trips    = lb < ub and (ub - lb) > 0 ? ceil((ub - lb) / s) : 0
    main_end = lb + (trips - trips % F) * s
    scf.for %i = %lb to %main_end step s*F { body(i); body(i+s); ... body(i+(F-1)s) }
    scf.for %i = %main_end to %ub step s   { body(i) }       (the remainder)

The iterations, and the order of every effect and every float operation, are the
original ones, so results are bit-identical. When `ub - lb` would wrap an i64 the trip
count is taken as 0, so the remainder loop is simply the original loop.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.context import Context
from xdsl.dialects import arith, builtin, math, scf
from xdsl.dialects.builtin import Float32Type, Float64Type, IntegerType, i64
from xdsl.ir import Attribute, Operation, SSAValue
from xdsl.passes import ModulePass
from xdsl.rewriter import InsertPoint, Rewriter

from phextcc.backend.pipeline_profitability import SHORT_TRIPS
from phextcc.ir import phx_dialect as phx
from runtime.profiles import ZEN4

# Loops with bigger bodies are left alone: code size (and compile time) stays sane.
MAX_BODY_OPS = 48
MAX_STEP_TIMES_FACTOR = 1 << 40
LOOP_OPS: tuple[type[Operation], ...] = (scf.ForOp, scf.WhileOp)


def constant_int(value: SSAValue) -> int | None:
    owner = value.owner
    if isinstance(owner, arith.ConstantOp) and isinstance(owner.value, builtin.IntegerAttr):
        return owner.value.value.data
    return None


def body_size(loop: scf.ForOp) -> int:
    return sum(1 for op in loop.body.walk() if op is not loop)


def scaled_factor(loop: scf.ForOp, factor: int, max_ops: int) -> int:
    """``factor``, halved until the unrolled body holds at most ``max_ops`` ops (no
    limit when ``max_ops`` is 0): bigger bodies than that only add register pressure
    (spills) and code size."""
    size = body_size(loop)
    while max_ops and factor > 1 and factor * size > max_ops:
        factor //= 2
    return factor


# ---------------------------------------------------------------- profitability

LINE_BYTES = ZEN4.line_bytes
ELEMENT_BYTES: dict[Attribute, int] = {
    IntegerType(32): 4, IntegerType(64): 8, Float32Type(): 4, Float64Type(): 8,
}
# Ops that tie one iteration to the next beyond the carried values (message order) or
# that the native code runs as scalar library calls (expf/logf/tanhf).
SERIAL_OPS: tuple[type[Operation], ...] = (
    phx.SendOp, phx.RecvOp, phx.BarrierOp, phx.AllReduceOp, phx.BroadcastOp,
    math.ExpOp, math.LogOp, math.TanhOp,
)
ACCESS_OPS: tuple[type[Operation], ...] = (phx.LoadOp, phx.StoreOp)
# How many pure ops `depends_on_load` follows back from a value.
MAX_DATA_CHAIN = 8


def lane_parallel(loop: scf.ForOp) -> bool:
    """The iterations are independent lanes for a vectorising native compiler: every
    carried value is an integer (an induction or a reduction LLVM reassociates), and
    no op orders the iterations (messages) or is a scalar library call. Float
    accumulations are serial: floats are never reassociated."""
    carried = loop.body.block.args[1:]
    if not all(isinstance(arg.type, IntegerType) for arg in carried):
        return False
    return not any(isinstance(op, SERIAL_OPS) for op in loop.body.walk())


def depends_on_load(value: SSAValue, depth: int = MAX_DATA_CHAIN) -> bool:
    """`value` is computed (through up to `depth` ops without regions: conversions,
    arithmetic) from a value loaded from memory."""
    owner = value.owner
    if not isinstance(owner, Operation):
        return False
    if isinstance(owner, phx.LoadOp):
        return True
    if depth == 0 or owner.regions:
        return False
    return any(depends_on_load(operand, depth - 1) for operand in owner.operands)


def data_shaped(loop: scf.ForOp) -> bool:
    """The loop's extent is data: its bounds are loaded (a CSR row segment), or it
    walks rows chosen by loaded values (an embedding lookup, a gathered point). The
    compiler knows nothing of its trip count, the sparse rows these come from are
    short (the unrolled loop would mostly not run, while its end is computed at every
    entry), and a row index the range analysis cannot bound keeps a `DCHK` per access,
    which every copy would repeat."""
    if depends_on_load(loop.lb) or depends_on_load(loop.ub):
        return True
    return any(isinstance(op, ACCESS_OPS) and any(depends_on_load(index)
                                                   for index in op.indices[:-1])
               for op in loop.body.walk())


def span_bound(lb: SSAValue, ub: SSAValue) -> int | None:
    """A constant c with `ub - lb <= c`, from the shape of `ub`: `lb + c`, a `minsi`
    of which one side is bounded (gemm_tiled's `min(p0 + 16, K)`), or two constants."""
    low, high = constant_int(lb), constant_int(ub)
    if low is not None and high is not None:
        return high - low
    owner = ub.owner
    if isinstance(owner, arith.AddiOp):
        for base, amount in ((owner.lhs, owner.rhs), (owner.rhs, owner.lhs)):
            offset = constant_int(amount)
            if base == lb and offset is not None:
                return offset
    if isinstance(owner, arith.MinSIOp):
        bounds = [b for b in (span_bound(lb, owner.lhs), span_bound(lb, owner.rhs))
                  if b is not None]
        return min(bounds, default=None)
    return None


def line_factor(loop: scf.ForOp, step: int) -> int | None:
    """The power-of-two factor whose copies cover one cache line of the narrowest
    element the body accesses (None: the body accesses no tensor)."""
    sizes = [ELEMENT_BYTES.get(op.tensor.type.element_type, 8)  # type: ignore[attr-defined]
             for op in loop.body.walk() if isinstance(op, ACCESS_OPS)]
    if not sizes:
        return None
    needed = -(-(LINE_BYTES // min(sizes)) // step)
    return 1 << (needed - 1).bit_length()


@dataclass(frozen=True)
class UnrollDecision:
    """How many copies a loop gets (1: left alone), and the rule that chose it."""

    factor: int
    reason: str


def unroll_decision(loop: scf.ForOp, factor: int, max_ops: int,
                    lane_max_ops: int = 0) -> UnrollDecision:
    """How far an innermost loop is unrolled, by the rules of docs/passes.md:

    - a data-shaped loop (see `data_shaped`) is left alone;
    - a lane-parallel loop carrying a reduction is left alone: the native vectoriser
      keeps one vector accumulator per lane, while copies chain the reduction
      serially (hdc_similarity's 4 and 8 copies ran 1.5x and 1.4x the -O2 time);
    - any other lane-parallel loop (a map) that reads a tensor is unrolled by its
      line factor (one cache line, one native vector and one prefetch per iteration)
      when the copies hold at most `lane_max_ops` ops (0: `max_ops`), else not at
      all: fewer copies leave LLVM a short interleaved group instead of its own
      full-width vector loop (the Laplacian's 4 copies ran 1.44x, 8 with prefetch
      1.12x, none 0.98x the -O2 time). A map that only stores has nothing to
      prefetch and stays whole (16 unprefetched copies of saxpy ran 5.7x natively);
    - a serial loop (a float accumulation) by ``factor``, halved to fit ``max_ops``;
    - none whose trips a constant bounds to SHORT_TRIPS or fewer (gemm_tiled's
      `min(p0 + 16, K)`): left whole, the backend sees that bound in the loop's test
      and does not pipeline it (pipeline_profitability), where a remainder loop of
      unknown trips would be pipelined."""
    step = constant_int(loop.step)
    if step is None or step <= 0:
        return UnrollDecision(1, "no positive constant step")
    if data_shaped(loop):
        return UnrollDecision(1, "trip count is data (loaded bounds or gathered rows)")
    chosen = scaled_factor(loop, factor, max_ops)
    reason = "serial: largest factor within max_ops"
    line = line_factor(loop, step)
    if lane_parallel(loop) and line is not None:
        budget = lane_max_ops or max_ops
        if len(loop.body.block.args) > 1:
            chosen, reason = 1, "lane-parallel reduction: left to the native vectoriser"
        elif not any(isinstance(op, phx.LoadOp) for op in loop.body.walk()):
            chosen, reason = 1, "lane-parallel map without a read stream to prefetch"
        elif line <= factor and (not budget or line * body_size(loop) <= budget):
            chosen, reason = line, "lane-parallel map: one line per iteration"
        else:
            chosen, reason = 1, "lane-parallel map: a line of copies exceeds lane_max_ops"
    bound = span_bound(loop.lb, loop.ub)
    if bound is not None and -(-bound // step) <= SHORT_TRIPS:
        return UnrollDecision(1, f"at most {-(-bound // step)} trips: left whole")
    return UnrollDecision(chosen, reason)


def unrollable(loop: scf.ForOp, factor: int) -> int | None:
    """The loop's constant step when it should be unrolled, else None."""
    step = constant_int(loop.step)
    if step is None or step <= 0 or step * factor >= MAX_STEP_TIMES_FACTOR:
        return None
    if loop.lb.type != i64:
        return None
    body_ops = [op for op in loop.body.walk() if op is not loop]
    if len(body_ops) > MAX_BODY_OPS:
        return None
    if any(isinstance(op, LOOP_OPS) for op in body_ops):
        return None  # not innermost
    return step


def constant(value: int) -> arith.ConstantOp:
    return arith.ConstantOp.from_int_and_width(value, i64)


def trip_count(loop: scf.ForOp, step: int, span: SSAValue) -> tuple[list[Operation], SSAValue]:
    """ceil(span / step) for span > 0, without the overflow of `span + step - 1`."""
    if step == 1:
        return [], span
    zero, one, step_c = constant(0), constant(1), constant(step)
    whole = arith.DivSIOp(span, step_c)  # step_c is a non-zero constant: never traps
    part = arith.RemSIOp(span, step_c)
    has_part = arith.CmpiOp(part, zero.result, "ne")
    extra = arith.SelectOp(has_part, one.result, zero.result)
    trips = arith.AddiOp(whole, extra)
    return [zero, one, step_c, whole, part, has_part, extra, trips], trips.result


def main_loop_end(loop: scf.ForOp, step: int, factor: int) -> tuple[list[Operation], SSAValue]:
    """Ops computing where the unrolled loop stops (see the module docstring)."""
    zero, step_c, factor_c = constant(0), constant(step), constant(factor)
    span = arith.SubiOp(loop.ub, loop.lb)
    runs = arith.CmpiOp(loop.lb, loop.ub, "slt")
    no_wrap = arith.CmpiOp(span, zero, "sgt")
    valid = arith.AndIOp(runs, no_wrap)
    count_ops, trips = trip_count(loop, step, span.result)
    safe_trips = arith.SelectOp(valid, trips, zero)
    if factor & (factor - 1) == 0:
        # safe_trips >= 0, so rounding down to a multiple of a power of two is a mask
        # (an idiv costs as much as a short loop's whole body).
        mask = constant(-factor)
        rounding: list[Operation] = [mask, main := arith.AndIOp(safe_trips, mask)]
    else:
        leftover = arith.RemSIOp(safe_trips, factor_c)
        rounding = [leftover, main := arith.SubiOp(safe_trips, leftover)]
    distance = arith.MuliOp(main, step_c)
    end = arith.AddiOp(loop.lb, distance)
    ops: list[Operation] = [zero, step_c, factor_c, span, runs, no_wrap, valid, *count_ops,
                            safe_trips, *rounding, distance, end]
    return ops, end.result


def unrolled_body(loop: scf.ForOp, step: int, factor: int) -> scf.ForOp:
    """The main loop: `factor` copies of the body, each feeding the next."""
    old_block = loop.body.block
    new_block = builtin.Block(arg_types=[arg.type for arg in old_block.args])
    iv = new_block.args[0]
    carried: list[SSAValue] = list(new_block.args[1:])
    for copy in range(factor):
        mapper: dict[SSAValue, SSAValue] = dict(zip(old_block.args[1:], carried, strict=True))
        if copy == 0:
            mapper[old_block.args[0]] = iv
        else:
            offset = constant(copy * step)
            shifted = arith.AddiOp(iv, offset.result)
            new_block.add_ops([offset, shifted])
            mapper[old_block.args[0]] = shifted.result
        for op in old_block.ops:
            if isinstance(op, scf.YieldOp):
                carried = [mapper.get(v, v) for v in op.operands]
                continue
            new_block.add_op(op.clone(mapper))
    new_block.add_op(scf.YieldOp(*carried))
    return new_block  # type: ignore[return-value]


def unroll_loop(loop: scf.ForOp, step: int, factor: int) -> None:
    end_ops, end = main_loop_end(loop, step, factor)
    big_step = constant(step * factor)
    main = scf.ForOp(loop.lb, end, big_step.result, list(loop.iter_args),
                     unrolled_body(loop, step, factor))
    Rewriter.insert_op([*end_ops, big_step, main], InsertPoint.before(loop))
    region = loop.detach_region(loop.body)
    remainder = scf.ForOp(end, loop.ub, loop.step, list(main.results), region)
    remainder.attributes[phx.TRIPS_BELOW_ATTR] = builtin.IntAttr(factor)
    Rewriter.insert_op(remainder, InsertPoint.before(loop))
    for old, new in zip(loop.results, remainder.results, strict=True):
        old.replace_all_uses_with(new)
    Rewriter.erase_op(loop)


@dataclass(frozen=True)
class UnrollInnerLoopsPass(ModulePass):
    """Unroll innermost `scf.for` loops with a constant step by at most `factor`, as
    `unroll_decision` finds profitable: serial loops within `max_ops` ops of copies (0:
    no limit), lane-parallel maps by one cache line within `lane_max_ops` (0: as
    `max_ops`)."""

    name = "unroll-inner"

    factor: int = 4
    max_ops: int = 0
    lane_max_ops: int = 0

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        if self.factor < 2:
            return
        loops = [o for o in op.walk() if isinstance(o, scf.ForOp)]
        for loop in loops:
            factor = unroll_decision(loop, self.factor, self.max_ops,
                                     self.lane_max_ops).factor
            step = unrollable(loop, factor) if factor > 1 else None
            if step is not None:
                unroll_loop(loop, step, factor)
