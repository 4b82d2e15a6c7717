"""The siw dialect: vTPU ops on (virtual or allocated) registers.

Register classes are parametrised types built on xDSL's ``RegisterType``:
``!siw.r`` / ``!siw.p`` / ``!siw.m`` are unallocated (virtual: the SSA value is the
virtual register), ``!siw.r<r3>`` is allocated to r3.

Ops are derived from the ISA table rather than written one class per mnemonic:

- ``siw.op "MNEMONIC" operands imms`` is any straight-line op of the table. Its
  register operands are the table's USE and USEDEF operands in table order, its
  results the DEF and USEDEF operands in table order, and ``imms`` holds the
  non-register operands in table order. A USEDEF operand (CPACK's message) appears
  as an operand and as a result that must share one register. For a constant pool
  operand (DLDC) the immediate is the 64-bit constant itself (as a signed i64);
  emission interns it and writes the pool index.
- ``siw.branch "DBR.lt.i64"|"DBZ"|"DBNZ"`` branches to its first successor when
  the condition holds, else to its second; ``siw.jump`` is DJMP; both pass block
  arguments the way ``cf.br`` does (register allocation gives a block argument and
  every value passed to it one register, so they emit no code).
- ``siw.halt`` is DHALT, the terminator of a kernel's last block.
- ``siw.undef`` defines a register whose contents do not matter (the message
  buffer a CPACK starts from); it emits nothing.

Every op answers ``register_uses()`` / ``register_defs()`` / ``tied_registers()``,
the interface liveness and register allocation are written against.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from xdsl.backend.register_type import RegisterType
from xdsl.dialects.builtin import DenseArrayBase, StringAttr, i64
from xdsl.ir import Attribute, Block, Dialect, Operation, SSAValue
from xdsl.irdl import (
    AttrSizedOperandSegments,
    IRDLOperation,
    irdl_attr_definition,
    irdl_op_definition,
    prop_def,
    result_def,
    successor_def,
    traits_def,
    var_operand_def,
    var_result_def,
)
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.traits import IsTerminator
from xdsl.utils.exceptions import VerifyException

from phextcc.backend import isa
from phextcc.backend.isa import Effect, Kind, OpInfo, RegClass, Role


class SiwRegisterType(RegisterType):
    """A register of one vTPU register class (the class comes from the ISA table)."""

    REGCLASS: ClassVar[RegClass]

    @classmethod
    def _class(cls) -> RegClass:
        regclass = cls.__dict__.get("REGCLASS")
        if regclass is None:  # the abstract base: xDSL probes it at class creation
            raise NotImplementedError("SiwRegisterType is abstract: use RReg, PReg or MReg")
        return regclass

    @classmethod
    def index_by_name(cls) -> dict[str, int]:
        regclass = cls._class()
        return {f"{regclass.prefix}{i}": i for i in range(regclass.count)}

    @classmethod
    def infinite_register_prefix(cls) -> str:
        return f"v{cls._class().prefix}"

    @classmethod
    def allocatable_registers(cls) -> Sequence[SiwRegisterType]:
        return tuple(cls.from_index(i) for i in range(cls._class().count))

    @property
    def regclass(self) -> RegClass:
        return self._class()

    @property
    def number(self) -> int:
        """The allocated register number (the operand field value)."""
        index = self.index
        if not self.is_allocated or index.data < 0:  # type: ignore[union-attr]
            raise ValueError(f"register {self} is not allocated")
        return index.data  # type: ignore[union-attr]


@irdl_attr_definition
class RReg(SiwRegisterType):
    name = "siw.r"
    REGCLASS = RegClass.R


@irdl_attr_definition
class PReg(SiwRegisterType):
    name = "siw.p"
    REGCLASS = RegClass.P


@irdl_attr_definition
class MReg(SiwRegisterType):
    name = "siw.m"
    REGCLASS = RegClass.M


REGISTER_TYPE_OF_CLASS: dict[RegClass, type[SiwRegisterType]] = {
    RegClass.R: RReg, RegClass.P: PReg, RegClass.M: MReg,
}


def register_type(kind: Kind) -> type[SiwRegisterType]:
    assert kind.regclass is not None
    return REGISTER_TYPE_OF_CLASS[kind.regclass]


# Unit attribute on an SGATHER/SSCATTR whose element an analysis proved inside its
# tensor (phx `in_bounds`): the access cannot trap, so the packer need not keep it
# ordered against other ops that may trap or have side effects.
PROVEN_IN_BOUNDS_ATTR = "siw.in_bounds"
# Unit attribute on a register copy that splits a value's live range on purpose (at a
# loop's entry, loop_remat.py): copy coalescing leaves it, the allocator only prefers
# the source's register for it.
SPLIT_COPY_ATTR = "siw.split"
# Integer attribute on the ops of a software-pipelined kernel block: the row (word)
# the modulo schedule gave the op. The allocator keeps a row's reads and writes apart
# (liveness.live_ranges) and emission follows the rows when they are still legal.
SCHEDULE_ROW_ATTR = "siw.row"
# Integer attribute on a loop's bottom test: every entry of the loop runs fewer trips
# than its value (from phx.trips_below); software pipelining leaves such loops alone.
TRIPS_BELOW_ATTR = "siw.trips_below"
# Unit attribute on a jump that ends a block control rarely reaches (the path to the
# unpipelined loop for short trip counts): emission lays the block out right before
# the jump's destination, so the likely path falls through the test that leads to it.
COLD_PATH_ATTR = "siw.cold"


def regclass_of(value: SSAValue) -> RegClass:
    value_type = value.type
    if not isinstance(value_type, SiwRegisterType):
        raise VerifyException(f"{value} is not a siw register")
    return value_type.regclass


def immediate_operands(info: OpInfo) -> tuple[isa.Operand, ...]:
    """The operands of a row carried in ``imms`` (branch targets are successors)."""
    return tuple(o for o in info.operands if o.role is Role.NONE and o.kind is not Kind.TARGET)


def _register_operands(info: OpInfo, roles: tuple[Role, ...]) -> tuple[isa.Operand, ...]:
    return tuple(o for o in info.operands if o.kind.is_reg and o.role in roles)


def use_operands(info: OpInfo) -> tuple[isa.Operand, ...]:
    return _register_operands(info, (Role.USE, Role.USEDEF))


def def_operands(info: OpInfo) -> tuple[isa.Operand, ...]:
    return _register_operands(info, (Role.DEF, Role.USEDEF))


def lookup_row(mnemonic: str) -> OpInfo:
    info = isa.BY_MNEMONIC.get(mnemonic)
    if info is None:
        raise VerifyException(f"unknown mnemonic {mnemonic!r}")
    if info.reserved:
        raise VerifyException(f"{mnemonic} is reserved and cannot be emitted")
    return info


def _check_classes(what: str, values: Sequence[SSAValue], expected: Sequence[isa.Operand],
                   mnemonic: str) -> None:
    if len(values) != len(expected):
        raise VerifyException(
            f"{mnemonic} takes {len(expected)} register {what}, got {len(values)}")
    for value, operand in zip(values, expected):
        if regclass_of(value) is not operand.kind.regclass:
            raise VerifyException(
                f"{mnemonic} {what} {operand.name} must be a {operand.kind.name.lower()} "
                f"register, got {value.type}")


def _check_immediates(info: OpInfo, imms: Sequence[int]) -> None:
    expected = immediate_operands(info)
    if len(imms) != len(expected):
        raise VerifyException(
            f"{info.mnemonic} takes {len(expected)} immediates, got {len(imms)}")
    for value, operand in zip(imms, expected):
        if operand.kind is Kind.POOL:
            continue  # the 64-bit constant itself, any i64 bit pattern
        low, high = isa.field_range(operand)
        if not low <= value <= high:
            raise VerifyException(
                f"{info.mnemonic} {operand.name} = {value} outside [{low}, {high}]")


class SiwInstruction(IRDLOperation):
    """What liveness and allocation see of every siw op."""

    def register_uses(self) -> tuple[SSAValue, ...]:
        """Values read from registers (block arguments passed to successors excluded)."""
        return tuple(self.operands)

    def register_defs(self) -> tuple[SSAValue, ...]:
        return tuple(self.results)

    def tied_registers(self) -> tuple[tuple[SSAValue, SSAValue], ...]:
        """(operand, result) pairs that must share one register."""
        return ()

    def successor_arguments(self) -> tuple[tuple[Block, tuple[SSAValue, ...]], ...]:
        return ()


@irdl_op_definition
class SiwOp(SiwInstruction):
    """Any non-branch row of the ISA table."""

    name = "siw.op"

    mnemonic = prop_def(StringAttr)
    imms = prop_def(DenseArrayBase)
    args = var_operand_def()
    res = var_result_def()

    # Text form: siw.op "DADD.i64" (%a, %b) [imm, ...] {attrs} : (types) -> types

    def __init__(self, mnemonic: str, args: Sequence[SSAValue | Operation] = (),
                 imms: Sequence[int] = (), result_types: Sequence[Attribute] | None = None
                 ) -> None:
        info = isa.BY_MNEMONIC[mnemonic]
        if result_types is None:
            result_types = [register_type(o.kind).unallocated() for o in def_operands(info)]
        super().__init__(
            operands=[list(args)], result_types=[list(result_types)],
            properties={"mnemonic": StringAttr(mnemonic),
                        "imms": DenseArrayBase.from_list(i64, list(imms))})

    @property
    def info(self) -> OpInfo:
        return isa.BY_MNEMONIC[self.mnemonic.data]

    @property
    def immediates(self) -> tuple[int, ...]:
        return tuple(int(v) for v in self.imms.get_values())

    def print(self, printer: Printer) -> None:
        printer.print_string(" ")
        printer.print_string_literal(self.mnemonic.data)
        printer.print_string(" (")
        printer.print_list(self.args, printer.print_operand)
        printer.print_string(") [")
        printer.print_list(self.immediates, lambda v: printer.print_string(str(v)))
        printer.print_string("]")
        printer.print_op_attributes(self.attributes)
        printer.print_string(" : ")
        printer.print_function_type([a.type for a in self.args], [r.type for r in self.res])

    @classmethod
    def parse(cls, parser: Parser) -> SiwOp:
        mnemonic = parser.parse_str_literal("mnemonic")
        position = parser.pos
        args = parser.parse_comma_separated_list(
            parser.Delimiter.PAREN, parser.parse_unresolved_operand)
        imms = parser.parse_comma_separated_list(
            parser.Delimiter.SQUARE, lambda: parser.parse_integer(allow_boolean=False))
        attributes = parser.parse_optional_attr_dict()
        parser.parse_punctuation(":")
        function_type = parser.parse_function_type()
        operands = parser.resolve_operands(args, function_type.inputs.data, position)
        op = cls(mnemonic, operands, imms, function_type.outputs.data)
        op.attributes.update(attributes)
        return op

    def tied_registers(self) -> tuple[tuple[SSAValue, SSAValue], ...]:
        info = self.info
        uses = use_operands(info)
        defs = def_operands(info)
        return tuple((self.args[uses.index(o)], self.res[defs.index(o)])
                     for o in info.operands if o.role is Role.USEDEF)

    def verify_(self) -> None:
        info = lookup_row(self.mnemonic.data)
        if info.effects & (Effect.BRANCH | Effect.HALT):
            raise VerifyException(f"{info.mnemonic} is control flow: use siw.branch/jump/halt")
        _check_classes("operands", self.args, use_operands(info), info.mnemonic)
        _check_classes("results", self.res, def_operands(info), info.mnemonic)
        _check_immediates(info, self.immediates)


@irdl_op_definition
class BranchOp(SiwInstruction):
    """A conditional branch row (DBR.<cc>.<t>, DBZ, DBNZ): taken -> first successor."""

    name = "siw.branch"

    mnemonic = prop_def(StringAttr)
    args = var_operand_def()
    taken_arguments = var_operand_def()
    fallthrough_arguments = var_operand_def()
    taken = successor_def()
    fallthrough = successor_def()

    irdl_options = (AttrSizedOperandSegments(as_property=True),)
    traits = traits_def(IsTerminator())

    assembly_format = (
        "$mnemonic `(` $args `:` type($args) `)` `,` "
        "$taken (`(` $taken_arguments^ `:` type($taken_arguments) `)`)? `,` "
        "$fallthrough (`(` $fallthrough_arguments^ `:` type($fallthrough_arguments) `)`)? "
        "attr-dict")

    def __init__(self, mnemonic: str, args: Sequence[SSAValue], taken: Block,
                 fallthrough: Block, taken_arguments: Sequence[SSAValue] = (),
                 fallthrough_arguments: Sequence[SSAValue] = ()) -> None:
        super().__init__(
            operands=[list(args), list(taken_arguments), list(fallthrough_arguments)],
            successors=[taken, fallthrough],
            properties={"mnemonic": StringAttr(mnemonic)})

    @property
    def info(self) -> OpInfo:
        return isa.BY_MNEMONIC[self.mnemonic.data]

    def register_uses(self) -> tuple[SSAValue, ...]:
        return tuple(self.args)

    def successor_arguments(self) -> tuple[tuple[Block, tuple[SSAValue, ...]], ...]:
        return ((self.taken, tuple(self.taken_arguments)),
                (self.fallthrough, tuple(self.fallthrough_arguments)))

    def verify_(self) -> None:
        info = lookup_row(self.mnemonic.data)
        if not info.effects & Effect.BRANCH or info.family == "DJMP":
            raise VerifyException(f"{info.mnemonic} is not a conditional branch")
        _check_classes("operands", self.args, use_operands(info), info.mnemonic)
        _check_successor_arguments(self)


@irdl_op_definition
class JumpOp(SiwInstruction):
    """DJMP to the successor."""

    name = "siw.jump"

    arguments = var_operand_def()
    dest = successor_def()
    traits = traits_def(IsTerminator())

    assembly_format = "$dest (`(` $arguments^ `:` type($arguments) `)`)? attr-dict"

    def __init__(self, dest: Block, arguments: Sequence[SSAValue] = ()) -> None:
        super().__init__(operands=[list(arguments)], successors=[dest])

    def register_uses(self) -> tuple[SSAValue, ...]:
        return ()

    def successor_arguments(self) -> tuple[tuple[Block, tuple[SSAValue, ...]], ...]:
        return ((self.dest, tuple(self.arguments)),)

    def verify_(self) -> None:
        _check_successor_arguments(self)


@irdl_op_definition
class HaltOp(SiwInstruction):
    """DHALT: the sentron's end."""

    name = "siw.halt"
    traits = traits_def(IsTerminator())
    assembly_format = "attr-dict"


@irdl_op_definition
class UndefOp(SiwInstruction):
    """A register whose initial contents do not matter (emits nothing)."""

    name = "siw.undef"
    res = result_def(SiwRegisterType)
    assembly_format = "attr-dict `:` type($res)"

    def __init__(self, result_type: Attribute) -> None:
        super().__init__(result_types=[result_type])


def _check_successor_arguments(op: SiwInstruction) -> None:
    for block, values in op.successor_arguments():
        if len(values) != len(block.args):
            raise VerifyException(
                f"{op.name} passes {len(values)} values to a block of {len(block.args)} "
                "arguments")
        for value, arg in zip(values, block.args):
            if regclass_of(value) is not regclass_of(arg):
                raise VerifyException(f"{op.name} passes {value.type} to {arg.type}")


Siw = Dialect("siw", [SiwOp, BranchOp, JumpOp, HaltOp, UndefOp], [RReg, PReg, MReg])
