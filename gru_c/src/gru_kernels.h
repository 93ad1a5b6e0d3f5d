/*
 * gru_kernels.h - the portable packed-matrix products of the three
 * arithmetics (gru__ prefix, private): float (gru__gemm), int8 weights with
 * float math (gru__q8_gemv) and integer-only (gru__qi_gemv, in
 * gru_kernel_qi.h), over the layouts of gru_pack_matrix, gru_q8_pack_matrix
 * and gru_qi_pack_matrix. The
 * per-architecture block kernels they call on small cores come from
 * gru_kernel_arm.h; whole replacements (x86) are in gru_kernel_x86.c, and
 * gru_dispatch.c decides which one runs.
 */
#ifndef GRU_KERNELS_H
#define GRU_KERNELS_H

#include "gru_math.h"
#include "gru_kernel_arm.h"
#include "gru_kernel_qi.h"

/* ---------------------------------------------------------------- float */

/* y[0..width) = init + W x for one packed block of `width` output rows,
 * reading `cols` columns of `stride` floats each (stride = the block's row
 * count). init may be y. */
GRU__HOT void gru__block(const float *restrict w, int stride, int cols, const float *restrict x,
                         const float *init, float *y, const int width)
{
    float acc[GRU_PACK_BLOCK];
    for (int j = 0; j < width; j++)
        acc[j] = init[j];
    for (int k = 0; k < cols; k++) {
        const float xk = x[k];
        if (width <= 16) {
            /* GCC fully unrolls a loop this short before vectorizing, then
             * vectorizes the k loop with shuffles instead (2x slower). */
            GRU__NO_UNROLL
            for (int j = 0; j < width; j++) /* vectorize */
                acc[j] += xk * w[j];
        } else {
            for (int j = 0; j < width; j++) /* vectorize */
                acc[j] += xk * w[j];
        }
        w += stride;
    }
    for (int j = 0; j < width; j++)
        y[j] = acc[j];
}

#if GRU_KERNEL_ROWS != 48
/* The same sums for small cores (Cortex-M, RV32, Helium): `width` (8 or 16, a
 * constant after inlining) outputs of one packed block, with the row loop
 * unrolled completely so that each accumulator is a register and each k costs
 * one load of x[k], `width` weight loads and `width` multiply-adds. */
#if defined(__GNUC__) && !defined(__clang__)
#define GRU__UNROLL_ROWS _Pragma("GCC unroll 16")
#elif defined(__clang__)
#define GRU__UNROLL_ROWS _Pragma("unroll")
#else
#define GRU__UNROLL_ROWS
#endif
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline void gru__block_regs(const float *restrict w, int stride, int cols,
                                   const float *restrict x, const float *init, float *y,
                                   const int width)
{
    float acc[16];
    GRU__UNROLL_ROWS
    for (int j = 0; j < width; j++)
        acc[j] = init[j];
    for (int k = 0; k < cols; k++) {
        const float xk = x[k];
        GRU__UNROLL_ROWS
        for (int j = 0; j < width; j++)
            acc[j] += xk * w[j];
        w += stride;
    }
    GRU__UNROLL_ROWS
    for (int j = 0; j < width; j++)
        y[j] = acc[j];
}

#endif

/* The block kernel of one slice: gru__block at a constant width on
 * wide-vector hosts; on small cores the architecture's 8- and 16-row kernels
 * (gru_kernel_arm.h), else gru__block_regs. */
#ifndef GRU__BLOCK8
#define GRU__BLOCK8(w, stride, cols, x, init, y) gru__block_regs(w, stride, cols, x, init, y, 8)
#endif
#ifndef GRU__BLOCK16
#define GRU__BLOCK16(w, stride, cols, x, init, y) gru__block_regs(w, stride, cols, x, init, y, 16)
#endif
#if GRU_KERNEL_ROWS == 48
#define GRU__BLOCK_N(w, stride, cols, x, init, y, n) gru__block(w, stride, cols, x, init, y, n)
#else
#define GRU__BLOCK_N(w, stride, cols, x, init, y, n)                                              \
    do {                                                                                          \
        if ((n) == 16)                                                                            \
            GRU__BLOCK16(w, stride, cols, x, init, y);                                            \
        else                                                                                      \
            GRU__BLOCK8(w, stride, cols, x, init, y);                                             \
    } while (0)
#endif

#if GRU_SEQUENCE_LANES > 1
/* The same product for `lanes` input vectors at once (x and y advance by
 * x_stride and y_stride floats per lane): each weight is read once for all
 * lanes, which is what makes batched sequences faster than one at a time.
 * width <= 24 so that lanes * width accumulators fit in 16 AVX2 registers.
 * Every output sums its products in the same order as gru__block. */
GRU__HOT void gru__block_lanes(const float *restrict w, int stride, int cols, const float *restrict x,
                               size_t x_stride, float *restrict y, size_t y_stride, const int width,
                               const int lanes)
{
    float acc[GRU_SEQUENCE_LANES][24];
    for (int l = 0; l < lanes; l++)
        for (int j = 0; j < width; j++)
            acc[l][j] = y[(size_t)l * y_stride + (size_t)j];
    for (int k = 0; k < cols; k++) {
        for (int l = 0; l < lanes; l++) {
            const float xk = x[(size_t)l * x_stride + (size_t)k];
            if (width <= 16) {
                GRU__NO_UNROLL
                for (int j = 0; j < width; j++) /* vectorize */
                    acc[l][j] += xk * w[j];
            } else {
                for (int j = 0; j < width; j++) /* vectorize */
                    acc[l][j] += xk * w[j];
            }
        }
        w += stride;
    }
    for (int l = 0; l < lanes; l++)
        for (int j = 0; j < width; j++)
            y[(size_t)l * y_stride + (size_t)j] = acc[l][j];
}
#endif

/* y = bias + W x for `lanes` vectors (lane l reads x + l * x_stride and writes
 * y + l * y_stride), W packed from [rows][cols] (gru_pack_matrix). Each y holds
 * GRU_ROUND_UP(rows, GRU_PACK_ROWS) floats; the padding rows come out as 0.
 * bias may be NULL (zero). Output j is bias[j] + w[j][0]*x[0] + w[j][1]*x[1]
 * + ..., summed in that order on every target, for any lane count. */
GRU__HOT void gru__gemm(const float *restrict w, int rows, int cols, const float *restrict x,
                        size_t x_stride, const float *restrict bias, float *restrict y,
                        size_t y_stride, const int lanes)
{
    (void)x_stride; /* only read with GRU_SEQUENCE_LANES > 1 (small targets have 1) */
    const int padded = gru__round_up(rows, GRU_PACK_ROWS);
    /* One lane, no padding rows: the blocks start their sums from the bias
     * itself instead of a copy of it in y. Same values, same results; the copy
     * was a library memcpy call per product, 13% of a step at (16, 32). */
    const int from_bias = lanes == 1 && bias != NULL && rows == padded;
    for (int l = 0; l < lanes && !from_bias; l++) {
        float *yl = y + (size_t)l * y_stride;
        for (int j = 0; j < rows; j++)
            yl[j] = bias ? bias[j] : 0.0f;
        for (int j = rows; j < padded; j++)
            yl[j] = 0.0f;
    }
    const float *init = from_bias ? bias : y; /* where the one-lane sums start */
    const gru__blocks g = gru__block_split(padded);
    for (int b = 0, r0 = 0; b < g.count; b++) {
        const int width = gru__block_rows(g, b);
#if GRU_SEQUENCE_LANES > 1
        if (lanes > 1) {
            for (int s = 0; s < width; s += 24) {
                const int sub = width - s < 24 ? width - s : 24;
                float *ys = y + r0 + s;
                switch (sub) {
                case 24: gru__block_lanes(w + s, width, cols, x, x_stride, ys, y_stride, 24, lanes); break;
                case 16: gru__block_lanes(w + s, width, cols, x, x_stride, ys, y_stride, 16, lanes); break;
                default: gru__block_lanes(w + s, width, cols, x, x_stride, ys, y_stride, 8, lanes); break;
                }
            }
            w += (size_t)width * (size_t)cols;
            r0 += width;
            continue;
        }
#endif
#define GRU__GEMM_SLICE(s, n, stride) GRU__BLOCK_N(w + (s), stride, cols, x, init + r0 + (s), y + r0 + (s), n)
        GRU__EACH_SLICE(width, GRU__GEMM_SLICE)
#undef GRU__GEMM_SLICE
        w += (size_t)width * (size_t)cols;
        r0 += width;
    }
}

/* ---------------------------------------------------------------- int8 weights, float math */

/* acc[0..width) += W x for one packed int8 block (see gru__block). Each weight
 * is converted to float (exact) and the products are summed in column order. */
GRU__HOT void gru__q8_block(const int8_t *restrict w, int stride, int cols,
                            const float *restrict x, float *restrict y, const int width)
{
    float acc[GRU_PACK_BLOCK];
    for (int j = 0; j < width; j++)
        acc[j] = y[j];
    for (int k = 0; k < cols; k++) {
        const float xk = x[k];
        if (width <= 16) {
            GRU__NO_UNROLL
            for (int j = 0; j < width; j++)
                acc[j] += xk * (float)w[j];
        } else {
            for (int j = 0; j < width; j++)
                acc[j] += xk * (float)w[j];
        }
        w += stride;
    }
    for (int j = 0; j < width; j++)
        y[j] = acc[j];
}

/* y = bias + scale * (Q x), Q an int8 matrix packed from [rows][cols].
 * y holds GRU_ROUND_UP(rows, GRU_PACK_ROWS) floats (padding rows come out 0). */
GRU__HOT void gru__q8_gemv(const int8_t *restrict w, int rows, int cols, const float *restrict x,
                           const float *restrict scale, const float *restrict bias,
                           float *restrict y)
{
    const int padded = gru__round_up(rows, GRU_PACK_ROWS);
    for (int j = 0; j < padded; j++)
        y[j] = 0.0f;
    const gru__blocks g = gru__block_split(padded);
    for (int b = 0, r0 = 0; b < g.count; b++) {
        const int width = gru__block_rows(g, b);
#define GRU__Q8_SLICE(s, n, stride) gru__q8_block(w + (s), stride, cols, x, y + r0 + (s), n)
        GRU__EACH_SLICE(width, GRU__Q8_SLICE)
#undef GRU__Q8_SLICE
        w += (size_t)width * (size_t)cols;
        r0 += width;
    }
    for (int j = 0; j < rows; j++)
        y[j] = bias[j] + scale[j] * y[j];
}

#endif /* GRU_KERNELS_H */
