"""Hypothesis strategies for small random .phx kernels that exercise the scalar passes:
integer (wrapping) and float arithmetic, loops with random bounds (0 and 1 trips
included, constant and symbolic, steps 1 and 2), conditionals, loads and stores with
indices that are sometimes out of range, and divisions that may trap."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

SIGNATURE = ("a: i64, b: i64, x: f32, t: i64[N], u: f32[N], out: i64[8], fout: f32[8]")
INT_SCALARS = ("a", "b", "N")
SCALAR_VALUES = st.sampled_from([0, 1, -1, 2, 3, 7, -8, 2**62, -(2**63), 2**63 - 1])
N_VALUES = st.sampled_from([0, 1, 2, 3, 5, 5])


@dataclass
class Scope:
    """Names usable at one point of the generated kernel."""

    ints: list[str] = field(default_factory=lambda: list(INT_SCALARS))
    floats: list[str] = field(default_factory=lambda: ["x"])
    loop_vars: list[str] = field(default_factory=list)
    mutable_ints: list[str] = field(default_factory=list)
    mutable_floats: list[str] = field(default_factory=list)
    counter: list[int] = field(default_factory=lambda: [0])

    def child(self) -> Scope:
        return Scope(list(self.ints), list(self.floats), list(self.loop_vars),
                     list(self.mutable_ints), list(self.mutable_floats), self.counter)

    def fresh(self, prefix: str) -> str:
        self.counter[0] += 1
        return f"{prefix}{self.counter[0]}"


def index_expr(draw: st.DrawFn, scope: Scope, extent_n: bool = False) -> str:
    """Mostly in range for an extent-8 axis (or an extent-N one); sometimes not."""
    options = ["0", "1"] if extent_n else [str(draw(st.integers(0, 7)))] * 2
    for var in scope.loop_vars:
        options += [var, var, var, f"{var} % 2", f"{var} + 1", f"{var} - 1"]
    if draw(st.integers(0, 9)) == 0:
        options.append("8")
    return draw(st.sampled_from(options))


def int_expr(draw: st.DrawFn, scope: Scope, depth: int = 0) -> str:
    leaves = [*scope.ints, *scope.loop_vars, str(draw(st.integers(-9, 9)))]
    if depth >= 2 or draw(st.integers(0, 2)) == 0:
        choice = draw(st.sampled_from([*leaves, "load"]))
        if choice == "load":
            return f"t[{index_expr(draw, scope, extent_n=True)}]"
        return choice
    lhs, rhs = int_expr(draw, scope, depth + 1), int_expr(draw, scope, depth + 1)
    op = draw(st.sampled_from(["+", "-", "*", "/", "%", "min", "max"]))
    if op in ("/", "%") and rhs.lstrip("-").isdigit() and int(rhs) == 0:
        rhs = "(b - 2)"  # a literal zero divisor is a compile error; this one may trap
    if op in ("min", "max"):
        return f"{op}({lhs}, {rhs})"
    return f"({lhs} {op} {rhs})"


def float_expr(draw: st.DrawFn, scope: Scope, depth: int = 0) -> str:
    literal = draw(st.sampled_from(["0.0", "1.5", "-2.25", "3.0e38", "1.0e-30", "0.1"]))
    leaves = [*scope.floats, literal, "load", "convert"]
    if depth >= 2 or draw(st.integers(0, 2)) == 0:
        choice = draw(st.sampled_from(leaves))
        if choice == "load":
            return f"u[{index_expr(draw, scope, extent_n=True)}]"
        if choice == "convert":
            return f"f32({int_expr(draw, scope, 2)})"
        return choice
    lhs, rhs = float_expr(draw, scope, depth + 1), float_expr(draw, scope, depth + 1)
    op = draw(st.sampled_from(["+", "-", "*", "/", "min", "max", "sqrt"]))
    if op in ("min", "max"):
        return f"{op}({lhs}, {rhs})"
    if op == "sqrt":
        return f"sqrt(f32({lhs}))"
    return f"({lhs} {op} {rhs})"


def condition(draw: st.DrawFn, scope: Scope) -> str:
    if draw(st.booleans()):
        op = draw(st.sampled_from(["<", "<=", "==", "!=", ">", ">="]))
        return f"{int_expr(draw, scope, 1)} {op} {int_expr(draw, scope, 1)}"
    op = draw(st.sampled_from(["<", "==", "!="]))
    return f"{float_expr(draw, scope, 1)} {op} {float_expr(draw, scope, 1)}"


def loop_bound(draw: st.DrawFn, scope: Scope) -> str:
    return draw(st.sampled_from(["0", "1", "2", "N", "N", "N - 1", "a % 4", *scope.loop_vars]))


def statement(draw: st.DrawFn, scope: Scope, depth: int) -> str:
    kinds = ["int_var", "float_var", "store", "fstore"]
    if scope.mutable_ints:
        kinds.append("int_assign")
    if scope.mutable_floats:
        kinds.append("float_assign")
    if depth < 2:
        kinds += ["loop", "if"]
    kind = draw(st.sampled_from(kinds))
    if kind == "int_var":
        name, value = scope.fresh("v"), int_expr(draw, scope)
        scope.ints.append(name)
        scope.mutable_ints.append(name)
        return f"var {name}: i64 = {value};"
    if kind == "float_var":
        name, value = scope.fresh("f"), float_expr(draw, scope)
        scope.floats.append(name)
        scope.mutable_floats.append(name)
        return f"var {name}: f32 = {value};"
    if kind == "int_assign":
        target = draw(st.sampled_from(scope.mutable_ints))
        op = draw(st.sampled_from(["=", "+=", "-=", "*="]))
        return f"{target} {op} {int_expr(draw, scope)};"
    if kind == "float_assign":
        target = draw(st.sampled_from(scope.mutable_floats))
        op = draw(st.sampled_from(["=", "+=", "*="]))
        return f"{target} {op} {float_expr(draw, scope)};"
    if kind == "store":
        return f"out[{index_expr(draw, scope)}] = {int_expr(draw, scope)};"
    if kind == "fstore":
        return f"fout[{index_expr(draw, scope)}] = {float_expr(draw, scope)};"
    inner = scope.child()
    if kind == "loop":
        var = scope.fresh("i")
        inner.loop_vars.append(var)
        step = draw(st.sampled_from(["", "", " step 2"]))
        head = f"for {var} in {loop_bound(draw, scope)}..{loop_bound(draw, scope)}{step}"
    else:
        head = f"if {condition(draw, scope)}"
    body = block(draw, inner, depth + 1)
    if kind == "if" and draw(st.booleans()):
        return f"{head} {{\n{body}\n}} else {{\n{block(draw, scope.child(), depth + 1)}\n}}"
    return f"{head} {{\n{body}\n}}"


def block(draw: st.DrawFn, scope: Scope, depth: int) -> str:
    count = draw(st.integers(1, 4))
    return "\n".join(statement(draw, scope, depth) for _ in range(count))


@st.composite
def kernels(draw: st.DrawFn) -> str:
    """The source of one kernel `k` with SIGNATURE."""
    body = block(draw, Scope(), 0)
    return f"kernel k({SIGNATURE}) {{\n{body}\n}}\n"


@st.composite
def arguments(draw: st.DrawFn) -> dict[str, object]:
    import numpy as np

    n = draw(N_VALUES)
    ints = draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n))
    floats = draw(st.lists(st.sampled_from([0.0, 1.0, -0.5, 2.5, -3.0]), min_size=n,
                           max_size=n))
    return {
        "a": draw(SCALAR_VALUES), "b": draw(SCALAR_VALUES),
        "x": draw(st.sampled_from([0.0, -1.0, 0.5, 1.0e20])),
        "t": np.array(ints, dtype=np.int64), "u": np.array(floats, dtype=np.float32),
        "out": np.zeros(8, dtype=np.int64), "fout": np.zeros(8, dtype=np.float32),
    }
