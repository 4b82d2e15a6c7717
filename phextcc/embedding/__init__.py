"""The Python embedding of phextcc: ``@kernel`` on Python functions, ``compile`` for
``.phx`` sources, and the sentron builtins kernels call (see docs/python.md)."""

from phextcc.embedding.compile_api import CompiledModule, compile
from phextcc.embedding.compiled import CompiledKernel
from phextcc.embedding.kernel import Kernel, kernel
from phextcc.embedding.sentron_builtins import (
    allreduce,
    barrier,
    broadcast,
    num_sentrons,
    recv,
    send,
    sentron_id,
)
from phextcc.embedding.signature import KernelArgumentError, Signature
from phextcc.frontend.python_scope import PythonKernelError, RenderedCompileError

__all__ = [
    "CompiledKernel", "CompiledModule", "Kernel", "KernelArgumentError", "PythonKernelError",
    "RenderedCompileError", "Signature", "allreduce", "barrier", "broadcast", "compile",
    "kernel", "num_sentrons", "recv", "send", "sentron_id",
]
