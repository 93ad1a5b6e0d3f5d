/* fuzz_common.h - byte reader and exact-size buffers shared by the libFuzzer
 * harnesses. Every buffer handed to gru_c is its own malloc block of exactly
 * the size the size query returned, so AddressSanitizer reports any read or
 * write past its end. */
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct fz {
    const uint8_t *p;
    size_t n;
} fz;

static inline uint8_t fz_u8(fz *f)
{
    if (!f->n)
        return 0;
    f->n--;
    return *f->p++;
}

static inline int32_t fz_i32(fz *f)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v |= (uint32_t)fz_u8(f) << (8 * i);
    return (int32_t)v;
}

/* A small size 1..max, or (rarely) an arbitrary int to exercise the checks. */
static inline int fz_dim(fz *f, int max, int raw)
{
    return raw ? (int)fz_i32(f) : 1 + fz_u8(f) % max;
}

/* A float: usually in [-2, 2), sometimes raw bits (NaN, Inf, denormals). */
static inline float fz_float(fz *f, int raw_bits)
{
    if (raw_bits) {
        uint32_t v = (uint32_t)fz_i32(f);
        float x;
        memcpy(&x, &v, sizeof x);
        return x;
    }
    return ((float)fz_u8(f) - 128.0f) / 64.0f;
}

static inline void *fz_alloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p)
        abort();
    return p;
}

static inline float *fz_floats(fz *f, size_t n, int raw_bits)
{
    float *a = (float *)fz_alloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++)
        a[i] = fz_float(f, raw_bits);
    return a;
}

static inline int all_finite(const float *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(a[i] - a[i] == 0.0f))
            return 0;
    return 1;
}

#define FZ_CHECK(cond)                                                                      \
    do {                                                                                    \
        if (!(cond)) {                                                                      \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);          \
            abort();                                                                        \
        }                                                                                   \
    } while (0)

/* The buffers of one run, freed together (drop), so that every early return
 * and every path frees them all. */
#define FZ_MAXP 64
typedef struct pool {
    void *p[FZ_MAXP];
    int n;
} pool;

static inline void *keep(pool *pl, void *p)
{
    FZ_CHECK(pl->n < FZ_MAXP);
    pl->p[pl->n++] = p;
    return p;
}

static inline void drop(pool *pl)
{
    while (pl->n)
        free(pl->p[--pl->n]);
}

/* Streamed outputs ys (B sequences of T steps, O elements of `elem` bytes
 * each) against a sequence call's y (every step when rs, else the last one):
 * bit for bit. */
static inline int fz_same_outputs(const void *ys, const void *y, int B, int T, int O, int rs, size_t elem)
{
    const size_t row = (size_t)O * elem;
    for (int b = 0; b < B; b++)
        for (int t = rs ? 0 : T - 1; t < T; t++) {
            const size_t at_ys = (size_t)b * (size_t)T + (size_t)t;
            const size_t at_y = (size_t)b * (rs ? (size_t)T : 1) + (size_t)(rs ? t : 0);
            if (memcmp((const uint8_t *)ys + at_ys * row, (const uint8_t *)y + at_y * row, row) != 0)
                return 0;
        }
    return 1;
}

#endif
