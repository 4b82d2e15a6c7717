"""Run the lit/FileCheck suite from pytest, so `python -m pytest` covers it too."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

LIT_DIR = Path(__file__).parent / "lit"


def test_lit_suite_passes() -> None:
    # filecheck is a declared test dependency: its absence is a broken set-up, not a skip.
    assert shutil.which("filecheck") is not None, "filecheck not found: pip install -e '.[test]'"
    result = subprocess.run(
        [sys.executable, "-c", "from lit.main import main; main()", "-v", str(LIT_DIR)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
    assert "Passed" in result.stdout
