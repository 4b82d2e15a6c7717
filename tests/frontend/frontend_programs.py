"""Valid .phx programs shared by the frontend tests."""

from __future__ import annotations

# The programs of the language contract, verbatim.
SAXPY = """\
// saxpy.phx
kernel saxpy(a: f32, x: f32[N], y: f32[N], out: f32[N]) {
    for i in 0..N {
        out[i] = a * x[i] + y[i];
    }
}
"""

CORE_PROGRAMS = """\
kernel dot(x: f32[N], y: f32[N], out: f32[1]) {
    var acc: f32 = 0.0;
    for i in 0..N { acc += x[i] * y[i]; }
    out[0] = acc;
}

kernel embedding_bag(table: f32[V, D], ids: i32[B], out: f32[D]) {
    for d in 0..D { out[d] = 0.0; }
    for b in 0..B {
        let row = i64(ids[b]);
        for d in 0..D { out[d] += table[row, d]; }
    }
}

kernel laplacian(u: f32[H, W], out: f32[H, W]) {
    for i in 1..H-1 {
        for j in 1..W-1 {
            out[i, j] = u[i-1, j] + u[i+1, j] + u[i, j-1] + u[i, j+1] - 4.0 * u[i, j];
        }
    }
}

kernel dot_sentrons(x: f32[N], y: f32[N], out: f32[1]) {
    let s = sentron_id();
    let k = num_sentrons();
    var acc: f32 = 0.0;
    for i in s * N / k .. (s + 1) * N / k { acc += x[i] * y[i]; }
    let total = allreduce(acc, sum);
    if s == 0 { out[0] = total; }
}
"""

# Every statement and expression form of the language in one file.
EVERY_CONSTRUCT = """\
/* block comment
   over two lines */
kernel everything(a: f32, n: i64, k: i32, flag: bool, x: f32[N], m: f64[R, C],
                  ids: i32[4], big: i64[2, 3, 4]) {
    let c = 0x2a;                 // hex literal
    let d = 1_000;                // separated digits
    let e: f64 = 1e-3;
    let f = 2.5e3;
    let g: f32 = 1.0;
    var acc = 0.0;
    acc = acc + e;
    acc += 1.0; acc -= 2.0; acc *= 3.0; acc /= 4.0;
    var count: i32 = 0;
    count += k; count -= 1; count *= 2; count /= 3;
    x[0] = a; x[1] += a; x[2] -= g; x[3] *= 2.0; x[4] /= 2.0;
    m[0, 1] = f64(a);
    for i in 0..N { x[i] = -x[i]; }
    for i in 0..N step 2 { prefetch x[i + 16]; }
    for i in n..c step d { }
    var w = 0;
    while w < 10 and not flag { w += 1; }
    if flag { return; } else if k > 3 or k <= -1 { count = 7; } else { count = k % 3; }
    if a >= 1.0 { } else { }
    let conv = i32(a) + i32(n) + i32(f64(k)) + k;
    let math = sqrt(a) + exp(a) + log(a) + abs(a) + min(a, 1.0) + max(a, g)
        + fma(a, a, a) + select(flag, a, g) + floor(a) + ceil(a) + tanh(a);
    let bits = xor(c, d) + bitand(c, 3) + bitor(c, 4) + popcount(c) + shl(c, 2) + shr(c, 1);
    let s = sentron_id();
    let total = num_sentrons();
    send((s + 1) % total, a);
    let got = recv<f32>((s + total - 1) % total);
    barrier();
    let red = allreduce(got, max) + allreduce(a, min) + allreduce(a, sum);
    let root = broadcast(red, 0);
    let eq = a == g and a != g or flag == true or false;
    big[1, 2, 3] = i64(ids[3]) + n + R + C;
}

kernel second() {
}
"""
