"""`.siws` text from a Program: the complete, re-assemblable form of a `.siw` file.

The text holds everything the binary holds (flags, source name, constant pool, kernel
table, every word with its three ops and deps byte, debug locations), so that
``assemble(disassemble(p))`` encodes to the same bytes as ``p``. The syntax is
described in docs/siw-format.md; operand spelling comes from ``isa.Kind.prefix``.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable

from phextcc.backend.isa import ENUM_OF_KIND, ISA_VERSION, Effect, Kind, Pipe
from phextcc.backend.program import Instr, KernelInfo, Param, Program, Word

Label = Callable[[int], str]


def label_name(index: int) -> str:
    """The label the disassembler gives the word at stream index ``index``."""
    return f"L{index}"


def format_operand(kind: Kind, value: int, label: Label = label_name) -> str:
    """One operand in assembly syntax (enum names when the value is a member)."""
    if kind is Kind.TARGET:
        return "@" + label(value)
    enum_type = ENUM_OF_KIND.get(kind)
    if enum_type is not None:
        members = {m.value: m.name.lower() for m in enum_type}
        return members.get(value, str(value))
    return f"{kind.prefix}{value}"


def format_instr(instr: Instr, label: Label = label_name) -> str:
    """``MNEMONIC op, op, ...`` (``/wN`` marks a non-zero vector width)."""
    head = instr.info.mnemonic + (f"/w{instr.width}" if instr.width else "")
    operands = ", ".join(format_operand(o.kind, v, label)
                         for o, v in zip(instr.info.operands, instr.args))
    return f"{head} {operands}" if operands else head


def format_word(word: Word, label: Label = label_name) -> str:
    ops = " | ".join(format_instr(i, label) for i in word.ops)
    return f"{{ {ops} }} deps={word.deps:#04x}"


def format_param(param: Param) -> str:
    if not param.is_tensor:
        return f".param {param.name} {param.dtype}"
    dims = ", ".join(str(d) for d in param.dims)
    return f".param {param.name} {param.dtype}[{dims}]"


def format_kernel_header(kernel: KernelInfo) -> list[str]:
    lines = [f".kernel {kernel.name}"]
    lines += [format_param(p) for p in kernel.params]
    if kernel.symbols:
        lines.append(".symbols " + " ".join(kernel.symbols))
    lines.append(f".spill {kernel.spill_words}")
    lines.append(f".sentrons {kernel.min_sentrons} {kernel.max_sentrons}")
    lines.append(f".cpipe {'yes' if kernel.uses_cpipe else 'no'}")
    return lines


def _pool_comment(value: int) -> str:
    as_double = struct.unpack("<d", struct.pack("<Q", value))[0]
    signed = value - (1 << 64) if value >> 63 else value
    return f"int {signed}, f64 {as_double!r}"


def branch_targets(program: Program) -> set[int]:
    """Words named by a branch or by a DLOOP (its loop end): each gets a label."""
    targets: set[int] = set()
    for word in program.words:
        if word.d.info.effects & (Effect.BRANCH | Effect.LOOP):
            for operand, value in zip(word.d.info.operands, word.d.args):
                if operand.kind is Kind.TARGET:
                    targets.add(value)
    return targets


def _program_header(program: Program) -> list[str]:
    lines = [f".isa {ISA_VERSION[0]}.{ISA_VERSION[1]}"]
    if program.flags:
        lines.append(f".flags {program.flags:#x}")
    if program.source_name:
        lines.append(f".source {json.dumps(program.source_name)}")
    for index, value in enumerate(program.pool):
        lines.append(f".const {value:#018x}    ; ${index}: {_pool_comment(value)}")
    return lines


def disassemble(program: Program) -> str:
    """The `.siws` text of ``program`` (also of unverified programs, for diagnostics;
    only verified programs are guaranteed to re-assemble to the same bytes)."""
    lines = _program_header(program)
    starts: dict[int, list[KernelInfo]] = {}
    for kernel in program.kernels:
        starts.setdefault(kernel.entry, []).append(kernel)
    targets = branch_targets(program)
    for index, word in enumerate(program.words):
        for kernel in starts.pop(index, []):
            lines += ["", *format_kernel_header(kernel)]
        if index in targets:
            lines.append(f"{label_name(index)}:")
        if program.locations:
            loc = program.locations[index] if index < len(program.locations) else None
            lines.append("    .loc -" if loc is None else f"    .loc {loc.line} {loc.col}")
        slots = "" if [i.pipe for i in word.ops] == [Pipe.D, Pipe.S, Pipe.C] else \
            "    ; ops in the wrong slots"
        lines.append(f"    {format_word(word)}{slots}    ; {index}")
    for kernels in starts.values():  # kernels whose entry is past the stream (invalid)
        for kernel in kernels:
            lines += ["", f"; kernel entry {kernel.entry} is outside the stream",
                      *format_kernel_header(kernel)]
    return "\n".join(lines) + "\n"
