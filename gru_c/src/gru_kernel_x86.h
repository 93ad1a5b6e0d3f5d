/*
 * gru_kernel_x86.h - x86-64 kernels of the quantized paths (gru__ prefix,
 * private): the AVX2 / AVX-512 VNNI forms of the integer activations shared
 * by gru_kernel_x86.c (the products and gate loops) and the exhaustive test
 * tests/c/quant_act_x86.c, and the kernels' declarations for the map in
 * gru_dispatch.c.
 *
 * GCC does not turn the portable loops of gru_kernels.h and gru_cell.h into
 * good x86 code: int8 weights are widened through several shuffles, or one
 * vcvtsi2ss per weight. These kernels compute exactly the same values:
 *
 *   gru__q8_gemv_avx2  the same float operations in the same order for every
 *                      output (acc += x[k] * (float)q; then bias + scale * acc;
 *                      no FMA), so the results are bit-identical.
 *   gru__qi_gemv_avx2  integer sums in another order, over the packed layout
 *                      of gru_qi_pack_matrix (gru_kernel_qi.h's driver): per
 *                      8-column group, two rows' 16 bytes widened to int16
 *                      and multiplied by the group's 8 x with vpmaddwd,
 *                      eight accumulators per 16-row block, added up
 *                      horizontally at the end of the block. Integer addition
 *                      is exact while nothing overflows, and every partial sum
 *                      is bounded by the row's sum of |q| * |x| < 2^31
 *                      (GRU_QI_MAX_DIM), so the sums are equal. The
 *                      requantization runs in 64-bit lanes with the formula
 *                      of gru__qi_requant.
 *   gru__qi_gemv_avx512  the same with vpmovsxbw + vpdpwssd (AVX-512 VNNI):
 *                      four rows' group per instruction, even and odd groups
 *                      in separate accumulators, masked stores for the last
 *                      rows, and the requantization in eight 64-bit lanes
 *                      (vpsravq).
 *   gru__qi_cell_*     the integer gate loops, 8 units at a time (one gather
 *                      reads both table entries of the interpolation); on
 *                      AVX-512 CPUs 32 units at a time, the table held in 16
 *                      registers and read with vpermt2w (no gathers).
 *
 * They are compiled with __attribute__((target(...))), so any x86-64 build
 * contains them and runs anywhere; gru_dispatch.c chooses them once (by the
 * loader with GRU_DISPATCH_X86, else from the build's -m flags). Defining
 * GRU_PORTABLE_KERNEL leaves them out and GRU_NO_AVX512_KERNEL the AVX-512
 * ones; tests/test_quant.py compares these builds bit for bit.
 *
 * Measured on Zen 4 (benchmarks/bench_quant.py): an AVX-512 int8 product
 * (zmm, 16 rows per vector) was no faster than AVX2 for the float-math mode,
 * whose cost is the int8 -> float conversion, so it has none.
 */
#ifndef GRU_KERNEL_X86_H
#define GRU_KERNEL_X86_H

#include "gru_math.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(GRU_PORTABLE_KERNEL)
#define GRU__X86 1
#include <immintrin.h>

#define GRU__AVX2 __attribute__((target("avx2")))
#define GRU__AVX2_INLINE static inline __attribute__((target("avx2"), always_inline))
#define GRU__AVX512 __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni")))
#define GRU__AVX512_INLINE \
    static inline __attribute__((target("avx2,avx512f,avx512bw,avx512vl,avx512vnni"), always_inline))
/* Linked within the library only: hidden, so that the address the loader's
 * resolvers return needs no relocation of its own. */
#if defined(__ELF__)
#define GRU__X86_KERNEL __attribute__((visibility("hidden")))
#else
#define GRU__X86_KERNEL
#endif

/* The kernels (gru_kernel_x86.c), each with the contract of its portable
 * counterpart (gru__q8_gemv, gru__qi_gemv, gru__qi_cell_*_loop from 0). */
#define GRU__X86_DECLARE(isa)                                                                     \
    GRU__X86_KERNEL void gru__qi_gemv_##isa(const int8_t *w, int rows, int cols, const int16_t *x16, \
                                            const int32_t *x32, const int32_t *mult,              \
                                            const int8_t *shift, const int32_t *bias, int32_t *y); \
    GRU__X86_KERNEL void gru__qi_cell_after_##isa(int H, const int32_t *gi, int32_t *gh, int16_t *h); \
    GRU__X86_KERNEL void gru__qi_cell_before_rz_##isa(int H, const int32_t *gi, int32_t *gh,     \
                                                      const int16_t *h, int32_t *rh);           \
    GRU__X86_KERNEL void gru__qi_cell_before_##isa(int H, const int32_t *gi, int32_t *gh, int16_t *h);
GRU__X86_DECLARE(avx2)
GRU__X86_DECLARE(avx512)
#undef GRU__X86_DECLARE
GRU__X86_KERNEL void gru__q8_gemv_avx2(const int8_t *w, int rows, int cols, const float *x,
                                       const float *scale, const float *bias, float *y);

/* ---------------------------------------------------------------- AVX2 integer activations */

/* gru__qi_tanh_mag of 8 magnitudes a < 2^30 with `frac` fractional bits: one
 * gather reads t[i] and t[i + 1] as the two halves of a 32-bit word. */
GRU__AVX2_INLINE __m256i gru__qi_tanh_mag8_avx2(__m256i a, const int frac)
{
    const int seg = frac - 6;
    const __m256i i = _mm256_min_epi32(_mm256_srli_epi32(a, seg), _mm256_set1_epi32(GRU_QI_TABLE_SIZE - 2));
    const __m256i g = _mm256_i32gather_epi32((const int *)(const void *)gru_qi_tanh_table, i, 2);
    const __m256i t0 = _mm256_and_si256(g, _mm256_set1_epi32(0xffff)), t1 = _mm256_srli_epi32(g, 16);
    const __m256i f = _mm256_and_si256(a, _mm256_set1_epi32((1 << seg) - 1));
    const __m256i d = _mm256_add_epi32(_mm256_mullo_epi32(_mm256_sub_epi32(t1, t0), f),
                                       _mm256_set1_epi32(1 << (seg - 1)));
    const __m256i t = _mm256_add_epi32(t0, _mm256_srli_epi32(d, seg));
    const __m256i sat = _mm256_cmpgt_epi32(a, _mm256_set1_epi32((8 << frac) - 1));
    return _mm256_blendv_epi8(t, _mm256_set1_epi32(gru_qi_tanh_table[GRU_QI_TABLE_SIZE - 1]), sat);
}

/* gru__qi_tanh / gru__qi_sigmoid of 8 values, |x| < 2^30. */
GRU__AVX2_INLINE __m256i gru__qi_tanh8_avx2(__m256i x)
{
    return _mm256_sign_epi32(gru__qi_tanh_mag8_avx2(_mm256_abs_epi32(x), GRU_QI_PRE_FRAC), x);
}

GRU__AVX2_INLINE __m256i gru__qi_sigmoid8_avx2(__m256i x)
{
    const __m256i t = _mm256_sign_epi32(gru__qi_tanh_mag8_avx2(_mm256_abs_epi32(x), GRU_QI_PRE_FRAC + 1), x);
    return _mm256_srli_epi32(_mm256_add_epi32(t, _mm256_set1_epi32(32768)), 1);
}

/* gru__qi_rshift(v, 15) of the lanes of v (|v| < 2^31 - 2^14), and
 * gru__qi_rshift64((int64_t)r * v, 15) for r in [0, 32768] and |v| < 2^31,
 * for the vectors V of intrinsics prefix P: SIGN(q, v) negates q where v < 0,
 * BLEND(even, odd) takes the odd dwords of `odd`. Each 64-bit product
 * rounded is below 2^32: the low dwords of even, odd. */
#define GRU__QI_RSHIFT15(INLINE, V, P, sfx, SET1_64, SIGN, BLEND)                                 \
    INLINE V gru__qi_rshift15_##sfx(V v)                                                          \
    {                                                                                             \
        const V q = P##_srli_epi32(P##_add_epi32(P##_abs_epi32(v), P##_set1_epi32(1 << 14)), 15); \
        return SIGN(q, v);                                                                        \
    }                                                                                             \
    INLINE V gru__qi_mul_rshift15_##sfx(V r, V v)                                                 \
    {                                                                                             \
        const V a = P##_abs_epi32(v), half = SET1_64(1 << 14);                                    \
        const V even = P##_srli_epi64(P##_add_epi64(P##_mul_epu32(r, a), half), 15);              \
        const V odd = P##_srli_epi64(                                                             \
            P##_add_epi64(P##_mul_epu32(P##_srli_epi64(r, 32), P##_srli_epi64(a, 32)), half), 15); \
        return SIGN(BLEND(even, P##_slli_epi64(odd, 32)), v);                                     \
    }
#define GRU__BLEND_ODD8(e, o) _mm256_blend_epi32(e, o, 0xaa)
GRU__QI_RSHIFT15(GRU__AVX2_INLINE, __m256i, _mm256, avx2, _mm256_set1_epi64x, _mm256_sign_epi32,
                 GRU__BLEND_ODD8)
#undef GRU__BLEND_ODD8

/* ---------------------------------------------------------------- AVX-512 integer activations */

/* The tanh table t[0..511] in 16 registers of 32 int16; the AVX-512 gate
 * loops read it with vpermt2w instead of gathers (a gather of 8 took about
 * 7 ns on Zen 4, 3 per 8 units: most of the gate time). */
typedef struct {
    __m512i t[16];
} gru__qi_table512;

GRU__AVX512_INLINE gru__qi_table512 gru__qi_table512_load(void)
{
    gru__qi_table512 tab;
    for (int k = 0; k < 16; k++)
        tab.t[k] = _mm512_loadu_si512((const void *)(gru_qi_tanh_table + 32 * k));
    return tab;
}

/* t[i] for 32 int16 indices i in [0, 511]: vpermt2w picks within each pair
 * of registers (64 entries, bits 0-5 of i), bits 6-8 choose the pair. */
GRU__AVX512_INLINE __m512i gru__qi_lut512(const gru__qi_table512 *tab, __m512i i)
{
    __m512i p[8];
    for (int k = 0; k < 8; k++)
        p[k] = _mm512_permutex2var_epi16(tab->t[2 * k], i, tab->t[2 * k + 1]);
    const __mmask32 b6 = _mm512_test_epi16_mask(i, _mm512_set1_epi16(64));
    const __mmask32 b7 = _mm512_test_epi16_mask(i, _mm512_set1_epi16(128));
    const __mmask32 b8 = _mm512_test_epi16_mask(i, _mm512_set1_epi16(256));
    const __m512i q0 = _mm512_mask_blend_epi16(b6, p[0], p[1]), q1 = _mm512_mask_blend_epi16(b6, p[2], p[3]);
    const __m512i q2 = _mm512_mask_blend_epi16(b6, p[4], p[5]), q3 = _mm512_mask_blend_epi16(b6, p[6], p[7]);
    return _mm512_mask_blend_epi16(b8, _mm512_mask_blend_epi16(b7, q0, q1), _mm512_mask_blend_epi16(b7, q2, q3));
}

/* gru__qi_tanh_mag of the 16 + 16 magnitudes a[0], a[1] (< 2^30) with `frac`
 * fractional bits, in place: one table read of 32 indices (packed to int16,
 * vpackusdw's lane order undone by vpunpck{l,h}wd) for t[i] and one for t[i + 1]. */
GRU__AVX512_INLINE void gru__qi_tanh_mag32_avx512(const gru__qi_table512 *tab, __m512i a[2], const int frac)
{
    const int seg = frac - 6;
    const __m512i imax = _mm512_set1_epi32(GRU_QI_TABLE_SIZE - 2);
    const __m512i i = _mm512_packus_epi32(_mm512_min_epi32(_mm512_srli_epi32(a[0], (unsigned)seg), imax),
                                          _mm512_min_epi32(_mm512_srli_epi32(a[1], (unsigned)seg), imax));
    const __m512i t0 = gru__qi_lut512(tab, i);
    /* t[i + 1]: entry 512 is not in the registers; i = 511 reads it directly */
    __m512i t1 = gru__qi_lut512(tab, _mm512_add_epi16(i, _mm512_set1_epi16(1)));
    t1 = _mm512_mask_blend_epi16(_mm512_cmpeq_epi16_mask(i, _mm512_set1_epi16(GRU_QI_TABLE_SIZE - 2)), t1,
                                 _mm512_set1_epi16(gru_qi_tanh_table[GRU_QI_TABLE_SIZE - 1]));
    const __m512i zero = _mm512_setzero_si512();
    for (int h = 0; h < 2; h++) {
        const __m512i lo = h ? _mm512_unpackhi_epi16(t0, zero) : _mm512_unpacklo_epi16(t0, zero);
        const __m512i hi = h ? _mm512_unpackhi_epi16(t1, zero) : _mm512_unpacklo_epi16(t1, zero);
        const __m512i f = _mm512_and_si512(a[h], _mm512_set1_epi32((1 << seg) - 1));
        const __m512i d = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_sub_epi32(hi, lo), f),
                                           _mm512_set1_epi32(1 << (seg - 1)));
        const __m512i t = _mm512_add_epi32(lo, _mm512_srli_epi32(d, (unsigned)seg));
        const __mmask16 sat = _mm512_cmpgt_epi32_mask(a[h], _mm512_set1_epi32((8 << frac) - 1));
        a[h] = _mm512_mask_blend_epi32(sat, t, _mm512_set1_epi32(gru_qi_tanh_table[GRU_QI_TABLE_SIZE - 1]));
    }
}

/* v negated in the lanes where x < 0. */
GRU__AVX512_INLINE __m512i gru__qi_sign16(__m512i v, __m512i x)
{
    return _mm512_mask_sub_epi32(v, _mm512_cmplt_epi32_mask(x, _mm512_setzero_si512()), _mm512_setzero_si512(), v);
}

/* gru__qi_tanh (sigmoid = 0: frac GRU_QI_PRE_FRAC) or gru__qi_sigmoid
 * (sigmoid = 1) of the 32 values x[0], x[1] (|x| < 2^30), in place. */
GRU__AVX512_INLINE void gru__qi_act32_avx512(const gru__qi_table512 *tab, __m512i x[2], const int sigmoid)
{
    __m512i a[2] = {_mm512_abs_epi32(x[0]), _mm512_abs_epi32(x[1])};
    gru__qi_tanh_mag32_avx512(tab, a, GRU_QI_PRE_FRAC + sigmoid);
    for (int h = 0; h < 2; h++) {
        const __m512i t = gru__qi_sign16(a[h], x[h]);
        x[h] = sigmoid ? _mm512_srli_epi32(_mm512_add_epi32(t, _mm512_set1_epi32(32768)), 1) : t;
    }
}

#define GRU__BLEND_ODD16(e, o) _mm512_mask_blend_epi32(0xaaaa, e, o)
GRU__QI_RSHIFT15(GRU__AVX512_INLINE, __m512i, _mm512, avx512, _mm512_set1_epi64, gru__qi_sign16,
                 GRU__BLEND_ODD16)
#undef GRU__BLEND_ODD16
#undef GRU__QI_RSHIFT15

#else
#define GRU__X86 0
#endif

#endif /* GRU_KERNEL_X86_H */
