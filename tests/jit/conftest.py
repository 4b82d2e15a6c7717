"""Fixtures of the JIT tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llvmlite import ir

from runtime.jit import engine
from runtime.jit import range_check as range_check_module
from runtime.jit.layout import ErrorCode


@pytest.fixture
def refusals(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Compile with a dispatch that raises instead of taking the checked copy (see
    ``helpers.refused``)."""
    emit = range_check_module.RangeCheck.emit

    def refusing(self: range_check_module.RangeCheck) -> ir.Value:
        ok = emit(self)
        self.tr.fail_unless(ok, ErrorCode.UNSUPPORTED, self.loop.header, (0, 0, 0))
        return ok

    engine.clear_cache()
    monkeypatch.setattr(range_check_module.RangeCheck, "emit", refusing)
    yield
    engine.clear_cache()
