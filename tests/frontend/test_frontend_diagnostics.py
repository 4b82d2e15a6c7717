"""Diagnostics: rendering, several errors per run, user vs internal errors."""

from __future__ import annotations

import pytest

from phextcc.diagnostics import (
    CompileError,
    Diagnostic,
    InternalCompilerError,
    Severity,
    render,
    render_all,
)
from phextcc.frontend import check_source


def _errors(source: str) -> list[tuple[int, int, str]]:
    with pytest.raises(CompileError) as caught:
        check_source(source, "m.phx")
    return [(d.line, d.col, d.message) for d in caught.value.diagnostics]


def test_render_with_caret_and_tildes() -> None:
    source = "kernel k() {\n    let y = zzz + 1;\n}\n"
    diag = Diagnostic(Severity.ERROR, "unknown identifier 'zzz'", "r.phx", 2, 13, 16)
    assert render(diag, source) == (
        "r.phx:2:13: error: unknown identifier 'zzz'\n"
        "    let y = zzz + 1;\n"
        "            ^~~"
    )


def test_render_keeps_tabs_so_the_caret_lines_up() -> None:
    source = "kernel k() {\n\t\tlet y = q;\n}\n"
    diag = Diagnostic(Severity.ERROR, "unknown identifier 'q'", "t.phx", 2, 11)
    assert render(diag, source).splitlines()[2] == "\t\t        ^"


def test_render_without_source_or_with_a_bad_line() -> None:
    diag = Diagnostic(Severity.WARNING, "careful", "w.phx", 9, 1)
    assert render(diag, None) == "w.phx:9:1: warning: careful"
    assert render(diag, "one line\n") == "w.phx:9:1: warning: careful"


def test_rendered_error_from_the_checker() -> None:
    source = "kernel k(a: i32) {\n    let y = a + n;\n}\n"
    with pytest.raises(CompileError) as caught:
        check_source(source, "c.phx")
    assert caught.value.render(source) == (
        "c.phx:2:17: error: unknown identifier 'n'\n"
        "    let y = a + n;\n"
        "                ^"
    )
    assert str(caught.value) == "c.phx:2:17: error: unknown identifier 'n'"


def test_internal_error_is_not_a_compile_error() -> None:
    err = InternalCompilerError("regalloc", "no register left", "k.phx:3:4")
    assert not isinstance(err, CompileError)
    assert str(err) == "no register left at k.phx:3:4 during regalloc"
    assert err.pass_name == "regalloc"


def test_file_level_and_plain_diagnostics() -> None:
    assert str(Diagnostic.file_level("a.phx", "empty file")) == "a.phx: error: empty file"
    assert str(Diagnostic.plain("no kernel named 'q'")) == "error: no kernel named 'q'"
    assert render(Diagnostic.file_level("a.phx", "empty file"), "x\n") == (
        "a.phx: error: empty file")


def test_render_all_looks_up_each_file() -> None:
    first = Diagnostic(Severity.ERROR, "bad", "a.phx", 1, 3)
    second = Diagnostic(Severity.ERROR, "worse", "b.phx", 1, 1)
    assert render_all([first, second], {"a.phx": "let"}) == (
        "a.phx:1:3: error: bad\nlet\n  ^\nb.phx:1:1: error: worse")


def test_several_semantic_errors_in_one_kernel() -> None:
    source = (
        "kernel k(a: i32, x: f32[N]) {\n"
        "    let y = a + 1.5;\n"
        "    let z = undefined_name;\n"
        "    a = 3;\n"
        "    if a { }\n"
        "    x[0, 1] = 2.0;\n"
        "}\n"
    )
    assert _errors(source) == [
        (2, 17, "float literal 1.5 cannot have integer type i32"),
        (3, 13, "unknown identifier 'undefined_name'"),
        (4, 5, "cannot assign to parameter 'a': parameters are read-only (copy it into a "
               "'var')"),
        (5, 8, "an if condition must be bool, found i32"),
        (6, 5, "tensor 'x' has rank 1 but 2 indices were given"),
    ]


def test_errors_in_several_kernels_and_duplicates() -> None:
    source = (
        "kernel one(a: i32, a: i64) { }\n"
        "kernel two(t: bool[4]) { let q = sqrt(1); }\n"
        "kernel one() { barrier(); let r = barrier(); }\n"
    )
    assert _errors(source) == [
        (1, 20, "duplicate parameter 'a'"),
        (2, 12, "bool tensors are not supported (parameter 't'); use i32"),
        (2, 34, "'sqrt' needs a float (f32 or f64), found i64"),
        (3, 8, "kernel 'one' is already defined at line 1, column 8"),
        (3, 35, "'barrier' does not return a value"),
    ]


def test_parameter_list_errors_in_source_order() -> None:
    source = "kernel k(t: f32[0, N], u: bool[2], N: i32, v: f32[1,1,1,1,1,1,1,1,1,1,1,1]) { }"
    assert _errors(source) == [
        (1, 17, "tensor extent must be positive, found 0"),
        (1, 20, "shape symbol 'N' has the same name as a parameter"),
        (1, 24, "bool tensors are not supported (parameter 'u'); use i32"),
        (1, 44, "tensor rank 12 exceeds the maximum of 11"),
    ]


@pytest.mark.parametrize("source", ["", "// only a comment\n", "  \n\t"])
def test_a_file_without_kernels_is_an_error(source: str) -> None:
    assert _errors(source) == [(1, 1, "no kernel in file")]


def test_errors_inside_the_arguments_of_a_bad_call() -> None:
    assert _errors("kernel k() { let v = foo(zz, sqrt(1)); }") == [
        (1, 22, "unknown function 'foo'; did you mean 'floor'?"),
        (1, 26, "unknown identifier 'zz'"),
        (1, 30, "'sqrt' needs a float (f32 or f64), found i64"),
    ]


def test_one_syntax_error_per_broken_kernel() -> None:
    source = (
        "kernel a() { let x = 1 }\n"
        "kernel b() { let y = 2; }\n"
        "kernel c() { for i in 0..3 { }\n"
        "// kernel in a comment does not split: kernel\n"
        "kernel d() { let z = (1; }\n"
    )
    assert _errors(source) == [
        (1, 23, "expected ';', found '}'"),
        (3, 31, "expected '}', found keyword 'kernel'"),
        (5, 24, "expected ')', found ';'"),
    ]


def test_syntax_and_semantic_errors_in_one_run() -> None:
    source = (
        "kernel good(a: i32) { let y = a + q; }\n"
        "kernel broken() { let x = ; }\n"
        "kernel also_good(t: f32[N]) { N = 1; }\n"
    )
    assert _errors(source) == [
        (1, 35, "unknown identifier 'q'"),
        (2, 27, "expected an expression, found ';'"),
        (3, 31, "cannot assign to shape symbol 'N': shape symbols are read-only"),
    ]


def test_text_before_the_first_kernel_is_checked_with_it() -> None:
    source = "let x = 1;\nkernel k() { let y = 2 }\nkernel j() { }\n"
    assert _errors(source) == [
        (1, 1, "expected 'kernel' or end of file, found keyword 'let'"),
        (2, 23, "expected ';', found '}'"),
    ]


def test_error_type_suppresses_cascades() -> None:
    source = (
        "kernel k(a: i32) {\n"
        "    let bad = nope * 2;\n"
        "    let worse = bad + a;\n"
        "    var v = sqrt(bad) + 1.0;\n"
        "    v += bad;\n"
        "}\n"
    )
    assert _errors(source) == [(2, 15, "unknown identifier 'nope'")]
