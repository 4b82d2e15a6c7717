"""The phx dialect: types and ops verify what the IR contract promises, and print/parse."""

from __future__ import annotations

from io import StringIO

import pytest
from xdsl.dialects import arith, func
from xdsl.dialects.builtin import (
    FunctionType,
    IntAttr,
    IntegerAttr,
    ModuleOp,
    UnitAttr,
    f32,
    f64,
    i1,
    i32,
    i64,
)
from xdsl.ir import Attribute, Block, Operation, SSAValue
from xdsl.printer import Printer
from xdsl.traits import MemoryEffectKind, get_effects, is_side_effect_free
from xdsl.transforms.dead_code_elimination import is_trivially_dead
from xdsl.utils.exceptions import VerifyException

from phextcc.ir import phx_dialect as phx
from phextcc.ir.context import parse_ir, print_ir

TENSOR = phx.TensorType(f32, ["H", 4])


def _kernel(ops_builder, arg_types=(TENSOR, f32, i64)) -> ModuleOp:  # type: ignore[no-untyped-def]
    function = func.FuncOp("k", FunctionType.from_lists(list(arg_types), []))
    block: Block = function.body.block
    for op in ops_builder(*block.args):
        block.add_op(op)
    block.add_op(func.ReturnOp())
    return ModuleOp([function])


def _verify_fails(op: Operation, message: str) -> None:
    with pytest.raises(VerifyException, match=message):
        op.verify()


def test_tensor_type_prints_and_parses_back() -> None:
    module = _kernel(lambda t, v, i: [phx.StoreOp(v, t, [i, i])])
    text = print_ir(module)
    assert '!phx.tensor<f32, ["H", 4]>' in text
    assert "phx.store %1, %0[%2, %2] : !phx.tensor<f32, [\"H\", 4]>" in text
    assert print_ir(parse_ir(text)) == text


def test_tensor_type_rejects_bool_elements_and_bad_rank() -> None:
    with pytest.raises(VerifyException, match="element type"):
        phx.TensorType(i1, ["N"])
    with pytest.raises(VerifyException, match="rank"):
        phx.TensorType(f32, [])
    with pytest.raises(VerifyException, match="rank"):
        phx.TensorType(f32, [2] * 12)


def test_tensor_extents_keep_symbols_and_integers() -> None:
    assert phx.TensorType(i64, ["N", 3]).extents == ("N", 3)
    assert phx.TensorType(i64, ["N", 3]).rank == 2


def test_load_needs_one_index_per_axis() -> None:
    module = _kernel(lambda t, v, i: [phx.LoadOp(t, [i])])
    load = next(op for op in module.walk() if isinstance(op, phx.LoadOp))
    _verify_fails(load, "one index per axis")


def test_load_result_is_element_type() -> None:
    module = _kernel(lambda t, v, i: [phx.LoadOp(t, [i, i])])
    module.verify()
    load = next(op for op in module.walk() if isinstance(op, phx.LoadOp))
    assert load.result.type == f32


def test_store_value_must_match_element_type() -> None:
    module = _kernel(lambda t, v, i: [phx.StoreOp(i, t, [i, i])])
    store = next(op for op in module.walk() if isinstance(op, phx.StoreOp))
    with pytest.raises(VerifyException):
        store.verify()


def test_indices_must_be_i64() -> None:
    module = _kernel(lambda t, v, i: [phx.LoadOp(t, [i, i])], arg_types=(TENSOR, f32, i32))
    with pytest.raises(VerifyException):
        module.verify()


def test_allreduce_op_name_is_checked() -> None:
    module = _kernel(lambda t, v, i: [phx.AllReduceOp(v, "product")])
    reduce = next(op for op in module.walk() if isinstance(op, phx.AllReduceOp))
    _verify_fails(reduce, "sum, max, min")


def test_allreduce_keeps_the_value_type() -> None:
    for op_name in phx.ALLREDUCE_OPS:
        module = _kernel(lambda t, v, i, op_name=op_name: [phx.AllReduceOp(v, op_name)])
        module.verify()


def test_send_rejects_a_tensor_value() -> None:
    module = _kernel(lambda t, v, i: [phx.SendOp(i, t)])
    send = next(op for op in module.walk() if isinstance(op, phx.SendOp))
    _verify_fails(send, "scalar")


def test_recv_and_broadcast_types() -> None:
    module = _kernel(lambda t, v, i: [recv := phx.RecvOp(i, f64), phx.BroadcastOp(recv.result, i)])
    module.verify()
    text = print_ir(module)
    assert "phx.recv %2 : f64" in text
    assert print_ir(parse_ir(text)) == text


def test_pure_ops_and_effects() -> None:
    module = _kernel(lambda t, v, i: [
        phx.SymOp("H"), phx.SentronIdOp(), phx.NumSentronsOp(), phx.LoadOp(t, [i, i]),
        phx.StoreOp(v, t, [i, i]), phx.PrefetchOp(t, [i, i]), phx.SendOp(i, v),
        phx.RecvOp(i, f32), phx.BarrierOp(), phx.AllReduceOp(v, "max"),
        phx.BroadcastOp(v, i),
    ])
    ops = {type(op): op for op in module.walk()}
    for pure in (phx.SymOp, phx.SentronIdOp, phx.NumSentronsOp):
        assert is_side_effect_free(ops[pure])
        assert is_trivially_dead(ops[pure])  # unused: generic DCE may drop it
    load_effects = get_effects(ops[phx.LoadOp])
    assert load_effects is not None and {e.kind for e in load_effects} == {MemoryEffectKind.READ}
    # Stores, prefetches and every C-pipe op must survive DCE even when unused.
    for kept in (phx.StoreOp, phx.PrefetchOp, *phx.COMMUNICATION_OPS):
        assert not is_trivially_dead(ops[kept]), kept.name
        assert not is_side_effect_free(ops[kept]), kept.name
    for comm in phx.COMMUNICATION_OPS:
        effects = get_effects(ops[comm])
        assert effects is not None
        assert {e.kind for e in effects} == {MemoryEffectKind.READ, MemoryEffectKind.WRITE}
        # A fence for memory as well (shared tensors), not only for the message network.
        assert {e.resource.name() for e in effects} == {"<phx.cpipe>", "<Default>"}


def test_in_bounds_attribute_round_trips() -> None:
    def build(t: SSAValue, v: SSAValue, i: SSAValue) -> list[Operation]:
        load = phx.LoadOp(t, [i, i])
        load.in_bounds = UnitAttr()
        return [load]

    text = print_ir(_kernel(build))
    assert "{in_bounds}" in text
    reparsed = parse_ir(text)
    load = next(op for op in reparsed.walk() if isinstance(op, phx.LoadOp))
    assert load.in_bounds is not None
    assert print_ir(reparsed) == text


def test_generic_form_parses_too() -> None:
    module = _kernel(lambda t, v, i: [
        c := arith.ConstantOp(IntegerAttr(3, i64)), phx.LoadOp(t, [c.result, i])])
    buffer = StringIO()
    Printer(stream=buffer, print_generic_format=True).print_op(module)
    assert print_ir(parse_ir(buffer.getvalue())) == print_ir(module)


@pytest.mark.parametrize("level", [IntAttr(4), IntAttr(-1), IntegerAttr(9, i64)])
def test_prefetch_level_must_be_a_cache_level(level: Attribute) -> None:
    module = _kernel(lambda t, v, i: [phx.PrefetchOp(t, [i, i])])
    prefetch = next(op for op in module.walk() if isinstance(op, phx.PrefetchOp))
    prefetch.verify()  # no level: L1
    prefetch.attributes[phx.PREFETCH_LEVEL_ATTR] = IntegerAttr(1, i64)
    prefetch.verify()
    prefetch.attributes[phx.PREFETCH_LEVEL_ATTR] = level
    _verify_fails(prefetch, "level")
