"""The cycle model: in-order issue of one SIW per cycle per sentron.

A word issues when every register it reads is ready (a scoreboard of ready
cycles, one per register) and the S pipe is free; a C op may hold it further
(a message not yet arrived, a barrier not yet released). Each cycle lost is
charged to one cause, so ``cycles == siws + sum(stall_cycles)`` always holds:

- ``raw_d`` / ``raw_s`` / ``raw_c``: waiting for a D / S / C result;
- ``memory``: waiting for loaded data (latency from the cache model);
- ``ppt_miss``: the S pipe is busy with a translation-cache miss;
- ``recv_wait`` / ``barrier_wait``: messages and collectives;
- ``branch``: a conditional branch against its static prediction
  (backward taken, forward not taken).

Hardware loops (``DLOOP``) cost their set-up word only: the sequencer knows the trip
count, so neither the loop-back from the end of the body (it takes no slot and no op)
nor the exit (or the skip of a loop with no trips) is ever mispredicted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from phextcc.backend.isa import Effect, Kind, Pipe, Role
from phextcc.backend.program import Word
from runtime.cache_model import CoreCaches
from runtime.errors import VtpuRuntimeError
from runtime.phext_memory import TranslationCache
from runtime.profiles import Profile
from runtime.sentron_state import BLOCKED, HALT, SentronState, reg_index

STALL_CAUSES = ("raw_d", "raw_s", "raw_c", "memory", "ppt_miss", "recv_wait",
                "barrier_wait", "branch")
_PIPE_CAUSE = {Pipe.D: "raw_d", Pipe.S: "raw_s", Pipe.C: "raw_c"}
LOAD_LATENCY = -1  # marks a def whose latency the cache model decides
_ACCESS = Effect.READ_MEM | Effect.WRITE_MEM


@dataclass(frozen=True)
class WordMeta:
    """What the cycle model needs to know about one word, computed at decode."""

    uses: tuple[int, ...]
    defs: tuple[tuple[int, int, str], ...]  # (register, latency or LOAD_LATENCY, cause)
    has_s_op: bool
    ops: tuple[int, int, int]  # real slot ops per pipe (0 or 1)
    nops: tuple[int, int, int]  # NOPs per pipe (0 or 1)
    branch_target: int | None  # conditional branches only
    predicted_taken: bool


def word_meta(word: Word, index: int, profile: Profile) -> WordMeta:
    uses: list[int] = []
    defs: list[tuple[int, int, str]] = []
    branch_target = None
    for instr in word.ops:
        info = instr.info
        for operand, value in zip(info.operands, instr.args):
            if not operand.kind.is_reg:
                continue
            reg = reg_index(operand.kind, value)
            if operand.role in (Role.USE, Role.USEDEF):
                uses.append(reg)
            if operand.role in (Role.DEF, Role.USEDEF):
                if operand.kind is Kind.P and info.effects & _ACCESS:
                    # a post-increment's coordinate comes from the address unit
                    defs.append((reg, profile.latency["index"], _PIPE_CAUSE[info.pipe]))
                elif info.effects & Effect.READ_MEM:
                    defs.append((reg, LOAD_LATENCY, "memory"))
                else:
                    defs.append((reg, profile.latency[info.latency], _PIPE_CAUSE[info.pipe]))
        if info.effects & Effect.BRANCH and info.family != "DJMP":
            branch_target = dict(zip((o.name for o in info.operands), instr.args))["target"]
    # Only real slot ops count: not NOPs, and not ops the sequencer handles
    # without a slot (latency class "none", e.g. hardware-loop control).
    ops = [0 if op.info.latency == "none" else 1 for op in word.ops]
    nops = [1 if op.is_nop else 0 for op in word.ops]
    return WordMeta(tuple(uses), tuple(defs), not word.s.is_nop,
                    (ops[0], ops[1], ops[2]), (nops[0], nops[1], nops[2]), branch_target,
                    branch_target is not None and branch_target <= index)


class SentronTiming:
    """The timing state of one sentron (its own core's pipes and caches)."""

    def __init__(self, profile: Profile, caches: CoreCaches, tlb: TranslationCache,
                 words: int) -> None:
        self.profile = profile
        self.caches = caches
        self.tlb = tlb
        self.message_latency = profile.message_latency
        self.load_latency = profile.latency["load"]
        self.mispredict = profile.branch_mispredict
        self.ready = [0] * 28
        self.ready_cause = ["raw_d"] * 28
        self.next_issue = 0
        self.candidate = 0  # earliest issue cycle of the word being executed
        self.s_busy = 0
        self.stalls = dict.fromkeys(STALL_CAUSES, 0)
        self.executed = [0] * words  # per SIW index: op counts are summed at the end
        self.cycles = 0

    def run(self, st: SentronState, limit: int,
            metas: Sequence[WordMeta | None]) -> tuple[int, int]:
        """Run ``st`` for up to ``limit`` SIWs, timing each word: (SIWs executed,
        status) with status 0 (quantum used), HALT or BLOCKED.

        Per word: the earliest issue cycle from the scoreboard is known before the
        word runs (a collective records it as this sentron's arrival; a send stamps
        its message with it), then the word runs, then waits, memory latencies and
        the branch outcome are accounted. Kept in one loop with locals because it
        runs once per simulated SIW."""
        code = st.code
        pc = st.pc
        executed = 0
        ready, ready_cause, stalls, counts = self.ready, self.ready_cause, self.stalls, \
            self.executed
        next_issue, load_latency, mispredict = self.next_issue, self.load_latency, \
            self.mispredict
        status = 0
        try:
            while executed < limit:
                meta = metas[pc]
                if meta is None:
                    code[pc]()  # outside the kernel: raises
                    raise AssertionError("unreachable")
                base = t = next_issue
                cause = ""
                if meta.has_s_op and self.s_busy > t:
                    t, cause = self.s_busy, "ppt_miss"
                for reg in meta.uses:
                    if ready[reg] > t:
                        t, cause = ready[reg], ready_cause[reg]
                self.candidate = t
                st.mem_event = None
                st.wait_until = 0
                outcome = code[pc]()
                if outcome == BLOCKED:
                    status = BLOCKED
                    break
                if t > base:
                    stalls[cause] += t - base
                if st.wait_until > t:
                    stalls[st.wait_cause] += st.wait_until - t
                    t = st.wait_until
                event = st.mem_event
                load_ready = t + load_latency if event is None else self._memory(*event, t)
                for reg, latency, def_cause in meta.defs:
                    ready[reg] = load_ready if latency == LOAD_LATENCY else t + latency
                    ready_cause[reg] = def_cause
                counts[pc] += 1
                executed += 1
                self.cycles = next_issue = t + 1
                taken = outcome is not None and outcome >= 0
                if meta.branch_target is not None and taken != meta.predicted_taken:
                    stalls["branch"] += mispredict
                    next_issue += mispredict
                if outcome is None:
                    pc += 1
                elif taken:
                    pc = outcome
                else:
                    status = HALT
                    break
        except VtpuRuntimeError as error:
            raise error.locate(pc) from None
        finally:
            st.pc = pc
            self.next_issue = next_issue
        return executed, status

    def _memory(self, kind: str, coord: int, address: int | None, hint: int,
                issue: int) -> int:
        """Feed the PPT and the caches; returns when loaded data is ready."""
        profile = self.profile
        translation = profile.ppt_hit
        if kind != "flush" and not self.tlb.access(coord):
            translation += profile.ppt_miss
            self.s_busy = issue + 1 + profile.ppt_miss
        if address is None:
            return issue + translation + self.load_latency
        if kind == "prefetch":
            self.caches.prefetch(address, hint, issue)
            return issue
        if kind == "flush":
            self.caches.flush(address)
            return issue
        ready, _ = self.caches.access(address, issue + translation)
        return ready

    def totals(self, metas: list[WordMeta | None]) -> tuple[int, list[int], list[int]]:
        """(SIWs, real ops per pipe, NOPs per pipe) executed by this sentron."""
        ops, nops = [0, 0, 0], [0, 0, 0]
        for count, meta in zip(self.executed, metas):
            if count and meta is not None:
                for pipe in range(3):
                    ops[pipe] += count * meta.ops[pipe]
                    nops[pipe] += count * meta.nops[pipe]
        return sum(self.executed), ops, nops
