/*
 * gru_kernel_arm_int.h - Arm kernels of the integer-only product (gru__
 * prefix, private), block kernels for gru__qi_gemv_blocks over the layout of
 * gru_qi_pack_matrix (each row's 8 int8 columns of a group contiguous):
 *
 *   gru__qi_gemv_dsp     Armv7E-M / Armv8-M DSP (Cortex-M4, M7, M33): per
 *                        row and group two word loads (unaligned LDR, which
 *                        these cores allow), SXTB16 and SXTB16 ROR #8 split
 *                        them into the even and odd columns' int16 pairs,
 *                        four SMLAD against x arranged once per product in
 *                        the same order; 4 rows at a time.
 *   gru__qi_gemv_helium  Helium (Cortex-M55, M85): per row and group one
 *                        VLDRB.S16 (8 int8 -> 8 int16 lanes) and one
 *                        VMLADAVA.S16 against the group's 8 x; 4 rows at a time
 *                        (VMLADAVA accumulates in even registers: 8 rows
 *                        spill); the requantization 4 rows per vector.
 *
 * Integer sums are exact (bounds: gru_kernel_qi.h), so both equal the
 * portable product bit for bit (tests/test_targets.py). -DGRU_PORTABLE_KERNEL
 * turns them off; gru_dispatch.c maps them.
 */
#ifndef GRU_KERNEL_ARM_INT_H
#define GRU_KERNEL_ARM_INT_H

#include "gru_kernel_qi.h"

#if defined(__GNUC__) && defined(__ARM_FEATURE_MVE) && !defined(GRU_PORTABLE_KERNEL)
#define GRU__QI_HELIUM 1
#define GRU__QI_ARM_DSP 0
#include <arm_mve.h>

static void gru__qi_block_helium(const int8_t *restrict w, int groups, const void *restrict xv,
                                 int32_t *restrict y, int n)
{
    for (int r = 0; r < n; r += 4, w += 4 * GRU_QI_GROUP_COLS) {
        const int16_t *x = (const int16_t *)xv;
        const int8_t *p = w;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
        for (int g = 0; g < groups; g++, p += GRU__QI_GROUP_BYTES, x += GRU_QI_GROUP_COLS) {
            const int16x8_t xg = vld1q_s16(x);
            a0 = vmladavaq_s16(a0, vldrbq_s16(p), xg);
            a1 = vmladavaq_s16(a1, vldrbq_s16(p + 8), xg);
            a2 = vmladavaq_s16(a2, vldrbq_s16(p + 16), xg);
            a3 = vmladavaq_s16(a3, vldrbq_s16(p + 24), xg);
        }
        const int32_t a[4] = {a0, a1, a2, a3};
        gru__qi_store4(y + r, a, n - r);
    }
}

/* gru__qi_requant of 4 rows with every shift in 33..62 (the usual case):
 * the formula's shift > 32 form in vector lanes: VMULH.U32 gives the high
 * word of |acc| |mult|, VRSHL.U32 by 32 - shift its rounding shift right
 * (hi + 2^(s-33)) >> (s-32); the sign applied, the bias added saturating (a
 * sum beyond int32 is beyond +-GRU_QI_PRE_MAX with the same sign), the
 * clamp. Other shifts: the scalar form. */
static void gru__qi_requant_rows_helium(int rows, const int32_t *restrict mult,
                                        const int8_t *restrict shift, const int32_t *restrict bias,
                                        int32_t *restrict y)
{
    int j = 0;
    for (; j + 4 <= rows; j += 4) {
        const int32x4_t s = vminq_s32(vmaxq_s32(vldrbq_s32(shift + j), vdupq_n_s32(1)),
                                      vdupq_n_s32(62));
        if (vminvq_s32(INT32_MAX, s) <= 32) {
            for (int k = j; k < j + 4; k++)
                y[k] = gru__qi_requant64(y[k], mult[k], shift[k], bias[k]);
            continue;
        }
        const int32x4_t acc = vld1q_s32(y + j), m = vld1q_s32(mult + j);
        const uint32x4_t hi = vmulhq_u32(vreinterpretq_u32_s32(vabsq_s32(acc)),
                                         vreinterpretq_u32_s32(vabsq_s32(m)));
        const int32x4_t q = vreinterpretq_s32_u32(vrshlq_u32(hi, vsubq_s32(vdupq_n_s32(32), s)));
        const int32x4_t neg = vshrq_n_s32(veorq_s32(acc, m), 31); /* -1 where the product < 0 */
        const int32x4_t v = vqaddq_s32(vsubq_s32(veorq_s32(q, neg), neg), vld1q_s32(bias + j));
        vst1q_s32(y + j, vminq_s32(vmaxq_s32(v, vdupq_n_s32(-GRU_QI_PRE_MAX)),
                                   vdupq_n_s32(GRU_QI_PRE_MAX)));
    }
    for (; j < rows; j++)
        y[j] = gru__qi_requant64(y[j], mult[j], shift[j], bias[j]);
}

GRU__QI_GEMV(static, gru__qi_gemv_helium, gru__qi_block_helium, gru__qi_requant_rows_helium)

#elif defined(__GNUC__) && defined(__ARM_FEATURE_DSP) && !defined(GRU_PORTABLE_KERNEL)
#define GRU__QI_HELIUM 0
#define GRU__QI_ARM_DSP 1
#include <arm_acle.h>

/* x in SXTB16 order, 4 words per group: (x0, x2), (x1, x3), (x4, x6), (x5, x7)
 * as (low, high) int16 halves. */
static inline void gru__qi_x_dsp(const int16_t *x, int groups, int32_t *xs)
{
    for (int i = 0; i < 2 * groups; i++, x += 4, xs += 2) {
        xs[0] = (int32_t)((uint32_t)(uint16_t)x[0] | (uint32_t)(uint16_t)x[2] << 16);
        xs[1] = (int32_t)((uint32_t)(uint16_t)x[1] | (uint32_t)(uint16_t)x[3] << 16);
    }
}

/* acc += the 4 products of one row's half group at byte offset off of p,
 * against the x pairs xa (even columns) and xb (odd columns). */
#define GRU__DSP_HALF(acc, off)                                                                   \
    "ldr %[w], [%[p], #" #off "]\n\t"                                                             \
    "sxtb16 %[t], %[w]\n\t"                                                                      \
    "smlad %[" #acc "], %[t], %[xa], %[" #acc "]\n\t"                                             \
    "sxtb16 %[t], %[w], ror #8\n\t"                                                              \
    "smlad %[" #acc "], %[t], %[xb], %[" #acc "]\n\t"

/* The sums of 4 rows starting at p over the groups of xs (up to end), into
 * a[0..3]: per half group one LDRD of the x pairs, shared by the 4 rows.
 * Written in assembly because GCC hoists all eight weight loads of a group
 * and spills the accumulators. */
static inline void gru__qi_rows4_dsp(const int8_t *p, const int32_t *xs, const int32_t *end,
                                     int32_t *a)
{
    int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0, xa, xb, w, t;
    __asm__("1:\n\t"
            "ldrd %[xa], %[xb], [%[xs]], #8\n\t"
            GRU__DSP_HALF(a0, 0) GRU__DSP_HALF(a1, 8) GRU__DSP_HALF(a2, 16) GRU__DSP_HALF(a3, 24)
            "ldrd %[xa], %[xb], [%[xs]], #8\n\t"
            GRU__DSP_HALF(a0, 4) GRU__DSP_HALF(a1, 12) GRU__DSP_HALF(a2, 20) GRU__DSP_HALF(a3, 28)
            "add %[p], %[p], #128\n\t"
            "cmp %[xs], %[end]\n\t"
            "blo 1b\n\t"
            : [p] "+r"(p), [xs] "+r"(xs), [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2),
              [a3] "+r"(a3), [xa] "=&r"(xa), [xb] "=&r"(xb), [w] "=&r"(w), [t] "=&r"(t)
            : [end] "r"(end)
            : "cc", "memory");
    a[0] = a0, a[1] = a1, a[2] = a2, a[3] = a3;
}
#undef GRU__DSP_HALF

static void gru__qi_block_dsp(const int8_t *restrict w, int groups, const void *restrict xv,
                              int32_t *restrict y, int n)
{
    const int32_t *xs = (const int32_t *)xv;
    for (int r = 0; r < n; r += 4, w += 4 * GRU_QI_GROUP_COLS) {
        int32_t a[4];
        gru__qi_rows4_dsp(w, xs, xs + 4 * groups, a);
        gru__qi_store4(y + r, a, n - r);
    }
}
static void gru__qi_gemv_dsp(const int8_t *w, int rows, int cols, const int16_t *x16,
                             const int32_t *x32, const int32_t *mult, const int8_t *shift,
                             const int32_t *bias, int32_t *y)
{
    int16_t buf[GRU__QI_X_MAX];
    int32_t xs[GRU__QI_X_MAX / 2];
    gru__qi_x_dsp(gru__qi_x(x16, x32, cols, buf), gru__qi_groups(cols), xs);
    gru__qi_gemv_blocks(gru__qi_block_dsp, gru__qi_requant_rows, w, rows, cols, xs, mult, shift,
                        bias, y);
}

#else
#define GRU__QI_HELIUM 0
#define GRU__QI_ARM_DSP 0
#endif

#endif /* GRU_KERNEL_ARM_INT_H */
