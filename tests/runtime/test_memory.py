"""Phext memory: tensor regions, loads/stores of each type, faults, DCHK, SALLOC,
and the translation cache model."""

from __future__ import annotations

import numpy as np
import pytest

from phextcc.backend.isa import OFFSET_BITS, Type
from runtime.errors import IndexOutOfRange, MemoryFault
from runtime.floatbits import f32_bits, i32_bits
from runtime.phext_memory import PhextPageTable, TranslationCache, describe, pack_coordinate
from runtime.simulator import simulate
from tests.runtime.build import HALT, op, program, run_ops, scalar, tensor, word

DTYPES = {"i32": np.int32, "i64": np.int64, "f32": np.float32, "f64": np.float64}


@pytest.mark.parametrize("t", ["i32", "i64", "f32", "f64"])
def test_copy_and_reverse_through_gather_scatter(t: str) -> None:
    # out[i] = x[n-1-i] for n = 3, unrolled; coordinates stepped with SINDEX.
    x = np.array([-1, 2, -3], dtype=DTYPES[t])
    out = np.zeros(3, dtype=DTYPES[t])
    ops = [op("SBASE", 0, 0), op("SBASE", 1, 1)]
    for i in range(3):
        ops += [op(f"SGATHER.{t}", 2, 0, 2 - i), op(f"SSCATTR.{t}", 1, 2, i)]
    prog = program(ops + [HALT], params=(tensor("x", t, 3), tensor("out", t, 3)))
    simulate(prog, "k", [x, out])
    assert out.tolist() == x[::-1].tolist()


def test_loaded_patterns_follow_register_conventions() -> None:
    xi = np.array([-2], dtype=np.int32)
    xf = np.array([1.5], dtype=np.float32)
    prog = program([op("SBASE", 0, 0), op("SBASE", 1, 1), op("SGATHER.i32", 1, 0, 0),
                    op("SGATHER.f32", 2, 1, 0), HALT],
                   params=(tensor("a", "i32", 1), tensor("b", "f32", 1)))
    regs = simulate(prog, "k", [xi, xf]).registers[0]
    assert regs[1] == i32_bits(-2)
    assert regs[2] == f32_bits(1.5)


def test_two_dimensional_offset_carries_into_d1() -> None:
    # flat offset 2049 of a 2 x 1025 tensor = D0 1, D1 1 (base 2048)
    x = np.arange(2 * 1025, dtype=np.int64).reshape(2, 1025)
    prog = program([op("SBASE", 0, 0), op("DMOVI", 1, 2049), op("SINDEX", 0, 0, 1, 0),
                    op("SGATHER.i64", 2, 0, 0), op("DMOVI", 3, 1), op("SINDEX", 1, 0, 3, 1),
                    HALT], params=(tensor("x", "i64", 2, 1025),))
    regs = simulate(prog, "k", [x]).registers[0]
    assert regs[2] == 2049
    assert describe(regs[16]) == "[1,1,0,0,0,0,0,0,0,0,0]"
    assert describe(regs[17]) == "[1,2,0,0,0,0,0,0,0,0,0]"


def test_access_past_the_end_faults_with_the_tensor_name() -> None:
    prog = program([op("SBASE", 0, 0), op("SGATHER.f32", 1, 0, 4), HALT],
                   params=(tensor("x", "f32", 4),))
    with pytest.raises(MemoryFault, match=r"offset 4 outside region 0 \('x', 4 elements\).*"
                                          r"at SIW 1"):
        simulate(prog, "k", [np.zeros(4, np.float32)])


def test_negative_offset_faults() -> None:
    prog = program([op("SBASE", 0, 1), op("SSCATTR.i32", 0, 1, -1), HALT],
                   params=(tensor("x", "i32", 4), tensor("y", "i32", 4)))
    x, y = np.zeros(4, np.int32), np.zeros(4, np.int32)
    with pytest.raises(MemoryFault, match="outside region 0 \\('x'"):
        simulate(prog, "k", [x, y])


def test_unknown_region_and_wrong_type_fault() -> None:
    with pytest.raises(MemoryFault, match="region 5 does not exist"):
        run_ops([op("SBASE", 0, 5), op("SGATHER.i64", 1, 0, 0)])
    prog = program([op("SBASE", 0, 0), op("SGATHER.i64", 1, 0, 0), HALT],
                   params=(tensor("x", "f64", 2),))
    with pytest.raises(MemoryFault, match="as i64 to region 0 \\('x'\\)"):
        simulate(prog, "k", [np.zeros(2)])


def test_dchk_names_tensor_axis_and_index() -> None:
    x = np.zeros((3, 5), np.float32)
    params = (tensor("x", "f32", 3, "n"), scalar("i", "i64"))
    prog = program([op("DARG", 1, 1), op("DCHK", 1, 1, 0), HALT], params=params,
                   symbols=("n",))
    simulate(prog, "k", [x, 4])
    with pytest.raises(IndexOutOfRange, match="index 5 out of range for axis 1 of tensor "
                                              "'x' \\(extent 5\\)"):
        simulate(prog, "k", [x, 5])
    with pytest.raises(IndexOutOfRange, match="index -1 out of range") as info:
        simulate(prog, "k", [x, -1])
    assert (info.value.tensor, info.value.axis, info.value.index) == ("x", 1, -1)


def test_salloc_store_load_free() -> None:
    regs = run_ops([
        op("DMOVI", 1, 2), op("SALLOC", 0, 1, 0),  # 2 words = 4 i32 elements
        op("DMOVI", 2, -7), op("SSCATTR.i32", 0, 2, 3), op("SGATHER.i32", 3, 0, 3),
        op("SGATHER.i64", 4, 0, 0), op("SFREE", 0, 1),
    ]).registers[0]
    assert regs[3] == i32_bits(-7)
    assert regs[4] == 0  # zeroed
    assert regs[16] >> OFFSET_BITS == 1024
    with pytest.raises(MemoryFault, match="offset 4 outside region 1024"):
        run_ops([op("DMOVI", 1, 2), op("SALLOC", 0, 1, 0), op("SGATHER.f32", 3, 0, 4)])
    with pytest.raises(MemoryFault, match="region 1024 does not exist"):
        run_ops([op("DMOVI", 1, 1), op("SALLOC", 0, 1, 0), op("SFREE", 0, 1),
                 op("SGATHER.i64", 3, 0, 0)])
    with pytest.raises(MemoryFault, match="not the base of an SALLOC region"):
        run_ops([op("SBASE", 0, 0), op("SFREE", 0, 1)])


def test_prefetch_and_flush_never_fault() -> None:
    result = run_ops([op("SBASE", 0, 7), op("SPREFCH", 0, 0, 100), op("SFLUSH", 0, 64)])
    assert result.siws == 4


def test_page_table_translation_unit() -> None:
    ppt = PhextPageTable()
    x = np.arange(6, dtype=np.float32)
    ppt.add_tensor(0, "x", x)
    ppt.store(pack_coordinate(0, 5), Type.F32, f32_bits(-1.0))
    assert x[5] == -1.0
    assert ppt.load(pack_coordinate(0, 5), Type.F32) == f32_bits(-1.0)
    assert ppt.byte_address(pack_coordinate(0, 2), Type.F32) == x.ctypes.data + 8
    with pytest.raises(MemoryFault, match="outside phext space"):
        ppt.load(1 << 130, Type.F32)


def test_translation_cache_is_4way_lru_on_pages() -> None:
    cache = TranslationCache()
    sets = 1024 // 4
    same_set = [pack_coordinate(0, page * sets * 2048) for page in range(5)]
    for coord in same_set[:4]:
        assert not cache.access(coord)
    assert cache.access(same_set[0] + 2047)  # same page (D0 dropped)
    assert not cache.access(same_set[4])  # evicts the LRU page: same_set[1]
    assert cache.access(same_set[0])
    assert not cache.access(same_set[1])
    assert (cache.hits, cache.misses) == (2, 6)
    assert cache.hit_rate == pytest.approx(2 / 8)


def test_the_first_pages_of_many_tensors_do_not_share_a_set() -> None:
    """Every tensor starts at page 0 of its own region: eight tensors' first pages stay
    cached together, although a 4-way set could hold only four of them."""
    cache = TranslationCache()
    firsts = [pack_coordinate(region, 0) for region in range(8)]
    for coord in firsts:
        assert not cache.access(coord)
    for coord in firsts:
        assert cache.access(coord)
    assert (cache.hits, cache.misses) == (8, 8)


def test_aliasing_arguments_share_memory() -> None:
    x = np.array([1, 2], dtype=np.int64)
    prog = program([word(op("SBASE", 0, 0)), op("SBASE", 1, 1), op("SGATHER.i64", 1, 0, 0),
                    op("SSCATTR.i64", 1, 1, 1), HALT],
                   params=(tensor("a", "i64", 2), tensor("b", "i64", 2)))
    simulate(prog, "k", [x, x])
    assert x.tolist() == [1, 1]


def test_empty_tensor_and_huge_salloc_fault() -> None:
    prog = program([op("SBASE", 0, 0), op("SGATHER.f64", 1, 0, 0), HALT],
                   params=(tensor("x", "f64", "n"),), symbols=("n",))
    with pytest.raises(MemoryFault, match="offset 0 outside region 0 \\('x', 0 elements\\)"):
        simulate(prog, "k", [np.zeros(0)])
    with pytest.raises(MemoryFault, match="exceeds the simulator's limit"):
        run_ops([op("DMOVI", 1, 1), op("DMOVI", 2, 40), op("DSHL.i64", 1, 1, 2),
                 op("SALLOC", 0, 1, 0)])
