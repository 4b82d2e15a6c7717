"""Emitters of C-pipe ops: lane moves inline, everything that talks to other sentrons
through the helpers of cpipe.py (a non-zero helper result leaves the kernel with it)."""

from __future__ import annotations

from llvmlite import ir

from phextcc.backend.isa import BY_MNEMONIC, RedOp, RegClass, Type
from phextcc.backend.program import Instr
from runtime.jit.analysis import operand_values
from runtime.jit.cpipe import CpipeRuntime
from runtime.jit.irtypes import I32, I64
from runtime.jit.layout import ErrorCode, collective_key
from runtime.jit.reduce_ops import reduction_defined
from runtime.jit.translate import Emitter, KernelTranslator, WordEffects, Write


def _runtime(tr: KernelTranslator) -> CpipeRuntime:
    assert tr.runtime.cpipe is not None, "C-pipe traffic in a module without the runtime"
    return tr.runtime.cpipe


def emit_sid(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    return WordEffects([Write(RegClass.R, operand_values(instr)["rd"], tr.sid, Type.I64)])


def emit_num(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    return WordEffects([Write(RegClass.R, operand_values(instr)["rd"], tr.num, Type.I64)])


def emit_pack(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    return WordEffects([Write(RegClass.M, v["md"], tr.read_r(v["rs"]), Type(v["lane"]))])


def emit_unpack(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    lane = tr.builder.load(tr.m_slots[v["ms"]][v["lane"]])
    return WordEffects([Write(RegClass.R, v["rd"], lane, Type.I64)])


def _check_sentron(tr: KernelTranslator, instr: Instr, word: int, sentron: ir.Value) -> None:
    _check_sentron_as(tr, instr.info.opcode, word, sentron)


def _check_sentron_as(tr: KernelTranslator, opcode: int, word: int, sentron: ir.Value
                      ) -> None:
    """Fail unless ``sentron`` exists; the error names the op of ``opcode``."""
    inside = tr.builder.icmp_unsigned("<", sentron, tr.num)  # negative ids fail too
    tr.fail_unless(inside, ErrorCode.BAD_SENTRON, word, (sentron, 0, opcode))


def _leave_unless_zero(tr: KernelTranslator, code: ir.Value, word: int) -> None:
    tr.fail_unless(tr.builder.icmp_unsigned("==", code, ir.Constant(I32, 0)), code, word)


# CSENDR/CRECVR share the mailboxes of CSEND/CRECV. Their errors and waits are reported
# as those of CSEND/CRECV (the FIFO op), exactly as the simulator reports them.
_SEND_OPCODE = BY_MNEMONIC["CSEND"].opcode
_RECV_OPCODE = BY_MNEMONIC["CRECV"].opcode


def _post(tr: KernelTranslator, word: int, dst: ir.Value, lanes: list[ir.Value]) -> None:
    """Send the message of four 64-bit ``lanes`` to sentron ``dst``."""
    _check_sentron_as(tr, _SEND_OPCODE, word, dst)
    for lane, value in enumerate(lanes):
        tr.builder.store(value, tr.message_lane(lane))
    tr.builder.call(_runtime(tr).send, [tr.ctx, tr.message, dst])


def _fetch(tr: KernelTranslator, word: int, src: ir.Value) -> None:
    """Receive the next message from sentron ``src`` into the message buffer."""
    _check_sentron_as(tr, _RECV_OPCODE, word, src)
    code = tr.builder.call(_runtime(tr).recv, [tr.ctx, tr.message, src,
                                               ir.Constant(I64, _RECV_OPCODE),
                                               ir.Constant(I64, word)])
    _leave_unless_zero(tr, code, word)


def emit_send(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    _post(tr, word, tr.read_r(v["dst"]), list(tr.read_m(v["ms"])))
    return WordEffects()


def emit_recv(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    _fetch(tr, word, tr.read_r(v["src"]))
    return WordEffects([Write(RegClass.M, v["md"], tr.builder.load(tr.message_lane(lane)),
                              Type(lane)) for lane in range(4)])


def emit_send_register(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    """CSENDR: the one-lane message (rs, 0, 0, 0)."""
    v = operand_values(instr)
    zero = ir.Constant(I64, 0)
    _post(tr, word, tr.read_r(v["dst"]), [tr.read_r(v["rs"]), zero, zero, zero])
    return WordEffects()


def emit_recv_register(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    """CRECVR: rd = lane 0 of the next message from src."""
    v = operand_values(instr)
    _fetch(tr, word, tr.read_r(v["src"]))
    return WordEffects([Write(RegClass.R, v["rd"], tr.builder.load(tr.message_lane(0)),
                              Type.I64)])


def _collective(tr: KernelTranslator, instr: Instr, word: int, kind: str, bits: ir.Value,
                root: ir.Value, key: ir.Value, op: RedOp | None = None, t: Type | None = None
                ) -> ir.Value:
    helper = _runtime(tr).collective(kind, op, t)
    code = tr.builder.call(helper, [tr.ctx, bits, root, key, ir.Constant(I64, word),
                                    tr.message])
    _leave_unless_zero(tr, code, word)
    return tr.builder.load(tr.message_lane(0))


def emit_barrier(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    zero = ir.Constant(I64, 0)
    key = ir.Constant(I64, collective_key(instr.info.opcode))
    _collective(tr, instr, word, "bar", zero, zero, key)
    return WordEffects()


def emit_fence(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    tr.builder.fence("seq_cst")
    return WordEffects()


def emit_reduce(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    t = instr.info.type
    assert t is not None
    op = RedOp(v["op"])
    if not reduction_defined(op, t):
        return tr.unsupported(instr, word, int(op) + 1)
    key = ir.Constant(I64, collective_key(instr.info.opcode, int(op)))
    result = _collective(tr, instr, word, "reduce", tr.read_r(v["rs"]), ir.Constant(I64, 0),
                         key, op, t)
    return WordEffects([Write(RegClass.R, v["rd"], result, Type.I64)])


def emit_cast(tr: KernelTranslator, instr: Instr, word: int) -> WordEffects:
    v = operand_values(instr)
    bits = tr.read_r(v["rs"])
    root = tr.read_r(v["root"])
    _check_sentron(tr, instr, word, root)
    key = tr.builder.or_(ir.Constant(I64, collective_key(instr.info.opcode)),
                         tr.builder.shl(root, ir.Constant(I64, 16)))
    result = _collective(tr, instr, word, "cast", bits, root, key)
    return WordEffects([Write(RegClass.R, v["rd"], result, Type.I64)])


CPIPE_EMITTERS: dict[str, Emitter] = {
    "CSID": emit_sid, "CNUM": emit_num, "CPACK": emit_pack, "CUNPK": emit_unpack,
    "CSEND": emit_send, "CRECV": emit_recv, "CBAR": emit_barrier, "CFENCE": emit_fence,
    "CREDUCE": emit_reduce, "CCAST": emit_cast,
    "CSENDR": emit_send_register, "CRECVR": emit_recv_register,
}
