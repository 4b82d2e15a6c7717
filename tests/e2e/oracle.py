"""The oracle: every example kernel runs on the numpy reference and on each engine at
each -O level, and the results must agree (integers exactly; floats to a tolerance
against numpy, whose operation order differs, and exactly between engines)."""

from __future__ import annotations

import copy
import functools
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from phextcc import driver
from phextcc.backend.program import Program

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@functools.cache
def references() -> Any:
    """examples/reference.py as a module (it is data for the tests, not a package)."""
    spec = importlib.util.spec_from_file_location("phx_example_reference",
                                                  EXAMPLES / "reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@functools.cache
def compiled(path: str, opt_level: int) -> Program:
    source = Path(path).read_text()
    return driver.compile_source(source, path, driver.Options(opt_level=opt_level))


def example_kernels() -> list[tuple[str, str]]:
    """(example file, kernel name) for every kernel that has a numpy reference."""
    refs = references().REFERENCES
    pairs = []
    for path in sorted(EXAMPLES.glob("*.phx")):
        program = compiled(str(path), 0)
        pairs.extend((str(path), k.name) for k in program.kernels if k.name in refs)
    return pairs


def make_arguments(kernel: str, size: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return references().ARGUMENT_MAKERS[kernel](rng, size)


def run_reference(kernel: str, args: dict[str, Any], sentrons: int) -> dict[str, Any]:
    out = copy.deepcopy(args)
    fn: Callable[..., Any] = references().REFERENCES[kernel]
    try:
        fn(**out, sentrons=sentrons)
    except TypeError:
        fn(**out)
    return out


def assert_same(expected: dict[str, Any], actual: dict[str, Any], exact: bool) -> None:
    for name, want in expected.items():
        got = actual[name]
        if not isinstance(want, np.ndarray):
            continue
        if want.dtype.kind == "f" and not exact:
            np.testing.assert_allclose(got, want, rtol=2e-4, atol=2e-5, err_msg=name)
        else:
            np.testing.assert_array_equal(got, want, err_msg=name)
