"""The fast call path of ``run``: a per-kernel binding plan prepared once.

``bind_arguments`` (runtime/binding.py) is the reference binder: it checks everything a
caller can get wrong and words every error. A ``CallPlan`` binds the common case (a
list or tuple of exactly-typed numpy arrays and Python numbers) with the same
acceptance rules but with the per-parameter facts (dtype object, rank, fixed extents,
symbol positions, scalar encoder) looked up once per kernel. Anything it is unsure
about returns None and the caller falls back to ``bind_arguments``, which then binds
the same way or raises the reference error, so behaviour and messages stay identical.

It also keeps the data pointer of the last array seen in each parameter position:
reading ``array.ctypes.data`` builds a ctypes helper object and is the most expensive
step of a small call. The plan holds a reference to that array, so while the reference
lives the array's buffer cannot move (numpy refuses ``resize`` on a referenced array),
and ``is`` identifies it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from phextcc.backend.program import KernelInfo
from runtime.binding import TENSOR_DTYPES, BoundArguments, shared_memory
from runtime.floatbits import I32_MAX, I32_MIN, I64_MAX, I64_MIN, f32_bits, f64_bits

ScalarEncoder = Callable[[object], "int | None"]


def _encode_f32(value: object) -> int | None:
    return f32_bits(value) if type(value) is float else None  # type: ignore[arg-type]


def _encode_f64(value: object) -> int | None:
    return f64_bits(value) if type(value) is float else None  # type: ignore[arg-type]


def _encode_i32(value: object) -> int | None:
    if type(value) is not int or not I32_MIN <= value <= I32_MAX:  # type: ignore[operator]
        return None
    return value & 0xFFFFFFFFFFFFFFFF  # a sign-extended i32 is its i64 pattern


def _encode_i64(value: object) -> int | None:
    if type(value) is not int or not I64_MIN <= value <= I64_MAX:  # type: ignore[operator]
        return None
    return value & 0xFFFFFFFFFFFFFFFF


def _encode_bool(value: object) -> int | None:
    return int(value) if type(value) is bool else None  # type: ignore[arg-type]


# Only the exact Python types the reference binder maps the same way; numpy scalars and
# everything else take the reference path.
SCALAR_ENCODERS: dict[str, ScalarEncoder] = {
    "f32": _encode_f32, "f64": _encode_f64, "i32": _encode_i32, "i64": _encode_i64,
    "bool": _encode_bool,
}


@dataclass(frozen=True)
class TensorSlot:
    index: int
    dtype: np.dtype
    rank: int
    fixed: tuple[tuple[int, int], ...]  # (axis, extent)
    symbolic: tuple[tuple[int, int], ...]  # (axis, position in KernelInfo.symbols)


class CallPlan:
    """What binding one kernel's arguments needs, looked up once."""

    def __init__(self, kernel: KernelInfo) -> None:
        self.kernel = kernel
        self.count = len(kernel.params)
        self.tensor_slots: list[TensorSlot] = []
        self.scalar_slots: list[tuple[int, ScalarEncoder]] = []
        for index, param in enumerate(kernel.params):
            if not param.is_tensor:
                self.scalar_slots.append((index, SCALAR_ENCODERS[param.dtype]))
                continue
            fixed = tuple((axis, dim) for axis, dim in enumerate(param.dims)
                          if isinstance(dim, int))
            symbolic = tuple((axis, kernel.symbols.index(dim))
                             for axis, dim in enumerate(param.dims) if not isinstance(dim, int))
            self.tensor_slots.append(TensorSlot(index, TENSOR_DTYPES[param.dtype],
                                                param.rank, fixed, symbolic))
        # position -> (array, its data pointer): one tuple, replaced whole, so that
        # concurrent runs of the module never pair an array with another's pointer.
        self.last_seen: dict[int, tuple[np.ndarray, int]] = {}
        # The tensors of the last call and whether they overlapped: the same array
        # objects keep their buffers, so the answer holds while they are passed again.
        self.last_overlap: tuple[tuple[np.ndarray, ...], bool] | None = None
        # The last binding and its arrays' shapes (one tuple, replaced whole): while the
        # same arrays come back unchanged, only the scalars are encoded again.
        self.last_bound: tuple[BoundArguments, tuple[tuple[int, ...], ...]] | None = None
        # The data pointers and overlap answer of that binding.
        self.last_resolved: tuple[BoundArguments, dict[int, int], bool] | None = None

    def bind(self, args: object) -> BoundArguments | None:
        """The binding ``bind_arguments`` would return, or None when unsure."""
        if type(args) is not list and type(args) is not tuple:
            return None
        values: Sequence[object] = args  # type: ignore[assignment]
        if len(values) != self.count:
            return None
        last = self.last_bound
        if last is not None:
            again = self._bind_again(values, *last)
            if again is not None:
                return again
        bound = self._bind(values)
        if bound is not None:
            self.last_bound = (bound, tuple(bound.tensors[slot.index].shape
                                            for slot in self.tensor_slots))
        return bound

    def _bind_again(self, values: Sequence[object], last: BoundArguments,
                    shapes: tuple[tuple[int, ...], ...]) -> BoundArguments | None:
        """``last`` (or it with new scalars) when every tensor argument is the array of
        the last call with the same shape, dtype and flags (all of which numpy lets a
        caller change in place, so they are looked at again)."""
        for slot, shape in zip(self.tensor_slots, shapes):
            array = values[slot.index]
            if array is not last.tensors[slot.index] or array.shape != shape or \
                    array.dtype is not slot.dtype:  # type: ignore[attr-defined]
                return None
            flags = array.flags  # type: ignore[attr-defined]
            if not (flags.c_contiguous and flags.writeable):
                return None
        scalars = self._encode_scalars(values)
        if scalars is None:
            return None
        if scalars == last.scalars:
            return last
        return BoundArguments(self.kernel, last.symbols, scalars, last.tensors)

    def _encode_scalars(self, values: Sequence[object]) -> dict[int, int] | None:
        """Each scalar argument's register bits by parameter index (None: one does not
        fit its type)."""
        scalars: dict[int, int] = {}
        for index, encode in self.scalar_slots:
            bits = encode(values[index])
            if bits is None:
                return None
            scalars[index] = bits
        return scalars

    def _bind(self, values: Sequence[object]) -> BoundArguments | None:
        symbols: list[int | None] = [None] * len(self.kernel.symbols)
        tensors: dict[int, np.ndarray] = {}
        for slot in self.tensor_slots:
            array = values[slot.index]
            if type(array) is not np.ndarray or array.dtype is not slot.dtype:
                return None
            shape = array.shape
            if len(shape) != slot.rank:
                return None
            for axis, extent in slot.fixed:
                if shape[axis] != extent:
                    return None
            for axis, position in slot.symbolic:
                known = symbols[position]
                if known is None:
                    symbols[position] = shape[axis]
                elif known != shape[axis]:
                    return None
            flags = array.flags
            if not (flags.c_contiguous and flags.writeable):
                return None
            tensors[slot.index] = array
        scalars = self._encode_scalars(values)
        if scalars is None or None in symbols:
            return None
        return BoundArguments(self.kernel, tuple(symbols), scalars,  # type: ignore[arg-type]
                              tensors)

    def resolve(self, bound: BoundArguments) -> tuple[dict[int, int], bool]:
        """(data pointers, whether tensors overlap) of a binding, remembered for the last
        one: a repeated call with the same arrays gets the same BoundArguments object."""
        last = self.last_resolved
        if last is not None and last[0] is bound:
            return last[1], last[2]
        addresses = self.addresses(bound)
        overlap = self.overlapping(bound, addresses)
        self.last_resolved = (bound, addresses, overlap)
        return addresses, overlap

    def addresses(self, bound: BoundArguments) -> dict[int, int]:
        """The data pointer of every tensor argument (cached per position)."""
        found: dict[int, int] = {}
        for index, array in bound.tensors.items():
            seen = self.last_seen.get(index)
            if seen is not None and seen[0] is array:
                found[index] = seen[1]
                continue
            address = array.ctypes.data
            self.last_seen[index] = (array, address)
            found[index] = address
        return found


    def overlapping(self, bound: BoundArguments, addresses: dict[int, int]) -> bool:
        """``overlapping`` for this call, remembered for the same array objects."""
        arrays = tuple(bound.tensors.values())
        last = self.last_overlap
        if last is not None and len(last[0]) == len(arrays) and all(
                a is b for a, b in zip(last[0], arrays)):
            return last[1]
        answer = overlapping(bound, addresses)
        self.last_overlap = (arrays, answer)
        return answer


def overlapping(bound: BoundArguments, addresses: dict[int, int]) -> bool:
    """Whether two tensor arguments share memory (an ArgumentError when they overlap
    other than element for element: ``binding.shared_memory``)."""
    return shared_memory(bound.kernel, bound.tensors, addresses)


def plan_for(plans: dict[str, CallPlan], kernel: KernelInfo) -> CallPlan:
    plan = plans.get(kernel.name)
    if plan is None:
        plan = plans[kernel.name] = CallPlan(kernel)
    return plan
