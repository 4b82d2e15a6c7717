"""Decoding a kernel once per sentron into callables: one closure per word.

Each non-NOP op becomes a closure from the builder table (keyed by op family);
the ops of a word are composed into one word closure so the inner loop makes a
single call per SIW. Ops run C first (it is the only one that can block, and a
blocked word must not have half executed), then S, then D (the only one that
can branch or halt). Words whose ops are independent (what the packer
guarantees) write registers directly; words where one op writes what another
reads get snapshot semantics, so every op sees the registers from before the word.
"""

from __future__ import annotations

from phextcc.backend.hardware_loops import loops_by_end
from phextcc.backend.isa import Role
from phextcc.backend.program import Instr, KernelInfo, Program, Word
from runtime.errors import ControlFlowError
from runtime.ops_dense import DENSE_BUILDERS, Builder, build_reserved
from runtime.ops_loops import LOOP_BUILDERS, with_loop_back
from runtime.ops_memory import MEMORY_BUILDERS
from runtime.ops_messages import BLOCKING_FAMILIES, MESSAGE_BUILDERS
from runtime.sentron_state import BLOCKED, OpFn, SentronState, reg_index

OP_BUILDERS: dict[str, Builder] = {**DENSE_BUILDERS, **MEMORY_BUILDERS, **MESSAGE_BUILDERS,
                                   **LOOP_BUILDERS}


def build_op(instr: Instr, st: SentronState) -> OpFn:
    if instr.info.reserved:
        return build_reserved(instr, st)
    builder = OP_BUILDERS.get(instr.info.family)
    if builder is None:
        return build_reserved(instr, st)
    if instr.width:
        message = f"{instr.info.mnemonic} with vector width {1 << instr.width} is not " \
                  "supported by ISA 0.1"

        def unsupported() -> None:
            raise ControlFlowError(message)
        return unsupported
    return builder(instr, st)


def _registers(instr: Instr, roles: tuple[Role, ...]) -> set[int]:
    return {reg_index(o.kind, v) for o, v in zip(instr.info.operands, instr.args)
            if o.kind.is_reg and o.role in roles}


def has_internal_dependence(word: Word) -> bool:
    """True when an op of the word writes a register another op of it reads or writes."""
    ops = [op for op in word.ops if not op.is_nop]
    for writer in ops:
        written = _registers(writer, (Role.DEF, Role.USEDEF))
        for other in ops:
            if other is not writer and written & _registers(
                    other, (Role.USE, Role.USEDEF, Role.DEF)):
                return True
    return False


def _no_op() -> None:
    return None


def _compose(fns: list[OpFn], first_blocks: bool) -> OpFn:
    """One closure running ``fns`` in order (C, S, D); only the first may block and
    only the last may branch or halt."""
    if not fns:
        return _no_op
    if len(fns) == 1:
        return fns[0]
    if len(fns) == 2:
        first, last = fns
        if first_blocks:
            def pair_blocking() -> int | None:
                if first() is not None:
                    return BLOCKED
                return last()
            return pair_blocking

        def pair() -> int | None:
            first()
            return last()
        return pair
    first, middle, last = fns
    if first_blocks:
        def triple_blocking() -> int | None:
            if first() is not None:
                return BLOCKED
            middle()
            return last()
        return triple_blocking

    def triple() -> int | None:
        first()
        middle()
        return last()
    return triple


def _snapshot(fns: list[OpFn], st: SentronState, first_blocks: bool) -> OpFn:
    """Run each op against the register file as it was before the word, then
    apply all writes (rare: the packer keeps a word's ops independent)."""
    R = st.registers

    def snapshot_word() -> int | None:
        before = R[:]
        writes: list[tuple[int, object]] = []
        result = None
        for position, fn in enumerate(fns):
            R[:] = before
            outcome = fn()
            if position == 0 and first_blocks and outcome is not None:
                R[:] = before
                return BLOCKED
            if outcome is not None:
                result = outcome
            writes.extend((i, v) for i, v in enumerate(R) if v is not before[i])
        R[:] = before
        for index, value in writes:
            R[index] = value
        return result
    return snapshot_word


def _fall_off(kernel: KernelInfo) -> OpFn:
    def fall_off() -> None:
        raise ControlFlowError(f"control left kernel '{kernel.name}' (SIWs {kernel.entry}.."
                               f"{kernel.entry + kernel.length - 1})")
    return fall_off


def decode_kernel(program: Program, kernel: KernelInfo, st: SentronState) -> list[OpFn]:
    """The word closures of ``kernel`` for sentron ``st``, indexed by absolute SIW
    index; indices outside the kernel raise when reached."""
    end = kernel.entry + kernel.length
    if end > len(program.words) or kernel.entry < 0:
        raise ControlFlowError(f"kernel '{kernel.name}' spans SIWs {kernel.entry}..{end - 1}"
                               f" but the stream has {len(program.words)}")
    outside = _fall_off(kernel)
    code: list[OpFn] = [outside] * kernel.entry
    loop_ends = loops_by_end(program, kernel)
    for index in range(kernel.entry, end):
        word = program.words[index]
        st.decoding_siw = index
        fns = [build_op(op, st) for op in word.ops_in_execution_order if not op.is_nop]
        first_blocks = not word.c.is_nop and word.c.info.family in BLOCKING_FAMILIES
        _check_target(word.d, kernel, index)  # only D ops branch
        if has_internal_dependence(word):
            word_fn = _snapshot(fns, st, first_blocks)
        else:
            word_fn = _compose(fns, first_blocks)
        loop = loop_ends.get(index)
        code.append(word_fn if loop is None else with_loop_back(word_fn, loop, st))
    code.append(outside)
    return code


def _check_target(instr: Instr, kernel: KernelInfo, index: int) -> None:
    names = [o.name for o in instr.info.operands]
    name = "end" if "end" in names else "target"  # DLOOP names its loop end "end"
    if name not in names:
        return
    target = instr.args[names.index(name)]
    if not kernel.entry <= target < kernel.entry + kernel.length:
        raise ControlFlowError(f"SIW {index}: {instr.info.mnemonic} targets SIW {target}, "
                               f"outside kernel '{kernel.name}'")

