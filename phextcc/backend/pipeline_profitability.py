"""Whether a loop goes to the modulo scheduler at all: the profitability rules of
software pipelining, called by `pipeline_expand.pipeline_loop` on each candidate.

The scheduler finds the best overlap for the vTPU's in-order pipes, but the same SIW
stream feeds the native JIT, where an out-of-order core overlaps iterations by itself
and LLVM's loop vectoriser runs independent iterations as vector lanes. A pipelined
loop carries every value crossing a stage boundary around its back edge and comes
with guards, a prologue and an epilogue per entry: LLVM no longer vectorises it, and
short loops pay the entry cost on every trip through the enclosing loop. Measured
natively (`benchmarks/tier_native.py --suite full`): pipelining made the Laplacian's
rows 1.7x and hdc_similarity's 2x slower than at -O2, and gemm_tiled's 16-trip panels
1.6-1.8x slower than the same code unpipelined, while the cycle model gained 2-5% on
the first two. The rules, in order:

1. a loop whose test bounds the trips of one entry by a constant of at most
   SHORT_TRIPS (`i < min(start + 16, K)`) is left alone: the per-entry cost is not
   amortised natively (unroll-inner leaves such loops whole so the bound stays
   visible here);
2. a loop with a serial op (C pipe: messages and collectives order the iterations; a
   `transcendental` op: a scalar libm call in the JIT) is scheduled;
3. so is a loop carrying a serial chain: a value computed by anything but the loop
   control or an integer reduction that accumulates into itself (`LANE_REDUCTION_
   FAMILIES` on i32/i64, which LLVM reassociates into vector lanes). Float
   accumulations (dot, gemm, softmax: never reassociated, so never vectorised) keep
   their overlap, and softmax runs about 10% faster natively with it;
4. so is a loop of independent lanes whose body holds unrolled copies (several stores
   through one coordinate at different offsets): unroll-inner made it one cache line
   per iteration, LLVM vectorises the straight-line copies, and the schedule is what
   lets the packer, which keeps memory accesses in order, overlap the copies' accesses
   (saxpy: 12.8k cycles without it, 4.1k with it at smoke size);
5. any other loop of independent lanes (one copy of a map or of an integer
   reduction) is left alone, for the native vectoriser.

A loop left alone keeps its body and its order; `PipelineReport.reason` says which
rule refused it.
"""

from __future__ import annotations

from dataclasses import dataclass

from xdsl.dialects.builtin import IntAttr
from xdsl.ir import OpResult, SSAValue

from phextcc.backend.isa import Kind, Pipe, Type
from phextcc.backend.pipeline_loop import LoopModel, NotPipelinable, Ref, is_copy
from phextcc.ir.siw_dialect import TRIPS_BELOW_ATTR, SiwOp, use_operands

# Integer reductions LLVM's loop vectoriser reassociates into vector lanes.
LANE_REDUCTION_FAMILIES = frozenset({"DADD", "DADDI", "DSUB", "DMUL", "DAND", "DOR",
                                     "DXOR", "DMIN", "DMAX"})
LANE_TYPES = frozenset({Type.I32, Type.I64})
# Latency classes of ops the JIT lowers to scalar calls.
SCALAR_CALL_LATENCIES = frozenset({"transcendental"})
SERIAL_PIPES = frozenset({Pipe.C})
# Stores of one iteration of a map go to one element per row; several stores through
# one coordinate at different offsets are unrolled copies (a stencil's loads are not).
STORE_FAMILIES = frozenset({"SSCATTR"})
CONSTANT_FAMILIES = frozenset({"DMOVI"})
ADD_FAMILIES = frozenset({"DADD"})
IMMEDIATE_ADD_FAMILIES = frozenset({"DADDI"})  # rd = rs + imm
# Loops whose test bounds one entry's trips by this many or fewer are not overlapped
# (the native core overlaps iterations itself; a pipelined loop costs its guards,
# prologue and epilogue per entry). Measured natively: gemm_tiled's 16-trip K panels
# ran 1.6-1.8x slower pipelined than not, gemm's 261-trip rows did not lose; 64 lies
# between the two (trip counts in between were not measured). unroll-inner leaves
# such loops whole (its remainder loop would hide the bound from this test).
SHORT_TRIPS = 64


@dataclass(frozen=True)
class OverlapDecision:
    """``overlap``: iterations may overlap; ``reason`` says why (or why not)."""

    overlap: bool
    reason: str


def _serial_op(model: LoopModel) -> str | None:
    """The mnemonic of an op that orders the iterations or runs as a scalar call."""
    for op in model.ops:
        if not isinstance(op, SiwOp):
            continue
        info = op.info
        if info.pipe in SERIAL_PIPES or info.latency in SCALAR_CALL_LATENCIES:
            return info.mnemonic
    return None


def _accumulates(model: LoopModel, node: int, result: int) -> bool:
    """The value is `carried op x op y ...` within one family: following the operands
    of ops of its family from ``node`` reaches the value's own previous iteration."""
    family = model.ops[node].info.family  # type: ignore[attr-defined]
    work, seen = [node], set()
    while work:
        current = work.pop()
        if current in seen:
            continue
        seen.add(current)
        for ref in model.operands[current]:
            if ref.node == node and ref.result == result and ref.back >= 1:
                return True
            operand_op = model.ops[ref.node] if ref.node is not None and not ref.back \
                else None
            if isinstance(operand_op, SiwOp) and operand_op.info.family == family:
                work.append(ref.node)  # type: ignore[arg-type]
    return False


def _serial_recurrence(model: LoopModel) -> str | None:
    """The mnemonic of a carried value's producer that is neither loop control nor an
    integer reduction (a float accumulation, a linear recurrence, ...)."""
    for node, result, _back in model.virtual:
        if node in model.slice_nodes:
            continue
        op = model.ops[node]
        if not isinstance(op, SiwOp):
            return op.name
        info = op.info
        if info.family not in LANE_REDUCTION_FAMILIES or info.type not in LANE_TYPES \
                or not _accumulates(model, node, result):
            return info.mnemonic
    return None


def _unrolled_copies(model: LoopModel) -> bool:
    """Two stores write through the same coordinate at different immediate offsets:
    the body holds unrolled copies of one iteration."""
    offsets: dict[tuple[str, Ref], set[int]] = {}
    for node, op in enumerate(model.ops):
        if not isinstance(op, SiwOp) or op.info.family not in STORE_FAMILIES:
            continue
        uses = zip(use_operands(op.info), model.operands[node], strict=False)
        coordinate = next((ref for operand, ref in uses if operand.kind is Kind.P), None)
        if coordinate is None or not op.immediates:
            continue
        seen = offsets.setdefault((op.info.family, coordinate), set())
        seen.add(op.immediates[0])
        if len(seen) > 1:
            return True
    return False


def _copied_from(value: SSAValue) -> SSAValue:
    """The value a chain of register copies starts from."""
    while isinstance(value, OpResult) and is_copy(value.owner):
        value = value.owner.operands[0]
    return value


def _constant(value: SSAValue) -> int | None:
    owner = _copied_from(value).owner
    if isinstance(owner, SiwOp) and owner.info.family in CONSTANT_FAMILIES:
        return owner.immediates[0]
    return None


def _span(bound: SSAValue, start: SSAValue, depth: int = 4) -> int | None:
    """c with `bound - start <= c`, from the shape of `bound`: `start + c` or a
    `DMIN` of which one side is bounded (the `min(p0 + 16, K)` of a tiled loop)."""
    owner = _copied_from(bound).owner
    if depth == 0 or not isinstance(owner, SiwOp):
        return None
    sides = list(owner.operands)
    if owner.info.family == "DMIN":
        spans = [c for c in (_span(side, start, depth - 1) for side in sides) if c is not None]
        return min(spans, default=None)
    if owner.info.family in IMMEDIATE_ADD_FAMILIES and len(sides) == 1 and owner.immediates:
        return owner.immediates[0] if _copied_from(sides[0]) == _copied_from(start) else None
    if owner.info.family in ADD_FAMILIES and len(sides) == 2:
        for base, amount in (sides, sides[::-1]):
            if _copied_from(base) == _copied_from(start):
                return _constant(amount)
    return None


def trip_bound(model: LoopModel) -> int | None:
    """A constant bound on the trips of one entry, when the loop's test compares its
    induction with `start + c` (or a minimum holding one)."""
    invariant = [ref.value for ref in model.branch_operands
                 if ref.invariant and ref.value is not None]
    for (node, _result, _back), index in model.virtual.items():
        if node not in model.slice_nodes:
            continue
        start = model.entry_jump.operands[index]
        for bound in invariant:
            span = _span(bound, start)
            if span is not None:
                return span
    return None


def overlap_decision(model: LoopModel) -> OverlapDecision:
    """Whether ``model`` goes to the modulo scheduler (see the module docstring)."""
    trips = trip_bound(model)
    below = model.branch.attributes.get(TRIPS_BELOW_ATTR)
    if isinstance(below, IntAttr):
        marked = below.data - 1
        trips = marked if trips is None else min(trips, marked)
    if trips is not None and trips <= SHORT_TRIPS:
        return OverlapDecision(False, f"at most {trips} trips per entry: the prologue, "
                                      "epilogue and guards are not amortised")
    serial = _serial_op(model)
    if serial is not None:
        return OverlapDecision(True, f"{serial} orders the iterations")
    recurrence = _serial_recurrence(model)
    if recurrence is not None:
        return OverlapDecision(True, f"{recurrence} carries a serial chain")
    if _unrolled_copies(model):
        return OverlapDecision(True, "unrolled copies: the schedule interleaves their "
                                     "accesses")
    return OverlapDecision(False, "independent iterations of one copy: left to the "
                                  "native vectoriser")


def profitable_model(model: LoopModel) -> LoopModel:
    """``model`` when the scheduler may work on it; raises NotPipelinable (the loop
    keeps its body and order) when it should not."""
    decision = overlap_decision(model)
    if not decision.overlap:
        raise NotPipelinable(decision.reason)
    return model
