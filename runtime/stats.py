"""Run statistics: per sentron and in total, as JSON and as text for ``--stats``."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from runtime.cache_model import CoreCaches
from runtime.cycle_model import STALL_CAUSES, SentronTiming, WordMeta
from runtime.phext_memory import TranslationCache

_PIPES = ("D", "S", "C")


@dataclass
class SentronStats:
    sentron: int
    siws: int
    ops: dict[str, int]
    nops: dict[str, int]
    cycles: int
    stall_cycles: dict[str, int]

    @property
    def ops_per_cycle(self) -> float:
        return sum(self.ops.values()) / self.cycles if self.cycles else 0.0

    @property
    def pipe_bound(self) -> float:
        """The best ops/cycle this op mix allows: each pipe retires at most one op
        per cycle, so cycles >= the busiest pipe's ops."""
        busiest = max(self.ops.values())
        return sum(self.ops.values()) / busiest if busiest else 0.0

    @property
    def efficiency(self) -> float:
        """ops/cycle achieved against the pipe bound (1.0 = the busiest pipe never idles)."""
        bound = self.pipe_bound
        return self.ops_per_cycle / bound if bound else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"sentron": self.sentron, "siws": self.siws, "ops": dict(self.ops),
                "nops": dict(self.nops), "cycles": self.cycles,
                "stall_cycles": dict(self.stall_cycles),
                "ops_per_cycle": round(self.ops_per_cycle, 4),
                "pipe_bound": round(self.pipe_bound, 4),
                "efficiency": round(self.efficiency, 4)}


@dataclass
class Stats:
    """Totals: siws/ops/nops/stalls summed over sentrons; ``cycles`` is the
    longest sentron (they run in parallel); ``ops_per_cycle`` the mean over
    sentrons of each one's ops / cycles."""

    sentrons: list[SentronStats]
    cache: dict[str, dict[str, float]] = field(default_factory=dict)
    ppt: dict[str, float] = field(default_factory=dict)
    profile: str = ""

    @property
    def siws(self) -> int:
        return sum(s.siws for s in self.sentrons)

    @property
    def ops(self) -> dict[str, int]:
        return {p: sum(s.ops[p] for s in self.sentrons) for p in _PIPES}

    @property
    def nops(self) -> dict[str, int]:
        return {p: sum(s.nops[p] for s in self.sentrons) for p in _PIPES}

    @property
    def cycles(self) -> int:
        return max((s.cycles for s in self.sentrons), default=0)

    @property
    def stall_cycles(self) -> dict[str, int]:
        return {c: sum(s.stall_cycles[c] for s in self.sentrons) for c in STALL_CAUSES}

    @property
    def ops_per_cycle(self) -> float:
        if not self.sentrons:
            return 0.0
        return sum(s.ops_per_cycle for s in self.sentrons) / len(self.sentrons)

    @property
    def pipe_bound(self) -> float:
        """Mean over sentrons of each one's pipe bound (see SentronStats)."""
        if not self.sentrons:
            return 0.0
        return sum(s.pipe_bound for s in self.sentrons) / len(self.sentrons)

    @property
    def efficiency(self) -> float:
        if not self.sentrons:
            return 0.0
        return sum(s.efficiency for s in self.sentrons) / len(self.sentrons)

    def to_json(self) -> dict[str, Any]:
        return {"siws": self.siws, "ops": self.ops, "nops": self.nops,
                "cycles": self.cycles, "stall_cycles": self.stall_cycles,
                "ops_per_cycle": round(self.ops_per_cycle, 4),
                "sentrons": [s.to_dict() for s in self.sentrons],
                "cache": self.cache, "ppt": self.ppt}

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2)

    def format_text(self) -> str:
        ops, nops = self.ops, self.nops
        lines = [
            f"profile        {self.profile}",
            f"sentrons       {len(self.sentrons)}",
            f"SIWs           {self.siws}",
            f"cycles         {self.cycles}",
            "ops            " + "  ".join(f"{p}={ops[p]}" for p in _PIPES)
            + f"  total={sum(ops.values())}",
            "nops           " + "  ".join(f"{p}={nops[p]}" for p in _PIPES),
            (f"ops/cycle      {self.ops_per_cycle:.3f} (mean over sentrons); pipe bound "
             f"{self.pipe_bound:.3f}, efficiency {self.efficiency:.1%}"),
            "stall cycles   " + "  ".join(f"{c}={n}" for c, n in self.stall_cycles.items()
                                          if n) if any(self.stall_cycles.values())
            else "stall cycles   none",
        ]
        for level, counts in self.cache.items():
            if "hits" not in counts:
                lines.append(f"{level:<15}" + "  ".join(f"{k}={v}" for k, v in counts.items()))
                continue
            lines.append(f"{level:<15}hits={counts['hits']}  misses={counts['misses']}  "
                         f"hit rate={counts['hit_rate']:.1%}")
        if self.ppt:
            lines.append(f"PPT            hits={self.ppt['hits']}  misses={self.ppt['misses']}"
                         f"  hit rate={self.ppt['hit_rate']:.1%}")
        if len(self.sentrons) > 1:
            for s in self.sentrons:
                lines.append(f"  sentron {s.sentron}: SIWs={s.siws} cycles={s.cycles} "
                             f"ops/cycle={s.ops_per_cycle:.3f}")
        return "\n".join(lines)


def _rate(hits: int, misses: int) -> float:
    total = hits + misses
    return round(hits / total, 4) if total else 1.0


def collect_stats(timings: list[SentronTiming], metas: list[WordMeta | None],
                  caches: list[CoreCaches], tlbs: list[TranslationCache],
                  profile: str) -> Stats:
    per_sentron = []
    for sid, timing in enumerate(timings):
        siws, ops, nops = timing.totals(metas)
        per_sentron.append(SentronStats(
            sentron=sid, siws=siws, ops=dict(zip(_PIPES, ops)),
            nops=dict(zip(_PIPES, nops)), cycles=timing.cycles,
            stall_cycles=dict(timing.stalls)))
    cache: dict[str, dict[str, float]] = {}
    if caches:
        levels = caches[0].levels
        for depth, level in enumerate(levels):
            # The last level is shared: count it once.
            owners = caches[:1] if depth == len(levels) - 1 else caches
            hits = sum(c.levels[depth].hits for c in owners)
            misses = sum(c.levels[depth].misses for c in owners)
            cache[level.level.name] = {"hits": hits, "misses": misses,
                                       "hit_rate": _rate(hits, misses)}
        cache["prefetches"] = {"issued": sum(c.prefetches for c in caches)}
    hits = sum(t.hits for t in tlbs)
    misses = sum(t.misses for t in tlbs)
    return Stats(per_sentron, cache, {"hits": hits, "misses": misses,
                                      "hit_rate": _rate(hits, misses)}, profile)
