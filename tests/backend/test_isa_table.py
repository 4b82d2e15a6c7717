"""The ISA table checked both ways against the encoder, decoder, assembler and docs."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from phextcc.backend import isa_doc, siw_format
from phextcc.backend.assembler import assemble_instr
from phextcc.backend.disassembler import format_instr
from phextcc.backend.isa import (
    BY_OPCODE,
    ENUM_OF_KIND,
    ISA,
    OPCODE_BITS,
    Kind,
    OpInfo,
)
from phextcc.backend.program import Instr
from phextcc.backend.siw_format import SiwFormatError, decode_op, encode_op
from phextcc.backend.verifier import field_range

DOCS = Path(__file__).resolve().parents[2] / "docs"


def extreme_instrs(info: OpInfo) -> list[Instr]:
    """The op with every operand at its lowest, then at its highest legal value."""
    lows = tuple(field_range(o)[0] for o in info.operands)
    highs = tuple(field_range(o)[1] for o in info.operands)
    return [Instr(info, lows), Instr(info, highs)]


@pytest.mark.parametrize("info", ISA, ids=lambda info: info.mnemonic)
def test_every_row_encodes_decodes_and_assembles(info: OpInfo) -> None:
    for instr in extreme_instrs(info):
        bits = encode_op(instr)
        assert bits & ((1 << OPCODE_BITS) - 1) == info.opcode
        assert decode_op(bits, "test") == instr
        assert encode_op(decode_op(bits, "test")) == bits
        text = format_instr(instr, label=str)  # targets as absolute @N
        assert text.split()[0] == info.mnemonic
        assert encode_op(assemble_instr(text)) == bits


def test_every_opcode_decodes_to_its_row() -> None:
    for opcode in range(1 << OPCODE_BITS):
        info = BY_OPCODE.get(opcode)
        if info is None:
            with pytest.raises(SiwFormatError, match="unknown opcode"):
                decode_op(opcode, "test")
        else:
            assert decode_op(encode_op(Instr(info, (0,) * len(info.operands))),
                             "test").info is info


def test_operand_kinds_are_distinct_members() -> None:
    # Equal enum values would silently alias COND, REDOP, HINT, FENCE and TYPE.
    assert len({k.name for k in Kind}) == len(Kind.__members__)
    assert len(ENUM_OF_KIND) == 5


def test_isa_doc_is_current() -> None:
    committed = (DOCS / "isa.md").read_text(encoding="utf-8")
    assert committed == isa_doc.render(), \
        "docs/isa.md is stale: run python -m phextcc.backend.isa_doc"


def test_isa_doc_lists_every_family() -> None:
    text = isa_doc.render()
    for family in {op.family for op in ISA}:
        assert re.search(rf"`{family}(\.<|`)", text), family


def test_isa_doc_main_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "isa.md"
    assert isa_doc.main([str(target)]) == 0
    assert target.read_text(encoding="utf-8") == isa_doc.render()


LAYOUTS = [siw_format.KERNEL, siw_format.PARAM, siw_format.DIM, siw_format.SYMBOL,
           siw_format.POOL_ENTRY, siw_format.WORD, siw_format.DEBUG_HEADER,
           siw_format.LOCATION, siw_format.HEADER]


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda layout: layout.name)
def test_format_doc_lists_every_field_at_its_offset(layout: siw_format.Layout) -> None:
    text = (DOCS / "siw-format.md").read_text(encoding="utf-8")
    for offset, size, name, _ in layout.offsets():
        assert f"| {offset} | {size} | `{name}` |" in text, (layout.name, name)
