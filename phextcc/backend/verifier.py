"""The `.siw` verifier: every rule a program must satisfy before anything executes it.

``verify`` checks a decoded ``Program`` (the binary loader, the assembler and the code
generator all call it). Each rule is one small function; the first violation raises
``SiwVerifyError`` with a one-line message that names the kernel, word index and slot.
``compute_deps`` and ``reg_effects`` are the register facts the scheduler, the packer
and the simulator share with the verifier, all derived from the ISA table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

from phextcc.backend.hardware_loops import HardwareLoop, hardware_loops, is_loop_setup
from phextcc.backend.isa import (
    DEPS_BITS,
    ISA_VERSION,
    Effect,
    Kind,
    Operand,
    Pipe,
    RegClass,
    Role,
    field_range,
    operand_range,
)
from phextcc.backend.program import (
    SCALAR_TYPES,
    TENSOR_ELEMENT_TYPES,
    Instr,
    KernelInfo,
    Program,
    Word,
)

Reg = tuple[RegClass, int]

U32_MAX = (1 << 32) - 1
U64_MAX = (1 << 64) - 1
MAX_RANK = 11  # an AXIS operand names axes 0..10
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# Program.flags bits (informational: how the stream was compiled). Other bits are reserved.
PROGRAM_FLAGS: dict[str, int] = {
    "checks_off": 1 << 0,  # explicit DCHK bounds checks were not emitted
    "fast_math": 1 << 1,  # float reassociation was allowed
}
KNOWN_PROGRAM_FLAGS = sum(PROGRAM_FLAGS.values())


class SiwError(ValueError):
    """Base of every error about a `.siw` program (format or contract)."""


class SiwVerifyError(SiwError):
    """A program breaks a rule of the format or of the scheduling contract.

    ``word`` and ``slot`` locate the offending op when there is one (the assembler
    uses them to point at the source line)."""

    def __init__(self, message: str, word: int | None = None, slot: Pipe | None = None,
                 kernel: str | None = None):
        super().__init__(message)
        self.word = word
        self.slot = slot
        self.kernel = kernel


# ---------------------------------------------------------------------------
# Register facts derived from the table.
# ---------------------------------------------------------------------------


def reg_effects(instr: Instr) -> tuple[set[Reg], set[Reg]]:
    """(registers read, registers written) by one op, as (RegClass, number) pairs."""
    reads: set[Reg] = set()
    writes: set[Reg] = set()
    for operand, value in zip(instr.info.operands, instr.args):
        regclass = operand.kind.regclass
        if regclass is None:
            continue
        if operand.role in (Role.USE, Role.USEDEF):
            reads.add((regclass, value))
        if operand.role in (Role.DEF, Role.USEDEF):
            writes.add((regclass, value))
    return reads, writes


def compute_deps(prev: Word | None, word: Word) -> int:
    """The deps byte of ``word`` given the word before it in stream order (None for the
    first word): bit (X, Y) is set when the Y-pipe op touches a register the X-pipe op
    of ``prev`` writes."""
    if prev is None:
        return 0
    deps = 0
    for producer in prev.ops:
        _, written = reg_effects(producer)
        if not written:
            continue
        for consumer in word.ops:
            reads, writes = reg_effects(consumer)
            if written & (reads | writes):
                deps |= 1 << DEPS_BITS[(producer.pipe, consumer.pipe)]
    return deps


def spill_slot_words(instr: Instr) -> int:
    """8-byte words a spill/fill op touches: the size of its register operand."""
    for operand in instr.info.operands:
        if operand.kind.regclass is not None:
            return operand.kind.regclass.bits // 64
    return 1


# ---------------------------------------------------------------------------
# Program-level rules.
# ---------------------------------------------------------------------------


def _fail(message: str, word: int | None = None, slot: Pipe | None = None,
          kernel: str | None = None) -> None:
    raise SiwVerifyError(message, word, slot, kernel)


def _kfail(kernel: str, message: str, word: int | None = None,
           slot: Pipe | None = None) -> None:
    raise SiwVerifyError(f"kernel {kernel}: {message}", word, slot, kernel)


def check_flags(program: Program) -> None:
    if not 0 <= program.flags <= U32_MAX or program.flags & ~KNOWN_PROGRAM_FLAGS:
        _fail(f"program flags {program.flags:#x} set reserved bits")


def check_pool(program: Program) -> None:
    for index, value in enumerate(program.pool):
        if not 0 <= value <= U64_MAX:
            _fail(f"constant pool entry ${index} = {value} is not an unsigned 64-bit value")


def check_kernel_names(program: Program) -> None:
    seen: set[str] = set()
    for kernel in program.kernels:
        if not NAME_RE.match(kernel.name):
            _fail(f"kernel name {kernel.name!r} is not an identifier", kernel=kernel.name)
        if kernel.name in seen:
            _fail(f"kernel name {kernel.name!r} is defined twice", kernel=kernel.name)
        seen.add(kernel.name)


def check_kernel_signature(program: Program) -> None:
    for kernel in program.kernels:
        _check_symbols(kernel)
        _check_params(kernel)


def _check_symbols(kernel: KernelInfo) -> None:
    name = kernel.name
    if len(kernel.symbols) > operand_range(Kind.SYM)[1] + 1:
        _kfail(name, f"too many shape symbols ({len(kernel.symbols)})")
    if len(set(kernel.symbols)) != len(kernel.symbols):
        _kfail(name, "a shape symbol is listed twice")
    for symbol in kernel.symbols:
        if not NAME_RE.match(symbol):
            _kfail(name, f"shape symbol {symbol!r} is not an identifier")


def _check_params(kernel: KernelInfo) -> None:
    name = kernel.name
    if len(kernel.params) > operand_range(Kind.PARAM)[1] + 1:
        _kfail(name, f"too many parameters ({len(kernel.params)})")
    names = [p.name for p in kernel.params]
    if len(set(names)) != len(names):
        _kfail(name, "a parameter name is used twice")
    for index, param in enumerate(kernel.params):
        at = f"parameter {index} ({param.name!r})"
        if not NAME_RE.match(param.name):
            _kfail(name, f"{at}: name is not an identifier")
        allowed = TENSOR_ELEMENT_TYPES if param.is_tensor else SCALAR_TYPES
        if param.dtype not in allowed:
            _kfail(name, f"{at}: dtype {param.dtype!r} is not one of {', '.join(allowed)}")
        if not param.is_tensor and param.dims:
            _kfail(name, f"{at}: a scalar has no dimensions")
        if param.rank > MAX_RANK:
            _kfail(name, f"{at}: rank {param.rank} exceeds {MAX_RANK}")
        for extent in param.dims:
            if isinstance(extent, str):
                if extent not in kernel.symbols:
                    _kfail(name, f"{at}: extent {extent!r} is not a shape symbol of the kernel")
            elif not 0 <= extent <= U32_MAX:
                _kfail(name, f"{at}: extent {extent} is out of range")


def check_kernel_limits(program: Program) -> None:
    for kernel in program.kernels:
        if not 0 <= kernel.spill_words <= U32_MAX:
            _kfail(kernel.name, f"spill_words {kernel.spill_words} out of range")
        if not 1 <= kernel.min_sentrons <= U32_MAX:
            _kfail(kernel.name, "min_sentrons must be at least 1")
        if not (kernel.max_sentrons == 0
                or kernel.min_sentrons <= kernel.max_sentrons <= U32_MAX):
            _kfail(kernel.name, f"max_sentrons {kernel.max_sentrons} is below min_sentrons "
                   f"{kernel.min_sentrons} (0 means unbounded)")


def check_kernel_ranges(program: Program) -> None:
    """Kernels tile the stream: in table order, each starts where the previous ended,
    the first at word 0, the last ending at the end of the stream; none is empty."""
    expected = 0
    for kernel in program.kernels:
        if kernel.length < 1:
            _kfail(kernel.name, "empty code range")
        if kernel.entry != expected:
            _kfail(kernel.name, f"entry {kernel.entry} should be {expected} (kernels cover "
                   "the stream in table order without gaps or overlap)")
        expected = kernel.entry + kernel.length
        if expected > len(program.words):
            _kfail(kernel.name, f"range {kernel.entry}..{expected} exceeds the stream of "
                   f"{len(program.words)} words")
    if expected != len(program.words):
        _fail(f"word {expected} belongs to no kernel", expected)


def check_kernel_ends(program: Program) -> None:
    for kernel in program.kernels:
        last = kernel.entry + kernel.length - 1
        family = program.words[last].d.info.family
        if family not in ("DHALT", "DJMP"):
            _kfail(kernel.name, f"last word {last} must end in DHALT or DJMP (found "
                   f"{program.words[last].d.info.mnemonic})", last, Pipe.D)


def check_locations(program: Program) -> None:
    if "\x00" in program.source_name:
        _fail("source file name contains a NUL character")
    if program.locations and len(program.locations) != len(program.words):
        _fail(f"debug info has {len(program.locations)} locations for "
              f"{len(program.words)} words")
    for index, loc in enumerate(program.locations):
        if loc is not None and not (1 <= loc.line <= U32_MAX and 0 <= loc.col <= U32_MAX):
            _fail(f"word {index}: bad source location {loc.line}:{loc.col}", index)


# ---------------------------------------------------------------------------
# Word-level rules.
# ---------------------------------------------------------------------------


class OpContext:
    """Where an op sits: its program, kernel, word index and slot."""

    def __init__(self, program: Program, kernel: KernelInfo, index: int, slot: Pipe):
        self.program = program
        self.kernel = kernel
        self.index = index
        self.slot = slot

    def fail(self, message: str) -> None:
        _fail(f"word {self.index} slot {self.slot.name} ({self.kernel.name}): {message}",
              self.index, self.slot, self.kernel.name)


def check_op_shape(instr: Instr, ctx: OpContext) -> None:
    info = instr.info
    if info.pipe != ctx.slot:
        ctx.fail(f"{info.mnemonic} is a {info.pipe.name}-pipe op")
    if info.reserved:
        isa = f"ISA {ISA_VERSION[0]}.{ISA_VERSION[1]}"
        why = (f"a v{info.version[0]}.{info.version[1]} op, not part of {isa}"
               if info.version > ISA_VERSION else f"no semantics are defined in {isa}")
        ctx.fail(f"{info.mnemonic} is reserved ({why})")
    if instr.width != 0:
        ctx.fail(f"vector width {instr.width} is not supported (only 0 in this ISA)")
    if len(instr.args) != len(info.operands):
        ctx.fail(f"{info.mnemonic} takes {len(info.operands)} operands, "
                 f"got {len(instr.args)}")


def check_operand_ranges(instr: Instr, ctx: OpContext) -> None:
    for operand, value in zip(instr.info.operands, instr.args):
        low, high = field_range(operand)
        if not low <= value <= high:
            ctx.fail(f"operand {operand.name} = {value} of {instr.info.mnemonic} is out "
                     f"of range {low}..{high}")


def _check_param(instr: Instr, operand: Operand, value: int, ctx: OpContext) -> None:
    params = ctx.kernel.params
    if value >= len(params):
        ctx.fail(f"parameter index {value} but the kernel has {len(params)} parameters")
        return
    wants_tensor = instr.info.family != "DARG"
    if params[value].is_tensor != wants_tensor:
        wanted = "tensor" if wants_tensor else "scalar"
        ctx.fail(f"{instr.info.mnemonic} needs a {wanted} parameter, "
                 f"arg{value} ({params[value].name}) is not")
    if instr.info.family == "DCHK":
        axis = instr.args[[o.kind for o in instr.info.operands].index(Kind.AXIS)]
        if axis >= params[value].rank:
            ctx.fail(f"axis {axis} but tensor {params[value].name} has rank "
                     f"{params[value].rank}")


def _check_sym(instr: Instr, operand: Operand, value: int, ctx: OpContext) -> None:
    if value >= len(ctx.kernel.symbols):
        ctx.fail(f"shape symbol index {value} but the kernel has "
                 f"{len(ctx.kernel.symbols)} symbols")


def _check_pool(instr: Instr, operand: Operand, value: int, ctx: OpContext) -> None:
    if value >= len(ctx.program.pool):
        ctx.fail(f"constant pool index {value} but the pool has "
                 f"{len(ctx.program.pool)} entries")


def _check_target(instr: Instr, operand: Operand, value: int, ctx: OpContext) -> None:
    start, end = ctx.kernel.entry, ctx.kernel.entry + ctx.kernel.length
    if not start <= value < end:
        what = "loop end" if is_loop_setup(instr) else "branch target"
        ctx.fail(f"{what} {value} is outside the kernel's words {start}..{end - 1}")


def _check_slot(instr: Instr, operand: Operand, value: int, ctx: OpContext) -> None:
    size = spill_slot_words(instr)
    if value + size > ctx.kernel.spill_words:
        ctx.fail(f"spill slot {value} (+{size} words) exceeds the kernel's "
                 f"{ctx.kernel.spill_words} spill words")


# Kernel-relative operand kinds and their checks.
KIND_CHECKS: dict[Kind, Callable[[Instr, Operand, int, OpContext], None]] = {
    Kind.PARAM: _check_param,
    Kind.SYM: _check_sym,
    Kind.POOL: _check_pool,
    Kind.TARGET: _check_target,
    Kind.SLOT: _check_slot,
}


def check_operand_references(instr: Instr, ctx: OpContext) -> None:
    for operand, value in zip(instr.info.operands, instr.args):
        check = KIND_CHECKS.get(operand.kind)
        if check is not None:
            check(instr, operand, value, ctx)


OP_RULES: tuple[Callable[[Instr, OpContext], None], ...] = (
    check_op_shape,
    check_operand_ranges,
    check_operand_references,
)


def _reg_name(reg: Reg) -> str:
    return f"{reg[0].prefix}{reg[1]}"


def check_word_independence(word: Word, index: int) -> None:
    """Contract 2: no two ops of a word write one register, and no op reads a register
    another op of the same word writes."""
    effects = [(instr, *reg_effects(instr)) for instr in word.ops]
    for i, (first, first_reads, first_writes) in enumerate(effects):
        for second, second_reads, second_writes in effects[i + 1:]:
            pair = f"{first.info.mnemonic} and {second.info.mnemonic}"
            for reg in sorted(first_writes & second_writes, key=_reg_name):
                _fail(f"word {index}: {pair} both write {_reg_name(reg)}", index,
                      second.pipe)
            for reg in sorted((first_writes & second_reads) | (first_reads & second_writes),
                              key=_reg_name):
                _fail(f"word {index}: {pair} in one word both use {_reg_name(reg)} and one "
                      "writes it", index, second.pipe)


def check_deps(program: Program) -> None:
    prev: Word | None = None
    for index, word in enumerate(program.words):
        expected = compute_deps(prev, word)
        if word.deps != expected:
            _fail(f"word {index}: deps byte {word.deps:#04x} should be {expected:#04x}", index)
        prev = word


def _located_words(program: Program) -> Iterator[tuple[KernelInfo, int, Word]]:
    for kernel in program.kernels:
        for index in range(kernel.entry, kernel.entry + kernel.length):
            yield kernel, index, program.words[index]


def check_words(program: Program) -> None:
    for kernel, index, word in _located_words(program):
        for slot, instr in zip((Pipe.D, Pipe.S, Pipe.C), word.ops):
            ctx = OpContext(program, kernel, index, slot)
            for rule in OP_RULES:
                rule(instr, ctx)
        check_word_independence(word, index)


def check_cpipe_declared(program: Program) -> None:
    """A kernel whose C ops exchange data must say so (runtimes size message queues)."""
    traffic = Effect.SEND | Effect.RECV | Effect.SYNC
    for kernel, index, word in _located_words(program):
        if word.c.info.effects & traffic and not kernel.uses_cpipe:
            _fail(f"word {index} slot C ({kernel.name}): {word.c.info.mnemonic} in a kernel "
                  "not marked uses_cpipe", index, Pipe.C)


def _loop_name(loop: HardwareLoop) -> str:
    return f"the hardware loop of the DLOOP at word {loop.setup} (body {loop.first}.." \
           f"{loop.end})"


def _check_loop_body(program: Program, kernel: KernelInfo, loop: HardwareLoop) -> None:
    if loop.end <= loop.setup:
        _kfail(kernel.name, f"DLOOP at word {loop.setup}: loop end {loop.end} must come "
               "after the DLOOP word (the body is the words after it through the end)",
               loop.setup, Pipe.D)
    for index in loop.body:
        d_op = program.words[index].d
        if d_op.info.effects & (Effect.BRANCH | Effect.HALT | Effect.LOOP):
            kind = "nested DLOOP" if is_loop_setup(d_op) else d_op.info.mnemonic
            _fail(f"word {index} slot D ({kernel.name}): {kind} inside {_loop_name(loop)}; "
                  "a hardware loop body is straight-line", index, Pipe.D, kernel.name)


def _check_entries(program: Program, kernel: KernelInfo, loops: list[HardwareLoop]) -> None:
    """Bodies are entered only by falling through from their DLOOP: no branch (or loop
    end) from anywhere targets a body word."""
    for index in range(kernel.entry, kernel.entry + kernel.length):
        d_op = program.words[index].d
        for operand, value in zip(d_op.info.operands, d_op.args):
            if operand.kind is not Kind.TARGET or is_loop_setup(d_op):
                continue
            for loop in loops:
                if value in loop.body:
                    _fail(f"word {index} slot D ({kernel.name}): {d_op.info.mnemonic} "
                          f"targets word {value} inside {_loop_name(loop)}; a body is "
                          "entered only from its DLOOP", index, Pipe.D, kernel.name)


def check_hardware_loops(program: Program) -> None:
    """DLOOP bodies are non-empty, lie after their DLOOP inside the kernel (the target
    range was checked with the words), hold no branch, DHALT or DLOOP, and are entered
    only from their DLOOP."""
    for kernel in program.kernels:
        loops = hardware_loops(program, kernel)
        for loop in loops:
            _check_loop_body(program, kernel, loop)
        if loops:
            _check_entries(program, kernel, loops)


# Program rules in order: later rules rely on what earlier ones established.
PROGRAM_RULES: tuple[Callable[[Program], None], ...] = (
    check_flags,
    check_pool,
    check_locations,
    check_kernel_names,
    check_kernel_signature,
    check_kernel_limits,
    check_kernel_ranges,
    check_words,
    check_hardware_loops,
    check_kernel_ends,
    check_cpipe_declared,
    check_deps,
)


def verify(program: Program) -> None:
    """Raise ``SiwVerifyError`` on the first broken rule; return None if all hold."""
    for rule in PROGRAM_RULES:
        rule(program)
