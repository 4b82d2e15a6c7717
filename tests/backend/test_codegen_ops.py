"""Selected ops compute the language's semantics when run (simulator)."""

from __future__ import annotations

import numpy as np

from tests.backend.backend_helpers import compile_source, run


def test_i32_arithmetic_wraps_and_divides_toward_zero() -> None:
    source = """
    kernel ints(a: i32[N], b: i32[N], out: i32[N, 6]) {
        for i in 0..N {
            out[i, 0] = a[i] + b[i];
            out[i, 1] = a[i] * b[i];
            out[i, 2] = a[i] / b[i];
            out[i, 3] = a[i] % b[i];
            out[i, 4] = -a[i];
            out[i, 5] = max(a[i], b[i]) - min(a[i], b[i]);
        }
    }"""
    a = np.array([2**31 - 1, -7, 7, -2**31, 100000], np.int32)
    b = np.array([1, 2, -2, -1, 300000], np.int32)
    out = np.zeros((5, 6), np.int32)
    run(compile_source(source), "ints", {"a": a, "b": b, "out": out})
    with np.errstate(over="ignore"):
        assert out[:, 0].tolist() == (a + b).tolist()
        assert out[:, 1].tolist() == (a * b).tolist()
        assert out[:, 4].tolist() == (-a).tolist()
    assert out[:, 2].tolist() == [2**31 - 1, -3, -3, -2**31, 0]
    assert out[:, 3].tolist() == [0, -1, 1, 0, 100000]
    expected_span = (np.maximum(a, b).astype(np.int64) - np.minimum(a, b)).astype(np.int32)
    assert out[:, 5].tolist() == expected_span.tolist()


def test_conversions_and_float_ops() -> None:
    source = """
    kernel conv(x: f64[N], out_i: i32[N], out_f: f32[N], out_d: f64[N, 3]) {
        for i in 0..N {
            out_i[i] = i32(x[i]);
            out_f[i] = f32(x[i]) * 2.0;
            out_d[i, 0] = f64(i64(x[i]));
            out_d[i, 1] = select(x[i] > 0.0, sqrt(abs(x[i])), floor(x[i]));
            out_d[i, 2] = fma(x[i], 2.0, 1.0);
        }
    }"""
    x = np.array([1.75, -2.5, 3e12, -1e20, np.nan, 0.25])
    out_i = np.zeros(6, np.int32)
    out_f = np.zeros(6, np.float32)
    out_d = np.zeros((6, 3))
    run(compile_source(source), "conv", {"x": x, "out_i": out_i, "out_f": out_f,
                                         "out_d": out_d})
    assert out_i.tolist() == [1, -2, 2**31 - 1, -2**31, 0, 0]  # truncate, saturate, NaN->0
    np.testing.assert_array_equal(out_f, x.astype(np.float32) * np.float32(2.0))
    assert out_d[:4, 0].tolist() == [1.0, -2.0, 3e12, float(-2**63)]
    expected = np.where(x > 0, np.sqrt(np.abs(x)), np.floor(x))
    np.testing.assert_array_equal(out_d[:, 1], expected)
    np.testing.assert_array_equal(out_d[:, 2], x * 2.0 + 1.0)


def test_bool_logic_and_comparisons() -> None:
    source = """
    kernel logic(a: i64[N], out: i64[N]) {
        for i in 0..N {
            let p = a[i] > 0;
            let q = a[i] % 2 == 0;
            var r: i64 = 0;
            if (p and not q) or (not p and q) { r = 1; }
            out[i] = r;
        }
    }"""
    a = np.array([-4, -3, 0, 1, 2, 7], np.int64)
    out = np.full(6, 9, np.int64)
    run(compile_source(source), "logic", {"a": a, "out": out})
    assert out.tolist() == [int((v > 0) != (v % 2 == 0)) for v in a.tolist()]
