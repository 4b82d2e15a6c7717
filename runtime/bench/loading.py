"""Loads the modules of the top-level ``benchmarks/`` directory by path: it holds data
(suite definitions, peer kernels) next to the examples, not an installed package."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = ROOT / "benchmarks"


@cache
def benchmark_module(stem: str) -> ModuleType:
    """benchmarks/<stem>.py as a module (ImportError propagates, e.g. without numba)."""
    name = f"phextcc_benchmarks_{stem}"
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{stem}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load benchmarks/{stem}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
