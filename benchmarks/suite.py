"""The benchmark suites: which kernels, at which sizes, with which hand-tuned twin.

Each case names an example kernel (``examples/<name>.phx``) and two problem sizes: a small
one for the simulator (which runs about a million SIWs per second) and a realistic one for
native timing (the memory-bound kernels well beyond the last-level cache). A size is the
``size`` argument of the kernel's argument maker in ``examples/reference.py``, except for
the few kernels whose makers build their structure in Python loops; those get vectorised
makers here so that the full-size inputs are built in a second or two.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
HAND = EXAMPLES / "hand"

Arguments = dict[str, Any]
ArgumentMaker = Callable[[np.random.Generator, int], Arguments]


@cache
def references() -> ModuleType:
    """examples/reference.py as a module (it is data, not a package)."""
    spec = importlib.util.spec_from_file_location("phx_example_reference",
                                                  EXAMPLES / "reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@dataclass(frozen=True)
class BenchCase:
    """One kernel of a suite. ``tolerance`` bounds |result - numpy| relative to the
    largest |numpy value| of each float output (the kernels accumulate in a different
    order than numpy, so long reductions need more room than element-wise maps)."""

    name: str
    sim_size: int
    native_size: int
    sentrons: int = 1
    tolerance: float = 1e-4

    @property
    def source(self) -> Path:
        return EXAMPLES / f"{self.name}.phx"

    @property
    def hand(self) -> Path | None:
        path = HAND / f"{self.name}.siws"
        return path if path.exists() else None

    def make_arguments(self, size: int, seed: int = 0) -> Arguments:
        maker = LARGE_MAKERS.get(self.name) or references().ARGUMENT_MAKERS[self.name]
        return maker(np.random.default_rng(seed), size)


# ------------------------------------------------------------- vectorised makers


def _csr_vectorised(rng: np.random.Generator, rows: int, cols: int, max_per_row: int
                    ) -> tuple[np.ndarray, np.ndarray]:
    """row_ptr and column ids (sorted within a row, possibly repeated: sums stay
    well defined) for ``rows`` rows of 0..max_per_row entries."""
    counts = rng.integers(0, max_per_row + 1, size=rows)
    row_ptr = np.zeros(rows + 1, np.int64)
    row_ptr[1:] = np.cumsum(counts)
    col_idx = rng.integers(0, max(cols, 1), size=int(row_ptr[-1])).astype(np.int64)
    row_of = np.repeat(np.arange(rows), counts)
    order = np.lexsort((col_idx, row_of))
    return row_ptr, col_idx[order]


def _spmv_csr_large(rng: np.random.Generator, size: int) -> Arguments:
    rows, cols = 4 * size, 3 * size + 2
    row_ptr, col_idx = _csr_vectorised(rng, rows, cols, 8)
    nnz = int(row_ptr[-1])
    return {"row_ptr": row_ptr, "col_idx": col_idx.astype(np.int32),
            "vals": rng.uniform(-1, 1, nnz).astype(np.float32),
            "x": rng.uniform(-1, 1, cols).astype(np.float32),
            "y": np.zeros(rows, np.float32)}


def _hypergraph_conv_large(rng: np.random.Generator, size: int) -> Arguments:
    nodes, edges, features = 3 + 2 * size, 2 + size, 16
    edge_ptr, edge_nodes = _csr_vectorised(rng, edges, nodes, 6)
    edge_of = np.repeat(np.arange(edges), np.diff(edge_ptr))
    # The node -> edges incidence is the transpose of the edge -> nodes one.
    order = np.lexsort((edge_of, edge_nodes))
    node_edges = edge_of[order].astype(np.int64)
    node_ptr = np.zeros(nodes + 1, np.int64)
    node_ptr[1:] = np.cumsum(np.bincount(edge_nodes, minlength=nodes))
    return {"edge_ptr": edge_ptr, "edge_nodes": edge_nodes, "node_ptr": node_ptr,
            "node_edges": node_edges,
            "x": rng.uniform(-1, 1, (nodes, features)).astype(np.float32),
            "edge_feat": np.zeros((edges, features), np.float32),
            "out": np.zeros((nodes, features), np.float32)}


LARGE_MAKERS: dict[str, ArgumentMaker] = {
    "spmv_csr": _spmv_csr_large,
    "hypergraph_conv": _hypergraph_conv_large,
}


# ------------------------------------------------------------- the suites

_M = 1024 * 1024

FULL: tuple[BenchCase, ...] = (
    BenchCase("saxpy", sim_size=1024, native_size=8 * _M),          # 64M floats
    BenchCase("dot", sim_size=1024, native_size=8 * _M, tolerance=1e-2),
    BenchCase("gemm", sim_size=12, native_size=256, tolerance=1e-3),
    BenchCase("gemm_tiled", sim_size=3, native_size=40, tolerance=1e-3),
    BenchCase("laplacian", sim_size=60, native_size=4000),          # 16M floats
    BenchCase("embedding_bag", sim_size=40, native_size=2000, tolerance=1e-3),
    BenchCase("spmv_csr", sim_size=400, native_size=1 * _M, tolerance=1e-3),
    BenchCase("hypergraph_conv", sim_size=60, native_size=256 * 1024, tolerance=1e-3),
    BenchCase("poincare", sim_size=801, native_size=1 * _M + 1, tolerance=1e-3),
    BenchCase("softmax", sim_size=30, native_size=2000, tolerance=1e-3),
    BenchCase("hdc_similarity", sim_size=40, native_size=2000),
    BenchCase("dot_allreduce", sim_size=512, native_size=4 * _M, sentrons=2,
              tolerance=1e-2),
    BenchCase("stream", sim_size=512, native_size=1 * _M, sentrons=2),
    BenchCase("ring_allreduce", sim_size=40, native_size=1000, sentrons=2,
              tolerance=1e-3),
)

SMOKE: tuple[BenchCase, ...] = (
    BenchCase("saxpy", sim_size=128, native_size=64 * 1024),
    BenchCase("dot", sim_size=128, native_size=64 * 1024, tolerance=1e-3),
    BenchCase("gemm", sim_size=4, native_size=32, tolerance=1e-3),
    BenchCase("gemm_tiled", sim_size=1, native_size=4, tolerance=1e-3),
    BenchCase("laplacian", sim_size=12, native_size=256),
    BenchCase("embedding_bag", sim_size=8, native_size=128, tolerance=1e-3),
    BenchCase("spmv_csr", sim_size=40, native_size=8192, tolerance=1e-3),
    BenchCase("hypergraph_conv", sim_size=12, native_size=4096, tolerance=1e-3),
    BenchCase("poincare", sim_size=41, native_size=8193, tolerance=1e-3),
    BenchCase("softmax", sim_size=8, native_size=128, tolerance=1e-3),
    BenchCase("hdc_similarity", sim_size=8, native_size=128),
    BenchCase("dot_allreduce", sim_size=64, native_size=16 * 1024, sentrons=2,
              tolerance=1e-3),
    BenchCase("stream", sim_size=64, native_size=16 * 1024, sentrons=2),
    BenchCase("ring_allreduce", sim_size=8, native_size=64, sentrons=2, tolerance=1e-3),
)

# A handful of tiny cases for the harness's own tests (seconds, not minutes).
TINY: tuple[BenchCase, ...] = (
    BenchCase("saxpy", sim_size=8, native_size=64),
    BenchCase("dot", sim_size=8, native_size=64, tolerance=1e-3),
)

SUITES: dict[str, tuple[BenchCase, ...]] = {"full": FULL, "smoke": SMOKE, "tiny": TINY}
