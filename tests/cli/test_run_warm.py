"""`phextcc run --warm N`: the statistics of a run after N warm-up runs."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from phextcc.cli import main


def _stats(tmp_path: Path, *extra: str) -> dict:
    out = tmp_path / f"stats{len(extra)}.json"
    result = CliRunner().invoke(main, ["run", "examples/saxpy.phx", "-O2", "--random",
                                       "N=2048", "--stats-json", str(out), *extra])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text())


def test_warm_run_has_the_same_work_and_fewer_memory_stalls(tmp_path: Path) -> None:
    cold = _stats(tmp_path)
    warm = _stats(tmp_path, "--warm", "1")
    assert warm["siws"] == cold["siws"]
    assert warm["stall_cycles"]["memory"] < cold["stall_cycles"]["memory"]
    assert warm["ops_per_cycle"] > cold["ops_per_cycle"]
