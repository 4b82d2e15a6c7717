"""The fast call path of run(): the binding plan agrees with the reference binder, falls
back to it (and its exact errors) when unsure, and never reuses a stale pointer."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from runtime.binding import bind_arguments
from runtime.errors import ArgumentError
from runtime.jit import jit_compile, run
from runtime.jit.callpath import CallPlan, overlapping
from tests.jit.helpers import asm, assert_same_outcome
from tests.jit.kernels import EMBEDDING_BAG, SAXPY


def _saxpy_args(n: int = 64) -> list:
    rng = np.random.default_rng(n)
    return [rng.standard_normal(n).astype(np.float32),
            rng.standard_normal(n).astype(np.float32), 0.75]


def test_plan_binds_like_the_reference_binder() -> None:
    program = asm(EMBEDDING_BAG)
    kernel = program.kernels[0]
    args = [np.zeros((7, 5), np.float32), np.zeros(12, np.int32),
            np.zeros((3, 5), np.float32), 4]
    fast = CallPlan(kernel).bind(args)
    assert fast is not None
    reference = bind_arguments(kernel, args)
    assert fast.symbols == reference.symbols == (7, 5, 12, 3)
    assert fast.scalars == reference.scalars
    assert fast.tensors.keys() == reference.tensors.keys()
    assert all(fast.tensors[i] is reference.tensors[i] for i in fast.tensors)


@pytest.mark.parametrize("change", ["numpy scalar", "mapping", "bool for int", "big int"])
def test_plan_leaves_unusual_arguments_to_the_reference_binder(change: str) -> None:
    kernel = asm(SAXPY).kernels[0]
    x, y, a = _saxpy_args()
    args: object = {"numpy scalar": [x, y, np.float32(a)], "mapping": {"x": x, "y": y, "a": a},
                    "bool for int": [x, y, True], "big int": [x, y, 1 << 80]}[change]
    assert CallPlan(kernel).bind(args) is None


@pytest.mark.parametrize("bad, message", [
    ("dtype", "dtype mismatch"), ("strided", "not C-contiguous"),
    ("read-only", "read-only"), ("shape", "shape symbol 'N' mismatch"),
    ("count", "takes 3 argument"),
])
def test_errors_are_the_reference_binder_s(bad: str, message: str) -> None:
    native = jit_compile(asm(SAXPY))
    x, y, a = _saxpy_args()
    args: list = [x, y, a]
    if bad == "dtype":
        args[0] = x.astype(np.float64)
    elif bad == "strided":
        args[0] = np.zeros(128, np.float32)[::2]
    elif bad == "read-only":
        y.setflags(write=False)
    elif bad == "shape":
        args[1] = y[:10].copy()
    else:
        args.append(1)
    with pytest.raises(ArgumentError, match=message):
        run(native, "saxpy", args)


def test_new_arrays_in_the_same_position_get_their_own_pointers() -> None:
    native = jit_compile(asm(SAXPY))
    for n in (8, 64, 8, 300):  # new arrays each time, sizes going back and forth
        x, y, a = _saxpy_args(n)
        expected = (x * np.float32(a) + y).astype(np.float32)
        run(native, "saxpy", [x, y, a])
        assert np.array_equal(y, expected)
    x, y, a = _saxpy_args(32)
    for _ in range(3):  # the same arrays again: cached pointers, cumulative result
        expected = (x * np.float32(a) + y).astype(np.float32)
        run(native, "saxpy", [x, y, a])
        assert np.array_equal(y, expected)


def test_overlap_is_seen_even_after_calls_with_separate_arrays() -> None:
    program = asm(SAXPY)
    x, y, a = _saxpy_args(40)
    assert_same_outcome(program, "saxpy", [x, y, a])
    base = np.arange(41, dtype=np.float32)
    # y is x shifted by one element: only an alias-safe build gives the simulator's bits.
    assert_same_outcome(program, "saxpy", [base[:40], base[1:], a])
    assert_same_outcome(program, "saxpy", [base, base, a])


def test_overlapping_compares_memory_spans() -> None:
    kernel = asm(SAXPY).kernels[0]
    base = np.zeros(10, np.float32)
    plan = CallPlan(kernel)
    touching = plan.bind([base[:5], base[5:], 1.0])
    assert touching is not None and not overlapping(touching, plan.addresses(touching))
    same = plan.bind([base, base, 1.0])
    assert same is not None and overlapping(same, plan.addresses(same))
    shifted = plan.bind([base[:6], base[4:], 1.0])
    assert shifted is not None
    with pytest.raises(ArgumentError, match="shares memory with 'x'"):
        overlapping(shifted, plan.addresses(shifted))


def test_concurrent_runs_of_one_module() -> None:
    native = jit_compile(asm(SAXPY))
    failures: list[str] = []

    def worker(seed: int) -> None:
        for n in range(1, 60):
            x, y, a = _saxpy_args(n + seed)
            expected = (x * np.float32(a) + y).astype(np.float32)
            run(native, "saxpy", [x, y, a])
            if not np.array_equal(y, expected):
                failures.append(f"seed {seed} n {n}")

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_repeated_call_reuses_the_binding_only_while_nothing_changed() -> None:
    kernel = asm(SAXPY).kernels[0]
    plan = CallPlan(kernel)
    x, y, a = _saxpy_args(64)
    first = plan.bind([x, y, a])
    assert first is not None and plan.bind([x, y, a]) is first
    rescaled = plan.bind([x, y, 2.5])  # new scalar bits, same arrays
    assert rescaled is not None and rescaled is not first
    assert rescaled.scalars == bind_arguments(kernel, [x, y, 2.5]).scalars
    y.shape = (8, 8)  # changed in place: the plan must look again (rank mismatch)
    assert plan.bind([x, y, a]) is None
    y.shape = (64,)
    y.setflags(write=False)
    assert plan.bind([x, y, a]) is None
    y.setflags(write=True)
    assert plan.bind([x, y.copy(), a]) is not first


def test_repeated_calls_see_changed_scalars_and_in_place_changes() -> None:
    native = jit_compile(asm(SAXPY))
    x, y, _ = _saxpy_args(16)
    for a in (0.5, 0.5, -2.0, 3.0, 3.0):
        expected = (x * np.float32(a) + y).astype(np.float32)
        run(native, "saxpy", [x, y, a])
        assert np.array_equal(y, expected)
    y.setflags(write=False)
    with pytest.raises(ArgumentError, match="read-only"):
        run(native, "saxpy", [x, y, 1.0])
    y.setflags(write=True)
    x.shape = (4, 4)
    with pytest.raises(ArgumentError):
        run(native, "saxpy", [x, y, 1.0])
