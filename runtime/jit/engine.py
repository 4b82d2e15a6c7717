"""LLVM set-up, the optimisation pipeline, MCJIT, and the per-Program module cache.

The target machine used for optimisation *and* for code generation is built from the
host CPU name and features (or the ones asked for): vectorisation decisions depend on the
vector width, and a generic target would split vectors into SSE halves.
-O0 runs LLVM's minimal pipeline (always-inline only); -O1 the O1 pipeline without
vectorisers; -O2 and -O3 the full pipelines with loop and SLP vectorisation.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import llvmlite.binding as llvm

from phextcc.backend.program import Program
from runtime.jit.salloc import ALLOCATOR_CALLBACK
from runtime.jit.translate import (
    ALLOCATOR_SYMBOL,
    JitOptions,
    kernel_symbol,
    translate_program,
)

KERNEL_SIGNATURE = ctypes.CFUNCTYPE(ctypes.c_int32, ctypes.c_void_p, ctypes.c_void_p)
CACHE_ENTRIES = 64

_init_lock = threading.Lock()
_initialised = False
# The shared libraries the simulator also uses, so both call the same expf/exp/... code.
LIBM = ctypes.CDLL(ctypes.util.find_library("m"))
LIBC = ctypes.CDLL(ctypes.util.find_library("c"))
RUNTIME_SYMBOLS: dict[str, ctypes.CDLL] = {
    **{name: LIBM for name in ("expf", "exp", "logf", "log", "tanhf", "tanh")},
    **{name: LIBC for name in ("sched_yield", "clock_gettime", "malloc", "free")},
}


def initialise_llvm() -> None:
    """Initialise the native target once and bind the runtime's symbols."""
    global _initialised
    with _init_lock:
        if _initialised:
            return
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        for name, library in RUNTIME_SYMBOLS.items():
            address = ctypes.cast(getattr(library, name), ctypes.c_void_p).value
            assert address is not None
            llvm.add_symbol(name, address)
        allocator = ctypes.cast(ALLOCATOR_CALLBACK, ctypes.c_void_p).value
        assert allocator is not None
        llvm.add_symbol(ALLOCATOR_SYMBOL, allocator)
        _initialised = True


def host_cpu() -> tuple[str, str]:
    initialise_llvm()
    return llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten()


def target_machine(opt_level: int, cpu: str | None, features: str | None,
                   jit: bool = True) -> llvm.TargetMachine:
    """A target machine for the host (or for ``cpu``/``features`` when given)."""
    initialise_llvm()
    host_name, host_features = host_cpu()
    chosen_cpu = cpu if cpu is not None else host_name
    # Host features only make sense for the host CPU; another CPU gets its own defaults.
    chosen_features = features if features is not None else (
        host_features if cpu is None else "")
    target = llvm.Target.from_default_triple()
    return target.create_target_machine(cpu=chosen_cpu, features=chosen_features,
                                        opt=min(max(opt_level, 0), 3), jit=jit,
                                        codemodel="jitdefault" if jit else "default")


# The highest LLVM speed level any -O level runs (see ``optimise``).
LLVM_SPEED_LEVEL_CAP = 2


def optimise(module: llvm.ModuleRef, machine: llvm.TargetMachine, opt_level: int) -> None:
    """Run the new pass manager pipeline for the -O level on ``module`` in place.

    -O3 runs LLVM's speed level 2 like -O2: on the benchmark kernels compiled at -O3,
    level 3 was never faster beyond noise and made gemm_tiled 1.31x slower (its extra
    unrolling of the already tiled loops). The toolchain's own -O3 work is in the SIW
    it gets."""
    level = min(max(opt_level, 0), LLVM_SPEED_LEVEL_CAP)
    tuning = llvm.create_pipeline_tuning_options(speed_level=level)
    vectorise = level >= 2
    tuning.loop_vectorization = vectorise
    tuning.slp_vectorization = vectorise
    tuning.loop_unrolling = level >= 2
    builder = llvm.create_pass_builder(machine, tuning)
    builder.getModulePassManager().run(module, builder)


def build_llvm_module(program: Program, options: JitOptions,
                      machine: llvm.TargetMachine) -> llvm.ModuleRef:
    """Translate, verify and optimise: the LLVM module every consumer starts from."""
    module_ir = translate_program(program, options, machine.triple,
                                  str(machine.target_data))
    module = llvm.parse_assembly(str(module_ir))
    module.verify()
    optimise(module, machine, options.opt_level)
    return module


@dataclass
class NativeModule:
    """A program's kernels compiled to host machine code (keeps its engine alive)."""

    program: Program
    options: JitOptions
    cpu: str
    features: str
    llvm_ir: str  # the optimised module
    engine: Any
    machine: Any
    functions: dict[str, Any] = field(default_factory=dict)
    launches: dict[tuple[str, int], list[Any]] = field(default_factory=dict)
    call_plans: dict[str, Any] = field(default_factory=dict)  # kernel -> callpath.CallPlan

    def function(self, kernel: str) -> Any:
        """The ctypes function ``i32 k_NAME(ctx, args)`` of a kernel."""
        if kernel not in self.functions:
            self.program.kernel(kernel)  # KeyError for an unknown kernel
            address = self.engine.get_function_address(kernel_symbol(self.program.kernel(kernel)))
            self.functions[kernel] = KERNEL_SIGNATURE(address)
        return self.functions[kernel]

    def take_launch(self, kernel: str, sentrons: int, make: Callable[[], Any]) -> Any:
        """A free launch state for (kernel, sentrons), made by ``make`` if none is free
        (concurrent runs of one module each get their own). No lock: list.pop/append
        and dict.setdefault are atomic, and a lock costs as much as the rest of a call."""
        free = self.launches.get((kernel, sentrons))
        if free:
            try:
                return free.pop()
            except IndexError:  # another thread took the last one
                pass
        return make()

    def give_back_launch(self, kernel: str, sentrons: int, launch: Any) -> None:
        self.launches.setdefault((kernel, sentrons), []).append(launch)

    def asm(self) -> str:
        return str(self.machine.emit_assembly(llvm.parse_assembly(self.llvm_ir)))


_cache: OrderedDict[tuple, NativeModule] = OrderedDict()
_cache_lock = threading.Lock()
COMPILE_LOCK = threading.RLock()


def program_key(program: Program) -> tuple:
    """Everything about a Program that changes the code (words, pool, kernel table)."""
    return (tuple(program.words), tuple(program.pool), tuple(program.kernels))


def jit_compile(program: Program, *, opt_level: int = 3, checks: bool = True,
                cpu: str | None = None, features: str | None = None,
                fastmath: bool = False, assume_noalias: bool = True) -> NativeModule:
    """Compile every kernel of a verified ``program`` for this machine.

    Results are cached per (program, options, cpu, features) in this process.
    ``assume_noalias=False`` gives code that is correct when tensor arguments overlap
    (``run`` switches to it by itself when they do)."""
    options = JitOptions(opt_level=opt_level, checks=checks, fastmath=fastmath,
                         assume_noalias=assume_noalias)
    host_name, host_features = host_cpu()
    chosen_cpu = cpu or host_name
    chosen_features = features if features is not None else (
        host_features if cpu is None else "")
    key = (program_key(program), options, chosen_cpu, chosen_features)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    with COMPILE_LOCK:  # LLVM's global context is not safe for concurrent use
        machine = target_machine(opt_level, cpu, features)
        module = build_llvm_module(program, options, machine)
        engine = llvm.create_mcjit_compiler(module, machine)
        engine.finalize_object()
    native = NativeModule(program, options, chosen_cpu, chosen_features, str(module), engine,
                          machine)
    with _cache_lock:
        _cache[key] = native
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
    return native


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
