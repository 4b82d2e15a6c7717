"""Zero-overhead hardware loops (``DLOOP count, @end``): where they are in a kernel.

A ``DLOOP`` word at index s sets up a loop whose body is the words s+1 .. end
(inclusive). The body runs ``count`` times (``count`` <= 0: not at all, control goes
to end + 1); the loop-back from ``end`` to s+1 is done by the sequencer and takes no
slot. The verifier keeps bodies straight-line (no branch, DHALT or DLOOP inside) and
entered only by falling through from their DLOOP, so one (first, end, remaining)
state per sentron describes a running loop. Every consumer (verifier, simulator,
JIT, disassembler) finds loops through this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from phextcc.backend.isa import Effect, Kind
from phextcc.backend.program import Instr, KernelInfo, Program


@dataclass(frozen=True)
class HardwareLoop:
    """One ``DLOOP`` and its body."""

    setup: int  # SIW index of the DLOOP word
    end: int  # SIW index of the last body word (inclusive)
    count: int  # the r register holding the trip count

    @property
    def first(self) -> int:
        """The first body word (the loop-back target)."""
        return self.setup + 1

    @property
    def exit(self) -> int:
        """Where control goes when the loop is done or skipped."""
        return self.end + 1

    @property
    def body(self) -> range:
        return range(self.first, self.end + 1)


def is_loop_setup(instr: Instr) -> bool:
    return bool(instr.info.effects & Effect.LOOP)


def loop_at(instr: Instr, index: int) -> HardwareLoop | None:
    """The loop a D op at SIW ``index`` sets up, or None if it is not a DLOOP."""
    if not is_loop_setup(instr):
        return None
    end = count = None
    for operand, value in zip(instr.info.operands, instr.args):
        if operand.kind is Kind.TARGET:
            end = value
        elif operand.kind is Kind.R:
            count = value
    assert end is not None and count is not None, instr.info.mnemonic
    return HardwareLoop(index, end, count)


def hardware_loops(program: Program, kernel: KernelInfo) -> list[HardwareLoop]:
    """Every DLOOP of ``kernel`` in address order (not validated: see the verifier)."""
    found = []
    for index in range(kernel.entry, kernel.entry + kernel.length):
        loop = loop_at(program.words[index].d, index)
        if loop is not None:
            found.append(loop)
    return found


def loops_by_end(program: Program, kernel: KernelInfo) -> dict[int, HardwareLoop]:
    """Last body word -> its loop, for well-formed loops (a body after its DLOOP); in a
    verified program no two loops share an end word."""
    return {loop.end: loop for loop in hardware_loops(program, kernel)
            if loop.end > loop.setup}


def loop_ending_at(program: Program, kernel: KernelInfo, index: int) -> HardwareLoop | None:
    """The loop whose body ends at word ``index`` in a verified program, or None.

    A body holds no branch, DHALT or DLOOP, so the DLOOP of a body ending here is the
    first control op found walking back from ``index``: the walk stops at the first
    such op and costs the length of the straight-line run before ``index``."""
    for candidate in range(index - 1, kernel.entry - 1, -1):
        d_op = program.words[candidate].d
        if d_op.info.effects & (Effect.LOOP | Effect.BRANCH | Effect.HALT):
            loop = loop_at(d_op, candidate)
            return loop if loop is not None and loop.end == index else None
    return None
