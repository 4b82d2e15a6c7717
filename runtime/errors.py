"""Runtime errors of the vTPU engines (simulator and JIT share them).

Every message is one line, so a driver can print it as ``error: <message>``.
``siw`` and ``where`` are filled in by the engine that caught the error, when it
knows which SIW was executing (and its source location, if debug info exists).
"""

from __future__ import annotations


class VtpuRuntimeError(Exception):
    """Base class: the program did something the machine rejects at run time."""

    # Errors about all sentrons at once (deadlock) are not prefixed by one of them.
    concerns_all_sentrons = False

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.siw: int | None = None
        self.where: str = ""
        self.sentron: int | None = None

    def locate(self, siw: int, where: str = "") -> VtpuRuntimeError:
        """Attach the SIW index (and a source location text) once; returns self."""
        if self.siw is None:
            self.siw = siw
            self.where = where
        return self

    def __str__(self) -> str:
        text = self.message
        if self.sentron is not None and not self.concerns_all_sentrons:
            text = f"sentron {self.sentron}: {text}"
        if self.siw is None:
            return text
        suffix = f"at SIW {self.siw}" + (f", {self.where}" if self.where else "")
        return f"{text} ({suffix})"


class IndexOutOfRange(VtpuRuntimeError):
    """A DCHK bounds check failed."""

    def __init__(self, tensor: str, axis: int, index: int, extent: int) -> None:
        super().__init__(f"index {index} out of range for axis {axis} of tensor '{tensor}' "
                         f"(extent {extent})")
        self.tensor = tensor
        self.axis = axis
        self.index = index
        self.extent = extent


class IntegerDivisionByZero(VtpuRuntimeError):
    def __init__(self) -> None:
        super().__init__("integer division by zero")


class ArgumentError(VtpuRuntimeError):
    """A kernel argument does not fit its parameter."""

    def __init__(self, param: str, problem: str) -> None:
        super().__init__(f"argument '{param}': {problem}" if param else problem)
        self.param = param
        self.problem = problem


class DeadlockError(VtpuRuntimeError):
    """Every unfinished sentron is blocked; ``waiters`` describes each one."""

    concerns_all_sentrons = True

    def __init__(self, waiters: list[str]) -> None:
        super().__init__("deadlock: " + "; ".join(waiters))
        self.waiters = list(waiters)


class MemoryFault(VtpuRuntimeError):
    """An S-op touched a coordinate outside every region (or the spill area)."""


class SentronCountError(VtpuRuntimeError):
    """The sentron count does not suit the kernel, or an op names a sentron that
    does not exist."""


class CollectiveMismatch(VtpuRuntimeError):
    """Sentrons met in different collectives (e.g. one in CBAR, one in CREDUCE)."""

    concerns_all_sentrons = True


class StepBudgetExceeded(VtpuRuntimeError):
    """The simulator's SIW budget ran out (an infinite loop, most likely)."""


class ControlFlowError(VtpuRuntimeError):
    """Control left the kernel's SIW range, or an op cannot be executed."""
