"""The example kernels, compiled by the toolchain at every -O level, run natively and on
the simulator: the results must agree bit for bit (integers and floats)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from runtime.jit import jit_compile, run
from tests.jit.helpers import assert_same_array

oracle = pytest.importorskip("tests.e2e.oracle")

SIZE = 24
MULTI_SENTRON = ("dot_sentrons", "streaming", "ring_allreduce", "sentron_dot")


def _sentron_counts(kernel: str) -> tuple[int, ...]:
    if kernel.startswith("streaming"):
        return (2,)
    return (1, 2, 3) if any(kernel.startswith(k) for k in MULTI_SENTRON) else (1,)


# A quick sample in the default run (compiling every example takes a while).
QUICK = ("saxpy", "dot_allreduce", "embedding_bag")


@pytest.mark.parametrize("kernel", QUICK)
def test_example_native_matches_simulator(kernel: str) -> None:
    check_example(str(oracle.EXAMPLES / f"{kernel}.phx"), kernel, 3)


@pytest.mark.slow
@pytest.mark.parametrize("opt_level", [0, 1, 2, 3])
def test_every_example_native_matches_simulator(opt_level: int) -> None:
    for path, kernel in oracle.example_kernels():
        check_example(path, kernel, opt_level)


def check_example(path: str, kernel: str, opt_level: int) -> None:
    from runtime.simulator import simulate

    program = oracle.compiled(path, opt_level)
    native = jit_compile(program, opt_level=opt_level)
    for sentrons in _sentron_counts(kernel):
        args = oracle.make_arguments(kernel, SIZE)
        simulated = copy.deepcopy(args)
        simulate(program, kernel, simulated, sentrons=sentrons, collect_stats=False)
        natively = copy.deepcopy(args)
        run(native, kernel, natively, sentrons=sentrons)
        for name, want in simulated.items():
            if isinstance(want, np.ndarray):
                assert_same_array(want, natively[name])
