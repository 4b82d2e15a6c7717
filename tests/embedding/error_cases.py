"""Kernels the subset rejects; each offending line carries a ``# <- case`` marker that
the tests use to find the line the diagnostic must point at."""

from __future__ import annotations

import numpy as np

from phextcc.embedding import recv

LOOKUP = np.zeros(4)  # a global that is not a constant


def helper(v):
    return v


def list_comprehension(x, out):
    for i in range(len(x)):
        out[i] = [v for v in x][0]  # noqa: RUF015  # <- list_comprehension


def arbitrary_call(x, out):
    for i in range(len(x)):
        out[i] = helper(x[i])  # <- arbitrary_call


def global_array(x, out):
    for i in range(len(x)):
        out[i] = x[i] + LOOKUP[i]  # <- global_array


def type_change(x, out):
    acc = 0
    for i in range(len(x)):
        acc = acc + x[i]  # <- type_change
    out[0] = acc


def assigned_in_branch(x, out):
    if x[0] > 0:
        sign = 1
    out[0] = sign  # <- assigned_in_branch


def float_floor_division(x, out):
    for i in range(len(x)):
        out[i] = x[i] // 2.0  # <- float_floor_division


def break_statement(x, out):
    for i in range(len(x)):
        if x[i] < 0:
            break  # <- break_statement
        out[i] = x[i]


def return_value(x, out):
    return x[0]  # <- return_value


def slicing(x, out):
    out[0] = x[1:3]  # <- slicing


def loop_variable_after_loop(x, out):
    for i in range(len(x)):
        out[i] = 0
    out[0] = i  # <- loop_variable_after_loop


def unknown_name(x, out):
    out[0] = undefined_thing  # noqa: F821  # <- unknown_name


def recv_without_type(x, out):
    out[0] = recv(0)  # <- recv_without_type


def import_inside(x, out):
    import math  # noqa: F401  # <- import_inside


def read_before_assignment_in_loop(x, out):
    for i in range(len(x)):
        out[i] = carried  # noqa: F821  # <- read_before_assignment_in_loop
        carried = x[i]  # noqa: F841


#: case -> a phrase its message must contain
EXPECTED = {
    "list_comprehension": "a list comprehension is not supported",
    "arbitrary_call": "call to 'helper' is not supported",
    "global_array": "global 'LOOKUP' is not a constant",
    "type_change": "variable 'acc' changes type: it is i64",
    "assigned_in_branch": "variable 'sign' may be used before it is assigned",
    "float_floor_division": "operator '//' on floats is not supported",
    "break_statement": "'break' is not supported",
    "return_value": "a kernel returns no value",
    "slicing": "slices are not supported",
    "loop_variable_after_loop": "loop variable 'i' is only available inside its loop",
    "unknown_name": "name 'undefined_thing' is not defined",
    "recv_without_type": "'recv' takes the source and the type of the value",
    "read_before_assignment_in_loop": "variable 'carried' may be used before it is assigned",
    "import_inside": "'import' is not supported inside a kernel",
}
