"""The compilation driver: the pipeline as one short list of named stages.

    source file -> parse + check -> lower to phx IR -> backend -> Program (.siw)

Each stage runs inside ``stage(name)`` so that an unexpected exception becomes an
``InternalCompilerError`` naming the stage, while user errors (``CompileError``) pass
through untouched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from phextcc.diagnostics import CompileError, Diagnostic, InternalCompilerError

if TYPE_CHECKING:  # the stages import their modules lazily to keep the CLI fast
    from xdsl.dialects.builtin import ModuleOp

    from phextcc.backend.program import Program
    from phextcc.frontend.ast import TypedProgram
    from phextcc.passes.pipeline import PassTimes


@dataclass(frozen=True)
class Options:
    """Every setting of one compilation, built in one place (the CLI or the Python API)."""

    opt_level: int = 0
    kernel: str | None = None
    checks: bool = True
    # A custom IR pipeline replacing the -O level's (the SIW tier still follows
    # opt_level); '' runs no IR pass: the unoptimised program.
    passes: str | None = None


@dataclass
class PassTrace:
    """What to observe of the IR passes (``--print-ir-after-all``, ``--time-passes``):
    ``dump`` gets (pass label, IR text) after each pass, ``times`` each pass's time."""

    dump: Callable[[str, str], None] | None = None
    times: PassTimes | None = None


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Turn unexpected failures inside a pipeline stage into internal compiler errors."""
    try:
        yield
    except (CompileError, InternalCompilerError):
        raise
    except RecursionError as exc:
        raise InternalCompilerError(name, "program too deeply nested") from exc
    except Exception as exc:
        raise InternalCompilerError(name, f"{type(exc).__name__}: {exc}") from exc


def file_error(path: str, message: str) -> CompileError:
    return CompileError([Diagnostic.file_level(path, message)])


_SOURCES: dict[str, str] = {}


def source_cache() -> dict[str, str]:
    """Texts of the sources read so far, by file name, for rendering diagnostics."""
    return _SOURCES


def _readable(path: str) -> bytes:
    p = Path(path)
    if not p.exists():
        raise file_error(path, "no such file")
    if p.is_dir():
        raise file_error(path, "is a directory, not a file")
    try:
        return p.read_bytes()
    except OSError as exc:
        raise file_error(path, f"cannot read file: {exc.strerror or exc}") from exc


def read_binary(path: str) -> bytes:
    """Read a .siw file; its contents are checked by the loader's verifier."""
    return _readable(path)


def read_source(path: str) -> str:
    """Read a source file, turning every way it can be unusable into a clear error."""
    data = _readable(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise file_error(path, f"not UTF-8 text (byte {exc.start})") from exc
    if not text.strip():
        raise file_error(path, "empty file: expected at least one kernel")
    _SOURCES[path] = text
    return text


def check(source: str, filename: str) -> TypedProgram:
    from phextcc.frontend import check_source

    with stage("frontend"):
        return check_source(source, filename)


def lower(typed: TypedProgram, filename: str) -> ModuleOp:
    from phextcc.ir.lowering import lower_program

    with stage("lowering"):
        module = lower_program(typed, filename)
    with stage("IR verification"):
        module.verify()
    return module


def select_kernel(module: ModuleOp, kernel: str | None) -> ModuleOp:
    """Keep only the named kernel (``--kernel``), or fail naming the ones that exist."""
    if kernel is None:
        return module
    from xdsl.dialects import func

    names = [op.sym_name.data for op in module.body.ops if isinstance(op, func.FuncOp)]
    if kernel not in names:
        raise CompileError([Diagnostic.plain(
            f"no kernel named '{kernel}' (kernels: {', '.join(names)})")])
    for op in list(module.body.ops):
        if isinstance(op, func.FuncOp) and op.sym_name.data != kernel:
            op.detach()
            op.erase()
    return module


def optimise(module: ModuleOp, options: Options, trace: PassTrace | None = None) -> ModuleOp:
    """Run the IR pipeline of the chosen -O level, or the custom one of ``--passes``
    (tier passes live in phextcc/passes); ``trace`` observes each pass."""
    from phextcc.passes.pipeline import run_pipeline

    with stage("optimisation"):
        return run_pipeline(module, options.opt_level, spec=options.passes,
                            dump=trace.dump if trace else None,
                            times=trace.times if trace else None)


def codegen(module: ModuleOp, options: Options, source_name: str) -> Program:
    from phextcc.backend.codegen import compile_module

    with stage("code generation"):
        return compile_module(module, opt_level=options.opt_level, source_name=source_name)


def compile_to_ir(source: str, filename: str, options: Options,
                  trace: PassTrace | None = None) -> ModuleOp:
    typed = check(source, filename)
    module = lower(typed, filename)
    module = select_kernel(module, options.kernel)
    return optimise(module, options, trace)


def compile_source(source: str, filename: str, options: Options,
                   trace: PassTrace | None = None) -> Program:
    module = compile_to_ir(source, filename, options, trace)
    return codegen(module, options, filename)


def format_ast(node: object, indent: int = 0) -> str:
    """A readable dump of the AST (``--emit ast``), without source spans."""
    pad = "  " * indent
    if isinstance(node, (list, tuple)):
        if not node:
            return "[]"
        items = "\n".join(f"{pad}  - {format_ast(n, indent + 2).lstrip()}" for n in node)
        return "\n" + items
    if isinstance(node, enum.Enum):
        return node.name
    if not dataclasses.is_dataclass(node) or isinstance(node, type):
        return repr(node) if not isinstance(node, str) else node
    lines = [type(node).__name__]
    for f in dataclasses.fields(node):
        if f.name in ("span", "decl", "ty", "type"):
            continue
        value = getattr(node, f.name)
        if dataclasses.is_dataclass(value) or (isinstance(value, (list, tuple)) and value):
            lines.append(f"{pad}  {f.name}: {format_ast(value, indent + 1)}")
        else:
            lines.append(f"{pad}  {f.name}: {format_ast(value, indent + 1)}")
    return "\n".join(lines)
