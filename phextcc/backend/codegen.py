"""The backend entry point: phx IR module -> verified ``Program``.

    isel (isel.py) -> register allocation (regalloc.py) -> packed emission (emit.py:
    tier 0 one op per SIW, tier 1 pipe separation, tiers 2-3 list scheduling)
    -> kernel table -> verifier

Every ``func.func`` of the module is a kernel; kernels are laid out in module order.
"""

from __future__ import annotations

from xdsl.dialects.builtin import ArrayAttr, FileLineColLoc, IntAttr, IntegerAttr, ModuleOp
from xdsl.dialects.func import FuncOp
from xdsl.ir import Attribute

from phextcc.backend.emit import ProgramBuilder, emit_kernel
from phextcc.backend.isa import Effect, Pipe
from phextcc.backend.isel import PARAM_TYPES_ATTR, kernels_of, select_module
from phextcc.backend.isel_builder import dtype_name, kernel_param_names, kernel_symbols
from phextcc.backend.loop_remat import allocate_splitting_if_cheaper
from phextcc.backend.pipeline_expand import pipeline_kernel
from phextcc.backend.program import KernelInfo, Param, Program
from phextcc.backend.regalloc import SPILL_WORDS_ATTR, allocate_module
from phextcc.backend.verifier import verify
from phextcc.ir.phx_dialect import TensorType

# Tiers that software-pipeline innermost single-block loops (pipeline_expand.py).
PIPELINE_FROM_TIER = 3
# Tiers that give each loop its own copy of the invariants it reads (loop_remat.py).
LOOP_REMAT_FROM_TIER = 3

# C ops that exchange data with other sentrons (CSID/CNUM do not).
_TRAFFIC = Effect.SEND | Effect.RECV | Effect.SYNC


def siw_ir(module: ModuleOp) -> ModuleOp:
    """The module after instruction selection (virtual registers)."""
    return select_module(module)


def allocated_siw_ir(module: ModuleOp) -> ModuleOp:
    """The module after instruction selection and register allocation."""
    selected = select_module(module)
    allocate_module(selected)
    return selected


def kernel_params(kernel: FuncOp) -> tuple[Param, ...]:
    types = kernel.attributes.get(PARAM_TYPES_ATTR)
    assert isinstance(types, ArrayAttr), "kernel was not produced by instruction selection"
    names = kernel_param_names(kernel)
    return tuple(_param(name, param_type) for name, param_type in zip(names, types.data))


def _param(name: str, param_type: Attribute) -> Param:
    if isinstance(param_type, TensorType):
        return Param(name, dtype_name(param_type.element_type), param_type.extents, True)
    return Param(name, dtype_name(param_type))


def _uses_cpipe(program: Program, entry: int, length: int) -> bool:
    return any(word.c.info.pipe is Pipe.C and word.c.info.effects & _TRAFFIC
               for word in program.words[entry:entry + length])


def _int_attribute(kernel: FuncOp, name: str, default: int) -> int:
    value = kernel.attributes.get(name)
    if isinstance(value, IntAttr):
        return value.data
    if isinstance(value, IntegerAttr):
        return value.value.data
    return default


def _first_file_name(module: ModuleOp) -> str:
    for op in module.walk():
        if isinstance(op.location, FileLineColLoc):
            return op.location.filename.data
    return ""


def compile_module(module: ModuleOp, *, opt_level: int = 0, source_name: str = ""
                   ) -> Program:
    """Compile every kernel of a phx module; ``opt_level`` picks the packing tier
    (emit.PACKERS) and, from tier 3, software-pipelines inner loops first."""
    selected = siw_ir(module)
    if opt_level >= PIPELINE_FROM_TIER:
        for kernel in kernels_of(selected):
            pipeline_kernel(kernel)
    return program_from_siw(selected, source_name or _first_file_name(module),
                            opt_level=opt_level)


def program_from_siw(selected: ModuleOp, source_name: str = "", *, opt_level: int = 0
                     ) -> Program:
    """Allocate registers of selected siw IR (in place) and emit a verified program
    packed for ``opt_level``."""
    if opt_level >= LOOP_REMAT_FROM_TIER:
        for kernel in kernels_of(selected):
            allocate_splitting_if_cheaper(kernel)
    else:
        allocate_module(selected)
    builder = ProgramBuilder()
    builder.program.source_name = source_name
    for kernel in kernels_of(selected):
        entry, length = emit_kernel(builder, kernel, opt_level)
        builder.program.kernels.append(KernelInfo(
            name=kernel.sym_name.data,
            params=kernel_params(kernel),
            symbols=kernel_symbols(kernel),
            entry=entry,
            length=length,
            spill_words=_int_attribute(kernel, SPILL_WORDS_ATTR, 0),
            # Optional declarations of the sentron counts a kernel supports.
            min_sentrons=_int_attribute(kernel, "phx.min_sentrons", 1),
            max_sentrons=_int_attribute(kernel, "phx.max_sentrons", 0),
            uses_cpipe=_uses_cpipe(builder.program, entry, length),
        ))
    verify(builder.program)
    return builder.program
