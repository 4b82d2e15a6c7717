"""Loop passes (strength-reduce, unroll-inner, phx-licm) keep every loop's results for all
trip counts: 0, 1, factor - 1, factor, factor + 1, many; steps 1 to 3; negative
bounds; loop-carried values; checked by the phx IR interpreter before and after."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects import arith, scf

from phextcc.ir.context import parse_ir
from tests.ir.ir_interpreter import InterpreterError, run_kernel

from .helpers import ops_of, run

# out[0] = trip count, out[1] = sum of i * w + r over the iterations, out[2] = the
# last i * w seen; t[(i * w + r) % N] is read (the modulo may be negative: a trap).
# The float accumulator makes the loop serial (floats are never reassociated), so
# unroll-inner's profitability rules unroll it (an all-integer loop is left to the
# native vectoriser).
LOOP_KERNEL = """
builtin.module {
  func.func @k(%t: !phx.tensor<i64, ["N"]>, %out: !phx.tensor<i64, [3]>, %lb: i64,
               %ub: i64, %w: i64, %r: i64) attributes {phx.kernel, phx.symbols = ["N"],
               phx.param_names = ["t", "out", "lb", "ub", "w", "r"]} {
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %c2 = arith.constant 2 : i64
    %half = arith.constant 0.5 : f64
    %step = arith.constant STEP : i64
    %n = phx.sym "N"
    %res:4 = scf.for %i = %lb to %ub step %step iter_args(%count = %c0, %sum = %c0,
        %last = %c0, %acc = %half) -> (i64, i64, i64, f64) : i64 {
      %m = arith.muli %i, %w : i64
      %row = arith.addi %m, %r : i64
      %idx = arith.remsi %row, %n : i64
      %x = phx.load %t[%idx] : !phx.tensor<i64, ["N"]> -> i64
      %count1 = arith.addi %count, %c1 : i64
      %sum1 = arith.addi %sum, %row : i64
      %sum2 = arith.addi %sum1, %x : i64
      %acc1 = arith.addf %acc, %half : f64
      scf.yield %count1, %sum2, %m, %acc1 : i64, i64, i64, f64
    }
    phx.store %res#0, %out[%c0] : !phx.tensor<i64, [3]>
    phx.store %res#1, %out[%c1] : !phx.tensor<i64, [3]>
    phx.store %res#2, %out[%c2] : !phx.tensor<i64, [3]>
    func.return
  }
}
"""

BOUNDS = [(0, 0), (0, 1), (0, 3), (0, 4), (0, 5), (0, 13), (-7, 2), (5, 2), (3, 3), (-3, 9)]


def outcome(module: object, lb: int, ub: int, w: int, r: int) -> tuple[str, list[int]]:
    args = {"t": np.arange(7, dtype=np.int64) * 10, "out": np.zeros(3, np.int64),
            "lb": lb, "ub": ub, "w": w, "r": r}
    try:
        run_kernel(module, "k", args)  # type: ignore[arg-type]
    except InterpreterError as exc:
        return type(exc).__name__, []
    return "ok", [int(v) for v in args["out"]]


@pytest.mark.parametrize("step", [1, 2, 3])
@pytest.mark.parametrize("spec", [
    "strength-reduce",
    "unroll-inner{factor=2}",
    "unroll-inner{factor=4}",
    "unroll-inner{factor=16 max_ops=40}",
    "phx-licm,strength-reduce,unroll-inner{factor=3},phx-canonicalize,phx-cse,phx-dce",
])
def test_loop_pass_keeps_results(spec: str, step: int) -> None:
    text = LOOP_KERNEL.replace("STEP", str(step))
    before, after = parse_ir(text), run(spec, text)
    for lb, ub in BOUNDS:
        for w, r in ((3, 1), (-2, 40), (1, -1)):
            assert outcome(after, lb, ub, w, r) == outcome(before, lb, ub, w, r), (lb, ub, w, r)


def test_strength_reduce_removes_the_multiplication_from_the_loop() -> None:
    module = run("strength-reduce", LOOP_KERNEL.replace("STEP", "2"))
    loop = ops_of(module, scf.ForOp)[0]
    assert not [op for op in loop.body.walk() if isinstance(op, arith.MuliOp)]
    assert len(loop.iter_args) == 6  # the 4 original values + i * w + r and i * w


def test_unroll_leaves_a_main_and_a_remainder_loop() -> None:
    module = run("unroll-inner{factor=4}", LOOP_KERNEL.replace("STEP", "1"))
    main, remainder = ops_of(module, scf.ForOp)
    assert len(ops_of(main, arith.MuliOp)) == 4  # type: ignore[arg-type]
    assert len(ops_of(remainder, arith.MuliOp)) == 1  # type: ignore[arg-type]
    assert remainder.lb == main.ub and list(remainder.iter_args) == list(main.results)


def test_unroll_factor_shrinks_to_fit_the_body_limit() -> None:
    body = LOOP_KERNEL.replace("STEP", "1")
    size = sum(1 for op in ops_of(parse_ir(body), scf.ForOp)[0].body.walk())
    # The largest power-of-two share of 16 whose copies fit in 4.5 bodies: 4.
    module = run(f"unroll-inner{{factor=16 max_ops={size * 9 // 2}}}", body)
    main, _ = ops_of(module, scf.ForOp)
    assert len(ops_of(main, arith.MuliOp)) == 4  # type: ignore[arg-type]
    # The main loop's end is rounded down with a mask, not a remainder.
    outside = [op for op in module.walk() if isinstance(op, arith.RemSIOp | arith.AndIOp)
               and not isinstance(op.parent_op(), scf.ForOp)]
    assert outside and all(isinstance(op, arith.AndIOp) for op in outside)
    assert len(ops_of(run(f"unroll-inner{{factor=16 max_ops={size}}}", body), scf.ForOp)) == 1


def test_unroll_skips_outer_loops_and_variable_steps() -> None:
    text = """
builtin.module {
  func.func @k(%t: !phx.tensor<i64, ["N"]>, %s: i64) {
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %n = phx.sym "N"
    scf.for %i = %c0 to %n step %c1 : i64 {
      scf.for %j = %c0 to %n step %s : i64 {
        phx.store %j, %t[%j] : !phx.tensor<i64, ["N"]>
      }
    }
    func.return
  }
}"""
    assert len(ops_of(run("unroll-inner", text), scf.ForOp)) == 2


@pytest.mark.parametrize("division", ["divsi", "remsi"])
def test_licm_keeps_a_possibly_trapping_division_in_a_loop_that_may_not_run(
        division: str) -> None:
    text = """
builtin.module {
  func.func @k(%t: !phx.tensor<i64, [1]>, %a: i64, %b: i64, %n: i64) attributes {
      phx.kernel, phx.symbols = [], phx.param_names = ["t", "a", "b", "n"]} {
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    scf.for %i = %c0 to %n step %c1 : i64 {
      %q = arith.DIVISION %a, %b : i64
      %w = arith.muli %a, %a : i64
      %s = arith.addi %q, %w : i64
      phx.store %s, %t[%c0] : !phx.tensor<i64, [1]>
    }
    func.return
  }
}""".replace("DIVISION", division)
    module = run("phx-licm", text)
    (kept,) = ops_of(module, arith.DivSIOp if division == "divsi" else arith.RemSIOp)
    assert isinstance(kept.parent_op(), scf.ForOp)
    (hoisted,) = ops_of(module, arith.MuliOp)
    assert not isinstance(hoisted.parent_op(), scf.ForOp)
    args = {"t": np.zeros(1, np.int64), "a": 5, "b": 0, "n": 0}
    run_kernel(module, "k", args)  # zero trips: no division, no trap
    with pytest.raises(InterpreterError):
        run_kernel(module, "k", {**args, "n": 1})


def test_strength_reduce_handles_a_subtracted_offset_and_a_left_hand_factor() -> None:
    text = """
builtin.module {
  func.func @k(%t: !phx.tensor<i64, ["N"]>, %w: i64, %r: i64) attributes {phx.kernel,
      phx.symbols = ["N"], phx.param_names = ["t", "w", "r"]} {
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %n = phx.sym "N"
    scf.for %j = %c1 to %n step %c1 : i64 {
      %m = arith.muli %w, %j : i64
      %row = arith.subi %m, %r : i64
      phx.store %row, %t[%j] : !phx.tensor<i64, ["N"]>
    }
    func.return
  }
}"""
    before, after = parse_ir(text), run("strength-reduce,phx-canonicalize,phx-dce", text)
    assert not ops_of(after, arith.MuliOp)
    for w, r in ((-3, 7), (2**62, -(2**63)), (5, 0)):
        expected = {"t": np.zeros(5, np.int64), "w": w, "r": r}
        actual = {"t": np.zeros(5, np.int64), "w": w, "r": r}
        run_kernel(before, "k", expected)
        run_kernel(after, "k", actual)
        assert expected["t"].tolist() == actual["t"].tolist()
