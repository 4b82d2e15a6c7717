"""The lowered examples compute what their numpy references compute.

Each example is lowered, run by the test interpreter (tests/ir/ir_interpreter.py) on the
inputs of `examples/reference.py`'s ARGUMENT_MAKERS, and compared with REFERENCES:
integers exactly, floats within a tolerance. SPMD examples run with several sentron
counts, including a non-power of two.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from .conftest import EXAMPLES_DIR, load_references, lower_source
from .ir_interpreter import InterpreterError, run_kernel

_references = load_references()
ARGUMENT_MAKERS = _references.ARGUMENT_MAKERS
REFERENCES = _references.REFERENCES

SPMD_KERNELS = {"dot_sentrons", "dot_allreduce", "stream", "ring_allreduce"}


def _cases() -> list[tuple[str, int, int]]:
    cases = []
    for name in sorted(REFERENCES):
        for sentrons in ((1, 2, 3) if name in SPMD_KERNELS else (1,)):
            cases.append((name, 1, sentrons))
    cases.append(("ring_allreduce", 2, 5))  # more sentrons than rows
    cases += [(name, 0, 2) for name in sorted(REFERENCES)]  # empty loops, empty tensors
    return cases


@pytest.mark.parametrize(("name", "size", "sentrons"), _cases())
def test_example_matches_reference(name: str, size: int, sentrons: int) -> None:
    module = lower_source((EXAMPLES_DIR / f"{name}.phx").read_text(), f"{name}.phx")
    rng = np.random.default_rng(hash((name, size)) % 2**32)
    arguments = ARGUMENT_MAKERS[name](rng, size)
    expected = copy.deepcopy(arguments)
    REFERENCES[name](**expected, sentrons=sentrons)
    run_kernel(module, name, arguments, sentrons=sentrons)
    for param, value in expected.items():
        if not isinstance(value, np.ndarray):
            continue
        if np.issubdtype(value.dtype, np.integer):
            np.testing.assert_array_equal(arguments[param], value, err_msg=param)
        else:
            np.testing.assert_allclose(arguments[param], value, rtol=2e-5, atol=2e-6,
                                       err_msg=param)


def test_interpreter_reports_out_of_range_index() -> None:
    module = lower_source("kernel k(x: f32[N]) { x[N] = 1.0; }")
    with pytest.raises(InterpreterError, match="out of range"):
        run_kernel(module, "k", {"x": np.zeros(3, np.float32)})


def test_short_circuit_protects_the_load() -> None:
    module = lower_source("""
kernel k(x: f32[N], i: i64, out: i64[1]) {
    if i < N and x[i] > 0.0 { out[0] = 1; } else { out[0] = 2; }
}""")
    out = np.zeros(1, np.int64)
    run_kernel(module, "k", {"x": np.ones(2, np.float32), "i": 7, "out": out})
    assert out[0] == 2


def test_early_return_stops_the_kernel() -> None:
    module = lower_source("""
kernel k(x: i64[N], out: i64[2]) {
    var count = 0;
    for i in 0..N {
        if x[i] < 0 { out[0] = i; out[1] = count; return; }
        count += 1;
    }
    out[0] = -1;
    out[1] = count;
}""")
    for values, expected in (([1, 2, -3, 4], [2, 2]), ([1, 2], [-1, 2]), ([], [-1, 0])):
        out = np.zeros(2, np.int64)
        run_kernel(module, "k", {"x": np.array(values, np.int64), "out": out})
        assert out.tolist() == expected


def test_return_inside_while_and_runtime_step() -> None:
    module = lower_source("""
kernel k(out: i64[1], s: i64) {
    var total = 0;
    for i in 0..10 step s { total += i; }
    var n = 0;
    while true {
        n += 1;
        if n == 4 { out[0] = total * 100 + n; return; }
    }
}""")
    for step, expected in ((3, (0 + 3 + 6 + 9) * 100 + 4), (0, 4), (-2, 4)):
        out = np.zeros(1, np.int64)
        run_kernel(module, "k", {"out": out, "s": step})
        assert out[0] == expected


def test_integer_semantics_wrap_and_truncate() -> None:
    module = lower_source("""
kernel k(a: i32, b: i32, out: i32[4]) {
    out[0] = a / b;
    out[1] = a % b;
    out[2] = a * a;
    out[3] = i32(f32(a) * 1000000.0);
}""")
    out = np.zeros(4, np.int32)
    run_kernel(module, "k", {"a": -7, "b": 2, "out": out})
    assert out.tolist()[:2] == [-3, -1]
    out = np.zeros(4, np.int32)
    run_kernel(module, "k", {"a": 70000, "b": 3, "out": out})
    assert out[2] == np.int32(np.int64(70000 * 70000).astype(np.int32))
    assert out[3] == 2**31 - 1  # saturating float -> int


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(REFERENCES))
@pytest.mark.parametrize("size", [2, 3, 5])
def test_example_matches_reference_larger(name: str, size: int) -> None:
    for sentrons in ((1, 2, 3, 4, 7) if name in SPMD_KERNELS else (1,)):
        test_example_matches_reference(name, size, sentrons)
