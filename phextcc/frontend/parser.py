"""Parse .phx text into the AST (``phextcc.frontend.ast``).

The Lark LALR parser is built once from ``phx.lark`` and cached. ``AstBuilder`` turns
the parse tree into AST nodes; it has one handler per grammar rule (a test checks it,
since a missing handler would silently leave a Lark ``Tree`` in the AST).

Syntax errors: the whole file is parsed first; if that fails, each kernel is parsed on
its own (the rest of the file blanked out, so positions stay right), which reports one
syntax error per broken kernel and keeps the good kernels (``parse_recovering``), so
that semantic analysis can still report their errors in the same run.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from importlib import resources

from lark import Lark, Token
from lark.exceptions import UnexpectedInput
from lark.tree import Meta
from lark.visitors import Transformer, v_args

from phextcc.diagnostics import CompileError, Diagnostic, Severity
from phextcc.frontend import ast
from phextcc.frontend.syntax_errors import blank, blank_comments, syntax_diagnostic
from phextcc.frontend.types import SCALAR_TYPES, ScalarType, TensorType

GRAMMAR_FILE = "phx.lark"


def grammar_text() -> str:
    return resources.files("phextcc.frontend").joinpath(GRAMMAR_FILE).read_text("utf-8")


@lru_cache(maxsize=1)
def lark_parser() -> Lark:
    return Lark(
        grammar_text(),
        parser="lalr",
        lexer="basic",  # keywords stay reserved even where an identifier is expected
        propagate_positions=True,
        maybe_placeholders=True,
    )


def _token_span(file: str, token: Token) -> ast.Span:
    return ast.Span(file, token.line, token.column, token.end_line, token.end_column)


def _parse_int(text: str) -> int:
    digits = text.replace("_", "")
    if digits[:2] in ("0x", "0X"):
        return int(digits[2:], 16)
    return int(digits, 10)


@v_args(inline=True, meta=True)
class AstBuilder(Transformer):
    """Builds AST nodes from the parse tree of one file."""

    def __init__(self, file: str) -> None:
        super().__init__()
        self.file = file

    def _span(self, meta: Meta) -> ast.Span:
        if meta.empty:
            return ast.Span(self.file, 1, 1, 1, 1)
        return ast.Span(self.file, meta.line, meta.column, meta.end_line, meta.end_column)

    def _tok(self, token: Token) -> ast.Span:
        return _token_span(self.file, token)

    # ---------------------------------------------------------------- top level

    def start(self, meta: Meta, *kernels: ast.Kernel) -> ast.Program:
        return ast.Program(span=self._span(meta), kernels=tuple(kernels))

    def kernel(self, meta: Meta, name: Token, *rest: ast.Param | ast.Block | None) -> ast.Kernel:
        *params, body = rest
        real = [p for p in params if isinstance(p, ast.Param)]
        numbered = tuple(replace(p, index=i) for i, p in enumerate(real))
        assert isinstance(body, ast.Block)
        return ast.Kernel(
            span=self._span(meta), name=str(name), name_span=self._tok(name),
            params=numbered, body=body,
        )

    def param(
        self, meta: Meta, name: Token,
        ptype: tuple[ScalarType | TensorType, tuple[ast.Span, ...]],
    ) -> ast.Param:
        ty, dim_spans = ptype
        return ast.Param(span=self._span(meta), name=str(name), ty=ty, index=-1,
                         dim_spans=dim_spans)

    def param_type(
        self, meta: Meta, elem: ScalarType, *dims: tuple[int | str, ast.Span] | None
    ) -> tuple[ScalarType | TensorType, tuple[ast.Span, ...]]:
        real = [d for d in dims if d is not None]
        if not real:
            return elem, ()
        return TensorType(elem, tuple(d for d, _ in real)), tuple(s for _, s in real)

    def dim(self, meta: Meta, token: Token) -> tuple[int | str, ast.Span]:
        extent: int | str = _parse_int(token) if token.type == "INT" else str(token)
        return extent, self._tok(token)

    def scalar_type(self, meta: Meta, token: Token) -> ScalarType:
        return SCALAR_TYPES[str(token)]

    # ---------------------------------------------------------------- statements

    def block(self, meta: Meta, *stmts: ast.Stmt) -> ast.Block:
        return ast.Block(span=self._span(meta), stmts=tuple(stmts))

    def let_stmt(
        self, meta: Meta, name: Token, annotation: ScalarType | None, value: ast.Expr
    ) -> ast.Let:
        return ast.Let(span=self._span(meta), name=str(name), name_span=self._tok(name),
                       annotation=annotation, value=value)

    def var_stmt(
        self, meta: Meta, name: Token, annotation: ScalarType | None, value: ast.Expr
    ) -> ast.Var:
        return ast.Var(span=self._span(meta), name=str(name), name_span=self._tok(name),
                       annotation=annotation, value=value)

    def assign_stmt(
        self, meta: Meta, target: ast.Name | ast.Index, op: ast.AssignOp, value: ast.Expr
    ) -> ast.Assign:
        return ast.Assign(span=self._span(meta), target=target, op=op, value=value)

    def assign_op(self, meta: Meta, token: Token) -> ast.AssignOp:
        return ast.AssignOp(str(token))

    def for_stmt(
        self, meta: Meta, name: Token, start: ast.Expr, stop: ast.Expr,
        step: ast.Expr | None, body: ast.Block,
    ) -> ast.For:
        var = ast.LoopVar(span=self._tok(name), name=str(name))
        return ast.For(span=self._span(meta), var=var, start=start, stop=stop, step=step,
                       body=body)

    def while_stmt(self, meta: Meta, cond: ast.Expr, body: ast.Block) -> ast.While:
        return ast.While(span=self._span(meta), cond=cond, body=body)

    def if_stmt(
        self, meta: Meta, cond: ast.Expr, then: ast.Block, orelse: ast.Block | ast.If | None
    ) -> ast.If:
        if isinstance(orelse, ast.If):
            orelse = ast.Block(span=orelse.span, stmts=(orelse,))
        return ast.If(span=self._span(meta), cond=cond, then=then, orelse=orelse)

    def return_stmt(self, meta: Meta) -> ast.Return:
        return ast.Return(span=self._span(meta))

    def prefetch_stmt(self, meta: Meta, target: ast.Index) -> ast.Prefetch:
        return ast.Prefetch(span=self._span(meta), target=target)

    def call_stmt(self, meta: Meta, expr: ast.Expr) -> ast.ExprStmt:
        return ast.ExprStmt(span=self._span(meta), expr=expr)

    # ---------------------------------------------------------------- expressions

    def binary(self, meta: Meta, lhs: ast.Expr, op: Token, rhs: ast.Expr) -> ast.Binary:
        return ast.Binary(span=self._span(meta), op=ast.BinaryOp(str(op)), lhs=lhs, rhs=rhs)

    def unary(self, meta: Meta, op: Token, operand: ast.Expr) -> ast.Unary:
        return ast.Unary(span=self._span(meta), op=ast.UnaryOp(str(op)), operand=operand)

    def index(self, meta: Meta, name: Token, *indices: ast.Expr) -> ast.Index:
        tensor = ast.Name(span=self._tok(name), ident=str(name))
        return ast.Index(span=self._span(meta), tensor=tensor, indices=tuple(indices))

    def call(self, meta: Meta, name: Token, *args: ast.Expr | None) -> ast.Call:
        return ast.Call(
            span=self._span(meta), name=str(name), name_span=self._tok(name),
            builtin=ast.BUILTINS_BY_NAME.get(str(name)),
            args=tuple(a for a in args if a is not None),
        )

    def recv_call(
        self, meta: Meta, recv: Token, lt: Token, ty: ScalarType, gt: Token, src: ast.Expr
    ) -> ast.Call:
        return ast.Call(
            span=self._span(meta), name=str(recv), name_span=self._tok(recv),
            builtin=ast.Builtin.RECV, args=(src,), type_arg=ty,
        )

    def convert(self, meta: Meta, target: ScalarType, operand: ast.Expr) -> ast.Convert:
        return ast.Convert(span=self._span(meta), target=target, operand=operand)

    def int_lit(self, meta: Meta, token: Token) -> ast.IntLit:
        return ast.IntLit(span=self._span(meta), value=_parse_int(token))

    def float_lit(self, meta: Meta, token: Token) -> ast.FloatLit:
        return ast.FloatLit(span=self._span(meta), value=float(token.replace("_", "")))

    def true_lit(self, meta: Meta, token: Token) -> ast.BoolLit:
        return ast.BoolLit(span=self._span(meta), value=True)

    def false_lit(self, meta: Meta, token: Token) -> ast.BoolLit:
        return ast.BoolLit(span=self._span(meta), value=False)

    def name(self, meta: Meta, token: Token) -> ast.Name:
        return ast.Name(span=self._span(meta), ident=str(token))


# -------------------------------------------------------------------- error recovery

_KERNEL_KEYWORD = re.compile(r"\bkernel\b")
_END_OF_FILE = "end of file"


def _kernel_starts(source: str) -> list[int]:
    starts = [m.start() for m in _KERNEL_KEYWORD.finditer(blank_comments(source))]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)  # text before the first kernel is parsed with it
    return starts


def _parse_text(text: str, file: str) -> ast.Program:
    tree = lark_parser().parse(text)
    program = AstBuilder(file).transform(tree)
    assert isinstance(program, ast.Program)
    return program


def parse_recovering(source: str, file: str = "<input>") -> tuple[ast.Program, list[Diagnostic]]:
    """Parse a whole file: the kernels that parse, and one diagnostic per broken kernel."""
    try:
        return _parse_text(source, file), []
    except UnexpectedInput:
        pass
    diagnostics: list[Diagnostic] = []
    kernels: list[ast.Kernel] = []
    starts = _kernel_starts(source)
    for begin, end in zip(starts, starts[1:] + [len(source)]):
        chunk = blank(source[:begin]) + source[begin:end] + blank(source[end:])
        try:
            kernels.extend(_parse_text(chunk, file).kernels)
        except UnexpectedInput as err:
            diagnostic = syntax_diagnostic(err, chunk, file, lark_parser())
            if end < len(source) and diagnostic.message.endswith(_END_OF_FILE):
                # The chunk ended where the next kernel starts, not at the end of the file.
                message = diagnostic.message[: -len(_END_OF_FILE)] + "keyword 'kernel'"
                diagnostic = replace(diagnostic, message=message)
            diagnostics.append(diagnostic)
    if not diagnostics:  # cannot happen: the whole file failed, so some kernel does
        diagnostics.append(Diagnostic(Severity.ERROR, "syntax error", file, 1, 1))
    whole = ast.Span(file, 1, 1, source.count("\n") + 1, 1)
    return ast.Program(span=whole, kernels=tuple(kernels)), diagnostics


def parse(source: str, file: str = "<input>") -> ast.Program:
    """Parse a whole file; raises ``CompileError`` with every syntax error found."""
    program, diagnostics = parse_recovering(source, file)
    if diagnostics:
        raise CompileError(diagnostics)
    return program
