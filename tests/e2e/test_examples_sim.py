"""Every example runs on the simulator at every -O level and matches numpy; SPMD
kernels run with 1, 2 and 3 sentrons."""

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

# A scale for examples/reference.py's argument makers (extents grow with it);
# size 0 gives empty loops.
SIZES = (0, 3)


@pytest.mark.parametrize("opt_level", [0, 1, 2, 3])
@pytest.mark.parametrize(("path", "kernel"), example_kernels(),
                         ids=[k for _, k in example_kernels()])
def test_example_matches_numpy(path: str, kernel: str, opt_level: int) -> None:
    from runtime.simulator import simulate

    program = compiled(path, opt_level)
    sentron_counts = (1, 2, 3) if program.kernel(kernel).uses_cpipe else (1,)
    for sentrons, size in ((s, z) for s in sentron_counts for z in SIZES):
        args = make_arguments(kernel, size, seed=size)
        expected = run_reference(kernel, args, sentrons)
        actual = copy.deepcopy(args)
        simulate(program, kernel, actual, sentrons=sentrons)
        assert_same(expected, actual, exact=False)
