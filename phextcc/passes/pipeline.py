"""Named pass pipelines: each -O level is data, a list of pass names.

Pass names resolve through phextcc's own registry first, then through xDSL's
(`xdsl.transforms.get_all_passes`), so generic passes are reused, not rewritten
(canonicalize, cse, dce and licm through thin phextcc variants that keep, and never
hoist, ops which may trap, and never fold a float result differently). See
docs/passes.md for what each pass does and must never do.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline

# The scalar passes, the same at every tier, so that the tiers differ only in how the
# stream is structured (vtpu-isa.md section 5: one op at a time, pipe-separated, packed,
# then prefetched and double-buffered) and each tier's ops/cycle measures the same work.
# Bounds are proven before strength reduction, which turns index expressions into
# loop-carried values the range analysis does not follow.
SCALAR_PASSES: tuple[str, ...] = (
    "phx-canonicalize", "phx-cse", "phx-licm", "prove-in-bounds",
    "strength-reduce", "phx-canonicalize", "phx-cse", "phx-dce",
)
# prefetch-next-row before unrolling, while each inner loop still walks its whole row
# (its walk is then bounded by the row the loop reads, remainder included);
# prefetch-insert right after unrolling, so that one prefetch covers the cache line of
# 16 unrolled copies; phx-licm again after both: the remainder-loop and split bounds of
# an inner loop are invariant in the outer one. Unrolling budgets (docs/passes.md): 64
# ops of copies for serial loops (more spilled natively: embedding_bag ran 5x slower),
# 128 for a line of a map's copies (saxpy's 16 x 6 ops gain; the Laplacian's 16 x 14
# lost to LLVM's own vector loop).
_TIER3: tuple[str, ...] = (
    *SCALAR_PASSES, "prefetch-next-row", "unroll-inner{factor=16 max_ops=64 lane_max_ops=128}",
    "prefetch-insert", "phx-canonicalize", "phx-cse", "phx-licm", "phx-dce",
)

# The tiers' IR passes (software prefetch included); SIW-level work (pipe assignment,
# packing, double-buffering) is chosen by the backend from the same -O level. An empty
# custom pipeline (`--passes ''`) compiles the program unoptimised: the reference every
# tier is tested against.
TIER_PIPELINES: dict[int, tuple[str, ...]] = {
    0: SCALAR_PASSES, 1: SCALAR_PASSES, 2: SCALAR_PASSES, 3: _TIER3}


def _canonicalize() -> type[ModulePass]:
    from phextcc.passes.canonicalize import PhxCanonicalizePass

    return PhxCanonicalizePass


def _cse() -> type[ModulePass]:
    from phextcc.passes.cse import PhxCommonSubexpressionEliminationPass

    return PhxCommonSubexpressionEliminationPass


def _dce() -> type[ModulePass]:
    from phextcc.passes.dce import PhxDeadCodeEliminationPass

    return PhxDeadCodeEliminationPass


def _licm() -> type[ModulePass]:
    from phextcc.passes.licm import PhxLoopInvariantCodeMotionPass

    return PhxLoopInvariantCodeMotionPass


def _prove_in_bounds() -> type[ModulePass]:
    from phextcc.passes.prove_in_bounds import ProveInBoundsPass

    return ProveInBoundsPass


def _strength_reduce() -> type[ModulePass]:
    from phextcc.passes.strength_reduce import StrengthReducePass

    return StrengthReducePass


def _prefetch_insert() -> type[ModulePass]:
    from phextcc.passes.prefetch import PrefetchInsertPass

    return PrefetchInsertPass


def _prefetch_next_row() -> type[ModulePass]:
    from phextcc.passes.prefetch_rows import PrefetchNextRowPass

    return PrefetchNextRowPass


def _unroll_inner() -> type[ModulePass]:
    from phextcc.passes.unroll import UnrollInnerLoopsPass

    return UnrollInnerLoopsPass


_PHEXTCC_PASSES: dict[str, Callable[[], type[ModulePass]]] = {
    "phx-canonicalize": _canonicalize,
    "phx-cse": _cse,
    "phx-dce": _dce,
    "phx-licm": _licm,
    "prefetch-insert": _prefetch_insert,
    "prefetch-next-row": _prefetch_next_row,
    "prove-in-bounds": _prove_in_bounds,
    "strength-reduce": _strength_reduce,
    "unroll-inner": _unroll_inner,
}


def phextcc_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """phextcc's own passes, by name (one pass per file in this package)."""
    return dict(_PHEXTCC_PASSES)


def available_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    from xdsl.transforms import get_all_passes

    passes = dict(get_all_passes())
    passes.update(phextcc_passes())
    return passes


def pipeline_spec(opt_level: int) -> str:
    return ",".join(TIER_PIPELINES[opt_level])


def build_pipeline(spec: str, verify_between: bool = False) -> PassPipeline:
    """Parse a textual pipeline; with ``verify_between`` the module is verified after
    every pass (the test suite turns this on)."""

    def verify(_prev: ModulePass | None, module: ModuleOp, _next: ModulePass | None) -> None:
        module.verify()

    return PassPipeline.parse_spec(available_passes(), spec,
                                   callback=verify if verify_between else None)


def run_pipeline(module: ModuleOp, opt_level: int, verify_between: bool = False,
                 spec: str | None = None, *, dump: Callable[[str, str], None] | None = None,
                 times: PassTimes | None = None) -> ModuleOp:
    """Run ``spec`` (a textual pipeline), or the pipeline of ``opt_level`` when None.
    Observing the passes (``dump``, ``times``: see `run_passes`) verifies between them."""
    from phextcc.ir.context import make_context

    if spec is None:
        spec = pipeline_spec(opt_level)
    if not spec:
        return module
    if dump is not None or times is not None:
        return run_passes(module, build_pipeline(spec).passes, dump=dump, times=times)
    build_pipeline(spec, verify_between).apply(make_context(), module)
    return module


@dataclass
class PassTimes:
    """Wall time per pass, in pipeline order (a pass may appear more than once)."""

    entries: list[tuple[str, float]] = field(default_factory=list)

    def report(self) -> str:
        total = sum(seconds for _, seconds in self.entries)
        lines = ["===-- pass execution timing report --===",
                 f"  total: {total * 1000:.3f} ms"]
        for name, seconds in self.entries:
            share = 100.0 * seconds / total if total > 0 else 0.0
            lines.append(f"  {seconds * 1000:10.3f} ms {share:5.1f}%  {name}")
        return "\n".join(lines)


def pass_label(pass_: ModulePass) -> str:
    """The pass as written in a pipeline, options included."""
    return str(pass_.pipeline_pass_spec())


def run_passes(module: ModuleOp, passes: tuple[ModulePass, ...], *,
               dump: Callable[[str, str], None] | None = None,
               times: PassTimes | None = None) -> ModuleOp:
    """Apply ``passes`` in order, verifying the module after every pass; ``dump`` gets
    (pass label, IR text) after each one (``--print-ir-after-all``), ``times`` the wall
    time of each (``--time-passes``)."""
    from phextcc.ir.context import make_context, print_ir

    ctx = make_context()
    for pass_ in passes:
        start = time.perf_counter()
        pass_.apply(ctx, module)
        elapsed = time.perf_counter() - start
        module.verify()
        label = pass_label(pass_)
        if times is not None:
            times.entries.append((label, elapsed))
        if dump is not None:
            dump(label, print_ir(module))
    return module
