"""The decoded form of a `.siw` file: what the encoder writes and every consumer reads.

The assembler and the code generator build a ``Program``; ``siw_format`` turns it into
bytes and back; the verifier checks it; the simulator and the JIT execute it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from phextcc.backend.isa import NOP, WORD_EXECUTION_ORDER, OpInfo, Pipe

SCALAR_TYPES = ("i32", "i64", "f32", "f64", "bool")
TENSOR_ELEMENT_TYPES = ("i32", "i64", "f32", "f64")


@dataclass(frozen=True)
class Instr:
    """One op: a table row and its operand values in table order.

    Register operands hold the register number, enum operands the enum value,
    immediates their integer value (targets are absolute SIW indices)."""

    info: OpInfo
    args: tuple[int, ...] = ()
    width: int = 0

    @property
    def pipe(self) -> Pipe:
        return self.info.pipe

    @property
    def is_nop(self) -> bool:
        return self.info.is_nop


D_NOP = Instr(NOP[Pipe.D])
S_NOP = Instr(NOP[Pipe.S])
C_NOP = Instr(NOP[Pipe.C])


@dataclass(frozen=True)
class Word:
    """One Sentron Instruction Word: a D, an S and a C op plus the deps flags."""

    d: Instr = D_NOP
    s: Instr = S_NOP
    c: Instr = C_NOP
    deps: int = 0

    @property
    def ops(self) -> tuple[Instr, Instr, Instr]:
        return (self.d, self.s, self.c)

    @property
    def ops_in_execution_order(self) -> tuple[Instr, Instr, Instr]:
        """The ops in the order the machine carries them out (isa.WORD_EXECUTION_ORDER)."""
        by_pipe = {op.pipe: op for op in self.ops}
        first, second, third = (by_pipe[pipe] for pipe in WORD_EXECUTION_ORDER)
        return (first, second, third)


@dataclass(frozen=True)
class Param:
    """A kernel parameter. ``dims`` is empty for scalars; each extent of a tensor is
    an int or the name of a shape symbol."""

    name: str
    dtype: str  # one of SCALAR_TYPES (scalars) or TENSOR_ELEMENT_TYPES (tensors)
    dims: tuple[int | str, ...] = ()
    is_tensor: bool = False

    @property
    def rank(self) -> int:
        return len(self.dims)


@dataclass(frozen=True)
class KernelInfo:
    """A kernel table entry.

    ``symbols`` lists the shape symbols in order of first use (DSYM's index);
    ``entry``..``entry + length`` is the kernel's range of SIWs in the stream.
    ``spill_words`` sizes the per-sentron spill area in 8-byte words.
    ``min_sentrons``/``max_sentrons`` (0 = unbounded) is what the kernel supports;
    ``uses_cpipe`` says whether it has C-pipe traffic.
    """

    name: str
    params: tuple[Param, ...]
    symbols: tuple[str, ...]
    entry: int
    length: int
    spill_words: int = 0
    min_sentrons: int = 1
    max_sentrons: int = 0
    uses_cpipe: bool = False


@dataclass(frozen=True)
class SourceLoc:
    line: int
    col: int


@dataclass
class Program:
    """A whole `.siw` file: kernels, constant pool (64-bit entries), the SIW stream and,
    optionally, the source file name and a source location per SIW (debug info)."""

    kernels: list[KernelInfo] = field(default_factory=list)
    pool: list[int] = field(default_factory=list)  # unsigned 64-bit values
    words: list[Word] = field(default_factory=list)
    source_name: str = ""
    locations: list[SourceLoc | None] = field(default_factory=list)
    flags: int = 0

    def kernel(self, name: str) -> KernelInfo:
        for k in self.kernels:
            if k.name == name:
                return k
        raise KeyError(name)
