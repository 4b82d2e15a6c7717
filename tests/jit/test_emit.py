"""What the translation gives LLVM and what LLVM makes of it: vector code for a saxpy
loop (host and -mcpu=znver4), registers promoted to SSA, the three emit kinds."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from runtime.jit import emit_native, jit_compile, run
from tests.jit.helpers import asm, assert_same_outcome
from tests.jit.kernels import DOT, EMBEDDING_BAG, SAXPY


def filecheck(text: str, checks: str, tmp_path: Path) -> None:
    """Run FileCheck-style CHECK lines over ``text``."""
    tool = shutil.which("filecheck")
    assert tool is not None, "filecheck not found: pip install -e '.[test]'"
    check_file = tmp_path / "checks.txt"
    check_file.write_text(checks)
    result = subprocess.run([tool, str(check_file)], input=text, capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_znver4_assembly_has_wide_vector_code_for_saxpy(tmp_path: Path) -> None:
    text = emit_native(asm(SAXPY), "asm", cpu="znver4")
    assert isinstance(text, str)
    filecheck(text, """
CHECK-LABEL: k_saxpy:
CHECK: vmulps {{.*}}{{[yz]}}mm
CHECK: vaddps {{.*}}{{[yz]}}mm
CHECK: vmovups {{.*}}{{[yz]}}mm
""", tmp_path)


def test_host_ir_of_saxpy_is_vectorised_and_register_free() -> None:
    native = jit_compile(asm(SAXPY), opt_level=3)
    body = native.llvm_ir
    assert "x float>" in body  # <8 x float> or <16 x float>
    assert "alloca" not in body  # every register became an SSA value
    assert "inttoptr" not in body


def test_o0_does_not_vectorise() -> None:
    text = emit_native(asm(SAXPY), "llvm", opt_level=0)
    assert isinstance(text, str) and "x float>" not in text


def test_emit_kinds() -> None:
    program = asm(SAXPY)
    llvm_text = emit_native(program, "llvm", cpu="znver4", mattr="+avx2")
    assert isinstance(llvm_text, str)
    assert re.search(r"define .*i32 @k_saxpy\(ptr", llvm_text)
    obj = emit_native(program, "obj", cpu="znver4")
    assert isinstance(obj, bytes) and obj[:4] == b"\x7fELF"
    with pytest.raises(ValueError, match="unknown emit kind"):
        emit_native(program, "exe")


@pytest.mark.parametrize("opt_level", [0, 3])
def test_saxpy_and_dot_match_the_simulator_bit_for_bit(opt_level: int) -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal(1000).astype(np.float32)
    y = rng.standard_normal(1000).astype(np.float32)
    out, error = assert_same_outcome(asm(SAXPY), "saxpy", [x, y, 0.75], opt_level=opt_level)
    assert error is None
    assert np.array_equal(out[1], (x * np.float32(0.75) + y).astype(np.float32))
    out, error = assert_same_outcome(asm(DOT), "dot", [x, y, np.zeros(1, np.float32)],
                                     opt_level=opt_level)
    assert error is None


def test_embedding_bag_matches_the_simulator() -> None:
    rng = np.random.default_rng(2)
    table = rng.standard_normal((50, 8)).astype(np.float32)
    ids = rng.integers(0, 50, 24).astype(np.int32)
    out, error = assert_same_outcome(asm(EMBEDDING_BAG), "embedding_bag",
                                     [table, ids, np.zeros((6, 8), np.float32), 4])
    assert error is None
    expected = table[ids].reshape(6, 4, 8)
    manual = np.zeros((6, 8), np.float32)
    for j in range(4):
        manual += expected[:, j, :]
    assert np.array_equal(out[2], manual)


def test_embedding_bag_rejects_a_bad_id() -> None:
    ids = np.array([0, 1, 99, 2], dtype=np.int32)
    _, error = assert_same_outcome(asm(EMBEDDING_BAG), "embedding_bag",
                                   [np.ones((10, 4), np.float32), ids,
                                    np.zeros((2, 4), np.float32), 2])
    assert error is not None and "tensor 'table'" in str(error)


def test_compiled_modules_are_cached_per_program_and_options() -> None:
    first = jit_compile(asm(SAXPY), opt_level=2)
    assert jit_compile(asm(SAXPY), opt_level=2) is first
    assert jit_compile(asm(SAXPY), opt_level=1) is not first
    assert jit_compile(asm(SAXPY), opt_level=2, checks=False) is not first
    x = np.ones(4, np.float32)
    y = np.ones(4, np.float32)
    run(first, "saxpy", [x, y, 2.0])
    assert list(y) == [3.0] * 4


def test_fastmath_is_opt_in() -> None:
    plain = emit_native(asm(DOT), "llvm", opt_level=1)
    fast = emit_native(asm(DOT), "llvm", opt_level=1, fastmath=True)
    assert isinstance(plain, str) and isinstance(fast, str)
    assert "fadd fast" not in plain and "fmul fast" not in plain
    assert "fast" in fast


def test_compiling_and_running_from_several_threads() -> None:
    import threading

    program = asm(SAXPY)
    failures: list[BaseException] = []

    def worker(scale: float) -> None:
        try:
            native = jit_compile(program, opt_level=1)
            x = np.arange(64, dtype=np.float32)
            y = np.zeros(64, dtype=np.float32)
            run(native, "saxpy", [x, y, scale])
            assert np.array_equal(y, x * np.float32(scale))
        except BaseException as error:  # noqa: BLE001 - reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(float(k),)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
