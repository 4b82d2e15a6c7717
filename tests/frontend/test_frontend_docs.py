"""docs/language.md stays in step with the grammar and the builtin table."""

from __future__ import annotations

import re
from pathlib import Path

from phextcc.diagnostics import CompileError
from phextcc.frontend import check_source
from phextcc.frontend.builtin_signatures import SIGNATURES
from phextcc.frontend.parser import grammar_text, lark_parser

DOC = Path(__file__).resolve().parents[2] / "docs" / "language.md"


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def test_grammar_section_is_the_grammar_file() -> None:
    section = _doc().split("## 13. Grammar", 1)[1]
    block = re.search(r"```lark\n(.*?)```", section, re.DOTALL)
    assert block is not None
    assert block.group(1) == grammar_text()


def test_every_builtin_signature_is_documented() -> None:
    doc = _doc()
    missing = [sig.doc for sig in SIGNATURES.values() if f"`{sig.doc}`" not in doc]
    assert missing == []


def test_documented_keywords_are_the_grammar_keywords() -> None:
    keywords = {
        str(t.pattern.value) for t in lark_parser().terminals
        if t.pattern.type == "str" and str(t.pattern.value).isidentifier()
    }
    listed = re.search(r"Keywords \(reserved, never identifiers\): `([^`]*)`, and the type "
                       r"names `([^`]*)`", _doc().replace("\n  ", " "))
    assert listed is not None
    documented = set(listed.group(1).split()) | set(listed.group(2).split())
    assert documented == keywords


def test_the_documented_diagnostic_is_what_the_compiler_prints() -> None:
    source = "kernel k(a: i32, n: i64, out: i64[1]) {\n    let total = a + n;\n" \
             "    out[0] = total;\n}\n"
    try:
        check_source(source, "sum.phx")
    except CompileError as err:
        rendered = err.render(source)
    else:
        raise AssertionError("the example must not compile")
    indented = "\n".join("   " + line for line in rendered.splitlines())
    assert indented in _doc()
