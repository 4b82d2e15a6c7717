"""Unsupported Python is reported like .phx errors: file, line and column, the source
line and a caret, raised as a CompileError subclass; argument errors name the argument."""

from __future__ import annotations

import re

import numpy as np
import pytest

import phextcc.embedding as phx
from phextcc.diagnostics import CompileError
from tests.embedding import error_cases


def _marked_line(case: str) -> tuple[int, str]:
    with open(error_cases.__file__, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if line.rstrip().endswith(f"# <- {case}"):
                return number, line.rstrip("\n")
    raise AssertionError(f"no marker for {case}")


@pytest.mark.parametrize("case", sorted(error_cases.EXPECTED))
def test_unsupported_python_points_at_the_line(case: str) -> None:
    kernel = phx.kernel(getattr(error_cases, case), engine="sim", cache=False)
    x, out = np.arange(4, dtype=np.float64), np.zeros(4)
    with pytest.raises(CompileError) as info:
        kernel(x, out)
    text = str(info.value)
    line, source_line = _marked_line(case)
    head, shown, caret = text.splitlines()[:3]
    assert re.match(rf"{re.escape(error_cases.__file__)}:{line}:\d+: error: ", head), text
    assert error_cases.EXPECTED[case] in head, text
    assert shown == source_line
    column = int(head.split(":")[2])
    assert caret.index("^") == column - 1
    assert f"while compiling {case}(x: f64[:], out: f64[:])" in text


def test_errors_are_rendered_compile_errors_with_diagnostics() -> None:
    kernel = phx.kernel(error_cases.arbitrary_call, engine="sim", cache=False)
    with pytest.raises(phx.PythonKernelError) as info:
        kernel(np.zeros(2), np.zeros(2))
    (diagnostic,) = info.value.diagnostics
    assert diagnostic.file == error_cases.__file__
    assert diagnostic.message.startswith("call to 'helper'")
    assert isinstance(info.value, CompileError)


@pytest.mark.parametrize("value,message", [
    (np.zeros(3, np.uint8), "argument 'x': arrays of dtype uint8 are not supported"),
    (np.zeros((4, 4))[:, 1], "argument 'x': array is not C-contiguous"),
    ("text", "argument 'x': expected a number, a bool or a numpy array, got str"),
    (np.zeros(3, np.bool_), "argument 'x': arrays of dtype bool are not supported"),
])
def test_argument_type_errors_name_the_argument(value: object, message: str) -> None:
    kernel = phx.kernel(error_cases.slicing, engine="sim", cache=False)
    with pytest.raises(phx.KernelArgumentError, match=re.escape(message)):
        kernel(value, np.zeros(3))


def test_missing_argument_is_a_type_error() -> None:
    kernel = phx.kernel(error_cases.slicing, engine="sim", cache=False)
    with pytest.raises(TypeError, match="slicing\\(\\): missing a required argument: 'out'"):
        kernel(np.zeros(3))
