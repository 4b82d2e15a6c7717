"""Accesses an unrolled strided loop makes (``y[(i + c)*s + o]`` for c = 0..3), or an
unroll-and-jam over an outer dimension (``y[i + c*s + o]``), are range checked as one
family at loop entry: the family's extremes bound every member, so the dispatch takes
the unchecked copy exactly when every copy stays in range, whatever the sign of the
stride."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runtime.jit.affine import ENTRY, Poly
from runtime.jit.analysis import region_facts
from runtime.jit.range_check import _access_groups, _split_difference
from runtime.jit.versioning import versioned_loops
from tests.jit.helpers import asm, assert_same_outcome, refused


def _kernel(name: str, step: int, body: str) -> str:
    """A loop over i = 0, step, 2 step, ... while i < n (r1: i, r2: n, r3: s, r4: o; p0
    and p1 the bases of x and y) around ``body``, which ends by stepping r1 by r6."""
    return f"""
.kernel {name}
.param x f32[N]
.param y f32[M]
.param n i64
.param s i64
.param o i64
.symbols N M
    {{ DMOVI r1, #0 }}
    {{ DARG r2, arg2 }}
    {{ DARG r3, arg3 }}
    {{ DARG r4, arg4 }}
    {{ DMOVI r6, #{step} }}
    {{ SBASE p0, arg0 }}
    {{ SBASE p1, arg1 }}
    {{ DBR.ge.i64 r1, r2, @done }}
body:
{body}
    {{ DBR.lt.i64 r1, r2, @body }}
done:
    DHALT
"""


# y[(i + c)*s + o] = x[i + c] for c in 0..3, i = 0, 4, 8, ... while i < n.
UNROLLED = _kernel("unrolled", 4, """\
    { DMUL.i64 r10, r1, r3 | SINDEX p2, p0, r1, d0 }
    { DADD.i64 r10, r10, r4 | SGATHER.f32 r12, p2, #0 }
    { DADDI.i64 r11, r1, #1 | SINDEX p3, p1, r10, d0 }
    { DMUL.i64 r11, r11, r3 | SSCATTR.f32 p3, r12, #0 }
    { DADD.i64 r11, r11, r4 | SGATHER.f32 r13, p2, #1 }
    { DADDI.i64 r10, r1, #2 | SINDEX p4, p1, r11, d0 }
    { DMUL.i64 r10, r10, r3 | SSCATTR.f32 p4, r13, #0 }
    { DADD.i64 r10, r10, r4 | SGATHER.f32 r12, p2, #2 }
    { DADDI.i64 r11, r1, #3 | SINDEX p5, p1, r10, d0 }
    { DMUL.i64 r11, r11, r3 | SSCATTR.f32 p5, r12, #0 }
    { DADD.i64 r11, r11, r4 | SGATHER.f32 r13, p2, #3 }
    { SINDEX p6, p1, r11, d0 }
    { DADD.i64 r1, r1, r6 | SSCATTR.f32 p6, r13, #0 }""")

# y[i + c*s + o] = x[i] for c in 0..3, i = 0, 1, 2, ... while i < n: the copies' offsets
# move with a known (positive) slope, their spacing s has either sign.
JAMMED = _kernel("jammed", 1, """\
    { DADD.i64 r10, r1, r4 | SINDEX p2, p0, r1, d0 }
    { DADD.i64 r11, r10, r3 | SGATHER.f32 r12, p2, #0 }
    { DADD.i64 r13, r11, r3 | SINDEX p3, p1, r10, d0 }
    { DADD.i64 r14, r13, r3 | SSCATTR.f32 p3, r12, #0 }
    { SINDEX p4, p1, r11, d0 }
    { SSCATTR.f32 p4, r12, #0 }
    { SINDEX p5, p1, r13, d0 }
    { SSCATTR.f32 p5, r12, #0 }
    { SINDEX p6, p1, r14, d0 }
    { DADD.i64 r1, r1, r6 | SSCATTR.f32 p6, r12, #0 }""")
SIZE_X, SIZE_Y = 40, 200
KERNELS = {"unrolled": UNROLLED, "jammed": JAMMED}


def _args(n: int, s: int, o: int) -> list[Any]:
    x = np.arange(1, SIZE_X + 1, dtype=np.float32)
    return [x, np.zeros(SIZE_Y, np.float32), n, s, o]


def _in_range(kernel: str, n: int, s: int, o: int) -> bool:
    """Whether every access of the run is in range."""
    if n <= 0:
        return True  # the guard skips the loop
    if kernel == "unrolled":
        last = (n + 3) // 4 * 4 - 1  # the last element any copy touches
        return last < SIZE_X and all(0 <= e * s + o < SIZE_Y for e in (0, last))
    return n <= SIZE_X and all(0 <= i + c * s + o < SIZE_Y for i in (0, n - 1)
                               for c in (0, 3))


def test_the_unrolled_copies_form_one_family_per_tensor() -> None:
    program = asm(UNROLLED)
    kernel = program.kernels[0]
    (loop,) = versioned_loops(program, kernel, region_facts(program, kernel)).values()
    assert len(loop.accesses) == 8
    families = [family for _, family in _access_groups(loop.accesses)]
    assert len(families) == 2
    x_family = next(f for f in families if f.leader.region == 0)
    y_family = next(f for f in families if f.leader.region == 1)
    assert x_family.position is None and sorted(x_family.constants) == [0, 1, 2, 3]
    assert y_family.position == 0 and sorted(y_family.factors) == [0, 1, 2, 3]
    assert y_family.monomial == ((ENTRY, 3),)  # the stride s, read from r3


def test_differences_that_are_not_one_multiple_split_the_family() -> None:
    s, t = Poly.atom((ENTRY, 3)), Poly.atom((ENTRY, 4))
    assert _split_difference(s + s + Poly.const(5)) == (((ENTRY, 3),), 2, 5)
    assert _split_difference(Poly.const(-7)) == (None, 0, -7)
    assert _split_difference(s + t) is None  # two monomials
    assert _split_difference(s * Poly.const(1 << 20)) is None  # factor beyond the bound
    assert _split_difference(Poly.const(1 << 50)) is None  # shift beyond the bound


CASES = [(n, s, o) for n in (0, 1, 4, 5, 8, 40, 41) for s in (0, 1, 4, 5, 40, -1, -5, -40)
         for o in (0, 3, 120, 199, 200, -1)]


@pytest.mark.parametrize("kernel", sorted(KERNELS))
def test_the_dispatch_refuses_exactly_the_runs_that_leave_a_tensor(refusals: None,
                                                                   kernel: str) -> None:
    program = asm(KERNELS[kernel])
    for n, s, o in CASES:
        expected = not _in_range(kernel, n, s, o)
        assert refused(program, kernel, _args(n, s, o)) == expected, (n, s, o)


@pytest.mark.parametrize("kernel", sorted(KERNELS))
@pytest.mark.parametrize("n, s, o", [(40, 4, 0), (40, -5, 199), (12, 17, 0), (41, 1, 0),
                                     (30, -40, 160), (8, 1 << 45, 0), (8, -(1 << 62), 0)])
def test_unrolled_loops_match_the_simulator(kernel: str, n: int, s: int, o: int) -> None:
    _, error = assert_same_outcome(asm(KERNELS[kernel]), kernel, _args(n, s, o))
    assert (error is None) == _in_range(kernel, n, s, o)


EDGES = [0, 1, 4, 39, 40, 41, 199, 200, -1, -4, 1 << 40, (1 << 40) + 1, 1 << 58,
         (1 << 63) - 1, -(1 << 63), 3 << 61]
PARAMS = st.one_of(st.sampled_from(EDGES), st.integers(-8, 210),
                   st.integers(-(1 << 63), (1 << 63) - 1))


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.tuples(PARAMS, PARAMS, PARAMS))
def test_unrolled_loops_with_drawn_parameters(values: tuple[int, int, int]) -> None:
    for kernel, text in KERNELS.items():
        assert_same_outcome(asm(text), kernel, _args(*values))
