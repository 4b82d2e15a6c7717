"""`.siws` text to a verified Program (the inverse of ``disassembler.disassemble``).

A file is a list of lines; ``;`` starts a comment. Program directives (``.isa``,
``.flags``, ``.source``, ``.const``) may appear anywhere; ``.kernel NAME`` starts a
kernel, whose directives (``.param``, ``.symbols``, ``.spill``, ``.sentrons``,
``.cpipe``) and words follow. A word is ``{ op | op | op } deps=0x..``: each op goes to
its pipe's slot, missing pipes get their NOP, a lone op may drop the braces, and
``deps=`` may be left out (the assembler computes it). ``name:`` defines a label for
branch targets (``@name``, local to its kernel; ``@12`` is the absolute word index).
``.loc LINE COL`` (or ``.loc -``) gives the next word a source location.

Errors are reported as ``FILE:LINE:COL: error: message`` with the source line and a
caret (``SiwAsmError``), several per run where possible; the finished program is
verified and a verifier error points at the word or kernel it concerns.
"""

from __future__ import annotations

import json
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from phextcc.backend.isa import (
    BY_MNEMONIC,
    ENUM_OF_KIND,
    ISA_VERSION,
    NOP,
    Effect,
    Kind,
    Operand,
    Pipe,
)
from phextcc.backend.program import Instr, KernelInfo, Param, Program, SourceLoc, Word
from phextcc.backend.verifier import (
    SiwVerifyError,
    compute_deps,
    field_range,
    spill_slot_words,
    verify,
)
from phextcc.diagnostics import CompileError, Diagnostic, Severity

TOKEN_RE = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<punct>[{}|,\[\]=:])'
                      r'|(?P<word>[^\s{}|,\[\]=:;"]+)|(?P<comment>;.*)|(?P<bad>\S))')
INT_RE = re.compile(r"[+-]?(0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)\Z")
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_ERRORS = 20

# `.const f64:1.5` / `.const f32:1.5`: a float's bit pattern (f32 in the low 32 bits).
FLOAT_FORMATS: dict[str, Callable[[float], int]] = {
    "f64": lambda v: struct.unpack("<Q", struct.pack("<d", v))[0],
    "f32": lambda v: struct.unpack("<I", struct.pack("<f", v))[0],
}


class SiwAsmError(CompileError):
    """Assembly errors; ``str()`` is the rendered text (message, source line, caret)."""

    def __init__(self, diagnostics: list[Diagnostic], source: str) -> None:
        super().__init__(diagnostics)
        self.source = source

    def __str__(self) -> str:
        return self.render(self.source)


@dataclass(frozen=True)
class Token:
    text: str
    col: int  # 1-based
    kind: str  # "string", "punct", "word"


class _LineError(Exception):
    def __init__(self, message: str, col: int) -> None:
        super().__init__(message)
        self.col = col


def tokenize(line: str) -> list[Token]:
    tokens, pos = [], 0
    while pos < len(line):
        match = TOKEN_RE.match(line, pos)
        if match is None or match.lastgroup is None:
            break
        kind = match.lastgroup
        if kind == "comment":
            break
        start = match.start(kind)
        if kind == "bad":
            raise _LineError(f"unexpected character {match.group(kind)!r}", start + 1)
        tokens.append(Token(match.group(kind), start + 1, kind))
        pos = match.end()
    return tokens


def parse_int(token: Token, text: str | None = None) -> int:
    text = token.text if text is None else text
    if not INT_RE.match(text):
        raise _LineError(f"expected an integer, got {token.text!r}", token.col)
    return int(text, 0)


@dataclass
class _Kernel:
    name: str
    line: int
    entry: int
    params: list[Param] = field(default_factory=list)
    symbols: list[str] | None = None
    spill: int | None = None
    sentrons: tuple[int, int] = (1, 0)
    cpipe: bool | None = None


@dataclass
class _PendingWord:
    ops: dict[Pipe, tuple[Instr, list[tuple[int, str, int]]]]  # target fixups
    deps: int | None
    line: int
    col: int
    loc: SourceLoc | None
    kernel: int  # labels are looked up in this kernel's scope


class Assembler:
    """One assembly run over one text."""

    def __init__(self, text: str, filename: str) -> None:
        self.text = text
        self.filename = filename
        self.diagnostics: list[Diagnostic] = []
        self.flags = 0
        self.source_name = ""
        self.pool: list[int] = []
        self.kernels: list[_Kernel] = []
        self.words: list[_PendingWord] = []
        self.labels: dict[tuple[int, str], int] = {}  # (kernel index, name) -> word
        self.pending_loc: SourceLoc | None = None
        self.has_locations = False
        self.line = 0
        self.directives: dict[str, Callable[[list[Token]], None]] = {
            ".isa": self._isa, ".flags": self._flags, ".source": self._source,
            ".const": self._const, ".kernel": self._kernel, ".param": self._param,
            ".symbols": self._symbols, ".spill": self._spill, ".sentrons": self._sentrons,
            ".cpipe": self._cpipe, ".loc": self._loc,
        }

    # -- driver ---------------------------------------------------------------

    def error(self, message: str, line: int, col: int) -> None:
        self.diagnostics.append(Diagnostic(Severity.ERROR, message, self.filename, line, col))

    def run(self) -> Program:
        for line_number, source_line in enumerate(self.text.splitlines(), start=1):
            self.line = line_number
            try:
                self._line(tokenize(source_line))
            except _LineError as exc:
                self.error(str(exc), self.line, exc.col)
            if len(self.diagnostics) >= MAX_ERRORS:
                break
        if self.diagnostics:
            raise SiwAsmError(self.diagnostics, self.text)
        program = self._build()
        if self.diagnostics:
            raise SiwAsmError(self.diagnostics, self.text)
        try:
            verify(program)
        except SiwVerifyError as exc:
            line, col = self._position_of(exc)
            self.error(str(exc), line, col)
            raise SiwAsmError(self.diagnostics, self.text) from None
        return program

    def _position_of(self, exc: SiwVerifyError) -> tuple[int, int]:
        if exc.word is not None and exc.word < len(self.words):
            word = self.words[exc.word]
            return word.line, word.col
        for kernel in self.kernels:
            if kernel.name == exc.kernel:
                return kernel.line, 1
        return 1, 1

    def _line(self, tokens: list[Token]) -> None:
        if not tokens:
            return
        head = tokens[0]
        if head.text.startswith("."):
            handler = self.directives.get(head.text.lower())
            if handler is None:
                raise _LineError(f"unknown directive {head.text!r}", head.col)
            handler(tokens[1:])
            return
        if len(tokens) >= 2 and tokens[1].text == ":" and head.kind == "word":
            self._label(head)
            tokens = tokens[2:]
            if not tokens:
                return
        self._word(tokens)

    def _label(self, token: Token) -> None:
        if not NAME_RE.match(token.text):
            raise _LineError(f"label {token.text!r} is not an identifier", token.col)
        self._current(token.col)
        key = (len(self.kernels) - 1, token.text)
        if key in self.labels:
            raise _LineError(f"label {token.text!r} is defined twice", token.col)
        self.labels[key] = len(self.words)

    # -- program directives -----------------------------------------------------

    def _args(self, tokens: list[Token], count: int, what: str) -> None:
        if len(tokens) != count:
            col = tokens[count].col if len(tokens) > count else 1
            raise _LineError(f"{what} takes {count} argument(s), got {len(tokens)}", col)

    def _isa(self, tokens: list[Token]) -> None:
        self._args(tokens, 1, ".isa")
        parts = tokens[0].text.split(".")
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise _LineError("expected .isa MAJOR.MINOR", tokens[0].col)
        major, minor = int(parts[0]), int(parts[1])
        if major != ISA_VERSION[0] or minor > ISA_VERSION[1]:
            raise _LineError(f"ISA {major}.{minor} is not supported (this is "
                             f"{ISA_VERSION[0]}.{ISA_VERSION[1]})", tokens[0].col)

    def _flags(self, tokens: list[Token]) -> None:
        self._args(tokens, 1, ".flags")
        self.flags = parse_int(tokens[0])

    def _source(self, tokens: list[Token]) -> None:
        self._args(tokens, 1, ".source")
        if tokens[0].kind != "string":
            raise _LineError("expected a quoted file name", tokens[0].col)
        self.source_name = json.loads(tokens[0].text)

    def _const(self, tokens: list[Token]) -> None:
        if len(tokens) == 3 and tokens[0].text in FLOAT_FORMATS and tokens[1].text == ":":
            to_bits = FLOAT_FORMATS[tokens[0].text]
            try:
                self.pool.append(to_bits(float(tokens[2].text)))
            except ValueError:
                raise _LineError(f"bad float {tokens[2].text!r}", tokens[2].col) from None
            return
        self._args(tokens, 1, ".const")
        value = parse_int(tokens[0])
        if not -(1 << 63) <= value < 1 << 64:
            raise _LineError(f"constant {tokens[0].text} does not fit in 64 bits",
                             tokens[0].col)
        self.pool.append(value & ((1 << 64) - 1))

    def _loc(self, tokens: list[Token]) -> None:
        self.has_locations = True
        if len(tokens) == 1 and tokens[0].text == "-":
            self.pending_loc = None
            return
        self._args(tokens, 2, ".loc")
        line, col = parse_int(tokens[0]), parse_int(tokens[1])
        if line < 1 or col < 0:
            raise _LineError("a location needs line >= 1 and column >= 0", tokens[0].col)
        self.pending_loc = SourceLoc(line, col)

    # -- kernel directives ------------------------------------------------------

    def _current(self, col: int) -> _Kernel:
        if not self.kernels:
            raise _LineError("this needs a .kernel first", col)
        return self.kernels[-1]

    def _kernel(self, tokens: list[Token]) -> None:
        self._args(tokens, 1, ".kernel")
        name = tokens[0]
        if any(k.name == name.text for k in self.kernels):
            raise _LineError(f"kernel {name.text!r} is defined twice", name.col)
        self.kernels.append(_Kernel(name.text, self.line, len(self.words)))

    def _param(self, tokens: list[Token]) -> None:
        kernel = self._current(tokens[0].col if tokens else 1)
        if len(tokens) < 2:
            raise _LineError("expected .param NAME TYPE or .param NAME TYPE[DIMS]", 1)
        name, dtype = tokens[0].text, tokens[1].text
        rest = tokens[2:]
        if not rest:
            kernel.params.append(Param(name, dtype))
            return
        if rest[0].text != "[" or rest[-1].text != "]":
            raise _LineError("expected [DIMS] after the element type", rest[0].col)
        dims: list[int | str] = []
        for index, token in enumerate(rest[1:-1]):
            if index % 2 == 1:
                if token.text != ",":
                    raise _LineError("expected ',' between dimensions", token.col)
            elif INT_RE.match(token.text):
                dims.append(parse_int(token))
            elif NAME_RE.match(token.text):
                dims.append(token.text)
            else:
                raise _LineError(f"expected an extent or a symbol name, got {token.text!r}",
                                 token.col)
        kernel.params.append(Param(name, dtype, tuple(dims), True))

    def _symbols(self, tokens: list[Token]) -> None:
        self._current(1).symbols = [t.text for t in tokens]

    def _spill(self, tokens: list[Token]) -> None:
        kernel = self._current(1)
        self._args(tokens, 1, ".spill")
        kernel.spill = parse_int(tokens[0])

    def _sentrons(self, tokens: list[Token]) -> None:
        kernel = self._current(1)
        self._args(tokens, 2, ".sentrons")
        kernel.sentrons = (parse_int(tokens[0]), parse_int(tokens[1]))

    def _cpipe(self, tokens: list[Token]) -> None:
        kernel = self._current(1)
        self._args(tokens, 1, ".cpipe")
        if tokens[0].text not in ("yes", "no"):
            raise _LineError("expected .cpipe yes or .cpipe no", tokens[0].col)
        kernel.cpipe = tokens[0].text == "yes"

    # -- words -------------------------------------------------------------------

    def _word(self, tokens: list[Token]) -> None:
        start = tokens[0]
        self._current(start.col)
        deps: int | None = None
        if len(tokens) >= 3 and tokens[-3].text.lower() == "deps" and tokens[-2].text == "=":
            deps = parse_int(tokens[-1])
            if not 0 <= deps <= 0xFF:
                raise _LineError("deps is one byte (0..0xff)", tokens[-1].col)
            tokens = tokens[:-3]
        if tokens and tokens[0].text == "{":
            if tokens[-1].text != "}":
                raise _LineError("expected '}' at the end of the word", tokens[-1].col)
            tokens = tokens[1:-1]
        ops: dict[Pipe, tuple[Instr, list[tuple[int, str, int]]]] = {}
        for group in _split(tokens, "|"):
            if not group:
                raise _LineError("empty op in word", start.col)
            instr, fixups = self.parse_op(group)
            if instr.pipe in ops:
                raise _LineError(f"a second {instr.pipe.name}-pipe op in one word",
                                 group[0].col)
            ops[instr.pipe] = (instr, fixups)
        self.words.append(_PendingWord(ops, deps, self.line, start.col, self.pending_loc,
                                       len(self.kernels) - 1))
        self.pending_loc = None

    def parse_op(self, tokens: list[Token]) -> tuple[Instr, list[tuple[int, str, int]]]:
        head = tokens[0]
        family, _, suffix = head.text.partition(".")
        mnemonic = family.upper() + ("." + suffix.lower() if suffix else "")
        info = BY_MNEMONIC.get(mnemonic)
        if info is None:
            raise _LineError(f"unknown mnemonic {head.text!r}", head.col)
        groups = _split(tokens[1:], ",")
        if groups == [[]]:
            groups = []
        if len(groups) != len(info.operands):
            col = tokens[-1].col if len(tokens) > 1 else head.col
            raise _LineError(f"{info.mnemonic} takes {len(info.operands)} operand(s) "
                             f"({', '.join(o.name for o in info.operands)}), got "
                             f"{len(groups)}", col)
        args: list[int] = []
        fixups: list[tuple[int, str, int]] = []
        for position, (operand, group) in enumerate(zip(info.operands, groups)):
            if len(group) != 1:
                raise _LineError(f"bad operand {operand.name}",
                                 group[0].col if group else head.col)
            value = self._operand(operand, group[0])
            if isinstance(value, str):
                fixups.append((position, value, group[0].col))
                value = 0
            args.append(value)
        return Instr(info, tuple(args)), fixups

    def _operand(self, operand: Operand, token: Token) -> int | str:
        """The operand's value, or a label name to resolve once all labels are known."""
        kind, text = operand.kind, token.text
        enum_type = ENUM_OF_KIND.get(kind)
        if enum_type is not None:
            members = {m.name.lower(): m.value for m in enum_type}
            if text.lower() not in members:
                raise _LineError(f"operand {operand.name} must be one of "
                                 f"{', '.join(members)}, got {text!r}", token.col)
            return members[text.lower()]
        prefix = "#" if kind is Kind.IMM else kind.prefix
        if not text.lower().startswith(prefix):
            raise _LineError(f"operand {operand.name} must be written {prefix}..., got "
                             f"{text!r}", token.col)
        body = text[len(prefix):]
        if kind is Kind.TARGET and not INT_RE.match(body):
            return body
        value = parse_int(token, body)
        low, high = field_range(operand)
        if not low <= value <= high:
            raise _LineError(f"operand {operand.name} = {value} is out of range "
                             f"{low}..{high}", token.col)
        return value

    # -- assembly ------------------------------------------------------------------

    def _resolve(self, word: _PendingWord, pipe: Pipe) -> Instr:
        if pipe not in word.ops:
            return Instr(NOP[pipe])
        instr, fixups = word.ops[pipe]
        args = list(instr.args)
        for position, name, col in fixups:
            if (word.kernel, name) not in self.labels:
                self.error(f"undefined label {name!r} in this kernel", word.line, col)
                continue
            args[position] = self.labels[(word.kernel, name)]
        return Instr(instr.info, tuple(args))

    def _build(self) -> Program:
        words = []
        prev: Word | None = None
        for pending in self.words:
            word = Word(*(self._resolve(pending, pipe) for pipe in (Pipe.D, Pipe.S, Pipe.C)))
            deps = compute_deps(prev, word) if pending.deps is None else pending.deps
            word = Word(word.d, word.s, word.c, deps)
            words.append(word)
            prev = word
        kernels = []
        for index, kernel in enumerate(self.kernels):
            end = self.kernels[index + 1].entry if index + 1 < len(self.kernels) \
                else len(words)
            kernels.append(_kernel_info(kernel, words[kernel.entry:end]))
        locations = [w.loc for w in self.words] if self.has_locations else []
        return Program(kernels, self.pool, words, self.source_name, locations, self.flags)


def _kernel_info(kernel: _Kernel, words: list[Word]) -> KernelInfo:
    """The kernel entry; symbols, spill size and C-pipe use are inferred when the text
    does not give them."""
    symbols = kernel.symbols
    if symbols is None:
        symbols = []
        for param in kernel.params:
            symbols += [d for d in param.dims if isinstance(d, str) and d not in symbols]
    spill = kernel.spill
    if spill is None:
        spill = max((i.args[[o.kind for o in i.info.operands].index(Kind.SLOT)]
                     + spill_slot_words(i) for w in words for i in w.ops
                     if Kind.SLOT in [o.kind for o in i.info.operands]), default=0)
    cpipe = kernel.cpipe
    if cpipe is None:
        traffic = Effect.SEND | Effect.RECV | Effect.SYNC
        cpipe = any(w.c.info.effects & traffic for w in words)
    return KernelInfo(kernel.name, tuple(kernel.params), tuple(symbols), kernel.entry,
                      len(words), spill, kernel.sentrons[0], kernel.sentrons[1], cpipe)


def _split(tokens: list[Token], separator: str) -> list[list[Token]]:
    groups: list[list[Token]] = [[]]
    for token in tokens:
        if token.text == separator and token.kind == "punct":
            groups.append([])
        else:
            groups[-1].append(token)
    return groups


def assemble_instr(text: str) -> Instr:
    """One op from its assembly text (``DADD.f32 r1, r2, r3``; targets as ``@N``).
    Raises ``SiwAsmError``; the op is not verified against any kernel."""
    assembler = Assembler(text, "<op>")
    assembler.line = 1
    try:
        tokens = tokenize(text)
        if not tokens:
            raise _LineError("expected an op", 1)
        instr, fixups = assembler.parse_op(tokens)
        if fixups:
            raise _LineError("labels need a whole program; write @N", fixups[0][2])
        return instr
    except _LineError as exc:
        assembler.error(str(exc), 1, exc.col)
        raise SiwAsmError(assembler.diagnostics, text) from None


def assemble(text: str, filename: str = "<input>") -> Program:
    """Assemble `.siws` text into a verified Program; raises ``SiwAsmError``."""
    return Assembler(text, filename).run()
