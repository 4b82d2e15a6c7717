"""Latency profiles of the cycle model: all numbers are data, with their sources.

Sources:
- [AMD-SOG] AMD, "Software Optimization Guide for AMD Family 19h Processors"
  (pub. 56665) and the Zen 4 addendum (pub. 57647): cache sizes/associativity,
  4-cycle L1D load-to-use for integer loads, ~14-cycle L2, ~50-cycle L3.
- [Agner] A. Fog, "Instruction tables" (Zen 4 section): IMUL r64 3, IDIV r64
  ~10-18, ADDSD/MULSD 3, VFMADD 4, DIVSD 13, SQRTSD 15-20, branch mispredict ~13.
- [C&C] Chips and Cheese, "AMD's Zen 4" articles: DRAM latency ~75-80 ns (~300+
  cycles at 4 GHz), core-to-core latency within a CCX ~15-20 ns.
- [spec] vTPU spec v0.1/v0.2 (restated in docs/vtpu-isa.md): L1 1, L2 ~4, L3 ~12,
  DRAM 60-80 cycles, PPT hit 1 / miss ~12 cycles.
Libm transcendental functions (expf/logf/tanhf) cost ~20-40 cycles; we use 30.
"""

from __future__ import annotations

from dataclasses import dataclass

from phextcc.backend.isa import LATENCY_CLASSES


@dataclass(frozen=True)
class CacheLevel:
    name: str
    size_bytes: int
    ways: int
    latency: int  # load-to-use cycles on a hit at this level


@dataclass(frozen=True)
class Profile:
    """Everything the cycle model needs to know about a machine."""

    name: str
    latency: dict[str, int]  # per isa.LATENCY_CLASSES entry ("load" comes from the caches)
    caches: tuple[CacheLevel, ...]  # L1, L2 private per core; the last level shared
    line_bytes: int
    dram_latency: int
    ppt_hit: int  # added to every memory access's latency
    ppt_miss: int  # extra cycles of a translation-cache miss (the S pipe is busy)
    message_latency: int  # CSEND issue to data available at the receiver
    branch_mispredict: int  # cycles lost when the static prediction is wrong

    def __post_init__(self) -> None:
        missing = set(LATENCY_CLASSES) - set(self.latency)
        assert not missing, f"profile {self.name} lacks latency classes {sorted(missing)}"


_KIB = 1024
_MIB = 1024 * 1024

_ZEN4_OPS = {
    "none": 0,
    "alu": 1,
    "imul": 3,  # [Agner]
    "idiv": 18,  # [Agner] IDIV r64, upper end
    "fadd": 3,  # [Agner]
    "fmul": 3,  # [Agner]
    "fma": 4,  # [Agner]
    "fdiv": 13,  # [Agner] DIVSD
    "fsqrt": 20,  # [Agner] SQRTSD
    "transcendental": 30,  # libm call, see module docstring
    "cvt": 3,  # [Agner] CVTSI2SD / CVTTSD2SI
    "branch": 1,
    "load": 4,  # L1 hit; the cache model gives the real figure
    "store": 1,  # retires into the store buffer
    "index": 1,  # coordinate add on the AGU
    "prefetch": 1,
    "spill": 4,  # the spill area lives in L1 [AMD-SOG]
    "msg": 1,  # issue cost; delivery is message_latency
    "collective": 1,
    "sync": 1,
}

ZEN4 = Profile(
    name="zen4",
    latency=_ZEN4_OPS,
    caches=(CacheLevel("L1", 32 * _KIB, 8, 4),  # [AMD-SOG]
            CacheLevel("L2", 1 * _MIB, 8, 14),  # [AMD-SOG]
            CacheLevel("L3", 32 * _MIB, 16, 50)),  # [AMD-SOG], [C&C]
    line_bytes=64,
    dram_latency=320,  # [C&C] ~80 ns at 4 GHz
    ppt_hit=1,  # [spec]
    ppt_miss=12,  # [spec]
    message_latency=70,  # [C&C] core-to-core ~17 ns at 4 GHz
    branch_mispredict=13,  # [Agner]
)

SPEC = Profile(
    name="spec",
    latency={**_ZEN4_OPS, "load": 1, "spill": 1},
    caches=(CacheLevel("L1", 32 * _KIB, 8, 1),  # [spec]
            CacheLevel("L2", 1 * _MIB, 8, 4),  # [spec]
            CacheLevel("L3", 32 * _MIB, 16, 12)),  # [spec]
    line_bytes=64,
    dram_latency=70,  # [spec] 60-80
    ppt_hit=1,  # [spec]
    ppt_miss=12,  # [spec]
    message_latency=20,  # not in the spec: an on-core SMT hand-off
    branch_mispredict=13,  # [Agner]: the spec says nothing
)

PROFILES: dict[str, Profile] = {p.name: p for p in (ZEN4, SPEC)}


def get_profile(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown cycle profile '{name}' (known: "
                         f"{', '.join(sorted(PROFILES))})") from None
