"""Memory layouts shared by the translator (which emits loads and stores at these
offsets) and the launcher (which fills them through ctypes): the per-sentron context,
the state shared by all sentrons, mailboxes, the region table and the argument block.

Every structure is an array of 64-bit slots so that one index table describes it on both
sides; the field names below are the only place the offsets are written down.
"""

from __future__ import annotations

import ctypes
import enum

from phextcc.backend.program import KernelInfo


class CtxField(enum.IntEnum):
    """Per-sentron context: identity, the error record and the wait record."""

    SID = 0
    NUM = 1
    SHARED = 2  # pointer to the SharedField block (null for a lone sentron)
    REGIONS = 3  # pointer to the region table
    ERR_CODE = 4
    ERR_WORD = 5  # SIW index of the failing op
    ERR_A = 6  # error details: see ErrorCode
    ERR_B = 7
    ERR_C = 8
    WAIT_OP = 9  # opcode of the C op a sentron is blocked in (deadlock reports)
    WAIT_PEER = 10
    WAIT_WORD = 11


CTX_SLOTS = len(CtxField)


class SharedField(enum.IntEnum):
    """State shared by the sentrons of one launch (all accessed atomically)."""

    NUM = 0
    ABORT = 1  # 0 = running; else the ErrorCode that stops every sentron
    PROGRESS = 2  # pointer to NUM progress counters, CACHE_LINE_SLOTS apart (below)
    WAITING = 3  # sentrons currently blocked
    FINISHED = 4  # sentrons that halted or failed
    BAR_COUNT = 5
    BAR_GEN = 6
    TIMEOUT_NS = 7
    MAILBOXES = 8  # pointer to NUM * NUM mailboxes, index src * NUM + dst
    SLOTS = 9  # pointer to NUM i64 collective values
    KINDS = 10  # pointer to NUM pairs (collective key, SIW index), one per sentron


SHARED_SLOTS = len(SharedField)

# Data one sentron writes on every message lives on a cache line no other sentron
# writes: a 64-byte line holds 8 slots, and such blocks are 64-byte aligned.
CACHE_LINE_SLOTS = 8
CACHE_LINE_BYTES = 8 * CACHE_LINE_SLOTS
# Each sentron counts the C-pipe events it completed in its own counter (one cache line
# each); the deadlock detector reads their sum.
PROGRESS_SLOTS = CACHE_LINE_SLOTS


class MailboxField(enum.IntEnum):
    """A single-producer single-consumer FIFO of messages, a linked list of chunks. The
    sender's fields fill the first cache line, the receiver's the second, so neither
    side's writes evict the other's fields."""

    PUBLISHED = 0  # messages sent so far (release-stored by the sender)
    TAIL_CHUNK = 1  # chunk the sender writes into
    CONSUMED = CACHE_LINE_SLOTS  # messages received so far (receiver only)
    HEAD_CHUNK = CACHE_LINE_SLOTS + 1  # chunk the receiver reads from
    SEEN = CACHE_LINE_SLOTS + 2  # PUBLISHED as the receiver last read it (receiver only)


MAILBOX_SLOTS = 2 * CACHE_LINE_SLOTS
CHUNK_MESSAGES = 256  # messages per chunk; a chunk is [next ptr][CHUNK_MESSAGES x 4 x i64]
CHUNK_BYTES = 8 + CHUNK_MESSAGES * 32


class RegionField(enum.IntEnum):
    """One entry of the region table: where a region lives and how big it is."""

    BASE = 0
    COUNT = 1  # elements of a typed region, bytes of an untyped (SALLOC) one
    KIND = 2  # 0 = no such region, 1 + Type code = typed, UNTYPED_REGION = any type


UNTYPED_REGION = 8


REGION_SLOTS = len(RegionField)
REGION_COUNT = 2048  # D10 holds 11 bits


class ErrorCode(enum.IntEnum):
    """What a kernel function returns; ERR_A..ERR_C hold the details named here."""

    OK = 0
    INDEX_OUT_OF_RANGE = 1  # A = param, B = axis, C = index (DCHK)
    MEMORY_FAULT = 2  # A = address low 64 bits, B = address high 64 bits, C = opcode
    DIVISION_BY_ZERO = 3
    DEADLOCK = 4  # every sentron's WAIT_* fields say where it waits
    BAD_SENTRON = 5  # A = sentron id named by the op, C = opcode
    ABORTED = 6  # another sentron failed first
    COLLECTIVE_MISMATCH = 7  # A = this sentron's opcode, B = the other one's
    UNSUPPORTED = 8  # C = opcode (an op the JIT does not implement)


def collective_key(opcode: int, detail: int = 0) -> int:
    """What sentrons must agree on to meet in a collective: the opcode (CREDUCE's encodes
    its type) and a detail (the reduction op of CREDUCE, the root of CCAST)."""
    return opcode | (detail << 16)


def split_collective_key(key: int) -> tuple[int, int]:
    return key & 0xFFFF, key >> 16


ELEMENT_BYTES = {"i32": 4, "i64": 8, "f32": 4, "f64": 8}


class ArgLayout:
    """The argument block of a kernel: one 64-bit slot per parameter (a tensor's data
    pointer or a scalar's register bit pattern), then one slot per shape symbol."""

    def __init__(self, kernel: KernelInfo) -> None:
        self.kernel = kernel
        self.param_slot = {index: index for index in range(len(kernel.params))}
        base = len(kernel.params)
        self.symbol_slot = {index: base + index for index in range(len(kernel.symbols))}
        self.slots = base + len(kernel.symbols)

    def new_block(self) -> ctypes.Array[ctypes.c_uint64]:
        return (ctypes.c_uint64 * max(self.slots, 1))()
