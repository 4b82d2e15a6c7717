"""Robustness: no input makes the frontend raise anything but CompileError.

A small sample runs by default; ``-m slow`` runs many more examples.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import phextcc.frontend
from phextcc.diagnostics import CompileError
from phextcc.frontend import check_source
from tests.frontend.frontend_programs import CORE_PROGRAMS, EVERY_CONSTRUCT, SAXPY

VOCABULARY = [
    "kernel", "let", "var", "for", "in", "step", "while", "if", "else", "return", "true",
    "false", "and", "or", "not", "prefetch", "recv", "i32", "i64", "f32", "f64", "bool",
    "sum", "max", "min", "sqrt", "select", "allreduce", "broadcast", "send", "barrier",
    "sentron_id", "xor", "shl", "popcount", "x", "y", "N", "i", "acc",
    "0", "1", "42", "0x2a", "1_000", "1.0", "1e-3", "2.5e3", "9223372036854775808",
    "(", ")", "[", "]", "{", "}", ",", ";", ":", "..", "=", "+=", "-=", "*=", "/=",
    "+", "-", "*", "/", "%", "==", "!=", "<", "<=", ">", ">=", "<f32>", "//c\n", "/*c*/",
    "/*", "@", "&", "\t", "\n", "é", "\x00",
]
VALID_PROGRAMS = [SAXPY, CORE_PROGRAMS, EVERY_CONSTRUCT]

DEFAULT = settings(max_examples=60, deadline=None,
                   suppress_health_check=[HealthCheck.too_slow])
THOROUGH = settings(max_examples=3000, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def _check_only_compile_errors(source: str) -> None:
    try:
        typed = check_source(source, "fuzz.phx")
    except CompileError as err:
        assert err.diagnostics
        lines = source.splitlines() or [""]
        for diag in err.diagnostics:
            assert diag.file == "fuzz.phx"
            assert 1 <= diag.line <= max(len(lines), 1) + 1
            assert diag.col >= 1
    else:
        assert typed.kernels


token_soup = st.lists(st.sampled_from(VOCABULARY), max_size=60).map(" ".join)
kernel_soup = token_soup.map(lambda body: "kernel k(x: f32[N], a: i32) { " + body + " }")


@st.composite
def mutated_program(draw: st.DrawFn) -> str:
    """A valid program with a few characters or tokens deleted, replaced or inserted."""
    text = draw(st.sampled_from(VALID_PROGRAMS))
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["delete", "insert", "replace", "cut"]))
        if action == "delete":
            text = text[:position] + text[position + 1:]
        elif action == "insert":
            text = text[:position] + draw(st.sampled_from(VOCABULARY)) + text[position:]
        elif action == "replace":
            text = text[:position] + draw(st.sampled_from(VOCABULARY)) + text[position + 3:]
        else:
            text = text[:position]
    return text


@DEFAULT
@given(token_soup)
def test_token_soup(source: str) -> None:
    _check_only_compile_errors(source)


@DEFAULT
@given(kernel_soup)
def test_token_soup_inside_a_kernel(source: str) -> None:
    _check_only_compile_errors(source)


@DEFAULT
@given(mutated_program())
def test_mutated_programs(source: str) -> None:
    _check_only_compile_errors(source)


@DEFAULT
@given(st.text(max_size=200))
def test_arbitrary_text(source: str) -> None:
    _check_only_compile_errors(source)


@pytest.mark.slow
@THOROUGH
@given(st.one_of(token_soup, kernel_soup, mutated_program(), st.text(max_size=400)))
def test_many_random_inputs(source: str) -> None:
    _check_only_compile_errors(source)


@pytest.mark.parametrize("depth", [300, 1500])
def test_deep_nesting_is_accepted(depth: int) -> None:
    chain = "kernel k() { let v = 1" + " + 1" * depth + "; }"
    blocks = "kernel k() { " + "if true { " * depth + "}" * depth + " }"
    for source in (chain, blocks):
        assert check_source(source, "deep.phx").kernels


def test_too_deep_nesting_is_a_compile_error(monkeypatch: pytest.MonkeyPatch) -> None:
    # Keep Python's default limit so that the failure comes quickly.
    monkeypatch.setattr(phextcc.frontend, "_RECURSION_LIMIT", 0)
    chain = "kernel k() { let v = 1" + " + 1" * 1500 + "; }"
    with pytest.raises(CompileError, match="nests too deeply"):
        check_source(chain, "deep.phx")


@pytest.mark.slow
def test_very_deep_nesting_is_a_compile_error() -> None:
    blocks = "kernel k() { " + "if true { " * 30000 + "}" * 30000 + " }"
    with pytest.raises(CompileError, match="nests too deeply"):
        check_source(blocks, "deep.phx")
