/*
 * gru_internal.h - private helpers shared by the gru_c sources (gru__ prefix).
 *
 * Everything here is written so that GCC and Clang vectorize the hot loops at
 * -O2/-O3 *without* -ffast-math: unit-stride loops, restrict pointers, no calls
 * into libm, no floating-point reductions in an inner loop. Each output is
 * computed by the same sequence of IEEE operations at every vector width, so
 * scalar, SSE2, AVX2, AVX-512, NEON, Helium and soft-float builds agree bit for
 * bit (with -ffp-contract=off).
 */
#ifndef GRU_INTERNAL_H
#define GRU_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "gru.h"

/* Rows of outputs one call of the matrix kernel keeps in registers. 48 fills
 * the 16 vector registers of SSE2/AVX2/NEON; targets with fewer float
 * registers use 8. Any value gives the same results (each output's sum keeps
 * its order). */
#ifndef GRU_KERNEL_ROWS
#if defined(__x86_64__) || defined(__aarch64__)
#define GRU_KERNEL_ROWS 48
#elif defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2)
#define GRU_KERNEL_ROWS 16 /* Helium: 4 of the 8 Q registers hold accumulators */
#else
#define GRU_KERNEL_ROWS 8
#endif
#endif

/* With 48-row kernels the block function must be inlined at each constant
 * width for the accumulators to stay in registers. Small targets keep one
 * out-of-line copy (code size). */
#if GRU_KERNEL_ROWS == 48 && defined(__GNUC__)
#define GRU__HOT static inline __attribute__((always_inline))
#else
#define GRU__HOT static inline
#endif

/* Run-time dispatch: on x86-64 with GCC or Clang, the build may define
 * GRU_DISPATCH_X86 so that the model step is compiled twice (baseline x86-64
 * and AVX2) and the loader picks one. The source is the same; only the vector
 * width changes, and the results do not. */
#if defined(GRU_DISPATCH_X86) && defined(__GNUC__) && defined(__x86_64__)
#define GRU__DISPATCH __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GRU__DISPATCH
#endif

/* Keeps GCC from fully unrolling a short inner loop before vectorizing: once
 * unrolled, the *outer* loop gets vectorized with shuffles and the
 * accumulators leave the registers (measured 2x slower at width 8 and 16). */
#if defined(__GNUC__)
#define GRU__NO_UNROLL _Pragma("GCC unroll 1")
#else
#define GRU__NO_UNROLL
#endif

static inline int gru__round_up(int n, int m) { return ((n + m - 1) / m) * m; }

static inline int gru__max_hidden(const gru_model *model)
{
    int max_hidden = 0;
    for (int l = 0; l < model->num_layers; l++)
        if (model->layers[l].hidden_size > max_hidden)
            max_hidden = model->layers[l].hidden_size;
    return max_hidden;
}

/* ---------------------------------------------------------------- activations */

/* Branch-free selects. A plain `a > b ? a : b` with literal bounds leaves
 * "control flow in loop" for GCC's vectorizer; a compare turned into a bit mask
 * vectorizes as compare + and/andnot/or. fminf/fmaxf would be libm calls. */
static inline uint32_t gru__bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

static inline float gru__from_bits(uint32_t u)
{
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* cond ? a : b, for cond 0 or 1. */
static inline float gru__select(int cond, float a, float b)
{
    const uint32_t mask = 0u - (uint32_t)cond;
    return gru__from_bits((gru__bits(a) & mask) | (gru__bits(b) & ~mask));
}

/* NaN compares false, so gru__max(NaN, lo) is lo: no NaN reaches exp's
 * float-to-int conversion (which would be undefined behaviour). */
#if GRU_KERNEL_ROWS == 48
static inline float gru__max(float a, float b) { return gru__select(a > b, a, b); }
static inline float gru__min(float a, float b) { return gru__select(a < b, a, b); }
#else
/* Small cores run these loops scalar: a plain conditional is a compare and a
 * conditional move (VSEL on FPv5), where the bit mask costs moves between
 * float and integer registers. Same result: both pick a or b exactly. */
static inline float gru__max(float a, float b) { return a > b ? a : b; }
static inline float gru__min(float a, float b) { return a < b ? a : b; }
#endif

/* exp(x) for x in [-87, 88] (callers clamp), about 1 ulp: Cody-Waite reduction
 * x = k ln2 + r with |r| <= ln2/2, Cephes' degree-5 minimax polynomial for
 * exp(r), and 2^k built in the exponent bits. k is rounded with the 1.5*2^23
 * trick, which needs round-to-nearest and no -ffast-math. */
static inline float gru__exp(float x)
{
    const float magic = 12582912.0f; /* 1.5 * 2^23 */
    float k = x * 1.44269504088896341f + magic;
    k = k - magic;
    float r = x - k * 0.693359375f;
    r = r - k * -2.12194440e-4f;
    const float r2 = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r2 + r;
    p = p + 1.0f;
    const int32_t ki = (int32_t)k;
    const uint32_t bits = (uint32_t)(ki + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    return p * scale;
}

/* exp(d - max) for softmax, with d - max clamped to [-87, 0]. The upper clamp
 * changes nothing for finite inputs (d <= max), but a NaN among the values makes
 * gru__max drop the running maximum, and then d - max can be huge or +inf:
 * unclamped, exp's float-to-int conversion would be undefined behaviour
 * (found by tools/fuzz/fuzz_core.c). */
static inline float gru__exp_shifted(float d) { return gru__exp(gru__min(gru__max(d, -87.0f), 0.0f)); }

/* sigmoid(x) = 1 / (1 + exp(-x)); |x| clamped to 80 (the result is then within
 * 2e-35 of the true value) so that exp never overflows. NaN maps to a finite
 * value: callers (the Python layer) reject non-finite inputs. */
static inline float gru__sigmoid(float x)
{
    x = gru__min(gru__max(x, -80.0f), 80.0f);  /* NaN becomes -80 */
    return 1.0f / (1.0f + gru__exp(-x));
}

/* tanh(x) = sign(x) * (1 - 2 / (exp(2|x|) + 1)); |x| clamped to 10, where
 * tanh already rounds to +-1 in float. 1 - q is exact (Sterbenz). */
static inline float gru__tanh(float x)
{
    const uint32_t sign = gru__bits(x) & 0x80000000u;
    const float a = gru__min(gru__from_bits(gru__bits(x) & 0x7fffffffu), 10.0f);
    const float t = 1.0f - 2.0f / (gru__exp(2.0f * a) + 1.0f);
    return gru__from_bits(gru__bits(t) | sign);
}

/* ---------------------------------------------------------------- matrix kernel */

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

#if defined(__GNUC__) && defined(__ARM_ARCH_7EM__) && defined(__ARM_FP) && (__ARM_FP & 4) && \
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
#else
#define GRU__BLOCK8(w, stride, cols, x, init, y) gru__block_regs(w, stride, cols, x, init, y, 8)
#endif

#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2) && !defined(GRU_PORTABLE_KERNEL)
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
#else
#define GRU__BLOCK16(w, stride, cols, x, init, y) gru__block_regs(w, stride, cols, x, init, y, 16)
#endif
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

/* Block geometry of a packed matrix with `padded` rows (a multiple of
 * GRU_PACK_ROWS): ceil(padded / GRU_PACK_BLOCK) blocks, widths as equal as
 * multiples of GRU_PACK_ROWS allow, wider blocks first. Balancing avoids narrow
 * tail blocks, which keep too few accumulators busy. */
typedef struct gru__blocks {
    int count, base, extra; /* block b has (base + (b < extra)) * GRU_PACK_ROWS rows */
} gru__blocks;

static inline gru__blocks gru__block_split(int padded)
{
    gru__blocks g;
    const int units = padded / GRU_PACK_ROWS;
    g.count = (padded + GRU_PACK_BLOCK - 1) / GRU_PACK_BLOCK;
    /* Most matrices have one or two blocks: no division then (an idiv is a
     * visible share of a small model's step). */
    g.base = g.count <= 1 ? units : g.count == 2 ? units >> 1 : units / g.count;
    g.extra = units - g.base * g.count;
    return g;
}

static inline int gru__block_rows(gru__blocks g, int b)
{
    return (g.base + (b < g.extra ? 1 : 0)) * GRU_PACK_ROWS;
}

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
#if GRU_KERNEL_ROWS == 48
        /* Constant widths let the compiler keep the whole block in registers. */
        switch (width) {
        case 48: gru__block(w, 48, cols, x, init + r0, y + r0, 48); break;
        case 40: gru__block(w, 40, cols, x, init + r0, y + r0, 40); break;
        case 32: gru__block(w, 32, cols, x, init + r0, y + r0, 32); break;
        case 24: gru__block(w, 24, cols, x, init + r0, y + r0, 24); break;
        case 16: gru__block(w, 16, cols, x, init + r0, y + r0, 16); break;
        default: gru__block(w, 8, cols, x, init + r0, y + r0, 8); break;
        }
#else
        int s = 0;
#if GRU_KERNEL_ROWS == 16
        for (; s + 16 <= width; s += 16)
            GRU__BLOCK16(w + s, width, cols, x, init + r0 + s, y + r0 + s);
#endif
        for (; s < width; s += 8)
            GRU__BLOCK8(w + s, width, cols, x, init + r0 + s, y + r0 + s);
#endif
        w += (size_t)width * (size_t)cols;
        r0 += width;
    }
}

/* Out-of-line instances of gru__gemm (gru_forward.c), one for a single vector
 * and one for GRU_SEQUENCE_LANES lanes, each compiled once per instruction set
 * (GRU__DISPATCH). Calling them instead of inlining gru__gemm at every call
 * site keeps the code small (435 KB of x86 text otherwise) and the builds fast;
 * a call costs a few ns next to a matrix product. */
GRU__DISPATCH void gru__gemv(const float *restrict w, int rows, int cols, const float *restrict x,
               const float *restrict bias, float *restrict y);
GRU__DISPATCH void gru__gemm_lanes(const float *restrict w, int rows, int cols, const float *restrict x,
                     size_t x_stride, const float *restrict bias, float *restrict y,
                     size_t y_stride);

/* gru__gemm for lanes == 1 or GRU_SEQUENCE_LANES, out of line. */
static inline void gru__gemm_call(const float *restrict w, int rows, int cols,
                                  const float *restrict x, size_t x_stride,
                                  const float *restrict bias, float *restrict y, size_t y_stride,
                                  int lanes)
{
#if GRU_SEQUENCE_LANES > 1
    if (lanes > 1) {
        gru__gemm_lanes(w, rows, cols, x, x_stride, bias, y, y_stride);
        return;
    }
#endif
    (void)x_stride;
    (void)y_stride;
    (void)lanes;
    gru__gemv(w, rows, cols, x, bias, y);
}

/* ---------------------------------------------------------------- Helium gate math */

/* Cortex-M55/M85 (MVE with floating point): exp in 4-lane vectors with the
 * same operations in the same order as gru__exp, and the divisions (MVE has
 * no vector divide) in a scalar pass. Bit-identical to the portable code
 * (tests/test_targets.py compares with the host); GCC 12 does not vectorize
 * the portable exp for MVE ("no vectype" for loops mixing float and integer
 * lanes). -DGRU_PORTABLE_KERNEL turns it off. */
#if defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 2) && !defined(GRU_PORTABLE_KERNEL)
#define GRU__HELIUM 1
#include <arm_mve.h>

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
#else
#define GRU__HELIUM 0
#endif

/* ---------------------------------------------------------------- GRU layer step */

/* Scratch layout of one lane of a model step (floats), for the largest hidden
 * size H and output size O (GRU_SCRATCH_SIZE):
 *   gi  [R(3H)]  b_ih + W_ih x           gates r, z, n
 *   gh  [R(2H)]  b_hh + W_hh h           gates r, z  (z kept here, reset_before)
 *   ghn [R(H)]   b_hn + W_hn (h or r*h)  gate n
 *   rh  [R(H)]   r * h                   (reset_before)
 *   out [R(O)]   head output
 * R(n) = n rounded up to GRU_PACK_ROWS. Lanes of a batched step follow each
 * other, `stride` floats apart. */
typedef struct gru__scratch {
    float *gi, *gh, *ghn, *rh, *out;
    size_t stride;
} gru__scratch;

static inline gru__scratch gru__scratch_split(float *scratch, int max_hidden, int output_size)
{
    gru__scratch s;
    s.gi = scratch;
    s.gh = s.gi + gru__round_up(3 * max_hidden, GRU_PACK_ROWS);
    s.ghn = s.gh + gru__round_up(2 * max_hidden, GRU_PACK_ROWS);
    s.rh = s.ghn + gru__round_up(max_hidden, GRU_PACK_ROWS);
    s.out = s.rh + gru__round_up(max_hidden, GRU_PACK_ROWS);
    s.stride = GRU_SCRATCH_SIZE(max_hidden, output_size);
    return s;
}

/* The gate math of one layer step for one sequence, out of line and compiled
 * once per instruction set like the matrix products (gru_forward.c).
 *   gru__gates_sigmoid:  reset_after, first half: gh[j] = sigmoid(gi[j] + gh[j])
 *                        for the r and z rows (n = 2H)
 *   gru__gates_n_after:  reset_after, second half: h from r, z (in gh), gi, ghn
 *   gru__gates_rz:       reset_before, first half: z kept in gh[H..2H),
 *                        rh = r * h
 *   gru__gates_n:        reset_before, second half: h from gi, z, ghn */
GRU__DISPATCH void gru__gates_sigmoid(int n, const float *restrict gi, float *restrict gh);
GRU__DISPATCH void gru__gates_n_after(int hidden_size, const float *restrict gi, const float *restrict gh,
                      const float *restrict ghn, float *restrict h);
GRU__DISPATCH void gru__gates_rz(int hidden_size, const float *restrict gi, float *restrict gh,
                   const float *restrict h, float *restrict rh);
GRU__DISPATCH void gru__gates_n(int hidden_size, const float *restrict gi, const float *restrict gh,
                  const float *restrict ghn, float *restrict h);

/* h <- GRU(x, h) for one layer and `lanes` independent sequences: lane l reads
 * x + l * x_stride and updates h + l * h_stride. x and h must not overlap. */
static inline void gru__layer_step(const gru_layer *layer, const float *x, size_t x_stride,
                                   float *h, size_t h_stride, gru__scratch s, int lanes)
{
    const int H = layer->hidden_size;
    const size_t ss = s.stride;

    gru__gemm_call(layer->w_ih, 3 * H, layer->input_size, x, x_stride, layer->b_ih, s.gi, ss, lanes);
    gru__gemm_call(layer->w_hh_rz, 2 * H, H, h, h_stride, layer->b_hh, s.gh, ss, lanes);
#if GRU__HELIUM
    /* The portable loops below, split so that the exps run in vectors: r and z
     * into gi, the pre-activation of n into ghn, then tanh in place. */
    if (layer->reset_after)
        gru__gemm_call(layer->w_hh_n, H, H, h, h_stride, layer->b_hh + 2 * H, s.ghn, ss, lanes);
    for (int l = 0; l < lanes; l++) {
        float *gi = s.gi + (size_t)l * ss, *ghn = s.ghn + (size_t)l * ss;
        gru__sigmoid_sum(gi, gi, s.gh + (size_t)l * ss, 2 * H);
        if (layer->reset_after) {
            for (int j = 0; j < H; j++)
                ghn[j] = gi[2 * H + j] + gi[j] * ghn[j];
        } else {
            float *restrict rh = s.rh + (size_t)l * ss;
            const float *restrict hl = h + (size_t)l * h_stride;
            for (int j = 0; j < H; j++)
                rh[j] = gi[j] * hl[j];
        }
    }
    if (!layer->reset_after)
        gru__gemm_call(layer->w_hh_n, H, H, s.rh, ss, layer->b_hh + 2 * H, s.ghn, ss, lanes);
    for (int l = 0; l < lanes; l++) {
        const float *restrict gi = s.gi + (size_t)l * ss;
        float *restrict ghn = s.ghn + (size_t)l * ss, *restrict hl = h + (size_t)l * h_stride;
        if (!layer->reset_after)
            for (int j = 0; j < H; j++)
                ghn[j] = gi[2 * H + j] + ghn[j];
        gru__tanh_inplace(ghn, s.rh + (size_t)l * ss, H);
        for (int j = 0; j < H; j++) {
            const float z = gi[H + j];
            hl[j] = (1.0f - z) * ghn[j] + z * hl[j];
        }
    }
    return;
#endif
    if (layer->reset_after) {
        /* The sigmoids of r and z come before the product for n, which does
         * not need them: the core overlaps their long dependency chains with
         * the product's multiply-adds (same operations, same results). */
        for (int l = 0; l < lanes; l++)
            gru__gates_sigmoid(2 * H, s.gi + (size_t)l * ss, s.gh + (size_t)l * ss);
        gru__gemm_call(layer->w_hh_n, H, H, h, h_stride, layer->b_hh + 2 * H, s.ghn, ss, lanes);
        for (int l = 0; l < lanes; l++)
            gru__gates_n_after(H, s.gi + (size_t)l * ss, s.gh + (size_t)l * ss,
                             s.ghn + (size_t)l * ss, h + (size_t)l * h_stride);
    } else {
        for (int l = 0; l < lanes; l++)
            gru__gates_rz(H, s.gi + (size_t)l * ss, s.gh + (size_t)l * ss,
                          h + (size_t)l * h_stride, s.rh + (size_t)l * ss);
        gru__gemm_call(layer->w_hh_n, H, H, s.rh, ss, layer->b_hh + 2 * H, s.ghn, ss, lanes);
        for (int l = 0; l < lanes; l++)
            gru__gates_n(H, s.gi + (size_t)l * ss, s.gh + (size_t)l * ss, s.ghn + (size_t)l * ss,
                         h + (size_t)l * h_stride);
    }
}

/* In-place output activation of the dense head over n values. The softmax sum
 * runs in index order so every target adds in the same order. */
static inline void gru__activate(int activation, float *v, int n)
{
    if (activation == GRU_ACT_SIGMOID) {
        for (int j = 0; j < n; j++) /* vectorize */
            v[j] = gru__sigmoid(v[j]);
    } else if (activation == GRU_ACT_TANH) {
        for (int j = 0; j < n; j++) /* vectorize */
            v[j] = gru__tanh(v[j]);
    } else if (activation == GRU_ACT_SOFTMAX) {
        float m = v[0];
        for (int j = 1; j < n; j++)
            m = gru__max(m, v[j]);
        float sum = 0.0f;
        for (int j = 0; j < n; j++) { /* vectorize */
            v[j] = gru__exp_shifted(v[j] - m);
            sum += v[j];
        }
        for (int j = 0; j < n; j++) /* vectorize */
            v[j] = v[j] / sum;
    }
}

#endif /* GRU_INTERNAL_H */
