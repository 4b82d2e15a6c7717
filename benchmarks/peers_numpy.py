"""numpy peers: each takes the kernel's arguments by name (a dict) and writes the
kernel's outputs in place. Most are the references of examples/reference.py; the ones
whose reference walks rows in a Python loop get vectorised versions here so that timing
them at full size measures numpy, not the interpreter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Arguments = dict[str, Any]


def spmv_csr(args: Arguments) -> None:
    row_ptr, y = args["row_ptr"], args["y"]
    products = args["vals"] * args["x"][args["col_idx"]]
    sums = np.add.reduceat(np.append(products, np.float32(0)), row_ptr[:-1])
    empty = row_ptr[1:] == row_ptr[:-1]
    y[:] = np.where(empty, np.float32(0), sums)


def _segment_means(ptr: np.ndarray, members: np.ndarray, rows: np.ndarray,
                   out: np.ndarray) -> None:
    gathered = rows[members]
    padded = np.concatenate([gathered, np.zeros((1, rows.shape[1]), rows.dtype)])
    sums = np.add.reduceat(padded, ptr[:-1], axis=0)
    counts = np.diff(ptr)
    out[:] = np.where(counts[:, None] > 0, sums / np.maximum(counts, 1)[:, None].astype(
        np.float32), np.float32(0))


def hypergraph_conv(args: Arguments) -> None:
    _segment_means(args["edge_ptr"], args["edge_nodes"], args["x"], args["edge_feat"])
    _segment_means(args["node_ptr"], args["node_edges"], args["edge_feat"], args["out"])


VECTORISED: dict[str, Callable[[Arguments], None]] = {
    "spmv_csr": spmv_csr,
    "hypergraph_conv": hypergraph_conv,
}
