"""AST -> SSA IR lowering: one `func.func` per kernel, following the phx IR contract.

Statements become structured ops only (no `cf`):
- mutable locals live in SSA values; a structured op carries each `var` declared
  outside it and assigned inside it (`scf.for` iter_args, `scf.if` results,
  `scf.while` arguments);
- `return;` sets a carried i1 "returned" flag; a loop that may return becomes an
  `scf.while` that also tests the flag, and the statements after one that may return
  run inside `scf.if` on the negated flag;
- a `for` with a step that is not a constant runs inside `scf.if step > 0`.

Run as `python -m phextcc.ir.lowering FILE.phx` to print the IR of a file.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence

from xdsl.dialects import arith, func, scf
from xdsl.dialects.builtin import ArrayAttr, FunctionType, ModuleOp, StringAttr, UnitAttr, i1, i64
from xdsl.ir import Attribute, Block, Region, SSAValue

from phextcc.diagnostics import CompileError, Diagnostic, InternalCompilerError, Severity
from phextcc.frontend import ast
from phextcc.ir import phx_dialect as phx
from phextcc.ir.lower_expr import (
    BINARY_OPS,
    RETURN_FLAG,
    STAGE,
    EnvKey,
    ExprLowerer,
    ir_type,
    value_kind,
)
from phextcc.ir.lower_scan import assigned_outer_vars, may_return

Env = dict[EnvKey, SSAValue]


def _key_type(key: EnvKey) -> Attribute:
    if key is RETURN_FLAG:
        return i1
    return ir_type(key.ty)  # type: ignore[union-attr]


def _constant_int(node: ast.Expr) -> int | None:
    """The value of an integer literal, possibly negated; None if not a constant."""
    if isinstance(node, ast.IntLit):
        return node.value
    if isinstance(node, ast.Unary) and node.op is ast.UnaryOp.NEG:
        inner = _constant_int(node.operand)
        return None if inner is None else -inner
    return None


class KernelLowerer(ExprLowerer):
    """Lowers the statements of one kernel body into the function's entry block."""

    # ----------------------------------------------------------------- blocks

    def stmts(self, stmts: Sequence[ast.Stmt]) -> None:
        for position, stmt in enumerate(stmts):
            if isinstance(stmt, ast.Return):
                self.env[RETURN_FLAG] = self.constant(True, i1, stmt.span)
                return  # anything after an unconditional return never runs
            self.stmt(stmt)
            rest = stmts[position + 1 :]
            if rest and may_return([stmt]):
                self.unless_returned(rest)
                return

    def unless_returned(self, rest: Sequence[ast.Stmt]) -> None:
        """Run `rest` only if the kernel has not returned yet."""
        span = rest[0].span
        still_running = self.logical_not(self.env[RETURN_FLAG], span)
        self.structured_if(still_running, rest, None, span)

    def stmt(self, stmt: ast.Stmt) -> None:
        handler = STMT_HANDLERS.get(type(stmt))
        if handler is None:
            raise self.fail(f"no lowering for statement {type(stmt).__name__}", stmt.span)
        handler(self, stmt)

    def carried(self, stmts: Sequence[ast.Stmt]) -> list[EnvKey]:
        """Values a structured op around `stmts` must carry in and out."""
        keys: list[EnvKey] = [var for var in assigned_outer_vars(stmts) if var in self.env]
        if may_return(stmts):
            keys.append(RETURN_FLAG)
        return keys

    def region_block(
        self,
        keys: Sequence[EnvKey],
        body: Callable[[], None],
        span: ast.Span,
        leading: Sequence[tuple[EnvKey, Attribute]] = (),
    ) -> Block:
        """A block that runs `body` and yields the final values of `keys`.

        `leading` keys become block arguments before those of `keys` (e.g. the
        induction variable); block arguments of `keys` are added only when
        `leading` is given (loop bodies), branches use the enclosing values.
        """
        arg_types = [ty for _, ty in leading]
        if leading:
            arg_types += [_key_type(key) for key in keys]
        block = Block(arg_types=arg_types)
        env = dict(self.env)
        arg_keys = [key for key, _ in leading] + (list(keys) if leading else [])
        env.update(zip(arg_keys, block.args, strict=True))
        with self.building(block, env):
            body()
            self.emit(scf.YieldOp(*[self.env[key] for key in keys]), span)
        return block

    def bind_results(self, keys: Sequence[EnvKey], results: Sequence[SSAValue]) -> None:
        self.env.update(zip(keys, results, strict=True))

    # ----------------------------------------------------------------- statements

    def block_stmt(self, stmt: ast.Block) -> None:
        self.stmts(stmt.stmts)

    def let(self, stmt: ast.Let) -> None:
        self.env[stmt] = self.expr(stmt.value)

    def var(self, stmt: ast.Var) -> None:
        self.env[stmt] = self.expr(stmt.value)

    def assign(self, stmt: ast.Assign) -> None:
        operator = ast.COMPOUND_ASSIGN_OPS.get(stmt.op)
        target = stmt.target
        if isinstance(target, ast.Index):
            tensor, indices = self.element(target)
            value = self.expr(stmt.value)
            if operator is not None:
                current = self.value(phx.LoadOp(tensor, indices), stmt.span)
                value = self.combine(operator, current, value, stmt.span)
            self.emit(phx.StoreOp(value, tensor, indices), stmt.span)
            return
        decl = target.decl
        if not isinstance(decl, ast.Var):
            raise self.fail(f"assignment to '{target.ident}', which is not a var", stmt.span)
        value = self.expr(stmt.value)
        if operator is not None:
            value = self.combine(operator, self.env[decl], value, stmt.span)
        self.env[decl] = value

    def combine(
        self, operator: ast.BinaryOp, current: SSAValue, value: SSAValue, span: ast.Span
    ) -> SSAValue:
        return self.value(BINARY_OPS[(operator, value_kind(current.type))](current, value), span)

    def prefetch(self, stmt: ast.Prefetch) -> None:
        tensor, indices = self.element(stmt.target)
        self.emit(phx.PrefetchOp(tensor, indices), stmt.span)

    def expr_stmt(self, stmt: ast.ExprStmt) -> None:
        self.call(stmt.expr)  # evaluated for its effect; a value, if any, is unused

    def if_stmt(self, stmt: ast.If) -> None:
        cond = self.expr(stmt.cond)
        self.structured_if(cond, stmt.then.stmts, stmt.orelse, stmt.span)

    def structured_if(
        self,
        cond: SSAValue,
        then: Sequence[ast.Stmt],
        orelse: ast.Block | None,
        span: ast.Span,
    ) -> None:
        branches: list[ast.Stmt] = list(then) + ([orelse] if orelse is not None else [])
        keys = self.carried(branches)
        then_block = self.region_block(keys, lambda: self.stmts(then), span)
        else_blocks: list[Block] = []
        if orelse is not None or keys:
            else_stmts = orelse.stmts if orelse is not None else ()
            else_blocks = [self.region_block(keys, lambda: self.stmts(else_stmts), span)]
        types = [_key_type(key) for key in keys]
        if_op = scf.IfOp(cond, types, [then_block], Region(else_blocks))
        self.emit(if_op, span)
        self.bind_results(keys, if_op.results)

    def for_stmt(self, stmt: ast.For) -> None:
        start = self.index_value(stmt.start)
        stop = self.index_value(stmt.stop)
        if stmt.step is None:
            self.counted_loop(stmt, start, stop, self.constant(1, i64, stmt.span))
            return
        constant_step = _constant_int(stmt.step)
        step = self.index_value(stmt.step)
        if constant_step is not None:
            if constant_step <= 0:
                raise CompileError([_error(stmt.step.span, "loop step must be positive")])
            self.counted_loop(stmt, start, step=step, stop=stop)
            return
        # A step only known at run time: a non-positive one runs zero iterations.
        zero = self.constant(0, i64, stmt.span)
        positive = self.value(arith.CmpiOp(step, zero, "sgt"), stmt.span)
        keys = self.carried([stmt.body])
        run = self.region_block(keys, lambda: self.counted_loop(stmt, start, stop, step), stmt.span)
        skip = [self.region_block(keys, lambda: None, stmt.span)] if keys else []
        if_op = scf.IfOp(positive, [_key_type(key) for key in keys], [run], Region(skip))
        self.emit(if_op, stmt.span)
        self.bind_results(keys, if_op.results)

    def counted_loop(
        self, stmt: ast.For, start: SSAValue, stop: SSAValue, step: SSAValue
    ) -> None:
        if may_return([stmt.body]):
            self.returning_for(stmt, start, stop, step)
            return
        keys = self.carried([stmt.body])
        body = self.region_block(
            keys, lambda: self.stmts(stmt.body.stmts), stmt.span, leading=[(stmt.var, i64)]
        )
        loop = scf.ForOp(start, stop, step, [self.env[key] for key in keys], body)
        self.emit(loop, stmt.span)
        self.bind_results(keys, loop.results)

    def returning_for(
        self, stmt: ast.For, start: SSAValue, stop: SSAValue, step: SSAValue
    ) -> None:
        """A `for` containing `return`: an scf.while over (i, vars..., returned)."""
        keys: list[EnvKey] = [stmt.var, *self.carried([stmt.body])]
        span = stmt.span

        def condition() -> SSAValue:
            in_range = self.value(arith.CmpiOp(self.env[stmt.var], stop, "slt"), span)
            running = self.logical_not(self.env[RETURN_FLAG], span)
            return self.value(arith.AndIOp(in_range, running), span)

        def body() -> None:
            self.stmts(stmt.body.stmts)
            self.env[stmt.var] = self.value(arith.AddiOp(self.env[stmt.var], step), span)

        initial = dict(self.env)
        initial[stmt.var] = start
        self.while_loop(keys, initial, condition, body, span)

    def while_stmt(self, stmt: ast.While) -> None:
        keys = self.carried([stmt.body])
        span = stmt.span

        def condition() -> SSAValue:
            if RETURN_FLAG not in keys:
                return self.expr(stmt.cond)
            # Once returned, the condition must not run (it may load out of range).
            returned, still_running = Block(), Block()
            with self.building(returned, dict(self.env)):
                self.emit(scf.YieldOp(self.constant(False, i1, span)), span)
            with self.building(still_running, dict(self.env)):
                self.emit(scf.YieldOp(self.expr(stmt.cond)), span)
            guard = scf.IfOp(self.env[RETURN_FLAG], [i1], [returned], [still_running])
            return self.value(guard, span)

        self.while_loop(keys, dict(self.env), condition, lambda: self.stmts(stmt.body.stmts), span)

    def while_loop(
        self,
        keys: Sequence[EnvKey],
        initial: Env,
        condition: Callable[[], SSAValue],
        body: Callable[[], None],
        span: ast.Span,
    ) -> None:
        types = [_key_type(key) for key in keys]
        before = Block(arg_types=types)
        before_env = dict(self.env)
        before_env.update(zip(keys, before.args, strict=True))
        with self.building(before, before_env):
            cond = condition()
            self.emit(scf.ConditionOp(cond, *before.args), span)
        after = Block(arg_types=types)
        after_env = dict(self.env)
        after_env.update(zip(keys, after.args, strict=True))
        with self.building(after, after_env):
            body()
            self.emit(scf.YieldOp(*[self.env[key] for key in keys]), span)
        loop = scf.WhileOp([initial[key] for key in keys], types, [before], [after])
        self.emit(loop, span)
        self.bind_results(keys, loop.results)


def _error(span: ast.Span, message: str) -> Diagnostic:
    return Diagnostic(Severity.ERROR, message, span.file, span.line, span.col, span.end_col)


STMT_HANDLERS: dict[type[ast.Stmt], Callable[[KernelLowerer, ast.Stmt], None]] = {
    ast.Block: KernelLowerer.block_stmt,  # type: ignore[dict-item]
    ast.Let: KernelLowerer.let,  # type: ignore[dict-item]
    ast.Var: KernelLowerer.var,  # type: ignore[dict-item]
    ast.Assign: KernelLowerer.assign,  # type: ignore[dict-item]
    ast.For: KernelLowerer.for_stmt,  # type: ignore[dict-item]
    ast.While: KernelLowerer.while_stmt,  # type: ignore[dict-item]
    ast.If: KernelLowerer.if_stmt,  # type: ignore[dict-item]
    ast.Prefetch: KernelLowerer.prefetch,  # type: ignore[dict-item]
    ast.ExprStmt: KernelLowerer.expr_stmt,  # type: ignore[dict-item]
}


def lower_kernel(kernel: ast.Kernel, filename: str) -> func.FuncOp:
    """One kernel as `func.func @NAME(params...)` with the phx.* attributes."""
    param_types = [ir_type(param.ty) for param in kernel.params]
    function = func.FuncOp(kernel.name, FunctionType.from_lists(param_types, []))
    entry = function.body.block
    env: Env = dict(zip(kernel.params, entry.args, strict=True))
    lowerer = KernelLowerer(filename, entry, env)
    function.location = lowerer.loc(kernel.span)
    if may_return([kernel.body]):
        env[RETURN_FLAG] = lowerer.constant(False, i1, kernel.span)
    lowerer.stmts(kernel.body.stmts)
    lowerer.emit(func.ReturnOp(), kernel.span)
    function.attributes["phx.kernel"] = UnitAttr()
    function.attributes["phx.symbols"] = ArrayAttr([StringAttr(s.name) for s in kernel.symbols])
    function.attributes["phx.param_names"] = ArrayAttr(
        [StringAttr(param.name) for param in kernel.params]
    )
    return function


def lower_program(program: ast.TypedProgram, filename: str) -> ModuleOp:
    """The checked program as a module of kernels; the module verifies.

    Raises `CompileError` for a user mistake the frontend let through, and
    `InternalCompilerError` (stage "lowering") for anything else that goes wrong.
    """
    kernels: list[func.FuncOp] = []
    for kernel in program.kernels:
        try:
            kernels.append(lower_kernel(kernel, filename))
        except (CompileError, InternalCompilerError):
            raise
        except Exception as error:  # any other failure is a compiler bug
            where = f"{filename}:{kernel.span.line}:{kernel.span.col}"
            raise InternalCompilerError(
                STAGE, f"{type(error).__name__}: {error} (in kernel '{kernel.name}')", where
            ) from error
    return ModuleOp(kernels)


def main(argv: Sequence[str]) -> int:
    """`python -m phextcc.ir.lowering FILE.phx [--emit ir] [--debuginfo]`: print the IR
    the lowering makes (no passes). User errors are printed, not raised."""
    import argparse

    from phextcc.frontend import check_source
    from phextcc.ir.context import print_ir

    parser = argparse.ArgumentParser(prog="python -m phextcc.ir.lowering")
    parser.add_argument("file")
    parser.add_argument("--emit", choices=["ir"], default="ir")
    parser.add_argument("--debuginfo", action="store_true", help="print op locations")
    options = parser.parse_args(argv)
    with open(options.file, encoding="utf-8") as source_file:
        source = source_file.read()
    try:
        module = lower_program(check_source(source, options.file), options.file)
    except CompileError as error:
        print(error.render(source), file=sys.stderr)
        return 1
    module.verify()
    sys.stdout.write(print_ir(module, debuginfo=options.debuginfo))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
