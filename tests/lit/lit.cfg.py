"""lit configuration: FileCheck tests over the text the compiler prints.

Each test starts with a `RUN:` line piping `phextcc ... --emit ...` into `filecheck %s`.
One directory per pipeline stage (`ir/` for the phx IR made by the lowering).
"""

# `config` and `lit_config` are injected by lit when it loads this file.
# ruff: noqa: F821

import os
import shutil
import sys

import lit.formats

config.name = "phextcc"
config.test_format = lit.formats.ShTest(execute_external=False)
config.suffixes = [".phx", ".mlir"]
config.excludes = ["lit.cfg.py"]
config.test_source_root = os.path.dirname(__file__)

_repo_root = os.path.dirname(os.path.dirname(config.test_source_root))

# Tools come from the environment running lit; the checkout under test goes first on
# the Python path so the tests exercise this tree, not an installed copy.
config.environment["PATH"] = os.environ.get("PATH", "")
config.environment["PYTHONPATH"] = os.pathsep.join(
    p for p in (_repo_root, os.environ.get("PYTHONPATH", "")) if p
)

_python = sys.executable
config.substitutions.append(("%python", _python))
# `phextcc` runs the command line of this checkout with the interpreter running lit
# (`lit --param phextcc=CMD` substitutes another command); `%lower` runs the lowering
# alone (no passes), which can also print locations (`--debuginfo`).
_lowering = f'"{_python}" -m phextcc.ir.lowering'
_phextcc = lit_config.params.get(
    "phextcc", f'"{_python}" -c "from phextcc.cli import main; main()"')
# lit substitutions are regular expressions: replace the command word only, never a
# "phextcc" inside a path (a checkout directory is often called that).
config.substitutions.append((r"(?<![\w./-])phextcc(?=\s)", _phextcc))
config.substitutions.append(("%lower", _lowering))
config.substitutions.append(("%examples", os.path.join(_repo_root, "examples")))

if shutil.which("filecheck") is None:
    lit_config.fatal("filecheck is not on PATH (pip install filecheck)")
