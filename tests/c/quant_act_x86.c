/* quant_act_x86.c - the x86 integer activation kernels (gru_kernel_x86.h)
 * against the portable gru__qi_tanh / gru__qi_sigmoid, for every input in
 * [-2^26, 2^26] (pre-activations are clamped to +-2^24; the gate loops add
 * two of them, or one and rnd(r * gh_n, 15)). Built and run by
 * tests/test_quant.py; the kernels are gru_kernel_x86.h's inline functions.
 * Prints "<kernel> <inputs checked> <mismatches>" per kernel that this CPU
 * runs; exit status 1 on any mismatch. */
#include <stdio.h>

#include "gru_kernel_x86.h"

#define LO (-(1 << 26))
#define HI (1 << 26)

static long report(const char *name, long checked, long bad)
{
    printf("%s %ld %ld\n", name, checked, bad);
    return bad;
}

static long compare(const int32_t *got, int32_t x0, int n, int sigmoid)
{
    long bad = 0;
    for (int i = 0; i < n; i++) {
        const int32_t x = x0 + i, want = sigmoid ? gru__qi_sigmoid(x) : gru__qi_tanh(x);
        if (got[i] != want) {
            if (bad < 3)
                printf("  x = %ld: %s got %ld, want %ld\n", (long)x, sigmoid ? "sigmoid" : "tanh",
                       (long)got[i], (long)want);
            bad++;
        }
    }
    return bad;
}

GRU__AVX2 static long check_avx2(void)
{
    long bad = 0, checked = 0;
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    for (int32_t x0 = LO; x0 <= HI - 8; x0 += 8) {
        const __m256i x = _mm256_add_epi32(_mm256_set1_epi32(x0), lane);
        int32_t t[8], s[8];
        _mm256_storeu_si256((__m256i *)(void *)t, gru__qi_tanh8_avx2(x));
        _mm256_storeu_si256((__m256i *)(void *)s, gru__qi_sigmoid8_avx2(x));
        bad += compare(t, x0, 8, 0) + compare(s, x0, 8, 1);
        checked += 16;
    }
    return report("avx2", checked, bad);
}

GRU__AVX512 static long check_avx512(void)
{
    long bad = 0, checked = 0;
    const gru__qi_table512 tab = gru__qi_table512_load();
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int32_t x0 = LO; x0 <= HI - 32; x0 += 32)
        for (int sigmoid = 0; sigmoid < 2; sigmoid++) {
            __m512i x[2] = {_mm512_add_epi32(_mm512_set1_epi32(x0), lane),
                            _mm512_add_epi32(_mm512_set1_epi32(x0 + 16), lane)};
            int32_t y[32];
            gru__qi_act32_avx512(&tab, x, sigmoid);
            _mm512_storeu_si512((void *)y, x[0]);
            _mm512_storeu_si512((void *)(y + 16), x[1]);
            bad += compare(y, x0, 32, sigmoid);
            checked += 32;
        }
    return report("avx512", checked, bad);
}

int main(void)
{
    long bad = 0;
    if (__builtin_cpu_supports("avx2"))
        bad += check_avx2();
    if (__builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        bad += check_avx512();
    return bad != 0;
}
