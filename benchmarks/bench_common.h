/*
 * bench_common.h - what the C benchmark drivers share (benchmarks/bench_quant.c
 * and the peer drivers in benchmarks/peers/): default problem sizes, the
 * activation type PEER_BITS selects, one fixed pseudo-random sequence, and,
 * with BENCH_TIMING defined before the inclusion (hosted builds only; the
 * bare-metal images count instructions instead), the step count argument, a
 * monotonic clock and the median of repeated timings. Header-only; not part of
 * pygru's library.
 *
 * Sizes (each -D overrides): PEER_I inputs, PEER_H units, PEER_STEPS steps,
 * PEER_BITS 8 | 16 (act_t int8_t | int16_t, ACT_MIN..ACT_MAX its range).
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <stdint.h>

#ifndef PEER_I
#define PEER_I 40
#endif
#ifndef PEER_H
#define PEER_H 128
#endif
#ifndef PEER_STEPS
#define PEER_STEPS 4
#endif
#ifndef PEER_BITS
#define PEER_BITS 8
#endif

#if PEER_BITS == 8
typedef int8_t act_t;
#define ACT_MIN (-128)
#define ACT_MAX 127
#else
typedef int16_t act_t;
#define ACT_MIN (-32768)
#define ACT_MAX 32767
#endif

/* The drivers' weights and inputs: a linear congruential sequence from a fixed
 * seed, so that every build of a driver computes on the same values. */
static uint32_t bench_lcg = 12345u;

static inline uint32_t bench_next(void)
{
    bench_lcg = bench_lcg * 1664525u + 1013904223u;
    return bench_lcg;
}

/* The upper 16 bits: 0 .. 65535. */
static inline int32_t next_rand(void)
{
    return (int32_t)(bench_next() >> 16);
}

#ifdef BENCH_TIMING
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define BENCH_REPEATS 21

/* argv[1], the steps per timing, or 2000. */
static inline long bench_steps(int argc, char **argv)
{
    return argc > 1 ? atol(argv[1]) : 2000;
}

static inline double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static inline int bench_cmp(const void *a, const void *b)
{
    const double u = *(const double *)a, v = *(const double *)b;
    return (u > v) - (u < v);
}

/* Prints "<name> <median us per step>" for each of the n modes, whose
 * BENCH_REPEATS timings t[mode] are sorted in place. */
static inline void bench_print_medians(int n, const char *const *names, double (*t)[BENCH_REPEATS])
{
    for (int m = 0; m < n; m++) {
        qsort(t[m], BENCH_REPEATS, sizeof t[m][0], bench_cmp);
        printf("%s %.3f\n", names[m], t[m][BENCH_REPEATS / 2]);
    }
}
#endif

#endif
