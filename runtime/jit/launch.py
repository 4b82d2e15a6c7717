"""Running a compiled kernel: argument marshalling, sentron threads, error reporting.

``run(native, kernel, args, sentrons=S)`` binds the arguments with the simulator's binder,
fills the argument block and the region table, starts S threads (ctypes drops the GIL
while native code runs, so sentrons really run in parallel) and turns a non-zero result
into the simulator's exception, with the same message.
"""

from __future__ import annotations

import ctypes
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from phextcc.backend.isa import BY_OPCODE, RedOp, Type
from phextcc.backend.program import KernelInfo, Program
from runtime.binding import BoundArguments, bind_arguments
from runtime.errors import (
    CollectiveMismatch,
    ControlFlowError,
    DeadlockError,
    IndexOutOfRange,
    IntegerDivisionByZero,
    SentronCountError,
    VtpuRuntimeError,
)
from runtime.jit.callpath import plan_for
from runtime.jit.engine import LIBC, NativeModule, jit_compile
from runtime.jit.layout import (
    CACHE_LINE_BYTES,
    CACHE_LINE_SLOTS,
    CHUNK_BYTES,
    CTX_SLOTS,
    MAILBOX_SLOTS,
    PROGRESS_SLOTS,
    REGION_COUNT,
    REGION_SLOTS,
    SHARED_SLOTS,
    UNTYPED_REGION,
    ArgLayout,
    CtxField,
    ErrorCode,
    MailboxField,
    RegionField,
    SharedField,
    split_collective_key,
)
from runtime.jit.salloc import register_owner, unregister_owner
from runtime.phext_memory import PhextPageTable, split_coordinate
from runtime.simulator import check_sentron_count

DEFAULT_DEADLOCK_TIMEOUT = 2.0  # seconds without any C-pipe event while all sentrons wait
TYPE_OF_DTYPE = {"i32": Type.I32, "i64": Type.I64, "f32": Type.F32, "f64": Type.F64}

LIBC.malloc.restype = ctypes.c_void_p
LIBC.malloc.argtypes = [ctypes.c_size_t]
LIBC.free.argtypes = [ctypes.c_void_p]


@dataclass
class RunResult:
    """What a native run leaves behind (tensors were updated in place)."""

    kernel: str
    arguments: BoundArguments
    sentrons: int
    seconds: float

    @property
    def tensors(self) -> dict[int, np.ndarray]:
        return self.arguments.tensors


def _aligned_slots(count: int) -> np.ndarray:
    """``count`` zeroed 64-bit slots starting on a cache-line boundary."""
    raw = np.zeros(count + CACHE_LINE_SLOTS, dtype=np.uint64)
    skip = (-raw.ctypes.data % CACHE_LINE_BYTES) // 8
    return raw[skip:skip + count]


class Launch:
    """The native state of a run: contexts, shared block, mailboxes, region table.

    Allocated once per (module, kernel, sentron count) and reused: ``prepare`` fills it
    for one call, ``finish`` clears what the call left behind, so the call path only
    writes a few slots before entering native code."""

    def __init__(self, program: Program, kernel: KernelInfo, sentrons: int) -> None:
        self.program = program
        self.kernel = kernel
        self.sentrons = sentrons
        self.regions = np.zeros(REGION_COUNT * REGION_SLOTS, dtype=np.uint64)
        self.args = ArgLayout(kernel).new_block()
        self.shared = (ctypes.c_uint64 * SHARED_SLOTS)()
        self.mailboxes = _aligned_slots(MAILBOX_SLOTS * sentrons * sentrons)
        self.progress = _aligned_slots(PROGRESS_SLOTS * sentrons)
        self.slots = (ctypes.c_uint64 * sentrons)()
        self.kinds = (ctypes.c_uint64 * (2 * sentrons))()
        self.contexts = [self._context(sid) for sid in range(sentrons)]
        self.context_addresses = [ctypes.addressof(ctx) for ctx in self.contexts]
        self.args_address = ctypes.addressof(self.args)
        self.tensor_kinds = {index: 1 + int(TYPE_OF_DTYPE[param.dtype])
                             for index, param in enumerate(kernel.params) if param.is_tensor}
        self.allocates = any(
            program.words[i].s.info.family in ("SALLOC", "SFREE")
            for i in range(kernel.entry, kernel.entry + kernel.length))
        self.bound: BoundArguments | None = None
        # The binding the argument block holds: a call with the same BoundArguments (the
        # call plan returns the same object for the same arrays and scalars, and keeps
        # those arrays referenced, so their pointers hold) need not fill it again.
        self.filled: BoundArguments | None = None
        self._memory: PhextPageTable | None = None
        # What each region-table row holds, so an unchanged row is not rewritten per call.
        self.published: dict[int, tuple[int, int, int]] = {}
        self.failures: dict[int, tuple[Exception, int]] = {}

    def prepare(self, bound: BoundArguments, timeout: float,
                addresses: dict[int, int] | None = None) -> None:
        """Fill the argument block, the region table and the shared block for a call
        (``addresses``: the tensors' data pointers when the caller already has them)."""
        self.bound = bound
        self._memory = None
        self.failures = {}
        if bound is not self.filled or addresses is None:
            self._fill(bound, addresses)
        if self.kernel.uses_cpipe:
            self._init_shared(timeout)
        if self.allocates:
            for address in self.context_addresses:
                register_owner(address, self)

    def _fill(self, bound: BoundArguments, addresses: dict[int, int] | None) -> None:
        args = self.args
        for index, array in bound.tensors.items():
            address = addresses[index] if addresses is not None else array.ctypes.data
            args[index] = address
            self._publish(index, address, array.size, self.tensor_kinds[index])
        for index, bits in bound.scalars.items():
            args[index] = bits
        base = len(self.kernel.params)
        for index, value in enumerate(bound.symbols):
            args[base + index] = value & ((1 << 64) - 1)
        self.filled = bound if addresses is not None else None

    @property
    def memory(self) -> PhextPageTable:
        """The simulator's page table for these arguments: made only when needed (SALLOC,
        or to word a memory fault exactly as the simulator does)."""
        if self._memory is None:
            assert self.bound is not None
            self._memory = PhextPageTable()
            for index, array in self.bound.tensors.items():
                self._memory.add_tensor(index, self.kernel.params[index].name, array)
        return self._memory

    def _publish(self, region: int, base: int, count: int, kind: int) -> None:
        if self.published.get(region) == (base, count, kind):
            return
        self.published[region] = (base, count, kind)
        row = region * REGION_SLOTS
        self.regions[row + RegionField.BASE] = base
        self.regions[row + RegionField.COUNT] = count
        self.regions[row + RegionField.KIND] = kind

    def _init_shared(self, timeout: float) -> None:
        shared = self.shared
        ctypes.memset(shared, 0, ctypes.sizeof(shared))
        shared[SharedField.NUM] = self.sentrons
        shared[SharedField.TIMEOUT_NS] = int(timeout * 1e9)
        shared[SharedField.MAILBOXES] = self.mailboxes.ctypes.data
        shared[SharedField.PROGRESS] = self.progress.ctypes.data
        self.mailboxes[:] = 0
        self.progress[:] = 0
        shared[SharedField.SLOTS] = ctypes.addressof(self.slots)
        shared[SharedField.KINDS] = ctypes.addressof(self.kinds)
        for pair in range(self.sentrons * self.sentrons):
            chunk = LIBC.malloc(CHUNK_BYTES)
            if not chunk:
                raise MemoryError("no memory for a message queue")
            ctypes.c_uint64.from_address(chunk).value = 0  # next chunk: none yet
            row = pair * MAILBOX_SLOTS
            self.mailboxes[row + MailboxField.TAIL_CHUNK] = chunk
            self.mailboxes[row + MailboxField.HEAD_CHUNK] = chunk

    def _context(self, sid: int) -> ctypes.Array[ctypes.c_uint64]:
        ctx = (ctypes.c_uint64 * CTX_SLOTS)()
        ctx[CtxField.SID] = sid
        ctx[CtxField.NUM] = self.sentrons
        ctx[CtxField.SHARED] = ctypes.addressof(self.shared)
        ctx[CtxField.REGIONS] = self.regions.ctypes.data
        return ctx

    def finish(self) -> None:
        """Forget the call: SALLOC regions it left, message chunks, the owner records."""
        if self.allocates:
            for address in self.context_addresses:
                unregister_owner(address)
        if self._memory is not None:
            for region_id in self._memory.regions:
                if region_id not in self.tensor_kinds:
                    self._publish(region_id, 0, 0, 0)
        self.bound = None
        self._memory = None
        if not self.kernel.uses_cpipe:
            return
        for pair in range(self.sentrons * self.sentrons):
            chunk = int(self.mailboxes[pair * MAILBOX_SLOTS + MailboxField.HEAD_CHUNK])
            while chunk:
                following = ctypes.c_uint64.from_address(chunk).value
                LIBC.free(chunk)
                chunk = following

    # -- SALLOC/SFREE callbacks (salloc.RegionOwner) ------------------------
    def allocate(self, words: int) -> int:
        signed = words - (1 << 64) if words >> 63 else words
        coord = self.memory.allocate(signed)
        region_id, _ = split_coordinate(coord)
        region = self.memory.regions[region_id]
        self._publish(region_id, region.base_address, max(signed, 0) * 8, UNTYPED_REGION)
        return coord

    def free(self, coord: int) -> None:
        self.memory.free(coord)
        self._publish(split_coordinate(coord)[0], 0, 0, 0)

    def record_failure(self, error: Exception, word: int) -> None:
        self.failures.setdefault(id(error), (error, word))

    # -- running ------------------------------------------------------------
    def run(self, native: NativeModule) -> list[int]:
        function = native.function(self.kernel.name)
        args = self.args_address
        contexts = self.context_addresses
        if self.sentrons == 1:
            return [function(contexts[0], args)]
        codes = [0] * self.sentrons

        def sentron(sid: int) -> None:
            codes[sid] = function(contexts[sid], args)

        threads = [threading.Thread(target=sentron, args=(sid,), name=f"sentron-{sid}")
                   for sid in range(self.sentrons)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return codes


def _signed(value: int) -> int:
    return value - (1 << 64) if value >> 63 else value


class ErrorReport:
    """Turns the error records of the contexts into the simulator's exception."""

    def __init__(self, launch: Launch) -> None:
        self.launch = launch
        self.program = launch.program

    def where(self, siw: int) -> str:
        locations = self.program.locations
        if 0 <= siw < len(locations) and locations[siw] is not None:
            loc = locations[siw]
            assert loc is not None
            return f"{self.program.source_name or '<source>'}:{loc.line}:{loc.col}"
        return ""

    def raise_for(self, codes: list[int]) -> None:
        real = [sid for sid, code in enumerate(codes)
                if code not in (ErrorCode.OK, ErrorCode.ABORTED, ErrorCode.DEADLOCK)]
        if real:
            # The collective's last arrival reports a mismatch in the simulator.
            sid = real[-1] if codes[real[-1]] == ErrorCode.COLLECTIVE_MISMATCH else real[0]
            error = self.error_of(sid, codes[sid])
            siw = int(self.launch.contexts[sid][CtxField.ERR_WORD])
            error.locate(siw, self.where(siw))
            if self.launch.sentrons > 1 and error.sentron is None:
                error.sentron = sid
            raise error
        if any(code == ErrorCode.DEADLOCK for code in codes):
            raise self.deadlock(codes)

    def error_of(self, sid: int, code: int) -> VtpuRuntimeError:
        ctx = self.launch.contexts[sid]
        a, b, c = (int(ctx[f]) for f in (CtxField.ERR_A, CtxField.ERR_B, CtxField.ERR_C))
        params = self.launch.kernel.params
        if code == ErrorCode.INDEX_OUT_OF_RANGE:
            assert self.launch.bound is not None
            extent = self.launch.bound.extent(a, b)
            return IndexOutOfRange(params[a].name, b, _signed(c), extent)
        if code == ErrorCode.DIVISION_BY_ZERO:
            return IntegerDivisionByZero()
        if code == ErrorCode.MEMORY_FAULT:
            return self.memory_fault(a, b, c)
        if code == ErrorCode.BAD_SENTRON:
            what = {"CSEND": "CSEND to", "CRECV": "CRECV from", "CCAST": "CCAST from root"}
            return SentronCountError(f"{what[BY_OPCODE[c].family]} sentron {_signed(a)}, but "
                                     f"there are only {self.launch.sentrons} sentron(s)")
        if code == ErrorCode.COLLECTIVE_MISMATCH:
            return self.mismatch()
        mnemonic = BY_OPCODE[c].mnemonic if c in BY_OPCODE else f"opcode {c}"
        if code == ErrorCode.UNSUPPORTED and a:
            return VtpuRuntimeError(f"{mnemonic} with {RedOp(a - 1).name} is not defined")
        if code == ErrorCode.UNSUPPORTED:
            return VtpuRuntimeError(f"{mnemonic} is reserved and cannot execute")
        return ControlFlowError(f"native kernel failed with code {code}")

    def memory_fault(self, low: int, high: int, opcode: int) -> VtpuRuntimeError:
        if self.launch.failures:  # SALLOC/SFREE failed inside the callback
            error, _ = next(iter(self.launch.failures.values()))
            if isinstance(error, VtpuRuntimeError):
                return error
            return VtpuRuntimeError(str(error))
        t = BY_OPCODE[opcode].type
        assert t is not None
        return self.launch.memory.fault(low | (high << 64), t)

    def describe_key(self, key: int) -> str:
        opcode, detail = split_collective_key(key)
        info = BY_OPCODE.get(opcode)
        if info is None:
            return f"collective {key}"
        if info.family == "CREDUCE":
            return f"{info.mnemonic} {RedOp(detail).name}"
        if info.family == "CCAST":
            return f"CCAST {detail}"
        return info.family

    def reason(self, key: int) -> str:
        opcode, detail = split_collective_key(key)
        info = BY_OPCODE.get(opcode)
        if info is not None and info.family == "CREDUCE":
            return f"{info.mnemonic} {RedOp(detail).name}"
        if info is not None and info.family == "CCAST":
            return f"CCAST from root {detail}"
        return info.family if info is not None else f"collective {key}"

    def mismatch(self) -> CollectiveMismatch:
        kinds = self.launch.kinds
        parts = [f"sentron {sid} in {self.describe_key(int(kinds[2 * sid]))} at SIW "
                 f"{int(kinds[2 * sid + 1])}" for sid in range(self.launch.sentrons)]
        return CollectiveMismatch("sentrons met in different collectives: " + "; ".join(parts))

    def deadlock(self, codes: list[int]) -> DeadlockError:
        waiters = []
        for sid, code in enumerate(codes):
            ctx = self.launch.contexts[sid]
            if code != ErrorCode.DEADLOCK:
                waiters.append(f"sentron {sid} has halted")
                continue
            key, peer = int(ctx[CtxField.WAIT_OP]), _signed(int(ctx[CtxField.WAIT_PEER]))
            siw = int(ctx[CtxField.WAIT_WORD])
            info = BY_OPCODE.get(split_collective_key(key)[0])
            if info is not None and info.family == "CRECV":
                reason = f"CRECV from sentron {peer}"
            else:
                reason = self.reason(key)
            where = self.where(siw)
            waiters.append(f"sentron {sid} waits in {reason} at SIW {siw}"
                           + (f" ({where})" if where else ""))
        return DeadlockError(waiters)


def run(native: NativeModule, kernel: str, args: Sequence | Mapping, *, sentrons: int = 1,
        deadlock_timeout: float = DEFAULT_DEADLOCK_TIMEOUT) -> RunResult:
    """Run ``kernel`` of a compiled module on ``sentrons`` native threads.

    Raises the simulator's exceptions (runtime/errors.py) with the same messages; tensor
    writes made before an error are kept."""
    plan = native.call_plans.get(kernel)
    if plan is None:  # KeyError for an unknown kernel
        plan = plan_for(native.call_plans, native.program.kernel(kernel))
    info = plan.kernel
    check_sentron_count(info, sentrons)
    bound = plan.bind(args)
    if bound is None:  # the reference binder: same binding, or its exact error
        bound = bind_arguments(info, args)
    addresses, overlap = plan.resolve(bound)
    if native.options.assume_noalias and overlap:
        options = native.options
        native = jit_compile(native.program, opt_level=options.opt_level,
                             checks=options.checks, fastmath=options.fastmath,
                             cpu=native.cpu, features=native.features, assume_noalias=False)
    launch = native.take_launch(kernel, sentrons, lambda: Launch(native.program, info, sentrons))
    try:
        launch.prepare(bound, deadlock_timeout, addresses)
        started = time.perf_counter()
        codes = launch.run(native)
        seconds = time.perf_counter() - started
        if any(codes):
            ErrorReport(launch).raise_for(codes)
    finally:
        launch.finish()
        native.give_back_launch(kernel, sentrons, launch)
    return RunResult(kernel, bound, sentrons, seconds)
