"""Register allocation over live ranges with holes, spill choice by loop-weighted cost,
scratch registers found where spill code goes, and per-loop copies of constants."""

from __future__ import annotations

from pathlib import Path

import pytest
from xdsl.dialects.func import FuncOp

from phextcc.backend.codegen import LOOP_REMAT_FROM_TIER, PIPELINE_FROM_TIER, siw_ir
from phextcc.backend.isa import RegClass
from phextcc.backend.liveness import Interval, live_ranges, merge_ranges, ranges_overlap
from phextcc.backend.loop_nesting import loop_depths
from phextcc.backend.loop_remat import remat_invariants_before_loops
from phextcc.backend.pipeline_expand import pipeline_kernel
from phextcc.backend.regalloc import allocate_kernel, linear_scan
from phextcc.backend.regalloc_check import check_allocation
from phextcc.driver import Options, compile_to_ir
from phextcc.ir.siw_dialect import SPLIT_COPY_ATTR, SiwOp, regclass_of
from tests.backend.backend_helpers import only_kernel, source_module

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

NESTED = """
kernel k(n: i64, out: i64[1]) {
    var s: i64 = 0;
    for i in 0..n {
        for j in 0..n { s += j; }
        s += i;
    }
    out[0] = s;
}"""


def test_merge_and_overlap_of_ranges() -> None:
    merged = merge_ranges([Interval(10, 12), Interval(0, 3), Interval(4, 5), Interval(2, 3)])
    assert merged == (Interval(0, 5), Interval(10, 12))
    assert not ranges_overlap(merged, (Interval(6, 9), Interval(13, 20)))
    assert ranges_overlap(merged, (Interval(6, 10),))


def test_a_register_serves_another_web_inside_a_hole() -> None:
    carried, other = object(), object()
    ranges = {carried: (Interval(0, 3), Interval(10, 12)), other: (Interval(4, 9),)}
    assigned, spilled = linear_scan(ranges, range(1))  # type: ignore[arg-type]
    assert not spilled
    assert assigned[carried] == assigned[other] == 0


def test_a_split_copy_shares_its_source_register_where_both_live() -> None:
    source, copy, other = object(), object(), object()
    ranges = {source: Interval(0, 20), copy: Interval(5, 30), other: Interval(1, 3)}
    hinted, _ = linear_scan(ranges, range(3), hints={copy: source})  # type: ignore[arg-type]
    assert hinted[copy] == hinted[source]
    plain, _ = linear_scan(ranges, range(3))  # type: ignore[arg-type]
    assert plain[copy] != plain[source]


def test_the_cheapest_web_per_point_is_spilled() -> None:
    hot, cold, short = object(), object(), object()
    ranges = {cold: Interval(0, 100), hot: Interval(1, 90), short: Interval(2, 5)}
    weights = {cold: 2.0, hot: 500.0, short: 20.0}
    assigned, spilled = linear_scan(ranges, range(2), weights)  # type: ignore[arg-type]
    assert spilled == [cold]
    assert assigned[hot] != assigned[short]


def test_loop_depth_of_nested_loops() -> None:
    kernel = only_kernel(siw_ir(source_module(NESTED)))
    depths = loop_depths(kernel.body)
    assert depths[next(iter(kernel.body.blocks))] == 0
    assert max(depths.values()) == 2
    assert sorted(set(depths.values())) == [0, 1, 2]


def test_a_loop_carried_value_has_a_hole_between_its_last_read_and_its_new_def() -> None:
    kernel = only_kernel(siw_ir(source_module(NESTED)))
    ranges = live_ranges(kernel.body)
    for pieces in ranges.values():
        assert all(a.end + 1 < b.start for a, b in zip(pieces, pieces[1:]))
    holes = 0
    for block in kernel.body.blocks:
        branch = block.last_op
        for target, passed in branch.successor_arguments():
            if target is not block:
                continue
            for arg, value in zip(target.args, passed):
                web = merge_ranges([*ranges[arg], *ranges[value]])
                holes += len(web) > 1
    assert holes >= 1


def _with_pressure(loops: str, before: str = "") -> str:
    """A kernel whose 18 values loaded first stay live across ``loops``: more than the
    16 r registers, so the kernel is under pressure."""
    loads = "\n".join(f"        let v{k} = x[{k}];" for k in range(18))
    keeps = "\n".join(f"        keep[{k}] = v{k};" for k in range(18))
    return f"""
    kernel k(a: f32, x: f32[N], out: f32[N], keep: f32[18]) {{
{before}
{loads}
{loops}
{keeps}
    }}"""


TWO_LOOPS = """
        for i in 0..N { out[i] = a * x[i]; }
        for i in 0..N { out[i] = out[i] + a; }"""


def test_each_loop_gets_its_own_copy_of_a_constant_it_reads() -> None:
    kernel = only_kernel(siw_ir(source_module(_with_pressure(TWO_LOOPS))))
    darg_before = sum(isinstance(op, SiwOp) and op.mnemonic.data == "DARG"
                      for op in kernel.walk())
    made = remat_invariants_before_loops(kernel.body)
    dargs = [op for op in kernel.walk() if isinstance(op, SiwOp) and op.mnemonic.data == "DARG"]
    assert made >= 2
    assert len(dargs) == darg_before + 1  # one per loop, the entry's one is gone
    depths = loop_depths(kernel.body)
    for op in dargs:
        block = op.parent_block()
        assert block is not None and depths[block] == 0
        assert all(depths[use.operation.parent_block()] == 1 for use in op.res[0].uses)
    result = allocate_kernel(kernel)
    check_allocation(kernel.body, result.reloads)


def test_a_kernel_without_pressure_is_left_alone() -> None:
    kernel = only_kernel(siw_ir(source_module(f"""
    kernel k(a: f32, x: f32[N], out: f32[N]) {{ {TWO_LOOPS} }}""")))
    before = [op.mnemonic.data for op in kernel.walk() if isinstance(op, SiwOp)]
    assert remat_invariants_before_loops(kernel.body) == 0
    assert [op.mnemonic.data for op in kernel.walk() if isinstance(op, SiwOp)] == before


def _allocated_like_codegen(path: Path, level: int) -> FuncOp:
    module = siw_ir(compile_to_ir(path.read_text(), str(path), Options(opt_level=level)))
    kernels = [op for op in module.ops if isinstance(op, FuncOp)]
    for kernel in kernels:
        if level >= PIPELINE_FROM_TIER:
            pipeline_kernel(kernel)
        if level >= LOOP_REMAT_FROM_TIER:
            remat_invariants_before_loops(kernel.body)
        result = allocate_kernel(kernel)
        check_allocation(kernel.body, result.reloads)
    return kernels[0]


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.phx")), ids=lambda p: p.stem)
def test_every_example_allocates_correctly_at_o3(path: Path) -> None:
    _allocated_like_codegen(path, 3)


def test_the_streaming_kernels_keep_their_invariants_in_registers() -> None:
    """Under pressure, the loop's own constants stay in registers: no value is
    recomputed or reloaded inside the producer's and consumer's main loops."""
    kernel = _allocated_like_codegen(EXAMPLES / "stream.phx", 3)
    depths = loop_depths(kernel.body)
    messages = {"CSENDR", "CRECVR"}
    for block, depth in depths.items():
        names = [op.mnemonic.data for op in block.ops if isinstance(op, SiwOp)]
        if depth and sum(name in messages for name in names) >= 16:
            assert not {"SFILL", "DARG", "DMOVI"} & set(names), names


def test_spill_code_takes_free_registers_instead_of_reserving_them() -> None:
    """A value spilled far from the hot loop must not cost the loop registers: with
    scratch found where the spill code goes, all 16 r registers stay allocatable."""
    loads = "\n".join(f"        let a{k} = x[{k}];" for k in range(20))
    total = " + ".join(f"a{k}" for k in range(20))
    kernel = only_kernel(siw_ir(source_module(f"""
    kernel k(x: i64[N], out: i64[1]) {{
{loads}
        out[0] = {total};
    }}""")))
    result = allocate_kernel(kernel)
    check_allocation(kernel.body, result.reloads)
    used = {op.res[0].type.number for op in kernel.walk()
            if isinstance(op, SiwOp) and op.res and regclass_of(op.res[0]) is RegClass.R}
    assert len(used) == RegClass.R.count


def test_a_computed_invariant_is_split_at_the_loop() -> None:
    kernel = only_kernel(siw_ir(source_module(_with_pressure(
        "        for i in 0..N { out[i] = b; }\n        out[0] = b;",
        before="        let b = x[0] * 2.0;"))))
    remat_invariants_before_loops(kernel.body)
    splits = [op for op in kernel.walk()
              if isinstance(op, SiwOp) and SPLIT_COPY_ATTR in op.attributes]
    assert len(splits) == 1 and splits[0].mnemonic.data == "DMOV"
    depths = loop_depths(kernel.body)
    assert all(depths[use.operation.parent_block()] == 1 for use in splits[0].res[0].uses)
    result = allocate_kernel(kernel)
    check_allocation(kernel.body, result.reloads)
