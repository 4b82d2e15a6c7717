"""Phext memory: regions, coordinate translation, bounds, SALLOC, the PPT cache.

A coordinate is the packed 128-bit integer ``offset + (region << OFFSET_BITS)``:
D10 holds the region id, D0..D9 the flat row-major element offset in base 2048.
Region k < 1024 is the k-th kernel parameter; regions >= 1024 come from SALLOC.

Element access goes through per-region memoryviews cast to the element's format,
so a load yields the register bit pattern directly (f32 as its 32-bit pattern via
an unsigned view, i32 through a signed view, sign-extended by masking).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from phextcc.backend.isa import OFFSET_BITS, PHEXT_DIM_BITS, REGION_DIM, Type
from runtime.errors import MemoryFault

OFFSET_MASK = (1 << OFFSET_BITS) - 1
REGION_MASK = (1 << PHEXT_DIM_BITS) - 1
FIRST_ALLOC_REGION = 1024
REGION_LIMIT = 1 << PHEXT_DIM_BITS  # D10 has 11 bits
COORD_MASK = (1 << 128) - 1
# Where the region id starts in a page number (a coordinate without D0).
PAGE_REGION_SHIFT = OFFSET_BITS - PHEXT_DIM_BITS
# Sets between the page 0s of consecutive regions in the translation cache: odd, so
# that every region's page 0 gets a set of its own (256 sets).
REGION_SET_STRIDE = 67
SALLOC_MAX_WORDS = 1 << 28  # 2 GiB: a larger request is a bug, not a workload

assert OFFSET_BITS == PHEXT_DIM_BITS * REGION_DIM

# Element type -> (numpy dtype, memoryview format for loads, format for stores).
# Loads of i32 use the signed view (then mask to the 64-bit pattern); everything
# else is read and written as unsigned bits of the element's width.
ELEMENT_FORMATS: dict[Type, tuple[str, str, str]] = {
    Type.I32: ("int32", "i", "I"),
    Type.I64: ("int64", "Q", "Q"),
    Type.F32: ("float32", "I", "I"),
    Type.F64: ("float64", "Q", "Q"),
}
TYPE_OF_DTYPE: dict[str, Type] = {fmt[0]: t for t, fmt in ELEMENT_FORMATS.items()}
STORE_MASK: dict[Type, int] = {Type.I32: (1 << 32) - 1, Type.I64: (1 << 64) - 1,
                               Type.F32: (1 << 32) - 1, Type.F64: (1 << 64) - 1}


def pack_coordinate(region: int, offset: int) -> int:
    return (region << OFFSET_BITS) | offset


def split_coordinate(coord: int) -> tuple[int, int]:
    """(region, flat offset) of a packed coordinate (flag bits ignored)."""
    return (coord >> OFFSET_BITS) & REGION_MASK, coord & OFFSET_MASK


@dataclass
class Region:
    """One addressable tensor: a flat byte buffer and typed views of it.

    ``views[t]`` is ``(load view, store view, element count)`` for each element
    type the region may be accessed as: a parameter only as its own dtype, an
    SALLOC region (untyped 8-byte words) as any type."""

    region_id: int
    name: str
    base_address: int  # real byte address (the cache model uses it)
    itemsize: int
    views: dict[Type, tuple[memoryview, memoryview, int]]
    array: np.ndarray | None = None


def _typed_views(flat: np.ndarray, t: Type) -> tuple[memoryview, memoryview, int]:
    _, load_fmt, store_fmt = ELEMENT_FORMATS[t]
    raw = memoryview(flat).cast("B")
    count = raw.nbytes // flat.dtype.itemsize if flat.size else 0
    if count == 0:
        empty = memoryview(bytearray(8)).cast(load_fmt)
        return empty, memoryview(bytearray(8)).cast(store_fmt), 0
    return raw.cast(load_fmt), raw.cast(store_fmt), count


@dataclass
class TranslationCache:
    """The PPT's translation cache: set-associative, LRU, keyed by page (the
    coordinate with D0 dropped, i.e. 2048 elements of one region).

    The set comes from the page's offset within its region plus ``REGION_SET_STRIDE``
    sets per region id: the low page bits alone would put page 0 of every tensor in
    one set, and a kernel reading five tensors would miss on every fifth access."""

    entries: int = 1024
    ways: int = 4
    hits: int = 0
    misses: int = 0
    sets: list[list[int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.sets = [[] for _ in range(self.entries // self.ways)]

    def access(self, coord: int) -> bool:
        """Look up the page of ``coord``; True on a hit. Misses fill (LRU evict)."""
        page = (coord & COORD_MASK) >> PHEXT_DIM_BITS
        region = page >> PAGE_REGION_SHIFT
        lines = self.sets[(page + region * REGION_SET_STRIDE) % len(self.sets)]
        if lines and lines[0] == page:
            self.hits += 1
            return True
        if page in lines:
            lines.remove(page)
            lines.insert(0, page)
            self.hits += 1
            return True
        self.misses += 1
        lines.insert(0, page)
        if len(lines) > self.ways:
            lines.pop()
        return False

    @property
    def hit_rate(self) -> float:
        total = self.hits + self.misses
        return self.hits / total if total else 1.0


class PhextPageTable:
    """Regions by id (shared by all sentrons of a run), translation with bounds
    checks, SALLOC/SFREE, and one translation cache model per core."""

    def __init__(self) -> None:
        self.regions: dict[int, Region] = {}
        self.translation_caches: dict[int, TranslationCache] = {}
        self._alloc_buffers: dict[int, np.ndarray] = {}

    def translation_cache(self, core: int) -> TranslationCache:
        """The translation cache of a core (created on first use)."""
        cache = self.translation_caches.get(core)
        if cache is None:
            cache = self.translation_caches[core] = TranslationCache()
        return cache

    # -- regions ------------------------------------------------------------
    def add_tensor(self, region_id: int, name: str, array: np.ndarray) -> Region:
        """Register a C-contiguous numpy array as region ``region_id`` (in place)."""
        element = TYPE_OF_DTYPE[array.dtype.name]
        flat = array.reshape(-1)
        views = {element: _typed_views(flat, element)}
        region = Region(region_id, name, int(array.__array_interface__["data"][0]),
                        array.dtype.itemsize, views, array)
        self.regions[region_id] = region
        return region

    def allocate(self, words: int) -> int:
        """SALLOC: a fresh zeroed region of ``words`` 8-byte words; returns its
        base coordinate. Accessed as type t it holds words * 8 / sizeof(t) elements."""
        if words < 0:
            raise MemoryFault(f"SALLOC of a negative size ({words} words)")
        if words > SALLOC_MAX_WORDS:
            raise MemoryFault(f"SALLOC of {words} words exceeds the simulator's limit of "
                              f"{SALLOC_MAX_WORDS} words")
        region_id = next((r for r in range(FIRST_ALLOC_REGION, REGION_LIMIT)
                          if r not in self.regions), None)
        if region_id is None:
            raise MemoryFault("SALLOC: every region id is in use")
        buffer = np.zeros(max(words, 1), dtype=np.uint64)
        views = {t: _typed_views(buffer.view(ELEMENT_FORMATS[t][0]), t) for t in Type}
        if words == 0:
            views = {t: (v[0], v[1], 0) for t, v in views.items()}
        self._alloc_buffers[region_id] = buffer
        self.regions[region_id] = Region(region_id, f"salloc#{region_id}",
                                         int(buffer.__array_interface__["data"][0]), 8,
                                         views)
        return pack_coordinate(region_id, 0)

    def free(self, coord: int) -> None:
        region_id, offset = split_coordinate(coord)
        if region_id < FIRST_ALLOC_REGION or region_id not in self.regions or offset:
            raise MemoryFault(f"SFREE of coordinate {describe(coord)}, which is not the "
                              "base of an SALLOC region")
        del self.regions[region_id]
        del self._alloc_buffers[region_id]

    # -- translation --------------------------------------------------------
    def fault(self, coord: int, t: Type) -> MemoryFault:
        """The error for an access of type ``t`` at ``coord`` that failed."""
        region_id, offset = split_coordinate(coord)
        region = self.regions.get(region_id)
        if coord >> 128 or coord < 0:
            return MemoryFault(f"coordinate {describe(coord)} is outside phext space")
        if region is None:
            return MemoryFault(f"access at {describe(coord)}: region {region_id} does not "
                               "exist")
        if t not in region.views:
            return MemoryFault(f"access as {t.suffix} to region {region_id} "
                               f"('{region.name}'), which holds another element type")
        count = region.views[t][2]
        return MemoryFault(f"access at {describe(coord)}: offset {offset} outside region "
                           f"{region_id} ('{region.name}', {count} elements)")

    def views(self, coord: int, t: Type) -> tuple[memoryview, memoryview, int, int]:
        """(load view, store view, element index, region id) for an in-range access."""
        region_id, offset = split_coordinate(coord)
        region = self.regions.get(region_id)
        if region is None or coord >> 128 or coord < 0 or t not in region.views:
            raise self.fault(coord, t)
        load, store, count = region.views[t]
        if offset >= count:
            raise self.fault(coord, t)
        return load, store, offset, region_id

    def load(self, coord: int, t: Type) -> int:
        """The register pattern of the element at ``coord`` read as type ``t``."""
        view, _, index, _ = self.views(coord, t)
        return view[index] & 0xFFFFFFFFFFFFFFFF

    def store(self, coord: int, t: Type, bits: int) -> None:
        _, view, index, _ = self.views(coord, t)
        view[index] = bits & STORE_MASK[t]

    def byte_address(self, coord: int, t: Type) -> int | None:
        """The real byte address of the element at ``coord`` (None if unmapped)."""
        region_id, offset = split_coordinate(coord)
        region = self.regions.get(region_id)
        if region is None or t not in region.views:
            return None
        return region.base_address + offset * _ITEMSIZE[t]


_ITEMSIZE = {Type.I32: 4, Type.I64: 8, Type.F32: 4, Type.F64: 8}


def describe(coord: int) -> str:
    """A coordinate as the spec writes it, D0..D10: [c0,c1,...,c10]."""
    dims = [(coord >> (PHEXT_DIM_BITS * k)) & REGION_MASK for k in range(11)]
    return "[" + ",".join(str(d) for d in dims) + "]"
