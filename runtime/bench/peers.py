"""The peers timed beside the compiled kernels: numpy, Numba ``@njit`` and C built with
the system compiler at -O3 -march=native. A peer that is not installed is skipped with a
note; it is never an error."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from runtime.bench.loading import benchmark_module

Arguments = dict[str, Any]
PeerCall = Callable[[Arguments], None]
PEER_NAMES = ("numpy", "numba", "c")


@dataclass
class Peer:
    """One peer: ``calls[kernel]`` runs it on a kernel's arguments; ``note`` says why it
    is unavailable (then ``calls`` is empty)."""

    name: str
    calls: dict[str, PeerCall] = field(default_factory=dict)
    note: str | None = None

    @property
    def available(self) -> bool:
        return self.note is None


def _numpy_peer() -> Peer:
    references = benchmark_module("suite").references().REFERENCES
    vectorised = benchmark_module("peers_numpy").VECTORISED

    def reference_call(function: Callable[..., None]) -> PeerCall:
        return lambda args: function(**args)

    calls = {name: vectorised.get(name) or reference_call(function)
             for name, function in references.items()}
    return Peer("numpy", calls)


def _numba_peer() -> Peer:
    try:
        module = benchmark_module("peers_numba")
    except ImportError as error:
        return Peer("numba", note=f"numba is not installed ({error})")
    return Peer("numba", dict(module.ADAPTERS))


def c_compiler() -> str | None:
    """The system C compiler: $CC if set, else cc, gcc or clang on PATH."""
    candidates = [os.environ["CC"]] if os.environ.get("CC") else ["cc", "gcc", "clang"]
    for candidate in candidates:
        found = shutil.which(candidate)
        if found:
            return found
    return None


_C_TYPES: dict[str, Callable[[Any], Any]] = {
    "ptr": lambda value: ctypes.c_void_p(np.ascontiguousarray(value).ctypes.data),
    "f32": lambda value: ctypes.c_float(float(value)),
    "i64": lambda value: ctypes.c_int64(int(value)),
}


def _c_peer(build_dir: Path) -> Peer:
    compiler = c_compiler()
    if compiler is None:
        return Peer("c", note="no C compiler found ($CC, cc, gcc, clang)")
    c_module = benchmark_module("peers_c")
    library_path = build_dir / "libphx_peers.so"
    command = [compiler, "-O3", "-march=native", "-shared", "-fPIC", "-o", str(library_path),
               str(c_module.SOURCE), "-lm"]
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", "") or str(error)
        return Peer("c", note=f"C peers did not build: {detail.strip()[:200]}")
    library = ctypes.CDLL(str(library_path))

    def call_of(symbol: str, signature: list[tuple[str, Callable[[Arguments], Any]]]
                ) -> PeerCall:
        function = getattr(library, symbol)
        function.restype = None

        def call(args: Arguments) -> None:
            function(*(_C_TYPES[kind](getter(args)) for kind, getter in signature))
        return call

    return Peer("c", {name: call_of(symbol, signature)
                      for name, (symbol, signature) in c_module.CALLS.items()})


_BUILDERS: dict[str, Callable[[Path], Peer]] = {
    "numpy": lambda _: _numpy_peer(),
    "numba": lambda _: _numba_peer(),
    "c": _c_peer,
}


class PeerSet:
    """The requested peers, built once; the C library lives in a temporary directory
    removed by ``close``."""

    def __init__(self, names: tuple[str, ...] = PEER_NAMES) -> None:
        self._build_dir = tempfile.TemporaryDirectory(prefix="phx-bench-peers-")
        self.peers = {name: _BUILDERS[name](Path(self._build_dir.name)) for name in names}

    def close(self) -> None:
        self._build_dir.cleanup()

    def __enter__(self) -> PeerSet:  # noqa: PYI034 (typing.Self needs Python 3.11)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def notes(self) -> dict[str, dict[str, Any]]:
        return {name: {"available": peer.available, "note": peer.note}
                for name, peer in self.peers.items()}
