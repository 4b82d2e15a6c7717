"""Immediate element offsets as instruction selection now emits them (negative, past a
D0 carry, on a coordinate formed from a negative offset) behave the same in the
simulator and the JIT, and the bounds net checks the final element offset."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from phextcc import driver
from phextcc.backend.program import Program
from runtime.errors import IndexOutOfRange, MemoryFault
from runtime.jit import jit_compile, run
from runtime.simulator import simulate
from tests.jit.helpers import asm, assert_same_array, assert_same_outcome

oracle = pytest.importorskip("tests.e2e.oracle")

SHIFTED = """
kernel shifted(x: f32[N], out: f32[M]) {
    for i in 1..M {
        out[i] = x[i + 2] - x[i - 1] * 0.5;
    }
}
"""


def _program(source: str, opt_level: int) -> Program:
    return driver.compile_source(source, "test.phx", driver.Options(opt_level=opt_level))


@pytest.mark.parametrize("opt_level", [0, 3])
def test_stencil_offsets_match_numpy_on_both_engines(opt_level: int) -> None:
    program = _program(SHIFTED, opt_level)
    x = np.linspace(-3.0, 5.0, 60).astype(np.float32)
    out = np.zeros(58, np.float32)
    (_, sim_out), error = assert_same_outcome(program, "shifted", [x, out])
    assert error is None
    expected = np.zeros(58, np.float32)
    expected[1:] = x[3:] - x[:-3] * np.float32(0.5)
    np.testing.assert_array_equal(sim_out, expected)


@pytest.mark.parametrize("opt_level", [0, 3])
def test_out_of_range_displaced_index_is_the_same_bounds_error(opt_level: int) -> None:
    program = _program(SHIFTED, opt_level)
    x = np.ones(40, np.float32)
    out = np.zeros(40, np.float32)  # i + 2 reaches 41 >= 40
    _, error = assert_same_outcome(program, "shifted", [x, out])
    assert isinstance(error, IndexOutOfRange)
    assert "x" in str(error) and "40" in str(error)


def test_negative_coordinate_plus_offset_wraps_back_into_region_zero() -> None:
    # SINDEX by -1 from region 0's base leaves the region (128-bit wrap); the access's
    # +3 brings it back to element 2. Both engines add at 128 bits.
    program = asm("""
.kernel wrap
.param t i64[4]
.param out i64[1]
    { DMOVI r1, #-1 | SBASE p0, arg0 }
    { SINDEX p1, p0, r1, d0 }
    { SBASE p2, arg1 }
    { SGATHER.i64 r2, p1, #3 }
    { SSCATTR.i64 p2, r2, #0 }
    DHALT
""")
    t = np.array([10, 11, 12, 13], np.int64)
    out, error = assert_same_outcome(program, "wrap", [t, np.zeros(1, np.int64)])
    assert error is None and out[1][0] == 12


@pytest.mark.parametrize(("index", "offset"), [(0, -1), (3, 1), (2047, 1), (-5, 4)])
def test_offsets_outside_the_tensor_fault_alike(index: int, offset: int) -> None:
    program = asm(f"""
.kernel fault
.param t i64[N]
    {{ DMOVI r1, #{index} | SBASE p0, arg0 }}
    {{ SINDEX p1, p0, r1, d0 }}
    {{ SGATHER.i64 r2, p1, #{offset} }}
    DHALT
""")
    size = 2048 if index == 2047 else 4
    _, error = assert_same_outcome(program, "fault", [np.zeros(size, np.int64)])
    assert isinstance(error, MemoryFault)


def test_offset_carrying_into_d1_reaches_the_right_element() -> None:
    program = asm("""
.kernel carry
.param t i64[N]
.param out i64[1]
    { DMOVI r1, #2040 | SBASE p0, arg0 }
    { SINDEX p1, p0, r1, d0 }
    { SBASE p2, arg1 }
    { SGATHER.i64 r2, p1, #20 }
    { SSCATTR.i64 p2, r2, #0 }
    DHALT
""")
    t = np.arange(3000, dtype=np.int64) * 3
    out, error = assert_same_outcome(program, "carry", [t, np.zeros(1, np.int64)])
    assert error is None and out[1][0] == 2060 * 3


@pytest.mark.parametrize("sentrons", [1, 2, 3])
def test_stream_at_o3_matches_numpy_and_the_jit(sentrons: int) -> None:
    path = str(oracle.EXAMPLES / "stream.phx")
    program = oracle.compiled(path, 3)
    args = oracle.make_arguments("stream", 24)  # long enough for the unrolled loops
    expected = oracle.run_reference("stream", args, sentrons)
    simulated = copy.deepcopy(args)
    simulate(program, "stream", simulated, sentrons=sentrons, collect_stats=False)
    oracle.assert_same(expected, simulated, exact=False)
    natively = copy.deepcopy(args)
    run(jit_compile(program), "stream", natively, sentrons=sentrons)
    assert_same_array(simulated["out"], natively["out"])
