"""A compiled kernel (one specialisation): how it is built, cached, inspected and run.

``build_program`` runs the driver's stages after semantic analysis (lower -> optimise
-> codegen); ``load_or_build`` puts the on-disk cache in front of it. A
``CompiledKernel`` is what ``kern.specializations[sig]`` and the attributes of a
``phextcc.compile`` module are: callable, with ``.ir``, ``.siw_asm``, ``.llvm``,
``.asm`` and ``.stats()``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from phextcc import driver
from phextcc.backend import siw_format
from phextcc.backend.program import Program
from phextcc.diagnostics import CompileError
from phextcc.embedding.cache import CacheKey, DiskCache
from phextcc.embedding.engines import (
    CodeOptions,
    build_native,
    load_native,
    run_native,
    run_simulated,
)
from phextcc.embedding.options import KernelOptions
from phextcc.frontend.ast import TypedProgram
from phextcc.frontend.python_scope import RenderedCompileError


def build_program(typed: TypedProgram, options: KernelOptions) -> tuple[Program, str]:
    """Lower, optimise and generate code for a checked program; also the IR text."""
    settings = driver.Options(opt_level=options.opt, checks=options.checks)
    try:
        module = driver.lower(typed, typed.file)
        module = driver.optimise(module, settings)
        ir_text = str(module)
        program = driver.codegen(module, settings, typed.file)
    except CompileError as exc:
        if isinstance(exc, RenderedCompileError):
            raise
        raise RenderedCompileError(exc.diagnostics, typed.source) from None
    return program, ir_text


@dataclass
class Artifacts:
    """What a compilation produced (or the cache returned)."""

    program: Program
    ir: str
    obj: bytes | None = None
    llvm: str | None = None
    from_cache: bool = False


def load_or_build(key: CacheKey | None, cache: DiskCache | None,
                  build: Callable[[], tuple[Program, str]]) -> Artifacts:
    """The artifacts of ``key`` from ``cache`` if present and intact, else built (and
    stored). ``key``/``cache`` None: no caching."""
    if key is not None and cache is not None:
        sections = cache.load(key)
        if sections is not None and "siw" in sections:
            try:
                program = siw_format.decode(sections["siw"])
            except Exception:  # noqa: BLE001 - a bad entry is rebuilt, never trusted
                program = None
            if program is not None:
                llvm = sections["llvm"].decode() if "llvm" in sections else None
                return Artifacts(program, sections.get("ir", b"").decode(), sections.get("obj"),
                                 llvm, from_cache=True)
    program, ir_text = build()
    artifacts = Artifacts(program, ir_text)
    if key is not None and cache is not None:
        cache.store(key, _sections(artifacts))
    return artifacts


def _sections(artifacts: Artifacts) -> dict[str, bytes]:
    sections = {"siw": siw_format.encode(artifacts.program), "ir": artifacts.ir.encode()}
    if artifacts.obj is not None and artifacts.llvm is not None:
        sections["obj"] = artifacts.obj
        sections["llvm"] = artifacts.llvm.encode()
    return sections


@dataclass
class CompiledKernel:
    """One kernel of a compiled program, bound to its options and engine."""

    name: str
    artifacts: Artifacts
    options: KernelOptions
    engine: str
    key: CacheKey | None = None
    cache: DiskCache | None = None
    signature: Any = None  # the Signature of a Python kernel specialisation
    _native: Any = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def program(self) -> Program:
        return self.artifacts.program

    @property
    def code_options(self) -> CodeOptions:
        return CodeOptions(self.options.opt, self.options.checks, self.options.fastmath)

    # ---------------------------------------------------------------- running

    def __call__(self, *args: object, sentrons: int | None = None) -> None:
        self.run(args, self.options.sentrons if sentrons is None else sentrons)

    def run(self, args: Sequence[object], sentrons: int) -> None:
        """Launch on ``sentrons`` sentrons; arrays are written in place."""
        if self.engine == "sim":
            run_simulated(self.program, self.name, args, sentrons)
        else:
            run_native(self.native(), self.name, args, sentrons)

    def native(self):  # -> runtime.jit.NativeModule
        """The host code: loaded from the cache's object file, or built (and cached)."""
        with self._lock:
            if self._native is None:
                self._native = self._load_or_build_native()
            return self._native

    def _load_or_build_native(self):
        artifacts = self.artifacts
        if artifacts.obj is not None and artifacts.llvm is not None:
            try:
                return load_native(self.program, artifacts.obj, self.code_options,
                                   artifacts.llvm)
            except Exception:  # noqa: BLE001 - an unusable object is rebuilt below
                artifacts.obj = None
        native, obj = build_native(self.program, self.code_options)
        artifacts.obj, artifacts.llvm = obj, native.llvm_ir
        if self.key is not None and self.cache is not None:
            self.cache.store(self.key, _sections(artifacts))
        return native

    # ---------------------------------------------------------------- inspection

    @property
    def ir(self) -> str:
        """The phx IR after the -O pipeline (what code generation started from)."""
        return self.artifacts.ir

    @property
    def siw_asm(self) -> str:
        """The packed SIW stream as re-assemblable text."""
        from phextcc.backend.disassembler import disassemble

        return disassemble(self.program)

    @property
    def llvm(self) -> str:
        """The optimised LLVM IR the JIT runs."""
        if self.artifacts.llvm is None:
            self.native()
        assert self.artifacts.llvm is not None
        return self.artifacts.llvm

    @property
    def asm(self) -> str:
        """Host assembly of the native code."""
        return self.native().asm()

    def stats(self, *args: object, sentrons: int | None = None) -> dict[str, Any]:
        """Static counts (SIWs, ops and NOPs per pipe); given arguments, the simulator's
        statistics of a run with them instead (arrays are written, like a call)."""
        if not args:
            from phextcc.backend.static_stats import static_stats

            return static_stats(self.program)[self.name]
        from runtime.simulator import simulate

        count = self.options.sentrons if sentrons is None else sentrons
        result = simulate(self.program, self.name, list(args), sentrons=count)
        assert result.stats is not None
        return result.stats.to_json()
