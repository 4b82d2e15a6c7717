"""Every example runs on the simulator at every -O level and matches numpy."""

from __future__ import annotations

import copy

import pytest

from tests.e2e.oracle import (
    assert_same,
    compiled,
    example_kernels,
    make_arguments,
    run_reference,
)

SIZE = 24
MULTI_SENTRON = ("dot_sentrons", "streaming", "ring_allreduce", "sentron_dot")


@pytest.mark.parametrize("opt_level", [0, 1, 2, 3])
@pytest.mark.parametrize(("path", "kernel"), example_kernels())
def test_example_matches_numpy(path: str, kernel: str, opt_level: int) -> None:
    from runtime.simulator import simulate

    sentron_counts = (1, 2, 3) if any(kernel.startswith(k) for k in MULTI_SENTRON) else (1,)
    if kernel.startswith("streaming"):
        sentron_counts = (2,)
    for sentrons in sentron_counts:
        args = make_arguments(kernel, SIZE)
        expected = run_reference(kernel, args, sentrons)
        actual = copy.deepcopy(args)
        simulate(compiled(path, opt_level), kernel, actual, sentrons=sentrons)
        assert_same(expected, actual, exact=False)
