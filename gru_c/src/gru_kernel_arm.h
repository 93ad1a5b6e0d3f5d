/*
 * gru_kernel_arm.h - Arm kernels of the float path (gru__ prefix, private):
 * the Cortex-M4F / M7 VMLA block product and the Helium (MVE) block product
 * and gate math. Each computes the portable code's operations in the same
 * order (tests/test_targets.py compares the targets with the host).
 * -DGRU_PORTABLE_KERNEL turns them all off. gru_kernels.h uses the block
 * products (GRU__BLOCK8 / GRU__BLOCK16); gru_dispatch.c maps the Helium cell.
 */
#ifndef GRU_KERNEL_ARM_H
#define GRU_KERNEL_ARM_H

#include "gru_cell.h"

#if GRU_KERNEL_ROWS != 48 && defined(__GNUC__) && defined(__ARM_ARCH_7EM__) && defined(__ARM_FP) && (__ARM_FP & 4) && \
    !defined(GRU_PORTABLE_KERNEL)
/* Cortex-M4F / M7: the same 8-row block with VMLA.F32, the *chained* (not
 * fused) multiply-accumulate of VFPv4/FPv5: it rounds the product and then the
 * sum, exactly like vmul + vadd, so results do not change (tests/test_targets.py
 * compares them with the portable build on the host). GCC never emits VMLA
 * under -ffp-contract=off, and loads the 8 weights one by one; this loop does
 * one x load, one 8-weight VLDM and 8 VMLA per column: 1.6 instructions per
 * multiply-accumulate instead of 3.5. -DGRU_PORTABLE_KERNEL turns it off. */
static inline void gru__block8_vmla(const float *w, int stride, int cols, const float *x,
                                    const float *init, float *y)
{
    const int stride_bytes = stride * (int)sizeof(float);
    __asm__ volatile("vldmia %[init], {s8-s15}\n"
                     "1:\n\t"
                     "vldmia %[x]!, {s16}\n\t"
                     "vldmia %[w], {s0-s7}\n\t"
                     "add %[w], %[w], %[sb]\n\t"
                     "vmla.f32 s8, s0, s16\n\t"
                     "vmla.f32 s9, s1, s16\n\t"
                     "vmla.f32 s10, s2, s16\n\t"
                     "vmla.f32 s11, s3, s16\n\t"
                     "vmla.f32 s12, s4, s16\n\t"
                     "vmla.f32 s13, s5, s16\n\t"
                     "vmla.f32 s14, s6, s16\n\t"
                     "vmla.f32 s15, s7, s16\n\t"
                     "subs %[n], %[n], #1\n\t"
                     "bne 1b\n\t"
                     "vstmia %[y], {s8-s15}"
                     : [w] "+r"(w), [x] "+r"(x), [n] "+r"(cols)
                     : [init] "r"(init), [y] "r"(y), [sb] "r"(stride_bytes)
                     : "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11",
                       "s12", "s13", "s14", "s15", "s16", "cc", "memory");
}
#define GRU__BLOCK8(w, stride, cols, x, init, y) gru__block8_vmla(w, stride, cols, x, init, y)
#define GRU__ARM_VMLA 1
#else
#define GRU__ARM_VMLA 0
#endif

/* Cortex-M55/M85 (MVE with floating point): exp in 4-lane vectors with the
 * same operations in the same order as gru__exp, and the divisions (MVE has
 * no vector divide) in a scalar pass. Bit-identical to the portable code
 * (tests/test_targets.py compares with the host); GCC 12 does not vectorize
 * the portable exp for MVE ("no vectype" for loops mixing float and integer
 * lanes). -DGRU_PORTABLE_KERNEL turns it off. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2) && !defined(GRU_PORTABLE_KERNEL)
#define GRU__HELIUM 1
#include <arm_mve.h>

#include <arm_mve.h>
/* Helium: the 16-row block in four Q accumulators, each column one x load,
 * four weight loads, four vector-by-scalar multiplies and four adds (GCC's
 * own vectorization of gru__block_regs adds a VDUP and spills: 1.25
 * instructions per multiply-accumulate instead of 0.94). Same operations in
 * the same order as the portable loop. */
__attribute__((noinline)) static void gru__block16_mve(const float *w, int stride, int cols,
                                                       const float *x, const float *init, float *y)
{
    float32x4_t a0 = vld1q_f32(init), a1 = vld1q_f32(init + 4), a2 = vld1q_f32(init + 8),
                a3 = vld1q_f32(init + 12);
    for (int k = 0; k < cols; k++) {
        const float xk = x[k];
        a0 = vaddq_f32(a0, vmulq_n_f32(vld1q_f32(w), xk));
        a1 = vaddq_f32(a1, vmulq_n_f32(vld1q_f32(w + 4), xk));
        a2 = vaddq_f32(a2, vmulq_n_f32(vld1q_f32(w + 8), xk));
        a3 = vaddq_f32(a3, vmulq_n_f32(vld1q_f32(w + 12), xk));
        w += stride;
    }
    vst1q_f32(y, a0);
    vst1q_f32(y + 4, a1);
    vst1q_f32(y + 8, a2);
    vst1q_f32(y + 12, a3);
}
#define GRU__BLOCK16(w, stride, cols, x, init, y) gru__block16_mve(w, stride, cols, x, init, y)


static inline float32x4_t gru__max_q(float32x4_t a, float32x4_t b)
{
    return vpselq_f32(a, b, vcmpgtq_f32(a, b));
}

static inline float32x4_t gru__min_q(float32x4_t a, float32x4_t b)
{
    return vpselq_f32(a, b, vcmpltq_f32(a, b));
}

static inline float32x4_t gru__exp_q(float32x4_t x)
{
    const float magic = 12582912.0f;
    float32x4_t k = vaddq_n_f32(vmulq_n_f32(x, 1.44269504088896341f), magic);
    k = vsubq_n_f32(k, magic);
    float32x4_t r = vsubq_f32(x, vmulq_n_f32(k, 0.693359375f));
    r = vsubq_f32(r, vmulq_n_f32(k, -2.12194440e-4f));
    const float32x4_t r2 = vmulq_f32(r, r);
    float32x4_t p = vaddq_n_f32(vmulq_n_f32(r, 1.9875691500e-4f), 1.3981999507e-3f);
    p = vaddq_n_f32(vmulq_f32(p, r), 8.3334519073e-3f);
    p = vaddq_n_f32(vmulq_f32(p, r), 4.1665795894e-2f);
    p = vaddq_n_f32(vmulq_f32(p, r), 1.6666665459e-1f);
    p = vaddq_n_f32(vmulq_f32(p, r), 5.0000001201e-1f);
    p = vaddq_f32(vmulq_f32(p, r2), r);
    p = vaddq_n_f32(p, 1.0f);
    const int32x4_t bits = vshlq_n_s32(vaddq_n_s32(vcvtq_s32_f32(k), 127), 23);
    return vmulq_f32(p, vreinterpretq_f32_s32(bits));
}

/* out[j] = gru__sigmoid(a[j] + b[j]) for j < n; out may be a. */
static inline void gru__sigmoid_sum(float *out, const float *a, const float *b, int n)
{
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        float32x4_t t = vaddq_f32(vld1q_f32(a + j), vld1q_f32(b + j));
        t = gru__min_q(gru__max_q(t, vdupq_n_f32(-80.0f)), vdupq_n_f32(80.0f));
        vst1q_f32(out + j, gru__exp_q(vnegq_f32(t)));
    }
    for (int i = 0; i < j; i++)
        out[i] = 1.0f / (1.0f + out[i]);
    for (; j < n; j++)
        out[j] = gru__sigmoid(a[j] + b[j]);
}

/* v[j] = gru__tanh(v[j]) for j < n, using e[0..n) as scratch. */
static inline void gru__tanh_inplace(float *restrict v, float *restrict e, int n)
{
    int j = 0;
    for (; j + 4 <= n; j += 4) {
        const float32x4_t a = gru__min_q(vabsq_f32(vld1q_f32(v + j)), vdupq_n_f32(10.0f));
        vst1q_f32(e + j, gru__exp_q(vmulq_n_f32(a, 2.0f)));
    }
    for (int i = 0; i < j; i++) {
        const float t = 1.0f - 2.0f / (e[i] + 1.0f);
        v[i] = gru__from_bits(gru__bits(t) | (gru__bits(v[i]) & 0x80000000u));
    }
    for (; j < n; j++)
        v[j] = gru__tanh(v[j]);
}
/* The float cell (gru_cell.h) with the exps in vectors: sigmoids of r and z
 * in place, the pre-activation of n into ghn, tanh in place (tmp: H floats of
 * scratch), then the update. */
static inline void gru__cell_rz_mve(int n, const float *gi, float *gh)
{
    gru__sigmoid_sum(gh, gi, gh, n);
}

static inline void gru__cell_h_mve(int H, const float *gh, float *restrict ghn,
                                   float *restrict h, float *restrict tmp)
{
    gru__tanh_inplace(ghn, tmp, H);
    for (int j = 0; j < H; j++)
        h[j] = gru__cell_h(gh[H + j], ghn[j], h[j]);
}

static inline void gru__cell_after_mve(int H, const float *restrict gi, const float *restrict gh,
                                       float *restrict ghn, float *restrict h, float *restrict tmp)
{
    for (int j = 0; j < H; j++)
        ghn[j] = gi[2 * H + j] + gh[j] * ghn[j];
    gru__cell_h_mve(H, gh, ghn, h, tmp);
}

static inline void gru__cell_before_rz_mve(int H, const float *gi, float *gh, const float *h,
                                           float *restrict rh)
{
    gru__sigmoid_sum(gh, gi, gh, 2 * H);
    for (int j = 0; j < H; j++)
        rh[j] = gh[j] * h[j];
}

static inline void gru__cell_before_mve(int H, const float *restrict gi, const float *restrict gh,
                                        float *restrict ghn, float *restrict h, float *restrict tmp)
{
    for (int j = 0; j < H; j++)
        ghn[j] = gi[2 * H + j] + ghn[j];
    gru__cell_h_mve(H, gh, ghn, h, tmp);
}
#else
#define GRU__HELIUM 0
#endif

#endif /* GRU_KERNEL_ARM_H */
