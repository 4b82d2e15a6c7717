"""The native C-pipe: messages, barrier, collectives and deadlock detection in LLVM IR.

Sentrons are OS threads sharing one ``SharedField`` block (layout.py). Everything here is
lock-free and built from atomics:

- a mailbox per ordered pair (src, dst) is a single-producer single-consumer FIFO made
  of malloc'd chunks of CHUNK_MESSAGES messages: the sender never blocks (it links a new
  chunk when one fills) and publishes each message with a release store of its count;
  the receiver acquires the count, reads, and frees chunks it has left. The receiver
  keeps the count it last acquired on its own cache line and reads the sender's line
  only when it has taken every message that count covers, so a receiver that is behind
  costs the sender no cache-line transfers;
- the barrier is a sense-counting barrier (arrival counter + generation);
- CREDUCE/CCAST write their value to a per-sentron slot, meet at the barrier, fold the
  slots in sentron order 0, 1, 2, ... (so every sentron computes the same, deterministic
  result, the simulator's left fold), then meet again before the slots are reused;
  sentrons that meet in different collectives fail with COLLECTIVE_MISMATCH;
- a blocked sentron spins with ``sched_yield``; it declares a deadlock when no C-pipe
  event happened anywhere for TIMEOUT_NS while every unfinished sentron is blocked, and
  any sentron that fails stops the others (ABORT), so a launch never hangs. Each
  sentron counts its events in a counter on its own cache line (a plain increment, no
  locked instruction on the message path); a blocked sentron reads their sum.
"""

from __future__ import annotations

from collections.abc import Callable

from llvmlite import ir

from phextcc.backend.isa import RedOp, Type
from runtime.jit.irtypes import I8, I32, I64, PTR, VOID, from_bits, to_bits
from runtime.jit.layout import (
    CHUNK_BYTES,
    CHUNK_MESSAGES,
    MAILBOX_SLOTS,
    PROGRESS_SLOTS,
    CtxField,
    ErrorCode,
    MailboxField,
    SharedField,
)
from runtime.jit.reduce_ops import fold_step

SEQ = "seq_cst"
MESSAGE = ir.ArrayType(I64, 4)
ReadyTest = Callable[[ir.IRBuilder], ir.Value]


def _slot(b: ir.IRBuilder, base: ir.Value, index: int | ir.Value) -> ir.Value:
    offset = ir.Constant(I64, int(index)) if isinstance(index, int) else index
    return b.gep(base, [offset], inbounds=True, source_etype=I64)


def _atomic_load(b: ir.IRBuilder, address: ir.Value, ordering: str = SEQ) -> ir.Value:
    return b.load_atomic(address, ordering, 8, typ=I64)


def _atomic_store(b: ir.IRBuilder, value: ir.Value, address: ir.Value, ordering: str) -> None:
    # IRBuilder.store_atomic reads the pointee type of ``address``, which opaque pointers
    # do not have, so the instruction is made here (a release store is a plain x86 mov).
    b._insert(ir.instructions.StoreAtomicInstr(b.block, value, address, ordering, 8))


def _atomic_add(b: ir.IRBuilder, address: ir.Value, amount: int) -> ir.Value:
    return b.atomic_rmw("add", address, ir.Constant(I64, amount), SEQ)


class CpipeRuntime:
    """Defines the helper functions once per module; kernels call them."""

    def __init__(self, module: ir.Module) -> None:
        self.module = module
        self.sched_yield = self._extern("sched_yield", I32, [])
        self.clock_gettime = self._extern("clock_gettime", I32, [I32, PTR])
        self.malloc = self._extern("malloc", PTR, [I64])
        self.free = self._extern("free", VOID, [PTR])
        self.now_ns = self._define_now()
        self.wait_step = self._define_wait_step()
        self.finish = self._define_finish()
        self.barrier_raw = self._define_barrier()
        self.send = self._define_send()
        self.recv_wait = self._define_recv_wait()
        self.recv = self._define_recv()
        self.collective_cache: dict[tuple[str, RedOp | None, Type | None], ir.Function] = {}

    # -- plumbing -----------------------------------------------------------
    def _extern(self, name: str, ret: ir.Type, args: list[ir.Type]) -> ir.Function:
        fn = ir.Function(self.module, ir.FunctionType(ret, args), name)
        fn.attributes.add("nounwind")
        return fn

    def _internal(self, name: str, ret: ir.Type, args: list[ir.Type], *,
                  inline: bool = False) -> tuple[ir.Function, ir.IRBuilder]:
        """A helper function: out of line (cold, shared by every call site), or, for the
        message path, inlined into every call site so that the kernel's loop keeps the
        mailbox's address in registers."""
        fn = ir.Function(self.module, ir.FunctionType(ret, args), name)
        fn.linkage = "internal"
        fn.attributes.add("alwaysinline" if inline else "noinline")
        fn.attributes.add("nounwind")
        return fn, ir.IRBuilder(fn.append_basic_block("entry"))

    @staticmethod
    def ctx_load(b: ir.IRBuilder, ctx: ir.Value, which: CtxField, ty: ir.Type = I64) -> ir.Value:
        return b.load(_slot(b, ctx, int(which)), typ=ty)

    @staticmethod
    def ctx_store(b: ir.IRBuilder, ctx: ir.Value, which: CtxField, value: ir.Value) -> None:
        b.store(value, _slot(b, ctx, int(which)))

    def shared(self, b: ir.IRBuilder, ctx: ir.Value, which: SharedField) -> ir.Value:
        return _slot(b, self.ctx_load(b, ctx, CtxField.SHARED, PTR), int(which))

    def count_event(self, b: ir.IRBuilder, ctx: ir.Value) -> None:
        """One more completed C-pipe event of this sentron (only it writes its counter)."""
        counters = b.load(self.shared(b, ctx, SharedField.PROGRESS), typ=PTR)
        mine = _slot(b, counters, b.mul(self.ctx_load(b, ctx, CtxField.SID),
                                        ir.Constant(I64, PROGRESS_SLOTS)))
        _atomic_store(b, b.add(_atomic_load(b, mine, "monotonic"), ir.Constant(I64, 1)),
                      mine, "release")

    def total_progress(self, fn: ir.Function, b: ir.IRBuilder, ctx: ir.Value) -> ir.Value:
        """The sum of every sentron's event counter."""
        counters = b.load(self.shared(b, ctx, SharedField.PROGRESS), typ=PTR)
        num = b.load(self.shared(b, ctx, SharedField.NUM), typ=I64)

        def body(bb: ir.IRBuilder, index: ir.Value, acc: ir.Value) -> ir.Value:
            counter = _slot(bb, counters, bb.mul(index, ir.Constant(I64, PROGRESS_SLOTS)))
            return bb.add(acc, _atomic_load(bb, counter, "acquire"))

        return self._loop(fn, b, num, ir.Constant(I64, 0), ir.Constant(I64, 0), body)

    # -- time and waiting ---------------------------------------------------
    def _define_now(self) -> ir.Function:
        fn, b = self._internal("cp_now_ns", I64, [])
        spec = b.alloca(I64, size=ir.Constant(I32, 2))
        b.call(self.clock_gettime, [ir.Constant(I32, 1), spec])  # CLOCK_MONOTONIC
        seconds = b.load(_slot(b, spec, 0), typ=I64)
        nanos = b.load(_slot(b, spec, 1), typ=I64)
        b.ret(b.add(b.mul(seconds, ir.Constant(I64, 1_000_000_000)), nanos))
        return fn

    def _define_wait_step(self) -> ir.Function:
        """i32 cp_wait_step(ctx, state): one spin of a blocked sentron. ``state`` holds
        (last progress seen, time it changed). Returns 0 to keep waiting, else the code
        to leave with (ABORTED, DEADLOCK)."""
        fn, b = self._internal("cp_wait_step", I32, [PTR, PTR])
        ctx, state = fn.args
        abort = _atomic_load(b, self.shared(b, ctx, SharedField.ABORT))
        aborted = fn.append_basic_block("aborted")
        running = fn.append_basic_block("running")
        b.cbranch(b.icmp_unsigned("!=", abort, ir.Constant(I64, 0)), aborted, running)
        b.position_at_end(aborted)
        is_deadlock = b.icmp_unsigned("==", abort, ir.Constant(I64, ErrorCode.DEADLOCK))
        b.ret(b.select(is_deadlock, ir.Constant(I32, ErrorCode.DEADLOCK),
                       ir.Constant(I32, ErrorCode.ABORTED)))
        b.position_at_end(running)
        progress = self.total_progress(fn, b, ctx)
        now = b.call(self.now_ns, [])
        last = _slot(b, state, 0)
        since = _slot(b, state, 1)
        moved = fn.append_basic_block("moved")
        still = fn.append_basic_block("still")
        spin = fn.append_basic_block("spin")
        b.cbranch(b.icmp_unsigned("!=", progress, b.load(last, typ=I64)), moved, still)
        b.position_at_end(moved)
        b.store(progress, last)
        b.store(now, since)
        b.branch(spin)
        b.position_at_end(still)
        timeout = b.load(self.shared(b, ctx, SharedField.TIMEOUT_NS), typ=I64)
        expired = b.icmp_signed(">", b.sub(now, b.load(since, typ=I64)), timeout)
        blocked = b.add(_atomic_load(b, self.shared(b, ctx, SharedField.WAITING)),
                        _atomic_load(b, self.shared(b, ctx, SharedField.FINISHED)))
        everyone = b.icmp_unsigned(">=", blocked,
                                   b.load(self.shared(b, ctx, SharedField.NUM), typ=I64))
        declare = fn.append_basic_block("declare")
        b.cbranch(b.and_(expired, everyone), declare, spin)
        b.position_at_end(declare)
        b.cmpxchg(self.shared(b, ctx, SharedField.ABORT), ir.Constant(I64, 0),
                  ir.Constant(I64, ErrorCode.DEADLOCK), SEQ, SEQ)
        b.ret(ir.Constant(I32, ErrorCode.DEADLOCK))
        b.position_at_end(spin)
        b.call(self.sched_yield, [])
        b.ret(ir.Constant(I32, 0))
        return fn

    def wait_until(self, fn: ir.Function, b: ir.IRBuilder, ctx: ir.Value, ready: ReadyTest,
                   opcode: ir.Value, peer: ir.Value, word: ir.Value) -> ir.Value:
        """Emit a blocking wait for ``ready`` in ``fn``; returns the i32 code (0 = ready)."""
        state = b.alloca(I64, size=ir.Constant(I32, 2))
        done = fn.append_basic_block("done")
        block = fn.append_basic_block("block")
        spin = fn.append_basic_block("spin")
        again = fn.append_basic_block("again")
        is_ready = ready(b)  # may add blocks: the branch leaves the one it ends in
        entry = b.block
        b.cbranch(is_ready, done, block)
        b.position_at_end(block)
        self.ctx_store(b, ctx, CtxField.WAIT_OP, opcode)
        self.ctx_store(b, ctx, CtxField.WAIT_PEER, peer)
        self.ctx_store(b, ctx, CtxField.WAIT_WORD, word)
        _atomic_add(b, self.shared(b, ctx, SharedField.WAITING), 1)
        b.store(self.total_progress(fn, b, ctx), _slot(b, state, 0))
        b.store(b.call(self.now_ns, []), _slot(b, state, 1))
        b.branch(spin)
        b.position_at_end(spin)
        woke = fn.append_basic_block("woke")
        is_ready = ready(b)
        spun = b.block
        b.cbranch(is_ready, woke, again)
        b.position_at_end(again)
        code = b.call(self.wait_step, [ctx, state])
        b.cbranch(b.icmp_unsigned("==", code, ir.Constant(I32, 0)), spin, woke)
        b.position_at_end(woke)
        result = b.phi(I32)
        result.add_incoming(ir.Constant(I32, 0), spun)
        result.add_incoming(code, again)
        _atomic_add(b, self.shared(b, ctx, SharedField.WAITING), -1)
        b.branch(done)
        b.position_at_end(done)
        final = b.phi(I32)
        final.add_incoming(ir.Constant(I32, 0), entry)
        final.add_incoming(result, woke)
        return final

    # -- lifecycle ----------------------------------------------------------
    def _define_finish(self) -> ir.Function:
        """void cp_finish(ctx, code): this sentron halted (code 0) or failed."""
        fn, b = self._internal("cp_finish", VOID, [PTR, I32])
        ctx, code = fn.args
        _atomic_add(b, self.shared(b, ctx, SharedField.FINISHED), 1)
        self.count_event(b, ctx)
        failed = fn.append_basic_block("failed")
        out = fn.append_basic_block("out")
        real_error = b.and_(b.icmp_unsigned("!=", code, ir.Constant(I32, 0)),
                            b.icmp_unsigned("!=", code, ir.Constant(I32, ErrorCode.ABORTED)))
        b.cbranch(real_error, failed, out)
        b.position_at_end(failed)
        b.cmpxchg(self.shared(b, ctx, SharedField.ABORT), ir.Constant(I64, 0),
                  b.zext(code, I64), SEQ, SEQ)
        b.branch(out)
        b.position_at_end(out)
        b.ret_void()
        return fn

    # -- barrier ------------------------------------------------------------
    def _define_barrier(self) -> ir.Function:
        """i32 cp_barrier(ctx, opcode, word): every sentron arrives, then all leave."""
        fn, b = self._internal("cp_barrier", I32, [PTR, I64, I64])
        ctx, opcode, word = fn.args
        generation = _atomic_load(b, self.shared(b, ctx, SharedField.BAR_GEN))
        arrived = _atomic_add(b, self.shared(b, ctx, SharedField.BAR_COUNT), 1)
        num = b.load(self.shared(b, ctx, SharedField.NUM), typ=I64)
        last = fn.append_basic_block("last")
        wait = fn.append_basic_block("wait")
        b.cbranch(b.icmp_unsigned("==", b.add(arrived, ir.Constant(I64, 1)), num), last, wait)
        b.position_at_end(last)
        _atomic_store(b, ir.Constant(I64, 0), self.shared(b, ctx, SharedField.BAR_COUNT), SEQ)
        _atomic_add(b, self.shared(b, ctx, SharedField.BAR_GEN), 1)
        self.count_event(b, ctx)
        b.ret(ir.Constant(I32, 0))
        b.position_at_end(wait)

        def released(bb: ir.IRBuilder) -> ir.Value:
            now = _atomic_load(bb, self.shared(bb, ctx, SharedField.BAR_GEN))
            return bb.icmp_unsigned("!=", now, generation)

        b.ret(self.wait_until(fn, b, ctx, released, opcode, ir.Constant(I64, -1), word))
        return fn

    # -- messages -----------------------------------------------------------
    def _mailbox(self, b: ir.IRBuilder, ctx: ir.Value, src: ir.Value, dst: ir.Value) -> ir.Value:
        boxes = b.load(self.shared(b, ctx, SharedField.MAILBOXES), typ=PTR)
        num = b.load(self.shared(b, ctx, SharedField.NUM), typ=I64)
        pair = b.add(b.mul(src, num), dst)
        return _slot(b, boxes, b.mul(pair, ir.Constant(I64, MAILBOX_SLOTS)))

    @staticmethod
    def _message_slot(b: ir.IRBuilder, chunk: ir.Value, index: ir.Value) -> ir.Value:
        offset = b.add(ir.Constant(I64, 8), b.mul(index, ir.Constant(I64, 32)))
        return b.gep(chunk, [offset], inbounds=True, source_etype=I8)

    def _define_send(self) -> ir.Function:
        """void cp_send(ctx, message, dst): append to the (sid, dst) FIFO; never blocks."""
        fn, b = self._internal("cp_send", VOID, [PTR, PTR, I64], inline=True)
        ctx, message, dst = fn.args
        box = self._mailbox(b, ctx, self.ctx_load(b, ctx, CtxField.SID), dst)
        published = _slot(b, box, int(MailboxField.PUBLISHED))
        tail = _slot(b, box, int(MailboxField.TAIL_CHUNK))
        count = b.load(published, typ=I64)  # only this sentron writes it
        index = b.urem(count, ir.Constant(I64, CHUNK_MESSAGES))
        chunk = b.load(tail, typ=PTR)
        grow = fn.append_basic_block("grow")
        write = fn.append_basic_block("write")
        full = b.and_(b.icmp_unsigned("==", index, ir.Constant(I64, 0)),
                      b.icmp_unsigned("!=", count, ir.Constant(I64, 0)))
        entry = b.block
        b.cbranch(full, grow, write)
        b.position_at_end(grow)
        fresh = b.call(self.malloc, [ir.Constant(I64, CHUNK_BYTES)])
        b.store(ir.Constant(PTR, None), fresh)
        b.store(fresh, chunk)  # link: published by the release store below
        b.store(fresh, tail)
        b.branch(write)
        b.position_at_end(write)
        target = b.phi(PTR)
        target.add_incoming(chunk, entry)
        target.add_incoming(fresh, grow)
        b.store(b.load(message, typ=MESSAGE), self._message_slot(b, target, index))
        _atomic_store(b, b.add(count, ir.Constant(I64, 1)), published, "release")
        self.count_event(b, ctx)
        b.ret_void()
        return fn

    def _define_recv_wait(self) -> ir.Function:
        """i32 cp_recv_wait(ctx, box, src, opcode, word): wait until the mailbox ``box``
        holds a message past the ones received (0), or the code to leave with."""
        fn, b = self._internal("cp_recv_wait", I32, [PTR, PTR, I64, I64, I64])
        ctx, box, src, opcode, word = fn.args
        published = _slot(b, box, int(MailboxField.PUBLISHED))
        seen = _slot(b, box, int(MailboxField.SEEN))
        count = b.load(_slot(b, box, int(MailboxField.CONSUMED)), typ=I64)

        def arrived(bb: ir.IRBuilder) -> ir.Value:
            latest = _atomic_load(bb, published, "acquire")
            bb.store(latest, seen)
            return bb.icmp_unsigned(">", latest, count)

        b.ret(self.wait_until(fn, b, ctx, arrived, opcode, src, word))
        return fn

    def _define_recv(self) -> ir.Function:
        """i32 cp_recv(ctx, message, src, opcode, word): the next message from src."""
        fn, b = self._internal("cp_recv", I32, [PTR, PTR, I64, I64, I64], inline=True)
        ctx, message, src, opcode, word = fn.args
        box = self._mailbox(b, ctx, src, self.ctx_load(b, ctx, CtxField.SID))
        consumed = _slot(b, box, int(MailboxField.CONSUMED))
        head = _slot(b, box, int(MailboxField.HEAD_CHUNK))
        count = b.load(consumed, typ=I64)
        # Messages below SEEN were acquired already: only past it is the sender's count
        # read again (in the wait).
        known = b.load(_slot(b, box, int(MailboxField.SEEN)), typ=I64)
        entry = b.block
        wait = fn.append_basic_block("wait")
        waited = fn.append_basic_block("waited")
        b.cbranch(b.icmp_unsigned(">", known, count), waited, wait)
        b.position_at_end(wait)
        waited_code = b.call(self.recv_wait, [ctx, box, src, opcode, word])
        b.branch(waited)
        b.position_at_end(waited)
        code = b.phi(I32)
        code.add_incoming(ir.Constant(I32, 0), entry)
        code.add_incoming(waited_code, wait)
        failed = fn.append_basic_block("failed")
        take = fn.append_basic_block("take")
        b.cbranch(b.icmp_unsigned("!=", code, ir.Constant(I32, 0)), failed, take)
        b.position_at_end(failed)
        b.ret(code)
        b.position_at_end(take)
        index = b.urem(count, ir.Constant(I64, CHUNK_MESSAGES))
        chunk = b.load(head, typ=PTR)
        advance = fn.append_basic_block("advance")
        read = fn.append_basic_block("read")
        crossed = b.and_(b.icmp_unsigned("==", index, ir.Constant(I64, 0)),
                         b.icmp_unsigned("!=", count, ir.Constant(I64, 0)))
        b.cbranch(crossed, advance, read)
        b.position_at_end(advance)
        following = b.load(chunk, typ=PTR)
        b.call(self.free, [chunk])
        b.store(following, head)
        b.branch(read)
        b.position_at_end(read)
        current = b.phi(PTR)
        current.add_incoming(chunk, take)
        current.add_incoming(following, advance)
        b.store(b.load(self._message_slot(b, current, index), typ=MESSAGE), message)
        b.store(b.add(count, ir.Constant(I64, 1)), consumed)
        self.count_event(b, ctx)
        b.ret(ir.Constant(I32, 0))
        return fn

    # -- collectives --------------------------------------------------------
    def collective(self, kind: str, op: RedOp | None = None, t: Type | None = None
                   ) -> ir.Function:
        """i32 cp_<kind>(ctx, bits, root, key, word, out): CBAR ("bar"), CREDUCE.<t>
        ("reduce"), CCAST ("cast"); ``out`` receives the 64-bit result. ``key`` says which
        collective this is (layout.collective_key); sentrons must agree on it."""
        key = (kind, op, t)
        if key not in self.collective_cache:
            self.collective_cache[key] = self._define_collective(kind, op, t)
        return self.collective_cache[key]

    def _define_collective(self, kind: str, op: RedOp | None, t: Type | None) -> ir.Function:
        suffix = "" if op is None or t is None else f"_{op.name.lower()}_{t.suffix}"
        fn, b = self._internal(f"cp_{kind}{suffix}", I32, [PTR, I64, I64, I64, I64, PTR])
        ctx, bits, root, opcode, word, out = fn.args
        sid = self.ctx_load(b, ctx, CtxField.SID)
        num = b.load(self.shared(b, ctx, SharedField.NUM), typ=I64)
        slots = b.load(self.shared(b, ctx, SharedField.SLOTS), typ=PTR)
        kinds = b.load(self.shared(b, ctx, SharedField.KINDS), typ=PTR)
        b.store(bits, _slot(b, slots, sid))
        mine = b.mul(sid, ir.Constant(I64, 2))
        b.store(opcode, _slot(b, kinds, mine))
        b.store(word, _slot(b, kinds, b.add(mine, ir.Constant(I64, 1))))
        self._leave_on_error(fn, b, b.call(self.barrier_raw, [ctx, opcode, word]))
        # Every sentron must be in the same collective.
        self._check_kinds(fn, b, ctx, kinds, num, opcode)
        if kind == "reduce":
            assert op is not None and t is not None
            b.store(self._fold(fn, b, slots, num, op, t), out)
        elif kind == "cast":
            b.store(b.load(_slot(b, slots, root), typ=I64), out)
        # Nobody may overwrite the slots before everyone has read them.
        b.ret(b.call(self.barrier_raw, [ctx, opcode, word]))
        return fn

    @staticmethod
    def _leave_on_error(fn: ir.Function, b: ir.IRBuilder, code: ir.Value) -> None:
        failed = fn.append_basic_block("failed")
        ok = fn.append_basic_block("ok")
        b.cbranch(b.icmp_unsigned("!=", code, ir.Constant(I32, 0)), failed, ok)
        b.position_at_end(failed)
        b.ret(code)
        b.position_at_end(ok)

    def _check_kinds(self, fn: ir.Function, b: ir.IRBuilder, ctx: ir.Value, kinds: ir.Value,
                     num: ir.Value, opcode: ir.Value) -> None:
        def body(bb: ir.IRBuilder, index: ir.Value, acc: ir.Value) -> ir.Value:
            other = bb.load(_slot(bb, kinds, bb.mul(index, ir.Constant(I64, 2))), typ=I64)
            differs = bb.icmp_unsigned("!=", other, opcode)
            return bb.select(differs, other, acc)

        mismatch = self._loop(fn, b, num, ir.Constant(I64, 0), ir.Constant(I64, -1), body)
        bad = fn.append_basic_block("mismatch")
        good = fn.append_basic_block("same")
        b.cbranch(b.icmp_signed("!=", mismatch, ir.Constant(I64, -1)), bad, good)
        b.position_at_end(bad)
        self.ctx_store(b, ctx, CtxField.ERR_A, opcode)
        self.ctx_store(b, ctx, CtxField.ERR_B, mismatch)
        b.ret(ir.Constant(I32, ErrorCode.COLLECTIVE_MISMATCH))
        b.position_at_end(good)

    def _fold(self, fn: ir.Function, b: ir.IRBuilder, slots: ir.Value, num: ir.Value,
              op: RedOp, t: Type) -> ir.Value:
        first = from_bits(b, b.load(_slot(b, slots, 0), typ=I64), t)

        def body(bb: ir.IRBuilder, index: ir.Value, acc: ir.Value) -> ir.Value:
            value = from_bits(bb, bb.load(_slot(bb, slots, index), typ=I64), t)
            return fold_step(bb, self.module, op, t, acc, value)

        total = self._loop(fn, b, num, ir.Constant(I64, 1), first, body)
        return to_bits(b, total, t)

    @staticmethod
    def _loop(fn: ir.Function, b: ir.IRBuilder, count: ir.Value, start: ir.Value,
              init: ir.Value, body: Callable[[ir.IRBuilder, ir.Value, ir.Value], ir.Value]
              ) -> ir.Value:
        """acc = init; for i in start..count-1: acc = body(i, acc); returns acc."""
        entry = b.block
        head = fn.append_basic_block("loop")
        step = fn.append_basic_block("step")
        done = fn.append_basic_block("loop_done")
        b.branch(head)
        b.position_at_end(head)
        index = b.phi(I64)
        acc = b.phi(init.type)
        index.add_incoming(start, entry)
        acc.add_incoming(init, entry)
        b.cbranch(b.icmp_unsigned("<", index, count), step, done)
        b.position_at_end(step)
        updated = body(b, index, acc)
        index.add_incoming(b.add(index, ir.Constant(I64, 1)), b.block)
        acc.add_incoming(updated, b.block)
        b.branch(head)
        b.position_at_end(done)
        return acc
