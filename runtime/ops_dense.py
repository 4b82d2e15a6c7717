"""Closure builders for D-pipe families: each takes the decoded op and the
sentron it will run on, and returns a zero-argument callable that does the op.

Builders capture the register list and everything else they need as free
variables, so executing an op is a single call with no table lookup.
"""

from __future__ import annotations

from collections.abc import Callable

from phextcc.backend.isa import Cond, RedOp, Type
from phextcc.backend.program import Instr
from runtime.errors import IndexOutOfRange, VtpuRuntimeError
from runtime.floatbits import M64, signed64
from runtime.semantics import BINARY, TERNARY, UNARY, comparison, conversion, reducer
from runtime.sentron_state import HALT, OpFn, SentronState, reg_index

Builder = Callable[[Instr, SentronState], OpFn]


def operands(instr: Instr) -> dict[str, int]:
    """Operand name -> value, registers as flat register-file indices."""
    values: dict[str, int] = {}
    for operand, value in zip(instr.info.operands, instr.args):
        values[operand.name] = reg_index(operand.kind, value) if operand.kind.is_reg else value
    return values


def op_type(instr: Instr) -> Type:
    assert instr.info.type is not None, instr.info.mnemonic
    return instr.info.type


# -- arithmetic families, from the semantics tables ---------------------------

def build_binary(instr: Instr, st: SentronState) -> OpFn:
    fn = BINARY[instr.info.family][op_type(instr)]
    o, R = operands(instr), st.registers
    d, a, b = o["rd"], o["rs1"], o["rs2"]

    def binary() -> None:
        R[d] = fn(R[a], R[b])
    return binary


def build_add_immediate(instr: Instr, st: SentronState) -> OpFn:
    fn = BINARY["DADD"][op_type(instr)]
    o, R = operands(instr), st.registers
    d, a, value = o["rd"], o["rs"], o["value"] & M64

    def add_immediate() -> None:
        R[d] = fn(R[a], value)
    return add_immediate


def build_unary(instr: Instr, st: SentronState) -> OpFn:
    fn = UNARY[instr.info.family][op_type(instr)]
    o, R = operands(instr), st.registers
    d, a = o["rd"], o["rs"]

    def unary() -> None:
        R[d] = fn(R[a])
    return unary


def build_ternary(instr: Instr, st: SentronState) -> OpFn:
    fn = TERNARY[instr.info.family][op_type(instr)]
    o, R = operands(instr), st.registers
    d, a, b, c = o["rd"], o["rs1"], o["rs2"], o["rs3"]

    def ternary() -> None:
        R[d] = fn(R[a], R[b], R[c])
    return ternary


def build_compare(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    pred = comparison(Cond(o["cc"]), op_type(instr))
    d, a, b = o["rd"], o["rs1"], o["rs2"]

    def compare() -> None:
        R[d] = 1 if pred(R[a], R[b]) else 0
    return compare


def build_select(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    d, c, a, b = o["rd"], o["rc"], o["rs1"], o["rs2"]

    def select() -> None:
        R[d] = R[a] if R[c] else R[b]
    return select


def build_move(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    d, a = o["rd"], o["rs"]

    def move() -> None:
        R[d] = R[a]
    return move


def _constant_op(d: int, value: int, R: list) -> OpFn:
    def constant() -> None:
        R[d] = value
    return constant


def build_move_immediate(instr: Instr, st: SentronState) -> OpFn:
    o = operands(instr)
    return _constant_op(o["rd"], o["value"] & M64, st.registers)


def build_load_constant(instr: Instr, st: SentronState) -> OpFn:
    o = operands(instr)
    if not 0 <= o["index"] < len(st.pool):
        return _fault(f"DLDC of constant pool entry {o['index']}, but the pool has "
                      f"{len(st.pool)} entries")
    return _constant_op(o["rd"], st.pool[o["index"]] & M64, st.registers)


def build_argument(instr: Instr, st: SentronState) -> OpFn:
    o = operands(instr)
    assert st.bound is not None
    if o["param"] not in st.bound.scalars:
        return _fault(f"DARG of parameter {o['param']}, which is not a scalar parameter")
    return _constant_op(o["rd"], st.bound.scalars[o["param"]], st.registers)


def build_symbol(instr: Instr, st: SentronState) -> OpFn:
    o = operands(instr)
    assert st.bound is not None
    if not 0 <= o["symbol"] < len(st.bound.symbols):
        return _fault(f"DSYM of shape symbol {o['symbol']}, but the kernel has "
                      f"{len(st.bound.symbols)}")
    return _constant_op(o["rd"], st.bound.symbols[o["symbol"]] & M64, st.registers)


def build_check(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    assert st.bound is not None
    param, axis = o["param"], o["axis"]
    tensor = st.bound.tensors.get(param)
    if tensor is None or axis >= tensor.ndim:
        return _fault(f"DCHK of axis {axis} of parameter {param}, which has no such axis")
    extent, name, s = int(tensor.shape[axis]), st.bound.kernel.params[param].name, o["rs"]

    def check() -> None:
        index = R[s]
        if index >= extent:  # also catches negative values (patterns >= 2**63)
            raise IndexOutOfRange(name, axis, signed64(index), extent)
    return check


def build_convert(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    fn = conversion(Type(o["from"]), op_type(instr))
    d, a = o["rd"], o["rs"]

    def convert() -> None:
        R[d] = fn(R[a])
    return convert


def build_lane_reduce(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    t, red = op_type(instr), RedOp(o["op"])
    step = reducer(red, t)
    if step is None:
        return _fault(f"{instr.info.mnemonic} with {red.name} is not defined")
    d, m = o["rd"], o["ms"]

    def lane_reduce() -> None:
        lanes = R[m]
        R[d] = step(step(step(lanes[0], lanes[1]), lanes[2]), lanes[3])
    return lane_reduce


# -- control flow -------------------------------------------------------------

def build_compare_branch(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    assert instr.info.cond is not None
    pred = comparison(instr.info.cond, op_type(instr))
    a, b, target = o["rs1"], o["rs2"], o["target"]

    def compare_branch() -> int | None:
        return target if pred(R[a], R[b]) else None
    return compare_branch


def build_branch_nonzero(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    s, target = o["rs"], o["target"]

    def branch_nonzero() -> int | None:
        return target if R[s] else None
    return branch_nonzero


def build_branch_zero(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    s, target = o["rs"], o["target"]

    def branch_zero() -> int | None:
        return None if R[s] else target
    return branch_zero


def build_jump(instr: Instr, st: SentronState) -> OpFn:
    target = operands(instr)["target"]
    return lambda: target


def build_halt(instr: Instr, st: SentronState) -> OpFn:
    return lambda: HALT


def _fault(message: str) -> OpFn:
    """An op that cannot execute (found at decode time) fails only if reached."""
    def fault() -> None:
        raise VtpuRuntimeError(message)
    return fault


def build_reserved(instr: Instr, st: SentronState) -> OpFn:
    return _fault(f"{instr.info.mnemonic} is reserved and cannot execute")


def _families(table: dict[str, dict], builder: Builder) -> dict[str, Builder]:
    return {family: builder for family in table}


DENSE_BUILDERS: dict[str, Builder] = {
    **_families(BINARY, build_binary),
    **_families(UNARY, build_unary),
    **_families(TERNARY, build_ternary),
    "DCMP": build_compare,
    "DSEL": build_select,
    "DMOV": build_move,
    "DMOVI": build_move_immediate,
    "DADDI": build_add_immediate,
    "DLDC": build_load_constant,
    "DARG": build_argument,
    "DSYM": build_symbol,
    "DCHK": build_check,
    "DCVT": build_convert,
    "DRED": build_lane_reduce,
    "DBR": build_compare_branch,
    "DBNZ": build_branch_nonzero,
    "DBZ": build_branch_zero,
    "DJMP": build_jump,
    "DHALT": build_halt,
}
