/* gru_kernel_x86.c - the x86-64 kernels of the quantized paths: AVX2 and
 * AVX-512 VNNI products and integer gate loops (what they compute and why:
 * gru_kernel_x86.h; which one runs: gru_dispatch.c). */
#include "gru_cell.h"
#include "gru_kernels.h"
#include "gru_kernel_x86.h"

#if GRU__X86

/* ---------------------------------------------------------------- int8 weights, float math */

/* acc[0..8n) = W x for one packed block of 8n rows (n = 1..6, a constant
 * after inlining), then y = bias + scale * acc for the block's real rows. */
GRU__AVX2_INLINE void gru__q8_block_avx2(const int8_t *w, int cols, const float *x, float *y,
                                         const int n)
{
    __m256 acc[GRU_PACK_BLOCK / 8];
    for (int g = 0; g < n; g++)
        acc[g] = _mm256_setzero_ps();
    for (int k = 0; k < cols; k++) {
        const __m256 xk = _mm256_set1_ps(x[k]);
        for (int g = 0; g < n; g++) {
            const __m128i q = _mm_loadl_epi64((const __m128i *)(const void *)(w + 8 * g));
            const __m256 wf = _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q));
            acc[g] = _mm256_add_ps(acc[g], _mm256_mul_ps(xk, wf));
        }
        w += 8 * n;
    }
    for (int g = 0; g < n; g++)
        _mm256_storeu_ps(y + 8 * g, acc[g]);
}

/* gru__q8_gemv: y = bias + scale * (Q x), Q packed; y holds the padded rows. */
GRU__AVX2 void gru__q8_gemv_avx2(const int8_t *restrict w, int rows, int cols,
                                        const float *restrict x, const float *restrict scale,
                                        const float *restrict bias, float *restrict y)
{
    const gru__blocks g = gru__block_split(gru__round_up(rows, GRU_PACK_ROWS));
    for (int b = 0, r0 = 0; b < g.count; b++) {
        const int width = gru__block_rows(g, b);
        switch (width / 8) {
        case 6: gru__q8_block_avx2(w, cols, x, y + r0, 6); break;
        case 5: gru__q8_block_avx2(w, cols, x, y + r0, 5); break;
        case 4: gru__q8_block_avx2(w, cols, x, y + r0, 4); break;
        case 3: gru__q8_block_avx2(w, cols, x, y + r0, 3); break;
        case 2: gru__q8_block_avx2(w, cols, x, y + r0, 2); break;
        default: gru__q8_block_avx2(w, cols, x, y + r0, 1); break;
        }
        w += (size_t)width * (size_t)cols;
        r0 += width;
    }
    int j = 0;
    for (; j + 8 <= rows; j += 8) {
        const __m256 p = _mm256_mul_ps(_mm256_loadu_ps(scale + j), _mm256_loadu_ps(y + j));
        _mm256_storeu_ps(y + j, _mm256_add_ps(_mm256_loadu_ps(bias + j), p));
    }
    for (; j < rows; j++)
        y[j] = bias[j] + scale[j] * y[j];
}


/* ---------------------------------------------------------------- integer product, AVX2 */

/* The sums of one packed 16-row block (gru__qi_block_fn): per group, the 16
 * bytes of two rows widened to int16 (vpmovsxbw) and multiplied by the
 * group's 8 x in both 128-bit lanes (vpmaddwd): a[i] holds rows 2i and
 * 2i + 1, four partial sums each, added up at the end by three vphaddd and a
 * vpermd per 8 rows. The loop is written in assembly: GCC's allocation of
 * the 8 accumulators adds a register copy per product (a third more
 * instructions). */
#define GRU__QI_ROWS2(off, acc)                                                                   \
    "vpmovsxbw " #off "(%[p]), %[t]\n\t"                                                          \
    "vpmaddwd %[xg], %[t], %[t]\n\t"                                                             \
    "vpaddd %[t], %[" #acc "], %[" #acc "]\n\t"
GRU__AVX2 static void gru__qi_block_avx2(const int8_t *restrict w, int groups, const void *restrict xv,
                                         int32_t *restrict y, int n)
{
    const int16_t *x = (const int16_t *)xv, *end = x + 8 * groups;
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
    __m256i t, xg;
    __asm__("1:\n\t"
            "vbroadcasti128 (%[x]), %[xg]\n\t"
            GRU__QI_ROWS2(0, a0) GRU__QI_ROWS2(16, a1) GRU__QI_ROWS2(32, a2) GRU__QI_ROWS2(48, a3)
            GRU__QI_ROWS2(64, a4) GRU__QI_ROWS2(80, a5) GRU__QI_ROWS2(96, a6) GRU__QI_ROWS2(112, a7)
            "add $16, %[x]\n\t"
            "sub $-128, %[p]\n\t"
            "cmp %[end], %[x]\n\t"
            "jb 1b\n\t"
            : [p] "+r"(w), [x] "+r"(x), [a0] "+x"(a0), [a1] "+x"(a1), [a2] "+x"(a2), [a3] "+x"(a3),
              [a4] "+x"(a4), [a5] "+x"(a5), [a6] "+x"(a6), [a7] "+x"(a7), [t] "=&x"(t), [xg] "=&x"(xg)
            : [end] "r"(end)
            : "cc", "memory");
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    const __m256i lo = _mm256_hadd_epi32(_mm256_hadd_epi32(a0, a1), _mm256_hadd_epi32(a2, a3));
    const __m256i hi = _mm256_hadd_epi32(_mm256_hadd_epi32(a4, a5), _mm256_hadd_epi32(a6, a7));
    int32_t r[GRU_QI_BLOCK_ROWS];
    int32_t *out = n >= GRU_QI_BLOCK_ROWS ? y : r; /* a short last block: through r */
    _mm256_storeu_si256((__m256i *)(void *)out, _mm256_permutevar8x32_epi32(lo, order));
    _mm256_storeu_si256((__m256i *)(void *)(out + 8), _mm256_permutevar8x32_epi32(hi, order));
    for (int k = 0; out == r && k < n; k++)
        y[k] = r[k];
}
#undef GRU__QI_ROWS2

/* clamp(rnd(acc * mult, shift) + bias, +-GRU_QI_PRE_MAX) for 4 rows in 64-bit
 * lanes: acc_mag, mult_mag and shift (1..62) zero-extended, neg an all-ones
 * lane where the product is negative, bias sign-extended. */
GRU__AVX2_INLINE __m128i gru__qi_requant4_avx2(__m128i acc_mag, __m128i mult_mag, __m128i shift,
                                               __m128i neg, __m128i bias)
{
    const __m256i one = _mm256_set1_epi64x(1), bound = _mm256_set1_epi64x(GRU_QI_PRE_MAX);
    const __m256i s = _mm256_cvtepu32_epi64(shift), sg = _mm256_cvtepi32_epi64(neg);
    const __m256i p = _mm256_mul_epu32(_mm256_cvtepu32_epi64(acc_mag), _mm256_cvtepu32_epi64(mult_mag));
    const __m256i half = _mm256_sllv_epi64(one, _mm256_sub_epi64(s, one));
    const __m256i q = _mm256_srlv_epi64(_mm256_add_epi64(p, half), s);
    __m256i v = _mm256_sub_epi64(_mm256_xor_si256(q, sg), sg);
    v = _mm256_add_epi64(v, _mm256_cvtepi32_epi64(bias));
    v = _mm256_blendv_epi8(v, bound, _mm256_cmpgt_epi64(v, bound));
    const __m256i nbound = _mm256_sub_epi64(_mm256_setzero_si256(), bound);
    v = _mm256_blendv_epi8(v, nbound, _mm256_cmpgt_epi64(nbound, v));
    /* the low halves of the four 64-bit lanes */
    const __m256i lo = _mm256_permutevar8x32_epi32(v, _mm256_setr_epi32(0, 2, 4, 6, 0, 0, 0, 0));
    return _mm256_castsi256_si128(lo);
}

/* y[0..n) = gru__qi_requant of the first n (1..8) lanes of acc. */
GRU__AVX2_INLINE void gru__qi_requant8_avx2(__m256i acc, int n, const int32_t *mult, const int8_t *shift,
                                            const int32_t *bias, int32_t *y)
{
    if (n < 8) { /* the last rows of the matrix: mult, shift, bias end here */
        int32_t t[8];
        _mm256_storeu_si256((__m256i *)(void *)t, acc);
        for (int r = 0; r < n; r++)
            y[r] = gru__qi_requant(t[r], mult[r], shift[r], bias[r]);
        return;
    }
    const __m256i lo = _mm256_set1_epi32(1), hi = _mm256_set1_epi32(62);
    const __m256i m = _mm256_loadu_si256((const __m256i *)(const void *)mult);
    const __m128i sh8 = _mm_loadl_epi64((const __m128i *)(const void *)shift);
    const __m256i s = _mm256_min_epi32(_mm256_max_epi32(_mm256_cvtepi8_epi32(sh8), lo), hi);
    const __m256i am = _mm256_abs_epi32(acc), mm = _mm256_abs_epi32(m);
    const __m256i neg = _mm256_srai_epi32(_mm256_xor_si256(acc, m), 31);
    const __m256i b = _mm256_loadu_si256((const __m256i *)(const void *)bias);
#define GRU__HALF(v, i) _mm256_extracti128_si256(v, i)
    const __m128i r0 = gru__qi_requant4_avx2(GRU__HALF(am, 0), GRU__HALF(mm, 0), GRU__HALF(s, 0),
                                             GRU__HALF(neg, 0), GRU__HALF(b, 0));
    const __m128i r1 = gru__qi_requant4_avx2(GRU__HALF(am, 1), GRU__HALF(mm, 1), GRU__HALF(s, 1),
                                             GRU__HALF(neg, 1), GRU__HALF(b, 1));
#undef GRU__HALF
    _mm_storeu_si128((__m128i *)(void *)y, r0);
    _mm_storeu_si128((__m128i *)(void *)(y + 4), r1);
}

/* gru__qi_requant_rows over y in place, 8 rows at a time. */
GRU__AVX2 static void gru__qi_requant_rows_avx2(int rows, const int32_t *restrict mult, const int8_t *restrict shift,
                                                const int32_t *restrict bias, int32_t *restrict y)
{
    int j = 0;
    for (; j + 8 <= rows; j += 8)
        gru__qi_requant8_avx2(_mm256_loadu_si256((const __m256i *)(const void *)(y + j)), 8, mult + j, shift + j,
                              bias + j, y + j);
    for (; j < rows; j++)
        y[j] = gru__qi_requant(y[j], mult[j], shift[j], bias[j]);
}

GRU__QI_GEMV(GRU__AVX2, gru__qi_gemv_avx2, gru__qi_block_avx2, gru__qi_requant_rows_avx2)

/* ---------------------------------------------------------------- integer gate loops, AVX2 */

GRU__AVX2_INLINE __m256i gru__ld8(const int32_t *p) { return _mm256_loadu_si256((const __m256i *)(const void *)p); }
GRU__AVX2_INLINE void gru__st8(int32_t *p, __m256i v) { _mm256_storeu_si256((__m256i *)(void *)p, v); }

/* h' = n + rnd(z (h - n), 15) for 8 units, h int16. */
GRU__AVX2_INLINE void gru__qi_update8_avx2(int16_t *h, __m256i z, __m256i n)
{
    const __m256i hv = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(const void *)h));
    const __m256i v = _mm256_add_epi32(n, gru__qi_rshift15_avx2(_mm256_mullo_epi32(z, _mm256_sub_epi32(hv, n))));
    const __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(v, v), 0x08);
    _mm_storeu_si128((__m128i *)(void *)h, _mm256_castsi256_si128(p));
}

/* The gate loops of gru__qi_layer_step (gru__qi_cell_*_loop) for units [0, H rounded down to 8);
 * they return that count and the caller finishes the rest. The inputs are
 * requantized pre-activations (|v| <= GRU_QI_PRE_MAX), so every bound above holds. */
GRU__AVX2 static int gru__qi_after8_avx2(int H, const int32_t *restrict gi,
                                                     const int32_t *restrict gh, int16_t *restrict h)
{
    int j = 0;
    for (; j + 8 <= H; j += 8) {
        const __m256i r = gru__qi_sigmoid8_avx2(_mm256_add_epi32(gru__ld8(gi + j), gru__ld8(gh + j)));
        const __m256i z = gru__qi_sigmoid8_avx2(_mm256_add_epi32(gru__ld8(gi + H + j), gru__ld8(gh + H + j)));
        const __m256i rn = gru__qi_mul_rshift15_avx2(r, gru__ld8(gh + 2 * H + j));
        const __m256i n = gru__qi_tanh8_avx2(_mm256_add_epi32(gru__ld8(gi + 2 * H + j), rn));
        gru__qi_update8_avx2(h + j, z, n);
    }
    return j;
}

GRU__AVX2 static int gru__qi_before_rz8_avx2(int H, const int32_t *restrict gi, int32_t *restrict gh,
                                            const int16_t *restrict h, int32_t *restrict rh)
{
    int j = 0;
    for (; j + 8 <= H; j += 8) {
        const __m256i r = gru__qi_sigmoid8_avx2(_mm256_add_epi32(gru__ld8(gi + j), gru__ld8(gh + j)));
        gru__st8(gh + H + j, gru__qi_sigmoid8_avx2(_mm256_add_epi32(gru__ld8(gi + H + j), gru__ld8(gh + H + j))));
        const __m256i hv = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)(const void *)(h + j)));
        gru__st8(rh + j, gru__qi_rshift15_avx2(_mm256_mullo_epi32(r, hv)));
    }
    return j;
}

GRU__AVX2 static int gru__qi_before8_avx2(int H, const int32_t *restrict gi, const int32_t *restrict gh,
                                           int16_t *restrict h)
{
    int j = 0;
    for (; j + 8 <= H; j += 8) {
        const __m256i n = gru__qi_tanh8_avx2(_mm256_add_epi32(gru__ld8(gi + 2 * H + j), gru__ld8(gh + 2 * H + j)));
        gru__qi_update8_avx2(h + j, gru__ld8(gh + H + j), n);
    }
    return j;
}

/* The whole layer: the units past the last multiple of 8 in the portable loops. */
GRU__AVX2 void gru__qi_cell_after_avx2(int H, const int32_t *gi, int32_t *gh, int16_t *h)
{
    gru__qi_cell_after_loop(gru__qi_after8_avx2(H, gi, gh, h), H, gi, gh, h);
}

GRU__AVX2 void gru__qi_cell_before_rz_avx2(int H, const int32_t *gi, int32_t *gh, const int16_t *h,
                                           int32_t *rh)
{
    gru__qi_cell_before_rz_loop(gru__qi_before_rz8_avx2(H, gi, gh, h, rh), H, gi, gh, h, rh);
}

GRU__AVX2 void gru__qi_cell_before_avx2(int H, const int32_t *gi, int32_t *gh, int16_t *h)
{
    gru__qi_cell_before_loop(gru__qi_before8_avx2(H, gi, gh, h), H, gi, gh, h);
}

/* ---------------------------------------------------------------- integer product, AVX-512 VNNI */


/* gru__qi_block_avx2 with 512-bit vectors: one vpmovsxbw widens 4 rows' 8
 * columns, one vpdpwssd adds their pair products against the group's x in
 * all four 128-bit lanes; two groups per iteration in separate accumulators
 * (8 chains hide vpdpwssd's latency), in assembly for the reason of
 * gru__qi_block_avx2. a[i] holds rows 4i .. 4i + 3, four partial sums each,
 * added up by three rounds of vpermt2d pairs. */
#define GRU__QI_ROWS4(off, acc, xr)                                                               \
    "vpmovsxbw " #off "(%[p]), %[t]\n\t"                                                          \
    "vpdpwssd %[" #xr "], %[t], %[" #acc "]\n\t"
GRU__AVX512 static void gru__qi_block_vnni(const int8_t *restrict w, int groups, const void *restrict xv,
                                           int32_t *restrict y, int n)
{
    const int16_t *x = (const int16_t *)xv;
    __m512i a0 = _mm512_setzero_si512(), a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
    if (groups >= 2) {
        const int16_t *end = x + 2 * GRU_QI_GROUP_COLS * (groups / 2);
        __m512i t, xg, xh;
        __asm__("1:\n\t"
                "vbroadcasti32x4 (%[x]), %[xg]\n\t"
                "vbroadcasti32x4 16(%[x]), %[xh]\n\t"
                GRU__QI_ROWS4(0, a0, xg) GRU__QI_ROWS4(32, a1, xg) GRU__QI_ROWS4(64, a2, xg)
                GRU__QI_ROWS4(96, a3, xg) GRU__QI_ROWS4(128, b0, xh) GRU__QI_ROWS4(160, b1, xh)
                GRU__QI_ROWS4(192, b2, xh) GRU__QI_ROWS4(224, b3, xh)
                "add $32, %[x]\n\t"
                "add $256, %[p]\n\t"
                "cmp %[end], %[x]\n\t"
                "jb 1b\n\t"
                : [p] "+r"(w), [x] "+r"(x), [a0] "+x"(a0), [a1] "+x"(a1), [a2] "+x"(a2), [a3] "+x"(a3),
                  [b0] "+x"(b0), [b1] "+x"(b1), [b2] "+x"(b2), [b3] "+x"(b3), [t] "=&x"(t),
                  [xg] "=&x"(xg), [xh] "=&x"(xh)
                : [end] "r"(end)
                : "cc", "memory");
    }
    if (groups % 2) {
        const __m512i xg = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(const void *)x));
#define GRU__QI_DP(i) _mm512_dpwssd_epi32(b##i, _mm512_cvtepi8_epi16(_mm256_loadu_si256((const __m256i *)(const void *)(w + 32 * (i)))), xg)
        b0 = GRU__QI_DP(0), b1 = GRU__QI_DP(1), b2 = GRU__QI_DP(2), b3 = GRU__QI_DP(3);
#undef GRU__QI_DP
    }
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
#define GRU__PAIRS(u, v) _mm512_add_epi32(_mm512_permutex2var_epi32(u, even, v), _mm512_permutex2var_epi32(u, odd, v))
    const __m512i s = GRU__PAIRS(GRU__PAIRS(_mm512_add_epi32(a0, b0), _mm512_add_epi32(a1, b1)),
                                 GRU__PAIRS(_mm512_add_epi32(a2, b2), _mm512_add_epi32(a3, b3)));
#undef GRU__PAIRS
    _mm512_mask_storeu_epi32(y, (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u), s);
}
#undef GRU__QI_ROWS4

/* gru__qi_requant in the 64-bit lanes of p = acc * mult (the even or the odd
 * rows of 16), s the shift (1..62) and bias sign-extended in the same lanes;
 * the signed form of the rounding: for p < 0, -((|p| + h) >> s) == (p + h - 1) >> s
 * (arithmetic). */
GRU__AVX512_INLINE __m512i gru__qi_requant_q_avx512(__m512i p, __m512i s, __m512i bias)
{
    const __m512i one = _mm512_set1_epi64(1);
    const __m512i half = _mm512_sllv_epi64(one, _mm512_sub_epi64(s, one));
    const __m512i t = _mm512_add_epi64(_mm512_add_epi64(p, half), _mm512_srai_epi64(p, 63));
    const __m512i v = _mm512_add_epi64(_mm512_srav_epi64(t, s), bias);
    return _mm512_min_epi64(_mm512_max_epi64(v, _mm512_set1_epi64(-GRU_QI_PRE_MAX)), _mm512_set1_epi64(GRU_QI_PRE_MAX));
}

/* y[0..n) = gru__qi_requant of the first n (1..16) lanes of acc; masked loads
 * and store: nothing past the n rows is read or written. The even rows are
 * computed in the low halves of the eight 64-bit lanes, the odd rows in the
 * high halves (vpmuldq reads the low dwords), so nothing crosses a 128-bit
 * lane (measured at (40,128): 1.57 -> 1.51 us per step against widening each
 * half of 8 rows to 64 bits). */
GRU__AVX512_INLINE void gru__qi_requant16_avx512(__m512i acc, int n, const int32_t *mult, const int8_t *shift,
                                                 const int32_t *bias, int32_t *y)
{
    const __mmask16 k = (__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u);
    const __m512i m = _mm512_maskz_loadu_epi32(k, mult), b = _mm512_maskz_loadu_epi32(k, bias);
    const __m512i s = _mm512_min_epi32(_mm512_max_epi32(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(k, shift)),
                                                        _mm512_set1_epi32(1)), _mm512_set1_epi32(62));
    const __m512i even = gru__qi_requant_q_avx512(_mm512_mul_epi32(acc, m),
                                                  _mm512_and_si512(s, _mm512_set1_epi64(0xffffffff)),
                                                  _mm512_srai_epi64(_mm512_slli_epi64(b, 32), 32));
    const __m512i odd = gru__qi_requant_q_avx512(_mm512_mul_epi32(_mm512_srli_epi64(acc, 32), _mm512_srli_epi64(m, 32)),
                                                 _mm512_srli_epi64(s, 32), _mm512_srai_epi64(b, 32));
    _mm512_mask_storeu_epi32(y, k, _mm512_mask_blend_epi32(0xaaaa, even, _mm512_slli_epi64(odd, 32)));
}

/* gru__qi_requant_rows over y in place, 16 rows at a time. */
GRU__AVX512 static void gru__qi_requant_rows_avx512(int rows, const int32_t *restrict mult, const int8_t *restrict shift,
                                                    const int32_t *restrict bias, int32_t *restrict y)
{
    for (int j = 0; j < rows; j += 16) {
        const int n = rows - j;
        const __m512i acc = _mm512_maskz_loadu_epi32((__mmask16)(n >= 16 ? 0xffffu : (1u << n) - 1u), y + j);
        gru__qi_requant16_avx512(acc, n, mult + j, shift + j, bias + j, y + j);
    }
}

GRU__QI_GEMV(GRU__AVX512, gru__qi_gemv_avx512, gru__qi_block_vnni, gru__qi_requant_rows_avx512)

/* ---------------------------------------------------------------- integer gate loops, AVX-512 */

/* The lanes of units [j, min(j + 16, n)) (none when j >= n). */
static inline __mmask16 gru__qi_units16(int j, int n)
{
    return (__mmask16)(n - j >= 16 ? 0xffffu : n <= j ? 0u : (1u << (n - j)) - 1u);
}

/* The 16 (or, under mask k, fewer) int32 at p; 0 in the other lanes. */
GRU__AVX512_INLINE __m512i gru__ld16(__mmask16 k, const int32_t *p) { return _mm512_maskz_loadu_epi32(k, p); }

/* h' = n + rnd(z (h - n), 15) for the units of mask k, h int16. */
GRU__AVX512_INLINE void gru__qi_update16_avx512(__mmask16 k, int16_t *h, __m512i z, __m512i n)
{
    const __m512i hv = _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(k, h));
    const __m512i v = _mm512_add_epi32(n, gru__qi_rshift15_avx512(_mm512_mullo_epi32(z, _mm512_sub_epi32(hv, n))));
    _mm512_mask_cvtsepi32_storeu_epi16(h, k, v);
}

/* g[j] = gru__qi_sigmoid(gi[j] + g[j]) for j < n, 32 at a time. */
GRU__AVX512_INLINE void gru__qi_sigmoid_add_avx512(const gru__qi_table512 *tab, int n, const int32_t *gi, int32_t *g)
{
    for (int j = 0; j < n; j += 32) {
        const __mmask16 k[2] = {gru__qi_units16(j, n), gru__qi_units16(j + 16, n)};
        __m512i x[2];
        for (int h = 0; h < 2; h++)
            x[h] = _mm512_add_epi32(gru__ld16(k[h], gi + j + 16 * h), gru__ld16(k[h], g + j + 16 * h));
        gru__qi_act32_avx512(tab, x, 1);
        for (int h = 0; h < 2; h++)
            _mm512_mask_storeu_epi32(g + j + 16 * h, k[h], x[h]);
    }
}

/* The gate loops of gru__qi_layer_step (gru__qi_cell_*_loop) for all H units: first r and z over
 * the 2H contiguous pre-activations (in place in gh, which the layer step
 * reads no more), then n and h, 32 units at a time (masked loads and
 * stores for the last ones). */
GRU__AVX512 void gru__qi_cell_after_avx512(int H, const int32_t *restrict gi,
                                                         int32_t *restrict gh, int16_t *restrict h)
{
    const gru__qi_table512 tab = gru__qi_table512_load();
    gru__qi_sigmoid_add_avx512(&tab, 2 * H, gi, gh);
    for (int j = 0; j < H; j += 32) {
        const __mmask16 k[2] = {gru__qi_units16(j, H), gru__qi_units16(j + 16, H)};
        __m512i n[2];
        for (int s = 0; s < 2; s++) {
            const int u = j + 16 * s;
            const __m512i rn = gru__qi_mul_rshift15_avx512(gru__ld16(k[s], gh + u), gru__ld16(k[s], gh + 2 * H + u));
            n[s] = _mm512_add_epi32(gru__ld16(k[s], gi + 2 * H + u), rn);
        }
        gru__qi_act32_avx512(&tab, n, 0);
        for (int s = 0; s < 2; s++)
            gru__qi_update16_avx512(k[s], h + j + 16 * s, gru__ld16(k[s], gh + H + j + 16 * s), n[s]);
    }
}

GRU__AVX512 void gru__qi_cell_before_rz_avx512(int H, const int32_t *restrict gi, int32_t *restrict gh,
                                               const int16_t *restrict h, int32_t *restrict rh)
{
    const gru__qi_table512 tab = gru__qi_table512_load();
    gru__qi_sigmoid_add_avx512(&tab, 2 * H, gi, gh); /* r in gh[0, H), read no more; z in gh[H, 2H) */
    for (int j = 0; j < H; j += 16) {
        const __mmask16 k = gru__qi_units16(j, H);
        const __m512i hv = _mm512_cvtepi16_epi32(_mm256_maskz_loadu_epi16(k, h + j));
        _mm512_mask_storeu_epi32(rh + j, k, gru__qi_rshift15_avx512(_mm512_mullo_epi32(gru__ld16(k, gh + j), hv)));
    }
}

GRU__AVX512 void gru__qi_cell_before_avx512(int H, const int32_t *restrict gi, int32_t *restrict gh,
                                              int16_t *restrict h)
{
    const gru__qi_table512 tab = gru__qi_table512_load();
    for (int j = 0; j < H; j += 32) {
        const __mmask16 k[2] = {gru__qi_units16(j, H), gru__qi_units16(j + 16, H)};
        __m512i n[2];
        for (int s = 0; s < 2; s++)
            n[s] = _mm512_add_epi32(gru__ld16(k[s], gi + 2 * H + j + 16 * s), gru__ld16(k[s], gh + 2 * H + j + 16 * s));
        gru__qi_act32_avx512(&tab, n, 0);
        for (int s = 0; s < 2; s++)
            gru__qi_update16_avx512(k[s], h + j + 16 * s, gru__ld16(k[s], gh + H + j + 16 * s), n[s]);
    }
}


#else
typedef int gru__no_x86_kernels; /* ISO C wants a declaration in every file */
#endif
