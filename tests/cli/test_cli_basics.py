"""The command line's contract: help, version, and clear errors for unusable files."""

from __future__ import annotations

from pathlib import Path

import pytest

from phextcc import __version__


def test_help_lists_commands(phextcc) -> None:
    result = phextcc("--help")
    assert result.exit_code == 0
    for command in ("compile", "run", "dis", "as", "stats"):
        assert command in result.output


def test_version(phextcc) -> None:
    result = phextcc("--version")
    assert result.exit_code == 0
    assert __version__ in result.output


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.phx", None, "no such file"),
        ("empty.phx", "", "empty file"),
        ("blank.phx", "  \n\t\n", "empty file"),
        ("latin1.phx", b"kernel k() { \xff }", "not UTF-8"),
    ],
)
def test_unusable_source_files(phextcc, tmp_path: Path, name: str, content, message: str) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = phextcc(str(path))
    assert result.exit_code == 1
    assert f"{path}: error: {message}" in result.output
    assert "Traceback" not in result.output


def test_directory_is_rejected(phextcc, tmp_path: Path) -> None:
    result = phextcc(str(tmp_path))
    assert result.exit_code == 1
    assert "is a directory" in result.output


def test_print_pipeline_is_data(phextcc, tmp_path: Path) -> None:
    from phextcc.passes.pipeline import TIER_PIPELINES

    for level, passes in TIER_PIPELINES.items():
        result = phextcc("unused.phx", f"-O{level}", "--print-pipeline")
        assert result.exit_code == 0
        assert result.output.strip() == ",".join(passes)


def test_passes_replace_the_ir_pipeline_of_the_level(phextcc) -> None:
    from tests.e2e.oracle import EXAMPLES

    laplacian = str(EXAMPLES / "laplacian.phx")
    optimised = phextcc(laplacian, "--emit", "ir", "-o", "-")
    unoptimised = phextcc(laplacian, "--passes", "", "--emit", "ir", "-o", "-")
    only_bounds = phextcc(laplacian, "-p", "prove-in-bounds", "--emit", "ir", "-o", "-")
    assert optimised.exit_code == unoptimised.exit_code == only_bounds.exit_code == 0
    assert "in_bounds" in optimised.output and "in_bounds" in only_bounds.output
    assert "in_bounds" not in unoptimised.output
    printed = phextcc("unused.phx", "-O3", "-p", "phx-cse,phx-dce", "--print-pipeline")
    assert printed.output.strip() == "phx-cse,phx-dce"


def test_unknown_pass_is_a_usage_error(phextcc) -> None:
    from tests.e2e.oracle import EXAMPLES

    result = phextcc(str(EXAMPLES / "saxpy.phx"), "-p", "phx-cse,no-such-pass", "-o", "-")
    assert result.exit_code != 0
    assert "no-such-pass" in result.output
    assert "Traceback" not in result.output


def test_compile_prints_the_ir_after_each_pass_and_times_them(phextcc) -> None:
    from phextcc.passes.pipeline import TIER_PIPELINES
    from tests.e2e.oracle import EXAMPLES

    result = phextcc(str(EXAMPLES / "dot.phx"), "-O3", "--print-ir-after-all",
                     "--time-passes", "--emit", "siw-asm", "-o", "-")
    assert result.exit_code == 0
    assert result.output.count("IR Dump After") == len(TIER_PIPELINES[3])
    assert "IR Dump After unroll-inner" in result.output
    assert "pass execution timing report" in result.output
    assert ".kernel dot" in result.output
