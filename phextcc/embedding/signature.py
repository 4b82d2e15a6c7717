"""Typing a kernel call from its arguments: one ``Signature`` per compiled specialisation.

Python ``bool``/``int``/``float`` are bool/i64/f64; numpy scalars keep their dtype
(np.float32 -> f32, np.int32 -> i32, ...); numpy arrays of int32, int64, float32 or
float64 with 1 to 11 dimensions are arrays (only dtype and rank are part of the
signature: shapes are read at run time through shape symbols).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from phextcc.frontend.python_frontend import ArraySpec, ParamSpec
from phextcc.frontend.python_types import DTYPE_TYPES
from phextcc.frontend.types import BOOL, F64, I64, MAX_TENSOR_RANK, ScalarType


class KernelArgumentError(TypeError):
    """An argument a kernel cannot take; the message names the parameter."""

    def __init__(self, kernel: str, param: str, message: str) -> None:
        super().__init__(f"{kernel}(): argument '{param}': {message}")
        self.kernel = kernel
        self.param = param


@dataclass(frozen=True)
class Signature:
    """Parameter names and their types, e.g. ``(a: f64, x: f32[:], m: f32[:, :])``."""

    names: tuple[str, ...]
    specs: tuple[ParamSpec, ...]

    def __str__(self) -> str:
        return "(" + ", ".join(f"{n}: {describe_spec(s)}" for n, s in
                               zip(self.names, self.specs)) + ")"

    def __repr__(self) -> str:
        return f"Signature{self}"


def describe_spec(spec: ParamSpec) -> str:
    if isinstance(spec, ArraySpec):
        return f"{spec.elem}[{', '.join(':' for _ in range(spec.rank))}]"
    return str(spec)


# Keyed by dtype objects: looking a dtype up is much cheaper than building its name.
_ARRAY_ELEMENTS = {np.dtype(k): v for k, v in DTYPE_TYPES.items() if v != BOOL}
_SCALAR_DTYPES: dict[str, ScalarType] = dict(DTYPE_TYPES)


def spec_of(kernel: str, name: str, value: object) -> ParamSpec:
    """The type of one argument, or a ``KernelArgumentError`` naming it."""
    if isinstance(value, np.ndarray):
        return _array_spec(kernel, name, value)
    if isinstance(value, (bool, np.bool_)):
        return BOOL
    if isinstance(value, int):
        return I64
    if isinstance(value, float):
        return F64
    if isinstance(value, np.generic):
        ty = _SCALAR_DTYPES.get(value.dtype.name)
        if ty is None:
            raise KernelArgumentError(kernel, name, f"numpy scalars of type {value.dtype.name} "
                                      "are not supported (int32, int64, float32, float64, bool)")
        return ty
    raise KernelArgumentError(kernel, name, f"expected a number, a bool or a numpy array, got "
                              f"{type(value).__name__}")


def _array_spec(kernel: str, name: str, array: np.ndarray) -> ArraySpec:
    elem = _ARRAY_ELEMENTS.get(array.dtype)
    if elem is None:
        raise KernelArgumentError(kernel, name, f"arrays of dtype {array.dtype.name} are not "
                                  "supported (int32, int64, float32, float64)")
    if not 1 <= array.ndim <= MAX_TENSOR_RANK:
        raise KernelArgumentError(kernel, name, f"arrays need 1 to {MAX_TENSOR_RANK} "
                                  f"dimensions, got {array.ndim} (pass a 0-d value as a scalar)")
    if not array.flags.c_contiguous:
        raise KernelArgumentError(kernel, name, "array is not C-contiguous (use "
                                  "numpy.ascontiguousarray)")
    return ArraySpec(elem, array.ndim)


def signature_of(kernel: str, names: Sequence[str], values: Sequence[object]) -> Signature:
    return Signature(tuple(names), tuple(spec_of(kernel, n, v) for n, v in zip(names, values)))


__all__ = ["KernelArgumentError", "Signature", "describe_spec", "signature_of", "spec_of"]
