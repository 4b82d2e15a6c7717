"""Native execution of SIW programs: translation to LLVM IR and JIT compilation through
llvmlite, sentrons as native threads (see docs/jit.md)."""

from runtime.jit.emit_native import emit_native
from runtime.jit.engine import NativeModule, clear_cache, jit_compile
from runtime.jit.launch import RunResult, run

__all__ = ["NativeModule", "RunResult", "clear_cache", "emit_native", "jit_compile", "run"]
