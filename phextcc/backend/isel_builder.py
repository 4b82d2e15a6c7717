"""The state instruction selection carries through one kernel, and its emit helpers.

A ``KernelSelector`` appends siw ops to the block being filled, maps each phx SSA value
to the siw register value holding it, and knows the kernel's parameters (which
argument is which parameter index, which shape symbol has which DSYM index). The op
handlers (``isel_ops``, ``isel_memory``) and the control-flow lowering (``isel``) only
talk to the IR through it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence

from xdsl.dialects.builtin import (
    ArrayAttr,
    Float32Type,
    Float64Type,
    IntegerType,
    LocationAttr,
    StringAttr,
)
from xdsl.dialects.func import FuncOp
from xdsl.ir import Attribute, Block, BlockArgument, Operation, Region, SSAValue

from phextcc.backend import isa
from phextcc.backend.isa import RegClass, Type
from phextcc.ir.phx_dialect import TensorType
from phextcc.ir.siw_dialect import (
    REGISTER_TYPE_OF_CLASS,
    BranchOp,
    JumpOp,
    SiwOp,
    regclass_of,
)

# IR scalar types -> typed-variant type of the D ops; bool is an i64 holding 0/1.
_SCALAR_TYPES: dict[Attribute, Type] = {
    IntegerType(1): Type.I64,
    IntegerType(32): Type.I32,
    IntegerType(64): Type.I64,
    Float32Type(): Type.F32,
    Float64Type(): Type.F64,
}

_DTYPE_NAMES: dict[Attribute, str] = {
    IntegerType(1): "bool",
    IntegerType(32): "i32",
    IntegerType(64): "i64",
    Float32Type(): "f32",
    Float64Type(): "f64",
}

# The register copy of each class (there is no m-to-m copy; isel never needs one).


class SelectionError(Exception):
    """The input is outside the IR contract (an internal compiler error)."""


def machine_type(ir_type: Attribute) -> Type:
    """The D-op type variant for an IR scalar type."""
    found = _SCALAR_TYPES.get(ir_type)
    if found is None:
        raise SelectionError(f"no vTPU register type for {ir_type}")
    return found


def dtype_name(ir_type: Attribute) -> str:
    found = _DTYPE_NAMES.get(ir_type)
    if found is None:
        raise SelectionError(f"no kernel parameter type for {ir_type}")
    return found


def _string_list(attr: Attribute | None) -> tuple[str, ...]:
    if not isinstance(attr, ArrayAttr):
        return ()
    return tuple(item.data for item in attr.data if isinstance(item, StringAttr))


def kernel_symbols(func: FuncOp) -> tuple[str, ...]:
    """The DSYM order: the ``phx.symbols`` attribute, else order of first use."""
    listed = _string_list(func.attributes.get("phx.symbols"))
    if listed:
        return listed
    seen: list[str] = []
    for arg_type in func.function_type.inputs.data:
        if isinstance(arg_type, TensorType):
            for extent in arg_type.extents:
                if isinstance(extent, str) and extent not in seen:
                    seen.append(extent)
    return tuple(seen)


def kernel_param_names(func: FuncOp) -> tuple[str, ...]:
    names = _string_list(func.attributes.get("phx.param_names"))
    if names:
        return names
    return tuple(f"arg{i}" for i in range(len(func.function_type.inputs.data)))


class KernelSelector:
    """Builds the siw body of one kernel."""

    def __init__(self, func: FuncOp) -> None:
        self.func = func
        self.symbols = kernel_symbols(func)
        self.region = Region()
        self.block = Block()
        self.region.add_block(self.block)
        self.values: dict[SSAValue, SSAValue] = {}
        self.tensor_bases: dict[int, SSAValue] = {}  # parameter index -> SBASE register
        self.location: LocationAttr | None = None
        # Pure address arithmetic already emitted in the current block, by what it
        # computes: the unrolled copies of a loop body share one SINDEX per tensor.
        self.block_values: dict[Hashable, SSAValue] = {}
        # Registers whose only reader selection may have dropped (isel_dce).
        self.maybe_unused: list[SSAValue] = []

    # --- blocks ---------------------------------------------------------------

    def start_block(self, block: Block) -> None:
        """Append ``block`` to the layout and continue filling it."""
        self.region.add_block(block)
        self.block = block
        self.block_values = {}  # a value of the previous block may not dominate this one

    # --- values ---------------------------------------------------------------

    def reg(self, value: SSAValue) -> SSAValue:
        """The siw register holding an IR value."""
        found = self.values.get(value)
        if found is None:
            raise SelectionError(f"value {value} has no register (not a scalar?)")
        return found

    def bind(self, value: SSAValue, reg: SSAValue) -> None:
        self.values[value] = reg

    def param_index(self, value: SSAValue) -> int:
        """The parameter index (= region id of a tensor) of a kernel argument."""
        if not isinstance(value, BlockArgument) or value.owner is not self.func.body.block:
            raise SelectionError(f"{value} is not a kernel parameter")
        return value.index

    def tensor_type(self, value: SSAValue) -> TensorType:
        if not isinstance(value.type, TensorType):
            raise SelectionError(f"{value} is not a tensor")
        return value.type

    def symbol_index(self, name: str) -> int:
        if name not in self.symbols:
            raise SelectionError(f"unknown shape symbol {name!r}")
        return self.symbols.index(name)

    # --- emission -------------------------------------------------------------

    def emit(self, op: Operation) -> Operation:
        if self.location is not None:
            op.location = self.location
        self.block.add_op(op)
        return op

    def op(self, mnemonic: str, args: Sequence[SSAValue] = (), imms: Sequence[int] = ()
           ) -> SiwOp:
        """Emit one table row; returns the op (its ``res`` are the defs)."""
        new = SiwOp(mnemonic, args, imms)
        self.emit(new)
        return new

    def value_op(self, mnemonic: str, args: Sequence[SSAValue] = (),
                 imms: Sequence[int] = ()) -> SSAValue:
        """Emit a row with exactly one register result and return it."""
        return self.op(mnemonic, args, imms).res[0]

    def typed(self, family: str, t: Type, args: Sequence[SSAValue],
              imms: Sequence[int] = ()) -> SSAValue:
        return self.value_op(isa.lookup(family, t).mnemonic, args, imms)

    def reuse(self, key: Hashable, build: Callable[[], SSAValue]) -> SSAValue:
        """The value of ``key`` computed earlier in this block, else ``build()``.
        Only for ops without effects whose result depends on ``key`` alone."""
        found = self.block_values.get(key)
        if found is None:
            found = self.block_values[key] = build()
        return found

    def constant(self, bits: int) -> SSAValue:
        """A 64-bit register pattern: DMOVI when it is a sign-extended 32-bit value,
        otherwise a constant pool entry (DLDC carries the value until emission)."""
        signed = bits - (1 << 64) if bits >= 1 << 63 else bits
        low, high = isa.operand_range(isa.Kind.IMM)
        if low <= signed <= high:
            return self.value_op("DMOVI", (), (signed,))
        return self.value_op("DLDC", (), (signed,))

    def copy(self, value: SSAValue) -> SSAValue:
        regclass = regclass_of(value)
        mnemonic = isa.COPY_OF_CLASS.get(regclass)
        if mnemonic is None:
            raise SelectionError(f"cannot copy a {regclass.prefix} register")
        return self.value_op(mnemonic, (value,))

    def edge_copies(self, edges: Sequence[tuple[Block, Sequence[SSAValue]]]
                    ) -> list[list[SSAValue]]:
        """Fresh copies of the values passed along the CFG edges leaving this block.

        Register allocation gives a block argument and every value passed to it one
        register, so each copy writes its target argument's register. Passing fresh
        copies keeps those webs free of interference. A passed value that is itself a
        target argument whose register another value is about to overwrite (loop
        values that rotate or swap) is first saved in a temporary."""
        overwritten = {arg for block, values in edges
                       for arg, value in zip(block.args, values) if value is not arg}
        saved: dict[SSAValue, SSAValue] = {}
        for _, values in edges:
            for value in values:
                if value in overwritten and value not in saved:
                    saved[value] = self.copy(value)
        return [[self.copy(saved.get(v, v)) for v in values] for _, values in edges]

    def jump(self, dest: Block, values: Sequence[SSAValue] = ()) -> None:
        (passed,) = self.edge_copies([(dest, values)])
        self.emit(JumpOp(dest, passed))

    def branch(self, mnemonic: str, args: Sequence[SSAValue], taken: Block,
               taken_values: Sequence[SSAValue], fallthrough: Block,
               fallthrough_values: Sequence[SSAValue] = ()) -> BranchOp:
        """A conditional branch passing values along both edges."""
        to_taken, to_fallthrough = self.edge_copies(
            [(taken, taken_values), (fallthrough, fallthrough_values)])
        branch = BranchOp(mnemonic, args, taken, fallthrough, to_taken, to_fallthrough)
        self.emit(branch)
        return branch


def register_type_for(ir_type: Attribute) -> Attribute:
    """The (unallocated) siw register type that holds a value of an IR scalar type."""
    machine_type(ir_type)  # rejects non-scalars
    return REGISTER_TYPE_OF_CLASS[RegClass.R].unallocated()
