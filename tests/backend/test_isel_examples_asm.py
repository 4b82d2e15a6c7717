"""What `phextcc compile --emit siw-asm -O3` shows for the streaming examples: one C op
per scalar send or receive, one SINDEX per tensor shared by the unrolled copies (their
displacements in the immediate offsets), one DBR at each loop bottom."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from click.testing import CliRunner

from phextcc.cli import main

_WORD = re.compile(r"\{\s*(?P<ops>[^}]*)\}\s*deps=0x[0-9a-f]+\s*;\s*(?P<index>\d+)")
_TARGET = re.compile(r"@L(\d+)")


@dataclass(frozen=True)
class Loop:
    """The words of one loop: from the back edge's target to the back edge."""

    ops: list[str]  # every non-NOP op of the loop's words, in order

    def named(self, prefix: str) -> list[str]:
        return [op for op in self.ops if op.split()[0].startswith(prefix)]


def _words(asm: str) -> list[list[str]]:
    """The real ops of each word, by stream index."""
    words: list[list[str]] = []
    for line in asm.splitlines():
        match = _WORD.search(line)
        if match is None:
            continue
        assert int(match["index"]) == len(words)
        ops = [op.strip() for op in match["ops"].split("|")]
        words.append([op for op in ops if op and op.split()[0] not in ("DNOP", "SNOP", "CNOP")])
    return words


def _loops(words: list[list[str]]) -> list[Loop]:
    loops = []
    for index, ops in enumerate(words):
        for op in ops:
            target = _TARGET.search(op)
            if target is not None and int(target[1]) <= index and op.startswith("D") \
                    and not op.startswith("DJMP"):
                loops.append(Loop([o for w in words[int(target[1]):index + 1] for o in w]))
    return loops


@pytest.fixture(scope="module")
def emitted() -> dict[str, str]:
    runner = CliRunner()
    texts = {}
    for name in ("saxpy", "stream"):
        result = runner.invoke(main, ["compile", f"examples/{name}.phx", "-O3", "--emit",
                                      "siw-asm", "-o", "-"], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        texts[name] = result.output
    return texts


@pytest.mark.parametrize("name", ["saxpy", "stream"])
def test_every_loop_bottom_is_one_dbr(emitted: dict[str, str], name: str) -> None:
    # The hot loops (those prefetching ahead). The short tail loop after the prefetch
    # cut keeps DCMP + DBNZ: its bounds are not of a shape whose i + step provably
    # cannot overflow.
    loops = [loop for loop in _loops(_words(emitted[name])) if loop.named("SPREFCH")]
    assert loops
    for loop in loops:
        back_edge = loop.ops[-1] if loop.ops[-1].startswith("D") else \
            next(op for op in reversed(loop.ops) if op.startswith("D"))
        assert back_edge.startswith("DBR.lt.i64"), back_edge


def test_saxpy_unrolled_body_shares_one_sindex_per_tensor(emitted: dict[str, str]) -> None:
    loops = _loops(_words(emitted["saxpy"]))
    body = max(loops, key=lambda loop: len(loop.named("SGATHER")))
    # A pipelined kernel may be laid out as several copies (modulo variable
    # expansion), each a trip of its own with its own loop test.
    trips = len(body.named("DBR"))
    gathers = body.named("SGATHER")
    assert trips >= 1 and len(gathers) >= 4 * trips  # unrolled
    assert len(body.named("SINDEX")) == 3 * trips  # x, y and out, formed once per trip
    offsets = sorted({int(op.rsplit("#", 1)[1]) for op in gathers})
    assert offsets == list(range(len(gathers) // (2 * trips)))  # x[i + k], y[i + k]
    stores = body.named("SSCATTR")
    assert sorted(int(op.rsplit("#", 1)[1]) for op in stores) == sorted(offsets * trips)
    # One integer add per trip: the induction variable's (no i + k per copy).
    assert len(body.named("DADDI.i64")) == trips and not body.named("DADD.i64")
    assert not body.named("DCMP")


def test_stream_sends_and_receives_one_c_op_per_element(emitted: dict[str, str]) -> None:
    text = emitted["stream"]
    for two_op_form in ("CPACK", "CUNPK", "CSEND ", "CRECV "):
        assert two_op_form not in text
    loops = _loops(_words(text))
    senders = [loop for loop in loops if loop.named("CSENDR")]
    receivers = [loop for loop in loops if loop.named("CRECVR")]
    assert senders and receivers
    for loop in senders:  # load, compute, send: one C op per element loaded
        assert len(loop.named("C")) == len(loop.named("CSENDR")) == len(loop.named("SGATHER"))
    for loop in receivers:  # receive, compute, store: one C op per element stored
        assert len(loop.named("C")) == len(loop.named("CRECVR")) == len(loop.named("SSCATTR"))
