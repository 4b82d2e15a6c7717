"""Building small test programs directly as Program/Word/Instr objects."""

from __future__ import annotations

from phextcc.backend.isa import BY_MNEMONIC, Pipe
from phextcc.backend.program import Instr, KernelInfo, Param, Program, Word


def op(mnemonic: str, *args: int) -> Instr:
    """One op by mnemonic, operands in table order (registers as numbers)."""
    info = BY_MNEMONIC[mnemonic]
    assert len(args) == len(info.operands), (mnemonic, args)
    return Instr(info, tuple(int(a) for a in args))


def word(*ops: Instr) -> Word:
    """A word holding ``ops`` in their pipes' slots (NOPs elsewhere)."""
    slots: dict[Pipe, Instr] = {}
    for instr in ops:
        assert instr.pipe not in slots, "two ops for one pipe"
        slots[instr.pipe] = instr
    return Word(**{p.name.lower(): i for p, i in slots.items()})


def scalar(name: str, dtype: str) -> Param:
    return Param(name, dtype)


def tensor(name: str, dtype: str, *dims: int | str) -> Param:
    return Param(name, dtype, tuple(dims), is_tensor=True)


def program(words: list[Word | Instr], params: tuple[Param, ...] = (),
            symbols: tuple[str, ...] = (), spill_words: int = 0, pool: list[int] | None = None,
            name: str = "k", prefix: int = 0) -> Program:
    """A one-kernel program; bare ops become one-op words. ``prefix`` puts that
    many DHALT words before the kernel so that entry != 0 is exercised."""
    body = [w if isinstance(w, Word) else word(w) for w in words]
    lead = [word(op("DHALT"))] * prefix
    kernel = KernelInfo(name=name, params=params, symbols=symbols, entry=prefix,
                        length=len(body), spill_words=spill_words)
    return Program(kernels=[kernel], pool=list(pool or []), words=lead + body)


HALT = op("DHALT")


def run_ops(ops: list[Word | Instr], init: dict[int, int] | None = None,
            params: tuple[Param, ...] = (), args: list | None = None, **kwargs: object):
    """Load r registers from ``init`` (register -> 64-bit pattern) through the
    constant pool, run ``ops``, halt; returns the SimResult."""
    from runtime.simulator import simulate

    init = init or {}
    pool = [v & ((1 << 64) - 1) for v in init.values()]
    loads: list[Word | Instr] = [op("DLDC", reg, i) for i, reg in enumerate(init)]
    prog = program(loads + list(ops) + [HALT], params=params, pool=pool,
                   spill_words=int(kwargs.pop("spill_words", 0)))  # type: ignore[arg-type]
    return simulate(prog, "k", args or [], **kwargs)  # type: ignore[arg-type]


def registers_after(ops: list[Word | Instr], init: dict[int, int] | None = None,
                    **kwargs: object) -> list:
    return run_ops(ops, init, **kwargs).registers[0]
