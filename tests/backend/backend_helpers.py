"""Shared helpers of the backend tests: IR from text or .phx source, and running."""

from __future__ import annotations

from typing import Any

from xdsl.dialects.builtin import ModuleOp
from xdsl.dialects.func import FuncOp

from phextcc.backend.codegen import compile_module
from phextcc.backend.program import Program
from phextcc.ir.context import parse_ir
from phextcc.ir.siw_dialect import BranchOp, SiwOp


def phx_module(text: str) -> ModuleOp:
    module = parse_ir(text)
    module.verify()
    return module


def kernel(text: str, params: str, body: str, symbols: tuple[str, ...] = ()) -> ModuleOp:
    """A one-kernel phx module ``@k(params)`` with ``body`` (func.return appended)."""
    symbol_list = ", ".join(f'"{s}"' for s in symbols)
    return phx_module(
        f"builtin.module {{\n  func.func @k({params}) attributes {{phx.kernel, "
        f"phx.symbols = [{symbol_list}]}} {{\n{body}\n    func.return\n  }}\n}}")


def source_module(source: str, filename: str = "test.phx") -> ModuleOp:
    from phextcc.frontend import check_source
    from phextcc.ir.lowering import lower_program

    module = lower_program(check_source(source, filename), filename)
    module.verify()
    return module


def compile_source(source: str) -> Program:
    """Compile .phx source; the register allocation is checked on the way."""
    allocate_checked(source_module(source))
    return compile_module(source_module(source), source_name="test.phx")


def mnemonics(module: ModuleOp) -> list[str]:
    """Every siw mnemonic of a selected module, in layout order."""
    found: list[str] = []
    for op in module.walk():
        if isinstance(op, SiwOp | BranchOp):
            found.append(op.mnemonic.data)
    return found


def only_kernel(module: ModuleOp) -> FuncOp:
    kernels = [op for op in module.ops if isinstance(op, FuncOp)]
    assert len(kernels) == 1
    return kernels[0]


def simulator() -> Any:
    """``runtime.simulator.simulate`` (imported lazily: most backend tests never run code)."""
    from runtime.simulator import simulate

    return simulate


def run(program: Program, name: str, args: dict[str, Any], sentrons: int = 1) -> Any:
    return simulator()(program, name, args, sentrons=sentrons)


def allocate_checked(module: ModuleOp) -> list[tuple[FuncOp, dict]]:
    """Select and allocate every kernel, check each allocation; (kernel, reloads) pairs."""
    from phextcc.backend.codegen import siw_ir
    from phextcc.backend.regalloc import allocate_kernel
    from phextcc.backend.regalloc_check import check_allocation

    done = []
    for kernel in siw_ir(module).ops:
        assert isinstance(kernel, FuncOp)
        result = allocate_kernel(kernel)
        check_allocation(kernel.body, result.reloads)
        done.append((kernel, result.reloads))
    return done
