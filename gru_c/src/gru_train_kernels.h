/*
 * gru_train_kernels.h - private numeric kernels of the training sources
 * (gru__ prefix): batched matrix-vector and outer-product kernels, the
 * transposition of packed matrices and its transpose-free counterpart, and
 * libm-free log and sqrt. Same loop rules as gru_kernels.h.
 */
#ifndef GRU_TRAIN_KERNELS_H
#define GRU_TRAIN_KERNELS_H

#include "gru_internal.h"
#include "gru_kernels.h"

/* ---------------------------------------------------------------- kernels */

/* Two independent gru__block products sharing the weight loads: y0 += W x0
 * and y1 += W x1. Each output sums in the same order as gru__block, so the
 * results are those of two separate calls, bit for bit; the weights are read
 * once for both (halves the cache traffic of batched products). */
GRU__HOT void gru__block2(const float *restrict w, int stride, int cols, const float *restrict x0,
                          const float *restrict x1, float *restrict y0, float *restrict y1,
                          const int width)
{
    float acc0[GRU_PACK_BLOCK], acc1[GRU_PACK_BLOCK];
    for (int j = 0; j < width; j++) {
        acc0[j] = y0[j];
        acc1[j] = y1[j];
    }
    for (int k = 0; k < cols; k++) {
        const float a = x0[k], b = x1[k];
        if (width <= 16) {
            GRU__NO_UNROLL
            for (int j = 0; j < width; j++) { /* vectorize */
                acc0[j] += a * w[j];
                acc1[j] += b * w[j];
            }
        } else {
            for (int j = 0; j < width; j++) { /* vectorize */
                acc0[j] += a * w[j];
                acc1[j] += b * w[j];
            }
        }
        w += stride;
    }
    for (int j = 0; j < width; j++) {
        y0[j] = acc0[j];
        y1[j] = acc1[j];
    }
}

/* gru__block2 at a width known at compile time where the kernel keeps 48 rows
 * in registers (as gru__gemv does); 8-row slices elsewhere. x1/y1 may be NULL
 * (one product only). */
GRU__HOT void gru__block_any(const float *restrict w, int stride, int cols,
                             const float *restrict x0, const float *restrict x1,
                             float *restrict y0, float *restrict y1, int width)
{
#define GRU__ONE(s, n, stride_) gru__block(w + (s), stride, cols, x0, y0 + (s), y0 + (s), n)
#define GRU__TWO(s, n, stride_) gru__block2(w + (s), stride, cols, x0, x1, y0 + (s), y1 + (s), n)
    if (!x1) {
        GRU__EACH_SLICE(width, GRU__ONE)
    } else {
        GRU__EACH_SLICE(width, GRU__TWO)
    }
#undef GRU__ONE
#undef GRU__TWO
}

/* y0 = bias0 + W x0 and, if x1, y1 = bias1 + W x1 (bias1 NULL: bias0):
 * gru__gemv for two vectors in one pass over W, with the results of two
 * separate gru__gemv calls. Biases may be NULL (zero). */
GRU__HOT void gru__gemv2(const float *restrict w, int rows, int cols, const float *restrict x0,
                         const float *restrict x1, const float *bias0, const float *bias1,
                         float *restrict y0, float *restrict y1)
{
    const int padded = gru__round_up(rows, GRU_PACK_ROWS);
    for (int j = 0; j < rows; j++)
        y0[j] = bias0 ? bias0[j] : 0.0f;
    for (int j = rows; j < padded; j++)
        y0[j] = 0.0f;
    if (x1) {
        const float *b1 = bias1 ? bias1 : bias0;
        for (int j = 0; j < rows; j++)
            y1[j] = b1 ? b1[j] : 0.0f;
        for (int j = rows; j < padded; j++)
            y1[j] = 0.0f;
    }
    const gru__blocks g = gru__block_split(padded);
    for (int b = 0, r0 = 0; b < g.count; b++) {
        const int width = gru__block_rows(g, b);
        gru__block_any(w, width, cols, x0, x1, y0 + r0, x1 ? y1 + r0 : NULL, width);
        w += (size_t)width * (size_t)cols;
        r0 += width;
    }
}

/* dW += sum over a < n of d[a] (outer) x[a], dW packed [rows][cols];
 * d[a] is row a of a [n][ldd] array (its entries past `rows` must be 0 up to
 * the padded row count), x is stored transposed: x[a] of column k at
 * xt[k * ldx + a]. Each dW entry adds its n products in order a = 0, 1, ...
 * Two columns per pass share the loads of d. */
GRU__HOT void gru__ger(float *restrict dw, int rows, int cols, const float *restrict d, int ldd,
                       int n, const float *restrict xt, int ldx)
{
    if (n < 1)
        return;
    const gru__blocks g = gru__block_split(gru__round_up(rows, GRU_PACK_ROWS));
    for (int b = 0, r0 = 0; b < g.count; b++) {
        const int width = gru__block_rows(g, b);
        float *col = dw + (size_t)r0 * (size_t)cols;
        int k = 0;
        for (; k + 1 < cols; k += 2)
            gru__block_any(d + r0, ldd, n, xt + (size_t)k * (size_t)ldx,
                           xt + (size_t)(k + 1) * (size_t)ldx, col + (size_t)k * (size_t)width,
                           col + (size_t)(k + 1) * (size_t)width, width);
        if (k < cols)
            gru__block_any(d + r0, ldd, n, xt + (size_t)k * (size_t)ldx, NULL,
                           col + (size_t)k * (size_t)width, NULL, width);
        r0 += width;
    }
}

/* dst = packed [cols][rows] transpose of the packed [rows][cols] matrix src
 * (padding rows of dst are 0). */
static inline void gru__transpose_packed(const float *src, int rows, int cols, float *dst)
{
    const gru__blocks gs = gru__block_split(gru__round_up(rows, GRU_PACK_ROWS));
    const gru__blocks gd = gru__block_split(gru__round_up(cols, GRU_PACK_ROWS));
    /* Source block of each output column (= source row) found by walking. */
    for (int bd = 0, c0 = 0; bd < gd.count; bd++) {
        const int wd = gru__block_rows(gd, bd);
        float *out = dst + (size_t)c0 * (size_t)rows;
        for (int bs = 0, r0 = 0; bs < gs.count; bs++) {
            const int ws = gru__block_rows(gs, bs);
            const float *in = src + (size_t)r0 * (size_t)cols;
            for (int j = 0; j < ws && r0 + j < rows; j++)
                for (int i = 0; i < wd; i++) {
                    const int k = c0 + i; /* source column = destination row */
                    out[(size_t)(r0 + j) * (size_t)wd + (size_t)i] =
                        k < cols ? in[(size_t)k * (size_t)ws + (size_t)j] : 0.0f;
                }
            r0 += ws;
        }
        c0 += wd;
    }
}

/* fn(args..., gates, save) of gru_cell.h with save a literal, so that each
 * variant vectorizes (NULL gates: a frozen layer keeps none). */
#define GRU__CELL(fn, gates, ...)             \
    do {                                      \
        if (gates)                            \
            fn(__VA_ARGS__, gates, 1);        \
        else                                  \
            fn(__VA_ARGS__, NULL, 0);         \
    } while (0)

/* gru__transpose_packed into dst, unless dst is NULL (low_memory). */
static inline void gru__transpose_if(const float *src, int rows, int cols, float *dst)
{
    if (dst)
        gru__transpose_packed(src, rows, cols, dst);
}

/* y[k] = (bias ? bias[k] : 0) + sum over j < rows of W[j][k] x[j], k < cols,
 * straight from the packed [rows][cols] W: the products and their order
 * (j ascending) of a gru__gemv2 over gru__transpose_packed(W), so the same
 * bits without the transposed copy (a column of one block is contiguous). */
static inline void gru__gemv_t(const float *restrict w, int rows, int cols, const float *restrict x,
                               const float *bias, float *restrict y)
{
    const gru__blocks g = gru__block_split(gru__round_up(rows, GRU_PACK_ROWS));
    for (int k = 0; k < cols; k++)
        y[k] = bias ? bias[k] : 0.0f;
    for (int b = 0, r0 = 0; b < g.count; b++) {
        const int width = gru__block_rows(g, b), n = rows - r0 < width ? rows - r0 : width;
        const float *blk = w + (size_t)r0 * (size_t)cols;
        for (int k = 0; k < cols; k++) {
            const float *restrict col = blk + (size_t)k * (size_t)width;
            float acc = y[k];
            for (int j = 0; j < n; j++)
                acc += col[j] * x[r0 + j];
            y[k] = acc;
        }
        r0 += width;
    }
}

/* Natural log for x >= 1e-30 (Cephes logf, about 1 ulp), plain float ops so
 * every target computes the same loss value. */
static inline float gru__log(float x)
{
    uint32_t u = gru__bits(x);
    int e = (int)((u >> 23) & 0xffu) - 126;
    float m = gru__from_bits((u & 0x807fffffu) | 0x3f000000u); /* [0.5, 1) */
    if (m < 0.707106781186547524f) {
        e -= 1;
        m = m + m - 1.0f;
    } else {
        m = m - 1.0f;
    }
    const float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    const float fe = (float)e;
    y = y + -2.12194440e-4f * fe;
    y = y - 0.5f * z;
    return m + y + 0.693359375f * fe;
}

/* sqrt(v) from plain float operations (no libm, so firmware links without
 * -lm and every target rounds alike): a bit-level first guess within 4%, then
 * three Newton steps; within 1 ulp of the correctly rounded value. Branch-free
 * so that optimizer loops vectorize. Inputs below 2^-100 are scaled by 2^100
 * first (exact); 0 and NaN pass through, +inf gives NaN, negative inputs -0. */
static inline float gru__sqrt(float v)
{
    const int tiny = v < 7.88860905e-31f;                         /* 2^-100 */
    const float vs = v * gru__select(tiny, 1.26765060e30f, 1.0f); /* 2^100 */
    float y = gru__from_bits(0x1fbd1df5u + (gru__bits(vs) >> 1));
    y = 0.5f * (y + vs / y);
    y = 0.5f * (y + vs / y);
    y = 0.5f * (y + vs / y);
    y = y * gru__select(tiny, 8.88178420e-16f, 1.0f);             /* 2^-50 */
    return gru__select(v > 0.0f, y, v * 0.0f);
}

#endif /* GRU_TRAIN_KERNELS_H */
