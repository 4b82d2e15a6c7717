"""The tier pipelines are data, every phextcc pass is registered and well-formed, and
`build_pipeline(..., verify_between=True)` catches a pass that breaks the IR."""

from __future__ import annotations

import dataclasses
import re

import pytest
from xdsl.context import Context
from xdsl.dialects import arith, builtin
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import VerifyException

from phextcc.ir.context import make_context, parse_ir
from phextcc.passes import pipeline
from phextcc.passes.pipeline import (
    TIER_PIPELINES,
    available_passes,
    build_pipeline,
    phextcc_passes,
    pipeline_spec,
    run_pipeline,
)

KEBAB = re.compile(r"^[a-z]+(-[a-z]+)*$")


def pass_names(opt_level: int) -> list[str]:
    return [spec.split("{")[0] for spec in TIER_PIPELINES[opt_level]]


def test_tiers_grow_as_documented() -> None:
    """-O0..-O2 run the same scalar passes (they differ in packing); -O3 adds the loop
    transformations after them."""
    scalar = pass_names(0)
    assert {"phx-canonicalize", "phx-cse", "phx-dce", "phx-licm", "prove-in-bounds",
            "strength-reduce"} == set(scalar)
    assert pass_names(1) == pass_names(2) == scalar
    assert pass_names(3)[:len(scalar)] == scalar
    assert {"unroll-inner", "prefetch-insert"} <= set(pass_names(3)) - set(scalar)


def test_bounds_are_proven_before_strength_reduction_and_unrolling() -> None:
    for level in (0, 1, 2, 3):
        names = pass_names(level)
        assert names.index("prove-in-bounds") < names.index("strength-reduce")


@pytest.mark.parametrize("name", sorted(phextcc_passes()))
def test_each_pass_is_a_frozen_dataclass_with_its_registry_name(name: str) -> None:
    pass_class = phextcc_passes()[name]()
    assert issubclass(pass_class, ModulePass)
    assert dataclasses.is_dataclass(pass_class)
    assert pass_class.__dataclass_params__.frozen  # type: ignore[attr-defined]
    assert pass_class.name == name and KEBAB.match(name)


def test_every_tier_spec_parses_and_names_known_passes() -> None:
    known = available_passes()
    for level in (0, 1, 2, 3):
        assert all(name in known for name in pass_names(level))
        assert len(build_pipeline(pipeline_spec(level)).passes) == len(TIER_PIPELINES[level])


def test_run_pipeline_applies_the_tier() -> None:
    module = parse_ir("""
builtin.module {
  func.func @k(%t: !phx.tensor<i64, [4]>) {
    %c1 = arith.constant 1 : i64
    %c2 = arith.constant 2 : i64
    %s = arith.addi %c1, %c2 : i64
    phx.store %s, %t[%c2] : !phx.tensor<i64, [4]>
    func.return
  }
}""")
    run_pipeline(module, 1, verify_between=True)
    ops = list(module.walk())
    assert not [op for op in ops if isinstance(op, arith.AddiOp)]
    assert [op.in_bounds is not None for op in ops if op.name == "phx.store"] == [True]  # type: ignore[attr-defined]


@dataclasses.dataclass(frozen=True)
class BreakTypesPass(ModulePass):
    """Test-only: replaces an i64 constant by an f32 one without fixing its users."""

    name = "break-types"

    def apply(self, ctx: Context, op: builtin.ModuleOp) -> None:
        for constant in [o for o in op.walk() if isinstance(o, arith.ConstantOp)]:
            constant.results[0]._type = builtin.f32  # type: ignore[attr-defined]
            return


def test_verify_between_catches_a_pass_that_breaks_the_ir(
        monkeypatch: pytest.MonkeyPatch) -> None:
    registry = {**pipeline.phextcc_passes(), "break-types": lambda: BreakTypesPass}
    monkeypatch.setattr(pipeline, "phextcc_passes", lambda: registry)
    text = """
builtin.module {
  func.func @k(%t: !phx.tensor<i64, [4]>) {
    %c1 = arith.constant 1 : i64
    phx.store %c1, %t[%c1] : !phx.tensor<i64, [4]>
    func.return
  }
}"""
    build_pipeline("break-types").apply(make_context(), parse_ir(text))  # silently broken
    with pytest.raises(VerifyException):
        build_pipeline("break-types,phx-dce", verify_between=True).apply(
            make_context(), parse_ir(text))
