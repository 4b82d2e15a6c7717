"""DADDI (add a sign-extended immediate): semantics in both engines, and instruction
selection using it for constant addends and loop increments (no register for them)."""

from __future__ import annotations

import numpy as np
import pytest

from phextcc.backend.codegen import siw_ir
from tests.backend.backend_helpers import mnemonics, source_module
from tests.jit.helpers import asm, assert_same_outcome

ADD_IMMEDIATES = """
.kernel k
.param out i64[6]
    { DMOVI r1, #2147483647 | SBASE p0, arg0 }
    { DADDI.i32 r2, r1, #1 }
    { DADDI.i64 r3, r1, #1 }
    { DADDI.i64 r4, r3, #-2147483648 }
    { DLDC r5, $0 }
    { DADDI.i64 r6, r5, #1 }
    { DADDI.i32 r7, r2, #-1 | SSCATTR.i64 p0, r2, #0 }
    { SSCATTR.i64 p0, r3, #1 }
    { SSCATTR.i64 p0, r4, #2 }
    { SSCATTR.i64 p0, r6, #3 }
    { SSCATTR.i64 p0, r7, #4 }
    { DHALT }
"""


def test_add_immediate_wraps_at_the_op_width_in_both_engines() -> None:
    program = asm(".const 0x7fffffffffffffff\n" + ADD_IMMEDIATES)
    arrays, error = assert_same_outcome(program, "k", [np.zeros(6, np.int64)])
    assert error is None
    assert arrays[0].tolist() == [-2**31, 2**31, 0, -2**63, 2**31 - 1, 0]


@pytest.mark.parametrize(("expression", "immediate"), [
    ("x + 5", "5"), ("7 + x", "7"), ("x - 3", "-3")])
def test_a_constant_addend_is_an_immediate(expression: str, immediate: str) -> None:
    selected = siw_ir(source_module(f"""
    kernel k(x: i64, out: i64[1]) {{ out[0] = {expression}; }}"""))
    names = mnemonics(selected)
    assert "DADDI.i64" in names and "DADD.i64" not in names and "DSUB.i64" not in names
    text = str(selected)
    assert "\"DADDI.i64\" (%" in text and f"[{immediate}]" in text


def test_an_addend_too_wide_for_the_immediate_stays_a_register() -> None:
    selected = siw_ir(source_module("""
    kernel k(x: i64, out: i64[1]) { out[0] = x + 4294967296; }"""))
    names = mnemonics(selected)
    assert "DADD.i64" in names and "DADDI.i64" not in names


def test_a_loop_steps_its_counter_by_an_immediate() -> None:
    selected = siw_ir(source_module("""
    kernel k(x: f32[N], out: f32[N]) { for i in 0..N { out[i] = x[i]; } }"""))
    names = mnemonics(selected)
    assert "DADDI.i64" in names
    assert "DADD.i64" not in names
