"""The `.siws` text form of a `.siw` program: one import for both directions.

``assemble`` (text -> verified Program) lives in ``assembler``, ``disassemble``
(Program -> text) in ``disassembler``; ``assemble(disassemble(p))`` encodes to the same
bytes as ``p``. The syntax is described in docs/siw-format.md.
"""

from __future__ import annotations

from phextcc.backend.assembler import SiwAsmError, assemble, assemble_instr
from phextcc.backend.disassembler import disassemble, format_instr, format_word

__all__ = ["SiwAsmError", "assemble", "assemble_instr", "disassemble", "format_instr",
           "format_word"]
