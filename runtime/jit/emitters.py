"""The emitter table: ISA family -> emitter, one entry per implemented family."""

from __future__ import annotations

from runtime.jit.emit_cpipe import CPIPE_EMITTERS
from runtime.jit.emit_dense import DENSE_EMITTERS
from runtime.jit.emit_memory import MEMORY_EMITTERS
from runtime.jit.translate import Emitter

EMITTERS: dict[str, Emitter] = {**DENSE_EMITTERS, **MEMORY_EMITTERS, **CPIPE_EMITTERS}
