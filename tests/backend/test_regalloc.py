"""Register allocation: liveness over loops, spilling in every register class (run in
the simulator), and the independent allocation checker."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects.func import FuncOp
from xdsl.rewriter import Rewriter

from phextcc.backend.codegen import program_from_siw, siw_ir
from phextcc.backend.liveness import Interval, compute_liveness, live_intervals, number_ops
from phextcc.backend.regalloc import SPILL_WORDS_ATTR, allocate_kernel, linear_scan
from phextcc.backend.regalloc_check import AllocationCheckError, check_allocation
from phextcc.ir.context import parse_ir
from phextcc.ir.siw_dialect import SiwOp
from tests.backend.backend_helpers import allocate_checked, only_kernel, run, source_module

ONE_TENSOR_HEADER = (
    'func.func @k() attributes {phx.kernel, phx.symbols = ["N"], '
    'phx.param_names = ["x", "out"], siw.param_types = '
    '[!phx.tensor<i64, ["N"]>, !phx.tensor<i64, [4]>]} {')


def siw_kernel(lines: list[str]) -> str:
    body = "\n".join(f"    {line}" for line in lines)
    return f"builtin.module {{\n  {ONE_TENSOR_HEADER}\n{body}\n    siw.halt\n  }}\n}}"


def _mnemonics(kernel: FuncOp) -> list[str]:
    return [op.mnemonic.data for op in kernel.walk() if isinstance(op, SiwOp)]


def test_liveness_keeps_values_used_in_a_loop_live_around_the_back_edge() -> None:
    module = source_module("""
    kernel k(n: i64, out: i64[1]) {
        var s: i64 = 0;
        for i in 0..n { s += n; }
        out[0] = s;
    }""")
    kernel = only_kernel(siw_ir(module))
    liveness = compute_liveness(kernel.body)
    blocks = list(kernel.body.blocks)
    # The back edge: a block branching to itself or to a block laid out before it.
    latch, header = next((b, s) for i, b in enumerate(blocks) for s in b.last_op.successors
                         if blocks.index(s) <= i)
    count = next(op.res[0] for op in kernel.walk()
                 if isinstance(op, SiwOp) and op.mnemonic.data == "DARG")
    assert count in liveness.live_in[header]
    assert count in liveness.live_out[latch]
    assert all(arg not in liveness.live_in[header] for arg in header.args)
    assert header.args[0] in liveness.live_out[latch] or latch is header
    numbers = number_ops(kernel.body)
    intervals = live_intervals(kernel.body, liveness)
    assert intervals[count].end >= 2 * numbers[latch.last_op] + 1


def test_linear_scan_spills_the_interval_that_ends_last() -> None:
    keys = [object() for _ in range(3)]
    intervals = {keys[0]: Interval(0, 100), keys[1]: Interval(1, 5), keys[2]: Interval(2, 6)}
    assigned, spilled = linear_scan(intervals, range(2))  # type: ignore[arg-type]
    assert spilled == [keys[0]]
    assert assigned[keys[1]] != assigned[keys[2]]


R_PRESSURE = 22


def test_general_registers_spill_and_the_program_still_computes() -> None:
    loads = "\n".join(f"        let a{k} = x[{k}];" for k in range(R_PRESSURE))
    total = " + ".join(f"a{k} * {k + 1}" for k in range(R_PRESSURE))
    source = f"kernel many(x: i64[N], out: i64[1]) {{\n{loads}\n        out[0] = {total};\n}}"
    module = source_module(source)
    ((kernel, _),) = allocate_checked(source_module(source))
    assert kernel.attributes[SPILL_WORDS_ATTR].data > 0
    assert {"SSPILL", "SFILL"} <= set(_mnemonics(kernel))
    from phextcc.backend.codegen import compile_module

    program = compile_module(module)
    assert program.kernels[0].spill_words > 0
    x = np.arange(100, 100 + R_PRESSURE, dtype=np.int64)
    out = np.zeros(1, np.int64)
    run(program, "many", {'x': x, 'out': out})
    assert out[0] == sum(int(x[k]) * (k + 1) for k in range(R_PRESSURE))


def _p_pressure_ir(count: int) -> str:
    lines = ['%base = siw.op "SBASE" () [0] : () -> !siw.p']
    for k in range(count):
        lines.append(f'%i{k} = siw.op "DMOVI" () [{k}] : () -> !siw.r')
        lines.append(f'%p{k} = siw.op "SINDEX" (%base, %i{k}) [0] : '
                     "(!siw.p, !siw.r) -> !siw.p")
    lines.append('%acc0 = siw.op "DMOVI" () [0] : () -> !siw.r')
    for k in reversed(range(count)):  # every coordinate is live until here
        step = count - k
        lines.append(f'%v{k} = siw.op "SGATHER.i64" (%p{k}) [0] : (!siw.p) -> !siw.r')
        lines.append(f'%w{k} = siw.op "DMUL.i64" (%v{k}, %i{k}) [] : '
                     "(!siw.r, !siw.r) -> !siw.r")
        lines.append(f'%acc{step} = siw.op "DADD.i64" (%acc{step - 1}, %w{k}) [] : '
                     "(!siw.r, !siw.r) -> !siw.r")
    lines += ['%obase = siw.op "SBASE" () [1] : () -> !siw.p',
              f'siw.op "SSCATTR.i64" (%obase, %acc{count}) [0] : (!siw.p, !siw.r) -> ()']
    return siw_kernel(lines)


def _m_pressure_ir(count: int) -> str:
    lines = []
    for k in range(count):
        lines.append(f'%r{k} = siw.op "DMOVI" () [{k + 1}] : () -> !siw.r')
        lines.append(f"%m{k}_0 = siw.undef : !siw.m")
        for lane in range(4):
            lines.append(f'%m{k}_{lane + 1} = siw.op "CPACK" (%m{k}_{lane}, %r{k}) [{lane}] : '
                         "(!siw.m, !siw.r) -> !siw.m")
    lines.append('%obase = siw.op "SBASE" () [1] : () -> !siw.p')
    lines.append('%acc0 = siw.op "DMOVI" () [0] : () -> !siw.r')
    for k in reversed(range(count)):  # all messages are live until here
        step = count - k
        lines.append(f'%s{k} = siw.op "DRED.i64" (%m{k}_4) [0] : (!siw.m) -> !siw.r')
        lines.append(f'%t{k} = siw.op "DMUL.i64" (%s{k}, %r{k}) [] : '
                     "(!siw.r, !siw.r) -> !siw.r")
        lines.append(f'%acc{step} = siw.op "DADD.i64" (%acc{step - 1}, %t{k}) [] : '
                     "(!siw.r, !siw.r) -> !siw.r")
    lines.append(f'siw.op "SSCATTR.i64" (%obase, %acc{count}) [0] : (!siw.p, !siw.r) -> ()')
    return siw_kernel(lines)


@pytest.mark.parametrize(("make", "count", "spill_ops", "expected"), [
    (_p_pressure_ir, 12, {"SSPILLP", "SFILLP"},
     lambda x, n: sum(int(x[k]) * k for k in range(n))),
    (_m_pressure_ir, 7, {"SSPILLM", "SFILLM"},
     lambda x, n: sum(4 * (k + 1) * (k + 1) for k in range(n))),
])
def test_coordinate_and_message_registers_spill_and_run(make, count, spill_ops, expected
                                                        ) -> None:
    module = parse_ir(make(count))
    module.verify()
    kernel = only_kernel(module)
    reloads = allocate_kernel(kernel).reloads
    check_allocation(kernel.body, reloads)
    assert reloads  # every fill says what it reloads
    program = program_from_siw(parse_ir(make(count)))
    assert spill_ops <= set(_mnemonics(kernel))
    slot_size = 2 if "SSPILLP" in spill_ops else 4
    assert program.kernels[0].spill_words >= slot_size
    x = np.arange(50, 50 + count, dtype=np.int64)
    out = np.zeros(4, np.int64)
    run(program, "k", {'x': x, 'out': out})
    assert out[0] == expected(x, count)


def test_checker_accepts_every_allocation_and_catches_a_clobbered_register() -> None:
    source = """
    kernel k(n: i64, x: f64[N], out: f64[1]) {
        var s: f64 = 0.0;
        var t: f64 = 1.0;
        for i in 0..n { s += x[i]; t *= 2.0; }
        out[0] = s + t;
    }"""
    ((kernel, reloads),) = allocate_checked(source_module(source))
    # Break it: move the loop's limit (n, live through the loop: the bottom test is
    # i + 1 < n) onto the register of the running sum.
    limit = next(op for op in kernel.walk()
                 if isinstance(op, SiwOp) and op.mnemonic.data == "DARG")
    adds = [op for op in kernel.walk() if isinstance(op, SiwOp) and op.mnemonic.data == "DADD.f64"]
    Rewriter.replace_value_with_new_type(limit.res[0], adds[0].res[0].type)
    with pytest.raises(AllocationCheckError):
        check_allocation(kernel.body, reloads)


def test_checker_catches_a_fill_from_the_wrong_slot() -> None:
    loads = "\n".join(f"    let a{k} = x[{k}];" for k in range(R_PRESSURE))
    total = " + ".join(f"a{k}" for k in range(R_PRESSURE))
    source = f"kernel many(x: i64[N], out: i64[1]) {{\n{loads}\n    out[0] = {total};\n}}"
    ((kernel, reloads),) = allocate_checked(source_module(source))
    fills = [op for op in kernel.walk() if isinstance(op, SiwOp) and op.mnemonic.data == "SFILL"]
    slots = sorted({op.immediates[0] for op in fills})
    assert len(slots) >= 2
    victim = fills[0]
    other_slot = next(slot for slot in slots if slot != victim.immediates[0])
    wrong = SiwOp("SFILL", [], [other_slot], [victim.res[0].type])
    victim.parent_block().insert_op_before(wrong, victim)
    victim.res[0].replace_all_uses_with(wrong.res[0])
    reloads[wrong.res[0]] = reloads.pop(victim.res[0])
    victim.detach()
    victim.erase()
    with pytest.raises(AllocationCheckError):
        check_allocation(kernel.body, reloads)


def test_spilled_parameters_and_constants_are_recomputed_not_stored() -> None:
    count = 24
    params = ", ".join(f"a{k}: i64" for k in range(count))
    total = " + ".join(f"a{k} * {1000 + k}" for k in range(count))
    source = f"kernel k({params}, out: i64[1]) {{ out[0] = {total}; }}"
    ((kernel, _),) = allocate_checked(source_module(source))
    names = _mnemonics(kernel)
    assert "SFILL" not in names and "SSPILL" not in names
    assert kernel.attributes[SPILL_WORDS_ATTR].data == 0
    up_front = names[:names.index("DMUL.i64")]
    assert up_front.count("DARG") < 16 <= count == names.count("DARG")  # moved to the uses
    from phextcc.backend.codegen import compile_module

    program = compile_module(source_module(source))
    args: dict[str, object] = {f"a{k}": k * 7 - 30 for k in range(count)}
    out = np.zeros(1, np.int64)
    args["out"] = out
    run(program, "k", args)
    assert out[0] == sum((k * 7 - 30) * (1000 + k) for k in range(count))


def test_loop_carried_updates_are_coalesced_with_their_copies() -> None:
    from phextcc.backend.codegen import compile_module

    source = """
    kernel dot(x: f32[N], y: f32[N], out: f32[1]) {
        var acc: f32 = 0.0;
        for i in 0..N { acc += x[i] * y[i]; }
        out[0] = acc;
    }"""
    program = compile_module(source_module(source))
    names = [w.d.info.mnemonic for w in program.words]
    latch = names.index("DBR.lt.i64")  # the bottom test of the rotated loop
    loop_start = program.words[latch].d.args[-1]  # its target
    assert loop_start < latch
    assert "DMOV" not in names[loop_start:latch]  # acc and i are updated in place
    x = np.arange(7, dtype=np.float32)
    out = np.zeros(1, np.float32)
    run(program, "dot", {"x": x, "y": x, "out": out})
    assert out[0] == float(np.dot(x, x))


def test_a_block_argument_read_after_its_web_is_overwritten_is_rejected() -> None:
    from phextcc.backend.regalloc_coalesce import WebInterferenceError

    # ^loop's %x is read in ^exit, but the back edge's copy %c (passed to %x, so in
    # the same register) was written before the branch: the classic lost copy.
    text = siw_kernel([
        '%zero = siw.op "DMOVI" () [0] : () -> !siw.r',
        '%one = siw.op "DMOVI" () [1] : () -> !siw.r',
        '%init = siw.op "DMOV" (%zero) [] : (!siw.r) -> !siw.r',
        "siw.jump ^bb1(%init : !siw.r)",
        "^bb1(%x: !siw.r):",
        '%y = siw.op "DADD.i64" (%x, %one) [] : (!siw.r, !siw.r) -> !siw.r',
        '%c = siw.op "DMOV" (%y) [] : (!siw.r) -> !siw.r',
        'siw.branch "DBZ"(%zero : !siw.r), ^bb1(%c : !siw.r), ^bb2',
        "^bb2:",
        '%base = siw.op "SBASE" () [1] : () -> !siw.p',
        'siw.op "SSCATTR.i64" (%base, %x) [0] : (!siw.p, !siw.r) -> ()',
    ])
    module = parse_ir(text)
    module.verify()
    with pytest.raises(WebInterferenceError):
        allocate_kernel(only_kernel(module))
