/*
 * gru_quant_internal.h - private kernels of the quantized paths (gru__q8_,
 * gru__qi_ prefixes). The contract of every function is in gru_quant.h.
 */
#ifndef GRU_QUANT_INTERNAL_H
#define GRU_QUANT_INTERNAL_H

#include "gru_internal.h"
#include "gru_quant.h"

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
#if GRU_KERNEL_ROWS == 48
        switch (width) {
        case 48: gru__q8_block(w, 48, cols, x, y + r0, 48); break;
        case 40: gru__q8_block(w, 40, cols, x, y + r0, 40); break;
        case 32: gru__q8_block(w, 32, cols, x, y + r0, 32); break;
        case 24: gru__q8_block(w, 24, cols, x, y + r0, 24); break;
        case 16: gru__q8_block(w, 16, cols, x, y + r0, 16); break;
        default: gru__q8_block(w, 8, cols, x, y + r0, 8); break;
        }
#else
        for (int s = 0; s < width; s += GRU_PACK_ROWS)
            gru__q8_block(w + s, width, cols, x, y + r0 + s, GRU_PACK_ROWS);
#endif
        w += (size_t)width * (size_t)cols;
        r0 += width;
    }
    for (int j = 0; j < rows; j++)
        y[j] = bias[j] + scale[j] * y[j];
}

/* ---------------------------------------------------------------- integer only */

/* v / 2^s rounded half away from zero, s in 1..30, |v| <= 2^31 - 1 - 2^(s-1). */
static inline int32_t gru__qi_rshift(int32_t v, int s)
{
    const uint32_t mag = v < 0 ? 0u - (uint32_t)v : (uint32_t)v;
    const int32_t q = (int32_t)((mag + (1u << (s - 1))) >> s);
    return v < 0 ? -q : q;
}

/* As gru__qi_rshift for int64 values, s in 1..62. */
static inline int64_t gru__qi_rshift64(int64_t v, int s)
{
    const uint64_t mag = v < 0 ? 0u - (uint64_t)v : (uint64_t)v;
    const int64_t q = (int64_t)((mag + ((uint64_t)1 << (s - 1))) >> s);
    return v < 0 ? -q : q;
}

static inline int32_t gru__qi_clamp(int64_t v, int32_t bound)
{
    return v > bound ? bound : v < -bound ? -bound : (int32_t)v;
}

/* Gate pre-activation of one row: clamp(rnd(acc * mult, shift) + bias). */
static inline int32_t gru__qi_requant(int32_t acc, int32_t mult, int shift, int32_t bias)
{
    shift = shift < 1 ? 1 : shift > 62 ? 62 : shift;
    return gru__qi_clamp(gru__qi_rshift64((int64_t)acc * mult, shift) + bias, GRU_QI_PRE_MAX);
}

/* Integer dot product of one row of a packed matrix (gru_qi_pack_matrix) with
 * an int16 or int32 vector (exactly one of x16, x32 non-NULL). w points at the
 * row's first column pair (its block + 2 * its row in the block); successive
 * pairs are 2 * GRU_QI_BLOCK_ROWS bytes apart. An odd last column is summed
 * alone (x has no element past it). Integer addition is associative, so any
 * summation order (and any vector width) gives the same result. */
GRU__HOT int32_t gru__qi_dot(const int8_t *restrict w, const int16_t *restrict x16,
                             const int32_t *restrict x32, int cols)
{
    int32_t acc = 0;
    int k = 0;
    if (x16) {
        for (; k + 1 < cols; k += 2, w += 2 * GRU_QI_BLOCK_ROWS)
            acc += (int32_t)w[0] * x16[k] + (int32_t)w[1] * x16[k + 1];
        if (k < cols)
            acc += (int32_t)w[0] * x16[k];
    } else {
        for (; k + 1 < cols; k += 2, w += 2 * GRU_QI_BLOCK_ROWS)
            acc += (int32_t)w[0] * x32[k] + (int32_t)w[1] * x32[k + 1];
        if (k < cols)
            acc += (int32_t)w[0] * x32[k];
    }
    return acc;
}

/* int8s in one 16-row block of a packed matrix with `cols` columns. */
static inline size_t gru__qi_block_size(int cols)
{
    return (size_t)GRU_QI_BLOCK_ROWS * (size_t)gru__round_up(cols, 2);
}

#if GRU_KERNEL_ROWS == 48
/* Wide-vector hosts (x86-64 and AArch64 builds without the x86 kernels): the
 * sums of a whole 16-row block, column pair by column pair, so that the
 * compiler vectorizes across the rows. One row at a time (gru__qi_dot, right
 * for a Cortex-M0's few registers) leaves a strided scalar loop: 60 us
 * instead of 6 us per (40, 128) step on x86-64 built portable. */
GRU__HOT void gru__qi_block16(const int8_t *restrict w, int cols, const int16_t *restrict x,
                              int32_t *restrict y)
{
    /* Even and odd columns in separate sums (acc[2r], acc[2r + 1]), added at
     * the end: a plain multiply-accumulate over 32 int8s per column pair. */
    int32_t acc[2 * GRU_QI_BLOCK_ROWS] = {0}, xp[2 * GRU_QI_BLOCK_ROWS];
    for (int k = 0; k < cols; k += 2, w += 2 * GRU_QI_BLOCK_ROWS) {
        const int32_t x1 = k + 1 < cols ? x[k + 1] : 0; /* the padding column's weights are 0 */
        for (int i = 0; i < 2 * GRU_QI_BLOCK_ROWS; i += 2)
            xp[i] = x[k], xp[i + 1] = x1;
        for (int i = 0; i < 2 * GRU_QI_BLOCK_ROWS; i++)
            acc[i] += (int32_t)w[i] * xp[i];
    }
    for (int r = 0; r < GRU_QI_BLOCK_ROWS; r++)
        y[r] = acc[2 * r] + acc[2 * r + 1];
}
#endif

/* y[j] = requant(W[j] . x) for the rows j of a packed int8 matrix (padding
 * rows are not computed; y holds `rows` values). */
GRU__HOT void gru__qi_gemv(const int8_t *restrict w, int rows, int cols,
                           const int16_t *restrict x16, const int32_t *restrict x32,
                           const int32_t *restrict mult, const int8_t *restrict shift,
                           const int32_t *restrict bias, int32_t *restrict y)
{
    const size_t block = gru__qi_block_size(cols);
    int j = 0;
#if GRU_KERNEL_ROWS == 48
    int16_t xb[GRU_QI_MAX_DIM];
    if (!x16) { /* r * h of reset_before: |rnd(r h, 15)| <= 32767 fits int16 */
        for (int k = 0; k < cols; k++)
            xb[k] = (int16_t)x32[k];
        x16 = xb;
        x32 = NULL;
    }
    for (; j + GRU_QI_BLOCK_ROWS <= rows; j += GRU_QI_BLOCK_ROWS)
        gru__qi_block16(w + (size_t)(j / GRU_QI_BLOCK_ROWS) * block, cols, x16, y + j);
#endif
    for (; j < rows; j++) {
        const int8_t *row = w + (size_t)(j / GRU_QI_BLOCK_ROWS) * block
                            + 2 * (size_t)(j % GRU_QI_BLOCK_ROWS);
        y[j] = gru__qi_dot(row, x16, x32, cols);
    }
    /* Requantize in a separate loop over rows (vectorizable). */
    for (j = 0; j < rows; j++)
        y[j] = gru__qi_requant(y[j], mult[j], shift[j], bias[j]);
}

/* tanh of a magnitude `a` with `frac` fractional bits (12 for tanh, 13 for the
 * tanh(x/2) inside sigmoid), Q0.15, from the table by linear interpolation. */
static inline int32_t gru__qi_tanh_mag(uint32_t a, int frac)
{
    const int seg = frac - 6; /* table step 1/64 */
    if (a >= ((uint32_t)8 << frac))
        return gru_qi_tanh_table[GRU_QI_TABLE_SIZE - 1];
    const uint32_t i = a >> seg, f = a & ((1u << seg) - 1u);
    const int32_t t0 = gru_qi_tanh_table[i], t1 = gru_qi_tanh_table[i + 1];
    /* The table is non-decreasing, so the product is non-negative. */
    return t0 + (int32_t)(((uint32_t)(t1 - t0) * f + (1u << (seg - 1))) >> seg);
}

static inline int32_t gru__qi_tanh(int32_t x)
{
    const uint32_t a = x < 0 ? 0u - (uint32_t)x : (uint32_t)x;
    const int32_t t = gru__qi_tanh_mag(a, GRU_QI_PRE_FRAC);
    return x < 0 ? -t : t;
}

/* sigmoid(x) = (1 + tanh(x/2)) / 2: x in Q.12 read as x/2 in Q.13; floor. */
static inline int32_t gru__qi_sigmoid(int32_t x)
{
    const uint32_t a = x < 0 ? 0u - (uint32_t)x : (uint32_t)x;
    const int32_t t = gru__qi_tanh_mag(a, GRU_QI_PRE_FRAC + 1);
    return (int32_t)((uint32_t)(32768 + (x < 0 ? -t : t)) >> 1);
}

#endif /* GRU_QUANT_INTERNAL_H */
