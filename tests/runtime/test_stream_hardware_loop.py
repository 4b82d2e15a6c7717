"""The balanced stream kernel of examples/stream.phx written by hand with a hardware loop
and post-increment accesses, software-pipelined: no slot holds loop control or address
arithmetic, so the cycle model reaches about 3 ops per cycle per sentron (the reason
these ops exist). Both engines compute out = (a * x) ** 2.

Sentron 0, element e: load at word e, multiply at e + 6 (L1 load-to-use plus the
translation), send at e + 9 (fmul latency 3). Sentron 1: receive at word e, multiply at
e + 1, store at e + 4. Registers rotate so that no word reads what another of its ops writes."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from phextcc.backend.assembler import assemble
from phextcc.backend.program import Program
from runtime.simulator import simulate
from tests.jit.helpers import assert_same_outcome

Stage = Callable[[int], str]  # element index -> the op of that stage (within a word)


def _pipeline(n: int, stages: list[tuple[int, Stage]], period: int, count_reg: str,
              label: str) -> list[str]:
    """Words t = 0 .. n + last delay - 1; word t holds stage s for element t - delay_s
    when that element exists. The steady words (every stage active) repeat with
    ``period``: one period becomes a DLOOP body, the rest stays straight-line."""
    last = max(delay for delay, _ in stages)
    steady = n - last  # words t in [last, n) have every stage active
    trips = steady // period
    lines: list[str] = []

    def word(t: int) -> str:
        ops = [stage(t - delay) for delay, stage in stages if 0 <= t - delay < n]
        return "    { " + " | ".join(ops) + " }"

    t = 0
    while t < n + last:
        if t == last and trips > 0:
            lines.append(f"    {{ DMOVI {count_reg}, #{trips} }}")
            lines.append(f"    {{ DLOOP {count_reg}, @{label} }}")
            body = [word(t + i) for i in range(period)]
            body.insert(period - 1, f"{label}:")
            lines += body
            t += period * trips
            continue
        lines.append(word(t))
        t += 1
    return lines


def _stream_program(n: int) -> Program:
    sender = _pipeline(n, [
        (0, lambda e: f"SGATHERI.f32 r{e % 8}, p0, #0, #1"),
        (6, lambda e: f"DMUL.f32 r{8 + e % 4}, r{e % 8}, r12"),
        (9, lambda e: f"CSENDR r{8 + e % 4}, r13"),
    ], 8, "r14", "sent")
    receiver = _pipeline(n, [
        (0, lambda e: f"CRECVR r{e % 4}, r13"),
        (1, lambda e: f"DMUL.f32 r{4 + e % 4}, r{e % 4}, r{e % 4}"),
        (4, lambda e: f"SSCATTRI.f32 p1, r{4 + e % 4}, #0, #1"),
    ], 4, "r14", "stored")
    text = "\n".join([
        ".kernel stream",
        ".param a f32",
        ".param x f32[N]",
        ".param out f32[N]",
        ".sentrons 2 2",
        "    { DARG r12, arg0 | SBASE p0, arg1 | CSID r15 }",
        "    { DMOVI r13, #1 | SBASE p1, arg2 }",
        "    { DBNZ r15, @receiver }",
        *sender,
        "    { DHALT }",
        "receiver:",
        "    { DMOVI r13, #0 }",
        *receiver,
        "    { DHALT }",
    ])
    return assemble(text)


def _args(n: int) -> list:
    rng = np.random.default_rng(n)
    return [np.float32(1.5), rng.standard_normal(n).astype(np.float32),
            np.zeros(n, np.float32)]


@pytest.mark.parametrize("n", [8, 9, 40, 263])
def test_both_engines_compute_the_stream(n: int) -> None:
    args, error = assert_same_outcome(_stream_program(n), "stream", _args(n), sentrons=2)
    assert error is None
    a, x = _args(n)[:2]
    assert np.array_equal(args[2], (a * x) * (a * x))


def test_the_steady_state_has_no_slot_for_loop_control() -> None:
    n = 2048 + 7
    program = _stream_program(n)
    args = _args(n)
    stats = simulate(program, "stream", args, sentrons=2, warm_runs=1).stats
    assert stats is not None
    a, x = args[:2]
    assert np.array_equal(args[2], (a * x) * (a * x))
    sender, receiver = stats.sentrons
    # every element costs exactly one op per pipe on each side; loop control costs a
    # DLOOP and its count, once
    assert sender.ops == {"D": n + 6, "S": n + 2, "C": n + 1}
    assert receiver.ops["S"] == n + 2 and receiver.ops["C"] == n + 1
    assert sender.stall_cycles["branch"] == 0
    assert receiver.stall_cycles["branch"] == 13  # its DBNZ, forward and taken, only
    assert sender.ops_per_cycle > 2.95
    # the receiver waits once for the first message, then keeps pace
    assert receiver.stall_cycles["recv_wait"] <= 70  # zen4's message latency
    assert receiver.ops_per_cycle > 2.8
