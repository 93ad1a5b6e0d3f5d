/*
 * gru_math.h - the scalar arithmetic of the runtime (gru__ prefix, private):
 * float activations built from +, *, / and min/max (no libm, so every C
 * library and vector width computes the same bits), and the fixed-point
 * arithmetic and table activations of the integer-only path.
 */
#ifndef GRU_MATH_H
#define GRU_MATH_H

#include "gru_base.h"
#include "gru_quant.h"

/* ---------------------------------------------------------------- float */

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

/* max(x, 0) with +0.0 for -0.0 and NaN (a NaN or -0.0 compares false), so
 * every target gives the same bits whichever form of gru__max it compiles. */
static inline float gru__relu(float x) { return gru__max(x, 0.0f); }

/* Keras 2's and ONNX's hard sigmoid, and Keras 3's, as those frameworks
 * write them (NaN gives 0). */
static inline float gru__hard_sigmoid(float x) { return gru__min(gru__max(0.2f * x + 0.5f, 0.0f), 1.0f); }
static inline float gru__hard_sigmoid_keras3(float x)
{
    return gru__min(gru__max(x + 3.0f, 0.0f), 6.0f) / 6.0f;
}

/* A GRU layer's gate (r, z) and candidate (n) activations; with a constant
 * `act` a loop compiles to one of them. */
GRU__INLINE float gru__gate(int act, float x)
{
    return act == GRU_ACT_HARD_SIGMOID          ? gru__hard_sigmoid(x)
           : act == GRU_ACT_HARD_SIGMOID_KERAS3 ? gru__hard_sigmoid_keras3(x)
                                                : gru__sigmoid(x);
}
GRU__INLINE float gru__candidate(int act, float x) { return act == GRU_ACT_RELU ? gru__relu(x) : gru__tanh(x); }

/* In-place activation of a dense layer over n values. The softmax sum runs
 * in index order so every target adds in the same order. */
static inline void gru__activate(int activation, float *v, int n)
{
    if (activation == GRU_ACT_RELU) {
        for (int j = 0; j < n; j++) /* vectorize */
            v[j] = gru__relu(v[j]);
    } else if (activation == GRU_ACT_SIGMOID) {
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

/* ---------------------------------------------------------------- integer */

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

/* gru__qi_requant in 64-bit arithmetic throughout: the shorter code where
 * 64-bit shifts are instructions (Armv8.1-M LSLL / ASRL: Helium cores). */
static inline int32_t gru__qi_requant64(int32_t acc, int32_t mult, int shift, int32_t bias)
{
    shift = shift < 1 ? 1 : shift > 62 ? 62 : shift;
    return gru__qi_clamp(gru__qi_rshift64((int64_t)acc * mult, shift) + bias, GRU_QI_PRE_MAX);
}

/* The high word of a * m. Armv6-M has no 32 x 32 -> 64 multiply (a library
 * call): there, from four 16 x 16 products, exactly. */
static inline uint32_t gru__qi_mulhi(uint32_t a, uint32_t m)
{
#if defined(__ARM_ARCH_6M__)
    const uint32_t ah = a >> 16, al = a & 0xffffu, mh = m >> 16, ml = m & 0xffffu;
    const uint32_t mid1 = ah * ml + ((al * ml) >> 16), mid2 = al * mh, mid = mid1 + mid2;
    return ah * mh + (mid >> 16) + ((uint32_t)(mid < mid2) << 16);
#else
    return (uint32_t)(((uint64_t)a * m) >> 32);
#endif
}

/* Gate pre-activation of one row: clamp(rnd(acc * mult, shift) + bias), the
 * rounding on the magnitude |acc| |mult| < 2^62 (an unsigned 32 x 32 -> 64
 * product). For shift > 32, the usual case, the rounding bit and every bit
 * kept lie in the high word (< 2^30), so 32-bit operations give the same
 * value as the 64-bit ones: rnd(m, s) = (hi(m) + 2^(s-33)) >> (s - 32). */
static inline int32_t gru__qi_requant(int32_t acc, int32_t mult, int shift, int32_t bias)
{
    shift = shift < 1 ? 1 : shift > 62 ? 62 : shift;
    const uint32_t a = acc < 0 ? 0u - (uint32_t)acc : (uint32_t)acc;
    const uint32_t m = mult < 0 ? 0u - (uint32_t)mult : (uint32_t)mult;
    int64_t q;
    if (shift > 32)
        q = (int64_t)((gru__qi_mulhi(a, m) + (1u << (shift - 33))) >> (shift - 32));
    else
        q = (int64_t)(((uint64_t)a * m + ((uint64_t)1 << (shift - 1))) >> shift);
    return gru__qi_clamp(((acc < 0) != (mult < 0) ? -q : q) + bias, GRU_QI_PRE_MAX);
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

#endif /* GRU_MATH_H */
