"""Shared helpers of the IR tests: compile .phx text or example files to phx IR."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest
from xdsl.dialects.builtin import ModuleOp

from phextcc.frontend import check_source
from phextcc.ir.lowering import lower_program

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_FILES = sorted(EXAMPLES_DIR.glob("*.phx"))


def lower_source(source: str, filename: str = "test.phx") -> ModuleOp:
    module = lower_program(check_source(source, filename), filename)
    module.verify()
    return module


@pytest.fixture(params=EXAMPLE_FILES, ids=lambda path: path.stem)
def example_path(request: pytest.FixtureRequest) -> Path:
    return request.param


def load_references() -> ModuleType:
    """examples/reference.py (REFERENCES, ARGUMENT_MAKERS), loaded from its file."""
    spec = importlib.util.spec_from_file_location("phx_example_reference",
                                                  EXAMPLES_DIR / "reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
