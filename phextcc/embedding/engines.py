"""The two ways to run a compiled kernel: the reference simulator and the native JIT.

The JIT's own entry point (``runtime.jit.jit_compile``) compiles from the program every
time a process starts. To let the on-disk cache skip that too, native code is built
here from the JIT's pieces (translation, optimisation, target machine) as an object
file, which MCJIT can load again in another process without running LLVM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from phextcc.backend.program import Program


@dataclass(frozen=True)
class CodeOptions:
    opt_level: int
    checks: bool
    fastmath: bool


def _jit_options(options: CodeOptions):  # -> runtime.jit.translate.JitOptions
    from runtime.jit.translate import JitOptions

    return JitOptions(opt_level=options.opt_level, checks=options.checks,
                      fastmath=options.fastmath)


def build_native(program: Program, options: CodeOptions):  # -> tuple[NativeModule, bytes]
    """Compile ``program`` to host code; also return the object file for the cache."""
    from runtime.jit.engine import build_llvm_module, target_machine

    machine = target_machine(options.opt_level, None, None)
    module = build_llvm_module(program, _jit_options(options), machine)
    obj = bytes(machine.emit_object(module))
    return load_native(program, obj, options, str(module)), obj


def load_native(program: Program, obj: bytes, options: CodeOptions, llvm_ir: str):
    """A ``NativeModule`` from a cached object file (no LLVM optimisation or codegen)."""
    import llvmlite.binding as llvm

    from runtime.jit.engine import NativeModule, host_cpu, target_machine

    cpu, features = host_cpu()
    machine = target_machine(options.opt_level, None, None)
    holder = llvm.parse_assembly(f'target triple = "{machine.triple}"\n')
    engine = llvm.create_mcjit_compiler(holder, machine)
    engine.add_object_file(llvm.ObjectFileRef.from_data(obj))
    engine.finalize_object()
    return NativeModule(program, _jit_options(options), cpu, features, llvm_ir, engine, machine)


def run_simulated(program: Program, kernel: str, args: Sequence[object], sentrons: int) -> None:
    from runtime.simulator import simulate

    simulate(program, kernel, list(args), sentrons=sentrons, collect_stats=False)


def run_native(native, kernel: str, args: Sequence[object], sentrons: int) -> None:
    from runtime.jit import run

    run(native, kernel, list(args), sentrons=sentrons)


Runner = Callable[..., None]
