"""Generated straight-line programs (with in-word read/write overlaps), run with
the cycle model on and off; both must agree with a Python model of the words."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phextcc.backend.isa import Type
from phextcc.backend.program import Word
from runtime.semantics import BINARY
from runtime.simulator import simulate
from tests.runtime.build import HALT, op, program, word

M64 = (1 << 64) - 1
FAMILIES = ["DADD", "DSUB", "DMUL", "DAND", "DOR", "DXOR", "DMIN", "DMAX", "DSHL", "DSHR"]

ops_strategy = st.lists(
    st.tuples(st.sampled_from(FAMILIES), st.sampled_from(["i32", "i64"]),
              st.integers(0, 7), st.integers(0, 7), st.integers(0, 7),
              st.booleans(), st.integers(0, 7), st.integers(0, 7)),
    min_size=1, max_size=25)


def build(spec: list, seeds: list[int]) -> tuple[list[Word], list[int]]:
    """Words with a D op and, optionally, a CPACK in the same word reading a
    register the D op may be writing (it must see the old value), followed by a
    CUNPK of that lane into r8..r15."""
    words = [word(op("DMOVI", r, seeds[r])) for r in range(8)]
    regs = [s & M64 for s in seeds] + [0] * 8
    for family, t, d, a, b, with_c, src, dst in spec:
        result = BINARY[family][Type[t.upper()]](regs[a], regs[b])
        if with_c:
            words.append(word(op(f"{family}.{t}", d, a, b), op("CPACK", 0, src, 0)))
            words.append(word(op("CUNPK", 8 + dst, 0, 0)))
            regs[8 + dst] = regs[src]  # read before the D op's write
        else:
            words.append(word(op(f"{family}.{t}", d, a, b)))
        regs[d] = result
    return words, regs


def check(spec: list, seeds: list[int]) -> None:
    words, want = build(spec, seeds)
    prog = program(words + [HALT])
    for stats in (False, True):
        got = simulate(prog, "k", [], collect_stats=stats).registers[0][:16]
        assert got == want


seeds_strategy = st.lists(st.integers(-(1 << 31), (1 << 31) - 1), min_size=8, max_size=8)


@settings(max_examples=15, deadline=None)
@given(spec=ops_strategy, seeds=seeds_strategy)
def test_random_programs_sample(spec: list, seeds: list[int]) -> None:
    check(spec, seeds)


@pytest.mark.slow
@settings(max_examples=1000, deadline=None)
@given(spec=ops_strategy, seeds=seeds_strategy)
def test_random_programs_many(spec: list, seeds: list[int]) -> None:
    check(spec, seeds)
