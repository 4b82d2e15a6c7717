"""Loop shapes shared by the profitability tests of unrolling, prefetch and pipelining."""

MAP = """
kernel scale(a: f32, x: f32[N], out: f32[N]) {
    for i in 0..N { out[i] = a * x[i]; }
}
"""

INT_REDUCTION = """
kernel bits(x: i64[N], y: i64[N], out: i64[1]) {
    var total: i64 = 0;
    for i in 0..N { total += popcount(xor(x[i], y[i])); }
    out[0] = total;
}
"""

FLOAT_REDUCTION = """
kernel dot(x: f32[N], y: f32[N], out: f32[1]) {
    var acc: f32 = 0.0;
    for i in 0..N { acc += x[i] * y[i]; }
    out[0] = acc;
}
"""
