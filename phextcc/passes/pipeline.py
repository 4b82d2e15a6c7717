"""Named pass pipelines: each -O level is data, a list of pass names.

Pass names resolve through phextcc's own registry first, then through xDSL's
(`xdsl.transforms.get_all_passes`), so generic passes are reused, not rewritten.
"""

from __future__ import annotations

from collections.abc import Callable

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass, PassPipeline

# The tiers. IR-level passes only; SIW-level work (pipe assignment, packing,
# prefetch, double-buffering) is chosen by the backend from the same -O level.
TIER_PIPELINES: dict[int, tuple[str, ...]] = {
    0: (),
    1: ("canonicalize", "cse", "dce"),
    2: ("canonicalize", "cse", "dce"),
    3: ("canonicalize", "cse", "dce"),
}


def phextcc_passes() -> dict[str, Callable[[], type[ModulePass]]]:
    """phextcc's own passes, by name (one pass per file in this package)."""
    return {}


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


def run_pipeline(module: ModuleOp, opt_level: int, verify_between: bool = False) -> ModuleOp:
    from phextcc.ir.context import make_context

    spec = pipeline_spec(opt_level)
    if spec:
        build_pipeline(spec, verify_between).apply(make_context(), module)
    return module
