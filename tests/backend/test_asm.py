"""The `.siws` assembler and disassembler: syntax, inference, diagnostics, round trips."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings

from phextcc.backend.assembler import SiwAsmError, assemble, assemble_instr
from phextcc.backend.disassembler import disassemble, format_instr
from phextcc.backend.isa import Pipe, lookup
from phextcc.backend.program import Program, SourceLoc
from phextcc.backend.siw_format import decode, encode
from tests.backend.samples import COLLECTIVES, SAXPY
from tests.backend.strategies import programs

HALT_KERNEL = ".kernel k\n    DHALT\n"


def asm_error(text: str, filename: str = "t.siws") -> str:
    with pytest.raises(SiwAsmError) as info:
        assemble(text, filename)
    return str(info.value)


# --- what the assembler builds ----------------------------------------------------------


def test_kernel_table_from_directives() -> None:
    program = assemble(SAXPY)
    saxpy, second = program.kernels
    assert (saxpy.name, saxpy.entry, saxpy.length) == ("saxpy", 0, 10)
    assert [p.name for p in saxpy.params] == ["x", "y", "a", "n"]
    assert saxpy.params[0].dims == ("N",) and saxpy.params[0].is_tensor
    assert not saxpy.params[2].is_tensor and saxpy.params[2].dtype == "f32"
    assert saxpy.symbols == ("N",)  # inferred from the parameters
    assert second.symbols == ("M", "K")  # given explicitly, order kept
    assert (second.entry, second.length) == (10, 3)
    assert second.params[0].dims == (4, "M")


def test_ops_go_to_their_pipe_slot_and_nops_fill_the_rest() -> None:
    program = assemble(".kernel k\n    { CSID r1 | DMOVI r2, #5 }\n    { SNOP | DHALT }\n")
    first = program.words[0]
    assert first.d.info.mnemonic == "DMOVI" and first.d.args == (2, 5)
    assert first.s.info.mnemonic == "SNOP" and first.c.info.mnemonic == "CSID"
    assert program.words[1].d.info.mnemonic == "DHALT"


def test_labels_and_absolute_targets() -> None:
    text = ".kernel k\n    DMOVI r1, #3\nloop: DBNZ r1, @loop\n    DJMP @0\n"
    program = assemble(text)
    assert program.words[1].d.args == (1, 1)
    assert program.words[2].d.args == (0,)


def test_labels_are_local_to_their_kernel() -> None:
    text = (".kernel a\nloop: DMOVI r1, #0\n    DJMP @loop\n"
            ".kernel b\nloop: DMOVI r1, #0\n    DJMP @loop\n")
    program = assemble(text)
    assert program.words[1].d.args == (0,) and program.words[3].d.args == (2,)
    message = asm_error(".kernel a\nhere: DHALT\n.kernel b\n    DJMP @here\n")
    assert "t.siws:4:10: error: undefined label 'here' in this kernel" in message


def test_deps_are_computed_when_omitted() -> None:
    program = assemble(".kernel k\n    DMOVI r1, #3\n    { SSPILL r1, spill0 }\n"
                       "    { DHALT | CSID r1 }\n")
    assert [w.deps for w in program.words] == [0, 1 << 4, 0]
    assert program.kernels[0].spill_words == 1  # inferred from the spill op


def test_explicit_deps_are_kept_and_checked() -> None:
    text = ".kernel k\n    DMOVI r1, #3 deps=0x00\n    { DHALT | SSPILL r1, spill0 } deps=0x10\n"
    assert assemble(text).words[1].deps == 0x10
    message = asm_error(text.replace("deps=0x10", "deps=0x01"))
    assert "t.siws:3:5: error: word 1: deps byte 0x01 should be 0x10" in message


def test_cpipe_use_is_inferred_from_traffic() -> None:
    assert assemble(COLLECTIVES).kernels[0].uses_cpipe
    assert not assemble(".kernel k\n    { DHALT | CSID r1 }\n").kernels[0].uses_cpipe
    assert assemble(".kernel k\n.cpipe yes\n    DHALT\n").kernels[0].uses_cpipe


def test_pool_constants() -> None:
    text = ".const f64:1.5\n.const f32:-2\n.const -1\n.const 0x10\n" + HALT_KERNEL
    pool = assemble(text).pool
    assert pool == [struct.unpack("<Q", struct.pack("<d", 1.5))[0],
                    struct.unpack("<I", struct.pack("<f", -2.0))[0], (1 << 64) - 1, 16]


def test_debug_locations_and_source() -> None:
    program = assemble('.source "k.phx"\n.kernel k\n    .loc 7 3\n    DMOVI r1, #0\n'
                       "    DHALT\n")
    assert program.source_name == "k.phx"
    assert program.locations == [SourceLoc(7, 3), None]
    assert assemble(HALT_KERNEL).locations == []


def test_sentrons_and_flags_directives() -> None:
    program = assemble(".flags 0x1\n.kernel k\n.sentrons 2 8\n    DHALT\n")
    assert program.flags == 1
    assert (program.kernels[0].min_sentrons, program.kernels[0].max_sentrons) == (2, 8)


def test_mnemonic_case_is_normalised() -> None:
    assert assemble_instr("dadd.F32 r1, r2, r3").info is lookup("DADD", lookup("DADD.f32").type)


def test_enum_operands_by_name() -> None:
    assert assemble_instr("DCMP.f64 r1, r2, r3, ge").args == (1, 2, 3, 5)
    assert assemble_instr("DCVT.f32 r1, r2, i64").args == (1, 2, 1)
    assert assemble_instr("SPREFCH p1, nta, #64").args == (1, 3, 64)
    assert assemble_instr("CFENCE core").args == (1,)
    assert assemble_instr("DRED.i32 r1, m2, xor").args == (1, 2, 5)


# --- diagnostics --------------------------------------------------------------------------


def test_error_has_location_source_line_and_caret() -> None:
    message = asm_error(".kernel k\n    { DADDX r1, r2 }\n")
    lines = message.splitlines()
    assert lines[0] == "t.siws:2:7: error: unknown mnemonic 'DADDX'"
    assert lines[1] == "    { DADDX r1, r2 }"
    assert lines[2] == "      ^"


def test_several_errors_in_one_run() -> None:
    message = asm_error(".kernel k\n    DFOO\n    DMOV r1\n    .bogus\n    DHALT\n")
    assert "t.siws:2:5: error: unknown mnemonic" in message
    assert "t.siws:3:10: error: DMOV takes 2 operand(s)" in message
    assert "t.siws:4:5: error: unknown directive '.bogus'" in message


@pytest.mark.parametrize("line, expected", [
    ("DMOV p1, r2", "2:10: error: operand rd must be written r..., got 'p1'"),
    ("DMOV r16, r2", "2:10: error: operand rd = 16 is out of range 0..15"),
    ("DCMP.i32 r1, r2, r3, less", "2:26: error: operand cc must be one of"),
    ("DMOVI r1, 5", "2:15: error: operand value must be written #..."),
    ("DMOVI r1, #x", "2:15: error: expected an integer"),
    ("DJMP @nowhere", "2:10: error: undefined label 'nowhere'"),
    ("{ DHALT | DNOP }", "2:15: error: a second D-pipe op in one word"),
    ("{ DHALT", "2:7: error: expected '}'"),
    ("DHALT deps=0x100", "2:16: error: deps is one byte"),
])
def test_syntax_errors(line: str, expected: str) -> None:
    assert f"t.siws:{expected}" in asm_error(f".kernel k\n    {line}\n    DHALT\n")


def test_bad_parameter_extent() -> None:
    message = asm_error(".kernel k\n.param t f32[4, -]\n    DHALT\n")
    assert "t.siws:2:17: error: expected an extent or a symbol name, got '-'" in message


def test_word_before_any_kernel() -> None:
    assert "t.siws:1:1: error: this needs a .kernel first" in asm_error("DHALT\n")


def test_duplicate_label_and_kernel() -> None:
    assert "defined twice" in asm_error(".kernel k\na: DHALT\na: DHALT\n")
    assert "kernel 'k' is defined twice" in asm_error(HALT_KERNEL + HALT_KERNEL)


def test_verifier_errors_point_at_the_word() -> None:
    message = asm_error(".kernel k\n.param t f32[4]\n    DARG r1, arg0\n    DHALT\n")
    assert message.startswith("t.siws:3:5: error: word 0 slot D (k): DARG needs a scalar")


def test_verifier_errors_about_a_kernel_point_at_its_directive() -> None:
    message = asm_error(".kernel k\n.param t f32[4]\n.param t f32\n    DHALT\n")
    assert message.startswith("t.siws:1:1: error: kernel k: a parameter name is used twice")


def test_kernel_must_not_fall_off_the_end() -> None:
    assert "must end in DHALT or DJMP" in asm_error(".kernel k\n    DMOVI r1, #0\n")


def test_unsupported_isa_version() -> None:
    assert "ISA 9.0 is not supported" in asm_error(".isa 9.0\n" + HALT_KERNEL)


# --- disassembly and round trips ------------------------------------------------------


def test_disassembly_shows_every_field() -> None:
    text = disassemble(assemble(SAXPY))
    assert ".kernel saxpy" in text and ".param x f32[N]" in text
    assert ".symbols M K" in text and ".source \"saxpy.phx\"" in text
    assert "{ DBR.ge.i32 r3, r2, @L9 | SGATHER.f32 r4, p0, #0 | CNOP } deps=0x" in text
    assert "L9:\n" in text and ".loc 2 5" in text


def test_disassemble_unverified_programs_for_diagnostics() -> None:
    program = assemble(HALT_KERNEL)
    program.words[0] = program.words[0].__class__(d=assemble_instr("SNOP"))
    assert "SNOP | SNOP | CNOP" in disassemble(program)


def test_format_instr_matches_assembly_syntax() -> None:
    for text in ("DCHK r1, axis2, arg3", "DLDC r4, $7", "DSYM r2, sym1",
                 "SSPILLM m3, spill12", "SINDEX p1, p2, r3, d10", "CUNPK r1, m2, lane3"):
        assert format_instr(assemble_instr(text)) == text


@pytest.mark.parametrize("sample", [SAXPY, COLLECTIVES], ids=["saxpy", "collectives"])
def test_text_round_trip_of_samples(sample: str) -> None:
    program = assemble(sample)
    again = assemble(disassemble(program))
    assert again == program
    assert encode(again) == encode(program)


def check_text_round_trip(program: Program) -> None:
    data = encode(program)
    text = disassemble(decode(data))
    assert encode(assemble(text, "random.siws")) == data


@settings(max_examples=40, deadline=None)
@given(programs())
def test_binary_text_binary_is_byte_identical(program: Program) -> None:
    check_text_round_trip(program)


@pytest.mark.slow
@settings(max_examples=300, deadline=None)
@given(programs(max_kernels=4, max_words=16))
def test_binary_text_binary_is_byte_identical_long(program: Program) -> None:
    check_text_round_trip(program)


def test_slot_order_in_text_does_not_matter() -> None:
    first = assemble(".kernel k\n    { CSID r1 | SNOP | DHALT }\n")
    second = assemble(".kernel k\n    { DHALT | SNOP | CSID r1 }\n")
    assert encode(first) == encode(second)
    assert first.words[0].ops[Pipe.C].info.mnemonic == "CSID"
