"""The on-disk compile cache: what lets a second process skip compilation.

An entry is one file ``<dir>/<kernel>-<digest>.phxc`` named by the SHA-256 of its
``CacheKey``. It holds the ``.siw`` bytes (``siw_format.encode``), the phx IR text, and,
once a kernel ran on the JIT, the native object code and the optimised LLVM IR:

    b"PHXC1\\n" | u64 payload length | 32-byte SHA-256 of the payload | payload
    payload = u32 header length | JSON header | section bytes, in header order

Writes go to a temporary file in the same directory, then ``os.replace``: readers see
the old entry or the new one, never a mix, so processes may race on a cold cache. An
entry that is truncated, corrupt (checksum) or for another key is ignored and rebuilt.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
import tempfile
import time
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

import phextcc

MAGIC = b"PHXC1\n"
SUFFIX = ".phxc"
_HEAD = struct.Struct("<Q32s")
_HEADER_LENGTH = struct.Struct("<I")


@dataclass(frozen=True)
class CacheKey:
    """Everything a compiled kernel depends on.

    ``source_hash`` covers the function's source and the globals it reads (names and
    values), ``signature`` the argument types, ``options`` the code options,
    ``compiler_version`` the package version and a hash of the compiler's own sources,
    ``target_cpu`` the host CPU name and features the native code is built for."""

    kernel: str
    source_hash: str
    signature: str
    options: tuple[tuple[str, object], ...]
    compiler_version: str
    target_cpu: str

    def digest(self) -> str:
        text = json.dumps(asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def file_name(self) -> str:
        safe = "".join(c if c.isalnum() or c in "_-" else "_" for c in self.kernel)[:64]
        return f"{safe}-{self.digest()[:40]}{SUFFIX}"


def hash_source(source: str, globals_used: dict[str, str]) -> str:
    text = source + "\n" + json.dumps(sorted(globals_used.items()))
    return hashlib.sha256(text.encode()).hexdigest()


@cache
def compiler_version() -> str:
    """The version plus a hash of the compiler and runtime sources, so that a changed
    compiler never loads entries of an older one (computed once per process)."""
    root = Path(phextcc.__file__).resolve().parent
    digest = hashlib.sha256()
    for package in (root, root.parent / "runtime"):
        for path in sorted(package.rglob("*.py")) + sorted(package.rglob("*.lark")):
            digest.update(str(path.relative_to(package)).encode())
            digest.update(path.read_bytes())
    return f"{phextcc.__version__}+{digest.hexdigest()[:16]}"


@cache
def target_cpu() -> str:
    from runtime.jit.engine import host_cpu

    name, features = host_cpu()
    return f"{name}:{hashlib.sha256(features.encode()).hexdigest()[:16]}"


@dataclass
class CacheEntry:
    """What an entry holds: named byte sections plus free-form metadata."""

    key: CacheKey
    sections: dict[str, bytes] = field(default_factory=dict)
    created: float = field(default_factory=time.time)

    def encode(self) -> bytes:
        header = {"key": asdict(self.key), "digest": self.key.digest(), "created": self.created,
                  "sections": [[name, len(data)] for name, data in self.sections.items()]}
        header_bytes = json.dumps(header, default=str).encode()
        payload = b"".join([_HEADER_LENGTH.pack(len(header_bytes)), header_bytes,
                            *self.sections.values()])
        return MAGIC + _HEAD.pack(len(payload), hashlib.sha256(payload).digest()) + payload


class CorruptEntry(Exception):
    pass


def decode_entry(data: bytes) -> tuple[dict, dict[str, bytes]]:
    """The header and sections of an entry's bytes; ``CorruptEntry`` if anything is off."""
    if not data.startswith(MAGIC) or len(data) < len(MAGIC) + _HEAD.size:
        raise CorruptEntry("bad magic or truncated header")
    length, checksum = _HEAD.unpack_from(data, len(MAGIC))
    payload = data[len(MAGIC) + _HEAD.size:]
    if len(payload) != length:
        raise CorruptEntry(f"payload is {len(payload)} bytes, expected {length}")
    if hashlib.sha256(payload).digest() != checksum:
        raise CorruptEntry("checksum mismatch")
    (header_length,) = _HEADER_LENGTH.unpack_from(payload, 0)
    start = _HEADER_LENGTH.size
    header = json.loads(payload[start:start + header_length])
    offset = start + header_length
    sections: dict[str, bytes] = {}
    for name, size in header["sections"]:
        sections[name] = payload[offset:offset + size]
        offset += size
    return header, sections


class DiskCache:
    """Entries in one directory (created on first store)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def path_of(self, key: CacheKey) -> Path:
        return self.directory / key.file_name()

    def load(self, key: CacheKey) -> dict[str, bytes] | None:
        """The sections stored for ``key``, or None (missing, corrupt or another key)."""
        try:
            data = self.path_of(key).read_bytes()
            header, sections = decode_entry(data)
        except (OSError, CorruptEntry, ValueError, KeyError, struct.error):
            return None
        if header.get("digest") != key.digest():
            return None
        return sections

    def store(self, key: CacheKey, sections: dict[str, bytes]) -> Path | None:
        """Write the entry atomically; a cache that cannot be written is skipped."""
        entry = CacheEntry(key, dict(sections))
        target = self.path_of(key)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=".tmp-", suffix=SUFFIX, dir=self.directory)
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(entry.encode())
                os.replace(temp, target)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        except OSError:
            return None
        return target

    def entries(self) -> list[Path]:
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir()
                      if p.suffix == SUFFIX and not p.name.startswith(".tmp-"))

    def info(self) -> dict[str, object]:
        rows = []
        for path in self.entries():
            try:
                header, sections = decode_entry(path.read_bytes())
                rows.append({"file": path.name, "kernel": header["key"]["kernel"],
                             "signature": header["key"]["signature"],
                             "sections": sorted(sections), "bytes": path.stat().st_size,
                             "created": header.get("created")})
            except (OSError, CorruptEntry, ValueError, KeyError, struct.error):
                rows.append({"file": path.name, "kernel": "?", "signature": "", "corrupt": True,
                             "bytes": path.stat().st_size if path.exists() else 0})
        total = sum(int(r["bytes"]) for r in rows)  # type: ignore[call-overload]
        return {"directory": str(self.directory), "entries": rows, "count": len(rows),
                "bytes": total}

    def clear(self) -> int:
        """Delete every entry (and stale temporary files); return how many entries."""
        removed = 0
        if not self.directory.is_dir():
            return 0
        for path in self.directory.iterdir():
            if path.suffix == SUFFIX:
                path.unlink(missing_ok=True)
                removed += not path.name.startswith(".tmp-")
        return removed


__all__ = ["CacheEntry", "CacheKey", "CorruptEntry", "DiskCache", "compiler_version",
           "decode_entry", "hash_source", "target_cpu"]
