"""prove-in-bounds is sound: whenever it marks an access, every index the access takes
while it runs (for every value of the shape symbols, including 0) is in range. Checked
by enumerating symbol values and iterations for generated loop nests and indices."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp

from phextcc.ir import phx_dialect as phx

from .helpers import ops_of, run

# Bounds and indices as (text builder, evaluator) over symbols N and an outer variable.
OPERANDS = {
    "0": lambda env: 0, "1": lambda env: 1, "2": lambda env: 2, "-1": lambda env: -1,
    "N": lambda env: env["N"], "M": lambda env: env["M"],
}
EXTENTS = ["N", "M", 3]


@st.composite
def affine_terms(draw: st.DrawFn, names: list[str]) -> list[tuple[str, int]]:
    """A sum like N - 1 + i: (operand, sign) pairs."""
    count = draw(st.integers(1, 3))
    return [(draw(st.sampled_from(names)), draw(st.sampled_from([1, -1])))
            for _ in range(count)]


def emit_sum(lines: list[str], terms: list[tuple[str, int]], values: dict[str, str],
             counter: list[int]) -> str:
    """IR computing the sum of `terms`; returns its SSA name."""
    result = values[terms[0][0]] if terms[0][1] == 1 else None
    if result is None:
        counter[0] += 1
        result = f"%v{counter[0]}"
        lines.append(f"{result} = arith.subi %c0, {values[terms[0][0]]} : i64")
    for name, sign in terms[1:]:
        counter[0] += 1
        op = "addi" if sign == 1 else "subi"
        lines.append(f"%v{counter[0]} = arith.{op} {result}, {values[name]} : i64")
        result = f"%v{counter[0]}"
    return result


def evaluate(terms: list[tuple[str, int]], env: dict[str, int]) -> int:
    return sum(sign * (env[name] if name in env else OPERANDS[name](env))
               for name, sign in terms)


@st.composite
def nests(draw: st.DrawFn) -> tuple[str, list, list, list, int | str, int]:
    """IR of `for i in LO..HI step S { for j in LO2..HI2 { t[IDX] = 0 } }`."""
    outer = (draw(affine_terms(["0", "1", "N", "M", "-1"])),
             draw(affine_terms(["0", "1", "2", "N", "M"])))
    inner = (draw(affine_terms(["0", "1", "i", "N"])), draw(affine_terms(["1", "i", "N", "M"])))
    index = draw(affine_terms(["0", "1", "-1", "i", "j", "N"]))
    extent = draw(st.sampled_from(EXTENTS))
    step = draw(st.sampled_from([1, 1, 2]))
    values = {"0": "%c0", "1": "%c1", "2": "%c2", "-1": "%cm1", "N": "%n", "M": "%m",
              "i": "%i", "j": "%j"}
    counter = [0]
    lines: list[str] = []
    outer_lo, outer_hi = (emit_sum(lines, t, values, counter) for t in outer)
    head = "\n".join(lines)
    lines = []
    inner_lo, inner_hi = (emit_sum(lines, t, values, counter) for t in inner)
    inner_head = "\n".join(lines)
    lines = []
    idx = emit_sum(lines, index, values, counter)
    body = "\n".join(lines)
    extent_text = f'"{extent}"' if isinstance(extent, str) else str(extent)
    tensor = f"!phx.tensor<i64, [{extent_text}]>"
    text = f"""
builtin.module {{
  func.func @k(%t: {tensor}) {{
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %c2 = arith.constant 2 : i64
    %cm1 = arith.constant -1 : i64
    %step = arith.constant {step} : i64
    %n = phx.sym "N"
    %m = phx.sym "M"
    {head}
    scf.for %i = {outer_lo} to {outer_hi} step %step : i64 {{
      {inner_head}
      scf.for %j = {inner_lo} to {inner_hi} step %c1 : i64 {{
        {body}
        phx.store %c0, %t[{idx}] : {tensor}
      }}
    }}
    func.return
  }}
}}"""
    return text, list(outer), list(inner), index, extent, step


def accessed_indices(outer: list, inner: list, index: list, step: int, env: dict[str, int]
                     ) -> list[int]:
    indices = []
    i = evaluate(outer[0], env)
    while i < evaluate(outer[1], env):
        scope = {**env, "i": i}
        for j in range(evaluate(inner[0], scope), evaluate(inner[1], scope)):
            indices.append(evaluate(index, {**scope, "j": j}))
        i += step
    return indices


def marked(module: ModuleOp) -> bool:
    (store,) = ops_of(module, phx.StoreOp)
    return store.in_bounds is not None  # type: ignore[attr-defined]


@settings(max_examples=150, deadline=None)
@given(nests())
def test_marked_accesses_are_in_range_for_all_symbol_values(nest: tuple) -> None:
    text, outer, inner, index, extent, step = nest
    if not marked(run("prove-in-bounds", text)):
        return
    for n in range(6):
        for m in range(6):
            env = {"N": n, "M": m}
            limit = extent if isinstance(extent, int) else env[extent]
            for value in accessed_indices(outer, inner, index, step, env):
                assert 0 <= value < limit, (text, env, value)


def test_the_common_stencil_and_triangle_shapes_are_proven() -> None:
    text = """
builtin.module {
  func.func @k(%t: !phx.tensor<i64, ["N"]>) {
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %n = phx.sym "N"
    %hi = arith.subi %n, %c1 : i64
    scf.for %i = %c1 to %hi step %c1 : i64 {
      %left = arith.subi %i, %c1 : i64
      %right = arith.addi %i, %c1 : i64
      phx.store %c0, %t[%left] : !phx.tensor<i64, ["N"]>
      phx.store %c0, %t[%right] : !phx.tensor<i64, ["N"]>
      scf.for %j = %c0 to %i step %c1 : i64 {
        phx.store %c0, %t[%j] : !phx.tensor<i64, ["N"]>
      }
    }
    phx.store %c0, %t[%c0] : !phx.tensor<i64, ["N"]>
    func.return
  }
}"""
    stores = ops_of(run("prove-in-bounds", text), phx.StoreOp)
    assert [s.in_bounds is not None for s in stores] == [True, True, True, False]  # type: ignore[attr-defined]
