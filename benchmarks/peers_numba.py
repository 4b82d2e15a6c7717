"""Numba ``@njit`` peers: the same loops as the .phx kernels, in the same operation order
and precision (f32 accumulators stay f32). ``ADAPTERS[name](args)`` calls the compiled
loop with the kernel's arguments (a dict by parameter name). Importing this module needs
numba; the harness skips the peer with a note when it is missing."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

Arguments = dict[str, Any]
_f32 = np.float32


@njit(cache=False)
def saxpy(a, x, y, out):  # type: ignore[no-untyped-def]
    for i in range(x.shape[0]):
        out[i] = a * x[i] + y[i]


@njit(cache=False)
def dot(x, y, out):  # type: ignore[no-untyped-def]
    acc = np.float32(0.0)
    for i in range(x.shape[0]):
        acc += x[i] * y[i]
    out[0] = acc


@njit(cache=False)
def dot_allreduce(x, y, out):  # type: ignore[no-untyped-def]
    acc = np.float32(0.0)
    peak = np.float32(0.0)
    for i in range(x.shape[0]):
        acc += x[i] * y[i]
        peak = max(peak, abs(x[i]))
    out[0] = acc
    out[1] = peak


@njit(cache=False)
def gemm(a, b, c):  # type: ignore[no-untyped-def]
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            acc = np.float32(0.0)
            for p in range(a.shape[1]):
                acc += a[i, p] * b[p, j]
            c[i, j] = acc


@njit(cache=False)
def gemm_tiled(a, b, c):  # type: ignore[no-untyped-def]
    m, k, n = a.shape[0], a.shape[1], b.shape[1]
    c[:, :] = 0
    for i0 in range(0, m, 16):
        for j0 in range(0, n, 16):
            for p0 in range(0, k, 16):
                p1 = min(p0 + 16, k)
                for i in range(i0, min(i0 + 16, m)):
                    for j in range(j0, min(j0 + 16, n)):
                        acc = c[i, j]
                        for p in range(p0, p1):
                            acc += a[i, p] * b[p, j]
                        c[i, j] = acc


@njit(cache=False)
def laplacian(u, out):  # type: ignore[no-untyped-def]
    for i in range(1, u.shape[0] - 1):
        for j in range(1, u.shape[1] - 1):
            out[i, j] = (u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1]
                         - np.float32(4.0) * u[i, j])


@njit(cache=False)
def embedding_bag(table, ids, out):  # type: ignore[no-untyped-def]
    out[:] = 0
    for b in range(ids.shape[0]):
        row = ids[b]
        for d in range(table.shape[1]):
            out[d] += table[row, d]


@njit(cache=False)
def spmv_csr(row_ptr, col_idx, vals, x, y):  # type: ignore[no-untyped-def]
    for r in range(y.shape[0]):
        acc = np.float32(0.0)
        for k in range(row_ptr[r], row_ptr[r + 1]):
            acc += vals[k] * x[col_idx[k]]
        y[r] = acc


@njit(cache=False)
def _segment_means(ptr, members, rows, out):  # type: ignore[no-untyped-def]
    for e in range(out.shape[0]):
        first, last = ptr[e], ptr[e + 1]
        for f in range(out.shape[1]):
            total = np.float32(0.0)
            for k in range(first, last):
                total += rows[members[k], f]
            out[e, f] = total / np.float32(last - first) if last > first else 0.0


def hypergraph_conv(edge_ptr, edge_nodes, node_ptr, node_edges, x, edge_feat,  # type: ignore[no-untyped-def]
                    out):
    _segment_means(edge_ptr, edge_nodes, x, edge_feat)
    _segment_means(node_ptr, node_edges, edge_feat, out)


@njit(cache=False)
def poincare(points, pairs, out):  # type: ignore[no-untyped-def]
    for p in range(pairs.shape[0]):
        u, v = pairs[p, 0], pairs[p, 1]
        diff2 = np.float32(0.0)
        u2 = np.float32(0.0)
        v2 = np.float32(0.0)
        for d in range(points.shape[1]):
            a, b = points[u, d], points[v, d]
            diff2 += (a - b) * (a - b)
            u2 += a * a
            v2 += b * b
        z = np.float32(1.0) + np.float32(2.0) * diff2 / ((np.float32(1.0) - u2)
                                                         * (np.float32(1.0) - v2))
        out[p] = math.log(z + math.sqrt(z * z - np.float32(1.0)))


@njit(cache=False)
def softmax(x, out):  # type: ignore[no-untyped-def]
    for r in range(x.shape[0]):
        m = x[r, 0]
        for c in range(1, x.shape[1]):
            m = max(m, x[r, c])
        total = np.float32(0.0)
        for c in range(x.shape[1]):
            e = np.exp(x[r, c] - m)
            out[r, c] = e
            total += e
        for c in range(x.shape[1]):
            out[r, c] = out[r, c] / total


@njit(cache=False)
def _popcount(word):  # type: ignore[no-untyped-def]
    w = np.uint64(word)
    count = 0
    while w:
        w &= w - np.uint64(1)
        count += 1
    return count


@njit(cache=False)
def hdc_similarity(keys, values, query, bound, sim):  # type: ignore[no-untyped-def]
    for n in range(keys.shape[0]):
        distance = 0
        for w in range(keys.shape[1]):
            b = keys[n, w] ^ values[n, w]
            bound[n, w] = b
            distance += _popcount(b ^ query[w])
        sim[n] = 64 * keys.shape[1] - distance


@njit(cache=False)
def stream(a, x, out):  # type: ignore[no-untyped-def]
    for i in range(x.shape[0]):
        v = a * x[i]
        out[i] = v * v


@njit(cache=False)
def ring_allreduce(x, out):  # type: ignore[no-untyped-def]
    for i in range(x.shape[1]):
        v = np.float32(0.0)
        for r in range(x.shape[0]):
            v += x[r, i]
        for r in range(x.shape[0]):
            out[r, i] = v


def _call(function: Callable[..., None], *names: str) -> Callable[[Arguments], None]:
    def adapter(args: Arguments) -> None:
        function(*(_f32(args[n]) if np.isscalar(args[n]) else args[n] for n in names))
    return adapter


ADAPTERS: dict[str, Callable[[Arguments], None]] = {
    "saxpy": _call(saxpy, "a", "x", "y", "out"),
    "dot": _call(dot, "x", "y", "out"),
    "dot_sentrons": _call(dot, "x", "y", "out"),
    "dot_allreduce": _call(dot_allreduce, "x", "y", "out"),
    "gemm": _call(gemm, "a", "b", "c"),
    "gemm_tiled": _call(gemm_tiled, "a", "b", "c"),
    "laplacian": _call(laplacian, "u", "out"),
    "embedding_bag": _call(embedding_bag, "table", "ids", "out"),
    "spmv_csr": _call(spmv_csr, "row_ptr", "col_idx", "vals", "x", "y"),
    "hypergraph_conv": _call(hypergraph_conv, "edge_ptr", "edge_nodes", "node_ptr",
                             "node_edges", "x", "edge_feat", "out"),
    "poincare": _call(poincare, "points", "pairs", "out"),
    "softmax": _call(softmax, "x", "out"),
    "hdc_similarity": _call(hdc_similarity, "keys", "values", "query", "bound", "sim"),
    "stream": _call(stream, "a", "x", "out"),
    "ring_allreduce": _call(ring_allreduce, "x", "out"),
}
