"""What the names a Python kernel uses refer to: known callables and constant globals.

Names resolve the way Python would resolve them (closure variables, then the module's
globals, then builtins), but nothing is evaluated except attribute reads on modules and
classes (``np.float32``, ``math.sqrt``). The resulting object is then looked up by
identity in ``known_callables()``, so ``from math import sqrt`` and ``import numpy as
xp`` work. Every global used is recorded (for the compile cache key).
"""

from __future__ import annotations

import builtins
import math
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cache

import numpy as np


class PyCallable(Enum):
    """The callables the subset understands (their typing lives in python_calls.py)."""

    SQRT = "sqrt"
    EXP = "exp"
    LOG = "log"
    TANH = "tanh"
    FLOOR_TO_INT = "math.floor"  # Python's math.floor returns an int
    CEIL_TO_INT = "math.ceil"
    FLOOR = "floor"  # numpy's keeps the float type
    CEIL = "ceil"
    ABS = "abs"
    MIN = "min"
    MAX = "max"
    TO_F32 = "float32"
    TO_F64 = "float64"
    TO_I32 = "int32"
    TO_I64 = "int64"
    TO_BOOL = "bool"
    LEN = "len"
    RANGE = "range"
    SENTRON_ID = "sentron_id"
    NUM_SENTRONS = "num_sentrons"
    SEND = "send"
    RECV = "recv"
    BARRIER = "barrier"
    ALLREDUCE = "allreduce"
    BROADCAST = "broadcast"


@cache
def known_callables() -> dict[object, PyCallable]:
    """Python object -> what it means in a kernel."""
    from phextcc.embedding import sentron_builtins as sb

    table: dict[object, PyCallable] = {
        math.sqrt: PyCallable.SQRT, np.sqrt: PyCallable.SQRT,
        math.exp: PyCallable.EXP, np.exp: PyCallable.EXP,
        math.log: PyCallable.LOG, np.log: PyCallable.LOG,
        math.tanh: PyCallable.TANH, np.tanh: PyCallable.TANH,
        math.floor: PyCallable.FLOOR_TO_INT, math.ceil: PyCallable.CEIL_TO_INT,
        np.floor: PyCallable.FLOOR, np.ceil: PyCallable.CEIL,
        builtins.abs: PyCallable.ABS, np.abs: PyCallable.ABS,
        builtins.min: PyCallable.MIN, builtins.max: PyCallable.MAX,
        np.minimum: PyCallable.MIN, np.maximum: PyCallable.MAX,
        np.float32: PyCallable.TO_F32, np.float64: PyCallable.TO_F64,
        builtins.float: PyCallable.TO_F64, np.int32: PyCallable.TO_I32,
        np.int64: PyCallable.TO_I64, builtins.int: PyCallable.TO_I64,
        builtins.bool: PyCallable.TO_BOOL, np.bool_: PyCallable.TO_BOOL,
        builtins.len: PyCallable.LEN, builtins.range: PyCallable.RANGE,
        sb.sentron_id: PyCallable.SENTRON_ID, sb.num_sentrons: PyCallable.NUM_SENTRONS,
        sb.send: PyCallable.SEND, sb.recv: PyCallable.RECV, sb.barrier: PyCallable.BARRIER,
        sb.allreduce: PyCallable.ALLREDUCE, sb.broadcast: PyCallable.BROADCAST,
    }
    return table


def lookup_callable(obj: object) -> PyCallable | None:
    try:
        return known_callables().get(obj)
    except TypeError:  # unhashable objects are never known callables
        return None


def is_constant(value: object) -> bool:
    """Values a kernel may read from a global: Python and numpy scalars."""
    return isinstance(value, (bool, int, float, np.bool_, np.integer, np.floating))


_MISSING = object()


@dataclass
class PythonEnvironment:
    """The names visible to a kernel function, and a record of the globals it read."""

    closure: Mapping[str, object]
    globals: Mapping[str, object]
    used: dict[str, str] = field(default_factory=dict)  # name -> description for the key

    @classmethod
    def of_function(cls, fn: types.FunctionType) -> PythonEnvironment:
        closure: dict[str, object] = {}
        if fn.__closure__:
            for name, cell in zip(fn.__code__.co_freevars, fn.__closure__):
                try:
                    closure[name] = cell.cell_contents
                except ValueError:  # an empty cell: not yet assigned in the outer scope
                    continue
        return cls(closure, fn.__globals__)

    def lookup(self, name: str) -> object:
        """The object ``name`` refers to, or ``_MISSING``; records it as used."""
        for scope in (self.closure, self.globals, vars(builtins)):
            if name in scope:
                value = scope[name]
                self.used[name] = describe_global(value)
                return value
        return _MISSING


def describe_global(value: object) -> str:
    """A stable description of a global for the cache key (values of constants)."""
    if isinstance(value, types.ModuleType):
        return f"module {value.__name__}"
    if is_constant(value):
        return f"{type(value).__name__} {value!r}"
    name = getattr(value, "__qualname__", None) or getattr(value, "__name__", None)
    module = getattr(value, "__module__", None)
    return f"{type(value).__name__} {module}.{name}"


def missing(value: object) -> bool:
    return value is _MISSING
