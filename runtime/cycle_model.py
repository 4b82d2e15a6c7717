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
"""

from __future__ import annotations

from dataclasses import dataclass

from phextcc.backend.isa import Effect, Pipe, Role
from phextcc.backend.program import Word
from runtime.cache_model import CoreCaches
from runtime.phext_memory import TranslationCache
from runtime.profiles import Profile
from runtime.sentron_state import SentronState, reg_index

STALL_CAUSES = ("raw_d", "raw_s", "raw_c", "memory", "ppt_miss", "recv_wait",
                "barrier_wait", "branch")
_PIPE_CAUSE = {Pipe.D: "raw_d", Pipe.S: "raw_s", Pipe.C: "raw_c"}
LOAD_LATENCY = -1  # marks a def whose latency the cache model decides


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
                if info.effects & Effect.READ_MEM:
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

    def __init__(self, profile: Profile, caches: CoreCaches, tlb: TranslationCache) -> None:
        self.profile = profile
        self.caches = caches
        self.tlb = tlb
        self.message_latency = profile.message_latency
        self.ready = [0] * 28
        self.ready_cause = ["raw_d"] * 28
        self.next_issue = 0
        self.base = 0
        self.candidate = 0
        self.candidate_cause = ""
        self.s_busy = 0
        self.stalls = dict.fromkeys(STALL_CAUSES, 0)
        self.siws = 0
        self.ops = [0, 0, 0]
        self.nops = [0, 0, 0]
        self.cycles = 0

    def pre_issue(self, meta: WordMeta) -> None:
        """The earliest issue cycle from registers and pipes (before the word runs,
        so a collective knows when this sentron arrived)."""
        t = self.base = self.next_issue
        cause = ""
        if meta.has_s_op and self.s_busy > t:
            t, cause = self.s_busy, "ppt_miss"
        ready = self.ready
        for reg in meta.uses:
            if ready[reg] > t:
                t, cause = ready[reg], self.ready_cause[reg]
        self.candidate, self.candidate_cause = t, cause

    def retire(self, meta: WordMeta, st: SentronState, pc: int, taken: bool) -> None:
        issue = self.candidate
        if issue > self.base:
            self.stalls[self.candidate_cause] += issue - self.base
        if st.wait_until > issue:
            self.stalls[st.wait_cause] += st.wait_until - issue
            issue = st.wait_until
        load_ready = issue + self.profile.latency["load"]
        event = st.mem_event
        if event is not None:
            load_ready = self._memory(event.kind, event.coord, event.address, event.hint, issue)
        for reg, latency, cause in meta.defs:
            self.ready[reg] = load_ready if latency == LOAD_LATENCY else issue + latency
            self.ready_cause[reg] = cause
        self.siws += 1
        ops = meta.ops
        self.ops[0] += ops[0]
        self.ops[1] += ops[1]
        self.ops[2] += ops[2]
        nops = meta.nops
        self.nops[0] += nops[0]
        self.nops[1] += nops[1]
        self.nops[2] += nops[2]
        self.next_issue = issue + 1
        if meta.branch_target is not None and taken != meta.predicted_taken:
            self.stalls["branch"] += self.profile.branch_mispredict
            self.next_issue += self.profile.branch_mispredict
        self.cycles = issue + 1

    def _memory(self, kind: str, coord: int, address: int | None, hint: int,
                issue: int) -> int:
        """Feed the PPT and the caches; returns when loaded data is ready."""
        profile = self.profile
        translation = profile.ppt_hit
        if kind != "flush" and not self.tlb.access(coord):
            translation += profile.ppt_miss
            self.s_busy = issue + 1 + profile.ppt_miss
        if address is None:
            return issue + translation + profile.latency["load"]
        if kind == "prefetch":
            self.caches.prefetch(address, hint, issue)
            return issue
        if kind == "flush":
            self.caches.flush(address)
            return issue
        ready, _ = self.caches.access(address, issue + translation)
        return ready

