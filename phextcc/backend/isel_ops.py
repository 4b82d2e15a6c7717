"""Instruction selection for straight-line arith and math ops: tables, not cases.

Each IR op class maps to a D-op family; the typed variant comes from the IR type
(bool is i64 holding 0/1, so bool logic uses the .i64 variants).
"""

from __future__ import annotations

import struct
from collections.abc import Callable

from xdsl.dialects import arith, math
from xdsl.dialects.builtin import FloatAttr, IntegerAttr, IntegerType
from xdsl.ir import Operation, SSAValue

from phextcc.backend import isa
from phextcc.backend.isa import NEGATED_FLOAT_COND, NEGATED_INT_COND, Cond, Type
from phextcc.backend.isel_builder import KernelSelector, SelectionError, machine_type

Handler = Callable[[KernelSelector, Operation], None]

# result = FAMILY(operands...), variant typed by the result.
_BY_RESULT_TYPE: dict[type[Operation], str] = {
    arith.AddiOp: "DADD", arith.SubiOp: "DSUB", arith.MuliOp: "DMUL",
    arith.DivSIOp: "DDIV", arith.RemSIOp: "DREM",
    arith.AddfOp: "DADD", arith.SubfOp: "DSUB", arith.MulfOp: "DMUL", arith.DivfOp: "DDIV",
    arith.NegfOp: "DNEG",
    arith.MinSIOp: "DMIN", arith.MaxSIOp: "DMAX",
    arith.MinimumfOp: "DMIN", arith.MaximumfOp: "DMAX",
    arith.AndIOp: "DAND", arith.OrIOp: "DOR", arith.XOrIOp: "DXOR",
    arith.ShLIOp: "DSHL", arith.ShRSIOp: "DSHR",
    math.SqrtOp: "DSQRT", math.ExpOp: "DEXP", math.LogOp: "DLOG", math.TanhOp: "DTANH",
    math.FloorOp: "DFLOOR", math.CeilOp: "DCEIL",
    math.AbsFOp: "DABS", math.AbsIOp: "DABS",
    math.FmaOp: "DFMA", math.CtPopOp: "DPOPCNT",
}

_CMPI: dict[str, Cond] = {"eq": Cond.EQ, "ne": Cond.NE, "slt": Cond.LT, "sle": Cond.LE,
                          "sgt": Cond.GT, "sge": Cond.GE}
# Ordered predicates are false on NaN, une is true on NaN: exactly DCMP's float rules.
_CMPF: dict[str, Cond] = {"oeq": Cond.EQ, "une": Cond.NE, "olt": Cond.LT, "ole": Cond.LE,
                          "ogt": Cond.GT, "oge": Cond.GE}

_BOOL = IntegerType(1)


def select_by_result_type(sel: KernelSelector, op: Operation) -> None:
    family = _BY_RESULT_TYPE[type(op)]
    result = op.results[0]
    args = [sel.reg(v) for v in op.operands]
    sel.bind(result, sel.typed(family, machine_type(result.type), args))


def select_constant(sel: KernelSelector, op: Operation) -> None:
    assert isinstance(op, arith.ConstantOp)
    sel.bind(op.result, sel.constant(constant_bits(op)))


def constant_bits(op: arith.ConstantOp) -> int:
    """The register pattern of a scalar constant (see the machine model)."""
    value = op.value
    t = machine_type(op.result.type)
    if isinstance(value, IntegerAttr):
        number = value.value.data
        if op.result.type == _BOOL:
            number = 1 if number else 0
        return number & ((1 << 64) - 1)
    if isinstance(value, FloatAttr):
        if t is Type.F32:
            return struct.unpack("<I", struct.pack("<f", value.value.data))[0]
        return struct.unpack("<Q", struct.pack("<d", value.value.data))[0]
    raise SelectionError(f"unsupported constant {value}")


def _predicate_name(op: arith.CmpiOp | arith.CmpfOp, names: list[str]) -> str:
    return names[op.predicate.value.data]


def select_cmpi(sel: KernelSelector, op: Operation) -> None:
    assert isinstance(op, arith.CmpiOp)
    name = _predicate_name(op, arith.CMPI_COMPARISON_OPERATIONS)
    _compare(sel, op, _CMPI, name)


def select_cmpf(sel: KernelSelector, op: Operation) -> None:
    assert isinstance(op, arith.CmpfOp)
    name = _predicate_name(op, arith.CMPF_COMPARISON_OPERATIONS)
    _compare(sel, op, _CMPF, name)


def _compare(sel: KernelSelector, op: arith.CmpiOp | arith.CmpfOp, table: dict[str, Cond],
             name: str) -> None:
    cond = table.get(name)
    if cond is None:
        raise SelectionError(f"{op.name} predicate {name} is outside the IR contract")
    t = machine_type(op.lhs.type)
    sel.bind(op.result, sel.typed("DCMP", t, [sel.reg(op.lhs), sel.reg(op.rhs)], [cond]))


_COMPARE_TABLES: dict[type[Operation], tuple[list[str], dict[str, Cond]]] = {
    arith.CmpiOp: (arith.CMPI_COMPARISON_OPERATIONS, _CMPI),
    arith.CmpfOp: (arith.CMPF_COMPARISON_OPERATIONS, _CMPF),
}


def _compare_parts(op: Operation) -> tuple[Cond, Type, SSAValue, SSAValue] | None:
    """(predicate, operand type, lhs, rhs) of a compare the contract allows, else None."""
    tables = _COMPARE_TABLES.get(type(op))
    if tables is None:
        return None
    assert isinstance(op, arith.CmpiOp | arith.CmpfOp)
    names, table = tables
    cond = table.get(_predicate_name(op, names))
    if cond is None:
        return None
    return cond, machine_type(op.lhs.type), op.lhs, op.rhs


def branch_when_false(sel: KernelSelector, condition: SSAValue
                      ) -> tuple[str, list[SSAValue]]:
    """The branch (mnemonic, register operands) taken when the IR bool ``condition``
    is false. A compare used only here fuses into ``DBR.<negated cc>.<t>`` on its
    operands (its DCMP is then dead) when the ISA has the exact negation; anything
    else is ``DBZ`` on the condition's register."""
    owner = condition.owner
    if not isinstance(owner, Operation) or not condition.has_one_use():
        return "DBZ", [sel.reg(condition)]
    parts = _compare_parts(owner)
    if parts is not None:
        cond, t, lhs, rhs = parts
        negated = (NEGATED_FLOAT_COND if t.is_float else NEGATED_INT_COND).get(cond)
        if negated is not None:
            sel.maybe_unused.append(sel.reg(condition))
            return isa.lookup("DBR", t, negated).mnemonic, [sel.reg(lhs), sel.reg(rhs)]
    negated_bool = _negated_bool(owner)
    if negated_bool is not None:  # `not b` is false exactly when b is true
        sel.maybe_unused.append(sel.reg(condition))
        return "DBNZ", [sel.reg(negated_bool)]
    return "DBZ", [sel.reg(condition)]


def _negated_bool(op: Operation) -> SSAValue | None:
    """b for the IR contract's bool negation ``xori b, true``, else None."""
    if not isinstance(op, arith.XOrIOp) or op.result.type != _BOOL:
        return None
    for value, other in ((op.rhs, op.lhs), (op.lhs, op.rhs)):
        constant = value.owner
        if isinstance(constant, arith.ConstantOp) and isinstance(constant.value, IntegerAttr) \
                and constant.value.value.data != 0:
            return other
    return None


def select_select(sel: KernelSelector, op: Operation) -> None:
    assert isinstance(op, arith.SelectOp)
    args = [sel.reg(op.cond), sel.reg(op.lhs), sel.reg(op.rhs)]
    sel.bind(op.result, sel.value_op("DSEL", args))


def immediate_operand(value: SSAValue) -> int | None:
    """The value of an integer constant that fits an op's immediate, else None."""
    owner = value.owner
    if not isinstance(owner, arith.ConstantOp) or not isinstance(owner.value, IntegerAttr) \
            or value.type == _BOOL:
        return None
    low, high = isa.operand_range(isa.Kind.IMM)
    constant = owner.value.value.data
    return constant if low <= constant <= high else None


def select_addi(sel: KernelSelector, op: Operation) -> None:
    """``x + c`` with a constant that fits the immediate is DADDI: no register for c."""
    assert isinstance(op, arith.AddiOp)
    t = machine_type(op.result.type)
    for value, addend in ((op.lhs, op.rhs), (op.rhs, op.lhs)):
        constant = immediate_operand(addend)
        if constant is not None and op.result.type != _BOOL:
            sel.bind(op.result, sel.typed("DADDI", t, [sel.reg(value)], [constant]))
            sel.maybe_unused.append(sel.reg(addend))  # its register, if nothing else reads it
            return
    sel.bind(op.result, sel.typed("DADD", t, [sel.reg(op.lhs), sel.reg(op.rhs)]))


def select_subi(sel: KernelSelector, op: Operation) -> None:
    """``subi 0, x`` is the contract's integer negation: DNEG; ``x - c`` is DADDI of
    ``-c`` when that fits the immediate."""
    assert isinstance(op, arith.SubiOp)
    t = machine_type(op.result.type)
    lhs = op.lhs.owner
    if isinstance(lhs, arith.ConstantOp) and isinstance(lhs.value, IntegerAttr) \
            and lhs.value.value.data == 0 and op.result.type != _BOOL:
        sel.bind(op.result, sel.typed("DNEG", t, [sel.reg(op.rhs)]))
        return
    constant = immediate_operand(op.rhs)
    low, _ = isa.operand_range(isa.Kind.IMM)
    if constant is not None and constant != low and op.result.type != _BOOL:
        sel.bind(op.result, sel.typed("DADDI", t, [sel.reg(op.lhs)], [-constant]))
        sel.maybe_unused.append(sel.reg(op.rhs))
        return
    sel.bind(op.result, sel.typed("DSUB", t, [sel.reg(op.lhs), sel.reg(op.rhs)]))


def select_conversion(sel: KernelSelector, op: Operation) -> None:
    """DCVT.<to> rd, rs, <from>; conversions from or to bool are special."""
    source, result = op.operands[0], op.results[0]
    if source.type == _BOOL:
        _convert_from_bool(sel, op)
        return
    if result.type == _BOOL:  # trunci to i1 keeps the low bit
        one = sel.constant(1)
        sel.bind(result, sel.typed("DAND", Type.I64, [sel.reg(source), one]))
        return
    from_type, to_type = machine_type(source.type), machine_type(result.type)
    if from_type is to_type:  # i32 -> i32 cannot occur, but a no-op is still right
        sel.bind(result, sel.reg(source))
        return
    sel.bind(result, sel.typed("DCVT", to_type, [sel.reg(source)], [from_type]))


def _convert_from_bool(sel: KernelSelector, op: Operation) -> None:
    source, result = op.operands[0], op.results[0]
    value = sel.reg(source)
    to_type = machine_type(result.type)
    if isinstance(op, arith.ExtSIOp):  # sign extension of a 1-bit 1 is -1
        sel.bind(result, sel.typed("DNEG", to_type, [value]))
    elif to_type.is_float:  # sitofp/uitofp of 0/1
        signed = -1 if isinstance(op, arith.SIToFPOp) else 1
        if signed < 0:
            value = sel.typed("DNEG", Type.I64, [value])
        sel.bind(result, sel.typed("DCVT", to_type, [value], [Type.I64]))
    else:  # extui: the register already holds 0/1
        sel.bind(result, value)


STRAIGHT_LINE_HANDLERS: dict[type[Operation], Handler] = {
    **{cls: select_by_result_type for cls in _BY_RESULT_TYPE},
    arith.AddiOp: select_addi,
    arith.SubiOp: select_subi,
    arith.ConstantOp: select_constant,
    arith.CmpiOp: select_cmpi,
    arith.CmpfOp: select_cmpf,
    arith.SelectOp: select_select,
    arith.ExtSIOp: select_conversion,
    arith.ExtUIOp: select_conversion,
    arith.TruncIOp: select_conversion,
    arith.SIToFPOp: select_conversion,
    arith.FPToSIOp: select_conversion,
    arith.ExtFOp: select_conversion,
    arith.TruncFOp: select_conversion,
}
