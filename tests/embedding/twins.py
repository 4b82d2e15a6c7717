"""Python twins of the .phx examples: the same loops, written as plain Python.

Each function is an ordinary Python function (it runs unchanged as plain Python, the
sentron builtins acting as one sentron) and is compiled with ``phextcc.kernel`` by the
tests. Accumulators start from ``x.dtype.type(0)`` so one function serves float32 and
float64 inputs, computing in the precision of its data.
"""

from __future__ import annotations

import math

import numpy as np

from phextcc.embedding import allreduce, barrier, broadcast, num_sentrons, recv, send, sentron_id


def saxpy(a, x, y, out):
    for i in range(len(x)):
        out[i] = a * x[i] + y[i]


def dot(x, y, out):
    acc = x.dtype.type(0)
    for i in range(len(x)):
        acc += x[i] * y[i]
    out[0] = acc


def dot_allreduce(x, y, out):
    s = sentron_id()
    k = num_sentrons()
    acc = x.dtype.type(0)
    peak = x.dtype.type(0)
    for i in range(s, len(x), k):
        acc += x[i] * y[i]
        peak = max(peak, abs(x[i]))
    total = allreduce(acc, "sum")
    largest = allreduce(peak, "max")
    agreed = broadcast(total, 0)
    barrier()
    if s == 0 and agreed == total:
        out[0] = total
        out[1] = largest


def dot_sentrons(x, y, out):
    s = sentron_id()
    k = num_sentrons()
    n = len(x)
    acc = x.dtype.type(0)
    for i in range(s * n // k, (s + 1) * n // k):
        acc += x[i] * y[i]
    total = allreduce(acc, "sum")
    if s == 0:
        out[0] = total


def embedding_bag(table, ids, out):
    for d in range(len(out)):
        out[d] = 0.0
    for b in range(len(ids)):
        row = ids[b]
        for d in range(len(out)):
            out[d] += table[row, d]


def gemm(a, b, c):
    for i in range(a.shape[0]):
        for j in range(b.shape[1]):
            acc = c.dtype.type(0)
            for p in range(a.shape[1]):
                acc += a[i, p] * b[p, j]
            c[i, j] = acc


def gemm_tiled(a, b, c):
    m, k, n = a.shape[0], a.shape[1], b.shape[1]
    for i in range(m):
        for j in range(n):
            c[i, j] = 0.0
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


def hypergraph_conv(edge_ptr, edge_nodes, node_ptr, node_edges, x, edge_feat, out):
    features = x.shape[1]
    for e in range(edge_feat.shape[0]):
        first = edge_ptr[e]
        last = edge_ptr[e + 1]
        for f in range(features):
            total = x.dtype.type(0)
            for k in range(first, last):
                total += x[edge_nodes[k], f]
            if last > first:
                edge_feat[e, f] = total / x.dtype.type(last - first)
            else:
                edge_feat[e, f] = 0.0
    for v in range(out.shape[0]):
        first = node_ptr[v]
        last = node_ptr[v + 1]
        for f in range(features):
            total = x.dtype.type(0)
            for k in range(first, last):
                total += edge_feat[node_edges[k], f]
            if last > first:
                out[v, f] = total / x.dtype.type(last - first)
            else:
                out[v, f] = 0.0


def laplacian(u, out):
    for i in range(1, u.shape[0] - 1):
        for j in range(1, u.shape[1] - 1):
            out[i, j] = u[i - 1, j] + u[i + 1, j] + u[i, j - 1] + u[i, j + 1] - 4.0 * u[i, j]


def poincare(points, pairs, out):
    for p in range(pairs.shape[0]):
        u = pairs[p, 0]
        v = pairs[p, 1]
        diff2 = points.dtype.type(0)
        u2 = points.dtype.type(0)
        v2 = points.dtype.type(0)
        for d in range(points.shape[1]):
            a = points[u, d]
            b = points[v, d]
            diff2 += (a - b) * (a - b)
            u2 += a * a
            v2 += b * b
        z = 1.0 + 2.0 * diff2 / ((1.0 - u2) * (1.0 - v2))
        out[p] = np.log(z + np.sqrt(z * z - 1.0))


def ring_allreduce(x, out):
    s = sentron_id()
    k = num_sentrons()
    n = x.shape[1]
    rows = x.shape[0]
    nxt = (s + 1) % k
    prev = (s + k - 1) % k
    for t in range(k):
        c = (s + k - t) % k
        for i in range(c * n // k, (c + 1) * n // k):
            v = x.dtype.type(0)
            if t > 0:
                v = recv(prev, x.dtype.type)
            for r in range(s, rows, k):
                v += x[r, i]
            if k > 1:
                send(nxt, v)
            if t == k - 1:
                for r in range(s, rows, k):
                    out[r, i] = v
    for u in range(1, k):
        c = (s + 1 + k - u) % k
        for i in range(c * n // k, (c + 1) * n // k):
            w = recv(prev, x.dtype.type)
            if u < k - 1:
                send(nxt, w)
            for r in range(s, rows, k):
                out[r, i] = w


def softmax(x, out):
    for r in range(x.shape[0]):
        m = x[r, 0]
        for c in range(1, x.shape[1]):
            m = max(m, x[r, c])
        total = x.dtype.type(0)
        for c in range(x.shape[1]):
            e = np.exp(x[r, c] - m)
            out[r, c] = e
            total += e
        for c in range(x.shape[1]):
            out[r, c] = out[r, c] / total


def spmv_csr(row_ptr, col_idx, vals, x, y):
    for r in range(len(y)):
        acc = vals.dtype.type(0)
        for k in range(row_ptr[r], row_ptr[r + 1]):
            acc += vals[k] * x[col_idx[k]]
        y[r] = acc


def stream(a, x, out):
    s = sentron_id()
    k = num_sentrons()
    if k == 1:
        for i in range(len(x)):
            v = a * x[i]
            out[i] = v * v
        return
    if s == 0:
        for i in range(len(x)):
            send(1, a * x[i])
    elif s == 1:
        for i in range(len(x)):
            w = recv(0, x.dtype.type)
            out[i] = w * w


def row_norms(m, out):
    """Not an example: the Euclidean norm of each row (math.sqrt keeps f32 data in f32)."""
    for r in range(m.shape[0]):
        acc = m.dtype.type(0)
        for c in range(m.shape[1]):
            acc += m[r, c] * m[r, c]
        out[r] = math.sqrt(acc)


#: example name -> (twin, sentron counts to try, whether results are exact vs the .phx)
TWINS = {
    "saxpy": (saxpy, (1,)),
    "dot": (dot, (1,)),
    "dot_allreduce": (dot_allreduce, (1, 3)),
    "dot_sentrons": (dot_sentrons, (1, 4)),
    "embedding_bag": (embedding_bag, (1,)),
    "gemm": (gemm, (1,)),
    "gemm_tiled": (gemm_tiled, (1,)),
    "hypergraph_conv": (hypergraph_conv, (1,)),
    "laplacian": (laplacian, (1,)),
    "poincare": (poincare, (1,)),
    "ring_allreduce": (ring_allreduce, (1, 3)),
    "softmax": (softmax, (1,)),
    "spmv_csr": (spmv_csr, (1,)),
    "stream": (stream, (1, 2)),
}
