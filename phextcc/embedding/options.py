"""Settings of the Python API: per-kernel options and the environment, read in one place.

``read_environment()`` is the only code that reads ``PHEXTCC_*`` variables; it is called
when a kernel compiles a new specialisation (so a test or a user can change the
environment between kernels) and its frozen result travels down explicitly.

    PHEXTCC_ENGINE=sim|jit   run every kernel on the reference simulator or the JIT
    PHEXTCC_CACHE=0          disable the on-disk cache
    PHEXTCC_CACHE_DIR=DIR    where the cache lives (default: the user cache directory,
                             $XDG_CACHE_HOME/phextcc or ~/.cache/phextcc)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENGINES = ("jit", "sim")
DEFAULT_ENGINE = "jit"
DEFAULT_OPT_LEVEL = 2


@dataclass(frozen=True)
class KernelOptions:
    """What ``@phextcc.kernel(...)`` / ``phextcc.compile(...)`` were given.

    ``engine`` None means: PHEXTCC_ENGINE, else the JIT. ``sentrons`` is the default
    launch width (a call may pass ``sentrons=``)."""

    opt: int = DEFAULT_OPT_LEVEL
    sentrons: int = 1
    checks: bool = True
    fastmath: bool = False
    cache: bool = True
    engine: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.opt <= 3:
            raise ValueError(f"opt must be 0..3, got {self.opt}")
        if self.sentrons < 1:
            raise ValueError(f"sentrons must be at least 1, got {self.sentrons}")
        if self.engine is not None and self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {self.engine!r}")

    def code_options(self) -> tuple[tuple[str, object], ...]:
        """The options that change generated code (part of the cache key)."""
        return (("opt", self.opt), ("checks", self.checks), ("fastmath", self.fastmath))


@dataclass(frozen=True)
class EnvironmentSettings:
    cache_enabled: bool
    cache_dir: Path
    engine: str | None  # None: not set


def default_cache_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "phextcc"


def read_environment(environ: Mapping[str, str] | None = None) -> EnvironmentSettings:
    """The PHEXTCC_* settings (the one place that reads the environment)."""
    env = os.environ if environ is None else environ
    engine = env.get("PHEXTCC_ENGINE") or None
    if engine is not None and engine not in ENGINES:
        raise ValueError(f"PHEXTCC_ENGINE must be one of {', '.join(ENGINES)}, got {engine!r}")
    enabled = env.get("PHEXTCC_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")
    directory = env.get("PHEXTCC_CACHE_DIR")
    return EnvironmentSettings(enabled, Path(directory) if directory else default_cache_dir(env),
                               engine)


def resolve_engine(options: KernelOptions, settings: EnvironmentSettings) -> str:
    """The environment wins over the decorator, so PHEXTCC_ENGINE=sim can put a whole
    test suite on the reference simulator."""
    return settings.engine or options.engine or DEFAULT_ENGINE
