"""The `.siw` binary format: ``encode`` a Program to bytes and ``decode`` bytes back.

Every record layout is data (``Layout`` below): the packer, the unpacker and the
documentation test all read the same field lists. docs/siw-format.md describes every
byte. All integers are little-endian; every section starts on an 8-byte boundary.

``decode`` = parse (every offset, count and reserved byte checked, raising
``SiwFormatError``) + ``verify`` (the contract, raising ``SiwVerifyError``).
``decode_unverified`` stops after parsing (for diagnostics: the disassembler can show
a program that breaks the contract).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from phextcc.backend.isa import (
    BY_OPCODE,
    FIELD_BITS,
    FIELD_SHIFT,
    ISA_VERSION,
    OPCODE_BITS,
    RESERVED_BITS,
    RESERVED_SHIFT,
    SIGNED_KINDS,
    SIW,
    WIDTH_BITS,
    WIDTH_SHIFT,
)
from phextcc.backend.program import (
    SCALAR_TYPES,
    Instr,
    KernelInfo,
    Param,
    Program,
    SourceLoc,
    Word,
)
from phextcc.backend.verifier import SiwError, verify

MAGIC = b"SIW\x00vTPU"
FORMAT_VERSION = 1
ALIGN = 8


class SiwFormatError(SiwError):
    """The bytes are not a well-formed `.siw` file (or a Program cannot be encoded)."""


@dataclass(frozen=True)
class Layout:
    """A fixed-size little-endian record: (name, struct code, meaning) per field."""

    name: str
    fields: tuple[tuple[str, str, str], ...]

    @property
    def struct(self) -> struct.Struct:
        return struct.Struct("<" + "".join(code for _, code, _ in self.fields))

    @property
    def size(self) -> int:
        return self.struct.size

    def offsets(self) -> list[tuple[int, int, str, str]]:
        """(offset, size, field name, meaning) of every field, for the documentation."""
        rows, offset = [], 0
        for name, code, meaning in self.fields:
            size = struct.calcsize("<" + code)
            rows.append((offset, size, name, meaning))
            offset += size
        return rows

    def pack(self, **values: int | bytes) -> bytes:
        return self.struct.pack(*(values.get(name, b"" if code.endswith("s") else 0)
                                  for name, code, _ in self.fields))

    def unpack(self, data: bytes, offset: int) -> dict[str, int]:
        values = self.struct.unpack_from(data, offset)
        return dict(zip((name for name, _, _ in self.fields), values))


# Sections in file order; each has an (offset, count) pair in the header.
SECTIONS = ("kernels", "params", "dims", "symbols", "strings", "pool", "words", "debug")

HEADER = Layout("header", (
    ("magic", "8s", 'b"SIW\\x00vTPU"'),
    ("format_version", "H", f"format version, {FORMAT_VERSION}"),
    ("isa_major", "B", "ISA version major (isa.ISA_VERSION)"),
    ("isa_minor", "B", "ISA version minor; files with a higher minor are rejected"),
    ("flags", "I", "program flags (verifier.PROGRAM_FLAGS); other bits zero"),
    ("total_size", "I", "size of the whole file in bytes"),
    ("reserved0", "I", "zero"),
    *((f"{section}_{part}", "I", f"{section} section {part}")
      for section in SECTIONS for part in ("offset", "count")),
    ("reserved1", "Q", "zero"),
))

KERNEL = Layout("kernel", (
    ("name", "I", "string offset of the kernel name"),
    ("params_first", "I", "index of its first parameter record"),
    ("params_count", "I", "number of parameters"),
    ("symbols_first", "I", "index of its first symbol entry"),
    ("symbols_count", "I", "number of shape symbols (DSYM index order)"),
    ("entry", "I", "index of its first SIW in the stream"),
    ("length", "I", "number of SIWs"),
    ("spill_words", "I", "spill area per sentron, in 8-byte words"),
    ("min_sentrons", "I", "fewest sentrons it supports (>= 1)"),
    ("max_sentrons", "I", "most sentrons it supports (0 = unbounded)"),
    ("flags", "I", "bit 0: uses the C pipe for traffic; other bits zero"),
    ("reserved", "I", "zero"),
))

PARAM = Layout("param", (
    ("name", "I", "string offset of the parameter name"),
    ("kind", "B", "0 = scalar, 1 = tensor"),
    ("dtype", "B", "0 i32, 1 i64, 2 f32, 3 f64, 4 bool (scalars only)"),
    ("rank", "B", "number of dimensions (0 for scalars)"),
    ("reserved0", "B", "zero"),
    ("dims_first", "I", "index of its first dimension entry"),
    ("reserved1", "I", "zero"),
))

DIM = Layout("dim", (
    ("kind", "I", "0 = constant extent, 1 = shape symbol"),
    ("value", "I", "the extent, or an index into the kernel's symbols"),
))

SYMBOL = Layout("symbol", (("name", "I", "string offset of the symbol name"),))
POOL_ENTRY = Layout("pool", (("value", "Q", "64-bit constant"),))
WORD = Layout("word", (
    ("d", "Q", "D-pipe op"),
    ("s", "Q", "S-pipe op"),
    ("c", "Q", "C-pipe op"),
    ("deps", "B", "deps flags"),
    ("reserved", "7s", "zero"),
))
DEBUG_HEADER = Layout("debug", (
    ("source_name", "I", "string offset of the source file name"),
    ("count", "I", "number of locations: 0 or the number of SIWs"),
))
LOCATION = Layout("location", (
    ("line", "I", "source line (1-based); 0 = no location"),
    ("col", "I", "source column"),
))

assert WORD.size == SIW.word_bytes and HEADER.size == 96

# Bytes per counted item of each section ("strings" counts bytes; "debug" counts bytes).
ITEM_SIZE = {"kernels": KERNEL.size, "params": PARAM.size, "dims": DIM.size,
             "symbols": SYMBOL.size, "strings": 1, "pool": POOL_ENTRY.size,
             "words": WORD.size, "debug": 1}
KERNEL_USES_CPIPE = 1
DIM_CONSTANT, DIM_SYMBOL = 0, 1
DTYPE_CODE = {name: code for code, name in enumerate(SCALAR_TYPES)}


# ---------------------------------------------------------------------------
# One op <-> 64 bits (bit layout in isa.py).
# ---------------------------------------------------------------------------


def encode_op(instr: Instr) -> int:
    info = instr.info
    if len(instr.args) != len(info.operands):
        raise SiwFormatError(f"{info.mnemonic} takes {len(info.operands)} operands")
    if not 0 <= instr.width < 1 << WIDTH_BITS:
        raise SiwFormatError(f"{info.mnemonic}: width {instr.width} does not fit")
    bits = info.opcode | instr.width << WIDTH_SHIFT
    for operand, value in zip(info.operands, instr.args):
        size = FIELD_BITS[operand.field]
        low = -(1 << (size - 1)) if operand.kind in SIGNED_KINDS else 0
        high = (1 << (size - 1)) - 1 if operand.kind in SIGNED_KINDS else (1 << size) - 1
        if not low <= value <= high:
            raise SiwFormatError(f"{info.mnemonic}: operand {operand.name} = {value} does "
                                 f"not fit its {size}-bit field")
        bits |= (value & ((1 << size) - 1)) << FIELD_SHIFT[operand.field]
    return bits


def decode_op(bits: int, where: str) -> Instr:
    opcode = bits & ((1 << OPCODE_BITS) - 1)
    info = BY_OPCODE.get(opcode)
    if info is None:
        raise SiwFormatError(f"{where}: unknown opcode {opcode:#05x}")
    if bits >> RESERVED_SHIFT & ((1 << RESERVED_BITS) - 1):
        raise SiwFormatError(f"{where}: reserved bits 13..15 of {info.mnemonic} are set")
    args = []
    used = (1 << RESERVED_SHIFT + RESERVED_BITS) - 1
    for operand in info.operands:
        size, shift = FIELD_BITS[operand.field], FIELD_SHIFT[operand.field]
        value = bits >> shift & ((1 << size) - 1)
        if operand.kind in SIGNED_KINDS and value >> (size - 1):
            value -= 1 << size
        args.append(value)
        used |= ((1 << size) - 1) << shift
    if bits & ~used:
        raise SiwFormatError(f"{where}: {info.mnemonic} has bits set in unused fields")
    return Instr(info, tuple(args), bits >> WIDTH_SHIFT & ((1 << WIDTH_BITS) - 1))


# ---------------------------------------------------------------------------
# Encoder.
# ---------------------------------------------------------------------------


class _Strings:
    """The string table: NUL-terminated UTF-8, offset 0 is the empty string."""

    def __init__(self) -> None:
        self.data = bytearray(b"\x00")
        self.offsets: dict[str, int] = {"": 0}

    def add(self, text: str) -> int:
        if text not in self.offsets:
            raw = text.encode("utf-8")
            if b"\x00" in raw:
                raise SiwFormatError(f"string {text!r} contains a NUL character")
            self.offsets[text] = len(self.data)
            self.data += raw + b"\x00"
        return self.offsets[text]


def _pad(data: bytes | bytearray) -> bytes:
    return bytes(data) + b"\x00" * (-len(data) % ALIGN)


def _param_record(param: Param, kernel: KernelInfo, strings: _Strings,
                  dims: list[bytes]) -> bytes:
    if param.dtype not in DTYPE_CODE:
        raise SiwFormatError(f"parameter {param.name}: unknown dtype {param.dtype!r}")
    first = len(dims)
    for extent in param.dims:
        if isinstance(extent, str):
            if extent not in kernel.symbols:
                raise SiwFormatError(f"extent {extent!r} is not a symbol of {kernel.name}")
            dims.append(DIM.pack(kind=DIM_SYMBOL, value=kernel.symbols.index(extent)))
        else:
            dims.append(DIM.pack(kind=DIM_CONSTANT, value=extent))
    return PARAM.pack(name=strings.add(param.name), kind=int(param.is_tensor),
                      dtype=DTYPE_CODE[param.dtype], rank=param.rank, dims_first=first)


def _kernel_sections(program: Program, strings: _Strings) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {"kernels": [], "params": [], "dims": [], "symbols": []}
    for kernel in program.kernels:
        params_first, symbols_first = len(out["params"]), len(out["symbols"])
        out["symbols"] += [SYMBOL.pack(name=strings.add(s)) for s in kernel.symbols]
        out["params"] += [_param_record(p, kernel, strings, out["dims"])
                          for p in kernel.params]
        out["kernels"].append(KERNEL.pack(
            name=strings.add(kernel.name), params_first=params_first,
            params_count=len(kernel.params), symbols_first=symbols_first,
            symbols_count=len(kernel.symbols), entry=kernel.entry, length=kernel.length,
            spill_words=kernel.spill_words, min_sentrons=kernel.min_sentrons,
            max_sentrons=kernel.max_sentrons,
            flags=KERNEL_USES_CPIPE if kernel.uses_cpipe else 0))
    return out


def _debug_section(program: Program, strings: _Strings) -> bytes:
    if not program.source_name and not program.locations:
        return b""
    parts = [DEBUG_HEADER.pack(source_name=strings.add(program.source_name),
                               count=len(program.locations))]
    for loc in program.locations:
        parts.append(LOCATION.pack() if loc is None else LOCATION.pack(line=loc.line,
                                                                       col=loc.col))
    return b"".join(parts)


def encode(program: Program, *, check: bool = True) -> bytes:
    """The `.siw` bytes of ``program``. With ``check`` (the default) the program is
    verified first; ``check=False`` lets tests build deliberately broken files."""
    if check:
        verify(program)
    try:
        return _encode(program)
    except struct.error as exc:
        raise SiwFormatError(f"a value does not fit its field: {exc}") from None


def _encode(program: Program) -> bytes:
    strings = _Strings()
    records = _kernel_sections(program, strings)
    debug = _debug_section(program, strings)
    records["pool"] = [POOL_ENTRY.pack(value=v) for v in program.pool]
    records["words"] = [WORD.pack(d=encode_op(w.d), s=encode_op(w.s), c=encode_op(w.c),
                                  deps=w.deps) for w in program.words]
    bodies = {name: _pad(b"".join(items)) for name, items in records.items()}
    counts = {name: len(items) for name, items in records.items()}
    bodies["strings"], counts["strings"] = _pad(strings.data), len(strings.data)
    bodies["debug"], counts["debug"] = _pad(debug), len(debug)
    offset, fields = HEADER.size, {}
    for section in SECTIONS:
        fields[f"{section}_offset"], fields[f"{section}_count"] = offset, counts[section]
        offset += len(bodies[section])
    header = HEADER.pack(magic=MAGIC, format_version=FORMAT_VERSION,
                         isa_major=ISA_VERSION[0], isa_minor=ISA_VERSION[1],
                         flags=program.flags, total_size=offset, **fields)
    return header + b"".join(bodies[section] for section in SECTIONS)


# ---------------------------------------------------------------------------
# Decoder.
# ---------------------------------------------------------------------------


class _Reader:
    """Bounds-checked access to the sections of one file."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.header = self._header()
        self.spans = {s: self._span(s) for s in SECTIONS}
        # Kernels own consecutive runs of params and symbols, params of dims, in order:
        # each record is read once, so decoding stays linear in the file size.
        self.next_index = {"params": 0, "symbols": 0, "dims": 0}

    def _header(self) -> dict[str, int]:
        if len(self.data) < HEADER.size:
            raise SiwFormatError(f"file of {len(self.data)} bytes is shorter than the "
                                 f"{HEADER.size}-byte header")
        if self.data[:len(MAGIC)] != MAGIC:
            raise SiwFormatError("bad magic: not a .siw file")
        header = HEADER.unpack(self.data, 0)
        if header["format_version"] != FORMAT_VERSION:
            raise SiwFormatError(f"format version {header['format_version']} is not "
                                 f"supported (expected {FORMAT_VERSION})")
        if header["isa_major"] != ISA_VERSION[0] or header["isa_minor"] > ISA_VERSION[1]:
            raise SiwFormatError(f"ISA version {header['isa_major']}.{header['isa_minor']} "
                                 f"is not supported (this is {ISA_VERSION[0]}."
                                 f"{ISA_VERSION[1]})")
        if header["total_size"] != len(self.data):
            raise SiwFormatError(f"header says {header['total_size']} bytes, file has "
                                 f"{len(self.data)} (truncated or trailing data)")
        if header["reserved0"] or header["reserved1"]:
            raise SiwFormatError("reserved header fields are not zero")
        return header

    def _span(self, section: str) -> tuple[int, int]:
        offset = self.header[f"{section}_offset"]
        count = self.header[f"{section}_count"]
        end = offset + count * ITEM_SIZE[section]
        if offset % ALIGN or offset < HEADER.size or end > len(self.data):
            raise SiwFormatError(f"{section} section ({count} items at offset {offset}) "
                                 f"lies outside the file of {len(self.data)} bytes")
        return offset, count

    def record(self, section: str, layout: Layout, index: int) -> dict[str, int]:
        offset, count = self.spans[section]
        if not 0 <= index < count:
            raise SiwFormatError(f"{section} index {index} out of range ({count} entries)")
        return layout.unpack(self.data, offset + index * layout.size)

    def claim(self, section: str, first: int, count: int, owner: str) -> range:
        """The indices of the next ``count`` records of ``section``, which ``owner``
        must declare as starting at ``first``."""
        if first != self.next_index[section]:
            raise SiwFormatError(f"{owner}: {section} should start at index "
                                 f"{self.next_index[section]}, not {first}")
        if first + count > self.spans[section][1]:
            raise SiwFormatError(f"{owner}: {section} index {first + count - 1} out of "
                                 f"range ({self.spans[section][1]} entries)")
        self.next_index[section] = first + count
        return range(first, first + count)

    def check_all_claimed(self) -> None:
        for section, used in self.next_index.items():
            if used != self.spans[section][1]:
                raise SiwFormatError(f"{section} table has {self.spans[section][1]} entries "
                                     f"but kernels use {used}")

    def string(self, offset: int) -> str:
        start, size = self.spans["strings"]
        if size == 0 or self.data[start + size - 1] != 0 or offset >= size:
            raise SiwFormatError(f"string offset {offset} is outside the string table")
        end = self.data.index(b"\x00", start + offset)
        try:
            return self.data[start + offset:end].decode("utf-8")
        except UnicodeDecodeError:
            raise SiwFormatError(f"string at offset {offset} is not UTF-8") from None


def _expect_zero(value: int | bytes, what: str) -> None:
    if value if isinstance(value, int) else any(value):
        raise SiwFormatError(f"{what}: reserved field is not zero")


def _read_param(reader: _Reader, index: int, symbols: tuple[str, ...], where: str) -> Param:
    rec = reader.record("params", PARAM, index)
    _expect_zero(rec["reserved0"] | rec["reserved1"], f"{where} parameter {index}")
    if rec["kind"] > 1 or rec["dtype"] >= len(SCALAR_TYPES):
        raise SiwFormatError(f"{where} parameter {index}: bad kind or dtype code")
    dims: list[int | str] = []
    owner = f"{where} parameter {index}"
    for k, dim_index in enumerate(reader.claim("dims", rec["dims_first"], rec["rank"], owner)):
        dim = reader.record("dims", DIM, dim_index)
        if dim["kind"] == DIM_CONSTANT:
            dims.append(dim["value"])
        elif dim["kind"] == DIM_SYMBOL and dim["value"] < len(symbols):
            dims.append(symbols[dim["value"]])
        else:
            raise SiwFormatError(f"{where} parameter {index}: bad dimension entry {k}")
    return Param(reader.string(rec["name"]), SCALAR_TYPES[rec["dtype"]], tuple(dims),
                 bool(rec["kind"]))


def _read_kernel(reader: _Reader, index: int) -> KernelInfo:
    rec = reader.record("kernels", KERNEL, index)
    where = f"kernel {index}"
    _expect_zero(rec["reserved"] | rec["flags"] & ~KERNEL_USES_CPIPE, where)
    symbols = tuple(reader.string(reader.record("symbols", SYMBOL, k)["name"]) for k
                    in reader.claim("symbols", rec["symbols_first"], rec["symbols_count"], where))
    params = tuple(_read_param(reader, k, symbols, where) for k
                   in reader.claim("params", rec["params_first"], rec["params_count"], where))
    return KernelInfo(name=reader.string(rec["name"]), params=params, symbols=symbols,
                      entry=rec["entry"], length=rec["length"],
                      spill_words=rec["spill_words"], min_sentrons=rec["min_sentrons"],
                      max_sentrons=rec["max_sentrons"],
                      uses_cpipe=bool(rec["flags"] & KERNEL_USES_CPIPE))


def _read_word(reader: _Reader, index: int) -> Word:
    rec = reader.record("words", WORD, index)
    _expect_zero(rec["reserved"], f"word {index}")
    d, s, c = (decode_op(rec[slot], f"word {index} slot {slot.upper()}")
               for slot in ("d", "s", "c"))
    return Word(d, s, c, rec["deps"])


def _read_debug(reader: _Reader, program: Program) -> None:
    offset, size = reader.spans["debug"]
    if size == 0:
        return
    if size < DEBUG_HEADER.size:
        raise SiwFormatError("debug section is shorter than its header")
    head = DEBUG_HEADER.unpack(reader.data, offset)
    if size != DEBUG_HEADER.size + head["count"] * LOCATION.size:
        raise SiwFormatError(f"debug section of {size} bytes does not hold "
                             f"{head['count']} locations")
    program.source_name = reader.string(head["source_name"])
    for k in range(head["count"]):
        loc = LOCATION.unpack(reader.data, offset + DEBUG_HEADER.size + k * LOCATION.size)
        if loc["line"] == 0 and loc["col"] != 0:
            raise SiwFormatError(f"debug location {k}: column without a line")
        program.locations.append(SourceLoc(loc["line"], loc["col"]) if loc["line"] else None)


def _check_padding(reader: _Reader) -> None:
    """Bytes outside every section must be zero padding, and sections must not overlap."""
    spans = sorted((offset, offset + count * ITEM_SIZE[s]) for s, (offset, count)
                   in reader.spans.items())
    cursor = HEADER.size
    for start, end in spans:
        if start < cursor:
            raise SiwFormatError("sections overlap")
        _expect_zero(reader.data[cursor:start], "padding")
        cursor = max(cursor, end)
    _expect_zero(reader.data[cursor:], "padding")


def decode_unverified(data: bytes) -> Program:
    """Parse a `.siw` file without checking the contract (for diagnostics only)."""
    reader = _Reader(bytes(data))
    _check_padding(reader)
    program = Program(flags=reader.header["flags"])
    program.kernels = [_read_kernel(reader, k) for k in range(reader.spans["kernels"][1])]
    reader.check_all_claimed()
    program.pool = [reader.record("pool", POOL_ENTRY, k)["value"]
                    for k in range(reader.spans["pool"][1])]
    program.words = [_read_word(reader, k) for k in range(reader.spans["words"][1])]
    _read_debug(reader, program)
    return program


def decode(data: bytes) -> Program:
    """Parse and verify a `.siw` file."""
    program = decode_unverified(data)
    verify(program)
    return program
