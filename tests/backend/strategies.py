"""Hypothesis strategies for random *valid* `.siw` programs, derived from the ISA table.

``programs()`` draws a Program that ``verifier.verify`` accepts: kernels tiling the
stream, legal ops in each slot with in-range operands that reference existing
parameters, symbols, pool entries, spill slots and branch targets, independent ops in
each word, a DHALT or DJMP at the end of each kernel, and exact deps bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from hypothesis import strategies as st

from phextcc.backend.isa import ISA, NOP, Effect, Kind, OpInfo, Pipe, RegClass, lookup
from phextcc.backend.program import (
    SCALAR_TYPES,
    TENSOR_ELEMENT_TYPES,
    Instr,
    KernelInfo,
    Param,
    Program,
    SourceLoc,
    Word,
)
from phextcc.backend.verifier import compute_deps, field_range, reg_effects, spill_slot_words

FIRST_CHARS = "abcxyzABNM_"
NAME_CHARS = FIRST_CHARS + "0129"
NAMES = st.builds(str.__add__, st.sampled_from(FIRST_CHARS),
                  st.text(st.sampled_from(NAME_CHARS), max_size=5))
# DLOOP bodies have structural rules random words break (tests/isa covers them).
LEGAL_ROWS = {pipe: [op for op in ISA if op.pipe == pipe and not op.reserved
                     and not op.effects & Effect.LOOP] for pipe in Pipe}
KERNEL_ENDS = st.sampled_from([lookup("DHALT"), lookup("DJMP")])
TRAFFIC = Effect.SEND | Effect.RECV | Effect.SYNC


@dataclass(frozen=True)
class KernelShape:
    """What the ops of one kernel may reference."""

    params: tuple[Param, ...]
    symbols: tuple[str, ...]
    pool_size: int
    spill_words: int
    entry: int
    length: int

    def param_choices(self, family: str) -> list[int]:
        if family == "DARG":
            return [i for i, p in enumerate(self.params) if not p.is_tensor]
        if family == "DCHK":
            return [i for i, p in enumerate(self.params) if p.is_tensor and p.rank > 0]
        return [i for i, p in enumerate(self.params) if p.is_tensor]

    def allows(self, info: OpInfo) -> bool:
        kinds = {o.kind for o in info.operands}
        return not ((Kind.PARAM in kinds and not self.param_choices(info.family))
                    or (Kind.SYM in kinds and not self.symbols)
                    or (Kind.POOL in kinds and not self.pool_size)
                    or (Kind.SLOT in kinds
                        and self.spill_words < spill_slot_words(Instr(info))))


@st.composite
def params(draw: st.DrawFn, symbols: tuple[str, ...]) -> tuple[Param, ...]:
    names = draw(st.lists(NAMES, max_size=4, unique=True))
    extent = st.integers(0, 5000) | (st.sampled_from(symbols) if symbols else st.nothing())
    out = []
    for name in names:
        if draw(st.booleans()):
            dims = tuple(draw(st.lists(extent, max_size=3)))
            out.append(Param(name, draw(st.sampled_from(TENSOR_ELEMENT_TYPES)), dims, True))
        else:
            out.append(Param(name, draw(st.sampled_from(SCALAR_TYPES))))
    return tuple(out)


@cache
def ints(low: int, high: int) -> st.SearchStrategy[int]:
    return st.integers(low, high)


# Favour a few registers so that words often depend on each other.
REGISTERS = {rc: st.integers(0, 2) | st.integers(0, rc.count - 1) for rc in RegClass}


def _value(draw: st.DrawFn, info: OpInfo, position: int, shape: KernelShape) -> int:
    operand = info.operands[position]
    kind = operand.kind
    if kind.regclass is not None:
        return draw(REGISTERS[kind.regclass])
    if kind is Kind.PARAM:
        return draw(st.sampled_from(shape.param_choices(info.family)))
    if kind is Kind.SYM:
        return draw(ints(0, len(shape.symbols) - 1))
    if kind is Kind.POOL:
        return draw(ints(0, shape.pool_size - 1))
    if kind is Kind.TARGET:
        return draw(ints(shape.entry, shape.entry + shape.length - 1))
    if kind is Kind.SLOT:
        return draw(ints(0, shape.spill_words - spill_slot_words(Instr(info))))
    low, high = field_range(operand)
    return draw(ints(low, high))


def instr_for(draw: st.DrawFn, info: OpInfo, shape: KernelShape) -> Instr:
    kinds = [o.kind for o in info.operands]
    args = [0] * len(info.operands)
    done: set[int] = set()
    if info.family == "DCHK":  # the axis must fit the chosen tensor: draw the param first
        param, axis = kinds.index(Kind.PARAM), kinds.index(Kind.AXIS)
        args[param] = _value(draw, info, param, shape)
        args[axis] = draw(ints(0, shape.params[args[param]].rank - 1))
        done = {param, axis}
    for position in range(len(info.operands)):
        if position not in done:
            args[position] = _value(draw, info, position, shape)
    return Instr(info, tuple(args))


def _independent(chosen: list[Instr], instr: Instr) -> bool:
    reads, writes = reg_effects(instr)
    for other in chosen:
        other_reads, other_writes = reg_effects(other)
        if writes & (other_reads | other_writes) or reads & other_writes:
            return False
    return True


@st.composite
def words_for(draw: st.DrawFn, shape: KernelShape) -> list[Word]:
    rows = {pipe: st.sampled_from([r for r in LEGAL_ROWS[pipe] if shape.allows(r)])
            for pipe in Pipe}
    words = []
    for index in range(shape.entry, shape.entry + shape.length):
        chosen: list[Instr] = []
        for pipe in Pipe:
            last = index == shape.entry + shape.length - 1 and pipe is Pipe.D
            info = draw(KERNEL_ENDS if last else rows[pipe])
            instr = instr_for(draw, info, shape)
            chosen.append(instr if _independent(chosen, instr) else Instr(NOP[pipe]))
        words.append(Word(*chosen))
    return words


@st.composite
def kernel_for(draw: st.DrawFn, name: str, entry: int, pool_size: int,
               max_words: int) -> tuple[KernelInfo, list[Word]]:
    symbols = tuple(draw(st.lists(NAMES, max_size=3, unique=True)))
    kernel_params = draw(params(symbols))
    shape = KernelShape(kernel_params, symbols, pool_size, draw(st.integers(0, 12)), entry,
                        draw(st.integers(1, max_words)))
    words = draw(words_for(shape))
    traffic = any(w.c.info.effects & TRAFFIC for w in words)
    min_sentrons = draw(st.integers(1, 8))
    kernel = KernelInfo(name, kernel_params, symbols, entry, shape.length, shape.spill_words,
                        min_sentrons, draw(st.just(0) | st.integers(min_sentrons, 64)),
                        traffic or draw(st.booleans()))
    return kernel, words


@st.composite
def programs(draw: st.DrawFn, max_kernels: int = 3, max_words: int = 8) -> Program:
    pool = draw(st.lists(st.integers(0, (1 << 64) - 1), max_size=4))
    names = draw(st.lists(NAMES, max_size=max_kernels, unique=True))
    kernels, words = [], []
    for name in names:
        kernel, body = draw(kernel_for(name, len(words), len(pool), max_words))
        kernels.append(kernel)
        words += body
    prev: Word | None = None
    for index, word in enumerate(words):
        words[index] = Word(word.d, word.s, word.c, compute_deps(prev, word))
        prev = words[index]
    source_name = draw(st.sampled_from(["", "kernel.phx", "dir/ü.phx"]))
    locations: list[SourceLoc | None] = []
    if draw(st.booleans()):
        locations = [draw(st.none() | st.builds(SourceLoc, st.integers(1, 10_000),
                                                st.integers(0, 200))) for _ in words]
    flags = draw(st.sampled_from([0, 1, 2, 3]))
    return Program(kernels, pool, words, source_name, locations, flags)
