"""A small reference interpreter for phx IR, used to test the lowering's semantics.

It runs a lowered kernel on numpy arrays with the language's semantics (wrapping
integers, truncating division that traps on zero, saturating float->int, ordered float
comparisons, bounds-checked element access) and SPMD sentrons as threads with FIFO
channels, so the examples can be compared with their numpy references before any
backend exists. Dispatch is by op class through tables.
"""

from __future__ import annotations

import math as pymath
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xdsl.dialects import arith, func, math, scf
from xdsl.dialects.builtin import Float32Type, FloatAttr, IntegerType, ModuleOp
from xdsl.ir import Attribute, Block, Operation, SSAValue

from phextcc.ir import phx_dialect as phx

Value = Any
# Generous: a busy test machine must not turn a slow sentron into a false deadlock.
RECV_TIMEOUT_SECONDS = 60.0


class InterpreterError(Exception):
    """A run-time error of the interpreted kernel (bounds, division by zero, deadlock)."""


def _wrap(value: int, bits: int) -> int:
    if bits == 1:
        return value & 1
    value &= (1 << bits) - 1
    return value - (1 << bits) if value >= 1 << (bits - 1) else value


def _float_dtype(ty: Attribute) -> type:
    return np.float32 if isinstance(ty, Float32Type) else np.float64


@dataclass
class Launch:
    """State shared by all sentrons of one kernel launch."""

    sentrons: int
    arrays: dict[str, np.ndarray]
    symbols: dict[str, int]
    channels: dict[tuple[int, int], queue.Queue[Value]] = field(default_factory=dict)
    barrier: threading.Barrier = field(init=False)
    slots: list[Value] = field(init=False)

    def __post_init__(self) -> None:
        self.barrier = threading.Barrier(self.sentrons, timeout=RECV_TIMEOUT_SECONDS)
        self.slots = [None] * self.sentrons
        for src in range(self.sentrons):
            for dst in range(self.sentrons):
                self.channels[(src, dst)] = queue.Queue()

    def collective(self, sentron: int, value: Value, combine: Callable[[list[Value]], Value]
                   ) -> Value:
        self.barrier.wait()
        self.slots[sentron] = value
        self.barrier.wait()
        result = combine(list(self.slots))
        self.barrier.wait()
        return result


class Frame:
    """One sentron executing one kernel."""

    def __init__(self, launch: Launch, sentron: int, tensor_names: dict[SSAValue, str]) -> None:
        self.launch = launch
        self.sentron = sentron
        self.tensor_names = tensor_names
        self.values: dict[SSAValue, Value] = {}

    def get(self, value: SSAValue) -> Value:
        return self.values[value]

    def run_block(self, block: Block, args: Sequence[Value]) -> list[Value]:
        """Run `block`; return the operands of its terminator (yield/condition)."""
        for arg, value in zip(block.args, args, strict=True):
            self.values[arg] = value
        for op in block.ops:
            if isinstance(op, scf.YieldOp | scf.ConditionOp | func.ReturnOp):
                return [self.get(operand) for operand in op.operands]
            handler = HANDLERS.get(type(op))
            if handler is None:
                raise NotImplementedError(f"interpreter has no rule for {op.name}")
            results = handler(self, op)
            for result, value in zip(op.results, results, strict=True):
                self.values[result] = value
        return []

    def element(self, op: Operation, tensor: SSAValue, indices: Sequence[SSAValue]
                ) -> tuple[np.ndarray, tuple[int, ...]]:
        name = self.tensor_names[tensor]
        array = self.launch.arrays[name]
        index = tuple(self.get(i) for i in indices)
        for axis, (i, extent) in enumerate(zip(index, array.shape, strict=True)):
            if not 0 <= i < extent:
                raise InterpreterError(
                    f"index {i} out of range for axis {axis} of '{name}' (extent {extent})"
                )
        return array, index


# ----------------------------------------------------------------------- op rules


def _int_binary(fn: Callable[[int, int], int]) -> Callable[[Frame, Operation], list[Value]]:
    def rule(frame: Frame, op: Operation) -> list[Value]:
        lhs, rhs = (frame.get(v) for v in op.operands)
        bits = op.results[0].type.bitwidth  # type: ignore[attr-defined]
        return [_wrap(fn(lhs, rhs), bits)]

    return rule


def _float_op(fn: Callable[..., Any]) -> Callable[[Frame, Operation], list[Value]]:
    def rule(frame: Frame, op: Operation) -> list[Value]:
        dtype = _float_dtype(op.results[0].type)
        return [dtype(fn(*(dtype(frame.get(v)) for v in op.operands)))]

    return rule


def _divsi(a: int, b: int) -> int:
    if b == 0:
        raise InterpreterError("integer division by zero")
    quotient = abs(a) // abs(b)
    return quotient if (a < 0) == (b < 0) else -quotient


def _remsi(a: int, b: int) -> int:
    return a - _divsi(a, b) * b


_INT_PREDICATES: dict[int, Callable[[int, int], bool]] = {
    0: lambda a, b: a == b, 1: lambda a, b: a != b, 2: lambda a, b: a < b,
    3: lambda a, b: a <= b, 4: lambda a, b: a > b, 5: lambda a, b: a >= b,
}
_FLOAT_PREDICATES: dict[int, Callable[[Any, Any], bool]] = {
    1: lambda a, b: bool(a == b), 2: lambda a, b: bool(a > b), 3: lambda a, b: bool(a >= b),
    4: lambda a, b: bool(a < b), 5: lambda a, b: bool(a <= b), 13: lambda a, b: bool(a != b),
}


def _cmpi(frame: Frame, op: arith.CmpiOp) -> list[Value]:
    compare = _INT_PREDICATES[op.predicate.value.data]
    return [int(compare(frame.get(op.lhs), frame.get(op.rhs)))]


def _cmpf(frame: Frame, op: arith.CmpfOp) -> list[Value]:
    compare = _FLOAT_PREDICATES[op.predicate.value.data]
    return [int(compare(frame.get(op.lhs), frame.get(op.rhs)))]


def _constant(frame: Frame, op: arith.ConstantOp) -> list[Value]:
    attr = op.value
    if isinstance(attr, FloatAttr):
        return [_float_dtype(attr.type)(attr.value.data)]
    return [_wrap(attr.value.data, attr.type.bitwidth)]  # type: ignore[union-attr]


def _select(frame: Frame, op: arith.SelectOp) -> list[Value]:
    chosen = op.lhs if frame.get(op.cond) else op.rhs
    return [frame.get(chosen)]


def _cast(frame: Frame, op: Operation) -> list[Value]:
    value = frame.get(op.operands[0])
    target = op.results[0].type
    if isinstance(target, IntegerType):
        if isinstance(value, np.floating):
            if pymath.isnan(value):
                return [0]
            limit = 1 << (target.bitwidth - 1)
            return [int(max(-limit, min(limit - 1, pymath.trunc(float(value)))))
                    if pymath.isfinite(value) else (limit - 1 if value > 0 else -limit)]
        return [_wrap(int(value), target.bitwidth)]
    return [_float_dtype(target)(value)]


def _ctpop(frame: Frame, op: Operation) -> list[Value]:
    bits = op.results[0].type.bitwidth  # type: ignore[attr-defined]
    return [(frame.get(op.operands[0]) & ((1 << bits) - 1)).bit_count()]


def _absi(frame: Frame, op: Operation) -> list[Value]:
    bits = op.results[0].type.bitwidth  # type: ignore[attr-defined]
    return [_wrap(abs(frame.get(op.operands[0])), bits)]


def _fma(frame: Frame, op: Operation) -> list[Value]:
    dtype = _float_dtype(op.results[0].type)
    a, b, c = (float(frame.get(v)) for v in op.operands)
    return [dtype(a * b + c)]


def _for(frame: Frame, op: scf.ForOp) -> list[Value]:
    i, stop, step = frame.get(op.lb), frame.get(op.ub), frame.get(op.step)
    carried = [frame.get(v) for v in op.iter_args]
    while i < stop:
        carried = frame.run_block(op.body.block, [i, *carried])
        i += step
    return carried


def _while(frame: Frame, op: scf.WhileOp) -> list[Value]:
    carried = [frame.get(v) for v in op.arguments]
    while True:
        cond, *passed = frame.run_block(op.before_region.block, carried)
        if not cond:
            return passed
        carried = frame.run_block(op.after_region.block, passed)


def _if(frame: Frame, op: scf.IfOp) -> list[Value]:
    region = op.true_region if frame.get(op.cond) else op.false_region
    if not region.blocks:
        return []
    return frame.run_block(region.block, [])


def _load(frame: Frame, op: phx.LoadOp) -> list[Value]:
    array, index = frame.element(op, op.tensor, op.indices)
    item = array[index]
    return [int(item) if np.issubdtype(array.dtype, np.integer) else item]


def _store(frame: Frame, op: phx.StoreOp) -> list[Value]:
    array, index = frame.element(op, op.tensor, op.indices)
    array[index] = frame.get(op.value)
    return []


def _recv(frame: Frame, op: phx.RecvOp) -> list[Value]:
    src = frame.get(op.src)
    try:
        return [frame.launch.channels[(src, frame.sentron)].get(timeout=RECV_TIMEOUT_SECONDS)]
    except queue.Empty as error:
        raise InterpreterError(f"sentron {frame.sentron} waits in recv from {src}") from error


def _send(frame: Frame, op: phx.SendOp) -> list[Value]:
    frame.launch.channels[(frame.sentron, frame.get(op.dst))].put(frame.get(op.value))
    return []


def _fold(op: phx.AllReduceOp) -> Callable[[list[Value]], Value]:
    result_type = op.result.type

    def combine(values: list[Value]) -> Value:
        total = values[0]
        for value in values[1:]:
            if op.op.data == "sum":
                total = total + value
                if isinstance(result_type, IntegerType):
                    total = _wrap(total, result_type.bitwidth)
                else:
                    total = _float_dtype(result_type)(total)
            else:
                pick = np.minimum if op.op.data == "min" else np.maximum
                total = pick(total, value)
                total = int(total) if isinstance(result_type, IntegerType) else total
        return total

    return combine


def _allreduce(frame: Frame, op: phx.AllReduceOp) -> list[Value]:
    return [frame.launch.collective(frame.sentron, frame.get(op.value), _fold(op))]


def _broadcast(frame: Frame, op: phx.BroadcastOp) -> list[Value]:
    root = frame.get(op.root)
    return [frame.launch.collective(frame.sentron, frame.get(op.value), lambda v: v[root])]


def _barrier(frame: Frame, op: phx.BarrierOp) -> list[Value]:
    frame.launch.barrier.wait()
    return []


HANDLERS: dict[type[Operation], Callable[[Frame, Any], list[Value]]] = {
    arith.ConstantOp: _constant,
    arith.AddiOp: _int_binary(lambda a, b: a + b),
    arith.SubiOp: _int_binary(lambda a, b: a - b),
    arith.MuliOp: _int_binary(lambda a, b: a * b),
    arith.DivSIOp: _int_binary(_divsi),
    arith.RemSIOp: _int_binary(_remsi),
    arith.MinSIOp: _int_binary(min),
    arith.MaxSIOp: _int_binary(max),
    arith.AndIOp: _int_binary(lambda a, b: a & b),
    arith.OrIOp: _int_binary(lambda a, b: a | b),
    arith.XOrIOp: _int_binary(lambda a, b: a ^ b),
    arith.ShLIOp: _int_binary(lambda a, b: a << b if 0 <= b < 64 else 0),
    arith.ShRSIOp: _int_binary(lambda a, b: a >> min(b, 63) if b >= 0 else 0),
    arith.CmpiOp: _cmpi,
    arith.CmpfOp: _cmpf,
    arith.SelectOp: _select,
    arith.AddfOp: _float_op(lambda a, b: a + b),
    arith.SubfOp: _float_op(lambda a, b: a - b),
    arith.MulfOp: _float_op(lambda a, b: a * b),
    arith.DivfOp: _float_op(lambda a, b: a / b),
    arith.NegfOp: _float_op(lambda a: -a),
    arith.MinimumfOp: _float_op(np.minimum),
    arith.MaximumfOp: _float_op(np.maximum),
    arith.ExtSIOp: _cast,
    arith.TruncIOp: _cast,
    arith.SIToFPOp: _cast,
    arith.FPToSIOp: _cast,
    arith.ExtFOp: _cast,
    arith.TruncFOp: _cast,
    math.SqrtOp: _float_op(np.sqrt),
    math.ExpOp: _float_op(np.exp),
    math.LogOp: _float_op(np.log),
    math.TanhOp: _float_op(np.tanh),
    math.FloorOp: _float_op(np.floor),
    math.CeilOp: _float_op(np.ceil),
    math.AbsFOp: _float_op(np.abs),
    math.AbsIOp: _absi,
    math.FmaOp: _fma,
    math.CtPopOp: _ctpop,
    scf.ForOp: _for,
    scf.WhileOp: _while,
    scf.IfOp: _if,
    phx.LoadOp: _load,
    phx.StoreOp: _store,
    phx.PrefetchOp: lambda frame, op: [],
    phx.SymOp: lambda frame, op: [frame.launch.symbols[op.symbol.data]],
    phx.SentronIdOp: lambda frame, op: [frame.sentron],
    phx.NumSentronsOp: lambda frame, op: [frame.launch.sentrons],
    phx.SendOp: _send,
    phx.RecvOp: _recv,
    phx.BarrierOp: _barrier,
    phx.AllReduceOp: _allreduce,
    phx.BroadcastOp: _broadcast,
}


# ----------------------------------------------------------------------- launching


def _scalar_argument(value: Any, ty: Attribute) -> Value:
    if isinstance(ty, IntegerType):
        return _wrap(int(value), ty.bitwidth)
    return _float_dtype(ty)(value)


def run_kernel(module: ModuleOp, name: str, arguments: dict[str, Any], sentrons: int = 1
               ) -> None:
    """Run kernel `name` of `module`; tensors in `arguments` are updated in place."""
    kernel = next(op for op in module.body.ops
                  if isinstance(op, func.FuncOp) and op.sym_name.data == name)
    param_names = [attr.data for attr in kernel.attributes["phx.param_names"].data]  # type: ignore
    entry = kernel.body.block
    arrays: dict[str, np.ndarray] = {}
    symbols: dict[str, int] = {}
    tensor_names: dict[SSAValue, str] = {}
    scalars: list[Value] = []
    for param, arg in zip(param_names, entry.args, strict=True):
        if isinstance(arg.type, phx.TensorType):
            array = arguments[param]
            arrays[param] = array
            tensor_names[arg] = param
            for extent, size in zip(arg.type.extents, array.shape, strict=True):
                if isinstance(extent, str):
                    if symbols.setdefault(extent, size) != size:
                        raise InterpreterError(f"'{param}': {extent} = {size}, expected "
                                               f"{symbols[extent]}")
                elif extent != size:
                    raise InterpreterError(f"'{param}' has extent {size}, expected {extent}")
            scalars.append(None)
        else:
            scalars.append(_scalar_argument(arguments[param], arg.type))
    launch = Launch(sentrons, arrays, symbols)
    errors: list[BaseException] = []

    def run_sentron(sentron: int) -> None:
        try:
            with np.errstate(all="ignore"):
                Frame(launch, sentron, tensor_names).run_block(entry, scalars)
        except BaseException as error:  # noqa: BLE001 - reported to the caller below
            errors.append(error)
            launch.barrier.abort()

    threads = [threading.Thread(target=run_sentron, args=(s,)) for s in range(sentrons)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
