"""``phextcc.compile``: .phx text or a file -> a module whose attributes are kernels."""

from __future__ import annotations

import numpy as np
import pytest

import phextcc.embedding as phx
from phextcc.diagnostics import CompileError
from tests.e2e.oracle import EXAMPLES

_TWO_KERNELS = """
kernel fill(out: i64[N], value: i64) {
    for i in 0..N { out[i] = value; }
}
kernel double(out: i64[N]) {
    for i in 0..N { out[i] = out[i] * 2; }
}
"""


def test_compile_a_file_and_call_its_kernel() -> None:
    module = phx.compile(EXAMPLES / "saxpy.phx", opt=1)
    x = np.arange(4, dtype=np.float32)
    out = np.zeros(4, np.float32)
    module.saxpy(np.float32(3), x, x, out)
    assert out.tolist() == [0, 4, 8, 12]
    assert module["saxpy"] is module.saxpy and "saxpy" in dir(module)


@pytest.mark.parametrize("engine", ["sim", "jit"])
def test_compile_source_text_with_several_kernels(engine: str) -> None:
    module = phx.compile(_TWO_KERNELS, engine=engine)
    out = np.zeros(5, np.int64)
    module.fill(out, 4)
    module.double(out)
    assert out.tolist() == [8] * 5
    assert sorted(module.kernels) == ["double", "fill"]


def test_inspection_of_a_compiled_kernel() -> None:
    kernel = phx.compile(_TWO_KERNELS, engine="sim").double
    assert "func.func @double" in kernel.ir
    assert ".kernel double" in kernel.siw_asm
    assert "define" in kernel.llvm
    assert kernel.asm.strip()
    static = kernel.stats()
    assert static["siws"] > 0 and set(static["ops"]) == {"D", "S", "C"}
    dynamic = kernel.stats(np.zeros(3, np.int64))
    assert dynamic  # simulator statistics of one run


def test_compile_errors_render_with_a_caret() -> None:
    with pytest.raises(CompileError) as info:
        phx.compile("kernel k(x: f32[N]) {\n    x[0] = y;\n}\n")
    lines = str(info.value).splitlines()
    assert lines[0].startswith("<string>:2:12: error: unknown identifier 'y'")
    assert lines[1] == "    x[0] = y;"
    assert lines[2] == " " * 11 + "^"


def test_missing_file_is_a_compile_error(tmp_path: object) -> None:
    with pytest.raises(CompileError, match="no such file"):
        phx.compile("does/not/exist.phx")


def test_python_kernel_inspection_per_signature() -> None:
    @phx.kernel(engine="sim", cache=False)
    def scale(x, out):
        for i in range(len(x)):
            out[i] = x[i] * 2

    scale(np.ones(2, np.float32), np.zeros(2, np.float32))
    scale(np.ones(2, np.int32), np.zeros(2, np.int32))
    assert len(scale.signatures) == 2
    for signature in scale.signatures:
        compiled = scale.specializations[signature]
        assert compiled.signature == signature
        assert ".kernel scale" in compiled.siw_asm
        assert compiled.stats()["siws"] > 0
    assert scale.compile(np.ones(2, np.int32), np.zeros(2, np.int32)) is \
        scale.specializations[scale.signatures[1]]
