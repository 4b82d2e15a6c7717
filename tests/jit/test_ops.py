"""Per-op semantics: every executable D-pipe op, differential against the simulator,
with hypothesis drawing operand values (special values included)."""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phextcc.backend.isa import BY_MNEMONIC, ISA, Cond, Kind, OpInfo, Pipe, RedOp, Type
from phextcc.backend.program import Instr, KernelInfo, Param, Program, Word
from tests.jit.helpers import M64, result_is_nan, run_both, with_deps

# Families with their own tests (control flow, arguments, checks).
SPECIAL = {"DARG", "DSYM", "DCHK", "DLDC", "DMOVI", "DHALT", "DBR", "DBNZ", "DBZ", "DJMP",
           "DLOOP"}
DTYPES = {Type.I32: "i32", Type.I64: "i64", Type.F32: "f32", Type.F64: "f64"}
NP_DTYPES = {Type.I32: np.int32, Type.I64: np.int64, Type.F32: np.float32,
             Type.F64: np.float64}


def _ops() -> list[tuple[OpInfo, dict[str, int]]]:
    """(row, fixed small operands) for every executable D op to test."""
    cases: list[tuple[OpInfo, dict[str, int]]] = []
    for info in ISA:
        if info.pipe is not Pipe.D or info.reserved or info.is_nop or info.family in SPECIAL:
            continue
        if info.family == "DCMP":
            cases += [(info, {"cc": int(cc)}) for cc in Cond]
        elif info.family == "DCVT":
            cases += [(info, {"from": int(t)}) for t in Type]
        elif info.family == "DRED":
            cases += [(info, {"op": int(r)}) for r in RedOp]
        elif info.family == "DADDI":
            cases += [(info, {"value": value}) for value in (0, 1, -1, 2**31 - 1, -2**31)]
        else:
            cases.append((info, {}))
    return cases


CASES = _ops()


def _case_id(case: tuple[OpInfo, dict[str, int]]) -> str:
    info, fixed = case
    return info.mnemonic + "".join(f"-{k}{v}" for k, v in fixed.items())


def _operand_type(info: OpInfo, fixed: dict[str, int]) -> Type:
    if info.family == "DCVT":
        return Type(fixed["from"])
    return info.type if info.type is not None else Type.I64


REGISTER_OF = {"rs1": 1, "rs2": 2, "rs3": 3, "rs": 1, "rc": 1}


def _op_args(info: OpInfo, fixed: dict[str, int]) -> tuple[int, ...]:
    values = []
    for operand in info.operands:
        if operand.name == "rd":
            values.append(4)
        elif operand.name in fixed:
            values.append(fixed[operand.name])
        elif operand.kind is Kind.M:
            values.append(0)
        elif info.family == "DSEL":
            values.append({"rc": 1, "rs1": 2, "rs2": 3}[operand.name])
        else:
            values.append(REGISTER_OF[operand.name])
    return tuple(values)


def _instr(mnemonic: str, *args: int) -> Instr:
    return Instr(BY_MNEMONIC[mnemonic], tuple(args))


def build_program(info: OpInfo, fixed: dict[str, int], load: Type) -> Program:
    """Load r1..r5 from ``inp`` as ``load``, run the op into r4, store r4's 64 bits."""
    suffix = DTYPES[load]
    words = [Word(s=_instr("SBASE", 0, 0)), Word(s=_instr("SBASE", 1, 1))]
    words += [Word(s=_instr(f"SGATHER.{suffix}", reg, 0, index))
              for index, reg in enumerate((1, 2, 3, 5))]
    words += [Word(c=_instr("CPACK", 0, reg, lane)) for lane, reg in enumerate((1, 2, 3, 5))]
    words.append(Word(d=Instr(info, _op_args(info, fixed))))
    words.append(Word(s=_instr("SSCATTR.i64", 1, 4, 0)))
    words.append(Word(d=_instr("DHALT")))
    params = (Param("inp", suffix, (4,), True), Param("out", "i64", (1,), True))
    kernel = KernelInfo("op", params, (), 0, len(words))
    return with_deps(Program(kernels=[kernel], words=words))


def _values(t: Type) -> st.SearchStrategy[Any]:
    if t is Type.I32:
        return st.one_of(st.integers(-(1 << 31), (1 << 31) - 1),
                         st.sampled_from([0, 1, -1, -(1 << 31), (1 << 31) - 1, 31, 32, 33]))
    if t is Type.I64:
        return st.one_of(st.integers(-(1 << 63), (1 << 63) - 1),
                         st.sampled_from([0, 1, -1, -(1 << 63), (1 << 63) - 1, 63, 64, 65]))
    width = 32 if t is Type.F32 else 64
    return st.one_of(st.floats(width=width), st.sampled_from(
        [0.0, -0.0, 1.0, -1.0, float("inf"), float("-inf"), float("nan"), 0.5, 1.5, -2.5,
         2.0 ** 31, -(2.0 ** 63), 1e-40, 88.7, -103.0, 710.0]))


def _same_result(info: OpInfo, sim: int, jit: int) -> bool:
    t = info.type
    if info.family in ("DCMP", "DPOPCNT"):
        return sim == jit
    if t is not None and t.is_float and result_is_nan(sim, t) and result_is_nan(jit, t):
        return True
    return sim == jit


def check_case(info: OpInfo, fixed: dict[str, int], load: Type, values: list[Any],
               opt_level: int) -> None:
    program = build_program(info, fixed, load)
    inp = np.array(values, dtype=NP_DTYPES[load])
    out = np.zeros(1, dtype=np.int64)
    sim_args, jit_args, sim_error, jit_error = run_both(program, "op", [inp, out],
                                                        opt_level=opt_level)
    assert type(sim_error) is type(jit_error), (sim_error, jit_error)
    if sim_error is not None:
        assert str(sim_error) == str(jit_error)
        return
    sim_bits, jit_bits = int(sim_args[1][0]) & M64, int(jit_args[1][0]) & M64
    assert _same_result(info, sim_bits, jit_bits), (
        info.mnemonic, fixed, values, hex(sim_bits), hex(jit_bits))


def _traps(case: tuple[OpInfo, dict[str, int]]) -> bool:
    """Integer division (by zero) and undefined reductions fail: tested one by one."""
    info, fixed = case
    if info.family == "DRED" and info.type in (Type.F32, Type.F64):
        return fixed["op"] in (RedOp.AND, RedOp.OR, RedOp.XOR)
    return info.family in ("DDIV", "DREM") and info.type in (Type.I32, Type.I64)


def build_batch(cases: list[tuple[OpInfo, dict[str, int]]], load: Type) -> Program:
    """One program running every case on the same operands; case k stores to out[k]."""
    suffix = DTYPES[load]
    words = [Word(s=_instr("SBASE", 0, 0)), Word(s=_instr("SBASE", 1, 1))]
    words += [Word(s=_instr(f"SGATHER.{suffix}", reg, 0, index))
              for index, reg in enumerate((1, 2, 3, 5))]
    words += [Word(c=_instr("CPACK", 0, reg, lane)) for lane, reg in enumerate((1, 2, 3, 5))]
    for index, (info, fixed) in enumerate(cases):
        words.append(Word(d=Instr(info, _op_args(info, fixed))))
        words.append(Word(s=_instr("SSCATTR.i64", 1, 4, index)))
    words.append(Word(d=_instr("DHALT")))
    params = (Param("inp", suffix, (4,), True), Param("out", "i64", (len(cases),), True))
    kernel = KernelInfo("op", params, (), 0, len(words))
    return with_deps(Program(kernels=[kernel], words=words))


BATCHES = {load: [c for c in CASES if _operand_type(*c) is load and not _traps(c)]
           for load in Type}
TRAPPING = [c for c in CASES if _traps(c)]


@pytest.mark.parametrize("load", list(Type), ids=[t.suffix for t in Type])
def test_ops_match_simulator(load: Type) -> None:
    """Every non-trapping op whose operands are of type ``load``, in one program."""
    cases = BATCHES[load]
    program = build_batch(cases, load)

    @settings(max_examples=25, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(_values(load), min_size=4, max_size=4))
    def check(values: list[Any]) -> None:
        inp = np.array(values, dtype=NP_DTYPES[load])
        out = np.zeros(len(cases), dtype=np.int64)
        sim_args, jit_args, sim_error, jit_error = run_both(program, "op", [inp, out],
                                                            opt_level=1)
        assert sim_error is None and jit_error is None, (sim_error, jit_error)
        for index, (info, fixed) in enumerate(cases):
            sim_bits = int(sim_args[1][index]) & M64
            jit_bits = int(jit_args[1][index]) & M64
            assert _same_result(info, sim_bits, jit_bits), (
                info.mnemonic, fixed, values, hex(sim_bits), hex(jit_bits))

    check()


@pytest.mark.parametrize("case", TRAPPING, ids=[_case_id(c) for c in TRAPPING])
def test_trapping_ops_match_simulator(case: tuple[OpInfo, dict[str, int]]) -> None:
    info, fixed = case
    load = _operand_type(info, fixed)

    @settings(max_examples=15, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(_values(load), min_size=4, max_size=4))
    def check(values: list[Any]) -> None:
        check_case(info, fixed, load, values, opt_level=1)

    check()
    if not load.is_float:
        limit = -(1 << (load.bits - 1))
        for values in ([7, 0, 0, 0], [limit, -1, 0, 0], [-7, 2, 0, 0]):
            check_case(info, fixed, load, values, opt_level=3)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_op_matches_simulator_long(case: tuple[OpInfo, dict[str, int]]) -> None:
    info, fixed = case
    load = _operand_type(info, fixed)

    @settings(max_examples=300, deadline=None)
    @given(st.lists(_values(load), min_size=4, max_size=4), st.sampled_from([0, 3]))
    def check(values: list[Any], opt_level: int) -> None:
        check_case(info, fixed, load, values, opt_level)

    check()


@pytest.mark.parametrize("mnemonic", ["DADD.f32", "DDIV.i32", "DCVT.i32", "DSHR.i64"])
def test_op_through_64_bit_registers(mnemonic: str) -> None:
    """Operands loaded as raw 64-bit patterns (upper halves set) read as the op's type."""
    info = BY_MNEMONIC[mnemonic]
    fixed = {"from": int(Type.F64)} if info.family == "DCVT" else {}
    patterns = [0xDEADBEEF3FC00000, 0x12345678FFFFFFFE, 0xFFFFFFFF00000003, 7]
    values = [struct.unpack("<q", struct.pack("<Q", p))[0] for p in patterns]
    for opt_level in (0, 3):
        check_case(info, fixed, Type.I64, values, opt_level)


def test_every_executable_family_is_translated() -> None:
    from runtime.jit.emitters import EMITTERS

    families = {o.family for o in ISA if not o.reserved and not o.is_nop}
    assert families - set(EMITTERS) == set()
