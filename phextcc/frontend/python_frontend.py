"""The Python-subset frontend: a Python function -> the same phx AST ``.phx`` files produce.

    parsed = parse_function(fn)
    program = translate_function(parsed, PythonEnvironment.of_function(fn), params)
    typed = check_python_program(program, parsed)          # the .phx semantic analysis

The types of the parameters come from the call (``params``: one ``ScalarType`` or
``ArraySpec`` per parameter); every array axis becomes a shape symbol, named
``x_shape0`` (underscores are prepended if the function uses that name).

Python's function scope becomes the kernel's: every local is declared once, as a phx
``var`` of the type of its first assignment, in the innermost block holding all its uses
when possible (python_locals.py), else at the top of the kernel. A local must be
assigned on every path before it is read (checked here, so the zero it is declared with
is never observed), and it keeps one type (a later assignment of another type is an
error naming the variable). Loop variables are read-only and live only inside their
loop. Statement handling is table-driven; see python_exprs.py for expressions.
"""

from __future__ import annotations

import ast as pyast
import inspect
import linecache
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from phextcc.diagnostics import CompileError
from phextcc.frontend import ast
from phextcc.frontend.python_exprs import ExprConverter, binary, clone
from phextcc.frontend.python_globals import PyCallable, PythonEnvironment
from phextcc.frontend.python_locals import LocalsScan, scan_locals
from phextcc.frontend.python_scope import (
    ArrayParam,
    FunctionScope,
    LocalVar,
    PythonKernelError,
    SourceMap,
    Unsupported,
)
from phextcc.frontend.python_types import PyValue, constant_type, fits, materialize
from phextcc.frontend.sema import check_program
from phextcc.frontend.types import I64, ScalarType, TensorType


@dataclass(frozen=True)
class ArraySpec:
    """A numpy array parameter: element type and number of dimensions."""

    elem: ScalarType
    rank: int


ParamSpec = ScalarType | ArraySpec


@dataclass(frozen=True)
class ParsedFunction:
    name: str
    params: tuple[str, ...]
    tree: pyast.FunctionDef
    source: str  # the function's own text (part of the cache key)
    map: SourceMap


def shape_symbol(array: str, axis: int, taken: frozenset[str] = frozenset()) -> str:
    """The shape symbol of ``array.shape[axis]``: an identifier (the .siw kernel table
    requires one) that no name of the function uses."""
    name = f"{array}_shape{axis}"
    while name in taken:
        name = "_" + name
    return name


def parse_function(fn: types.FunctionType) -> ParsedFunction:
    """Read and parse ``fn``'s source; positions map back to its file."""
    try:
        lines, first_line = inspect.getsourcelines(fn)
    except (OSError, TypeError) as exc:
        raise TypeError(f"cannot read the source of {fn.__qualname__!r}; a kernel must be "
                        "defined in a file") from exc
    first_line = max(first_line, 1)
    indent = len(lines[0]) - len(lines[0].lstrip())
    text = "".join(line[indent:] if not line[:indent].strip() else line for line in lines)
    filename = inspect.getsourcefile(fn) or fn.__code__.co_filename
    file_text = "".join(linecache.getlines(filename)) or "\n" * (first_line - 1) + "".join(lines)
    source_map = SourceMap(filename, file_text, first_line, indent)
    module = pyast.parse(text)
    tree = module.body[0]
    if not isinstance(tree, pyast.FunctionDef):
        raise TypeError(f"{fn.__qualname__!r} is not a plain function")
    args = tree.args
    extra = args.vararg or args.kwarg or args.kwonlyargs
    if extra:
        raise PythonKernelError([Unsupported(source_map.span(tree), "a kernel takes plain "
                                             "positional parameters only").diagnostic()],
                                file_text)
    names = tuple(a.arg for a in (*args.posonlyargs, *args.args))
    return ParsedFunction(tree.name, names, tree, text, source_map)


class StatementConverter:
    """Converts the statements of one function; every method returns phx statements."""

    def __init__(self, scope: FunctionScope, scan: LocalsScan) -> None:
        self.scope = scope
        self.exprs = ExprConverter(scope)
        self.loop_names = scan.loop_targets
        self.declaring = scan.declaring  # Assign statements that declare their local
        self.declared_in_place: set[str] = set()
        self.terminated = False  # the statements so far always return
        self._handlers: dict[type, Callable[..., list[ast.Stmt]]] = {
            pyast.Assign: self._assign,
            pyast.AugAssign: self._aug_assign,
            pyast.AnnAssign: self._ann_assign,
            pyast.For: self._for,
            pyast.While: self._while,
            pyast.If: self._if,
            pyast.Return: self._return,
            pyast.Expr: self._expr_stmt,
            pyast.Pass: lambda node: [],
        }

    def block(self, body: Sequence[pyast.stmt]) -> list[ast.Stmt]:
        out: list[ast.Stmt] = []
        for stmt in body:
            handler = self._handlers.get(type(stmt))
            if handler is None:
                raise self.scope.fail(stmt, _unsupported_statement(stmt))
            out.extend(handler(stmt))
        return out

    def nested(self, body: Sequence[pyast.stmt], node: pyast.AST) -> tuple[ast.Block, set[str],
                                                                            bool]:
        """Convert a nested block; return it, the assigned set after it, and whether it
        always returns. The caller decides what the scope keeps afterwards."""
        saved = set(self.scope.assigned)
        saved_terminated, self.terminated = self.terminated, False
        stmts = self.block(body)
        after, terminated = self.scope.assigned, self.terminated
        self.scope.assigned, self.terminated = saved, saved_terminated
        return ast.Block(span=self.scope.source.span(node), stmts=tuple(stmts)), after, terminated

    # ---------------------------------------------------------------- assignments

    def _assign(self, node: pyast.Assign) -> list[ast.Stmt]:
        if len(node.targets) != 1:
            raise self.scope.fail(node, "chained assignment (a = b = ...) is not supported")
        target = node.targets[0]
        if isinstance(target, pyast.Tuple) and isinstance(node.value, pyast.Tuple):
            return self._unpack(target, node.value)
        return self.store(target, self.exprs.value(node.value), node.value,
                          declares=id(node) in self.declaring)

    def _unpack(self, targets: pyast.Tuple, values: pyast.Tuple) -> list[ast.Stmt]:
        """``a, b = x, y``: every value is evaluated (into a temporary) before any
        target is assigned, so ``a, b = b, a`` swaps."""
        if len(targets.elts) != len(values.elts):
            raise self.scope.fail(values, f"cannot unpack {len(values.elts)} values into "
                                          f"{len(targets.elts)} targets")
        span = self.scope.source.span(values)
        temps: list[ast.Stmt] = []
        stored: list[PyValue] = []
        for value_node in values.elts:
            value = self.exprs.value(value_node)
            if not value.is_const:
                ident = self.scope.fresh("unpack")
                temps.append(ast.Let(span=span, name=ident, name_span=span, annotation=value.ty,
                                     value=self.exprs.alone(value, value_node)))
                value = PyValue(value.ty, ast.Name(span=span, ident=ident))
            stored.append(value)
        stores = [stmt for target, value, value_node in zip(targets.elts, stored, values.elts)
                  for stmt in self.store(target, value, value_node)]
        return [ast.Block(span=span, stmts=(*temps, *stores))]

    def _aug_assign(self, node: pyast.AugAssign) -> list[ast.Stmt]:
        load = _as_load(node.target)
        operation = pyast.copy_location(pyast.BinOp(left=load, op=node.op, right=node.value), node)
        if isinstance(node.target, pyast.Subscript):
            self.exprs.duplicable(self.exprs.value(load), node.target, "an augmented assignment")
        return self.store(node.target, self.exprs.value(operation), node)

    def _ann_assign(self, node: pyast.AnnAssign) -> list[ast.Stmt]:
        if node.value is None:
            raise self.scope.fail(node, "a declaration without a value is not supported")
        converted = pyast.copy_location(pyast.Call(func=node.annotation, args=[node.value],
                                                   keywords=[]), node.value)
        return self.store(node.target, self.exprs.value(converted), node.value)

    def store(self, target: pyast.expr, value: PyValue, value_node: pyast.AST,
              declares: bool = False) -> list[ast.Stmt]:
        span = self.scope.source.span(target)
        if isinstance(target, pyast.Subscript):
            name, index = self.exprs.element(target)
            elem = self.scope.arrays[name].elem
            stored = self.exprs.expr_as(value, elem, value_node)  # numpy's casting on store
            return [ast.Assign(span=span, target=index, op=ast.AssignOp.SET, value=stored)]
        if not isinstance(target, pyast.Name):
            raise self.scope.fail(target, "only a variable or an array element can be "
                                          "assigned (no tuple unpacking)")
        local = self.local_for(target, value)
        expr = self._converted_for(local, target.id, value, value_node)
        self.scope.assigned.add(target.id)
        if declares:  # see python_locals.py: the local lives in this block
            self.declared_in_place.add(target.id)
            return [ast.Var(span=span, name=local.ident, name_span=span, annotation=local.ty,
                            value=expr)]
        return [ast.Assign(span=span, target=ast.Name(span=span, ident=local.ident),
                           op=ast.AssignOp.SET, value=expr)]

    def local_for(self, target: pyast.Name, value: PyValue) -> LocalVar:
        name, scope = target.id, self.scope
        if name in scope.loop_vars or name in self.loop_names:
            raise scope.fail(target, f"'{name}' is a loop variable; assigning it is not "
                                     "supported (use another name)")
        if name in scope.arrays:
            raise scope.fail(target, f"array '{name}' cannot be reassigned; assign its "
                                     f"elements: {name}[i] = ...")
        local = scope.locals.get(name)
        if local is None:
            ty = value.ty if not value.weak else constant_type(value.const)  # type: ignore[arg-type]
            local = LocalVar(name, ty, scope.source.span(target))
            scope.locals[name] = local
            scope.first_assignment.setdefault(name, local.first)
        return local

    def _converted_for(self, local: LocalVar, name: str, value: PyValue, node: pyast.AST
                       ) -> ast.Expr:
        if _weak_fits(value, local.ty) or value.ty == local.ty:
            return materialize(value, local.ty, self.scope.source.span(node))
        first = local.first
        raise self.scope.fail(node, f"variable '{name}' changes type: it is {local.ty} "
                                    f"(from line {first.line}) but this value is {value.ty}; "
                                    "a kernel variable keeps one type (convert explicitly, "
                                    f"e.g. np.{_numpy_name(local.ty)}(...))")

    # ---------------------------------------------------------------- control flow

    def _for(self, node: pyast.For) -> list[ast.Stmt]:
        if node.orelse:
            raise self.scope.fail(node.orelse[0], "'for ... else' is not supported")
        if not isinstance(node.target, pyast.Name):
            raise self.scope.fail(node.target, "the loop variable must be a single name")
        call = node.iter
        if not (isinstance(call, pyast.Call) and self.exprs.calls.target(call)
                is PyCallable.RANGE):
            raise self.scope.fail(node.iter, "a kernel loops with 'for i in range(...)' only")
        name = node.target.id
        if name in self.scope.locals or name in self.scope.scalars or name in self.scope.arrays:
            raise self.scope.fail(node.target, f"'{name}' is also a variable or parameter; use "
                                               "another name for the loop variable")
        if name in self.scope.loop_vars:
            raise self.scope.fail(node.target, f"nested loops cannot reuse the loop variable "
                                               f"'{name}'")
        if not 1 <= len(call.args) <= 3:
            raise self.scope.fail(call, f"range() takes 1 to 3 arguments, {len(call.args)} given")
        args = [self.exprs.integer(a, "a range() argument") for a in call.args]
        exprs = [self.exprs.expr_as(v, I64, a) for v, a in zip(args, call.args)]
        zero = ast.IntLit(span=self.scope.source.span(call), value=0)
        start, stop = (zero, exprs[0]) if len(exprs) == 1 else (exprs[0], exprs[1])
        if len(args) < 3 or (args[2].is_const and isinstance(args[2].const, int)
                             and args[2].const > 0):
            step = exprs[2] if len(exprs) == 3 else None
            return [self._counting_up(node, name, start, stop, step)]
        step_value = args[2]
        if step_value.is_const:
            if step_value.const == 0:
                raise self.scope.fail(call.args[2], "range() step must not be zero")
            magnitude = self.exprs.expr_as(PyValue(I64, const=-step_value.const, weak=True),  # type: ignore[operator]
                                           I64, call.args[2])
            return [self._counting_down(node, name, start, stop, magnitude)]
        return [self._either_direction(node, name, start, stop, exprs[2])]

    def _loop_body(self, node: pyast.For, name: str, ident: str,
                   prologue: Sequence[ast.Stmt] = ()) -> ast.Block:
        self.scope.loop_vars[name] = ident
        try:
            body, _, _ = self.nested(node.body, node)
        finally:
            del self.scope.loop_vars[name]
        return ast.Block(span=body.span, stmts=(*prologue, *body.stmts))

    def _counting_up(self, node: pyast.For, name: str, start: ast.Expr, stop: ast.Expr,
                     step: ast.Expr | None) -> ast.For:
        span = self.scope.source.span(node)
        var = ast.LoopVar(span=self.scope.source.span(node.target), name=name)
        return ast.For(span=span, var=var, start=start, stop=stop, step=step,
                       body=self._loop_body(node, name, name))

    def _counting_down(self, node: pyast.For, name: str, start: ast.Expr, stop: ast.Expr,
                       magnitude: ast.Expr) -> ast.Block:
        """``range(start, stop, -m)``: ``count`` iterations of a counter ``k``, with
        ``name = start - k * m`` (the bounds are evaluated once, as in Python)."""
        span = self.scope.source.span(node)
        fresh = self.scope.fresh

        def let(ident: str, value: ast.Expr) -> ast.Let:
            return ast.Let(span=span, name=ident, name_span=span, annotation=I64, value=value)

        def ref(ident: str) -> ast.Name:
            return ast.Name(span=span, ident=ident)

        def lit(value: int) -> ast.IntLit:
            return ast.IntLit(span=span, value=value)

        s, e, m, n, k = (fresh(f"{name}.{part}") for part in ("start", "stop", "step", "count",
                                                              "k"))
        distance = binary(ast.BinaryOp.SUB, binary(ast.BinaryOp.ADD, binary(
            ast.BinaryOp.SUB, ref(s), ref(e), span), ref(m), span), lit(1), span)
        count = binary(ast.BinaryOp.DIV, distance, ref(m), span)  # <= 0: no iteration
        value = binary(ast.BinaryOp.SUB, ref(s), binary(ast.BinaryOp.MUL, ref(k), ref(m), span),
                       span)
        body = self._loop_body(node, name, name, prologue=(let(name, value),))
        loop = ast.For(span=span, var=ast.LoopVar(span=span, name=k), start=lit(0),
                       stop=ref(n), step=None, body=body)
        stmts = (let(s, start), let(e, stop), let(m, magnitude), let(n, count), loop)
        return ast.Block(span=span, stmts=stmts)

    def _either_direction(self, node: pyast.For, name: str, start: ast.Expr, stop: ast.Expr,
                          step: ast.Expr) -> ast.Block:
        """A step known only at run time: the loop is emitted for both signs."""
        span = self.scope.source.span(node)
        ident = self.scope.fresh(f"{name}.step")
        up = self._counting_up(node, name, clone(start), clone(stop),
                               ast.Name(span=span, ident=ident))
        negated = ast.Unary(span=span, op=ast.UnaryOp.NEG, operand=ast.Name(span=span,
                                                                              ident=ident))
        down = self._counting_down(node, name, start, stop, negated)
        positive = binary(ast.BinaryOp.GT, ast.Name(span=span, ident=ident),
                          ast.IntLit(span=span, value=0), span)
        branch = ast.If(span=span, cond=positive, then=ast.Block(span=span, stmts=(up,)),
                        orelse=ast.Block(span=span, stmts=(down,)))
        declare = ast.Let(span=span, name=ident, name_span=span, annotation=I64, value=step)
        return ast.Block(span=span, stmts=(declare, branch))

    def _while(self, node: pyast.While) -> list[ast.Stmt]:
        if node.orelse:
            raise self.scope.fail(node.orelse[0], "'while ... else' is not supported")
        cond = self.exprs.condition(node.test)
        body, _, _ = self.nested(node.body, node)
        return [ast.While(span=self.scope.source.span(node), cond=cond, body=body)]

    def _if(self, node: pyast.If) -> list[ast.Stmt]:
        cond = self.exprs.condition(node.test)
        then, then_assigned, then_returns = self.nested(node.body, node)
        orelse, else_assigned, else_returns = self.nested(node.orelse, node)
        if then_returns and else_returns:
            self.terminated = True
        elif then_returns:
            self.scope.assigned = else_assigned
        elif else_returns:
            self.scope.assigned = then_assigned
        else:
            self.scope.assigned = then_assigned & else_assigned
        return [ast.If(span=self.scope.source.span(node), cond=cond, then=then,
                       orelse=orelse if node.orelse else None)]

    def _return(self, node: pyast.Return) -> list[ast.Stmt]:
        if node.value is not None:
            raise self.scope.fail(node.value, "a kernel returns no value; write results into "
                                              "an array argument")
        self.terminated = True
        return [ast.Return(span=self.scope.source.span(node))]

    def _expr_stmt(self, node: pyast.Expr) -> list[ast.Stmt]:
        if isinstance(node.value, pyast.Constant) and isinstance(node.value.value, str):
            return []  # a docstring
        if not isinstance(node.value, pyast.Call):
            raise self.scope.fail(node, "this expression statement has no effect")
        callee = self.exprs.calls.target(node.value)
        if callee not in _EFFECT_CALLS:
            raise self.scope.fail(node, f"the result of '{pyast.unparse(node.value.func)}' is "
                                        "unused")
        value = self.exprs.value(node.value)
        assert value.expr is not None
        return [ast.ExprStmt(span=self.scope.source.span(node), expr=value.expr)]


_EFFECT_CALLS = frozenset({PyCallable.SEND, PyCallable.BARRIER, PyCallable.RECV,
                           PyCallable.ALLREDUCE, PyCallable.BROADCAST})

_STATEMENT_NAMES: dict[type, str] = {
    pyast.Break: "'break' is not supported (use a while loop with a condition)",
    pyast.Continue: "'continue' is not supported (use an if around the rest of the body)",
    pyast.FunctionDef: "a nested function is not supported in a kernel",
    pyast.ClassDef: "a class definition is not supported in a kernel",
    pyast.Try: "'try' is not supported in a kernel",
    pyast.With: "'with' is not supported in a kernel",
    pyast.Raise: "'raise' is not supported in a kernel",
    pyast.Import: "'import' is not supported inside a kernel (import at module level)",
    pyast.ImportFrom: "'import' is not supported inside a kernel (import at module level)",
    pyast.Global: "'global' is not supported in a kernel (kernels cannot write globals)",
    pyast.Nonlocal: "'nonlocal' is not supported in a kernel",
    pyast.Delete: "'del' is not supported in a kernel",
    pyast.Assert: "'assert' is not supported in a kernel",
}


def _unsupported_statement(node: pyast.stmt) -> str:
    return _STATEMENT_NAMES.get(type(node), f"'{type(node).__name__}' statements are not "
                                            "supported in a kernel")


def _as_load(target: pyast.expr) -> pyast.expr:
    clone = pyast.parse(pyast.unparse(target), mode="eval").body
    for new, old in zip(pyast.walk(clone), pyast.walk(target)):
        pyast.copy_location(new, old)
    return clone


def _weak_fits(value: PyValue, ty: ScalarType) -> bool:
    """A Python literal assigned to a typed variable adopts its type when the kind
    allows (int literal to any number, float literal to a float, bool to bool)."""
    if not (value.is_const and value.weak) or value.const is None:
        return False
    if ty.is_bool or isinstance(value.const, bool):
        return ty.is_bool and isinstance(value.const, bool)
    if isinstance(value.const, float):
        return ty.is_float
    return fits(value.const, ty)


def _numpy_name(ty: ScalarType) -> str:
    return {"i32": "int32", "i64": "int64", "f32": "float32", "f64": "float64"}.get(
        ty.name, "bool_")


def _declarations(scope: FunctionScope, span: ast.Span, in_place: set[str]) -> list[ast.Stmt]:
    """A ``var`` at the top of the kernel for each local not declared in place
    (parameter copies start from the parameter, the others from zero, which the
    assignment analysis never lets be read)."""
    decls: list[ast.Stmt] = []
    for name, local in scope.locals.items():
        if name in in_place:
            continue
        if name in scope.scalars:
            init: ast.Expr = ast.Name(span=span, ident=name)
        else:
            init = materialize(PyValue(local.ty, const=0, weak=True), local.ty, span)
        decls.append(ast.Var(span=span, name=local.ident, name_span=local.first,
                             annotation=local.ty, value=init))
    return decls


def translate_function(parsed: ParsedFunction, env: PythonEnvironment,
                       params: Sequence[ParamSpec]) -> ast.Program:
    """The phx program (one kernel) of ``parsed`` for parameter types ``params``."""
    source = parsed.map
    span = source.span(parsed.tree)
    arg_nodes = (*parsed.tree.args.posonlyargs, *parsed.tree.args.args)
    scalars: dict[str, ScalarType] = {}
    arrays: dict[str, ArrayParam] = {}
    kernel_params: list[ast.Param] = []
    taken = frozenset(n.id for n in pyast.walk(parsed.tree) if isinstance(n, pyast.Name))
    taken |= frozenset(parsed.params)
    for index, (name, spec, node) in enumerate(zip(parsed.params, params, arg_nodes)):
        pspan = source.span(node)
        if isinstance(spec, ArraySpec):
            symbols = tuple(shape_symbol(name, axis, taken) for axis in range(spec.rank))
            arrays[name] = ArrayParam(name, spec.elem, symbols)
            ty: ScalarType | TensorType = TensorType(spec.elem, symbols)
            kernel_params.append(ast.Param(span=pspan, name=name, ty=ty, index=index,
                                           dim_spans=(pspan,) * spec.rank))
        else:
            scalars[name] = spec
            kernel_params.append(ast.Param(span=pspan, name=name, ty=spec, index=index))
    scope = FunctionScope(source, env, scalars, arrays)
    scan = scan_locals(parsed.tree, parsed.params)
    scope.local_names, scope.loop_names = scan.assigned, set(scan.loop_targets)
    for name in sorted(scan.assigned & set(scalars)):  # an assigned parameter: a copy
        scope.locals[name] = LocalVar(scope.fresh(name), scalars[name], span)
        scope.assigned.add(name)
    converter = StatementConverter(scope, scan)
    try:
        body = converter.block(parsed.tree.body)
    except Unsupported as exc:
        raise PythonKernelError([exc.diagnostic()], source.file_text) from None
    stmts = (*_declarations(scope, span, converter.declared_in_place), *body)
    kernel = ast.Kernel(span=span, name=parsed.name, name_span=span,
                        params=tuple(kernel_params), body=ast.Block(span=span, stmts=stmts))
    return ast.Program(span=span, kernels=(kernel,))


def check_python_program(program: ast.Program, parsed: ParsedFunction) -> ast.TypedProgram:
    """The .phx semantic analysis of a translated function (errors point at the .py)."""
    try:
        return check_program(program, parsed.map.filename, parsed.map.file_text)
    except CompileError as exc:
        raise PythonKernelError(exc.diagnostics, parsed.map.file_text) from None


__all__ = ["ArraySpec", "ParamSpec", "ParsedFunction", "PythonKernelError", "check_python_program",
           "parse_function", "shape_symbol", "translate_function"]
