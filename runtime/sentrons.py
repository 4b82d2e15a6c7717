"""Running S sentrons together: round-robin scheduling, the C-pipe FIFOs,
collectives (barrier, all-reduce, broadcast) and deadlock detection.

Each sentron runs until it blocks, halts or uses up its quantum; the order is
fixed (0, 1, 2, ...), so runs are deterministic. When a whole round passes
without any sentron executing a word, the run is deadlocked.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable

from runtime.errors import (
    CollectiveMismatch,
    DeadlockError,
    StepBudgetExceeded,
    VtpuRuntimeError,
)
from runtime.sentron_state import BLOCKED, HALT, SentronState

QUANTUM = 4096  # SIWs a sentron may run before the next one gets its turn


class Scheduler:
    """Shared C-pipe state of one run."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.fifos: defaultdict[tuple[int, int], deque] = defaultdict(deque)
        self.states: list[SentronState] = []
        # sid -> (matching key, contribution, arrival cycle, SIW of the op)
        self._arrivals: dict[int, tuple[tuple, int, int, int]] = {}
        self._results: dict[int, tuple[int, int]] = {}

    def collective(self, st: SentronState, key: tuple, value: int, arrival: int,
                   combine: Callable[[list[int]], int],
                   latency_class: str, siw: int) -> tuple[int, int] | None:
        """Arrive at (or check on) the current collective; (result, release cycle)
        once every sentron has arrived, else None."""
        done = self._results.pop(st.sid, None)
        if done is not None:
            return done
        if st.sid not in self._arrivals:
            self._arrivals[st.sid] = (key, value, arrival, siw)
        if len(self._arrivals) < self.count:
            return None
        arrivals = [self._arrivals[sid] for sid in range(self.count)]
        self._arrivals = {}
        if any(a[0] != key for a in arrivals):
            raise CollectiveMismatch("sentrons met in different collectives: " + "; ".join(
                f"sentron {sid} in {_describe_key(a[0])} at SIW {a[3]}"
                for sid, a in enumerate(arrivals)))
        result = combine([a[1] for a in arrivals])
        latency = 0
        if st.timing is not None:
            latency = st.timing.profile.latency[latency_class]
        release = max(a[2] for a in arrivals) + latency
        for sid in range(self.count):
            if sid != st.sid:
                self._results[sid] = (result, release)
        return result, release


def _describe_key(key: tuple) -> str:
    return " ".join(str(part) for part in key)


def run_fast(st: SentronState, limit: int) -> tuple[int, int]:
    """Run ``st`` for up to ``limit`` SIWs without timing: (SIWs executed, status)
    where status is 0 (quantum used), HALT or BLOCKED."""
    code = st.code
    pc = st.pc
    executed = 0
    try:
        while executed < limit:
            outcome = code[pc]()
            if outcome is None:
                pc += 1
            elif outcome >= 0:
                pc = outcome
            elif outcome == HALT:
                executed += 1
                st.pc = pc
                return executed, HALT
            else:
                st.pc = pc
                return executed, BLOCKED
            executed += 1
    except VtpuRuntimeError as error:
        st.pc = pc
        raise error.locate(pc) from None
    st.pc = pc
    return executed, 0


Runner = Callable[[SentronState, int], tuple[int, int]]


def run_all(states: list[SentronState], runner: Runner, max_siws: int,
            locate: Callable[[int], str]) -> int:
    """Round-robin until every sentron halts; returns the SIWs executed in total."""
    total = 0
    while True:
        progress = False
        live = [st for st in states if not st.halted]
        if not live:
            return total
        for st in live:
            budget = min(QUANTUM, max_siws - total)
            if budget <= 0:
                raise StepBudgetExceeded(f"step budget of {max_siws} SIWs exhausted "
                                         f"(sentron {st.sid} at SIW {st.pc})")
            try:
                executed, status = runner(st, budget)
            except VtpuRuntimeError as error:
                if error.siw is not None and not error.where:
                    error.where = locate(error.siw)
                if len(states) > 1 and error.sentron is None:
                    error.sentron = st.sid
                raise
            st.siws += executed
            total += executed
            if executed:
                progress = True
            if status == HALT:
                st.halted = True
                progress = True
        if not progress:
            raise _deadlock(states, locate)


def _deadlock(states: list[SentronState], locate: Callable[[int], str]) -> DeadlockError:
    waiters = []
    for st in states:
        where = locate(st.pc)
        at = f"at SIW {st.pc}" + (f" ({where})" if where else "")
        if st.halted:
            waiters.append(f"sentron {st.sid} has halted")
        else:
            waiters.append(f"sentron {st.sid} waits in {st.block_reason} {at}")
    return DeadlockError(waiters)
