"""`phextcc run`, `dis`, `as`, `stats` and `--emit` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAXPY = str(ROOT / "examples" / "saxpy.phx")
DOT_SENTRONS = str(ROOT / "examples" / "dot_sentrons.phx")


def test_readme_main_job(phextcc) -> None:
    result = phextcc("run", SAXPY, "--random", "N=64", "--stats")
    assert result.exit_code == 0, result.output
    assert "out: float32[64]" in result.output
    assert "ops/cycle" in result.output


@pytest.mark.parametrize("engine", ["sim", "jit"])
def test_run_reads_npy_and_writes_outputs(phextcc, tmp_path: Path, engine: str) -> None:
    x = np.arange(10, dtype=np.float32)
    y = np.ones(10, dtype=np.float32)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)
    np.save(tmp_path / "out.npy", np.zeros(10, dtype=np.float32))
    result = phextcc("run", SAXPY, "--engine", engine, "a=2.5", f"x={tmp_path / 'x.npy'}",
                     f"y={tmp_path / 'y.npy'}", f"out={tmp_path / 'out.npy'}",
                     "--out", str(tmp_path / "results"))
    assert result.exit_code == 0, result.output
    out = np.load(tmp_path / "results" / "out.npy")
    np.testing.assert_array_equal(out, np.float32(2.5) * x + y)


def test_stats_json_has_the_documented_keys(phextcc, tmp_path: Path) -> None:
    path = tmp_path / "stats.json"
    result = phextcc("run", DOT_SENTRONS, "--random", "N=40", "--sentrons", "3",
                     "--stats-json", str(path))
    assert result.exit_code == 0, result.output
    stats = json.loads(path.read_text())
    for key in ("siws", "ops", "nops", "cycles", "stall_cycles", "ops_per_cycle", "sentrons"):
        assert key in stats
    assert set(stats["ops"]) == {"D", "S", "C"}
    assert len(stats["sentrons"]) == 3
    assert stats["ops"]["C"] > 0  # the all-reduce


def test_runtime_errors_are_one_line(phextcc, tmp_path: Path) -> None:
    source = tmp_path / "oob.phx"
    source.write_text("kernel oob(x: f32[N]) { x[N] = 1.0; }\n")
    for engine in ("sim", "jit"):
        result = phextcc("run", str(source), "--engine", engine, "--random", "N=4")
        assert result.exit_code == 1
        assert "error:" in result.output and "'x'" in result.output
        assert "Traceback" not in result.output


def test_integer_division_by_zero_is_an_error(phextcc, tmp_path: Path) -> None:
    source = tmp_path / "div.phx"
    source.write_text("kernel div(a: i64, out: i64[1]) { out[0] = 7 / a; }\n")
    result = phextcc("run", str(source), "--engine", "sim", "a=0",
                     f"out={save(tmp_path, 'out', np.zeros(1, np.int64))}")
    assert result.exit_code == 1
    assert "division by zero" in result.output


def save(directory: Path, name: str, array: np.ndarray) -> Path:
    path = directory / f"{name}.npy"
    np.save(path, array)
    return path


def test_bad_assignments_are_usage_errors(phextcc) -> None:
    result = phextcc("run", SAXPY, "nonsense")
    assert result.exit_code == 2
    assert "NAME=VALUE" in result.output
    result = phextcc("run", SAXPY, "zzz=1", "--engine", "sim")
    assert result.exit_code == 2
    assert "no parameter 'zzz'" in result.output


def test_compile_dis_as_round_trip(phextcc, tmp_path: Path) -> None:
    binary = tmp_path / "saxpy.siw"
    assert phextcc(SAXPY, "-O0", "-o", str(binary)).exit_code == 0
    text = tmp_path / "saxpy.siws"
    result = phextcc("dis", str(binary), "-o", str(text))
    assert result.exit_code == 0, result.output
    again = tmp_path / "again.siw"
    assert phextcc("as", str(text), "-o", str(again)).exit_code == 0
    assert again.read_bytes() == binary.read_bytes()
    result = phextcc("run", str(binary), "--random", "N=8", "--engine", "sim")
    assert result.exit_code == 0, result.output


def test_default_output_name(phextcc, tmp_path: Path) -> None:
    source = tmp_path / "k.phx"
    source.write_text(Path(SAXPY).read_text())
    assert phextcc(str(source)).exit_code == 0
    assert (tmp_path / "k.siw").read_bytes()[:4] == b"SIW\x00"


def test_corrupt_binary_is_rejected(phextcc, tmp_path: Path) -> None:
    binary = tmp_path / "bad.siw"
    binary.write_bytes(b"SIW\x00vTPU" + bytes(40))
    for command in ("dis", "run"):
        result = phextcc(command, str(binary))
        assert result.exit_code == 1
        assert result.output.startswith("error:")


def test_stats_command(phextcc) -> None:
    result = phextcc("stats", SAXPY, "-O0", "--json")
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    static = document["tiers"]["O0"]["static"]
    assert document["kernel"] == "saxpy" and static["siws"] > 0
    assert static["ops_per_siw"] == pytest.approx(1.0)  # tier 0: one op a word
    assert "sim" not in document["tiers"]["O0"]


def test_stats_compares_tiers_on_the_same_arrays(phextcc) -> None:
    result = phextcc("stats", "examples/stream.phx", "--random", "N=256", "--sentrons", "2",
                     "--json")
    assert result.exit_code == 0, result.output
    tiers = json.loads(result.output)["tiers"]
    assert list(tiers) == ["O0", "O1", "O2", "O3"]
    for row in tiers.values():
        sim = row["sim"]
        assert len(sim["sentrons"]) == 2
        assert sim["ops"]["C"] > 0 and sim["cycles"] >= sim["siws"] // 2
    # Every tier did the same work on the same inputs: the same number of sends.
    assert len({row["sim"]["sentrons"][0]["ops"]["C"] for row in tiers.values()}) == 1
    text = phextcc("stats", "examples/stream.phx", "--random", "N=256", "--tiers", "0,2")
    assert text.exit_code == 0, text.output
    assert "ops/cycle" in text.output and text.output.count("\nO") == 2


@pytest.mark.parametrize("kind", ["ast", "ir", "siw-asm", "llvm", "asm"])
def test_emit_kinds(phextcc, kind: str) -> None:
    result = phextcc(SAXPY, "--emit", kind, "-o", "-")
    assert result.exit_code == 0, result.output
    assert result.output.strip()


def test_unknown_kernel(phextcc) -> None:
    result = phextcc(SAXPY, "--kernel", "nope", "--emit", "ir")
    assert result.exit_code == 1
    assert "no kernel named 'nope'" in result.output
