"""Closure builders for C-pipe families: message packing, send/receive through
the scheduler's FIFOs, barrier and collectives, sentron identity.

A C op that must wait returns ``BLOCKED`` without changing any state and sets
``st.block_reason``; the word is retried when the sentron is scheduled again.
"""

from __future__ import annotations

from collections.abc import Callable

from phextcc.backend.isa import RedOp
from phextcc.backend.program import Instr
from runtime.errors import SentronCountError, VtpuRuntimeError
from runtime.floatbits import signed64
from runtime.ops_dense import Builder, op_type, operands
from runtime.semantics import reducer
from runtime.sentron_state import BLOCKED, OpFn, SentronState


def build_pack(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    m, s, lane = o["md"], o["rs"], o["lane"]

    def pack() -> None:
        lanes = list(R[m])
        lanes[lane] = R[s]
        R[m] = tuple(lanes)
    return pack


def build_unpack(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    d, m, lane = o["rd"], o["ms"], o["lane"]

    def unpack() -> None:
        R[d] = R[m][lane]
    return unpack


def _sentron_id(value: int, count: int, what: str) -> int:
    sid = signed64(value)
    if not 0 <= sid < count:
        raise SentronCountError(f"{what} sentron {sid}, but there are only {count} "
                                "sentron(s)")
    return sid


def _sender(st: SentronState, dst: int, message: Callable[[], tuple[int, ...]]) -> OpFn:
    """Append ``message()`` to this sentron's FIFO towards sentron ``R[dst]``."""
    R, scheduler, count, sid, timing = st.registers, st.scheduler, st.count, st.sid, st.timing
    assert scheduler is not None
    fifos = scheduler.fifos

    def send() -> None:
        # CSENDR reports like CSEND: both name the FIFO op (the JIT reports the same).
        target = _sentron_id(R[dst], count, "CSEND to")
        arrival = timing.candidate + timing.message_latency if timing else 0
        fifos[(sid, target)].append((message(), arrival))
    return send


def build_send(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    m = o["ms"]
    return _sender(st, o["dst"], lambda: R[m])


def build_send_register(instr: Instr, st: SentronState) -> OpFn:
    """CSENDR: the one-lane message (rs, 0, 0, 0), receivable by CRECV or CRECVR."""
    o, R = operands(instr), st.registers
    s = o["rs"]
    return _sender(st, o["dst"], lambda: (R[s], 0, 0, 0))


def _receiver(st: SentronState, src: int, deliver: Callable[[tuple[int, ...]], None]
              ) -> OpFn:
    """Pop the next message from sentron ``R[src]`` into ``deliver``, or block."""
    R, scheduler, count, sid = st.registers, st.scheduler, st.count, st.sid
    assert scheduler is not None
    fifos = scheduler.fifos

    def receive() -> int | None:
        source = _sentron_id(R[src], count, "CRECV from")
        fifo = fifos[(source, sid)]
        if not fifo:
            st.block_reason = f"CRECV from sentron {source}"
            return BLOCKED
        message, arrival = fifo.popleft()
        deliver(message)
        st.wait_until, st.wait_cause = arrival, "recv_wait"
        return None
    return receive


def build_receive(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    m = o["md"]

    def deliver(message: tuple[int, ...]) -> None:
        R[m] = message
    return _receiver(st, o["src"], deliver)


def build_receive_register(instr: Instr, st: SentronState) -> OpFn:
    """CRECVR: rd = lane 0 of the next message (sent by CSEND or CSENDR)."""
    o, R = operands(instr), st.registers
    d = o["rd"]

    def deliver(message: tuple[int, ...]) -> None:
        R[d] = message[0]
    return _receiver(st, o["src"], deliver)


Prepared = tuple[tuple, int, Callable[[list[int]], int], str]


def _collective(st: SentronState, prepare: Callable[[], Prepared], latency_class: str,
                assign: Callable[[int], None]) -> OpFn:
    """A C op in which every sentron takes part: arrive, wait for the others,
    then pick up the combined result (computed once, by the last to arrive).
    ``prepare`` reads the operands: (matching key, contribution, combine, reason)."""
    scheduler, timing, siw = st.scheduler, st.timing, st.decoding_siw
    assert scheduler is not None

    def collective() -> int | None:
        key, value, combine, reason = prepare()
        arrival = timing.candidate if timing else 0
        outcome = scheduler.collective(st, key, value, arrival, combine, latency_class, siw)
        if outcome is None:
            st.block_reason = reason
            return BLOCKED
        result, release = outcome
        assign(result)
        st.wait_until, st.wait_cause = release, "barrier_wait"
        return None
    return collective


def _ignore(result: int) -> None:
    return None


def build_barrier(instr: Instr, st: SentronState) -> OpFn:
    prepared: Prepared = (("CBAR",), 0, lambda values: 0, "CBAR")
    return _collective(st, lambda: prepared, "sync", _ignore)


def _undefined(message: str) -> OpFn:
    def undefined() -> None:
        raise VtpuRuntimeError(message)
    return undefined


def build_reduce(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    t, red = op_type(instr), RedOp(o["op"])
    step = reducer(red, t)
    if step is None:
        return _undefined(f"{instr.info.mnemonic} with {red.name} is not defined")
    d, s = o["rd"], o["rs"]
    fold_step = step

    def fold(values: list[int]) -> int:
        total = values[0]
        for value in values[1:]:  # left fold in sentron order: deterministic
            total = fold_step(total, value)
        return total

    def assign(result: int) -> None:
        R[d] = result

    key = (instr.info.mnemonic, red.name)
    reason = f"{instr.info.mnemonic} {red.name}"
    return _collective(st, lambda: (key, R[s], fold, reason), "collective", assign)


def build_broadcast(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    d, s, root, count = o["rd"], o["rs"], o["root"], st.count

    def assign(result: int) -> None:
        R[d] = result

    def prepare() -> Prepared:
        root_id = _sentron_id(R[root], count, "CCAST from root")
        return (("CCAST", root_id), R[s], lambda values: values[root_id],
                f"CCAST from root {root_id}")
    return _collective(st, prepare, "collective", assign)


def build_fence(instr: Instr, st: SentronState) -> OpFn:
    # Memory and messages are sequentially consistent in the simulator.
    return lambda: None


def build_sentron_id(instr: Instr, st: SentronState) -> OpFn:
    R, d, sid = st.registers, operands(instr)["rd"], st.sid

    def sentron_id() -> None:
        R[d] = sid
    return sentron_id


def build_sentron_count(instr: Instr, st: SentronState) -> OpFn:
    R, d, count = st.registers, operands(instr)["rd"], st.count

    def sentron_count() -> None:
        R[d] = count
    return sentron_count


MESSAGE_BUILDERS: dict[str, Builder] = {
    "CPACK": build_pack,
    "CUNPK": build_unpack,
    "CSEND": build_send,
    "CRECV": build_receive,
    "CSENDR": build_send_register,
    "CRECVR": build_receive_register,
    "CBAR": build_barrier,
    "CFENCE": build_fence,
    "CREDUCE": build_reduce,
    "CCAST": build_broadcast,
    "CSID": build_sentron_id,
    "CNUM": build_sentron_count,
}

# C families whose op may return BLOCKED.
BLOCKING_FAMILIES = frozenset({"CRECV", "CRECVR", "CBAR", "CREDUCE", "CCAST"})
