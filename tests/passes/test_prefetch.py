"""prefetch-insert: results identical with the pass on and off (IR interpreter on small
kernels over trip counts 0, 1, k, k + 1 and many, aliasing arguments, rows of 2-D
tensors, traps; every example on the simulator and natively), and no prefetch ever
forms an index outside its tensor (checked where each prefetch executes: in the IR
interpreter, and on the SPREFCH coordinates the simulator's timing model receives)."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from xdsl.dialects import scf
from xdsl.dialects.builtin import f32

from phextcc import driver
from phextcc.backend.codegen import compile_module
from phextcc.backend.program import Program
from phextcc.ir import phx_dialect as phx
from phextcc.ir.context import make_context, parse_ir
from phextcc.passes.pipeline import TIER_PIPELINES, build_pipeline
from phextcc.passes.prefetch import (
    PlannedStream,
    PrefetchInsertPass,
    Stream,
    find_streams,
    prefetch_distance,
)
from tests.e2e.oracle import EXAMPLES, make_arguments
from tests.ir import ir_interpreter
from tests.ir.ir_interpreter import InterpreterError, run_kernel

from .helpers import ops_of, run

# out[i] = acc = acc + x[i] + x[i + 1] for i in lb..ub step STEP; out2[0] = acc.
STREAM_KERNEL = """
builtin.module {
  func.func @k(%x: !phx.tensor<f32, ["N"]>, %out: !phx.tensor<f32, ["N"]>,
               %out2: !phx.tensor<f32, [1]>, %lb: i64, %ub: i64) attributes {phx.kernel,
               phx.symbols = ["N"], phx.param_names = ["x", "out", "out2", "lb", "ub"]} {
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %step = arith.constant STEP : i64
    %zero = arith.constant 0.0 : f32
    %total = scf.for %i = %lb to %ub step %step iter_args(%acc = %zero) -> (f32) : i64 {
      %a = phx.load %x[%i] : !phx.tensor<f32, ["N"]> -> f32
      %i1 = arith.addi %i, %c1 : i64
      %b = phx.load %x[%i1] : !phx.tensor<f32, ["N"]> -> f32
      %s = arith.addf %a, %b : f32
      %t = arith.addf %acc, %s : f32
      phx.store %t, %out[%i] : !phx.tensor<f32, ["N"]>
      scf.yield %t : f32
    }
    phx.store %total, %out2[%c0] : !phx.tensor<f32, [1]>
    func.return
  }
}
"""

# o[r, i] = t[r, i - 1] + t[r, i + 1] for i in 1..W step 16, every row r: the last
# t[r, i + 1] is out of range for some W (a trap both ways), `o` may be `t`.
ROW_KERNEL = """
builtin.module {
  func.func @k(%t: !phx.tensor<f32, ["H", "W"]>, %o: !phx.tensor<f32, ["H", "W"]>)
      attributes {phx.kernel, phx.symbols = ["H", "W"], phx.param_names = ["t", "o"]} {
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %c16 = arith.constant 16 : i64
    %h = phx.sym "H"
    %w = phx.sym "W"
    scf.for %r = %c0 to %h step %c1 : i64 {
      scf.for %i = %c1 to %w step %c16 : i64 {
        %im1 = arith.subi %i, %c1 : i64
        %ip1 = arith.addi %i, %c1 : i64
        %a = phx.load %t[%r, %im1] : !phx.tensor<f32, ["H", "W"]> -> f32
        %b = phx.load %t[%r, %ip1] : !phx.tensor<f32, ["H", "W"]> -> f32
        %d = arith.addf %a, %b : f32
        phx.store %d, %o[%r, %i] : !phx.tensor<f32, ["H", "W"]>
      }
    }
    func.return
  }
}
"""


class PrefetchRecorder:
    """Replaces the interpreter's no-op prefetch rule: each executed prefetch must index
    inside its tensor (an AssertionError otherwise, never an InterpreterError)."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, frame: Any, op: phx.PrefetchOp) -> list[Any]:
        name = frame.tensor_names[op.tensor]
        shape = frame.launch.arrays[name].shape
        index = tuple(frame.get(i) for i in op.indices)
        assert all(0 <= i < extent for i, extent in zip(index, shape, strict=True)), \
            f"prefetch {name}{list(index)} outside shape {shape}"
        self.count += 1
        return []


@pytest.fixture
def prefetches(monkeypatch: pytest.MonkeyPatch) -> Iterator[PrefetchRecorder]:
    recorder = PrefetchRecorder()
    monkeypatch.setitem(ir_interpreter.HANDLERS, phx.PrefetchOp, recorder)
    yield recorder


def outcome(module: Any, args: dict[str, Any]) -> tuple[str, dict[str, bytes]]:
    """(the runtime error or "ok", every tensor's bytes) after running kernel k."""
    try:
        run_kernel(module, "k", args)
    except InterpreterError as error:
        status = f"{type(error).__name__}: {error}"
    else:
        status = "ok"
    return status, {name: value.tobytes() for name, value in args.items()
                    if isinstance(value, np.ndarray)}


def stream_arguments(n: int, lb: int, ub: int, aliased: bool) -> dict[str, Any]:
    x = np.arange(n, dtype=np.float32) * np.float32(0.5) + np.float32(1.0)
    out = x if aliased else np.zeros(n, np.float32)
    return {"x": x, "out": out, "out2": np.zeros(1, np.float32), "lb": lb, "ub": ub}


def compare_stream(step: int, spec: str, cases: list[tuple[int, int, int]],
                   recorder: PrefetchRecorder) -> None:
    text = STREAM_KERNEL.replace("STEP", str(step))
    before, after = parse_ir(text), run(spec, text)
    assert ops_of(after, phx.PrefetchOp), "the pass must prefetch this loop"
    for n, lb, ub in cases:
        for aliased in (False, True):
            expected = outcome(before, stream_arguments(n, lb, ub, aliased))
            assert outcome(after, stream_arguments(n, lb, ub, aliased)) == expected, \
                (n, lb, ub, aliased)


def stream_cases(distance: int, step: int) -> list[tuple[int, int, int]]:
    """(N, lb, ub): lengths 0, 1, k, k + 1 around the prefetch distance k (in elements)
    and well past it, from 0, from 1 and from below 0, with x[i + 1] just in range or
    out of range at the end (a trap both ways)."""
    k = distance * step
    cases = []
    for length in sorted({0, 1, 2, k - 1, k, k + 1, k + step, 3 * k + 5}):
        for lb in (0, 1, -2):
            ub = lb + max(length, 0)
            cases += [(max(ub + 1, 0), lb, ub), (max(ub, 0), lb, ub)]
    return cases


@pytest.mark.parametrize(("step", "distance"), [(1, 1), (1, 3), (3, 2), (16, 1), (16, 2)])
def test_stream_results_and_prefetch_indices(step: int, distance: int,
                                              prefetches: PrefetchRecorder) -> None:
    compare_stream(step, f"prefetch-insert{{distance={distance}}}",
                   stream_cases(distance, step), prefetches)
    assert prefetches.count > 0


def test_automatic_distance_after_unrolling(prefetches: PrefetchRecorder) -> None:
    spec = "unroll-inner{factor=16},prefetch-insert,phx-canonicalize,phx-cse,phx-licm,phx-dce"
    text = STREAM_KERNEL.replace("STEP", "1")
    unrolled = run("unroll-inner{factor=16}", text)
    main_loop = ops_of(unrolled, scf.ForOp)[0]
    assert isinstance(main_loop, scf.ForOp)
    distance = prefetch_distance(main_loop, 16, [s for s in find_streams(main_loop) if s.read])
    k = distance * 16
    cases = [(n, 0, n - 1) for n in (0, 1, 2, 16, 17, k, k + 16, k + 17, k + 40, 3 * k)]
    compare_stream(1, spec, cases, prefetches)
    assert prefetches.count > 0


@pytest.mark.slow
@pytest.mark.parametrize("step", [1, 2, 5, 16])
@pytest.mark.parametrize("distance", [1, 2, 4, 7])
def test_stream_many_shapes(step: int, distance: int, prefetches: PrefetchRecorder) -> None:
    cases = [(n, lb, ub) for n in (0, 3, 20, 41) for lb in (-5, 0, 2, 7)
             for ub in (-1, 0, 1, 9, 19, 20, 21, 40, 60)]
    compare_stream(step, f"prefetch-insert{{distance={distance}}}", cases, prefetches)


def row_arguments(h: int, w: int, aliased: bool) -> dict[str, Any]:
    t = np.arange(h * w, dtype=np.float32).reshape(h, w)
    return {"t": t, "o": t if aliased else np.zeros((h, w), np.float32)}


def test_rows_of_a_matrix_stay_in_their_row(prefetches: PrefetchRecorder) -> None:
    before, after = parse_ir(ROW_KERNEL), run("prefetch-insert{distance=2}", ROW_KERNEL)
    assert ops_of(after, phx.PrefetchOp)
    for h, w in ((0, 5), (3, 0), (3, 1), (2, 8), (2, 9), (2, 10), (2, 11), (4, 40), (1, 33),
                 (2, 64), (1, 81)):
        for aliased in (False, True):
            assert outcome(after, row_arguments(h, w, aliased)) == \
                outcome(before, row_arguments(h, w, aliased)), (h, w, aliased)
    assert prefetches.count > 0


def test_rows_chosen_by_loaded_values_are_not_prefetched() -> None:
    """A row index the range analysis cannot bound (here loaded) is not a stream."""
    loaded_row = ROW_KERNEL.replace(
        "scf.for %r = %c0 to %h step %c1 : i64 {",
        "scf.for %q = %c0 to %h step %c1 : i64 {\n"
        "      %rf = phx.load %t[%q, %c0] : !phx.tensor<f32, [\"H\", \"W\"]> -> f32\n"
        "      %r = arith.fptosi %rf : f32 to i64")
    assert "%rf = phx.load" in loaded_row
    assert not ops_of(run("prefetch-insert{distance=2}", loaded_row), phx.PrefetchOp)


def test_loops_it_must_leave_alone() -> None:
    """A negative step, an index decreasing with i, and the loop left for remainders."""
    reversed_loop = STREAM_KERNEL.replace("STEP", "-1")
    assert not ops_of(run("prefetch-insert", reversed_loop), phx.PrefetchOp)
    decreasing = STREAM_KERNEL.replace("STEP", "1").replace(
        "%i1 = arith.addi %i, %c1", "%i1 = arith.subi %c1, %i")
    decreasing = decreasing.replace("%a = phx.load %x[%i]", "%a = phx.load %x[%i1]")
    assert not ops_of(run("prefetch-insert", decreasing), phx.PrefetchOp)
    once = run("unroll-inner{factor=16},prefetch-insert,prefetch-insert",
               STREAM_KERNEL.replace("STEP", "1"))
    loops = ops_of(once, scf.ForOp)
    assert len(loops) == 3  # prefetching main loop, its tail, the remainder loop
    assert [any(isinstance(op, phx.PrefetchOp) for op in loop.walk())
            for loop in loops] == [True, False, False]


def test_prefetches_are_marked_in_bounds_and_bounded_by_the_split() -> None:
    """Every prefetch sits in the `else` of the cut `scf.if lb >= bound`, which yields
    (split, the first loop's results) to the tail loop: in the first loop, whose upper
    bound is the split, or before it (the first iterations' lines)."""
    module = run("unroll-inner{factor=16},prefetch-insert", STREAM_KERNEL.replace("STEP", "1"))
    cuts = [op for op in ops_of(module, scf.IfOp) if isinstance(op, scf.IfOp) and op.results
            and any(isinstance(inner, phx.PrefetchOp) for inner in op.walk())]
    assert len(cuts) == 1
    (cut,) = cuts
    assert not any(isinstance(op, phx.PrefetchOp) for op in cut.true_region.walk())
    first = [op for op in cut.false_region.block.ops if isinstance(op, scf.ForOp)]
    assert len(first) == 1
    final = cut.false_region.block.last_op
    assert isinstance(final, scf.YieldOp)
    assert list(final.operands) == [first[0].ub, *first[0].results]
    tail = cut.next_op
    assert isinstance(tail, scf.ForOp) and tail.lb == cut.results[0]
    assert list(tail.iter_args) == list(cut.results[1:])
    prefetches = ops_of(module, phx.PrefetchOp)
    assert all(phx.PREFETCH_IN_BOUNDS_ATTR in op.attributes for op in prefetches)
    inside_first = [op for op in prefetches if op.parent_op() is first[0]]
    before_first = [op for op in prefetches if cut.is_ancestor(op)
                    and not first[0].is_ancestor(op)]
    assert inside_first and before_first
    assert len(inside_first) + len(before_first) == len(prefetches)


@pytest.mark.parametrize("iterations", [1, 2, 16, 18, 32])
def test_start_prefetches_cover_every_line_the_loop_does_not(iterations: int) -> None:
    """The loop prefetches `iterations` iterations ahead of its accesses; the lines of
    the first `iterations` iterations must all be prefetched before it, or each one
    left out is a DRAM miss (the stream example's producer is 18 lines ahead)."""
    from xdsl.ir import Block

    tensor = Block(arg_types=[phx.TensorType(f32, ["N"])]).args[0]
    stream = Stream(tensor, (), frozenset(range(16)), True)
    planned = PlannedStream(stream, stream.prefetch_offsets(16, iterations), 16 * iterations)
    starts = planned.start_offsets()
    assert starts == tuple(range(0, 16 * iterations, 16))
    assert max(starts) < min(planned.offsets)


def test_negative_distance_is_refused() -> None:
    with pytest.raises(ValueError, match="distance"):
        PrefetchInsertPass(distance=-1)


def test_o3_prefetches_after_unrolling_by_16() -> None:
    names = list(TIER_PIPELINES[3])
    unroll = next(name for name in names if name.startswith("unroll-inner{factor=16"))
    at = names.index(unroll)
    assert names[at - 1] == "prefetch-next-row" and names[at + 1] == "prefetch-insert"


# ----------------------------------------------------------------------- the examples

WITHOUT_PREFETCH = ",".join(p for p in TIER_PIPELINES[3] if not p.startswith("prefetch"))
WITH_PREFETCH = ",".join(TIER_PIPELINES[3])
QUICK = ("saxpy", "dot", "stream")
SIZE = 24  # 192-element vectors: past the prefetch distance of the streaming kernels


@functools.cache
def compiled(path: str, spec: str) -> Program:
    source = Path(path).read_text()
    module = driver.lower(driver.check(source, path), path)
    build_pipeline(spec, verify_between=True).apply(make_context(), module)
    return compile_module(module, opt_level=3, source_name=path)


def kernels_with_inputs(path: str) -> list[str]:
    from tests.e2e.oracle import references

    makers = references().ARGUMENT_MAKERS
    return [kernel.name for kernel in compiled(path, WITH_PREFETCH).kernels
            if kernel.name in makers]


def check_sprefch_coordinates(monkeypatch: pytest.MonkeyPatch, program: Program, kernel: str,
                              args: dict[str, Any]) -> list[int]:
    """Wrap the cycle model's memory hook: every SPREFCH coordinate must name a tensor
    parameter's region and an element offset inside it. Returns the list the checked
    coordinates are appended to."""
    from phextcc.backend.isa import OFFSET_BITS
    from runtime import cycle_model

    numel = {index: np.asarray(args[param.name]).size
             for index, param in enumerate(program.kernel(kernel).params) if param.is_tensor}
    original = cycle_model.SentronTiming._memory
    seen: list[int] = []

    def checked(timing: Any, kind: str, coord: int, address: int | None, hint: int,
                issue: int) -> int:
        if kind == "prefetch":
            region, offset = coord >> OFFSET_BITS, coord & ((1 << OFFSET_BITS) - 1)
            assert region in numel and offset < numel[region], \
                f"SPREFCH outside its tensor: region {region}, offset {offset}"
            seen.append(coord)
        return original(timing, kind, coord, address, hint, issue)

    monkeypatch.setattr(cycle_model.SentronTiming, "_memory", checked)
    return seen


def run_sim(program: Program, kernel: str, args: dict[str, Any], sentrons: int,
            stats: bool) -> dict[str, Any]:
    from runtime.simulator import simulate

    actual = copy.deepcopy(args)
    simulate(program, kernel, actual, sentrons=sentrons, collect_stats=stats)
    return actual


def check_example(path: str, kernel: str, size: int, native: bool,
                  monkeypatch: pytest.MonkeyPatch) -> int:
    """Same bytes with and without the pass (simulator; natively too when asked); returns
    how many SPREFCH the checked simulator runs issued."""
    plain, prefetching = compiled(path, WITHOUT_PREFETCH), compiled(path, WITH_PREFETCH)
    sentrons = (1, 2) if plain.kernel(kernel).uses_cpipe else (1,)
    args = make_arguments(kernel, size, seed=size)
    checked = check_sprefch_coordinates(monkeypatch, prefetching, kernel, args)
    for count in sentrons:
        expected = run_sim(plain, kernel, args, count, stats=False)
        for result in (run_sim(prefetching, kernel, args, count, stats=True),
                       run_sim(prefetching, kernel, args, count, stats=False)):
            assert_same_bytes(expected, result)
        if native:
            from runtime.jit import jit_compile
            from runtime.jit import run as run_native

            natively = copy.deepcopy(args)
            run_native(jit_compile(prefetching, opt_level=3), kernel, natively, sentrons=count)
            assert_same_bytes(expected, natively)
    return len(checked)


def assert_same_bytes(expected: dict[str, Any], actual: dict[str, Any]) -> None:
    for name, want in expected.items():
        if isinstance(want, np.ndarray):
            assert actual[name].tobytes() == want.tobytes(), f"{name} differs"


@pytest.mark.parametrize("kernel", QUICK)
def test_streaming_examples_prefetch_and_agree(kernel: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = str(EXAMPLES / f"{kernel}.phx")
    native = kernel == "saxpy"  # the slow run compiles every example natively
    assert check_example(path, kernel, SIZE, native=native, monkeypatch=monkeypatch) > 0


@pytest.mark.slow
@pytest.mark.parametrize("path", [str(p) for p in sorted(EXAMPLES.glob("*.phx"))],
                         ids=lambda value: Path(value).stem)
@pytest.mark.parametrize("size", [0, 1, 7, 24])
def test_every_example_agrees_with_and_without_prefetch(
        path: str, size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    for kernel in kernels_with_inputs(path):
        check_example(path, kernel, size, native=size == 24, monkeypatch=monkeypatch)


def test_prefetch_removes_most_dram_stalls_of_saxpy() -> None:
    from runtime.bench.measure import aligned_arguments
    from runtime.simulator import simulate

    path = str(EXAMPLES / "saxpy.phx")
    stalls = {}
    for label, spec in (("off", WITHOUT_PREFETCH), ("on", WITH_PREFETCH)):
        args = aligned_arguments(make_arguments("saxpy", 128, seed=0))
        result = simulate(compiled(path, spec), "saxpy", args)
        assert result.stats is not None
        stalls[label] = result.stats.to_json()["stall_cycles"]["memory"]
    assert stalls["on"] * 2 < stalls["off"], stalls
