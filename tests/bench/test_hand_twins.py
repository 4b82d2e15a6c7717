"""Every hand-tuned twin in examples/hand computes exactly what its .phx kernel computes
(same operation order, so bit for bit) at sizes that exercise the unrolled loops and
their remainders, on one sentron and, for C-pipe kernels, on two and three."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from runtime.bench.loading import ROOT, benchmark_module
from runtime.bench.measure import assemble_file, compile_tier

TWINS = sorted((ROOT / "examples" / "hand").glob("*.siws"))
SIZES = (0, 1, 3, 5, 11)
# gemm_tiled's extents grow fast with the size (size 11 is 80 x 101 x 122, half a minute
# in the simulator); size 2 (17 x 20 x 23) already crosses a 16-wide tile edge in every
# dimension.
SIZES_OF = {"gemm_tiled": (0, 1, 2)}


@pytest.mark.parametrize("twin", TWINS, ids=lambda path: path.stem)
def test_twin_matches_the_compiled_kernel(twin: Path) -> None:
    from runtime.simulator import simulate
    name = twin.stem
    hand = assemble_file(str(twin))
    compiled, _ = compile_tier(str(ROOT / "examples" / f"{name}.phx"), 1)
    sentron_counts = (1, 2, 3) if compiled.kernel(name).uses_cpipe else (1,)
    maker = benchmark_module("suite").references().ARGUMENT_MAKERS[name]
    for size in SIZES_OF.get(name, SIZES):
        args = maker(np.random.default_rng(size), size)
        for sentrons in sentron_counts:
            want, got = copy.deepcopy(args), copy.deepcopy(args)
            simulate(compiled, name, want, sentrons=sentrons)
            simulate(hand, name, got, sentrons=sentrons)
            for key, value in want.items():
                if isinstance(value, np.ndarray):
                    np.testing.assert_array_equal(got[key], value,
                                                  err_msg=f"{name} size {size} {key}")


def test_the_first_twins_exist() -> None:
    assert {"saxpy", "dot", "stream", "embedding_bag", "softmax", "poincare", "spmv_csr",
            "hdc_similarity", "dot_allreduce", "ring_allreduce", "hypergraph_conv",
            "gemm_tiled"} <= {path.stem for path in TWINS}
