"""The kernel table compile_module fills from the kernels' attributes."""

from __future__ import annotations

from xdsl.dialects.builtin import IntegerAttr, i64

from phextcc.backend.codegen import compile_module
from phextcc.backend.program import Param
from tests.backend.backend_helpers import compile_source, source_module


def test_params_symbols_and_cpipe_use() -> None:
    program = compile_source("""
    kernel plain(flag: bool, s: f64, m: i32[R, 3], v: f32[C]) { if flag { v[0] = 1.0; } }
    kernel talk(x: i64[N]) { let t = allreduce(x[0], sum); x[0] = t; }
    kernel ids(out: i64[2]) { out[0] = sentron_id(); out[1] = num_sentrons(); }
    """)
    plain, talk, ids = program.kernels
    assert plain.params == (Param("flag", "bool"), Param("s", "f64"),
                            Param("m", "i32", ("R", 3), True), Param("v", "f32", ("C",), True))
    assert plain.symbols == ("R", "C")
    assert (plain.uses_cpipe, talk.uses_cpipe, ids.uses_cpipe) == (False, True, False)
    assert (plain.min_sentrons, plain.max_sentrons) == (1, 0)
    assert [k.name for k in program.kernels] == ["plain", "talk", "ids"]


def test_declared_sentron_counts_are_copied() -> None:
    module = source_module("kernel k(x: i64[N]) { x[0] = 1; }")
    kernel = next(iter(module.ops))
    kernel.attributes["phx.min_sentrons"] = IntegerAttr(2, i64)
    kernel.attributes["phx.max_sentrons"] = IntegerAttr(8, i64)
    info = compile_module(module).kernels[0]
    assert (info.min_sentrons, info.max_sentrons) == (2, 8)
