"""Numpy references for the example kernels, and valid inputs for each.

`REFERENCES[name](**args, sentrons=S)` computes what kernel `name` computes: it takes the
kernel's parameters by name (tensors are numpy arrays, modified in place like the
kernel's outputs; scalars are Python or numpy scalars). Every reference accepts the
keyword `sentrons` (the sentron count of the launch); only the SPMD kernels use it.

`ARGUMENT_MAKERS[name](rng, size)` returns a dict parameter name -> value of valid
inputs (consistent CSR structures, ids in range, points inside the unit ball), with
problem dimensions growing with `size` (size >= 0; 0 gives empty loops where the
kernel allows them). Floats are compared with a
tolerance: the references do not reproduce the kernels' operation order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

Arguments = dict[str, Any]
Reference = Callable[..., None]
ArgumentMaker = Callable[[np.random.Generator, int], Arguments]

_f32 = np.float32


def _uniform(rng: np.random.Generator, shape: tuple[int, ...], low: float = -1.0,
             high: float = 1.0, dtype: type = np.float32) -> np.ndarray:
    return rng.uniform(low, high, size=shape).astype(dtype)


# ----------------------------------------------------------------------- references


def saxpy(a: float, x: np.ndarray, y: np.ndarray, out: np.ndarray, sentrons: int = 1) -> None:
    out[:] = _f32(a) * x + y


def dot(x: np.ndarray, y: np.ndarray, out: np.ndarray, sentrons: int = 1) -> None:
    out[0] = np.dot(x, y)


def embedding_bag(table: np.ndarray, ids: np.ndarray, out: np.ndarray, sentrons: int = 1) -> None:
    out[:] = table[ids.astype(np.int64)].sum(axis=0, dtype=out.dtype)


def laplacian(u: np.ndarray, out: np.ndarray, sentrons: int = 1) -> None:
    out[1:-1, 1:-1] = (u[:-2, 1:-1] + u[2:, 1:-1] + u[1:-1, :-2] + u[1:-1, 2:]
                       - _f32(4.0) * u[1:-1, 1:-1])


def dot_sentrons(x: np.ndarray, y: np.ndarray, out: np.ndarray, sentrons: int = 1) -> None:
    out[0] = np.dot(x, y)


def dot_allreduce(x: np.ndarray, y: np.ndarray, out: np.ndarray, sentrons: int = 1) -> None:
    out[0] = np.dot(x, y)
    out[1] = np.max(np.abs(x)) if len(x) else 0.0


def gemm(a: np.ndarray, b: np.ndarray, c: np.ndarray, sentrons: int = 1) -> None:
    c[:] = a @ b


def gemm_tiled(a: np.ndarray, b: np.ndarray, c: np.ndarray, sentrons: int = 1) -> None:
    c[:] = a @ b


def spmv_csr(row_ptr: np.ndarray, col_idx: np.ndarray, vals: np.ndarray, x: np.ndarray,
             y: np.ndarray, sentrons: int = 1) -> None:
    for r in range(len(y)):
        lo, hi = int(row_ptr[r]), int(row_ptr[r + 1])
        y[r] = np.dot(vals[lo:hi], x[col_idx[lo:hi].astype(np.int64)])


def softmax(x: np.ndarray, out: np.ndarray, sentrons: int = 1) -> None:
    shifted = np.exp(x - x.max(axis=1, keepdims=True))
    out[:] = shifted / shifted.sum(axis=1, keepdims=True)


def poincare(points: np.ndarray, pairs: np.ndarray, out: np.ndarray, sentrons: int = 1) -> None:
    u = points[pairs[:, 0]].astype(np.float64)
    v = points[pairs[:, 1]].astype(np.float64)
    diff2 = ((u - v) ** 2).sum(axis=1)
    z = 1.0 + 2.0 * diff2 / ((1.0 - (u * u).sum(axis=1)) * (1.0 - (v * v).sum(axis=1)))
    out[:] = np.arccosh(z)


def hdc_similarity(keys: np.ndarray, values: np.ndarray, query: np.ndarray,
                   bound: np.ndarray, sim: np.ndarray, sentrons: int = 1) -> None:
    bound[:] = keys ^ values
    differing = np.unpackbits((bound ^ query[None, :]).view(np.uint8), axis=1)
    sim[:] = 64 * keys.shape[1] - differing.sum(axis=1, dtype=np.int64)


def hypergraph_conv(edge_ptr: np.ndarray, edge_nodes: np.ndarray, node_ptr: np.ndarray,
                    node_edges: np.ndarray, x: np.ndarray, edge_feat: np.ndarray,
                    out: np.ndarray, sentrons: int = 1) -> None:
    for e in range(edge_feat.shape[0]):
        members = edge_nodes[edge_ptr[e]:edge_ptr[e + 1]]
        edge_feat[e] = x[members].mean(axis=0) if len(members) else 0.0
    for v in range(out.shape[0]):
        edges = node_edges[node_ptr[v]:node_ptr[v + 1]]
        out[v] = edge_feat[edges].mean(axis=0) if len(edges) else 0.0


def stream(a: float, x: np.ndarray, out: np.ndarray, sentrons: int = 1) -> None:
    v = _f32(a) * x
    out[:] = v * v


def ring_allreduce(x: np.ndarray, out: np.ndarray, sentrons: int = 1) -> None:
    out[:] = x.sum(axis=0)[None, :]


REFERENCES: dict[str, Reference] = {
    "saxpy": saxpy,
    "dot": dot,
    "embedding_bag": embedding_bag,
    "laplacian": laplacian,
    "dot_sentrons": dot_sentrons,
    "dot_allreduce": dot_allreduce,
    "gemm": gemm,
    "gemm_tiled": gemm_tiled,
    "spmv_csr": spmv_csr,
    "softmax": softmax,
    "poincare": poincare,
    "hdc_similarity": hdc_similarity,
    "hypergraph_conv": hypergraph_conv,
    "stream": stream,
    "ring_allreduce": ring_allreduce,
}


# ----------------------------------------------------------------------- inputs


def _saxpy_args(rng: np.random.Generator, size: int) -> Arguments:
    n = 8 * size
    return {"a": _f32(rng.uniform(-2, 2)), "x": _uniform(rng, (n,)), "y": _uniform(rng, (n,)),
            "out": np.zeros(n, np.float32)}


def _dot_args(rng: np.random.Generator, size: int) -> Arguments:
    n = 8 * size
    return {"x": _uniform(rng, (n,)), "y": _uniform(rng, (n,)), "out": np.zeros(1, np.float32)}


def _dot_allreduce_args(rng: np.random.Generator, size: int) -> Arguments:
    return {**_dot_args(rng, size), "out": np.zeros(2, np.float32)}


def _embedding_bag_args(rng: np.random.Generator, size: int) -> Arguments:
    vocab, dim, bag = 4 * size + 1, 4 + size, 3 * size
    return {"table": _uniform(rng, (vocab, dim)),
            "ids": rng.integers(0, vocab, size=bag).astype(np.int32),
            "out": np.zeros(dim, np.float32)}


def _laplacian_args(rng: np.random.Generator, size: int) -> Arguments:
    h, w = 3 + size, 4 + size
    return {"u": _uniform(rng, (h, w)), "out": np.zeros((h, w), np.float32)}


def _gemm_args(rng: np.random.Generator, size: int) -> Arguments:
    m, k, n = 3 + size, 5 + size, 4 + 2 * size
    return {"a": _uniform(rng, (m, k)), "b": _uniform(rng, (k, n)),
            "c": np.zeros((m, n), np.float32)}


def _gemm_tiled_args(rng: np.random.Generator, size: int) -> Arguments:
    # Extents that are not multiples of the 16-wide tiles exercise the edge tiles.
    m, k, n = 7 * size + 3, 9 * size + 2, 11 * size + 1
    return {"a": _uniform(rng, (m, k)), "b": _uniform(rng, (k, n)),
            "c": np.zeros((m, n), np.float32)}


def _csr(rng: np.random.Generator, rows: int, cols: int, max_per_row: int
         ) -> tuple[np.ndarray, np.ndarray]:
    """A CSR structure: row_ptr (rows + 1 offsets) and sorted column ids per row;
    some rows may be empty."""
    counts = rng.integers(0, max_per_row + 1, size=rows)
    row_ptr = np.zeros(rows + 1, np.int64)
    row_ptr[1:] = np.cumsum(counts)
    cols_per_row = [np.sort(rng.choice(cols, size=min(int(c), cols), replace=False))
                    for c in counts]
    col_idx = np.concatenate(cols_per_row) if rows else np.zeros(0, np.int64)
    return row_ptr, col_idx.astype(np.int64)


def _spmv_csr_args(rng: np.random.Generator, size: int) -> Arguments:
    rows, cols = 4 * size, 3 * size + 2
    row_ptr, col_idx = _csr(rng, rows, cols, min(4, cols))
    nnz = int(row_ptr[-1])
    return {"row_ptr": row_ptr, "col_idx": col_idx.astype(np.int32),
            "vals": _uniform(rng, (nnz,)), "x": _uniform(rng, (cols,)),
            "y": np.zeros(rows, np.float32)}


def _softmax_args(rng: np.random.Generator, size: int) -> Arguments:
    rows, cols = 2 + size, 3 + 2 * size
    return {"x": _uniform(rng, (rows, cols), -20.0, 20.0),
            "out": np.zeros((rows, cols), np.float32)}


def _poincare_args(rng: np.random.Generator, size: int) -> Arguments:
    count, dim, pairs = 4 + size, 2 + size % 4, 3 * size
    directions = rng.normal(size=(count, dim))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    radii = rng.uniform(0.0, 0.9, size=(count, 1))
    return {"points": (directions * radii).astype(np.float32),
            "pairs": rng.integers(0, count, size=(pairs, 2)).astype(np.int64),
            "out": np.zeros(pairs, np.float32)}


def _hdc_similarity_args(rng: np.random.Generator, size: int) -> Arguments:
    count, words = 2 + size, 1 + size

    def words_of(shape: tuple[int, ...]) -> np.ndarray:
        return rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, size=shape,
                            dtype=np.int64, endpoint=True)

    return {"keys": words_of((count, words)), "values": words_of((count, words)),
            "query": words_of((words,)), "bound": np.zeros((count, words), np.int64),
            "sim": np.zeros(count, np.int64)}


def _hypergraph_conv_args(rng: np.random.Generator, size: int) -> Arguments:
    nodes, edges, features = 3 + 2 * size, 2 + size, 2 + size % 3
    edge_ptr, edge_nodes = _csr(rng, edges, nodes, min(4, nodes))
    # The node -> edges incidence is the transpose of the edge -> nodes one.
    members = [edge_nodes[edge_ptr[e]:edge_ptr[e + 1]] for e in range(edges)]
    node_lists = [[e for e in range(edges) if v in members[e]] for v in range(nodes)]
    node_ptr = np.zeros(nodes + 1, np.int64)
    node_ptr[1:] = np.cumsum([len(lst) for lst in node_lists])
    node_edges = np.array([e for lst in node_lists for e in lst], np.int64)
    return {"edge_ptr": edge_ptr, "edge_nodes": edge_nodes, "node_ptr": node_ptr,
            "node_edges": node_edges, "x": _uniform(rng, (nodes, features)),
            "edge_feat": np.zeros((edges, features), np.float32),
            "out": np.zeros((nodes, features), np.float32)}


def _stream_args(rng: np.random.Generator, size: int) -> Arguments:
    n = 8 * size
    return {"a": _f32(rng.uniform(-2, 2)), "x": _uniform(rng, (n,)),
            "out": np.zeros(n, np.float32)}


def _ring_allreduce_args(rng: np.random.Generator, size: int) -> Arguments:
    rows, n = 1 + size, 5 * size + 2
    return {"x": _uniform(rng, (rows, n)), "out": np.zeros((rows, n), np.float32)}


ARGUMENT_MAKERS: dict[str, ArgumentMaker] = {
    "saxpy": _saxpy_args,
    "dot": _dot_args,
    "embedding_bag": _embedding_bag_args,
    "laplacian": _laplacian_args,
    "dot_sentrons": _dot_args,
    "dot_allreduce": _dot_allreduce_args,
    "gemm": _gemm_args,
    "gemm_tiled": _gemm_tiled_args,
    "spmv_csr": _spmv_csr_args,
    "softmax": _softmax_args,
    "poincare": _poincare_args,
    "hdc_similarity": _hdc_similarity_args,
    "hypergraph_conv": _hypergraph_conv_args,
    "stream": _stream_args,
    "ring_allreduce": _ring_allreduce_args,
}
