"""Turn Lark's ``UnexpectedInput`` into a friendly ``Diagnostic``.

Messages read ``expected ';', found '}'`` when the parser's expectation can be said in a
few words, ``unexpected '}'`` otherwise. Operators that could always continue an
expression are left out of the expectation (after ``x = a + b`` the parser also accepts
``*``, but the useful hint is ``;``).
"""

from __future__ import annotations

import re

from lark import Lark, Token
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken
from lark.lexer import PatternStr

from phextcc.diagnostics import Diagnostic, Severity

#: Terminals that may continue an expression that is already complete.
_CONTINUATIONS = frozenset({
    "OR", "AND", "EQ", "NE", "LT", "LE", "GT", "GE", "PLUS", "MINUS", "STAR", "SLASH",
    "PERCENT", "LSQB", "LPAR",
})
_COMPARISONS = frozenset({"EQ", "NE", "LT", "LE", "GT", "GE"})
#: Terminals whose presence means "an expression may start here".
_EXPRESSION_STARTERS = frozenset({"INT", "FLOAT", "NAME"})
_TERMINAL_WORDS = {
    "NAME": "identifier",
    "INT": "integer literal",
    "FLOAT": "float literal",
    "$END": "end of file",
}
_MAX_LISTED = 3
_COMMENT = re.compile(r"//[^\n]*|/\*(?:.|\n)*?\*/")
#: Characters users bring from other languages, with what to write instead.
_CHARACTER_HINTS = {
    "&": "'&' is not an operator: use 'and' for bool, bitand(a, b) for integers",
    "|": "'|' is not an operator: use 'or' for bool, bitor(a, b) for integers",
    "^": "'^' is not an operator: use xor(a, b)",
    "!": "'!' is not an operator: use 'not' (and '!=' for inequality)",
    "~": "'~' is not an operator: use xor(a, -1)",
}


def _describe_terminal(name: str, parser: Lark) -> str:
    if name in _TERMINAL_WORDS:
        return _TERMINAL_WORDS[name]
    try:
        pattern = parser.get_terminal(name).pattern
    except KeyError:
        return name
    if isinstance(pattern, PatternStr):
        return f"'{pattern.value}'"
    return name.lower()


def _describe_found(token: Token, parser: Lark) -> str:
    if token.type == "$END":
        return "end of file"
    text = str(token)
    if token.type == "NAME":
        return f"'{text}'"
    if token.type not in ("INT", "FLOAT") and text.isidentifier():
        return f"keyword '{text}'"
    return f"'{text}'"


def _expectation(expected: set[str], parser: Lark) -> str | None:
    """A short phrase for what the parser wanted, or None when it is too vague."""
    if _EXPRESSION_STARTERS <= expected:
        return "an expression"
    wanted = set(expected) - _CONTINUATIONS or set(expected)
    if len(wanted) > _MAX_LISTED:
        return None
    words = sorted(_describe_terminal(name, parser) for name in wanted)
    if len(words) == 1:
        return words[0]
    return ", ".join(words[:-1]) + " or " + words[-1]


def _end_position(text: str) -> tuple[int, int]:
    """Line and column just after the last non-blank character of ``text``."""
    stripped = text.rstrip()
    if not stripped:
        return 1, 1
    line = stripped.count("\n") + 1
    col = len(stripped) - (stripped.rfind("\n") + 1) + 1
    return line, col


def _acceptable(err: UnexpectedToken) -> set[str]:
    """Terminals the parser could really take here.

    ``err.expected`` is the LALR state's lookahead set, which merges the contexts of
    every rule reducing to it; replaying reductions through the interactive parser
    keeps only what fits this context.
    """
    try:
        accepts = set(err.accepts)
    except Exception:  # noqa: BLE001 - Lark can fail to replay; fall back to the state set
        accepts = set()
    return accepts or set(err.expected)


def _token_message(err: UnexpectedToken, text: str, parser: Lark) -> str:
    token = err.token
    expected = _acceptable(err)
    found = _describe_found(token, parser)
    if token.type == "SLASH" and text.startswith("/*", token.start_pos or 0):
        return "unterminated block comment"
    if token.type == "$END" and "RBRACE" in expected:
        return "expected '}', found end of file"
    if token.type in _COMPARISONS and "PLUS" in expected:
        return "comparison operators cannot be chained; combine comparisons with 'and'"
    if {"EQUAL", "ADD_ASSIGN"} <= expected:
        return f"expected an assignment ('=', '+=', ...), found {found}"
    if expected == {"LT"}:
        return "recv needs the message type: write recv<T>(src)"
    what = _expectation(expected, parser)
    if what is None:
        return f"unexpected {found}"
    return f"expected {what}, found {found}"


def blank(text: str) -> str:
    """Spaces for every character except newlines (positions stay valid)."""
    return re.sub(r"[^\n]", " ", text)


def blank_comments(text: str) -> str:
    """``text`` with its comments blanked out, positions unchanged."""
    return _COMMENT.sub(lambda m: blank(m.group(0)), text)


def _after_previous_token(text: str, offset: int) -> tuple[int, int]:
    """Line and column just after the last token before ``offset``.

    A missing ';' is reported there (like gcc and rustc), not at the next line's token.
    """
    return _end_position(blank_comments(text[:offset]))


def syntax_diagnostic(err: UnexpectedInput, text: str, file: str, parser: Lark) -> Diagnostic:
    """The diagnostic for a parse failure of ``text`` (positions are 1-based)."""
    if isinstance(err, UnexpectedCharacters):
        char = text[err.pos_in_stream] if err.pos_in_stream < len(text) else ""
        message = _CHARACTER_HINTS.get(char, f"unexpected character {char!r}")
        return Diagnostic(Severity.ERROR, message, file, err.line, err.column, err.column + 1)
    if isinstance(err, UnexpectedToken) and err.token.type != "$END":
        token = err.token
        message = _token_message(err, text, parser)
        if message.startswith("expected ';'") and token.start_pos is not None:
            line, col = _after_previous_token(text, token.start_pos)
            return Diagnostic(Severity.ERROR, message, file, line, col)
        end_col = token.end_column if token.end_line == token.line else None
        return Diagnostic(Severity.ERROR, message, file, token.line, token.column, end_col)
    line, col = _end_position(blank_comments(text))
    if isinstance(err, UnexpectedToken):
        message = _token_message(err, text, parser)
    elif isinstance(err, UnexpectedEOF):
        message = "unexpected end of file"
    else:
        message = "syntax error"
    return Diagnostic(Severity.ERROR, message, file, line, col)
