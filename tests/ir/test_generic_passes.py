"""Generic xDSL passes respect the phx effects: C-pipe ops and prefetches survive,
pure phx ops are cleaned up, and results do not change."""

from __future__ import annotations

import copy
from collections import Counter

import numpy as np
import pytest
from xdsl.dialects import scf
from xdsl.passes import PassPipeline
from xdsl.transforms import get_all_passes

from phextcc.ir import phx_dialect as phx
from phextcc.ir.context import make_context

from .conftest import EXAMPLES_DIR, load_references, lower_source
from .ir_interpreter import run_kernel

_references = load_references()
ARGUMENT_MAKERS = _references.ARGUMENT_MAKERS
REFERENCES = _references.REFERENCES

PIPELINE = "canonicalize,cse,licm,dce"
KEPT = (*phx.COMMUNICATION_OPS, phx.StoreOp, phx.PrefetchOp)


def _optimise(source: str) -> tuple[object, object]:
    before = lower_source(source)
    after = before.clone()
    PassPipeline.parse_spec(get_all_passes(), PIPELINE).apply(make_context(), after)
    after.verify()
    return before, after


def _count(module: object, kinds: tuple[type, ...]) -> Counter[str]:
    return Counter(op.name for op in module.walk() if isinstance(op, kinds))  # type: ignore


def test_unused_communication_and_prefetch_survive() -> None:
    before, after = _optimise("""
kernel k(x: f32[N]) {
    let s = sentron_id();
    for i in 0..N {
        prefetch x[i + 8];
        let unused = recv<f32>(0);
        let also_unused = allreduce(1.0, sum);
        let b = broadcast(s, 0);
        barrier();
        send(0, 2.0);
    }
    let n = num_sentrons();
    let dead = x[0];
}""")
    assert _count(after, KEPT) == _count(before, KEPT)
    for op in after.walk():  # type: ignore[attr-defined]
        if isinstance(op, KEPT):
            assert isinstance(op.parent_op(), scf.ForOp), f"{op.name} left the loop"
    assert not _count(after, (phx.NumSentronsOp, phx.LoadOp))  # pure / read-only, unused


def test_pure_symbol_reads_are_merged() -> None:
    _, after = _optimise("kernel k(t: f32[N], out: i64[1]) { out[0] = N * N + N; }")
    assert _count(after, (phx.SymOp,)) == Counter({"phx.sym": 1})


@pytest.mark.parametrize("name", ["ring_allreduce", "dot_allreduce", "softmax", "stream"])
def test_optimised_examples_still_match(name: str) -> None:
    _, after = _optimise((EXAMPLES_DIR / f"{name}.phx").read_text())
    rng = np.random.default_rng(7)
    arguments = ARGUMENT_MAKERS[name](rng, 1)
    expected = copy.deepcopy(arguments)
    REFERENCES[name](**expected, sentrons=3)
    run_kernel(after, name, arguments, sentrons=3)  # type: ignore[arg-type]
    for param, value in expected.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_allclose(arguments[param], value, rtol=2e-5, atol=2e-6)


def test_loads_are_not_merged_across_a_barrier() -> None:
    # Another sentron may store to x[0] before the barrier: the second load must stay.
    before, after = _optimise("""
kernel k(x: f32[N], out: f32[1]) {
    let before_barrier = x[0];
    barrier();
    out[0] = before_barrier + x[0];
}""")
    assert _count(after, (phx.LoadOp,)) == _count(before, (phx.LoadOp,)) == Counter(
        {"phx.load": 2}
    )
