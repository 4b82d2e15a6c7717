"""The sentron builtins as plain Python functions.

Inside a ``@phextcc.kernel`` function these names compile to the C-pipe operations.
Called from ordinary Python (the undecorated function, ``kern.py_func``), they behave as
a launch of one sentron, so a kernel's Python body can also run as plain Python:
``sentron_id()`` is 0, collectives return their input, and a message sent to oneself
can be received.
"""

from __future__ import annotations

from collections import deque
from typing import Any

_MAILBOX: deque[Any] = deque()  # messages sentron 0 sent to itself, in FIFO order


def sentron_id() -> int:
    """This sentron's number, in ``0 .. num_sentrons()``."""
    return 0


def num_sentrons() -> int:
    """How many sentrons run the launch."""
    return 1


def send(dst: int, value: Any) -> None:
    """Send ``value`` to sentron ``dst`` (never blocks)."""
    if dst != 0:
        raise ValueError(f"send to sentron {dst}, but plain Python runs only sentron 0")
    _MAILBOX.append(value)


def recv(src: int, dtype: Any) -> Any:
    """Receive the next value sent by sentron ``src``, of type ``dtype`` (np.float32, ...)."""
    if src != 0 or not _MAILBOX:
        raise RuntimeError(f"deadlock: sentron 0 waits in recv from sentron {src}")
    return dtype(_MAILBOX.popleft())


def barrier() -> None:
    """Wait for every sentron of the launch."""


def allreduce(value: Any, op: str) -> Any:
    """Combine ``value`` over all sentrons with ``op`` ("sum", "max" or "min")."""
    if op not in ("sum", "max", "min"):
        raise ValueError(f"allreduce op must be 'sum', 'max' or 'min', got {op!r}")
    return value


def broadcast(value: Any, root: int) -> Any:
    """Every sentron gets ``root``'s ``value``."""
    if root != 0:
        raise ValueError(f"broadcast from sentron {root}, but plain Python runs only sentron 0")
    return value


__all__ = ["allreduce", "barrier", "broadcast", "num_sentrons", "recv", "send", "sentron_id"]
