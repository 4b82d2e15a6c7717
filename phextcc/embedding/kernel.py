"""``@phextcc.kernel``: a Python function compiled per argument signature, like Numba's
``@njit``, through the same AST, IR and backend as ``.phx`` files.

    @phextcc.kernel
    def saxpy(a, x, y, out):
        for i in range(len(x)):
            out[i] = a * x[i] + y[i]

    saxpy(np.float32(2), x, y, out)              # compiles for (f32, f32[:], ...), runs
    saxpy(2.0, x, y, out, sentrons=4)            # another signature (a: f64), 4 sentrons
    saxpy.signatures                              # both signatures
    saxpy.specializations[sig].siw_asm            # .ir .siw_asm .llvm .asm .stats()

Options (decorator keywords): ``opt`` (0-3), ``sentrons`` (default launch width),
``checks`` (index bounds checks), ``fastmath``, ``cache`` (on-disk cache), ``engine``
("jit" or "sim"; the PHEXTCC_ENGINE environment variable overrides it).
"""

from __future__ import annotations

import functools
import inspect
import threading
import types
from collections.abc import Callable
from typing import Any, overload

import numpy as np

from phextcc.embedding.cache import (
    CacheKey,
    DiskCache,
    compiler_version,
    hash_source,
    target_cpu,
)
from phextcc.embedding.compiled import CompiledKernel, build_program, load_or_build
from phextcc.embedding.options import KernelOptions, read_environment, resolve_engine
from phextcc.embedding.signature import Signature, signature_of
from phextcc.frontend.python_frontend import (
    ParsedFunction,
    check_python_program,
    parse_function,
    translate_function,
)
from phextcc.frontend.python_globals import PythonEnvironment
from phextcc.frontend.python_scope import RenderedCompileError


class Kernel:
    """The dispatcher: one ``CompiledKernel`` per argument ``Signature``."""

    def __init__(self, fn: types.FunctionType, options: KernelOptions) -> None:
        if not isinstance(fn, types.FunctionType):
            raise TypeError(f"@phextcc.kernel needs a plain Python function, got "
                            f"{type(fn).__name__}")
        functools.update_wrapper(self, fn)
        self.py_func = fn
        self.options = options
        self.specializations: dict[Signature, CompiledKernel] = {}
        self._python_signature = inspect.signature(fn)
        self._param_names = tuple(self._python_signature.parameters)
        self._parsed: ParsedFunction | None = None
        # what identifies a signature, cheaply: argument types, array dtype/rank/layout
        self._dispatch: dict[tuple[object, ...], CompiledKernel] = {}
        self._lock = threading.RLock()

    def __repr__(self) -> str:
        return f"<phextcc kernel {self.py_func.__qualname__}, {len(self.specializations)} " \
               "specialisation(s)>"

    @property
    def signatures(self) -> tuple[Signature, ...]:
        """The signatures compiled so far, in order of first use."""
        return tuple(self.specializations)

    def __call__(self, *args: object, sentrons: int | None = None, **kwargs: object) -> None:
        values = self._arguments(args, kwargs)
        compiled = self._specialization(values)
        compiled.run(values, self.options.sentrons if sentrons is None else sentrons)

    def compile(self, *args: object, **kwargs: object) -> CompiledKernel:
        """The specialisation for these arguments (compiled if needed, not run)."""
        return self._specialization(self._arguments(args, kwargs))

    # ---------------------------------------------------------------- internals

    def _arguments(self, args: tuple[object, ...], kwargs: dict[str, object]) -> list[object]:
        if not kwargs and len(args) == len(self._param_names):
            return list(args)  # the common case, without inspect's binding machinery
        try:
            bound = self._python_signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise TypeError(f"{self.py_func.__name__}(): {exc}") from None
        bound.apply_defaults()
        return list(bound.arguments.values())

    def _specialization(self, values: list[object]) -> CompiledKernel:
        quick = tuple(map(_quick_type, values))
        found = self._dispatch.get(quick)
        if found is not None:
            return found
        signature = signature_of(self.py_func.__name__, self._param_names, values)
        compiled = self.specializations.get(signature)
        if compiled is None:
            with self._lock:
                compiled = self.specializations.get(signature)
                if compiled is None:
                    compiled = self._compile(signature)
                    self.specializations[signature] = compiled
        self._dispatch[quick] = compiled
        return compiled

    def _parsed_function(self) -> ParsedFunction:
        if self._parsed is None:
            self._parsed = parse_function(self.py_func)
        return self._parsed

    def _compile(self, signature: Signature) -> CompiledKernel:
        settings = read_environment()
        parsed = self._parsed_function()
        env = PythonEnvironment.of_function(self.py_func)
        try:
            program = translate_function(parsed, env, signature.specs)
            typed = check_python_program(program, parsed)
        except RenderedCompileError as exc:
            exc.note = f"note: while compiling {parsed.name}{signature}"
            raise
        use_cache = self.options.cache and settings.cache_enabled
        cache = DiskCache(settings.cache_dir) if use_cache else None
        key = CacheKey(
            kernel=f"{self.py_func.__module__}.{self.py_func.__qualname__}",
            source_hash=hash_source(parsed.source, env.used),
            signature=str(signature),
            options=self.options.code_options(),
            compiler_version=compiler_version(),
            target_cpu=target_cpu(),
        ) if use_cache else None
        artifacts = load_or_build(key, cache, lambda: build_program(typed, self.options))
        return CompiledKernel(parsed.name, artifacts, self.options,
                              resolve_engine(self.options, settings), key, cache, signature)


def _quick_type(value: object) -> object:
    if isinstance(value, np.ndarray):
        return (value.dtype, value.ndim, value.flags.c_contiguous)
    return type(value)


@overload
def kernel(fn: Callable[..., Any], /) -> Kernel: ...


def _quick_type(value: object) -> object:
    if isinstance(value, np.ndarray):
        return (value.dtype, value.ndim, value.flags.c_contiguous)
    return type(value)


@overload
def kernel(*, opt: int = ..., sentrons: int = ..., checks: bool = ..., fastmath: bool = ...,
           cache: bool = ..., engine: str | None = ...) -> Callable[[Callable[..., Any]],
                                                                    Kernel]: ...


def kernel(fn: Callable[..., Any] | None = None, /, *, opt: int = 2, sentrons: int = 1,
           checks: bool = True, fastmath: bool = False, cache: bool = True,
           engine: str | None = None) -> Kernel | Callable[[Callable[..., Any]], Kernel]:
    """Compile a Python function as a kernel; usable bare or with options."""
    options = KernelOptions(opt=opt, sentrons=sentrons, checks=checks, fastmath=fastmath,
                            cache=cache, engine=engine)

    def decorate(function: Callable[..., Any]) -> Kernel:
        return Kernel(function, options)  # type: ignore[arg-type]

    return decorate(fn) if fn is not None else decorate
