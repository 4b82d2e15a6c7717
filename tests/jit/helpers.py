"""Shared helpers of the JIT tests: build programs, run them on both engines, compare."""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence
from typing import Any

import numpy as np

from phextcc.backend.assembler import assemble
from phextcc.backend.isa import Type
from phextcc.backend.program import Program, Word
from phextcc.backend.verifier import compute_deps, verify
from runtime.errors import IndexOutOfRange, MemoryFault, VtpuRuntimeError
from runtime.jit import jit_compile, run
from runtime.simulator import simulate

M64 = (1 << 64) - 1


def with_deps(program: Program) -> Program:
    """The program with its deps bytes recomputed (then verified)."""
    words: list[Word] = []
    previous: Word | None = None
    for word in program.words:
        fixed = Word(word.d, word.s, word.c, compute_deps(previous, word))
        words.append(fixed)
        previous = fixed
    program.words = words
    verify(program)
    return program


def asm(text: str) -> Program:
    return assemble(text)


def copy_args(args: Sequence[Any]) -> list[Any]:
    return [a.copy() if isinstance(a, np.ndarray) else a for a in args]


def run_both(program: Program, kernel: str, args: Sequence[Any], *, sentrons: int = 1,
             opt_level: int = 3, checks: bool = True, timeout: float = 2.0
             ) -> tuple[list[Any], list[Any], BaseException | None, BaseException | None]:
    """Run on the simulator and natively on copies of ``args``: (sim args, jit args,
    sim error, jit error)."""
    sim_args, jit_args = copy_args(args), copy_args(args)
    sim_error: BaseException | None = None
    jit_error: BaseException | None = None
    try:
        simulate(program, kernel, sim_args, sentrons=sentrons, collect_stats=False)
    except VtpuRuntimeError as error:  # compared below
        sim_error = error
    native = jit_compile(program, opt_level=opt_level, checks=checks)
    try:
        run(native, kernel, jit_args, sentrons=sentrons, deadlock_timeout=timeout)
    except VtpuRuntimeError as error:
        jit_error = error
    return sim_args, jit_args, sim_error, jit_error


def assert_same_outcome(program: Program, kernel: str, args: Sequence[Any], *,
                        sentrons: int = 1, opt_level: int = 3, checks: bool = True,
                        timeout: float = 2.0) -> tuple[list[Any], BaseException | None]:
    """Both engines raise the same error (type and message) and leave the same tensors."""
    sim_args, jit_args, sim_error, jit_error = run_both(
        program, kernel, args, sentrons=sentrons, opt_level=opt_level, checks=checks,
        timeout=timeout)
    assert type(sim_error) is type(jit_error), (sim_error, jit_error)
    if sim_error is not None:
        assert str(sim_error) == str(jit_error)
    for expected, got in zip(sim_args, jit_args):
        if isinstance(expected, np.ndarray):
            assert_same_array(expected, got)
    return jit_args, jit_error


def _bits_equal_or_both_nan(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    same = a.view(np.uint8).reshape(a.size, -1) == b.view(np.uint8).reshape(b.size, -1)
    return same.all(axis=1) | (np.isnan(a).reshape(-1) & np.isnan(b).reshape(-1))


def assert_same_array(expected: np.ndarray, got: np.ndarray) -> None:
    """Bit-for-bit equality; NaNs agree with NaNs (payloads are not specified)."""
    assert expected.dtype == got.dtype and expected.shape == got.shape
    if expected.dtype.kind == "f":
        ok = _bits_equal_or_both_nan(expected, got)
        assert ok.all(), (expected.reshape(-1)[~ok][:8], got.reshape(-1)[~ok][:8])
    else:
        assert np.array_equal(expected, got), (expected, got)


def float_bits(value: float, t: Type) -> int:
    if t is Type.F32:
        return struct.unpack("<I", struct.pack("<f", value))[0]
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def result_is_nan(bits: int, t: Type) -> bool:
    if t is Type.F32:
        return math.isnan(struct.unpack("<f", struct.pack("<I", bits & 0xFFFFFFFF))[0])
    if t is Type.F64:
        return math.isnan(struct.unpack("<d", struct.pack("<Q", bits & M64))[0])
    return False



def refused(program: Program, kernel: str, args: Sequence[Any]) -> bool:
    """Under the ``refusals`` fixture (tests/jit/conftest.py): whether a versioned loop's
    entry check failed, i.e. the run would have taken the checked copy. A real fault
    is not a refusal and propagates."""
    native = jit_compile(program, opt_level=3)  # cached: one probe module per program
    try:
        run(native, kernel, copy_args(args))
    except (IndexOutOfRange, MemoryFault):
        raise
    except VtpuRuntimeError:
        return True
    return False
