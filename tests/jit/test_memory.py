"""Memory safety, errors and register-file details, each compared with the simulator:
bounds checks (DCHK and the S-level check), division traps, spills of every class,
statically unknown regions, SALLOC, aliasing arguments, words that read before writing."""

from __future__ import annotations

import numpy as np
import pytest

from phextcc.backend.isa import BY_MNEMONIC
from phextcc.backend.program import Instr, KernelInfo, Param, Program, Word
from runtime.errors import IndexOutOfRange, IntegerDivisionByZero, MemoryFault
from runtime.jit import jit_compile, run
from tests.jit.helpers import asm, assert_same_outcome

# out[i] = i * 10 for i in 0..n-1, with a DCHK before each store (n is a scalar, so it
# may exceed the tensor's extent).
CHECKED_FILL = """
.kernel fill
.param out i64[N]
.param n i64
    { DARG r1, arg1 | SBASE p0, arg0 }
    { DMOVI r2, #0 }
    { DMOVI r3, #1 }
    { DMOVI r5, #10 }
loop:
    { DBR.ge.i64 r2, r1, @done }
    { DMUL.i64 r4, r2, r5 }
    { DCHK r2, axis0, arg0 }
    { SSCATTR.i64 p0, r4, #0 }
    { DADD.i64 r2, r2, r3 | SINDEX p0, p0, r3, d0 }
    { DJMP @loop }
done:
    DHALT
"""


@pytest.mark.parametrize("opt_level", [0, 1, 3])
def test_in_range_fill(opt_level: int) -> None:
    out, error = assert_same_outcome(asm(CHECKED_FILL), "fill",
                                     [np.zeros(100, np.int64), 100], opt_level=opt_level)
    assert error is None
    assert np.array_equal(out[0], np.arange(100) * 10)


@pytest.mark.parametrize("opt_level", [0, 3])
def test_dchk_names_tensor_and_index_and_keeps_earlier_writes(opt_level: int) -> None:
    out, error = assert_same_outcome(asm(CHECKED_FILL), "fill",
                                     [np.zeros(37, np.int64), 50], opt_level=opt_level)
    assert isinstance(error, IndexOutOfRange)
    assert (error.tensor, error.axis, error.index, error.extent) == ("out", 0, 37, 37)
    assert "index 37 out of range for axis 0 of tensor 'out'" in str(error)
    assert np.array_equal(out[0], np.arange(37) * 10)  # every write before the error


def test_without_dchk_the_s_level_check_still_catches() -> None:
    program = asm(CHECKED_FILL)
    out = np.zeros(20, np.int64)
    with pytest.raises(MemoryFault, match=r"offset 20 outside region 0 \('out', 20 elements\)"):
        run(jit_compile(program, checks=False), "fill", [out, 21])
    assert np.array_equal(out, np.arange(20) * 10)


def test_negative_offset_faults_like_the_simulator() -> None:
    program = asm("""
.kernel back
.param x f32[8]
    { DMOVI r1, #-3 | SBASE p0, arg0 }
    { SINDEX p0, p0, r1, d0 }
    { SGATHER.f32 r2, p0, #0 }
    DHALT
""")
    _, error = assert_same_outcome(program, "back", [np.ones(8, np.float32)])
    assert isinstance(error, MemoryFault)


DIVIDE = """
.kernel divide
.param x i32[N]
.param out i32[N]
    { DSYM r1, sym0 | SBASE p0, arg0 }
    { DMOVI r2, #0 | SBASE p1, arg1 }
    { DMOVI r3, #1 }
    { DMOVI r4, #1000 }
loop:
    { DBR.ge.i64 r2, r1, @done | SGATHER.i32 r5, p0, #0 }
    { DDIV.i32 r6, r4, r5 }
    { SSCATTR.i32 p1, r6, #0 }
    { DADD.i64 r2, r2, r3 | SINDEX p0, p0, r3, d0 }
    { SINDEX p1, p1, r3, d0 }
    { DJMP @loop }
done:
    DHALT
"""


@pytest.mark.parametrize("opt_level", [0, 3])
def test_division_by_zero_traps_after_earlier_writes(opt_level: int) -> None:
    x = np.array([1, 2, -3, 7, 0, 5, 6], dtype=np.int32)
    x = np.concatenate([x, [1]]).astype(np.int32)  # one spare: the loop reads x[n]
    program = asm(DIVIDE.replace("i32[N]", "i32[8]").replace("DSYM r1, sym0",
                                                             "DMOVI r1, #7"))
    out, error = assert_same_outcome(program, "divide", [x, np.zeros(8, np.int32)],
                                     opt_level=opt_level)
    assert isinstance(error, IntegerDivisionByZero)
    assert list(out[1][:4]) == [1000, 500, -333, 142]
    assert list(out[1][4:]) == [0, 0, 0, 0]


SPILLS = """
.kernel spills
.param x i64[4]
.spill 8
    { DMOVI r1, #-5 | SBASE p0, arg0 }
    { DMOVI r2, #9 }
    { SSPILL r1, spill0 | CPACK m1, r1, lane2 }
    { SSPILLP p0, spill1 | CPACK m1, r2, lane3 }
    { DMOVI r1, #0 | SSPILLM m1, spill3 }
    { SFILLM m2, spill3 }
    { SFILLP p3, spill1 | CUNPK r5, m2, lane2 }
    { SFILL r4, spill0 | CUNPK r6, m2, lane3 }
    { SFILL r7, spill7 }
    { SSCATTR.i64 p3, r4, #0 }
    { SSCATTR.i64 p3, r5, #1 }
    { SSCATTR.i64 p3, r6, #2 }
    { SSCATTR.i64 p3, r7, #3 }
    DHALT
"""


def test_spill_and_fill_of_every_class() -> None:
    out, error = assert_same_outcome(asm(SPILLS), "spills", [np.ones(4, np.int64)])
    assert error is None
    assert list(out[0]) == [-5, -5, 9, 0]


UNKNOWN_REGION = """
.kernel pick
.param a f64[4]
.param b f64[6]
.param which i64
    { DARG r1, arg2 | SBASE p0, arg0 }
    { DMOVI r2, #3 | SBASE p1, arg1 }
    { DBNZ r1, @second }
    { DJMP @join | SMOVP p2, p0 }
second:
    { SMOVP p2, p1 }
join:
    { SGATHER.f64 r3, p2, #1 }
    { DADD.f64 r3, r3, r3 }
    { SSCATTR.f64 p2, r3, #0 }
    { SINDEX p2, p2, r2, d0 }
    { SSCATTR.f64 p2, r3, #0 }
    DHALT
"""


@pytest.mark.parametrize("which", [0, 1])
def test_region_unknown_statically_goes_through_the_table(which: int) -> None:
    a = np.arange(4, dtype=np.float64)
    b = np.arange(6, dtype=np.float64) * 10
    out, error = assert_same_outcome(asm(UNKNOWN_REGION), "pick", [a, b, which])
    assert error is None
    native = jit_compile(asm(UNKNOWN_REGION))
    assert "noalias" not in native.llvm_ir.split("define")[1].split("\n")[0]
    if which == 0:
        assert list(out[0]) == [2.0, 1.0, 2.0, 2.0]
    else:
        assert list(out[1]) == [20.0, 10.0, 20.0, 20.0, 40.0, 50.0]


def test_table_lookup_faults_outside_the_region() -> None:
    a = np.arange(4, dtype=np.float64)
    b = np.arange(2, dtype=np.float64)
    _, error = assert_same_outcome(asm(UNKNOWN_REGION.replace("f64[6]", "f64[2]")), "pick",
                                   [a, b, 1])
    assert isinstance(error, MemoryFault)


SALLOC = """
.kernel scratch
.param out f32[4]
    { DMOVI r1, #2 | SBASE p0, arg0 }
    { DLDC r2, $0 | SALLOC p1, r1, #0 }
    { SSCATTR.f32 p1, r2, #3 }
    { SGATHER.f32 r3, p1, #3 }
    { SGATHER.i64 r4, p1, #0 }
    { DADD.f32 r5, r3, r3 | SSCATTR.f32 p0, r3, #0 }
    { SSCATTR.f32 p0, r5, #1 }
    { SFREE p1, r1 }
    DHALT
.const f32:1.25
"""


def test_salloc_regions_are_zeroed_untyped_and_freed() -> None:
    out, error = assert_same_outcome(asm(SALLOC), "scratch", [np.zeros(4, np.float32)])
    assert error is None
    assert list(out[0]) == [1.25, 2.5, 0.0, 0.0]


def test_access_after_sfree_faults() -> None:
    program = asm(SALLOC.replace("    { SFREE p1, r1 }\n    DHALT",
                                 "    { SFREE p1, r1 }\n    { SGATHER.f32 r3, p1, #0 }\n"
                                 "    DHALT"))
    _, error = assert_same_outcome(program, "scratch", [np.zeros(4, np.float32)])
    assert isinstance(error, MemoryFault)


COPY_SHIFTED = """
.kernel shift
.param src i32[8]
.param dst i32[8]
    { DMOVI r1, #0 | SBASE p0, arg0 }
    { DMOVI r2, #1 | SBASE p1, arg1 }
    { DMOVI r3, #7 }
loop:
    { DBR.ge.i64 r1, r3, @done | SGATHER.i32 r4, p0, #0 }
    { SSCATTR.i32 p1, r4, #1 }
    { DADD.i64 r1, r1, r2 | SINDEX p0, p0, r2, d0 }
    { DJMP @loop | SINDEX p1, p1, r2, d0 }
done:
    DHALT
"""


def test_aliasing_arguments_behave_like_the_simulator() -> None:
    program = asm(COPY_SHIFTED)
    data = np.arange(8, dtype=np.int32)
    expected = data.copy()
    from runtime.simulator import simulate
    simulate(program, "shift", [expected, expected], collect_stats=False)
    got = data.copy()
    run(jit_compile(program), "shift", [got, got])
    assert np.array_equal(got, expected)
    assert list(got) == [0] * 8  # a forward copy onto itself smears element 0


def _word(*ops: tuple[str, tuple[int, ...]]) -> Word:
    slots = {}
    for mnemonic, args in ops:
        info = BY_MNEMONIC[mnemonic]
        slots[info.pipe.name.lower()] = Instr(info, args)
    return Word(**slots)


def test_all_ops_of_a_word_read_before_any_writes() -> None:
    """Not a verified program (the verifier forbids it), but the semantics must hold:
    D reads r2 and r3 before S and C overwrite them."""
    words = [
        _word(("DMOVI", (2, 5)), ("SBASE", (0, 0))),
        _word(("DMOVI", (3, 7)), ("CPACK", (0, 2, 0))),
        _word(("DADD.i64", (1, 2, 3)), ("SGATHER.i64", (2, 0, 0)), ("CUNPK", (3, 0, 0))),
        _word(("SSCATTR.i64", (0, 1, 1))),
        _word(("SSCATTR.i64", (0, 2, 2))),
        _word(("SSCATTR.i64", (0, 3, 3))),
        _word(("DHALT", ())),
    ]
    params = (Param("x", "i64", (4,), True),)
    program = Program(kernels=[KernelInfo("swap", params, (), 0, len(words))], words=words)
    out, error = assert_same_outcome(program, "swap", [np.array([40, 0, 0, 0], np.int64)])
    assert error is None
    assert list(out[0]) == [40, 12, 40, 5]


SCALARS = """
.kernel scalars
.param out i64[5]
.param a i32
.param b i64
.param c f32
.param d f64
.param e bool
    { DARG r1, arg1 | SBASE p0, arg0 }
    { DARG r2, arg2 | SSCATTR.i64 p0, r1, #0 }
    { DARG r3, arg3 | SSCATTR.i64 p0, r2, #1 }
    { DARG r4, arg4 | SSCATTR.i64 p0, r3, #2 }
    { DARG r5, arg5 | SSCATTR.i64 p0, r4, #3 }
    { SSCATTR.i64 p0, r5, #4 }
    DHALT
"""


def test_scalar_arguments_arrive_as_register_patterns() -> None:
    out, error = assert_same_outcome(asm(SCALARS), "scalars",
                                     [np.zeros(5, np.int64), -7, 1 << 40, -1.5, 2.25, True])
    assert error is None
    assert out[0][0] == -7 and out[0][1] == 1 << 40 and out[0][4] == 1
    assert out[0][2] == 0xBFC00000  # f32 bits, upper half zero


def test_shape_symbols_bound_from_arguments() -> None:
    program = asm("""
.kernel shape
.param m f64[R, C]
.param out i64[2]
.symbols R C
    { DSYM r1, sym0 | SBASE p0, arg1 }
    { DSYM r2, sym1 | SSCATTR.i64 p0, r1, #0 }
    { SSCATTR.i64 p0, r2, #1 }
    DHALT
""")
    out, error = assert_same_outcome(program, "shape", [np.zeros((3, 5)), np.zeros(2, np.int64)])
    assert error is None and list(out[1]) == [3, 5]
