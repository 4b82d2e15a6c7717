"""Shared helpers of the pass tests: run one pipeline on IR text, verifying after
every pass, and count ops."""

from __future__ import annotations

from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation

from phextcc.ir.context import make_context, parse_ir
from phextcc.passes.pipeline import build_pipeline


def run(spec: str, text: str) -> ModuleOp:
    module = parse_ir(text)
    module.verify()
    build_pipeline(spec, verify_between=True).apply(make_context(), module)
    return module


def ops_of(module: ModuleOp, kind: type[Operation]) -> list[Operation]:
    return [op for op in module.walk() if isinstance(op, kind)]
