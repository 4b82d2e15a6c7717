"""The .phx abstract syntax tree.

Conventions (stable: later changes add fields, never rename):

- Every node is a keyword-only dataclass with ``eq=False`` (identity equality and
  hashing, so nodes can key dictionaries) and a ``span`` giving its source range.
  Children are tuples; the parser builds them and nothing rewrites them afterwards.
- Semantic analysis fills these slots in place, and changes nothing else:
  * ``Expr.ty``: the expression's type (``types.ScalarType`` for values,
    ``types.TensorType`` for a bare tensor name, ``types.VOID`` for ``send``/``barrier``).
    After a successful ``check_source`` every expression the lowering evaluates has a
    ``ty`` that is neither None nor ``ERROR``. One exception: the second argument of
    ``allreduce`` is the op name as written (a ``Name`` with no ``ty``/``decl``); read
    ``Call.reduce_op`` instead and evaluate only ``args[0]``.
    Integer operands that may be i32 or i64 (indices, ``send``/``recv``/``broadcast``
    sentron numbers) keep their own type: the lowering sign-extends i32 to i64.
    Literals get the type chosen from context (``IntLit.ty`` may be f32/f64 when an
    integer literal is used in a float context: its value converts to the nearest
    float of that type). ``for`` bounds and steps are always i64.
  * ``Name.decl``: the declaring node (``Param``, ``ShapeSymbol``, ``Let``, ``Var``,
    ``LoopVar``); ``Let.ty``/``Var.ty``: the binding's type; ``Call.reduce_op`` for
    ``allreduce``; ``Kernel.symbols``: the shape symbols, in DSYM order.
- ``else if`` chains are nested: ``If.orelse`` is a ``Block`` holding a single ``If``.
- Operators are enums (``BinaryOp``, ``UnaryOp``, ``AssignOp``), builtins are
  ``Builtin`` members, so later stages dispatch through tables, not on strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from phextcc.frontend.types import I64, ScalarType, TensorType, Type


@dataclass(frozen=True)
class Span:
    """A source range; lines and columns are 1-based, ``end_col`` is exclusive."""

    file: str
    line: int
    col: int
    end_line: int
    end_col: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


# --------------------------------------------------------------------------- operators


class BinaryOp(Enum):
    ADD = "+"
    SUB = "-"
    MUL = "*"
    DIV = "/"
    REM = "%"
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    AND = "and"  # short-circuit
    OR = "or"  # short-circuit


ARITHMETIC_OPS = frozenset({BinaryOp.ADD, BinaryOp.SUB, BinaryOp.MUL, BinaryOp.DIV, BinaryOp.REM})
COMPARISON_OPS = frozenset(
    {BinaryOp.EQ, BinaryOp.NE, BinaryOp.LT, BinaryOp.LE, BinaryOp.GT, BinaryOp.GE}
)
LOGICAL_OPS = frozenset({BinaryOp.AND, BinaryOp.OR})


class UnaryOp(Enum):
    NEG = "-"
    NOT = "not"


class AssignOp(Enum):
    SET = "="
    ADD = "+="
    SUB = "-="
    MUL = "*="
    DIV = "/="


#: The arithmetic operator a compound assignment applies (``SET`` has none).
COMPOUND_ASSIGN_OPS: dict[AssignOp, BinaryOp] = {
    AssignOp.ADD: BinaryOp.ADD,
    AssignOp.SUB: BinaryOp.SUB,
    AssignOp.MUL: BinaryOp.MUL,
    AssignOp.DIV: BinaryOp.DIV,
}


class Builtin(Enum):
    """Every callable name of the language (conversions are ``Convert`` nodes)."""

    SQRT = "sqrt"
    EXP = "exp"
    LOG = "log"
    ABS = "abs"
    MIN = "min"
    MAX = "max"
    FMA = "fma"
    SELECT = "select"
    FLOOR = "floor"
    CEIL = "ceil"
    TANH = "tanh"
    # sentron builtins
    SENTRON_ID = "sentron_id"
    NUM_SENTRONS = "num_sentrons"
    SEND = "send"
    RECV = "recv"
    BARRIER = "barrier"
    ALLREDUCE = "allreduce"
    BROADCAST = "broadcast"
    # extensions: bitwise operations on integers
    XOR = "xor"
    BITAND = "bitand"
    BITOR = "bitor"
    POPCOUNT = "popcount"
    SHL = "shl"
    SHR = "shr"  # arithmetic (sign-propagating) shift


BUILTINS_BY_NAME: dict[str, Builtin] = {b.value: b for b in Builtin}


class ReduceOp(Enum):
    SUM = "sum"
    MAX = "max"
    MIN = "min"


# --------------------------------------------------------------------------- bases


@dataclass(eq=False, kw_only=True)
class Node:
    span: Span


@dataclass(eq=False, kw_only=True)
class Expr(Node):
    ty: Type | None = None  # filled by semantic analysis


@dataclass(eq=False, kw_only=True)
class Stmt(Node):
    pass


# --------------------------------------------------------------------------- declarations


@dataclass(eq=False, kw_only=True)
class Param(Node):
    """A kernel parameter; ``index`` is its position (the region id of a tensor)."""

    name: str
    ty: ScalarType | TensorType
    index: int
    dim_spans: tuple[Span, ...] = ()  # one per tensor axis, where its extent is written


@dataclass(eq=False, kw_only=True)
class ShapeSymbol(Node):
    """A tensor extent named by an identifier; bound from ``param``'s axis ``axis``.

    ``index`` is the symbol's number in the kernel (order of first appearance), the
    operand of DSYM. ``span`` is the first appearance.
    """

    name: str
    index: int
    param: Param
    axis: int
    ty: ScalarType = I64


@dataclass(eq=False, kw_only=True)
class LoopVar(Node):
    """The induction variable of a ``for`` loop (always i64, immutable)."""

    name: str
    ty: ScalarType = I64


# --------------------------------------------------------------------------- expressions


@dataclass(eq=False, kw_only=True)
class IntLit(Expr):
    value: int  # non-negative: ``-5`` is UnaryOp.NEG applied to IntLit(5)


@dataclass(eq=False, kw_only=True)
class FloatLit(Expr):
    value: float


@dataclass(eq=False, kw_only=True)
class BoolLit(Expr):
    value: bool


@dataclass(eq=False, kw_only=True)
class Name(Expr):
    ident: str
    # filled by sema; repr=False keeps reprs of resolved trees short
    decl: Param | ShapeSymbol | Let | Var | LoopVar | None = field(default=None, repr=False)


@dataclass(eq=False, kw_only=True)
class Unary(Expr):
    op: UnaryOp
    operand: Expr


@dataclass(eq=False, kw_only=True)
class Binary(Expr):
    op: BinaryOp
    lhs: Expr
    rhs: Expr


@dataclass(eq=False, kw_only=True)
class Index(Expr):
    """``tensor[i, j, ...]``: an element read, or a store/prefetch target."""

    tensor: Name
    indices: tuple[Expr, ...]


@dataclass(eq=False, kw_only=True)
class Call(Expr):
    """A builtin call. ``builtin`` is None for an unknown name (sema reports it).

    ``type_arg`` is T of ``recv<T>(src)``; ``reduce_op`` is the op of
    ``allreduce(v, op)`` (sema fills it; ``args[1]`` stays the ``Name`` as written).
    """

    name: str
    name_span: Span
    builtin: Builtin | None
    args: tuple[Expr, ...]
    type_arg: ScalarType | None = None
    reduce_op: ReduceOp | None = None


@dataclass(eq=False, kw_only=True)
class Convert(Expr):
    """``i32(x)``, ``i64(x)``, ``f32(x)``, ``f64(x)``: explicit conversion to ``target``."""

    target: ScalarType
    operand: Expr


# --------------------------------------------------------------------------- statements


@dataclass(eq=False, kw_only=True)
class Block(Stmt):
    stmts: tuple[Stmt, ...]


@dataclass(eq=False, kw_only=True)
class Let(Stmt):
    """``let name[: annotation] = value;`` (immutable). ``ty`` is filled by sema."""

    name: str
    name_span: Span
    annotation: ScalarType | None
    value: Expr
    ty: ScalarType | None = None


@dataclass(eq=False, kw_only=True)
class Var(Stmt):
    """``var name[: annotation] = value;`` (mutable). ``ty`` is filled by sema."""

    name: str
    name_span: Span
    annotation: ScalarType | None
    value: Expr
    ty: ScalarType | None = None


@dataclass(eq=False, kw_only=True)
class Assign(Stmt):
    """``target op value;`` with target a local (``Name``) or a tensor element."""

    target: Name | Index
    op: AssignOp
    value: Expr


@dataclass(eq=False, kw_only=True)
class For(Stmt):
    """``for var in start..stop [step step] body``; half-open; step None means 1."""

    var: LoopVar
    start: Expr
    stop: Expr
    step: Expr | None
    body: Block


@dataclass(eq=False, kw_only=True)
class While(Stmt):
    cond: Expr
    body: Block


@dataclass(eq=False, kw_only=True)
class If(Stmt):
    cond: Expr
    then: Block
    orelse: Block | None


@dataclass(eq=False, kw_only=True)
class Return(Stmt):
    pass


@dataclass(eq=False, kw_only=True)
class Prefetch(Stmt):
    target: Index


@dataclass(eq=False, kw_only=True)
class ExprStmt(Stmt):
    """A call evaluated for its effect (``send(...)``, ``barrier()``).

    The parser accepts any call form here; sema reports anything that is not a ``Call``
    with an effect, so after a successful check ``expr`` is always a ``Call``.
    """

    expr: Expr


# --------------------------------------------------------------------------- top level


@dataclass(eq=False, kw_only=True)
class Kernel(Node):
    name: str
    name_span: Span
    params: tuple[Param, ...]
    body: Block
    symbols: tuple[ShapeSymbol, ...] = ()  # filled by sema, in DSYM order


@dataclass(eq=False, kw_only=True)
class Program(Node):
    kernels: tuple[Kernel, ...]


@dataclass(eq=False, kw_only=True)
class TypedProgram:
    """The output of semantic analysis: every name resolved, every expression typed."""

    program: Program
    file: str
    source: str

    @property
    def kernels(self) -> tuple[Kernel, ...]:
        return self.program.kernels

    def kernel(self, name: str) -> Kernel:
        for kernel in self.program.kernels:
            if kernel.name == name:
                return kernel
        raise KeyError(name)


Decl = Param | ShapeSymbol | Let | Var | LoopVar
