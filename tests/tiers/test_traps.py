"""The traps of packing and scheduling (testing.md): each small kernel runs at every
packing tier on both engines and must give -O0's outcome exactly, errors included
(same error class, message and source location)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from phextcc.backend.verifier import check_word_independence
from runtime.jit import jit_compile, run
from runtime.simulator import simulate
from tests.tiers.helpers import TIERS, full, jit_outcome, packed, sim_outcome

CARRIED = """
kernel carried(t: i64[N], d: i64) {
    for i in d..N { t[i] = t[i - d] * 3 + i; }
}
"""

NEGATIVE_STRIDE = """
kernel backwards(x: f32[N], out: f32[N]) {
    var i = N - 1;
    while i >= 0 {
        out[N - 1 - i] = x[i] * 2.0 + out[N - 1 - i];
        i = i - 1;
    }
}
"""

CONDITIONAL_STORE = """
kernel clip(x: i64[N], out: i64[N], limit: i64) {
    for i in 0..N {
        if x[i] > limit { out[i] = limit; } else { out[i] = x[i] + 1; }
    }
}
"""

ALIASED = """
kernel shift(src: i32[N], dst: i32[N]) {
    for i in 1..N { dst[i] = src[i - 1] + 1; }
}
"""

SWAP = """
kernel swap(t: i64[2]) {
    var a = t[0];
    var b = t[1];
    for i in 0..3 { let c = a; a = b; b = c; }
    t[0] = a;
    t[1] = b;
}
"""

DIVIDE = """
kernel divide(x: i64[N], y: i64[N], out: i64[N]) {
    for i in 0..N { out[i] = x[i] / y[i]; out[i + 1] = 7; }
}
"""

STRIDED = """
kernel strided(x: f64[N], out: f64[N], s: i64) {
    for i in 0..N step s { out[i] = x[i] * x[i] - 1.0; }
}
"""


def _same_everywhere(source: str, kernel: str, args: dict[str, Any],
                     native: bool = True) -> tuple[str, dict[str, bytes]]:
    baseline = sim_outcome(packed(source, 0), kernel, args)
    for tier in TIERS:
        program = packed(source, tier)
        assert sim_outcome(program, kernel, args) == baseline, f"simulator, tier {tier}"
        assert sim_outcome(full(source, tier), kernel, args) == baseline, f"-O{tier}"
        if native:
            assert jit_outcome(program, kernel, args) == baseline, f"native, tier {tier}"
    return baseline


@pytest.mark.parametrize("n", [0, 1, 2, 3, 4, 5, 17])
@pytest.mark.parametrize("distance", [1, 2, 3])
def test_loop_carried_store_then_load(n: int, distance: int) -> None:
    args = {"t": np.arange(1, n + 1, dtype=np.int64), "d": distance}
    outcome, tensors = _same_everywhere(CARRIED, "carried", args, native=n in (0, 5))
    assert outcome == "ok"
    expected = args["t"].copy()
    for i in range(distance, n):
        expected[i] = expected[i - distance] * 3 + i
    assert tensors["t"] == expected.tobytes()


@pytest.mark.parametrize("n", [0, 1, 2, 5])
def test_negative_stride(n: int) -> None:
    args = {"x": np.linspace(-1, 1, n, dtype=np.float32), "out": np.ones(n, np.float32)}
    outcome, tensors = _same_everywhere(NEGATIVE_STRIDE, "backwards", args)
    assert outcome == "ok"
    expected = args["x"][::-1] * np.float32(2.0) + np.float32(1.0)
    assert tensors["out"] == expected.astype(np.float32).tobytes()


def test_conditional_stores() -> None:
    args = {"x": np.array([5, -3, 9, 0, 10], np.int64), "out": np.zeros(5, np.int64),
            "limit": 6}
    outcome, tensors = _same_everywhere(CONDITIONAL_STORE, "clip", args)
    assert outcome == "ok"
    assert tensors["out"] == np.array([6, -2, 6, 1, 6], np.int64).tobytes()


def test_tensor_passed_as_input_and_output() -> None:
    data = np.array([10, 20, 30, 40, 50, 60], dtype=np.int32)
    for tier in TIERS:
        program = packed(ALIASED, tier)
        simulated, native = data.copy(), data.copy()
        simulate(program, "shift", [simulated, simulated], collect_stats=False)
        run(jit_compile(program), "shift", [native, native])
        # A forward copy onto itself carries each new value into the next element:
        # the store of element i must land before the load of element i.
        assert list(simulated) == [10, 11, 12, 13, 14, 15], (tier, list(simulated))
        assert list(native) == list(simulated), tier


def test_swap_is_never_packed_into_one_word() -> None:
    args = {"t": np.array([10, 20], np.int64)}
    outcome, tensors = _same_everywhere(SWAP, "swap", args)
    assert outcome == "ok" and tensors["t"] == np.array([20, 10], np.int64).tobytes()
    for tier in TIERS:
        program = packed(SWAP, tier)
        for index, word in enumerate(program.words):
            check_word_independence(word, index)


@pytest.mark.parametrize("n", [0, 1, 3])
def test_division_trap_and_bounds_errors_are_those_of_O0(n: int) -> None:
    args = {"x": np.arange(n, dtype=np.int64) + 4, "y": np.array([2, 0, 1][:n], np.int64),
            "out": np.zeros(n, np.int64)}
    outcome, _ = _same_everywhere(DIVIDE, "divide", args)
    if n:
        assert outcome != "ok"  # out[i + 1] leaves the tensor or y[1] is zero


@pytest.mark.parametrize(("n", "step"), [(0, 1), (1, 2), (5, 2), (6, 4), (4, 1)])
def test_dynamic_trip_counts_and_steps(n: int, step: int) -> None:
    args = {"x": np.arange(n, dtype=np.float64) / 3, "out": np.zeros(n, np.float64),
            "s": step}
    outcome, tensors = _same_everywhere(STRIDED, "strided", args)
    assert outcome == "ok"
    expected = np.zeros(n)
    expected[::step] = args["x"][::step] * args["x"][::step] - 1.0
    assert tensors["out"] == expected.tobytes()
