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


@pytest.mark.parametrize("twin", TWINS, ids=lambda path: path.stem)
def test_twin_matches_the_compiled_kernel(twin: Path) -> None:
    from runtime.simulator import simulate
    name = twin.stem
    hand = assemble_file(str(twin))
    compiled, _ = compile_tier(str(ROOT / "examples" / f"{name}.phx"), 1)
    sentron_counts = (1, 2, 3) if compiled.kernel(name).uses_cpipe else (1,)
    maker = benchmark_module("suite").references().ARGUMENT_MAKERS[name]
    for size in SIZES:
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
    assert {"saxpy", "dot", "stream", "embedding_bag"} <= {path.stem for path in TWINS}
