"""Expression lowering: typed AST expressions to arith/math/phx ops.

Dispatch goes through tables keyed by AST node class, operator enum, builtin and
(source kind, target kind) of a conversion; the expression's type (filled by semantic
analysis) picks the integer or float op.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from xdsl.dialects import arith, math, scf
from xdsl.dialects.builtin import (
    FileLineColLoc,
    Float32Type,
    Float64Type,
    FloatAttr,
    IntAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    i1,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue

from phextcc.diagnostics import InternalCompilerError
from phextcc.frontend import ast
from phextcc.frontend import types as ftypes
from phextcc.ir import phx_dialect as phx

STAGE = "lowering"


@dataclass(frozen=True)
class ReturnFlag:
    """Environment key of the loop-carried "kernel has returned" i1."""


RETURN_FLAG = ReturnFlag()

EnvKey = ast.Param | ast.Let | ast.Var | ast.LoopVar | ReturnFlag

SCALAR_IR_TYPES: dict[ftypes.ScalarType, Attribute] = {
    ftypes.I32: IntegerType(32),
    ftypes.I64: IntegerType(64),
    ftypes.F32: Float32Type(),
    ftypes.F64: Float64Type(),
    ftypes.BOOL: IntegerType(1),
}


def ir_type(ty: ftypes.Type | None) -> Attribute:
    """The IR type of a frontend type (scalars and tensors)."""
    if isinstance(ty, ftypes.ScalarType):
        return SCALAR_IR_TYPES[ty]
    if isinstance(ty, ftypes.TensorType):
        return phx.TensorType(SCALAR_IR_TYPES[ty.elem], ty.dims)
    raise InternalCompilerError(STAGE, f"expression without a value type: {ty}")


def round_to_f32(value: float) -> float:
    """The f32 nearest to `value` (inf when out of range), so f32 constants in the IR
    hold exactly the value the machine will use."""
    try:
        return struct.unpack("<f", struct.pack("<f", value))[0]
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")


def value_kind(ty: Attribute) -> str:
    """'bool', 'int' or 'float': which family of ops applies to a value of type `ty`."""
    if ty == i1:
        return "bool"
    return "int" if isinstance(ty, IntegerType) else "float"


def _width(ty: Attribute) -> int:
    return ty.bitwidth if isinstance(ty, IntegerType | Float32Type | Float64Type) else 0


BinaryBuilder = Callable[[SSAValue, SSAValue], Operation]

# (operator, operand kind) -> op builder. Booleans compare with cmpi like integers.
_INT_CMP = {
    ast.BinaryOp.EQ: "eq", ast.BinaryOp.NE: "ne", ast.BinaryOp.LT: "slt",
    ast.BinaryOp.LE: "sle", ast.BinaryOp.GT: "sgt", ast.BinaryOp.GE: "sge",
}
# Ordered comparisons are false on NaN; != is unordered (true on NaN), as in C.
_FLOAT_CMP = {
    ast.BinaryOp.EQ: "oeq", ast.BinaryOp.NE: "une", ast.BinaryOp.LT: "olt",
    ast.BinaryOp.LE: "ole", ast.BinaryOp.GT: "ogt", ast.BinaryOp.GE: "oge",
}


def _compare(op_class: type[arith.CmpiOp | arith.CmpfOp], predicate: str) -> BinaryBuilder:
    def build(lhs: SSAValue, rhs: SSAValue) -> Operation:
        return op_class(lhs, rhs, predicate)

    return build


BINARY_OPS: dict[tuple[ast.BinaryOp, str], BinaryBuilder] = {
    (ast.BinaryOp.ADD, "int"): arith.AddiOp,
    (ast.BinaryOp.SUB, "int"): arith.SubiOp,
    (ast.BinaryOp.MUL, "int"): arith.MuliOp,
    (ast.BinaryOp.DIV, "int"): arith.DivSIOp,
    (ast.BinaryOp.REM, "int"): arith.RemSIOp,
    (ast.BinaryOp.ADD, "float"): arith.AddfOp,
    (ast.BinaryOp.SUB, "float"): arith.SubfOp,
    (ast.BinaryOp.MUL, "float"): arith.MulfOp,
    (ast.BinaryOp.DIV, "float"): arith.DivfOp,
    **{(op, kind): _compare(arith.CmpiOp, predicate)
       for op, predicate in _INT_CMP.items() for kind in ("int", "bool")},
    **{(op, "float"): _compare(arith.CmpfOp, predicate) for op, predicate in _FLOAT_CMP.items()},
}

UnaryBuilder = Callable[[SSAValue], Operation]

FLOAT_MATH: dict[ast.Builtin, UnaryBuilder] = {
    ast.Builtin.SQRT: math.SqrtOp,
    ast.Builtin.EXP: math.ExpOp,
    ast.Builtin.LOG: math.LogOp,
    ast.Builtin.TANH: math.TanhOp,
    ast.Builtin.FLOOR: math.FloorOp,
    ast.Builtin.CEIL: math.CeilOp,
}

# Builtins whose op depends only on whether the operands are integers or floats.
KIND_BUILTINS: dict[tuple[ast.Builtin, str], Callable[..., Operation]] = {
    (ast.Builtin.ABS, "int"): math.AbsIOp,
    (ast.Builtin.ABS, "float"): math.AbsFOp,
    (ast.Builtin.MIN, "int"): arith.MinSIOp,
    (ast.Builtin.MIN, "float"): arith.MinimumfOp,
    (ast.Builtin.MAX, "int"): arith.MaxSIOp,
    (ast.Builtin.MAX, "float"): arith.MaximumfOp,
    (ast.Builtin.FMA, "float"): math.FmaOp,
    (ast.Builtin.XOR, "int"): arith.XOrIOp,
    (ast.Builtin.XOR, "bool"): arith.XOrIOp,
    (ast.Builtin.BITAND, "int"): arith.AndIOp,
    (ast.Builtin.BITAND, "bool"): arith.AndIOp,
    (ast.Builtin.BITOR, "int"): arith.OrIOp,
    (ast.Builtin.BITOR, "bool"): arith.OrIOp,
    (ast.Builtin.POPCOUNT, "int"): math.CtPopOp,
    (ast.Builtin.SHL, "int"): arith.ShLIOp,
    (ast.Builtin.SHR, "int"): arith.ShRSIOp,
}


def _convert_int_int(source: Attribute, target: Attribute) -> type[Operation] | None:
    if _width(source) == _width(target):
        return None
    return arith.ExtSIOp if _width(source) < _width(target) else arith.TruncIOp


def _convert_float_float(source: Attribute, target: Attribute) -> type[Operation] | None:
    if _width(source) == _width(target):
        return None
    return arith.ExtFOp if _width(source) < _width(target) else arith.TruncFOp


# (source kind, target kind) -> cast op class (None: same type, no op).
CONVERSIONS: dict[tuple[str, str], Callable[[Attribute, Attribute], type[Operation] | None]] = {
    ("int", "int"): _convert_int_int,
    ("float", "float"): _convert_float_float,
    ("int", "float"): lambda s, t: arith.SIToFPOp,
    ("float", "int"): lambda s, t: arith.FPToSIOp,
}


class ExprLowerer:
    """Builds ops at the end of the current block; `env` maps declarations to values."""

    def __init__(self, file: str, block: Block, env: dict[EnvKey, SSAValue]) -> None:
        self.file = file
        self.block = block
        self.env = env

    # ----------------------------------------------------------------- building blocks

    def loc(self, span: ast.Span) -> FileLineColLoc:
        return FileLineColLoc(StringAttr(self.file), IntAttr(span.line), IntAttr(span.col))

    def emit(self, op: Operation, span: ast.Span) -> Operation:
        op.location = self.loc(span)
        self.block.add_op(op)
        return op

    def value(self, op: Operation, span: ast.Span) -> SSAValue:
        return self.emit(op, span).results[0]

    def constant(self, value: float | bool, ty: Attribute, span: ast.Span) -> SSAValue:
        if isinstance(ty, Float32Type | Float64Type):
            number = float(value) if isinstance(ty, Float64Type) else round_to_f32(float(value))
            return self.value(arith.ConstantOp(FloatAttr(number, ty)), span)
        if not isinstance(ty, IntegerType):
            raise InternalCompilerError(STAGE, f"no constant of type {ty}", str(span))
        return self.value(arith.ConstantOp(IntegerAttr(int(value), ty)), span)

    def logical_not(self, operand: SSAValue, span: ast.Span) -> SSAValue:
        return self.value(arith.XOrIOp(operand, self.constant(True, i1, span)), span)

    @contextlib.contextmanager
    def building(self, block: Block, env: dict[EnvKey, SSAValue]) -> Iterator[None]:
        """Emit into `block` with environment `env` for the duration of the body."""
        saved = (self.block, self.env)
        self.block, self.env = block, env
        try:
            yield
        finally:
            self.block, self.env = saved

    def fail(self, message: str, span: ast.Span) -> InternalCompilerError:
        return InternalCompilerError(STAGE, message, str(span))

    # ----------------------------------------------------------------- expressions

    def expr(self, node: ast.Expr) -> SSAValue:
        handler = EXPR_HANDLERS.get(type(node))
        if handler is None:
            raise self.fail(f"no lowering for expression {type(node).__name__}", node.span)
        try:
            result = handler(self, node)
        except InternalCompilerError as error:
            if error.location is not None:
                raise
            raise self.fail(error.message, node.span) from error
        if result is None:
            raise self.fail(f"expression {type(node).__name__} has no value", node.span)
        return result

    def index_value(self, node: ast.Expr) -> SSAValue:
        """An index or loop bound as i64 (sema may leave i32 indices)."""
        value = self.expr(node)
        if value.type == i64:
            return value
        if isinstance(value.type, IntegerType) and value.type != i1:
            return self.value(arith.ExtSIOp(value, i64), node.span)
        raise self.fail(f"index of type {value.type} is not an integer", node.span)

    def int_literal(self, node: ast.IntLit) -> SSAValue:
        return self.constant(node.value, ir_type(node.ty), node.span)

    def float_literal(self, node: ast.FloatLit) -> SSAValue:
        return self.constant(node.value, ir_type(node.ty), node.span)

    def bool_literal(self, node: ast.BoolLit) -> SSAValue:
        return self.constant(node.value, i1, node.span)

    def name(self, node: ast.Name) -> SSAValue:
        decl = node.decl
        if isinstance(decl, ast.ShapeSymbol):
            return self.value(phx.SymOp(decl.name), node.span)
        if decl is None or decl not in self.env:
            raise self.fail(f"name '{node.ident}' has no value here", node.span)
        return self.env[decl]

    def unary(self, node: ast.Unary) -> SSAValue:
        operand = self.expr(node.operand)
        if node.op is ast.UnaryOp.NOT:
            return self.logical_not(operand, node.span)
        if value_kind(operand.type) == "float":
            return self.value(arith.NegfOp(operand), node.span)
        zero = self.constant(0, operand.type, node.span)
        return self.value(arith.SubiOp(zero, operand), node.span)

    def binary(self, node: ast.Binary) -> SSAValue:
        if node.op in ast.LOGICAL_OPS:
            return self.short_circuit(node)
        lhs = self.expr(node.lhs)
        rhs = self.expr(node.rhs)
        builder = BINARY_OPS.get((node.op, value_kind(lhs.type)))
        if builder is None:
            raise self.fail(f"no lowering for {node.op.value} on {lhs.type}", node.span)
        return self.value(builder(lhs, rhs), node.span)

    def short_circuit(self, node: ast.Binary) -> SSAValue:
        """`a and b` / `a or b`: b runs inside an scf.if, only when it decides."""
        lhs = self.expr(node.lhs)
        evaluate_rhs, decided = Block(), Block()
        with self.building(evaluate_rhs, dict(self.env)):
            self.emit(scf.YieldOp(self.expr(node.rhs)), node.span)
        with self.building(decided, dict(self.env)):
            known = node.op is ast.BinaryOp.OR
            self.emit(scf.YieldOp(self.constant(known, i1, node.span)), node.span)
        then_block, else_block = (
            (evaluate_rhs, decided) if node.op is ast.BinaryOp.AND else (decided, evaluate_rhs)
        )
        return self.value(scf.IfOp(lhs, [i1], [then_block], [else_block]), node.span)

    def index(self, node: ast.Index) -> SSAValue:
        tensor, indices = self.element(node)
        return self.value(phx.LoadOp(tensor, indices), node.span)

    def element(self, node: ast.Index) -> tuple[SSAValue, list[SSAValue]]:
        tensor = self.expr(node.tensor)
        return tensor, [self.index_value(index) for index in node.indices]

    def convert(self, node: ast.Convert) -> SSAValue:
        operand = self.expr(node.operand)
        target = ir_type(node.target)
        if operand.type == target:
            return operand
        choose = CONVERSIONS.get((value_kind(operand.type), value_kind(target)))
        op_class = choose(operand.type, target) if choose is not None else None
        if op_class is None:
            raise self.fail(f"no conversion from {operand.type} to {target}", node.span)
        return self.value(op_class(operand, target), node.span)  # type: ignore[call-arg]

    def call(self, node: ast.Call) -> SSAValue | None:
        if node.builtin is None:
            raise self.fail(f"unknown function '{node.name}'", node.span)
        special = CALL_HANDLERS.get(node.builtin)
        if special is not None:
            return special(self, node)
        args = [self.expr(arg) for arg in node.args]
        if node.builtin in FLOAT_MATH:
            return self.value(FLOAT_MATH[node.builtin](args[0]), node.span)
        builder = KIND_BUILTINS.get((node.builtin, value_kind(args[0].type)))
        if builder is None:
            raise self.fail(f"no lowering for {node.name} on {args[0].type}", node.span)
        return self.value(builder(*args), node.span)

    def call_select(self, node: ast.Call) -> SSAValue:
        cond, if_true, if_false = (self.expr(arg) for arg in node.args)
        return self.value(arith.SelectOp(cond, if_true, if_false), node.span)

    def call_sentron_id(self, node: ast.Call) -> SSAValue:
        return self.value(phx.SentronIdOp(), node.span)

    def call_num_sentrons(self, node: ast.Call) -> SSAValue:
        return self.value(phx.NumSentronsOp(), node.span)

    def call_send(self, node: ast.Call) -> None:
        dst = self.index_value(node.args[0])
        self.emit(phx.SendOp(dst, self.expr(node.args[1])), node.span)

    def call_recv(self, node: ast.Call) -> SSAValue:
        result_type = ir_type(node.type_arg if node.type_arg is not None else node.ty)
        return self.value(phx.RecvOp(self.index_value(node.args[0]), result_type), node.span)

    def call_barrier(self, node: ast.Call) -> None:
        self.emit(phx.BarrierOp(), node.span)

    def call_allreduce(self, node: ast.Call) -> SSAValue:
        if node.reduce_op is None:
            raise self.fail("allreduce without a reduction op", node.span)
        value = self.expr(node.args[0])
        return self.value(phx.AllReduceOp(value, node.reduce_op.value), node.span)

    def call_broadcast(self, node: ast.Call) -> SSAValue:
        value = self.expr(node.args[0])
        root = self.index_value(node.args[1])
        return self.value(phx.BroadcastOp(value, root), node.span)


EXPR_HANDLERS: dict[type[ast.Expr], Callable[[ExprLowerer, ast.Expr], SSAValue | None]] = {
    ast.IntLit: ExprLowerer.int_literal,  # type: ignore[dict-item]
    ast.FloatLit: ExprLowerer.float_literal,  # type: ignore[dict-item]
    ast.BoolLit: ExprLowerer.bool_literal,  # type: ignore[dict-item]
    ast.Name: ExprLowerer.name,  # type: ignore[dict-item]
    ast.Unary: ExprLowerer.unary,  # type: ignore[dict-item]
    ast.Binary: ExprLowerer.binary,  # type: ignore[dict-item]
    ast.Index: ExprLowerer.index,  # type: ignore[dict-item]
    ast.Convert: ExprLowerer.convert,  # type: ignore[dict-item]
    ast.Call: ExprLowerer.call,  # type: ignore[dict-item]
}

CALL_HANDLERS: dict[ast.Builtin, Callable[[ExprLowerer, ast.Call], SSAValue | None]] = {
    ast.Builtin.SELECT: ExprLowerer.call_select,
    ast.Builtin.SENTRON_ID: ExprLowerer.call_sentron_id,
    ast.Builtin.NUM_SENTRONS: ExprLowerer.call_num_sentrons,
    ast.Builtin.SEND: ExprLowerer.call_send,
    ast.Builtin.RECV: ExprLowerer.call_recv,
    ast.Builtin.BARRIER: ExprLowerer.call_barrier,
    ast.Builtin.ALLREDUCE: ExprLowerer.call_allreduce,
    ast.Builtin.BROADCAST: ExprLowerer.call_broadcast,
}
