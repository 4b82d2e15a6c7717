/* C peers of the benchmark kernels: the same loops as the .phx kernels, same operation
 * order and precision (float accumulators), built with the system compiler at
 * -O3 -march=native (no -ffast-math, so reductions are not reassociated, like ours). */
#include <math.h>
#include <stdint.h>

void saxpy(float a, const float *x, const float *y, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) out[i] = a * x[i] + y[i];
}

void dot(const float *x, const float *y, float *out, int64_t n) {
    float acc = 0.0f;
    for (int64_t i = 0; i < n; i++) acc += x[i] * y[i];
    out[0] = acc;
}

void dot_allreduce(const float *x, const float *y, float *out, int64_t n) {
    float acc = 0.0f, peak = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        acc += x[i] * y[i];
        peak = fmaxf(peak, fabsf(x[i]));
    }
    out[0] = acc;
    out[1] = peak;
}

void gemm(const float *a, const float *b, float *c, int64_t m, int64_t k, int64_t n) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            float acc = 0.0f;
            for (int64_t p = 0; p < k; p++) acc += a[i * k + p] * b[p * n + j];
            c[i * n + j] = acc;
        }
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

void gemm_tiled(const float *a, const float *b, float *c, int64_t m, int64_t k, int64_t n) {
    for (int64_t i = 0; i < m * n; i++) c[i] = 0.0f;
    for (int64_t i0 = 0; i0 < m; i0 += 16)
        for (int64_t j0 = 0; j0 < n; j0 += 16)
            for (int64_t p0 = 0; p0 < k; p0 += 16) {
                int64_t p1 = min64(p0 + 16, k);
                for (int64_t i = i0; i < min64(i0 + 16, m); i++)
                    for (int64_t j = j0; j < min64(j0 + 16, n); j++) {
                        float acc = c[i * n + j];
                        for (int64_t p = p0; p < p1; p++) acc += a[i * k + p] * b[p * n + j];
                        c[i * n + j] = acc;
                    }
            }
}

void laplacian(const float *u, float *out, int64_t h, int64_t w) {
    for (int64_t i = 1; i < h - 1; i++)
        for (int64_t j = 1; j < w - 1; j++)
            out[i * w + j] = u[(i - 1) * w + j] + u[(i + 1) * w + j] + u[i * w + j - 1]
                             + u[i * w + j + 1] - 4.0f * u[i * w + j];
}

void embedding_bag(const float *table, const int32_t *ids, float *out, int64_t bags,
                   int64_t dim) {
    for (int64_t d = 0; d < dim; d++) out[d] = 0.0f;
    for (int64_t b = 0; b < bags; b++) {
        const float *row = table + (int64_t)ids[b] * dim;
        for (int64_t d = 0; d < dim; d++) out[d] += row[d];
    }
}

void spmv_csr(const int64_t *row_ptr, const int32_t *col_idx, const float *vals,
              const float *x, float *y, int64_t rows) {
    for (int64_t r = 0; r < rows; r++) {
        float acc = 0.0f;
        for (int64_t k = row_ptr[r]; k < row_ptr[r + 1]; k++) acc += vals[k] * x[col_idx[k]];
        y[r] = acc;
    }
}

static void segment_means(const int64_t *ptr, const int64_t *members, const float *rows,
                          float *out, int64_t count, int64_t features) {
    for (int64_t e = 0; e < count; e++) {
        int64_t first = ptr[e], last = ptr[e + 1];
        for (int64_t f = 0; f < features; f++) {
            float total = 0.0f;
            for (int64_t k = first; k < last; k++) total += rows[members[k] * features + f];
            out[e * features + f] = last > first ? total / (float)(last - first) : 0.0f;
        }
    }
}

void hypergraph_conv(const int64_t *edge_ptr, const int64_t *edge_nodes,
                     const int64_t *node_ptr, const int64_t *node_edges, const float *x,
                     float *edge_feat, float *out, int64_t edges, int64_t nodes,
                     int64_t features) {
    segment_means(edge_ptr, edge_nodes, x, edge_feat, edges, features);
    segment_means(node_ptr, node_edges, edge_feat, out, nodes, features);
}

void poincare(const float *points, const int64_t *pairs, float *out, int64_t count,
              int64_t dim) {
    for (int64_t p = 0; p < count; p++) {
        const float *u = points + pairs[2 * p] * dim, *v = points + pairs[2 * p + 1] * dim;
        float diff2 = 0.0f, u2 = 0.0f, v2 = 0.0f;
        for (int64_t d = 0; d < dim; d++) {
            diff2 += (u[d] - v[d]) * (u[d] - v[d]);
            u2 += u[d] * u[d];
            v2 += v[d] * v[d];
        }
        float z = 1.0f + 2.0f * diff2 / ((1.0f - u2) * (1.0f - v2));
        out[p] = logf(z + sqrtf(z * z - 1.0f));
    }
}

void softmax(const float *x, float *out, int64_t rows, int64_t cols) {
    for (int64_t r = 0; r < rows; r++) {
        const float *row = x + r * cols;
        float *o = out + r * cols;
        float m = row[0];
        for (int64_t c = 1; c < cols; c++) m = fmaxf(m, row[c]);
        float total = 0.0f;
        for (int64_t c = 0; c < cols; c++) {
            o[c] = expf(row[c] - m);
            total += o[c];
        }
        for (int64_t c = 0; c < cols; c++) o[c] = o[c] / total;
    }
}

void hdc_similarity(const int64_t *keys, const int64_t *values, const int64_t *query,
                    int64_t *bound, int64_t *sim, int64_t count, int64_t words) {
    for (int64_t n = 0; n < count; n++) {
        int64_t distance = 0;
        for (int64_t w = 0; w < words; w++) {
            int64_t b = keys[n * words + w] ^ values[n * words + w];
            bound[n * words + w] = b;
            distance += __builtin_popcountll((uint64_t)(b ^ query[w]));
        }
        sim[n] = 64 * words - distance;
    }
}

void stream(float a, const float *x, float *out, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = a * x[i];
        out[i] = v * v;
    }
}

void ring_allreduce(const float *x, float *out, int64_t rows, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float v = 0.0f;
        for (int64_t r = 0; r < rows; r++) v += x[r * n + i];
        for (int64_t r = 0; r < rows; r++) out[r * n + i] = v;
    }
}
