"""``phextcc.compile(source_or_path, opt=...)``: ``.phx`` text or a file -> a module whose
attributes are its kernels.

    mod = phextcc.compile("examples/saxpy.phx", opt=2)
    mod.saxpy(np.float32(2), x, y, out)          # arrays written in place
    mod.saxpy(2.0, x, y, out, sentrons=4)
    print(mod.saxpy.siw_asm)                      # .ir .siw_asm .llvm .asm .stats()

The compiled program goes through the same on-disk cache as Python kernels.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from phextcc import driver
from phextcc.diagnostics import CompileError
from phextcc.embedding.cache import (
    CacheKey,
    DiskCache,
    compiler_version,
    hash_source,
    target_cpu,
)
from phextcc.embedding.compiled import CompiledKernel, build_program, load_or_build
from phextcc.embedding.options import KernelOptions, read_environment, resolve_engine
from phextcc.frontend.python_scope import RenderedCompileError


class CompiledModule:
    """The kernels of one ``.phx`` source, as attributes (and by ``module[name]``)."""

    def __init__(self, name: str, kernels: dict[str, CompiledKernel]) -> None:
        self.__name__ = name
        self.kernels = kernels
        for kernel_name, compiled in kernels.items():
            setattr(self, kernel_name, compiled)

    def __getitem__(self, name: str) -> CompiledKernel:
        return self.kernels[name]

    def __dir__(self) -> list[str]:
        return sorted({*super().__dir__(), *self.kernels})

    def __repr__(self) -> str:
        return f"<phextcc module {self.__name__}: {', '.join(self.kernels)}>"


def _read(source_or_path: str | os.PathLike[str]) -> tuple[str, str]:
    """(text, file name): a path when it names an existing file, else source text."""
    if isinstance(source_or_path, os.PathLike) or (
            "\n" not in source_or_path and "{" not in source_or_path):
        path = Path(source_or_path)
        try:
            return driver.read_source(str(path)), str(path)
        except CompileError as exc:  # a missing or unreadable file
            raise RenderedCompileError(exc.diagnostics, None) from None
    return str(source_or_path), "<string>"


def compile(source_or_path: str | os.PathLike[str], *, opt: int = 2, sentrons: int = 1,
            checks: bool = True, fastmath: bool = False, cache: bool = True,
            engine: str | None = None) -> CompiledModule:
    """Compile ``.phx`` source text or a ``.phx`` file; errors render with carets."""
    options = KernelOptions(opt=opt, sentrons=sentrons, checks=checks, fastmath=fastmath,
                            cache=cache, engine=engine)
    settings = read_environment()
    text, filename = _read(source_or_path)
    use_cache = options.cache and settings.cache_enabled
    disk = DiskCache(settings.cache_dir) if use_cache else None
    key = CacheKey(kernel=f"phx.{Path(filename).stem}", source_hash=hash_source(text, {}),
                   signature=filename, options=options.code_options(),
                   compiler_version=compiler_version(), target_cpu=target_cpu()
                   ) if use_cache else None

    def build() -> tuple[Any, str]:
        try:
            typed = driver.check(text, filename)
        except CompileError as exc:
            raise RenderedCompileError(exc.diagnostics, text) from None
        return build_program(typed, options)

    artifacts = load_or_build(key, disk, build)
    engine_name = resolve_engine(options, settings)
    kernels = {info.name: CompiledKernel(info.name, artifacts, options, engine_name, key, disk)
               for info in artifacts.program.kernels}
    return CompiledModule(Path(filename).stem, kernels)
