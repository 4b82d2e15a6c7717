"""Closure builders for S-pipe families: coordinates, loads and stores through
the phext page table, prefetch/flush, SALLOC/SFREE, spill and fill.

When timing is on (``st.timing`` set), memory ops also leave a ``MemoryEvent`` tuple
on the sentron for the cycle model; otherwise they skip that work entirely.
"""

from __future__ import annotations

from phextcc.backend.isa import PHEXT_DIM_BITS, Type
from phextcc.backend.program import Instr
from runtime.errors import MemoryFault
from runtime.floatbits import M64, signed64
from runtime.ops_dense import Builder, op_type, operands
from runtime.phext_memory import COORD_MASK, OFFSET_BITS, OFFSET_MASK, pack_coordinate
from runtime.sentron_state import OpFn, SentronState

_ITEMSIZE = {Type.I32: 4, Type.I64: 8, Type.F32: 4, Type.F64: 8}


def build_base(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    d, coord = o["pd"], pack_coordinate(o["param"], 0)

    def base() -> None:
        R[d] = coord
    return base


def build_index(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    d, p, r = o["pd"], o["ps"], o["offset"]
    scale = 1 << (PHEXT_DIM_BITS * o["dim"])

    def index() -> None:
        offset = R[r]
        if offset >> 63:
            offset -= 1 << 64
        R[d] = (R[p] + offset * scale) & COORD_MASK
    return index


def build_gather(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    t, d, p, imm = op_type(instr), o["rd"], o["coord"], o["offset"]
    memory = st.memory
    assert memory is not None
    regions = memory.regions
    if st.timing is None:
        def gather() -> None:
            coord = (R[p] + imm) & COORD_MASK  # a 128-bit add, wrapping as in the JIT
            try:
                view, _, count = regions[coord >> OFFSET_BITS].views[t]
            except KeyError:
                raise memory.fault(coord, t) from None
            offset = coord & OFFSET_MASK
            if offset >= count:
                raise memory.fault(coord, t)
            R[d] = view[offset] & M64
        return gather
    size = _ITEMSIZE[t]

    def gather_tracked() -> None:
        coord = (R[p] + imm) & COORD_MASK
        try:
            region = regions[coord >> OFFSET_BITS]
            view, _, count = region.views[t]
        except KeyError:
            raise memory.fault(coord, t) from None
        offset = coord & OFFSET_MASK
        if offset >= count:
            raise memory.fault(coord, t)
        R[d] = view[offset] & M64
        st.mem_event = ("load", coord, region.base_address + offset * size, 0)
    return gather_tracked


def build_scatter(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    t, s, p, imm = op_type(instr), o["rs"], o["coord"], o["offset"]
    memory = st.memory
    assert memory is not None
    regions = memory.regions
    mask = (1 << (8 * _ITEMSIZE[t])) - 1
    size = _ITEMSIZE[t]
    tracked = st.timing is not None

    def scatter() -> None:
        coord = (R[p] + imm) & COORD_MASK
        try:
            region = regions[coord >> OFFSET_BITS]
            _, view, count = region.views[t]
        except KeyError:
            raise memory.fault(coord, t) from None
        offset = coord & OFFSET_MASK
        if offset >= count:
            raise memory.fault(coord, t)
        view[offset] = R[s] & mask
        if tracked:
            st.mem_event = ("store", coord, region.base_address + offset * size, 0)
    return scatter


def _post_increment(access: Builder) -> Builder:
    """SGATHERI/SSCATTRI: the access of SGATHER/SSCATTR (same checks, same errors), then
    the coordinate register written back as coord + step (a 128-bit add, wrapping like
    SINDEX). An access that faults leaves the coordinate unchanged."""
    def build(instr: Instr, st: SentronState) -> OpFn:
        inner = access(instr, st)
        o, R = operands(instr), st.registers
        p, step = o["coord"], o["step"]

        def post_increment() -> None:
            coord = R[p]
            inner()
            R[p] = (coord + step) & COORD_MASK
        return post_increment
    return build


def _hint_op(instr: Instr, st: SentronState, kind: str, hint: int, offset: int) -> OpFn:
    """SPREFCH/SFLUSH: no architectural effect, never faults; timing sees them."""
    o, R = operands(instr), st.registers
    p, memory = o["coord"], st.memory
    assert memory is not None
    if st.timing is None:
        return lambda: None

    def hint_op() -> None:
        coord = (R[p] + offset) & COORD_MASK
        # The element size is unknown to a hint; byte-address granularity of 8
        # bytes is close enough for picking the cache line.
        region_id = coord >> OFFSET_BITS
        region = memory.regions.get(region_id)
        address = None if region is None else \
            region.base_address + (coord & OFFSET_MASK) * region.itemsize
        st.mem_event = (kind, coord, address, hint)
    return hint_op


def build_prefetch(instr: Instr, st: SentronState) -> OpFn:
    o = operands(instr)
    return _hint_op(instr, st, "prefetch", o["hint"], o["offset"])


def build_flush(instr: Instr, st: SentronState) -> OpFn:
    o = operands(instr)
    return _hint_op(instr, st, "flush", o["width"], 0)


def build_alloc(instr: Instr, st: SentronState) -> OpFn:
    o, R, memory = operands(instr), st.registers, st.memory
    assert memory is not None
    d, size = o["pd"], o["size"]

    def alloc() -> None:
        R[d] = memory.allocate(signed64(R[size]))
    return alloc


def build_free(instr: Instr, st: SentronState) -> OpFn:
    o, R, memory = operands(instr), st.registers, st.memory
    assert memory is not None
    p = o["coord"]

    def free() -> None:
        memory.free(R[p])
    return free


# -- spill area: 64-bit words; p takes 2 (low word first), m takes 4 -----------

def _slot_range_fault(instr: Instr, st: SentronState, words: int) -> OpFn | None:
    slot = operands(instr)["slot"]
    if slot + words <= len(st.spill):
        return None
    message = (f"{instr.info.mnemonic} of spill slot {slot} ({words} word(s)) outside the "
               f"spill area of {len(st.spill)} word(s)")

    def fault() -> None:
        raise MemoryFault(message)
    return fault


def build_spill(instr: Instr, st: SentronState) -> OpFn:
    fault = _slot_range_fault(instr, st, 1)
    if fault:
        return fault
    o, R, area = operands(instr), st.registers, st.spill
    s, slot = o["rs"], o["slot"]

    def spill() -> None:
        area[slot] = R[s]
    return spill


def build_fill(instr: Instr, st: SentronState) -> OpFn:
    fault = _slot_range_fault(instr, st, 1)
    if fault:
        return fault
    o, R, area = operands(instr), st.registers, st.spill
    d, slot = o["rd"], o["slot"]

    def fill() -> None:
        R[d] = area[slot]
    return fill


def build_spill_coord(instr: Instr, st: SentronState) -> OpFn:
    fault = _slot_range_fault(instr, st, 2)
    if fault:
        return fault
    o, R, area = operands(instr), st.registers, st.spill
    s, slot = o["ps"], o["slot"]

    def spill_coord() -> None:
        area[slot] = R[s] & M64
        area[slot + 1] = R[s] >> 64
    return spill_coord


def build_fill_coord(instr: Instr, st: SentronState) -> OpFn:
    fault = _slot_range_fault(instr, st, 2)
    if fault:
        return fault
    o, R, area = operands(instr), st.registers, st.spill
    d, slot = o["pd"], o["slot"]

    def fill_coord() -> None:
        R[d] = area[slot] | (area[slot + 1] << 64)
    return fill_coord


def build_spill_message(instr: Instr, st: SentronState) -> OpFn:
    fault = _slot_range_fault(instr, st, 4)
    if fault:
        return fault
    o, R, area = operands(instr), st.registers, st.spill
    s, slot = o["ms"], o["slot"]

    def spill_message() -> None:
        area[slot:slot + 4] = R[s]
    return spill_message


def build_fill_message(instr: Instr, st: SentronState) -> OpFn:
    fault = _slot_range_fault(instr, st, 4)
    if fault:
        return fault
    o, R, area = operands(instr), st.registers, st.spill
    d, slot = o["md"], o["slot"]

    def fill_message() -> None:
        R[d] = tuple(area[slot:slot + 4])
    return fill_message


def build_move_coord(instr: Instr, st: SentronState) -> OpFn:
    o, R = operands(instr), st.registers
    d, s = o["pd"], o["ps"]

    def move_coord() -> None:
        R[d] = R[s]
    return move_coord


MEMORY_BUILDERS: dict[str, Builder] = {
    "SBASE": build_base,
    "SINDEX": build_index,
    "SGATHER": build_gather,
    "SSCATTR": build_scatter,
    "SGATHERI": _post_increment(build_gather),
    "SSCATTRI": _post_increment(build_scatter),
    "SPREFCH": build_prefetch,
    "SFLUSH": build_flush,
    "SALLOC": build_alloc,
    "SFREE": build_free,
    "SSPILL": build_spill,
    "SFILL": build_fill,
    "SSPILLP": build_spill_coord,
    "SFILLP": build_fill_coord,
    "SSPILLM": build_spill_message,
    "SFILLM": build_fill_message,
    "SMOVP": build_move_coord,
}
