"""Binding call arguments to a kernel's parameters (shared by simulator and JIT).

Checks everything a user can get wrong before any SIW runs, and turns the
arguments into what the machine sees: scalar register bit patterns, shape symbol
values, and the caller's own numpy arrays (written in place).
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from phextcc.backend.program import KernelInfo, Param
from runtime.errors import ArgumentError
from runtime.floatbits import (
    I32_MAX,
    I32_MIN,
    I64_MAX,
    I64_MIN,
    f32_bits,
    f64_bits,
    i32_bits,
    i64_bits,
)

# Parameter dtype -> the numpy dtype a tensor argument must have exactly.
TENSOR_DTYPES: dict[str, np.dtype] = {
    "i32": np.dtype(np.int32), "i64": np.dtype(np.int64),
    "f32": np.dtype(np.float32), "f64": np.dtype(np.float64),
}
_INT_RANGES = {"i32": (I32_MIN, I32_MAX), "i64": (I64_MIN, I64_MAX)}


@dataclass(frozen=True)
class BoundArguments:
    """Arguments ready for an engine.

    ``scalars`` maps parameter index -> 64-bit register pattern; ``tensors`` maps
    parameter index -> the caller's array; ``symbols`` follows KernelInfo.symbols."""

    kernel: KernelInfo
    symbols: tuple[int, ...]
    scalars: dict[int, int]
    tensors: dict[int, np.ndarray]

    def extent(self, param: int, axis: int) -> int:
        return int(self.tensors[param].shape[axis])


def _is_bool_like(value: object) -> bool:
    return isinstance(value, (bool, np.bool_))


def _is_integer(value: object) -> bool:
    return isinstance(value, (numbers.Integral, np.integer)) and not _is_bool_like(value)


def _scalar_bits(param: Param, value: object) -> int:
    """The register pattern of a scalar argument, per the register conventions."""
    if isinstance(value, np.ndarray):
        if value.ndim != 0:
            raise ArgumentError(param.name, f"expected a {param.dtype} scalar, got an array "
                                f"of shape {value.shape}")
        value = value[()]
    if param.dtype == "bool":
        if _is_bool_like(value) or (_is_integer(value) and int(value) in (0, 1)):  # type: ignore[call-overload]
            return int(bool(value))
        raise ArgumentError(param.name, f"expected a bool, got {_describe(value)}")
    if param.dtype in _INT_RANGES:
        if not (_is_integer(value) or _is_bool_like(value)):
            raise ArgumentError(param.name, f"expected an integer ({param.dtype}), got "
                                f"{_describe(value)}")
        number = int(value)  # type: ignore[call-overload]
        lo, hi = _INT_RANGES[param.dtype]
        if not lo <= number <= hi:
            raise ArgumentError(param.name, f"value {number} does not fit in {param.dtype}")
        return i32_bits(number) if param.dtype == "i32" else i64_bits(number)
    if isinstance(value, (numbers.Real, np.floating, np.integer)) and not isinstance(
            value, np.complexfloating):
        try:
            number_f = float(value)  # type: ignore[arg-type]
        except OverflowError:
            raise ArgumentError(param.name, f"value {value} does not fit in "
                                f"{param.dtype}") from None
        return f32_bits(number_f) if param.dtype == "f32" else f64_bits(number_f)
    raise ArgumentError(param.name, f"expected a number ({param.dtype}), got "
                        f"{_describe(value)}")


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of {value.dtype} with shape {value.shape}"
    return f"{type(value).__name__} {value!r}"


def _check_tensor(param: Param, value: object) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise ArgumentError(param.name, f"expected a numpy array of {param.dtype} with "
                            f"{param.rank} dimension(s), got {_describe(value)}")
    want = TENSOR_DTYPES[param.dtype]
    if value.dtype != want:
        raise ArgumentError(param.name, f"dtype mismatch: expected {want.name}, got "
                            f"{value.dtype.name}")
    if value.ndim != param.rank:
        raise ArgumentError(param.name, f"rank mismatch: expected {param.rank} "
                            f"dimension(s), got {value.ndim}")
    if not value.flags.c_contiguous:
        raise ArgumentError(param.name, "array is not C-contiguous (use "
                            "numpy.ascontiguousarray)")
    if not value.flags.writeable:
        raise ArgumentError(param.name, "array is read-only")
    return value


def _order_arguments(kernel: KernelInfo, args: Sequence | Mapping) -> list[object]:
    names = [p.name for p in kernel.params]
    if isinstance(args, Mapping):
        unknown = [k for k in args if k not in names]
        if unknown:
            raise ArgumentError(str(unknown[0]), f"kernel '{kernel.name}' has no parameter "
                                f"named '{unknown[0]}'")
        missing = [n for n in names if n not in args]
        if missing:
            raise ArgumentError(missing[0], f"missing argument for kernel '{kernel.name}'")
        return [args[n] for n in names]
    values = list(args)
    if len(values) != len(names):
        raise ArgumentError("", f"kernel '{kernel.name}' takes {len(names)} argument(s) "
                            f"({', '.join(names)}), got {len(values)}")
    return values


def bind_arguments(kernel: KernelInfo, args: Sequence | Mapping) -> BoundArguments:
    """Check ``args`` (positional sequence or name -> value mapping) against
    ``kernel``'s parameters and bind the shape symbols."""
    values = _order_arguments(kernel, args)
    scalars: dict[int, int] = {}
    tensors: dict[int, np.ndarray] = {}
    symbol_values: dict[str, tuple[int, str, int]] = {}  # name -> (value, param, axis)
    for index, (param, value) in enumerate(zip(kernel.params, values)):
        if not param.is_tensor:
            scalars[index] = _scalar_bits(param, value)
            continue
        array = _check_tensor(param, value)
        for axis, extent in enumerate(param.dims):
            actual = int(array.shape[axis])
            if isinstance(extent, int):
                if actual != extent:
                    raise ArgumentError(param.name, f"shape mismatch: axis {axis} must have "
                                        f"extent {extent}, got {actual}")
                continue
            bound = symbol_values.get(extent)
            if bound is None:
                symbol_values[extent] = (actual, param.name, axis)
            elif bound[0] != actual:
                raise ArgumentError(param.name, f"shape symbol '{extent}' mismatch: axis "
                                    f"{axis} has extent {actual}, but '{extent}' = "
                                    f"{bound[0]} from axis {bound[2]} of '{bound[1]}'")
        tensors[index] = array
    symbols = []
    for name in kernel.symbols:
        if name not in symbol_values:
            raise ArgumentError("", f"shape symbol '{name}' of kernel '{kernel.name}' is "
                                "not bound by any tensor argument")
        symbols.append(symbol_values[name][0])
    shared_memory(kernel, tensors, {index: array.ctypes.data
                                    for index, array in tensors.items()})
    return BoundArguments(kernel, tuple(symbols), scalars, tensors)


def shared_memory(kernel: KernelInfo, tensors: Mapping[int, np.ndarray],
                  addresses: Mapping[int, int]) -> bool:
    """Whether two tensor arguments share memory (every tensor is C-contiguous, so its
    memory is ``[address, address + nbytes)``).

    Two tensors may be one array passed twice, or overlap element for element (the same
    first element and element size: the optimised code keeps every element's reads and
    writes in order across tensors). Any other overlap, a view of a buffer shifted
    against another, is an ArgumentError: software pipelining and unrolling reorder
    accesses of different iterations, so such arguments would give each -O level
    different results."""
    spans = sorted((addresses[index], addresses[index] + array.nbytes, index)
                   for index, array in tensors.items() if array.nbytes)
    shared = False
    for position, (start, end, index) in enumerate(spans):
        for other_start, _, other in spans[position + 1:]:
            if other_start >= end:
                break
            shared = True
            if other_start != start or tensors[other].itemsize != tensors[index].itemsize:
                first, second = sorted((index, other))
                raise ArgumentError(
                    kernel.params[second].name,
                    f"shares memory with '{kernel.params[first].name}' without being the "
                    "same array: tensor arguments must be one array or not overlap (a "
                    "shifted view of one buffer would give each -O level different "
                    "results)")
    return shared
