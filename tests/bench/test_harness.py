"""The bench harness on the tiny suite: results are checked against numpy, the JSON has
its documented shape, regressions are detected, and missing peers are skipped."""

from __future__ import annotations

import copy
import json
import sys
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from runtime.bench import regression
from runtime.bench.measure import mismatches
from runtime.bench.peers import PeerSet
from runtime.bench.plot import write_plot
from runtime.bench.report import render
from runtime.bench.runner import RunOptions, compiler_gap, failures, run_suite

TINY = RunOptions(suite="tiny", tiers=(0, 3), repeat=2, peers=("numpy",))


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return run_suite(TINY)


def test_document_has_the_documented_shape(document: dict[str, Any]) -> None:
    assert document["schema"] == "phextcc-bench/1"
    assert set(document["machine"]) >= {"cpu", "cores", "python", "llvmlite"}
    assert document["tiers"] == ["O0", "O3"]
    saxpy = document["kernels"]["saxpy"]
    assert saxpy["sim_size"] == 8 and saxpy["native_size"] == 64
    assert saxpy["sim_shapes"]["x"] == [64] and saxpy["native_shapes"]["x"] == [512]
    for entry in [*saxpy["tiers"].values(), saxpy["hand"]]:
        assert entry["correct"] and entry["errors"] == []
        assert entry["siws"] > 0 and entry["ops_per_siw"] >= 1.0
        assert entry["sim"]["cycles"] > 0 and entry["sim"]["ops_per_cycle"] > 0
        native = entry["native"]
        assert len(native["samples"]) == 2
        assert native["median"] == pytest.approx(float(np.median(native["samples"])))
    assert saxpy["tiers"]["O3"]["compile_seconds"] >= 0
    gap = saxpy["compiler_gap"]
    assert gap["tier"] == "O3"
    assert gap["cycles"] == pytest.approx(saxpy["tiers"]["O3"]["sim"]["cycles"]
                                          / saxpy["hand"]["sim"]["cycles"], rel=1e-3)
    assert set(saxpy["peers"]) == {"numpy"} and "median" in saxpy["peers"]["numpy"]
    assert saxpy["ratios"]["numpy"] > 0
    assert failures(document) == []
    json.dumps(document)   # plain JSON all the way down
    table = render(document)
    assert "saxpy" in table and "hand" in table and "O3" in table


def test_gap_is_missing_without_a_twin() -> None:
    kernel = {"tiers": {"O3": {"siws": 10, "sim": {"cycles": 100}}}, "hand": None}
    assert compiler_gap(kernel, "O3") is None


def test_wrong_result_is_caught() -> None:
    want = {"out": np.array([1.0, 2.0, 3.0], np.float32), "ids": np.array([1, 2], np.int32)}
    got = copy.deepcopy(want)
    assert mismatches(got, want, 1e-4) == []
    got["out"][1] = 2.5
    got["ids"][0] = 7
    problems = mismatches(got, want, 1e-4)
    assert len(problems) == 2 and problems[0].startswith("out") and "ids" in problems[1]
    got = copy.deepcopy(want)
    got["out"][2] = np.nan
    assert mismatches(got, want, 1e-4)


def test_wrong_kernel_fails_the_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.bench.loading import benchmark_module
    references = benchmark_module("suite").references().REFERENCES

    def off_by_one(a: Any, x: np.ndarray, y: np.ndarray, out: np.ndarray,
                   sentrons: int = 1) -> None:
        out[:] = np.float32(a) * x + y + np.float32(1.0)

    monkeypatch.setitem(references, "saxpy", off_by_one)
    options = RunOptions(suite="tiny", kernels=("saxpy",), tiers=(1,), repeat=1, peers=(),
                         native=False)
    found = failures(run_suite(options))
    assert any(f.startswith("saxpy O1: simulator: out") for f in found)
    assert any(f.startswith("saxpy hand: simulator: out") for f in found)


def _slowed(document: dict[str, Any], seconds: float) -> dict[str, Any]:
    """The document with dot -O3 made ``seconds`` slower on every sample."""
    slowed = copy.deepcopy(document)
    native = slowed["kernels"]["dot"]["tiers"]["O3"]["native"]
    native["samples"] = [s + seconds for s in native["samples"]]
    native["median"] += seconds
    return slowed


def test_regressions_are_detected(document: dict[str, Any]) -> None:
    assert regression.compare(document, document) == []
    found = regression.compare(document, _slowed(document, 0.01))
    assert [(r.kernel, r.variant, r.metric) for r in found] == [("dot", "O3", "native time")]
    assert "dot O3: native time" in found[0].describe()
    grown = copy.deepcopy(document)
    grown["kernels"]["saxpy"]["tiers"]["O0"]["siws"] += 1
    grown["kernels"]["saxpy"]["hand"]["sim"]["cycles"] += 1
    metrics = {(r.kernel, r.variant, r.metric) for r in regression.compare(document, grown)}
    assert metrics == {("saxpy", "O0", "siws"), ("saxpy", "hand", "sim cycles")}


def test_noise_tolerance_comes_from_the_samples() -> None:
    steady = {"median": 1.0, "samples": [1.0, 1.0, 1.0]}
    noisy = {"median": 1.0, "samples": [0.5, 1.0, 1.5]}
    assert regression.allowed_time(steady, steady, 0.1) == pytest.approx(1.1)
    assert regression.allowed_time(noisy, steady, 0.1) == pytest.approx(2.5)
    tiny = {"median": 1e-5, "samples": [1e-5, 1e-5]}
    assert regression.allowed_time(tiny, tiny, 0.1) == pytest.approx(1e-5 + 1e-3)


def test_missing_numba_and_compiler_are_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.bench.loading import benchmark_module
    benchmark_module.cache_clear()
    monkeypatch.setitem(sys.modules, "numba", None)
    monkeypatch.setenv("CC", "no-such-c-compiler")
    try:
        with PeerSet(("numpy", "numba", "c")) as peers:
            notes = peers.notes()
            assert notes["numpy"] == {"available": True, "note": None}
            assert not notes["numba"]["available"] and "numba" in notes["numba"]["note"]
            assert not notes["c"]["available"] and "compiler" in notes["c"]["note"]
    finally:
        benchmark_module.cache_clear()


def test_cli_json_baseline_and_regression(tmp_path: Any, document: dict[str, Any]) -> None:
    from phextcc.bench_cli import bench_command
    runner = CliRunner()
    base = tmp_path / "base.json"
    args = ["--suite", "tiny", "--kernels", "dot", "--tiers", "3", "--repeat", "1",
            "--peers", "", "--no-native"]
    written = runner.invoke(bench_command, [*args, "--baseline", str(base),
                                            "--update-baseline"])
    assert written.exit_code == 0, written.output
    stored = json.loads(base.read_text())
    assert stored["kernels"]["dot"]["tiers"]["O3"]["correct"]
    clean = runner.invoke(bench_command, [*args, "--baseline", str(base),
                                          "--json", str(tmp_path / "now.json")])
    assert clean.exit_code == 0, clean.output
    assert "no regressions" in clean.output
    stored["kernels"]["dot"]["tiers"]["O3"]["siws"] -= 1
    base.write_text(json.dumps(stored))
    failed = runner.invoke(bench_command, [*args, "--baseline", str(base)])
    assert failed.exit_code == 1
    assert "regression: dot O3: siws" in failed.output
    bad = runner.invoke(bench_command, ["--suite", "nosuch", "--no-native"])
    assert bad.exit_code == 2 and "unknown suite" in bad.output


def test_plot_without_matplotlib(tmp_path: Any, document: dict[str, Any],
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    written = write_plot(document, tmp_path / "chart.png")
    assert written.suffix == ".html"
    text = written.read_text()
    assert "<svg" in text and "saxpy" in text and "numpy" in text
