"""``--emit llvm|asm|obj``: the optimised LLVM module, assembly or an object file for a
chosen CPU (``-mcpu``) and feature string (``-mattr``), e.g. cpu="znver4"."""

from __future__ import annotations

from phextcc.backend.program import Program
from runtime.jit.engine import COMPILE_LOCK, build_llvm_module, target_machine
from runtime.jit.translate import JitOptions

EMIT_KINDS = ("llvm", "asm", "obj")


def emit_native(program: Program, kind: str, cpu: str | None = None, mattr: str | None = None,
                *, opt_level: int = 3, checks: bool = True,
                fastmath: bool = False) -> str | bytes:
    """The program's kernels as optimised LLVM IR text, assembly text or ELF bytes."""
    if kind not in EMIT_KINDS:
        raise ValueError(f"unknown emit kind {kind!r} (expected one of {', '.join(EMIT_KINDS)})")
    machine_cpu = None if cpu in (None, "", "native") else cpu
    with COMPILE_LOCK:
        machine = target_machine(opt_level, machine_cpu, mattr, jit=False)
        module = build_llvm_module(program, JitOptions(opt_level, checks, fastmath), machine)
        if kind == "llvm":
            return str(module)
        if kind == "asm":
            return str(machine.emit_assembly(module))
        return bytes(machine.emit_object(module))

