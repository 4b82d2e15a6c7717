"""Ops that may stop a sentron in packed words: the packer's rules (dependence_graph)
and the one order, C then S then D, in which both engines carry out a word."""

from __future__ import annotations

import numpy as np
import pytest

from phextcc.backend.dependence_graph import build_dependence_graph
from phextcc.backend.isa import BY_MNEMONIC
from phextcc.backend.program import WORD_EXECUTION_ORDER, Instr, Word
from runtime.errors import VtpuRuntimeError
from tests.jit.helpers import asm, assert_same_outcome


def _instr(mnemonic: str, *args: int) -> Instr:
    return Instr(BY_MNEMONIC[mnemonic], tuple(args))


def _distance(instrs: list[Instr], proven: frozenset[int] = frozenset()) -> int | None:
    graph = build_dependence_graph(instrs, proven)
    if not graph.has_edge(0, 1):
        return None
    return graph.edges[0, 1]["distance"]


LOAD = _instr("SGATHER.f32", 1, 0, 0)  # r1 = x at p0
SEND = _instr("CSENDR", 2, 3)  # send r2 to sentron r3
RECV = _instr("CRECVR", 4, 3)
STORE = _instr("SSCATTR.f32", 1, 5, 0)  # p1 <- r5
DIVIDE = _instr("DDIV.i64", 6, 7, 8)


def test_two_ops_that_may_trap_never_share_a_word() -> None:
    # a word reports one source location: that of its op that may trap
    assert _distance([SEND, LOAD]) == 1
    assert _distance([LOAD, SEND]) == 1


def test_a_proven_access_cannot_trap_and_shares_a_word_with_a_send() -> None:
    assert _distance([SEND, LOAD], frozenset({1})) is None
    assert _distance([LOAD, SEND], frozenset({0})) is None


def test_a_side_effect_and_a_blocking_op_share_a_word_only_in_execution_order() -> None:
    # the receive runs first in a word: a later store may join it (a blocked word does
    # nothing, as the store had not run yet); an earlier store may not (it must have
    # happened before the receive blocks)
    assert _distance([RECV, STORE], frozenset({1})) == 0
    assert _distance([STORE, RECV], frozenset({0})) == 1
    # D runs after S: a division that may trap cannot join a later store, but an
    # earlier one can
    assert _distance([DIVIDE, STORE], frozenset({1})) == 1
    assert _distance([STORE, DIVIDE], frozenset({0})) == 0


def test_the_word_order_is_c_then_s_then_d() -> None:
    word = Word(d=DIVIDE, s=STORE, c=SEND)
    assert [op.pipe for op in word.ops_in_execution_order] == list(WORD_EXECUTION_ORDER)
    assert word.ops_in_execution_order == (SEND, STORE, DIVIDE)


# One word stores and divides by zero: the store (S) takes effect before the trap (D).
STORE_THEN_TRAP = """
.kernel k
.param out i64[2]
    { DMOVI r1, #7 | SBASE p0, arg0 }
    { DMOVI r2, #0 }
    { DDIV.i64 r3, r1, r2 | SSCATTR.i64 p0, r1, #1 }
    { DHALT }
"""

# One word reads out of bounds and sends: the send (C) happens before the trap (S).
SEND_THEN_TRAP = """
.kernel k
.param x i64[2]
.param out i64[1]
.cpipe yes
    { DMOVI r1, #5 | SBASE p0, arg0 | CSID r4 }
    { DMOVI r2, #9 | SBASE p1, arg1 }
    { DNOP | SGATHER.i64 r3, p0, #2 | CSENDR r2, r4 }
    { DHALT }
"""


@pytest.mark.parametrize(("text", "args"), [
    (STORE_THEN_TRAP, lambda: [np.zeros(2, np.int64)]),
    (SEND_THEN_TRAP, lambda: [np.zeros(2, np.int64), np.zeros(1, np.int64)]),
])
def test_both_engines_stop_a_word_at_the_same_op(text: str, args) -> None:
    arrays, error = assert_same_outcome(asm(text), "k", args())
    assert isinstance(error, VtpuRuntimeError)
    if text is STORE_THEN_TRAP:
        assert "division by zero" in str(error)
        assert arrays[0].tolist() == [0, 7]
