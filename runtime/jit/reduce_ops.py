"""One fold step of a reduction (DRED lanes, CREDUCE across sentrons): the same binary
op as the D family the simulator folds with (runtime/semantics.py ``reducer``)."""

from __future__ import annotations

from llvmlite import ir

from phextcc.backend.isa import RedOp, Type
from runtime.jit.irtypes import LLVM_TYPE, declare_intrinsic

INT_STEP = {RedOp.SUM: "add", RedOp.AND: "and_", RedOp.OR: "or_", RedOp.XOR: "xor"}
INT_INTRINSIC_STEP = {RedOp.MAX: "llvm.smax", RedOp.MIN: "llvm.smin"}
FLOAT_INTRINSIC_STEP = {RedOp.MAX: "llvm.maximum", RedOp.MIN: "llvm.minimum"}


def reduction_defined(op: RedOp, t: Type) -> bool:
    """Bitwise reductions of floats are undefined (the simulator rejects them too)."""
    return not (t.is_float and op in (RedOp.AND, RedOp.OR, RedOp.XOR))


def fold_step(builder: ir.IRBuilder, module: ir.Module, op: RedOp, t: Type, acc: ir.Value,
              value: ir.Value, flags: tuple[str, ...] = ()) -> ir.Value:
    """acc <op> value at type t."""
    ty = LLVM_TYPE[t]
    if t.is_float:
        if op is RedOp.SUM:
            return builder.fadd(acc, value, flags=flags)
        return builder.call(declare_intrinsic(module, FLOAT_INTRINSIC_STEP[op], ty, [ty, ty],
                                              [ty]), [acc, value])
    if op in INT_STEP:
        return getattr(builder, INT_STEP[op])(acc, value)
    return builder.call(declare_intrinsic(module, INT_INTRINSIC_STEP[op], ty, [ty, ty], [ty]),
                        [acc, value])
