"""Every embedding test gets its own cache directory, so runs never share entries."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "phextcc-cache"
    monkeypatch.setenv("PHEXTCC_CACHE_DIR", str(directory))
    monkeypatch.delenv("PHEXTCC_CACHE", raising=False)
    monkeypatch.delenv("PHEXTCC_ENGINE", raising=False)
    return directory
