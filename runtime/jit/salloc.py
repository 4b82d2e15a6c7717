"""SALLOC/SFREE for native code: a callback into the launcher that owns the regions.

Allocation is rare and not on any hot path, so the kernel calls back into Python (ctypes
takes the GIL); the launcher's ``RegionOwner`` allocates through the simulator's
PhextPageTable (same region ids, sizes and errors) and publishes the new region in the
native region table. The owner is found from the context pointer.
"""

from __future__ import annotations

import ctypes
import threading
from typing import Protocol

from runtime.errors import VtpuRuntimeError

ALLOCATOR_SIGNATURE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_int64,
                                       ctypes.c_int64, ctypes.c_uint64, ctypes.c_uint64,
                                       ctypes.c_void_p, ctypes.c_int64)


class RegionOwner(Protocol):
    def allocate(self, words: int) -> int: ...

    def free(self, coord: int) -> None: ...

    def record_failure(self, error: Exception, word: int) -> None: ...


_owners: dict[int, RegionOwner] = {}
_owners_lock = threading.Lock()


def register_owner(ctx_address: int, owner: RegionOwner) -> None:
    with _owners_lock:
        _owners[ctx_address] = owner


def unregister_owner(ctx_address: int) -> None:
    with _owners_lock:
        _owners.pop(ctx_address, None)


def _allocator(ctx: int | None, operation: int, size: int, low: int, high: int,
               out: int | None, word: int) -> int:
    with _owners_lock:
        owner = _owners.get(ctx or 0)
    if owner is None or out is None:
        return 1
    try:
        if operation == 0:
            coord = owner.allocate(size)
            words = (ctypes.c_uint64 * 2).from_address(out)
            words[0] = coord & ((1 << 64) - 1)
            words[1] = coord >> 64
        else:
            owner.free(low | (high << 64))
    except (VtpuRuntimeError, ValueError, OverflowError, MemoryError) as error:
        # Handed to the launcher, re-raised after the kernel returns.
        owner.record_failure(error, word)
        return 1
    return 0


ALLOCATOR_CALLBACK = ALLOCATOR_SIGNATURE(_allocator)
