"""Fuzzing the loader: a mutated or truncated valid `.siw` file either decodes to a
program that re-encodes consistently or is rejected with ``SiwError`` (SiwFormatError
or SiwVerifyError), never another exception.

The default run mutates a few fixed files ~300 times; ``-m slow`` runs 5000 mutations
plus a property-based run over random programs."""

from __future__ import annotations

import random
import struct
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phextcc.backend.assembler import assemble
from phextcc.backend.program import Program
from phextcc.backend.siw_format import HEADER, decode, encode
from phextcc.backend.verifier import SiwError
from tests.backend.samples import COLLECTIVES, SAXPY
from tests.backend.strategies import programs

Mutation = Callable[[bytes, random.Random], bytes]


def flip_bits(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        position = rng.randrange(len(out))
        out[position] ^= 1 << rng.randrange(8)
    return bytes(out)


def set_byte(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    out[rng.randrange(len(out))] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
    return bytes(out)


def truncate(data: bytes, rng: random.Random) -> bytes:
    return data[:rng.randrange(len(data))]


def header_field(data: bytes, rng: random.Random) -> bytes:
    """Overwrite a 32-bit header field (offsets, counts, sizes) with an odd value."""
    offset = rng.randrange(12, HEADER.size, 4)
    value = rng.choice([0, 1, 7, 8, 0xFFFF, 0xFFFFFFFF, rng.randrange(1 << 32),
                        len(data), len(data) - 8, len(data) + 8])
    return data[:offset] + struct.pack("<I", value) + data[offset + 4:]


def insert_or_delete(data: bytes, rng: random.Random) -> bytes:
    position = rng.randrange(len(data))
    if rng.random() < 0.5:
        return data[:position] + bytes([rng.randrange(256)]) * rng.randint(1, 9) + \
            data[position:]
    return data[:position] + data[position + rng.randint(1, 9):]


def splice_word(data: bytes, rng: random.Random) -> bytes:
    """Copy one 32-byte stretch over another (moves ops, deps and records around)."""
    size = 32
    source, target = rng.randrange(len(data) - size), rng.randrange(len(data) - size)
    return data[:target] + data[source:source + size] + data[target + size:]


MUTATIONS: tuple[Mutation, ...] = (flip_bits, set_byte, truncate, header_field,
                                   insert_or_delete, splice_word)


def check_loader(data: bytes) -> bool:
    """True if ``data`` loaded; raises if the loader misbehaved."""
    try:
        program = decode(data)
    except SiwError:
        return False
    assert decode(encode(program)) == program
    return True


def corpus() -> list[bytes]:
    return [encode(assemble(SAXPY)), encode(assemble(COLLECTIVES)), encode(Program())]


def run_mutations(count: int, seed: int) -> tuple[int, int]:
    rng = random.Random(seed)
    bases = corpus()
    loaded = rejected = 0
    for _ in range(count):
        data = rng.choice(bases)
        for _ in range(rng.randint(1, 3)):
            data = rng.choice(MUTATIONS)(data, rng) if len(data) > 40 else data
        if check_loader(data):
            loaded += 1
        else:
            rejected += 1
    return loaded, rejected


def test_corpus_is_valid() -> None:
    assert all(check_loader(data) for data in corpus())


def test_mutated_files_are_loaded_or_rejected_cleanly() -> None:
    loaded, rejected = run_mutations(300, seed=2026)
    assert loaded + rejected == 300
    assert rejected > 200  # the mutations do reach the checks


@pytest.mark.slow
def test_mutated_files_are_loaded_or_rejected_cleanly_long() -> None:
    loaded, rejected = run_mutations(5000, seed=11)
    assert loaded + rejected == 5000


@pytest.mark.slow
@settings(max_examples=500, deadline=None)
@given(programs(), st.randoms(use_true_random=False), st.integers(1, 4))
def test_mutated_random_programs(program: Program, rng: random.Random, rounds: int) -> None:
    data = encode(program)
    for _ in range(rounds):
        if len(data) > 40:
            data = rng.choice(MUTATIONS)(data, rng)
    check_loader(data)
