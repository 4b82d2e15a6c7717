"""The reference simulator: runs one kernel of a decoded ``Program`` on S sentrons.

    result = simulate(program, "saxpy", [x, y, 2.0], sentrons=4)
    result.stats.to_json()

Tensor arguments are the caller's numpy arrays, written in place. With
``collect_stats`` the cycle model (profile ``zen4`` or ``spec``) runs beside the
functional simulation; without it the simulator runs its fast path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from phextcc.backend.program import KernelInfo, Program
from runtime.binding import BoundArguments, bind_arguments
from runtime.cache_model import CoreCaches, shared_last_level
from runtime.cycle_model import SentronTiming, WordMeta, word_meta
from runtime.decode import decode_kernel
from runtime.errors import SentronCountError
from runtime.phext_memory import PhextPageTable
from runtime.profiles import Profile, get_profile
from runtime.sentron_state import SentronState
from runtime.sentrons import Scheduler, run_all, run_fast
from runtime.stats import Stats
from runtime.stats import collect_stats as collect_stats_of

DEFAULT_MAX_SIWS = 1 << 40


@dataclass
class SimResult:
    """What a run leaves behind: the bound arguments (tensors were updated in
    place), each sentron's final registers, and the statistics (None if off)."""

    kernel: str
    arguments: BoundArguments
    registers: list[list]
    spill: list[list[int]]
    siws: int
    stats: Stats | None

    @property
    def tensors(self) -> dict[int, np.ndarray]:
        return self.arguments.tensors


def check_sentron_count(kernel: KernelInfo, count: int) -> None:
    if count < 1:
        raise SentronCountError(f"at least one sentron is needed, got {count}")
    if count < kernel.min_sentrons:
        raise SentronCountError(f"kernel '{kernel.name}' needs at least {kernel.min_sentrons} "
                                f"sentrons, got {count}")
    if kernel.max_sentrons and count > kernel.max_sentrons:
        raise SentronCountError(f"kernel '{kernel.name}' supports at most "
                                f"{kernel.max_sentrons} sentrons, got {count}")


def _memory_for(bound: BoundArguments) -> PhextPageTable:
    memory = PhextPageTable()
    for index, array in bound.tensors.items():
        memory.add_tensor(index, bound.kernel.params[index].name, array)
    return memory


def _locator(program: Program) -> Callable[[int], str]:
    """SIW index -> "file:line:col" from the program's debug info ("" if none)."""
    def locate(siw: int) -> str:
        if 0 <= siw < len(program.locations):
            loc = program.locations[siw]
            if loc is not None:
                name = program.source_name or "<source>"
                return f"{name}:{loc.line}:{loc.col}"
        return ""
    return locate


def simulate(program: Program, kernel: str, args: Sequence | Mapping, *, sentrons: int = 1,
             profile: str = "zen4", collect_stats: bool = True,
             max_siws: int = DEFAULT_MAX_SIWS, warm_runs: int = 0) -> SimResult:
    """Run ``kernel`` of ``program`` on ``sentrons`` sentrons with ``args``.

    ``warm_runs`` untimed runs go first on the same arrays (restored to their
    contents after each), so the measured run starts with the caches and translation
    caches they left: the steady state of a kernel called repeatedly, as opposed to
    the compulsory misses of a first call."""
    info = program.kernel(kernel)
    check_sentron_count(info, sentrons)
    bound = bind_arguments(info, args)
    memory = _memory_for(bound)
    machine = get_profile(profile)
    hierarchy = _CacheHierarchy(machine, sentrons) if collect_stats else None
    snapshot = {index: array.copy() for index, array in bound.tensors.items()} \
        if warm_runs else {}
    for _ in range(warm_runs):
        _run(program, info, bound, memory, sentrons, hierarchy, max_siws)
        for index, array in bound.tensors.items():
            np.copyto(array, snapshot[index])
        if hierarchy is not None:
            hierarchy.settle(memory)
    return _run(program, info, bound, memory, sentrons, hierarchy, max_siws)


class _CacheHierarchy:
    """The caches of every core of a run, kept across warm-up runs."""

    def __init__(self, machine: Profile, sentrons: int) -> None:
        self.machine = machine
        last_level = shared_last_level(machine)
        self.levels = [CoreCaches(machine, last_level) for _ in range(sentrons)]

    def settle(self, memory: PhextPageTable) -> None:
        """Between runs: every line has arrived and the counters start again."""
        seen: set[int] = set()
        for caches in self.levels:
            caches.in_flight.clear()
            caches.prefetches = 0
            for cache in caches.levels:
                if id(cache) not in seen:
                    seen.add(id(cache))
                    cache.hits = cache.misses = 0
        for translation in memory.translation_caches.values():
            translation.hits = translation.misses = 0


def _run(program: Program, info: KernelInfo, bound: BoundArguments, memory: PhextPageTable,
         sentrons: int, hierarchy: _CacheHierarchy | None, max_siws: int) -> SimResult:
    scheduler = Scheduler(sentrons)
    states: list[SentronState] = []
    timings: list[SentronTiming] = []
    for sid in range(sentrons):
        st = SentronState(sid=sid, count=sentrons, spill=[0] * info.spill_words,
                          pc=info.entry, memory=memory, bound=bound,
                          pool=list(program.pool), scheduler=scheduler)
        if hierarchy is not None:
            st.timing = SentronTiming(hierarchy.machine, hierarchy.levels[sid],
                                      memory.translation_cache(sid),
                                      info.entry + info.length + 1)
            timings.append(st.timing)
        st.code = decode_kernel(program, info, st)
        states.append(st)
    scheduler.states = states
    locate = _locator(program)
    stats = None
    if hierarchy is not None:
        machine = hierarchy.machine
        metas: list[WordMeta | None] = [None] * info.entry + [
            word_meta(program.words[i], i, machine)
            for i in range(info.entry, info.entry + info.length)]
        metas.append(None)

        def runner(st: SentronState, limit: int) -> tuple[int, int]:
            assert st.timing is not None
            return st.timing.run(st, limit, metas)
        total = run_all(states, runner, max_siws, locate)
        tlbs = [memory.translation_cache(sid) for sid in range(sentrons)]
        stats = collect_stats_of(timings, metas, hierarchy.levels, tlbs, machine.name)
    else:
        total = run_all(states, run_fast, max_siws, locate)
    return SimResult(info.name, bound, [st.registers for st in states],
                     [st.spill for st in states], total, stats)
