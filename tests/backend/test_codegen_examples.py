"""Every example compiles at -O0 through the backend, its allocation checks out, and it
computes what examples/reference.py computes when run in the simulator."""

from __future__ import annotations

import copy
import functools
import importlib.util
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from phextcc.backend.codegen import compile_module
from phextcc.backend.program import Program
from tests.backend.backend_helpers import allocate_checked, run, source_module

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.phx"))
SPMD = ("dot_sentrons", "dot_allreduce", "ring_allreduce", "stream")
# Small problem sizes keep the default run fast; the tiled GEMM is cubic.
SIZES = {"gemm_tiled": 2}


@functools.cache
def references() -> Any:
    spec = importlib.util.spec_from_file_location("phx_examples_reference",
                                                  EXAMPLES / "reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def compiled(path: Path) -> Program:
    return compile_module(source_module(path.read_text(), str(path)), source_name=str(path))


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=lambda p: p.stem)
def test_example_compiles_and_its_allocation_checks_out(path: Path) -> None:
    program = compiled(path)
    assert program.kernels and program.source_name == str(path)
    assert any(loc is not None for loc in program.locations)
    allocate_checked(source_module(path.read_text(), str(path)))


def _kernel_cases() -> list[tuple[Path, str]]:
    if not (EXAMPLES / "reference.py").exists():
        return []
    makers = references().ARGUMENT_MAKERS
    cases = []
    for path in EXAMPLE_FILES:
        text = path.read_text()
        cases.extend((path, name) for name in makers if f"kernel {name}(" in text)
    return cases


@pytest.mark.parametrize(("path", "name"), _kernel_cases(), ids=lambda c: getattr(c, "stem", c))
def test_example_runs_like_the_reference(path: Path, name: str) -> None:
    program = compiled(path)
    refs = references()
    for sentrons in ((1, 3) if name in SPMD else (1,)):
        args = refs.ARGUMENT_MAKERS[name](np.random.default_rng(7), SIZES.get(name, 3))
        expected = copy.deepcopy(args)
        try:
            refs.REFERENCES[name](**expected, sentrons=sentrons)
        except TypeError:
            refs.REFERENCES[name](**expected)
        actual = copy.deepcopy(args)
        run(program, name, actual, sentrons=sentrons)
        for key, want in expected.items():
            if isinstance(want, np.ndarray):
                if want.dtype.kind == "f":
                    np.testing.assert_allclose(actual[key], want, rtol=2e-4, atol=2e-5,
                                               err_msg=f"{name}.{key}")
                else:
                    np.testing.assert_array_equal(actual[key], want, err_msg=f"{name}.{key}")
