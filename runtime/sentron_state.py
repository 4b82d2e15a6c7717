"""The architectural state of one sentron, and the conventions op closures share.

Registers live in one flat list so that a word's read-before-write rule can be
honoured by snapshotting it: r0..r15 at 0..15 (64-bit patterns), p0..p7 at 16..23
(128-bit coordinates), m0..m3 at 24..27 (tuples of four 64-bit lanes).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from phextcc.backend.isa import Kind, RegClass

if TYPE_CHECKING:
    from runtime.binding import BoundArguments
    from runtime.cycle_model import SentronTiming
    from runtime.phext_memory import PhextPageTable
    from runtime.sentrons import Scheduler

# What an op closure returns: None = fall through, an int >= 0 = branch target.
HALT = -1
BLOCKED = -2

OpFn = Callable[[], "int | None"]

REG_BASE: dict[RegClass, int] = {RegClass.R: 0, RegClass.P: 16, RegClass.M: 24}
REG_FILE_SIZE = 28
ZERO_MESSAGE = (0, 0, 0, 0)


def reg_index(kind: Kind, number: int) -> int:
    """Flat register-file index of register ``number`` of an operand kind."""
    assert kind.regclass is not None
    return REG_BASE[kind.regclass] + number


def reg_name(index: int) -> str:
    for regclass, base in sorted(REG_BASE.items(), key=lambda kv: -kv[1]):
        if index >= base:
            return f"{regclass.prefix}{index - base}"
    raise ValueError(index)


def fresh_registers() -> list:
    return [0] * 24 + [ZERO_MESSAGE] * 4


# What the S-op of the last word did to memory, for the cycle model: a plain
# tuple (kind, coordinate, byte address or None when unmapped, hint) because
# one is made per access. Kinds: "load", "store", "prefetch", "flush".
MemoryEvent = tuple[str, int, "int | None", int]


@dataclass(eq=False)
class SentronState:
    """One sentron: registers, spill area, program counter, and the hooks its op
    closures use to reach shared machinery (memory, scheduler, timing)."""

    sid: int
    count: int
    registers: list = field(default_factory=fresh_registers)
    spill: list[int] = field(default_factory=list)
    pc: int = 0
    halted: bool = False
    block_reason: str = ""  # set by a C op that blocked, e.g. "CRECV from sentron 0"
    memory: PhextPageTable | None = None
    bound: BoundArguments | None = None
    pool: list[int] = field(default_factory=list)
    scheduler: Scheduler | None = None
    timing: SentronTiming | None = None
    # Filled while a word executes when timing is on:
    mem_event: MemoryEvent | None = None
    wait_until: int = 0
    wait_cause: str = ""
    code: list[OpFn] = field(default_factory=list)
    siws: int = 0
    # Trips left of the running hardware loop, this one included (ops_loops.py).
    loop_remaining: int = 0
    # The SIW whose ops are being built; ops that name their own position in
    # errors (collectives) capture it at decode time.
    decoding_siw: int = 0
