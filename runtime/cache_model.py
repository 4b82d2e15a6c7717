"""Set-associative LRU caches fed with real byte addresses.

Each core has private L1/L2 and shares the last level; lines are filled on
every level on the way in (inclusive). A line brought in by a miss or a
prefetch is usable only once its data has arrived: ``in_flight`` remembers the
cycle, so a load right after a prefetch still waits for the rest of its latency.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from runtime.profiles import CacheLevel, Profile


@dataclass
class SetAssociativeCache:
    level: CacheLevel
    line_bytes: int
    hits: int = 0
    misses: int = 0
    # Sets are created on first touch: a 32 MiB L3 has 32768 of them.
    sets: dict[int, list[int]] = field(default_factory=dict)
    set_count: int = 0

    def __post_init__(self) -> None:
        self.set_count = self.level.size_bytes // (self.line_bytes * self.level.ways)

    def _ways(self, line: int) -> list[int]:
        index = line % self.set_count
        ways = self.sets.get(index)
        if ways is None:
            ways = self.sets[index] = []
        return ways

    def lookup(self, line: int) -> bool:
        """True when ``line`` is present (and make it most recently used)."""
        ways = self._ways(line)
        if ways and ways[0] == line:
            return True
        if line in ways:
            ways.remove(line)
            ways.insert(0, line)
            return True
        return False

    def fill(self, line: int) -> None:
        ways = self._ways(line)
        if line in ways:
            ways.remove(line)
        ways.insert(0, line)
        if len(ways) > self.level.ways:
            ways.pop()

    def evict(self, line: int) -> None:
        ways = self._ways(line)
        if line in ways:
            ways.remove(line)


# Prefetch hints (isa.Hint order: L1, L2, L3, NTA) -> the innermost level filled.
# NTA brings the line close (L1) without polluting the outer levels.
_HINT_LEVEL = (0, 1, 2, 0)
_NTA = 3


class CoreCaches:
    """The cache hierarchy as one core sees it: private levels + the shared one."""

    def __init__(self, profile: Profile, shared: SetAssociativeCache) -> None:
        self.profile = profile
        private = [SetAssociativeCache(level, profile.line_bytes)
                   for level in profile.caches[:-1]]
        self.levels: list[SetAssociativeCache] = private + [shared]
        self.in_flight: dict[int, int] = {}
        self.shift = profile.line_bytes.bit_length() - 1
        self.prefetches = 0

    def _find(self, line: int, count: bool) -> int:
        """Index of the first level holding ``line`` (len(levels) = DRAM)."""
        for depth, cache in enumerate(self.levels):
            if cache.lookup(line):
                if count:
                    cache.hits += 1
                return depth
            if count:
                cache.misses += 1
        return len(self.levels)

    def _latency(self, depth: int) -> int:
        if depth < len(self.levels):
            return self.levels[depth].level.latency
        return self.profile.dram_latency

    def access(self, address: int, now: int) -> tuple[int, int]:
        """A demand load or store at cycle ``now``: (cycle the data is ready,
        level index that served it, len(levels) meaning DRAM)."""
        line = address >> self.shift
        depth = self._find(line, count=True)
        ready = now + self._latency(depth)
        for cache in self.levels[:depth]:
            cache.fill(line)
        pending = self.in_flight.get(line)
        if pending is not None and pending > now:
            ready = max(now + self._latency(0), pending)  # data still on its way
        elif depth:
            self.in_flight[line] = ready
        return ready, depth

    def prefetch(self, address: int, hint: int, now: int) -> None:
        line = address >> self.shift
        self.prefetches += 1
        depth = self._find(line, count=False)
        target = _HINT_LEVEL[hint] if hint < len(_HINT_LEVEL) else 0
        if depth <= target:
            return
        pending = self.in_flight.get(line)
        if pending is not None and pending > now:
            return
        self.in_flight[line] = now + self._latency(depth)
        filled = self.levels[:1] if hint == _NTA else self.levels[target:depth]
        for cache in filled:
            cache.fill(line)

    def flush(self, address: int) -> None:
        line = address >> self.shift
        for cache in self.levels:
            cache.evict(line)
        self.in_flight.pop(line, None)


def shared_last_level(profile: Profile) -> SetAssociativeCache:
    return SetAssociativeCache(profile.caches[-1], profile.line_bytes)
