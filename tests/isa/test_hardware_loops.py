"""DLOOP and the post-increment accesses in the ISA table, the encodings, the assembler
round trip, the deps byte and the verifier's rules for hardware loop bodies."""

from __future__ import annotations

import dataclasses
import re

import pytest

from phextcc.backend import siw_format
from phextcc.backend.assembler import SiwAsmError, assemble, assemble_instr
from phextcc.backend.disassembler import disassemble, format_instr
from phextcc.backend.hardware_loops import hardware_loops, loop_ending_at, loops_by_end
from phextcc.backend.isa import BY_MNEMONIC, DEPS_BITS, Effect, Pipe, RegClass, Role
from phextcc.backend.program import Instr, Program, Word
from phextcc.backend.verifier import SiwVerifyError, compute_deps, reg_effects, verify
from tests.runtime.build import HALT, op, program, scalar, tensor

HEADER = """
.kernel k
.param x f32[N]
.param n i64
"""

LOOP = HEADER + """
    { DARG r1, arg1 | SBASE p0, arg0 }
    { DLOOP r1, @last }
    { SGATHERI.f32 r2, p0, #0, #1 }
last:
    { DADD.f32 r3, r3, r2 }
    { DHALT }
"""


def test_rows_are_extensions_in_free_opcodes() -> None:
    loop = BY_MNEMONIC["DLOOP"]
    assert loop.pipe is Pipe.D and loop.latency == "branch" and loop.effects == Effect.LOOP
    assert loop.extension and not loop.reserved
    for family in ("SGATHERI", "SSCATTRI"):
        rows = [BY_MNEMONIC[f"{family}.{t}"] for t in ("i32", "i64", "f32", "f64")]
        assert len({r.opcode for r in rows}) == 4
        coord = next(o for o in rows[0].operands if o.name == "coord")
        assert coord.role is Role.USEDEF  # read and written: deps, verifier, allocator
        assert rows[0].latency in ("load", "store")


def test_post_increment_immediates_are_signed_16_bit() -> None:
    text = "SGATHERI.f64 r15, p7, #-32768, #32767"
    instr = assemble_instr(text)
    assert instr.args == (15, 7, -32768, 32767)
    bits = siw_format.encode_op(instr)
    assert bits >> 32 & 0xFFFF == 0x8000 and bits >> 48 == 0x7FFF
    assert siw_format.decode_op(bits, "test") == instr
    assert format_instr(instr) == text
    with pytest.raises(SiwAsmError, match="out of range -32768..32767"):
        assemble_instr("SSCATTRI.i32 p0, r1, #0, #32768")


def test_program_round_trips_through_text_and_binary() -> None:
    program = assemble(LOOP)
    text = disassemble(program)
    assert "L3:" in text and "DLOOP r1, @L3" in text  # the loop end gets a label
    again = assemble(text)
    assert siw_format.encode(again) == siw_format.encode(program)
    assert disassemble(siw_format.decode(siw_format.encode(program))) == text


def test_coordinate_of_a_post_increment_is_read_and_written() -> None:
    instr = assemble_instr("SSCATTRI.f32 p3, r1, #2, #4")
    reads, writes = reg_effects(instr)
    assert (RegClass.P, 3) in reads and writes == {(RegClass.P, 3)}


def test_deps_byte_sees_the_written_back_coordinate() -> None:
    program = assemble(HEADER + """
    { SBASE p0, arg0 }
    { SGATHERI.f32 r1, p0, #0, #1 }
    { SGATHER.f32 r2, p0, #0 }
    { SINDEX p1, p0, r2, d0 }
    { DHALT }
""")
    assert program.words[2].deps == 1 << DEPS_BITS[(Pipe.S, Pipe.S)]
    assert program.words[3].deps == 1 << DEPS_BITS[(Pipe.S, Pipe.S)]


def test_a_word_may_not_read_what_its_post_increment_writes() -> None:
    with pytest.raises(SiwAsmError, match="both use r1 and one writes it"):
        assemble(HEADER + """
    { SBASE p0, arg0 }
    { DADD.f32 r3, r1, r1 | SGATHERI.f32 r1, p0, #0, #1 }
    { DHALT }
""")


# -- the verifier's rules for loop bodies ------------------------------------------------


def _kernel(*ops: Instr | Word) -> Program:
    """Kernel k (params x: f32[8], n: i64) with deps computed."""
    prog = program(list(ops), params=(tensor("x", "f32", 8), scalar("n", "i64")))
    previous: Word | None = None
    for index, current in enumerate(prog.words):
        prog.words[index] = dataclasses.replace(current, deps=compute_deps(previous, current))
        previous = prog.words[index]
    return prog


def _error(prog: Program) -> SiwVerifyError:
    with pytest.raises(SiwVerifyError) as caught:
        verify(prog)
    return caught.value


ADD = op("DADD.i64", 2, 2, 1)


def test_well_formed_loops_verify() -> None:
    # a loop after a loop, one-word bodies, a loop inside a DBR loop
    prog = _kernel(op("DARG", 1, 1),  # 0
                   op("DLOOP", 1, 2), ADD,  # 1, 2
                   op("DLOOP", 1, 5), ADD, ADD,  # 3, 4, 5
                   op("DLOOP", 1, 7), ADD,  # 6 (outer loop header), 7
                   op("DBR.lt.i64", 2, 1, 6),  # 8: back to the DLOOP
                   HALT)  # 9
    verify(prog)
    kernel = prog.kernels[0]
    assert [(lp.setup, lp.end) for lp in hardware_loops(prog, kernel)] == \
        [(1, 2), (3, 5), (6, 7)]
    assert set(loops_by_end(prog, kernel)) == {2, 5, 7}
    assert loop_ending_at(prog, kernel, 5) == hardware_loops(prog, kernel)[1]
    assert loop_ending_at(prog, kernel, 4) is None
    assert loop_ending_at(prog, kernel, 8) is None


@pytest.mark.parametrize("words,where,message", [
    # a branch (from after the loop) into the middle of the body
    ([op("DLOOP", 1, 2), ADD, ADD, op("DBNZ", 2, 2), HALT], (3, Pipe.D),
     r"word 3 slot D \(k\): DBNZ targets word 2 inside the hardware loop of the DLOOP at "
     r"word 0 \(body 1\.\.2\); a body is entered only from its DLOOP"),
    # a branch to the first body word from anywhere but the DLOOP falling through
    ([op("DBZ", 2, 2), op("DLOOP", 1, 2), ADD, HALT], (0, Pipe.D),
     r"DBZ targets word 2 inside the hardware loop of the DLOOP at word 1"),
    # a branch inside the body
    ([op("DLOOP", 1, 3), op("DBNZ", 2, 4), ADD, ADD, HALT], (1, Pipe.D),
     r"word 1 slot D \(k\): DBNZ inside the hardware loop of the DLOOP at word 0 "
     r"\(body 1\.\.3\); a hardware loop body is straight-line"),
    ([op("DLOOP", 1, 2), ADD, op("DJMP", 3), HALT], (2, Pipe.D), r"DJMP inside"),
    # DHALT inside (also: a body running to the kernel's last word)
    ([op("DLOOP", 1, 2), op("DHALT"), ADD, HALT], (1, Pipe.D), r"DHALT inside"),
    ([op("DLOOP", 1, 2), ADD, HALT], (2, Pipe.D), r"DHALT inside"),
    # nested DLOOP
    ([op("DLOOP", 1, 3), op("DLOOP", 1, 3), ADD, ADD, HALT], (1, Pipe.D),
     r"word 1 slot D \(k\): nested DLOOP inside the hardware loop of the DLOOP at word 0"),
    # end before start, and an empty body (end on the DLOOP word itself)
    ([ADD, op("DLOOP", 1, 0), ADD, HALT], (1, Pipe.D),
     r"kernel k: DLOOP at word 1: loop end 0 must come after the DLOOP word"),
    ([ADD, op("DLOOP", 1, 1), ADD, HALT], (1, Pipe.D), r"loop end 1 must come after"),
    # end outside the kernel
    ([op("DLOOP", 1, 9), ADD, HALT], (0, Pipe.D),
     r"word 0 slot D \(k\): loop end 9 is outside the kernel's words 0\.\.2"),
])
def test_malformed_loops_are_rejected(words: list[Instr], where: tuple[int, Pipe],
                                      message: str) -> None:
    error = _error(_kernel(*words))
    assert re.search(message, str(error)), str(error)
    assert (error.word, error.slot) == where


def test_assembler_points_at_the_offending_word() -> None:
    with pytest.raises(SiwAsmError) as caught:
        assemble(HEADER + """
    { DARG r1, arg1 }
    { DLOOP r1, @last }
    { DADD.i64 r2, r2, r1 }
    { DBNZ r2, @last }
last:
    { DADD.i64 r2, r2, r1 }
    { DHALT }
""")
    text = str(caught.value)
    assert "DBNZ inside the hardware loop of the DLOOP at word 1" in text
    assert "{ DBNZ r2, @last }" in text  # the source line of word 3
