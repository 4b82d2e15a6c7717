"""C peers: how each kernel's arguments map onto the C functions of c/kernels.c.

``CALLS[name]`` lists the C argument list as (kind, value getter) pairs: a tensor passes
its data pointer, a scalar is passed as a C float or int64. The harness builds the
library into a temporary directory and calls through ctypes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

Arguments = dict[str, Any]
# "ptr": a numpy array's data pointer; "f32": a C float; "i64": a C int64_t.
CArgument = tuple[str, Callable[[Arguments], Any]]

SOURCE = Path(__file__).resolve().parent / "c" / "kernels.c"


def _t(name: str) -> CArgument:
    return ("ptr", lambda args: args[name])


def _f(name: str) -> CArgument:
    return ("f32", lambda args: args[name])


def _dim(name: str, axis: int) -> CArgument:
    return ("i64", lambda args: args[name].shape[axis])


CALLS: dict[str, tuple[str, list[CArgument]]] = {
    "saxpy": ("saxpy", [_f("a"), _t("x"), _t("y"), _t("out"), _dim("x", 0)]),
    "dot": ("dot", [_t("x"), _t("y"), _t("out"), _dim("x", 0)]),
    "dot_sentrons": ("dot", [_t("x"), _t("y"), _t("out"), _dim("x", 0)]),
    "dot_allreduce": ("dot_allreduce", [_t("x"), _t("y"), _t("out"), _dim("x", 0)]),
    "gemm": ("gemm", [_t("a"), _t("b"), _t("c"), _dim("a", 0), _dim("a", 1),
                      _dim("b", 1)]),
    "gemm_tiled": ("gemm_tiled", [_t("a"), _t("b"), _t("c"), _dim("a", 0), _dim("a", 1),
                                  _dim("b", 1)]),
    "laplacian": ("laplacian", [_t("u"), _t("out"), _dim("u", 0), _dim("u", 1)]),
    "embedding_bag": ("embedding_bag", [_t("table"), _t("ids"), _t("out"), _dim("ids", 0),
                                        _dim("table", 1)]),
    "spmv_csr": ("spmv_csr", [_t("row_ptr"), _t("col_idx"), _t("vals"), _t("x"), _t("y"),
                              _dim("y", 0)]),
    "hypergraph_conv": ("hypergraph_conv", [
        _t("edge_ptr"), _t("edge_nodes"), _t("node_ptr"), _t("node_edges"), _t("x"),
        _t("edge_feat"), _t("out"), _dim("edge_feat", 0), _dim("out", 0), _dim("x", 1)]),
    "poincare": ("poincare", [_t("points"), _t("pairs"), _t("out"), _dim("pairs", 0),
                              _dim("points", 1)]),
    "softmax": ("softmax", [_t("x"), _t("out"), _dim("x", 0), _dim("x", 1)]),
    "hdc_similarity": ("hdc_similarity", [_t("keys"), _t("values"), _t("query"),
                                          _t("bound"), _t("sim"), _dim("keys", 0),
                                          _dim("keys", 1)]),
    "stream": ("stream", [_f("a"), _t("x"), _t("out"), _dim("x", 0)]),
    "ring_allreduce": ("ring_allreduce", [_t("x"), _t("out"), _dim("x", 0), _dim("x", 1)]),
}
