"""Kernel options and the environment switches (read in one place, frozen)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import phextcc.embedding as phx
from phextcc.embedding.options import KernelOptions, read_environment
from tests.embedding import twins


def test_engine_environment_puts_every_kernel_on_the_simulator(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHEXTCC_ENGINE", "sim")
    kernel = phx.kernel(engine="jit", cache=False)(twins.saxpy)
    x = np.arange(3, dtype=np.float32)
    compiled = kernel.compile(np.float32(1), x, x, x.copy())
    assert compiled.engine == "sim"
    out = np.zeros(3, np.float32)
    kernel(np.float32(1), x, x, out)
    assert out.tolist() == [0, 2, 4]
    assert compiled._native is None  # the JIT was never involved


def test_environment_is_read_into_a_frozen_object(tmp_path: object) -> None:
    settings = read_environment({"PHEXTCC_CACHE": "0", "PHEXTCC_CACHE_DIR": "/x/y",
                                 "PHEXTCC_ENGINE": "jit"})
    assert (settings.cache_enabled, str(settings.cache_dir), settings.engine) == \
        (False, "/x/y", "jit")
    assert read_environment({"XDG_CACHE_HOME": "/c"}).cache_dir.as_posix() == "/c/phextcc"
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.engine = "sim"  # type: ignore[misc]
    with pytest.raises(ValueError, match="PHEXTCC_ENGINE"):
        read_environment({"PHEXTCC_ENGINE": "gpu"})


@pytest.mark.parametrize("bad", [{"opt": 4}, {"sentrons": 0}, {"engine": "gpu"}])
def test_invalid_options_are_rejected(bad: dict) -> None:
    with pytest.raises(ValueError):
        KernelOptions(**bad)
    with pytest.raises(ValueError):
        phx.kernel(**bad)


def test_decorator_default_sentrons_and_call_override() -> None:
    kernel = phx.kernel(sentrons=3, engine="sim", cache=False)(twins.dot_sentrons)
    x = np.arange(10, dtype=np.float32)
    out = np.zeros(1, np.float32)
    kernel(x, x, out)
    three = out[0]
    kernel(x, x, out, sentrons=1)
    assert three == out[0] == float(np.dot(x, x))
