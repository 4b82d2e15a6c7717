"""`phextcc opt` (opt_command): pass lists, tiers, stdin, -o, IR dumps, timing, and
clear errors for bad pipelines and bad IR."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from phextcc.ir.context import parse_ir
from phextcc.opt_cli import opt_command

IR = """
builtin.module {
  func.func @k(%t: !phx.tensor<i64, ["N"]>) {
    %c0 = arith.constant 0 : i64
    %c1 = arith.constant 1 : i64
    %c2 = arith.constant 2 : i64
    %n = phx.sym "N"
    scf.for %i = %c0 to %n step %c1 : i64 {
      %s = arith.addi %c1, %c2 : i64
      phx.store %s, %t[%i] : !phx.tensor<i64, ["N"]>
    }
    func.return
  }
}
"""


def invoke(args: list[str], stdin: str | None = None) -> object:
    return CliRunner().invoke(opt_command, args, input=stdin)


def test_pass_list_from_a_file(tmp_path: Path) -> None:
    source = tmp_path / "k.mlir"
    source.write_text(IR)
    result = invoke([str(source), "-p", "phx-canonicalize,prove-in-bounds"])
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "arith.addi" not in result.output  # type: ignore[attr-defined]
    assert "{in_bounds}" in result.output  # type: ignore[attr-defined]
    parse_ir(result.output).verify()  # type: ignore[attr-defined]


# A map that reads a row: -O3 unrolls it by a cache line and prefetches it (a store-only
# loop has nothing to prefetch and stays whole).
READING_IR = IR.replace(
    "%s = arith.addi %c1, %c2 : i64",
    "%x = phx.load %t[%i] : !phx.tensor<i64, [\"N\"]> -> i64\n"
    "      %s = arith.addi %x, %c2 : i64")


def test_tier_from_stdin_to_a_file(tmp_path: Path) -> None:
    out = tmp_path / "out.mlir"
    assert "phx.load" in READING_IR
    result = invoke(["-", "-O", "3", "-o", str(out)], stdin=READING_IR)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    text = out.read_text()
    # The prefetching main loop, its tail, and the remainder loop.
    assert text.count("scf.for") == 3 and "{in_bounds}" in text and "phx.prefetch" in text


def test_no_passes_prints_the_input_back() -> None:
    result = invoke(["-"], stdin=IR)
    assert result.exit_code == 0
    assert result.output == invoke(["-", "-p", ""], stdin=IR).output  # type: ignore[attr-defined]
    assert "arith.addi %c1, %c2" in result.output  # type: ignore[attr-defined]


def test_print_ir_after_all_and_time_passes() -> None:
    result = invoke(["-", "-p", "phx-canonicalize,phx-licm", "--print-ir-after-all",
                     "--time-passes"], stdin=IR)
    assert result.exit_code == 0
    output = result.output  # type: ignore[attr-defined]
    assert output.count("IR Dump After") == 2
    assert output.index("IR Dump After phx-canonicalize") < output.index("IR Dump After phx-licm")
    assert "pass execution timing report" in output and "phx-licm" in output


def test_bad_pass_name_and_bad_ir_are_reported() -> None:
    unknown = invoke(["-", "-p", "no-such-pass"], stdin=IR)
    assert unknown.exit_code != 0 and "no-such-pass" in unknown.output  # type: ignore[attr-defined]
    broken = invoke(["-", "-p", "phx-dce"], stdin="builtin.module { %x = arith.bogus }")
    assert broken.exit_code != 0 and "invalid IR" in broken.output  # type: ignore[attr-defined]
    both = invoke(["-", "-p", "phx-dce", "-O", "1"], stdin=IR)
    assert both.exit_code != 0
