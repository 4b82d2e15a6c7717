"""Each .phx example that plain Python can express has a Python twin (twins.py); the
compiled twin must produce exactly what the compiled .phx produces on the same inputs,
and, with float64 inputs, what the same function computes as plain Python."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import phextcc.embedding as phx
from tests.e2e.oracle import EXAMPLES, references
from tests.embedding import twins

# Functions whose plain-Python run uses numpy's exp/log/sqrt, not the C library's:
# compared to a tolerance, everything else exactly.
_TRANSCENDENTAL = {"poincare", "softmax"}


def _arguments(name: str, seed: int = 7, size: int = 3) -> dict[str, Any]:
    return references().ARGUMENT_MAKERS[name](np.random.default_rng(seed), size)


def _as_float64(args: dict[str, Any]) -> dict[str, Any]:
    def widen(value: Any) -> Any:
        if isinstance(value, np.ndarray) and value.dtype == np.float32:
            return value.astype(np.float64)
        if isinstance(value, np.float32):
            return np.float64(value)
        return value
    return {k: widen(v) for k, v in args.items()}


def _assert_same(actual: dict[str, Any], expected: dict[str, Any], exact: bool = True) -> None:
    for name, value in expected.items():
        if isinstance(value, np.ndarray):
            if exact:
                np.testing.assert_array_equal(actual[name], value, err_msg=name)
            else:
                np.testing.assert_allclose(actual[name], value, rtol=1e-12, atol=1e-12,
                                           err_msg=name)


# A sample runs by default (each case compiles two kernels); the rest with -m slow.
_DEFAULT_SAMPLE = {"saxpy", "dot_allreduce", "embedding_bag", "ring_allreduce", "softmax"}


@pytest.mark.parametrize("name", [
    name if name in _DEFAULT_SAMPLE else pytest.param(name, marks=pytest.mark.slow)
    for name in sorted(twins.TWINS)])
def test_twin_matches_phx_example(name: str) -> None:
    function, sentron_counts = twins.TWINS[name]
    kernel = phx.kernel(function)
    module = phx.compile(str(EXAMPLES / f"{name}.phx"))
    args = _arguments(name)
    for sentrons in sentron_counts:
        from_phx, from_python = copy.deepcopy(args), copy.deepcopy(args)
        module[name](*from_phx.values(), sentrons=sentrons)
        kernel(*from_python.values(), sentrons=sentrons)
        _assert_same(from_python, from_phx)
    reference = copy.deepcopy(args)
    references().REFERENCES[name](**reference, sentrons=1)
    for key, value in reference.items():  # and both are right (numpy's order differs)
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            np.testing.assert_allclose(from_phx[key], value, rtol=2e-4, atol=2e-5)


@pytest.mark.parametrize("name", [
    "dot", "softmax", "spmv_csr",
    *(pytest.param(n, marks=pytest.mark.slow) for n in
      ("gemm_tiled", "laplacian", "hypergraph_conv", "poincare", "dot_allreduce"))])
def test_twin_float64_matches_plain_python(name: str) -> None:
    function, _ = twins.TWINS[name]
    args = _as_float64(_arguments(name, seed=11, size=2))
    compiled, plain = copy.deepcopy(args), copy.deepcopy(args)
    kernel = phx.kernel(function)
    kernel(*compiled.values())
    function(*plain.values())
    _assert_same(compiled, plain, exact=name not in _TRANSCENDENTAL)
    assert all(s.specs[-1].elem.name == "f64" for s in kernel.signatures
               if hasattr(s.specs[-1], "elem"))


def test_one_function_two_dtypes_gives_two_signatures() -> None:
    kernel = phx.kernel(twins.dot)
    out32, out64 = np.zeros(1, np.float32), np.zeros(1, np.float64)
    x = np.arange(1, 6, dtype=np.float32) / 3
    kernel(x, x, out32)
    kernel(x.astype(np.float64), x.astype(np.float64), out64)
    assert [str(s) for s in kernel.signatures] == [
        "(x: f32[:], y: f32[:], out: f32[:])", "(x: f64[:], y: f64[:], out: f64[:])"]
    acc32 = np.float32(0)
    for v in x:
        acc32 += v * v
    assert out32[0] == acc32
    assert out64[0] == sum(float(v) * float(v) for v in x.astype(np.float64))


def test_simulator_and_jit_agree_on_a_sentron_reduction() -> None:
    args = _arguments("dot_allreduce")
    on_sim, on_jit = copy.deepcopy(args), copy.deepcopy(args)
    phx.kernel(engine="sim")(twins.dot_allreduce)(*on_sim.values(), sentrons=3)
    phx.kernel(engine="jit")(twins.dot_allreduce)(*on_jit.values(), sentrons=3)
    _assert_same(on_jit, on_sim)
    assert on_sim["out"][0] != 0


def test_examples_directory_has_the_twinned_examples() -> None:
    names = {p.stem for p in Path(EXAMPLES).glob("*.phx")}
    assert set(twins.TWINS) <= names
    # hdc_similarity needs popcount, which has no Python-subset spelling
    assert names - set(twins.TWINS) == {"hdc_similarity"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_row_norms_as_plain_loops(dtype: type) -> None:
    m = np.random.default_rng(3).uniform(-2, 2, size=(9, 13)).astype(dtype)
    compiled, plain = np.zeros(9, dtype), np.zeros(9, np.float64)
    phx.kernel(twins.row_norms)(m, compiled)
    twins.row_norms(m, plain)  # plain Python's math.sqrt returns a double
    # sqrt is correctly rounded, so the f32 kernel result is the double result rounded
    np.testing.assert_array_equal(compiled, plain.astype(dtype))
    np.testing.assert_allclose(compiled, np.sqrt((m.astype(np.float64) ** 2).sum(axis=1)),
                               rtol=1e-5)
