"""The verifier: one test per rule, each breaking exactly one rule of a valid program."""

from __future__ import annotations

import dataclasses

import pytest

from phextcc.backend.assembler import assemble, assemble_instr
from phextcc.backend.isa import DEPS_BITS, Pipe, RegClass
from phextcc.backend.program import Instr, KernelInfo, Param, Program, SourceLoc, Word
from phextcc.backend.verifier import (
    SiwVerifyError,
    compute_deps,
    reg_effects,
    verify,
)
from tests.backend.samples import COLLECTIVES, SAXPY


@pytest.fixture(name="saxpy")
def fixture_saxpy() -> Program:
    return assemble(SAXPY)


@pytest.fixture(name="ring")
def fixture_ring() -> Program:
    return assemble(COLLECTIVES)


def redeps(program: Program) -> Program:
    prev: Word | None = None
    for index, word in enumerate(program.words):
        program.words[index] = dataclasses.replace(word, deps=compute_deps(prev, word))
        prev = program.words[index]
    return program


def set_op(program: Program, index: int, text: str, slot: str | None = None) -> Program:
    """Put the op ``text`` into word ``index`` (its pipe's slot unless ``slot`` is given)
    and fix every deps byte so that only the rule under test can fail."""
    instr = assemble_instr(text)
    slot = slot or instr.pipe.name.lower()
    program.words[index] = dataclasses.replace(program.words[index], **{slot: instr})
    return redeps(program)


def set_kernel(program: Program, index: int, **fields: object) -> Program:
    program.kernels[index] = dataclasses.replace(program.kernels[index], **fields)
    return program


def rejects(program: Program, pattern: str) -> SiwVerifyError:
    with pytest.raises(SiwVerifyError, match=pattern) as info:
        verify(program)
    assert "\n" not in str(info.value)
    return info.value


def test_valid_programs_pass(saxpy: Program, ring: Program) -> None:
    verify(saxpy)
    verify(ring)
    verify(Program())


# --- program-level rules -------------------------------------------------------------


def test_reserved_program_flags(saxpy: Program) -> None:
    saxpy.flags = 1 << 7
    rejects(saxpy, "reserved bits")


def test_pool_entries_are_unsigned_64_bit(saxpy: Program) -> None:
    saxpy.pool[0] = -1
    rejects(saxpy, r"pool entry \$0")


def test_locations_cover_every_word(saxpy: Program) -> None:
    saxpy.locations = saxpy.locations[:-1]
    rejects(saxpy, "locations for")


def test_location_lines_start_at_one(saxpy: Program) -> None:
    saxpy.locations[3] = SourceLoc(0, 4)
    assert rejects(saxpy, "bad source location").word == 3


def test_source_name_without_nul(saxpy: Program) -> None:
    saxpy.source_name = "a\x00b"
    rejects(saxpy, "NUL")


def test_kernel_names_are_identifiers(saxpy: Program) -> None:
    rejects(set_kernel(saxpy, 1, name="9lives"), "not an identifier")


def test_kernel_names_are_unique(saxpy: Program) -> None:
    rejects(set_kernel(saxpy, 1, name="saxpy"), "defined twice")


def test_symbol_names_unique_and_valid(saxpy: Program) -> None:
    rejects(set_kernel(saxpy, 1, symbols=("M", "M")), "listed twice")
    rejects(set_kernel(saxpy, 1, symbols=("M", "a-b")), "not an identifier")
    rejects(set_kernel(saxpy, 1, symbols=tuple(f"s{i}" for i in range(300))),
            "too many shape symbols")


def test_parameter_names_unique_and_valid(saxpy: Program) -> None:
    params = saxpy.kernels[0].params
    rejects(set_kernel(saxpy, 0, params=params[:3] + (Param("x", "i32"),)), "used twice")
    rejects(set_kernel(saxpy, 0, params=params[:3] + (Param("n m", "i32"),)),
            "not an identifier")


def test_parameter_dtypes(saxpy: Program) -> None:
    params = saxpy.kernels[0].params
    rejects(set_kernel(saxpy, 0, params=params[:3] + (Param("n", "f16"),)), "dtype 'f16'")
    rejects(set_kernel(saxpy, 0, params=(Param("x", "bool", ("N",), True),) + params[1:]),
            "dtype 'bool'")


def test_parameter_shapes(saxpy: Program) -> None:
    params = saxpy.kernels[0].params
    rejects(set_kernel(saxpy, 0, params=params[:3] + (Param("n", "i32", (4,)),)),
            "scalar has no dimensions")
    rejects(set_kernel(saxpy, 0, params=(Param("x", "f32", (1,) * 12, True),) + params[1:]),
            "rank 12")
    rejects(set_kernel(saxpy, 0, params=(Param("x", "f32", ("Q",), True),) + params[1:]),
            "'Q' is not a shape symbol")
    rejects(set_kernel(saxpy, 0, params=(Param("x", "f32", (-1,), True),) + params[1:]),
            "extent -1")


def test_too_many_parameters(saxpy: Program) -> None:
    params = tuple(Param(f"a{i}", "i32") for i in range(257))
    rejects(set_kernel(saxpy, 1, params=params, symbols=()), "too many parameters")


def test_sentron_limits(saxpy: Program) -> None:
    rejects(set_kernel(saxpy, 0, min_sentrons=0), "min_sentrons")
    rejects(set_kernel(saxpy, 0, min_sentrons=4, max_sentrons=2), "max_sentrons")


def test_spill_words_in_range(saxpy: Program) -> None:
    rejects(set_kernel(saxpy, 0, spill_words=-1), "spill_words")


def test_kernels_are_not_empty(saxpy: Program) -> None:
    rejects(set_kernel(saxpy, 0, length=0), "empty code range")


def test_kernels_do_not_overlap(saxpy: Program) -> None:
    rejects(set_kernel(saxpy, 1, entry=8), "entry 8 should be 10")


def test_kernels_stay_inside_the_stream(saxpy: Program) -> None:
    rejects(set_kernel(saxpy, 1, length=4), "exceeds the stream")


def test_every_word_belongs_to_a_kernel(saxpy: Program) -> None:
    saxpy.kernels.pop()
    assert rejects(saxpy, "belongs to no kernel").word == 10


def test_kernel_ends_in_halt_or_jump(saxpy: Program) -> None:
    error = rejects(set_op(saxpy, 12, "DBNZ r1, @10"), "must end in DHALT or DJMP")
    assert (error.word, error.slot, error.kernel) == (12, Pipe.D, "second")


def test_kernel_may_end_in_unconditional_jump(saxpy: Program) -> None:
    verify(set_op(saxpy, 12, "DJMP @10"))


# --- op rules ------------------------------------------------------------------------


def test_op_in_the_wrong_slot(saxpy: Program) -> None:
    error = rejects(set_op(saxpy, 3, "DMOVI r9, #1", slot="s"), "is a D-pipe op")
    assert (error.word, error.slot) == (3, Pipe.S)


def test_reserved_opcode(saxpy: Program) -> None:
    rejects(set_op(saxpy, 3, "DHDBIND r9, r10, r11"), r"reserved \(a v0.2 op")
    rejects(set_op(assemble(SAXPY), 3, "SDEDUP r9, r10, p3"), r"reserved \(no semantics")


def test_vector_width_must_be_zero(saxpy: Program) -> None:
    instr = assemble_instr("DMOVI r9, #1")
    saxpy.words[3] = dataclasses.replace(saxpy.words[3], d=Instr(instr.info, instr.args, 1))
    rejects(redeps(saxpy), "vector width 1")


def test_operand_count(saxpy: Program) -> None:
    instr = assemble_instr("DMOVI r9, #1")
    saxpy.words[3] = dataclasses.replace(saxpy.words[3], d=Instr(instr.info, (9,)))
    rejects(saxpy, "takes 2 operands")


@pytest.mark.parametrize("op, position, value, pattern", [
    ("DMOV r9, r1", 0, 16, "rd = 16"),
    ("SMOVP p3, p1", 0, 8, "pd = 8"),
    ("CUNPK r9, m1, lane0", 1, 4, "ms = 4"),
    ("DCMP.i32 r9, r1, r2, lt", 3, 6, "cc = 6"),
    ("CUNPK r9, m1, lane0", 2, 4, "lane = 4"),
    ("SINDEX p3, p3, r1, d0", 3, 11, "dim = 11"),
    ("DCHK r1, axis0, arg0", 1, 11, "axis = 11"),
    ("DMOVI r9, #0", 1, 1 << 31, "value = 2147483648"),
    ("SALLOC p3, r1, #0", 2, 8, "dim_mask = 8"),
])
def test_operand_ranges(saxpy: Program, op: str, position: int, value: int,
                        pattern: str) -> None:
    instr = assemble_instr(op)
    args = list(instr.args)
    args[position] = value
    saxpy.words[3] = dataclasses.replace(saxpy.words[3], **{instr.pipe.name.lower():
                                                            Instr(instr.info, tuple(args))})
    rejects(redeps(saxpy), pattern)


def test_param_index_in_range(saxpy: Program) -> None:
    rejects(set_op(saxpy, 3, "DARG r9, arg4"), "parameter index 4")


@pytest.mark.parametrize("op, pattern", [
    ("DARG r9, arg0", "needs a scalar parameter"),
    ("SBASE p3, arg2", "needs a tensor parameter"),
    ("DCHK r1, axis0, arg3", "needs a tensor parameter"),
])
def test_param_kind(saxpy: Program, op: str, pattern: str) -> None:
    rejects(set_op(saxpy, 3, op), pattern)


def test_dchk_axis_below_rank(saxpy: Program) -> None:
    rejects(set_op(saxpy, 3, "DCHK r1, axis1, arg0"), "rank 1")


def test_symbol_index_in_range(saxpy: Program) -> None:
    rejects(set_op(saxpy, 3, "DSYM r9, sym1"), "symbol index 1")


def test_pool_index_in_range(saxpy: Program) -> None:
    rejects(set_op(saxpy, 3, "DLDC r9, $1"), "pool index 1")


def test_branch_target_inside_own_kernel(saxpy: Program) -> None:
    rejects(set_op(saxpy, 3, "DBZ r1, @10"), "outside the kernel's words 0..9")
    verify(set_op(assemble(SAXPY), 3, "DBZ r1, @9"))


def test_spill_slot_within_spill_area(ring: Program) -> None:
    set_kernel(ring, 0, spill_words=2)
    verify(set_op(ring, 3, "SSPILLP p1, spill0"))
    rejects(set_op(ring, 3, "SSPILLP p1, spill1"), r"spill slot 1 \(\+2 words\)")
    rejects(set_op(ring, 3, "SFILLM m2, spill0"), r"\(\+4 words\)")


def test_cpipe_traffic_needs_the_kernel_flag(ring: Program) -> None:
    rejects(set_kernel(ring, 0, uses_cpipe=False), "not marked uses_cpipe")


# --- word rules ------------------------------------------------------------------------


def test_two_ops_write_one_register(saxpy: Program) -> None:
    error = rejects(set_op(saxpy, 3, "CSID r7"), "both write r7")
    assert error.word == 3


def test_op_reads_register_another_op_writes(saxpy: Program) -> None:
    rejects(set_op(saxpy, 3, "SINDEX p3, p3, r7, d0"), "both use r7 and one writes it")


def test_read_before_write_in_one_word_is_also_rejected(saxpy: Program) -> None:
    # WAR inside a word: C reads r1 (rs of CPACK) while D writes it.
    set_op(saxpy, 3, "DMOVI r1, #1")
    rejects(set_op(saxpy, 3, "CPACK m0, r1, lane0"), "r1")


def test_deps_byte_must_be_exact(saxpy: Program) -> None:
    saxpy.words[5] = dataclasses.replace(saxpy.words[5], deps=saxpy.words[5].deps | 0x80)
    error = rejects(saxpy, "deps byte")
    assert error.word == 5


# --- register facts ------------------------------------------------------------------------


def test_reg_effects_from_the_table() -> None:
    assert reg_effects(assemble_instr("DFMA.f32 r1, r2, r3, r4")) == (
        {(RegClass.R, 2), (RegClass.R, 3), (RegClass.R, 4)}, {(RegClass.R, 1)})
    assert reg_effects(assemble_instr("CPACK m1, r2, lane3")) == (
        {(RegClass.M, 1), (RegClass.R, 2)}, {(RegClass.M, 1)})
    assert reg_effects(assemble_instr("SINDEX p1, p2, r3, d4")) == (
        {(RegClass.P, 2), (RegClass.R, 3)}, {(RegClass.P, 1)})
    assert reg_effects(assemble_instr("DHALT")) == (set(), set())


WRITERS = {Pipe.D: "DMOVI r1, #0", Pipe.S: "SFILL r1, spill0", Pipe.C: "CSID r1"}
READERS = {Pipe.D: "DMOV r2, r1", Pipe.S: "SSPILL r1, spill0", Pipe.C: "CPACK m0, r1, lane0"}


@pytest.mark.parametrize("pair", sorted(DEPS_BITS, key=lambda p: (p[0].value, p[1].value)))
def test_compute_deps_sets_the_bit_of_each_pipe_pair(pair: tuple[Pipe, Pipe]) -> None:
    producer, consumer = pair
    prev = Word(**{producer.name.lower(): assemble_instr(WRITERS[producer])})
    word = Word(**{consumer.name.lower(): assemble_instr(READERS[consumer])})
    assert compute_deps(prev, word) == 1 << DEPS_BITS[pair]
    assert compute_deps(None, word) == 0


def test_compute_deps_counts_writes_after_writes_but_not_reads_after_reads() -> None:
    prev = Word(d=assemble_instr("DMOVI r1, #0"), s=assemble_instr("SSPILL r2, spill0"))
    assert compute_deps(prev, Word(c=assemble_instr("CSID r1"))) == 1 << 5
    assert compute_deps(prev, Word(d=assemble_instr("DMOV r3, r2"))) == 0


def test_kernel_info_defaults_are_valid() -> None:
    kernel = KernelInfo("k", (), (), 0, 1)
    verify(Program([kernel], [], [Word(d=assemble_instr("DHALT"))]))
