"""phextcc: a compiler for .phx kernels targeting the vTPU.

The Python API (``kernel``, ``compile`` and the sentron builtins) is imported lazily so
that ``import phextcc`` and the command line stay fast.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "allreduce",
    "barrier",
    "broadcast",
    "compile",
    "kernel",
    "num_sentrons",
    "recv",
    "send",
    "sentron_id",
]

_EMBEDDING_EXPORTS = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    if name in _EMBEDDING_EXPORTS:
        from phextcc import embedding

        return getattr(embedding, name)
    raise AttributeError(f"module 'phextcc' has no attribute {name!r}")
