"""The on-disk cache: hits, invalidation (source, globals, options, compiler version),
corrupt entries rebuilt, processes racing on a cold cache, and the environment switches."""

from __future__ import annotations

import dataclasses
import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import phextcc.embedding as phx
from phextcc.embedding import cache as cache_module
from phextcc.embedding import compiled as compiled_module
from phextcc.embedding.cache import DiskCache, decode_entry
from phextcc.embedding.cache_cli import cache_command
from tests.embedding import twins

ROOT = Path(__file__).resolve().parents[2]


def _saxpy_run(kernel: phx.Kernel) -> np.ndarray:
    x = np.arange(6, dtype=np.float32)
    out = np.zeros(6, np.float32)
    kernel(np.float32(2), x, x, out)
    return out


def _only_specialization(kernel: phx.Kernel) -> phx.CompiledKernel:
    (compiled,) = kernel.specializations.values()
    return compiled


def test_second_kernel_object_hits_the_cache(private_cache: Path) -> None:
    first = phx.kernel(twins.saxpy)
    expected = _saxpy_run(first)
    assert not _only_specialization(first).artifacts.from_cache
    entries = DiskCache(private_cache).entries()
    assert len(entries) == 1
    _, sections = decode_entry(entries[0].read_bytes())
    assert {"siw", "ir", "obj", "llvm"} <= set(sections)  # the JIT's object code too

    second = phx.kernel(twins.saxpy)
    np.testing.assert_array_equal(_saxpy_run(second), expected)
    compiled = _only_specialization(second)
    assert compiled.artifacts.from_cache
    assert compiled.ir == _only_specialization(first).ir


def test_native_code_is_loaded_not_rebuilt(monkeypatch: pytest.MonkeyPatch) -> None:
    _saxpy_run(phx.kernel(twins.saxpy))

    def no_llvm(*args: object) -> None:
        raise AssertionError("native code was rebuilt on a cache hit")

    monkeypatch.setattr(compiled_module, "build_native", no_llvm)
    monkeypatch.setattr(compiled_module, "build_program", no_llvm)
    assert _saxpy_run(phx.kernel(twins.saxpy))[3] == 9.0


def test_options_and_signatures_get_their_own_entries(private_cache: Path) -> None:
    _saxpy_run(phx.kernel(twins.saxpy))
    other_opt = phx.kernel(opt=1)(twins.saxpy)
    _saxpy_run(other_opt)
    assert not _only_specialization(other_opt).artifacts.from_cache
    checks_off = phx.kernel(checks=False)(twins.saxpy)
    _saxpy_run(checks_off)
    assert not _only_specialization(checks_off).artifacts.from_cache
    assert len(DiskCache(private_cache).entries()) == 3


def _write_module(directory: Path, name: str, body: str) -> Path:
    path = directory / f"{name}.py"
    path.write_text(textwrap.dedent(body))
    return path


_KERNEL_MODULE = """
    import numpy as np
    import phextcc.embedding as phx

    FACTOR = {factor}

    @phx.kernel
    def scale(x, out):
        for i in range(len(x)):
            out[i] = x[i] * FACTOR{extra}
"""

_RUNNER = """
    import importlib, json, sys, time
    import numpy as np
    import phextcc.embedding
    sys.path.insert(0, sys.argv[1])
    # The tree may be edited while the test runs; pin the compiler version so that
    # only the race and the hit are tested here (the version has its own test).
    sys.modules["phextcc.embedding.kernel"].compiler_version = lambda: "pinned"
    started = time.perf_counter()
    module = importlib.import_module(sys.argv[2])
    x = np.arange(5, dtype=np.float64)
    out = np.zeros(5)
    module.scale(x, out)
    elapsed = time.perf_counter() - started
    (compiled,) = module.scale.specializations.values()
    print(json.dumps({"out": out.tolist(), "hit": compiled.artifacts.from_cache,
                      "seconds": elapsed}))
"""


def _run_processes(directory: Path, module: str, count: int) -> list[dict]:
    import json

    runner = _write_module(directory, "runner_script", _RUNNER)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    processes = [subprocess.Popen([sys.executable, str(runner), str(directory), module],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                                  text=True) for _ in range(count)]
    results = []
    for process in processes:
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        results.append(json.loads(stdout.strip().splitlines()[-1]))
    return results


@pytest.mark.parametrize("count", [2, pytest.param(4, marks=pytest.mark.slow)])
def test_processes_racing_on_a_cold_cache(tmp_path: Path, private_cache: Path,
                                          count: int) -> None:
    _write_module(tmp_path, "racing_kernel", _KERNEL_MODULE.format(factor=3, extra=""))
    results = _run_processes(tmp_path, "racing_kernel", count)
    assert all(r["out"] == [0.0, 3.0, 6.0, 9.0, 12.0] for r in results)
    (entry,) = DiskCache(private_cache).entries()
    decode_entry(entry.read_bytes())  # intact: no torn writes
    assert not list(private_cache.glob(".tmp-*"))
    (warm,) = _run_processes(tmp_path, "racing_kernel", 1)
    assert warm["hit"] and warm["out"] == results[0]["out"]


def test_source_and_global_changes_invalidate(tmp_path: Path, private_cache: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    path = _write_module(tmp_path, "changing_kernel", _KERNEL_MODULE.format(factor=3, extra=""))
    module = importlib.import_module("changing_kernel")
    outputs = []
    for factor, extra in ((3, ""), (3, " + 1"), (5, " + 1"), (3, "")):
        _write_module(tmp_path, "changing_kernel", _KERNEL_MODULE.format(factor=factor,
                                                                         extra=extra))
        stamp = path.stat().st_mtime + len(outputs) + 1  # the file looks newer each time
        os.utime(path, (stamp, stamp))
        module = importlib.reload(module)
        x, out = np.arange(3, dtype=np.float64), np.zeros(3)
        module.scale(x, out)
        outputs.append((out.tolist(), _only_specialization(module.scale).artifacts.from_cache))
    assert outputs == [([0, 3, 6], False), ([1, 4, 7], False), ([1, 6, 11], False),
                       ([0, 3, 6], True)]
    assert len(DiskCache(private_cache).entries()) == 3
    sys.modules.pop("changing_kernel", None)


def test_compiler_version_is_part_of_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    _saxpy_run(phx.kernel(twins.saxpy))
    monkeypatch.setattr(cache_module, "compiler_version", lambda: "999.0+other")
    kernel_module = sys.modules["phextcc.embedding.kernel"]
    monkeypatch.setattr(kernel_module, "compiler_version", lambda: "999.0+other")
    kernel = phx.kernel(twins.saxpy)
    _saxpy_run(kernel)
    assert not _only_specialization(kernel).artifacts.from_cache
    assert _only_specialization(kernel).key.compiler_version == "999.0+other"


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_corrupt_entry_is_rebuilt(private_cache: Path, damage: str) -> None:
    expected = _saxpy_run(phx.kernel(engine="sim")(twins.saxpy))
    (entry,) = DiskCache(private_cache).entries()
    data = entry.read_bytes()
    damaged = {"truncate": data[: len(data) // 2],
               "flip": data[:-5] + bytes([data[-5] ^ 0xFF]) + data[-4:],
               "empty": b""}[damage]
    entry.write_bytes(damaged)
    kernel = phx.kernel(engine="sim")(twins.saxpy)
    np.testing.assert_array_equal(_saxpy_run(kernel), expected)
    assert not _only_specialization(kernel).artifacts.from_cache
    decode_entry(entry.read_bytes())  # rewritten whole


def test_cache_disabled_by_environment(monkeypatch: pytest.MonkeyPatch,
                                       private_cache: Path) -> None:
    monkeypatch.setenv("PHEXTCC_CACHE", "0")
    _saxpy_run(phx.kernel(engine="sim")(twins.saxpy))
    assert not private_cache.exists()


def test_cache_relocated_by_environment(monkeypatch: pytest.MonkeyPatch,
                                        tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("PHEXTCC_CACHE_DIR", str(elsewhere))
    _saxpy_run(phx.kernel(engine="sim")(twins.saxpy))
    assert len(DiskCache(elsewhere).entries()) == 1


def test_cache_option_false_writes_nothing(private_cache: Path) -> None:
    _saxpy_run(phx.kernel(engine="sim", cache=False)(twins.saxpy))
    assert not private_cache.exists()


def test_cache_key_is_a_named_frozen_object() -> None:
    kernel = phx.kernel(engine="sim")(twins.saxpy)
    _saxpy_run(kernel)
    key = _only_specialization(kernel).key
    assert [f.name for f in dataclasses.fields(key)] == [
        "kernel", "source_hash", "signature", "options", "compiler_version", "target_cpu"]
    assert key.signature == "(a: f32, x: f32[:], y: f32[:], out: f32[:])"
    with pytest.raises(dataclasses.FrozenInstanceError):
        key.signature = "x"  # type: ignore[misc]


def test_cache_command_info_and_clear(private_cache: Path) -> None:
    _saxpy_run(phx.kernel(engine="sim")(twins.saxpy))
    runner = CliRunner()
    info = runner.invoke(cache_command, ["info"])
    assert info.exit_code == 0, info.output
    assert str(private_cache) in info.output and "entries: 1" in info.output
    assert "tests.embedding.twins.saxpy(a: f32" in info.output
    cleared = runner.invoke(cache_command, ["clear"])
    assert cleared.exit_code == 0 and "removed 1 cache entry" in cleared.output
    assert DiskCache(private_cache).entries() == []
