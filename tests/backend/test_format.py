"""The `.siw` binary format: layout, round trips and rejection of malformed files."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings

from phextcc.backend.assembler import assemble, assemble_instr
from phextcc.backend.isa import ISA_VERSION, SIW
from phextcc.backend.program import Program, SourceLoc
from phextcc.backend.siw_format import (
    HEADER,
    KERNEL,
    MAGIC,
    PARAM,
    WORD,
    SiwFormatError,
    decode,
    decode_unverified,
    encode,
    encode_op,
)
from phextcc.backend.verifier import SiwVerifyError
from tests.backend.samples import SAXPY
from tests.backend.strategies import programs


@pytest.fixture(name="saxpy")
def fixture_saxpy() -> Program:
    return assemble(SAXPY, "saxpy.siws")


def header_of(data: bytes) -> dict[str, int]:
    return HEADER.unpack(data, 0)


def with_header(data: bytes, **fields: int) -> bytes:
    header = header_of(data)
    header.update(fields)
    return HEADER.pack(**header) + data[HEADER.size:]


def poke(data: bytes, offset: int, raw: bytes) -> bytes:
    return data[:offset] + raw + data[offset + len(raw):]


# --- layout -----------------------------------------------------------------------


def test_header_fields(saxpy: Program) -> None:
    data = encode(saxpy)
    header = header_of(data)
    assert data[:8] == MAGIC == b"SIW\x00vTPU"
    assert (header["isa_major"], header["isa_minor"]) == ISA_VERSION
    assert header["total_size"] == len(data)
    assert header["kernels_count"] == 2 and header["params_count"] == 5
    assert header["words_count"] == len(saxpy.words) == 13
    assert header["pool_count"] == 1
    assert header["debug_count"] == 8 + 8 * 13
    for name in ("kernels", "params", "dims", "symbols", "strings", "pool", "words", "debug"):
        assert header[f"{name}_offset"] % 8 == 0


def test_word_bytes_follow_the_documented_layout() -> None:
    d = assemble_instr("DADD.i32 r1, r2, r3")
    s = assemble_instr("SGATHER.f32 r4, p0, #-3")
    assert encode_op(d) == 0x010 | 1 << 16 | 2 << 20 | 3 << 24
    assert encode_op(s) == 0x112 | 4 << 16 | 0xFFFFFFFD << 32
    raw = WORD.pack(d=encode_op(d), s=encode_op(s), c=0x201, deps=0x09)
    assert len(raw) == SIW.word_bytes
    assert raw.hex() == ("1000210300000000" "12010400fdffffff" "0102000000000000"
                         "0900000000000000")


def test_words_section_holds_each_word_with_deps(saxpy: Program) -> None:
    data = encode(saxpy)
    offset = header_of(data)["words_offset"]
    for index, word in enumerate(saxpy.words):
        raw = data[offset + 32 * index: offset + 32 * (index + 1)]
        assert struct.unpack_from("<QQQ", raw) == tuple(encode_op(i) for i in word.ops)
        assert raw[24] == word.deps and raw[25:] == bytes(7)


def test_symbol_dimension_is_stored_as_symbol_index(saxpy: Program) -> None:
    data = encode(saxpy)
    header = header_of(data)
    kernel = KERNEL.unpack(data, header["kernels_offset"] + KERNEL.size)
    param = PARAM.unpack(data, header["params_offset"] + PARAM.size * kernel["params_first"])
    dims = struct.unpack_from("<IIII", data, header["dims_offset"] + 8 * param["dims_first"])
    assert dims == (0, 4, 1, 0)  # constant 4, then symbol 0 of the kernel (M)


# --- round trips ----------------------------------------------------------------------


def test_round_trip_hand_built(saxpy: Program) -> None:
    data = encode(saxpy)
    back = decode(data)
    assert back == saxpy
    assert back.locations[0] == SourceLoc(2, 5) and back.locations[1] is None
    assert encode(back) == data


def test_round_trip_without_debug_info(saxpy: Program) -> None:
    saxpy.source_name, saxpy.locations = "", []
    data = encode(saxpy)
    assert header_of(data)["debug_count"] == 0
    assert decode(data) == saxpy


def test_empty_program_round_trips() -> None:
    assert decode(encode(Program())) == Program()


def check_round_trip(program: Program) -> None:
    data = encode(program)
    assert decode(data) == program
    assert encode(decode(data)) == data


@settings(max_examples=40, deadline=None)
@given(programs())
def test_round_trip_random_programs(program: Program) -> None:
    check_round_trip(program)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(programs(max_kernels=4, max_words=16))
def test_round_trip_random_programs_long(program: Program) -> None:
    check_round_trip(program)


# --- rejection ---------------------------------------------------------------------------


def test_encode_verifies_by_default(saxpy: Program) -> None:
    saxpy.words[0] = saxpy.words[0].__class__(saxpy.words[0].d, saxpy.words[0].s,
                                              saxpy.words[0].c, 0xFF)
    with pytest.raises(SiwVerifyError, match="deps"):
        encode(saxpy)
    with pytest.raises(SiwVerifyError, match="deps"):
        decode(encode(saxpy, check=False))
    assert decode_unverified(encode(saxpy, check=False)).words[0].deps == 0xFF


def _broken(data: bytes, case: str) -> bytes:
    header = header_of(data)
    words = header["words_offset"]
    strings = header["strings_offset"]
    params = header["params_offset"]
    kernels = header["kernels_offset"]
    dims = header["dims_offset"]
    debug = header["debug_offset"]
    cases = {
        "short": lambda: data[:40],
        "magic": lambda: poke(data, 0, b"SIX"),
        "format version": lambda: with_header(data, format_version=2),
        "isa major": lambda: with_header(data, isa_major=ISA_VERSION[0] + 1),
        "isa minor": lambda: with_header(data, isa_minor=ISA_VERSION[1] + 1),
        "truncated": lambda: data[:-8],
        "trailing": lambda: data + bytes(8),
        "reserved header": lambda: with_header(data, reserved0=1),
        "section past end": lambda: with_header(data, debug_count=10_000),
        "section misaligned": lambda: with_header(data, pool_offset=header["pool_offset"] + 4,
                                                  pool_count=0),
        "section in header": lambda: with_header(data, pool_offset=8, pool_count=0),
        "overlap": lambda: with_header(data, pool_count=header["pool_count"] + 1),
        "padding": lambda: poke(data, header["symbols_offset"] + 4 * header["symbols_count"],
                                b"\x01"),
        "unknown opcode": lambda: poke(data, words, struct.pack("<H", 0x3FF)),
        "reserved op bits": lambda: poke(data, words + 1, bytes([data[words + 1] | 0x20])),
        "unused field": lambda: poke(data, words + 8 * 2 + 4, b"\x01"),  # CNOP imm
        "word padding": lambda: poke(data, words + 31, b"\x01"),
        "string offset": lambda: poke(data, kernels, struct.pack("<I", 10_000)),
        "string utf8": lambda: poke(data, strings + 1, b"\xff"),
        "string table end": lambda: poke(data, strings + header["strings_count"] - 1, b"A"),
        "param kind": lambda: poke(data, params + 4, b"\x07"),
        "param dtype": lambda: poke(data, params + 5, b"\x09"),
        "param index": lambda: poke(data, kernels + 4, struct.pack("<I", 999)),
        "param count": lambda: poke(data, kernels + 8, struct.pack("<I", 999)),
        "unused params": lambda: poke(data, kernels + 48 + 8, struct.pack("<I", 0)),
        "dims index": lambda: poke(data, params + 8, struct.pack("<I", 1)),
        "dim kind": lambda: poke(data, dims, struct.pack("<I", 5)),
        "dim symbol": lambda: poke(data, dims + 4, struct.pack("<I", 9)),
        "kernel flags": lambda: poke(data, kernels + 40, struct.pack("<I", 2)),
        "debug size": lambda: poke(data, debug + 4, struct.pack("<I", 3)),
        "debug column": lambda: poke(data, debug + 8 + 8 + 4, struct.pack("<I", 7)),
    }
    return cases[case]()


FORMAT_CASES = {
    "short": "shorter than",
    "magic": "bad magic",
    "format version": "format version",
    "isa major": "ISA version",
    "isa minor": "ISA version",
    "truncated": "truncated",
    "trailing": "trailing",
    "reserved header": "reserved header",
    "section past end": "debug section",
    "section misaligned": "pool section",
    "section in header": "pool section",
    "overlap": "overlap",
    "padding": "padding",
    "unknown opcode": "unknown opcode",
    "reserved op bits": "reserved bits",
    "unused field": "unused fields",
    "word padding": "word 0: reserved",
    "string offset": "string offset",
    "string utf8": "not UTF-8",
    "string table end": "string offset",
    "param kind": "kind or dtype",
    "param dtype": "kind or dtype",
    "param index": "params should start at index 0, not 999",
    "param count": "params index 998 out of range",
    "unused params": "params table has 5 entries but kernels use 4",
    "dims index": "dims should start at index 0, not 1",
    "dim kind": "dimension entry",
    "dim symbol": "dimension entry",
    "kernel flags": "kernel 0: reserved",
    "debug size": "debug section",
    "debug column": "column without a line",
}


@pytest.mark.parametrize("case", sorted(FORMAT_CASES))
def test_malformed_file_is_rejected(saxpy: Program, case: str) -> None:
    data = encode(saxpy)
    assert header_of(data)["symbols_count"] % 2  # the symbol table is followed by padding
    decode(data)  # the unbroken file is fine
    with pytest.raises(SiwFormatError, match=FORMAT_CASES[case]):
        decode(_broken(data, case))


def test_reserved_opcode_decodes_but_fails_verification(saxpy: Program) -> None:
    data = encode(saxpy)
    words = header_of(data)["words_offset"]
    broken = poke(data, words + 16, struct.pack("<Q", 0x240))  # CSLICE r0, #0 in slot C
    assert decode_unverified(broken).words[0].c.info.mnemonic == "CSLICE"
    with pytest.raises(SiwVerifyError, match="reserved"):
        decode(broken)


def test_unencodable_values_raise_format_errors(saxpy: Program) -> None:
    saxpy.pool.append(1 << 64)
    with pytest.raises(SiwFormatError, match="does not fit"):
        encode(saxpy, check=False)
