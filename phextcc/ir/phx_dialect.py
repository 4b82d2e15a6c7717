"""The phx dialect: tensors, element access, shape symbols and the sentron C-pipe.

Everything arithmetic lives in the builtin dialects (arith, math, scf, func); phx only
adds what the vTPU has and MLIR's builtin dialects do not: tensors whose extents may be
shape symbols, element loads/stores addressed by i64 indices, and the SPMD
communication ops. The text form is meant to be read, e.g.

    %v = phx.load %t[%i, %j] : !phx.tensor<f32, ["H", "W"]> -> f32
    phx.store %v, %out[%i] : !phx.tensor<f32, ["N"]>
    %n = phx.sym "N"
    %s = phx.allreduce %acc {op = "sum"} : f32
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from xdsl.dialects.builtin import (
    ArrayAttr,
    Float32Type,
    Float64Type,
    IntAttr,
    IntegerAttr,
    IntegerType,
    StringAttr,
    UnitAttr,
    i64,
)
from xdsl.ir import Attribute, Dialect, ParametrizedAttribute, SSAValue, TypeAttribute
from xdsl.irdl import (
    AnyAttr,
    IRDLOperation,
    ParamAttrConstraint,
    ParsePropInAttrDict,
    VarConstraint,
    irdl_attr_definition,
    irdl_op_definition,
    operand_def,
    opt_prop_def,
    prop_def,
    result_def,
    traits_def,
    var_operand_def,
)
from xdsl.parser import AttrParser
from xdsl.printer import Printer
from xdsl.traits import (
    EffectInstance,
    MemoryEffect,
    MemoryEffectKind,
    MemoryReadEffect,
    MemoryWriteEffect,
    Pure,
    Resource,
)
from xdsl.utils.exceptions import VerifyException

from phextcc.backend.isa import Hint

# Element types a tensor may hold (no bool tensors) and scalar types messages may carry.
TENSOR_ELEMENT_TYPES: tuple[Attribute, ...] = (
    IntegerType(32),
    IntegerType(64),
    Float32Type(),
    Float64Type(),
)
SCALAR_TYPES: tuple[Attribute, ...] = (*TENSOR_ELEMENT_TYPES, IntegerType(1))
ALLREDUCE_OPS: tuple[str, ...] = ("sum", "max", "min")

Extent = IntAttr | StringAttr


@irdl_attr_definition
class TensorType(ParametrizedAttribute, TypeAttribute):
    """`!phx.tensor<ELEM, [D0, D1, ...]>`: a kernel tensor parameter.

    Each extent is an integer or the name of a shape symbol bound at call time.
    """

    name = "phx.tensor"

    element_type: Attribute
    shape: ArrayAttr[Extent]

    def __init__(self, element_type: Attribute, shape: Sequence[int | str]) -> None:
        extents = [IntAttr(d) if isinstance(d, int) else StringAttr(d) for d in shape]
        super().__init__(element_type, ArrayAttr(extents))

    @property
    def rank(self) -> int:
        return len(self.shape.data)

    @property
    def extents(self) -> tuple[int | str, ...]:
        return tuple(extent.data for extent in self.shape.data)

    def verify(self) -> None:
        if self.element_type not in TENSOR_ELEMENT_TYPES:
            raise VerifyException(
                f"phx.tensor element type must be i32, i64, f32 or f64, got {self.element_type}"
            )
        if not 1 <= self.rank <= 11:
            raise VerifyException(f"phx.tensor rank must be 1 to 11, got {self.rank}")
        for extent in self.shape.data:
            if not isinstance(extent, IntAttr | StringAttr):
                raise VerifyException(f"phx.tensor extent must be an int or a name: {extent}")
            if isinstance(extent, IntAttr) and extent.data < 0:
                raise VerifyException(f"phx.tensor extent must be >= 0, got {extent.data}")

    def print_parameters(self, printer: Printer) -> None:
        with printer.in_angle_brackets():
            printer.print_attribute(self.element_type)
            printer.print_string(", [")
            printer.print_list(self.shape.data, lambda extent: _print_extent(printer, extent))
            printer.print_string("]")

    @classmethod
    def parse_parameters(cls, parser: AttrParser) -> list[Attribute]:
        with parser.in_angle_brackets():
            element_type = parser.parse_type()
            parser.parse_punctuation(",")
            extents = parser.parse_comma_separated_list(
                parser.Delimiter.SQUARE, lambda: _parse_extent(parser)
            )
        return [element_type, ArrayAttr(extents)]


def _print_extent(printer: Printer, extent: Extent) -> None:
    if isinstance(extent, IntAttr):
        printer.print_int(extent.data)
    else:
        printer.print_string_literal(extent.data)


def _parse_extent(parser: AttrParser) -> Extent:
    name = parser.parse_optional_str_literal()
    if name is not None:
        return StringAttr(name)
    return IntAttr(parser.parse_integer(allow_boolean=False, allow_negative=False))


def _tensor_of(element: VarConstraint[Attribute]) -> ParamAttrConstraint[TensorType]:
    return ParamAttrConstraint(TensorType, (element, AnyAttr()))  # pyright: ignore


@dataclass(frozen=True)
class CPipeResource(Resource):
    """The sentron message network: C-pipe ops read and write it, in program order."""

    def name(self) -> str:
        return "<phx.cpipe>"


@dataclass(frozen=True)
class PrefetchHintResource(Resource):
    """What a prefetch touches: the cache, never a value a program can observe."""

    def name(self) -> str:
        return "<phx.prefetch>"


class CPipeEffect(MemoryEffect):
    """Read + write of the message network, so no generic pass removes, hoists, sinks or
    reorders a communication op relative to another one; and of memory too, because
    tensors are shared by all sentrons: a communication op is a fence that loads and
    stores must not cross (another sentron may read what was stored before a barrier)."""

    _EFFECTS = frozenset(
        (
            EffectInstance(MemoryEffectKind.READ, resource=CPipeResource()),
            EffectInstance(MemoryEffectKind.WRITE, resource=CPipeResource()),
            EffectInstance(MemoryEffectKind.READ),
            EffectInstance(MemoryEffectKind.WRITE),
        )
    )

    @classmethod
    def get_effects(cls, op: object) -> frozenset[EffectInstance]:  # type: ignore[override]
        return cls._EFFECTS


class PrefetchEffect(MemoryEffect):
    """A prefetch has no result, so a pure or read-only prefetch would be deleted by DCE;
    it writes the cache-hint resource instead, which no load or store depends on."""

    _EFFECTS = frozenset((EffectInstance(MemoryEffectKind.WRITE, resource=PrefetchHintResource()),))

    @classmethod
    def get_effects(cls, op: object) -> frozenset[EffectInstance]:  # type: ignore[override]
        return cls._EFFECTS


def _verify_indices(op_name: str, tensor: SSAValue, indices: Sequence[SSAValue]) -> TensorType:
    tensor_type = tensor.type
    if not isinstance(tensor_type, TensorType):
        raise VerifyException(f"{op_name} expects a !phx.tensor, got {tensor_type}")
    if len(indices) != tensor_type.rank:
        raise VerifyException(
            f"{op_name} needs one index per axis: tensor has rank {tensor_type.rank}, "
            f"got {len(indices)} indices"
        )
    return tensor_type


@irdl_op_definition
class SymOp(IRDLOperation):
    """The value of a shape symbol, as bound by the call."""

    name = "phx.sym"

    symbol = prop_def(StringAttr)
    result = result_def(i64)

    traits = traits_def(Pure())
    assembly_format = "$symbol attr-dict"

    def __init__(self, symbol: str) -> None:
        super().__init__(properties={"symbol": StringAttr(symbol)}, result_types=[i64])


@irdl_op_definition
class LoadOp(IRDLOperation):
    """Element read `t[i0, ..., ik]`; `in_bounds` only once an analysis proved it."""

    name = "phx.load"

    ELEM: ClassVar = VarConstraint("ELEM", AnyAttr())
    tensor = operand_def(_tensor_of(ELEM))
    indices = var_operand_def(i64)
    result = result_def(ELEM)
    in_bounds = opt_prop_def(UnitAttr)

    traits = traits_def(MemoryReadEffect())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$tensor `[` $indices `]` attr-dict `:` type($tensor) `->` type($result)"

    def __init__(self, tensor: SSAValue, indices: Sequence[SSAValue]) -> None:
        tensor_type = tensor.type
        if not isinstance(tensor_type, TensorType):
            raise VerifyException(f"phx.load expects a !phx.tensor, got {tensor_type}")
        super().__init__(operands=[tensor, indices], result_types=[tensor_type.element_type])

    def verify_(self) -> None:
        _verify_indices(self.name, self.tensor, self.indices)


@irdl_op_definition
class StoreOp(IRDLOperation):
    """Element write `t[i0, ..., ik] = value`; `in_bounds` as for phx.load."""

    name = "phx.store"

    ELEM: ClassVar = VarConstraint("ELEM", AnyAttr())
    value = operand_def(ELEM)
    tensor = operand_def(_tensor_of(ELEM))
    indices = var_operand_def(i64)
    in_bounds = opt_prop_def(UnitAttr)

    traits = traits_def(MemoryWriteEffect())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$value `,` $tensor `[` $indices `]` attr-dict `:` type($tensor)"

    def __init__(self, value: SSAValue, tensor: SSAValue, indices: Sequence[SSAValue]) -> None:
        super().__init__(operands=[value, tensor, indices])

    def verify_(self) -> None:
        _verify_indices(self.name, self.tensor, self.indices)


# Unit attribute of a phx.prefetch whose indices are proven inside the tensor (the
# prefetch-insert pass sets it): instruction selection then forms the coordinate
# without a run-time guard. phx.load/phx.store carry the same fact as a property.
PREFETCH_IN_BOUNDS_ATTR = "in_bounds"
# Integer attribute of a phx.prefetch: the cache level to bring the line into, a
# value of the ISA's SPREFCH hint (isa.Hint; absent: L1).
PREFETCH_LEVEL_ATTR = "level"
# Integer attribute on an `scf.for` whose every entry runs fewer trips than its value
# (the remainder loop unroll-inner leaves after a loop unrolled by that factor).
# Instruction selection carries it to the loop's bottom test (siw.trips_below).
TRIPS_BELOW_ATTR = "phx.trips_below"


@irdl_op_definition
class PrefetchOp(IRDLOperation):
    """Hint that `t[i...]` will be read soon; never faults, never changes results."""

    name = "phx.prefetch"

    tensor = operand_def(TensorType)
    indices = var_operand_def(i64)

    traits = traits_def(PrefetchEffect())
    assembly_format = "$tensor `[` $indices `]` attr-dict `:` type($tensor)"

    def __init__(self, tensor: SSAValue, indices: Sequence[SSAValue]) -> None:
        super().__init__(operands=[tensor, indices])

    def verify_(self) -> None:
        _verify_indices(self.name, self.tensor, self.indices)
        level = self.attributes.get(PREFETCH_LEVEL_ATTR)
        if level is None:
            return
        number = level.value if isinstance(level, IntegerAttr) else level
        hints = {int(hint) for hint in Hint}
        if not (isinstance(number, IntAttr) and number.data in hints):
            raise VerifyException(f"{self.name}: `level` must be an SPREFCH hint "
                                  f"({min(hints)} to {max(hints)}), got {level}")


@irdl_op_definition
class SentronIdOp(IRDLOperation):
    name = "phx.sentron_id"

    result = result_def(i64)
    traits = traits_def(Pure())
    assembly_format = "attr-dict"

    def __init__(self) -> None:
        super().__init__(result_types=[i64])


@irdl_op_definition
class NumSentronsOp(IRDLOperation):
    name = "phx.num_sentrons"

    result = result_def(i64)
    traits = traits_def(Pure())
    assembly_format = "attr-dict"

    def __init__(self) -> None:
        super().__init__(result_types=[i64])


def _verify_scalar(op_name: str, type_: Attribute) -> None:
    if type_ not in SCALAR_TYPES:
        raise VerifyException(f"{op_name} carries a scalar (i1, i32, i64, f32, f64), got {type_}")


@irdl_op_definition
class SendOp(IRDLOperation):
    """Buffered point-to-point send to sentron `dst` (FIFO per ordered pair)."""

    name = "phx.send"

    dst = operand_def(i64)
    value = operand_def(AnyAttr())

    traits = traits_def(CPipeEffect())
    assembly_format = "$dst `,` $value attr-dict `:` type($value)"

    def __init__(self, dst: SSAValue, value: SSAValue) -> None:
        super().__init__(operands=[dst, value])

    def verify_(self) -> None:
        _verify_scalar(self.name, self.value.type)


@irdl_op_definition
class RecvOp(IRDLOperation):
    """Blocking receive of the next value sentron `src` sent to this one."""

    name = "phx.recv"

    src = operand_def(i64)
    result = result_def(AnyAttr())

    traits = traits_def(CPipeEffect())
    assembly_format = "$src attr-dict `:` type($result)"

    def __init__(self, src: SSAValue, result_type: Attribute) -> None:
        super().__init__(operands=[src], result_types=[result_type])

    def verify_(self) -> None:
        _verify_scalar(self.name, self.result.type)


@irdl_op_definition
class BarrierOp(IRDLOperation):
    name = "phx.barrier"

    traits = traits_def(CPipeEffect())
    assembly_format = "attr-dict"

    def __init__(self) -> None:
        super().__init__()


@irdl_op_definition
class AllReduceOp(IRDLOperation):
    """Fold `value` over all sentrons in sentron order; every sentron gets the result."""

    name = "phx.allreduce"

    T: ClassVar = VarConstraint("T", AnyAttr())
    value = operand_def(T)
    result = result_def(T)
    op = prop_def(StringAttr)

    traits = traits_def(CPipeEffect())
    irdl_options = (ParsePropInAttrDict(),)
    assembly_format = "$value attr-dict `:` type($value)"

    def __init__(self, value: SSAValue, op: str) -> None:
        super().__init__(
            operands=[value], result_types=[value.type], properties={"op": StringAttr(op)}
        )

    def verify_(self) -> None:
        if self.op.data not in ALLREDUCE_OPS:
            raise VerifyException(
                f"phx.allreduce op must be one of {', '.join(ALLREDUCE_OPS)}, got {self.op.data!r}"
            )
        if self.value.type not in TENSOR_ELEMENT_TYPES:
            raise VerifyException(
                f"phx.allreduce reduces i32, i64, f32 or f64, got {self.value.type}"
            )


@irdl_op_definition
class BroadcastOp(IRDLOperation):
    """Every sentron gets sentron `root`'s `value`."""

    name = "phx.broadcast"

    T: ClassVar = VarConstraint("T", AnyAttr())
    value = operand_def(T)
    root = operand_def(i64)
    result = result_def(T)

    traits = traits_def(CPipeEffect())
    assembly_format = "$value `,` $root attr-dict `:` type($value)"

    def __init__(self, value: SSAValue, root: SSAValue) -> None:
        super().__init__(operands=[value, root], result_types=[value.type])

    def verify_(self) -> None:
        _verify_scalar(self.name, self.value.type)


PHX_OPS: tuple[type[IRDLOperation], ...] = (
    SymOp,
    LoadOp,
    StoreOp,
    PrefetchOp,
    SentronIdOp,
    NumSentronsOp,
    SendOp,
    RecvOp,
    BarrierOp,
    AllReduceOp,
    BroadcastOp,
)

# Ops that talk to other sentrons: passes must keep them, in order, where they are.
COMMUNICATION_OPS: frozenset[type[IRDLOperation]] = frozenset(
    (SendOp, RecvOp, BarrierOp, AllReduceOp, BroadcastOp)
)

Phx = Dialect("phx", list(PHX_OPS), [TensorType])
