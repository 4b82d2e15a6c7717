"""Semantic analysis: scopes, mutability, types; every independent error in one run.

``check_program`` walks each kernel once, filling ``Name.decl``, ``Expr.ty``, ``Let.ty``,
``Var.ty``, ``Call.reduce_op`` and ``Kernel.symbols`` in place, and returns a
``TypedProgram``; if anything was reported it raises ``CompileError`` with all of it.

Mutability: only ``var`` locals and tensor elements are assignable. ``let`` bindings,
loop variables, shape symbols and scalar parameters are read-only (a scalar parameter
is an input; copy it into a ``var`` to change it), and a tensor cannot be assigned as a
whole.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from phextcc.diagnostics import CompileError, Diagnostic
from phextcc.frontend import ast
from phextcc.frontend.builtin_signatures import SIGNATURES
from phextcc.frontend.scopes import DiagnosticSink, ScopeStack, describe_decl
from phextcc.frontend.typecheck import ExprChecker, constant_int
from phextcc.frontend.types import BOOL, ERROR, I64, MAX_TENSOR_RANK, ScalarType, TensorType

#: Why a declaration kind cannot be assigned to (absent: assignable).
_READ_ONLY_REASONS: dict[type, str] = {
    ast.Let: "use 'var' for a mutable local",
    ast.LoopVar: "loop variables are read-only",
    ast.ShapeSymbol: "shape symbols are read-only",
    ast.Param: "parameters are read-only (copy it into a 'var')",
}


class KernelChecker:
    """Checks the body of one kernel."""

    def __init__(self, sink: DiagnosticSink) -> None:
        self.sink = sink
        self.scopes = ScopeStack(sink)
        self.exprs = ExprChecker(self.scopes, sink)
        self._statements: dict[type, Callable[..., None]] = {
            ast.Block: self._block,
            ast.Let: self._local,
            ast.Var: self._local,
            ast.Assign: self._assign,
            ast.For: self._for,
            ast.While: self._while,
            ast.If: self._if,
            ast.Return: lambda stmt: None,
            ast.Prefetch: self._prefetch,
            ast.ExprStmt: self._expr_stmt,
        }

    def check_kernel(self, kernel: ast.Kernel) -> None:
        kernel.symbols = self._check_params(kernel)
        with self.scopes.scope():
            declared: set[str] = set()
            for param in kernel.params:
                if param.name not in declared:  # duplicates were reported already
                    self.scopes.declare(param.name, param, param.span)
                    declared.add(param.name)
            for symbol in kernel.symbols:
                self.scopes.declare(symbol.name, symbol, symbol.span)
            self.statement(kernel.body)

    # ---------------------------------------------------------------- parameters

    def _check_params(self, kernel: ast.Kernel) -> tuple[ast.ShapeSymbol, ...]:
        """Check the parameter list; return the shape symbols in order of appearance."""
        names: dict[str, ast.Param] = {}
        symbols: dict[str, ast.ShapeSymbol] = {}
        for param in kernel.params:
            if param.name in names:
                self.sink.error(param.span, f"duplicate parameter '{param.name}'")
            names.setdefault(param.name, param)
            if isinstance(param.ty, TensorType):
                self._check_tensor_param(param, symbols)
        for symbol in symbols.values():
            if symbol.name in names:
                self.sink.error(symbol.span, f"shape symbol '{symbol.name}' has the same "
                                             "name as a parameter")
        return tuple(s for s in symbols.values() if s.name not in names)

    def _check_tensor_param(self, param: ast.Param, symbols: dict[str, ast.ShapeSymbol]) -> None:
        assert isinstance(param.ty, TensorType)
        if param.ty.elem == BOOL:
            self.sink.error(param.span, f"bool tensors are not supported (parameter "
                                        f"'{param.name}'); use i32")
        if param.ty.rank > MAX_TENSOR_RANK:
            self.sink.error(param.span, f"tensor rank {param.ty.rank} exceeds the maximum "
                                        f"of {MAX_TENSOR_RANK}")
        for axis, (extent, span) in enumerate(zip(param.ty.dims, param.dim_spans)):
            if isinstance(extent, int):
                if extent <= 0:
                    self.sink.error(span, f"tensor extent must be positive, found {extent}")
            elif extent not in symbols:
                symbols[extent] = ast.ShapeSymbol(span=span, name=extent, index=len(symbols),
                                                  param=param, axis=axis)

    # ---------------------------------------------------------------- statements

    def statement(self, stmt: ast.Stmt) -> None:
        self._statements[type(stmt)](stmt)

    def _block(self, block: ast.Block) -> None:
        with self.scopes.scope():
            for stmt in block.stmts:
                self.statement(stmt)

    def _local(self, stmt: ast.Let | ast.Var) -> None:
        if stmt.annotation is None:
            ty = self.exprs.value(stmt.value, None)
            if isinstance(ty, ScalarType):
                stmt.ty = ty
        else:
            stmt.ty = stmt.annotation
            ty = self.exprs.value(stmt.value, stmt.annotation)
            if ty != ERROR and ty != stmt.annotation:
                self.sink.error(stmt.value.span, f"cannot initialize '{stmt.name}' of type "
                                                 f"{stmt.annotation} with a value of type {ty}")
        self.scopes.declare(stmt.name, stmt, stmt.name_span)

    def _assign(self, stmt: ast.Assign) -> None:
        target_ty = self._assign_target(stmt.target)
        target = stmt.target
        what = (f"'{target.ident}'" if isinstance(target, ast.Name)
                else f"an element of '{target.tensor.ident}'")
        ty = self.exprs.value(stmt.value, target_ty)
        if target_ty is None or ty == ERROR:
            return
        if stmt.op is not ast.AssignOp.SET and not target_ty.is_numeric:
            self.sink.error(stmt.span, f"'{stmt.op.value}' needs a number, but {what} is "
                                       f"{target_ty}")
            return
        if ty != target_ty:
            self.sink.error(stmt.value.span, f"cannot assign a value of type {ty} to {what} "
                                             f"of type {target_ty}")
            return
        if stmt.op is ast.AssignOp.DIV and target_ty.is_int:
            self.exprs.check_division_by_zero(stmt.value)

    def _assign_target(self, target: ast.Name | ast.Index) -> ScalarType | None:
        """The type stored to, or None when the target is not assignable (reported)."""
        if isinstance(target, ast.Index):
            ty = self.exprs.check(target, None)
            return ty if isinstance(ty, ScalarType) else None
        decl = self.exprs.resolve(target)
        if decl is None:
            return None
        if isinstance(decl.ty, TensorType):
            self.sink.error(target.span, f"cannot assign to tensor '{target.ident}' as a "
                                         f"whole; assign its elements: {target.ident}[...]")
            return None
        target.ty = decl.ty if decl.ty is not None else ERROR
        reason = _READ_ONLY_REASONS.get(type(decl))
        if reason is not None:
            self.sink.error(target.span, f"cannot assign to {describe_decl(decl)}: {reason}")
            return None
        return decl.ty

    def _for(self, stmt: ast.For) -> None:
        self.exprs.expect(stmt.start, I64, "the start of a for range")
        self.exprs.expect(stmt.stop, I64, "the end of a for range")
        if stmt.step is not None:
            self.exprs.expect(stmt.step, I64, "the step of a for loop")
            step = constant_int(stmt.step)
            if step is not None and step <= 0:
                self.sink.error(stmt.step.span, f"for step must be positive, found {step}")
        with self.scopes.scope():
            self.scopes.declare(stmt.var.name, stmt.var, stmt.var.span)
            self.statement(stmt.body)

    def _while(self, stmt: ast.While) -> None:
        self.exprs.expect(stmt.cond, BOOL, "a while condition")
        self.statement(stmt.body)

    def _if(self, stmt: ast.If) -> None:
        self.exprs.expect(stmt.cond, BOOL, "an if condition")
        self.statement(stmt.then)
        if stmt.orelse is not None:
            self.statement(stmt.orelse)

    def _prefetch(self, stmt: ast.Prefetch) -> None:
        self.exprs.check(stmt.target, None)

    def _expr_stmt(self, stmt: ast.ExprStmt) -> None:
        expr = stmt.expr
        self.exprs.check(expr, None)
        if not isinstance(expr, ast.Call):
            self.sink.error(expr.span, "a conversion cannot be a statement (its result "
                                       "would be unused)")
        elif expr.builtin is not None and not SIGNATURES[expr.builtin].has_effect:
            self.sink.error(expr.span, f"the result of '{expr.name}' is unused")


def check_program(
    program: ast.Program, file: str, source: str, earlier: Sequence[Diagnostic] = ()
) -> ast.TypedProgram:
    """Check every kernel; raise ``CompileError`` listing every error found.

    ``earlier`` are errors already found in the file (syntax errors of kernels that are
    not in ``program``); they are reported together with the semantic errors.
    """
    sink = DiagnosticSink()
    sink.diagnostics.extend(earlier)
    if not program.kernels and not earlier:
        sink.error(ast.Span(file, 1, 1, 1, 1), "no kernel in file")
    seen: dict[str, ast.Kernel] = {}
    for kernel in program.kernels:
        first = seen.setdefault(kernel.name, kernel)
        if first is not kernel:
            at = first.name_span
            sink.error(kernel.name_span, f"kernel '{kernel.name}' is already defined at line "
                                         f"{at.line}, column {at.col}")
        KernelChecker(sink).check_kernel(kernel)
    if sink.diagnostics:
        raise CompileError(sorted(sink.diagnostics, key=lambda d: (d.line, d.col)))
    return ast.TypedProgram(program=program, file=file, source=source)
