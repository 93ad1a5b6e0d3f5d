/*
 * gru_base.h - what every gru_c source needs first (gru__ prefix, private):
 * the floating-point contract, the build switches of the kernels, and the
 * block geometry of packed matrices with the one helper that runs a kernel
 * at each block width.
 *
 * Every output is computed by the same sequence of IEEE operations on every
 * target and at every vector width, so scalar, SSE2, AVX2, AVX-512, NEON,
 * Helium and soft-float builds agree bit for bit, provided no compiler fuses
 * a*b+c into one rounding.
 */
#ifndef GRU_BASE_H
#define GRU_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gru.h"

/* No fused multiply-add, whatever the build's flags: GCC's default for
 * -std=gnu* is -ffp-contract=fast, which turns a*b+c into VFMA (Cortex-M4F,
 * M7, M55), fmadd.s (RV32IMAFC, RV64GC) or vfmadd (x86 with -mfma), and the
 * results then differ from every other target. GCC ignores the standard
 * pragma, so it gets its own per-function option wherever the target has a
 * fused multiply-add to contract into (__FP_FAST_FMAF; without one there is
 * nothing to fuse, and the optimize pragma, which can change other choices,
 * is left out). Clang and other compilers get the standard pragma (Clang
 * ignores pragmas only under an explicit -ffp-contract=fast: never pass it).
 * It must precede every function of the translation unit, hence its place in
 * the first private header; tests/test_fp_contract.py checks it works. */
#if defined(__clang__) || !defined(__GNUC__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__FP_FAST_FMAF) || defined(__FP_FAST_FMA)
#if defined(__thumb2__) && defined(__OPTIMIZE_SIZE__)
/* The optimize pragma rebuilds the options without the Arm back end's own
 * -Os default for Thumb-2 (no shrink-wrapping: fewer return sequences), so
 * it is restated here. */
#pragma GCC optimize("fp-contract=off", "no-shrink-wrap")
#else
#pragma GCC optimize("fp-contract=off")
#endif
#endif

/* Rows of outputs one call of the float matrix kernel keeps in registers. 48
 * fills the 16 vector registers of SSE2/AVX2/NEON; targets with fewer float
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

/* Always inlined where GCC or Clang can be told: the helpers below take their
 * widths and flags as arguments that must be constants at each call. */
#if defined(__GNUC__)
#define GRU__INLINE static inline __attribute__((always_inline))
#else
#define GRU__INLINE static inline
#endif

/* With 48-row kernels the block function must be inlined at each constant
 * width for the accumulators to stay in registers. Small targets keep one
 * out-of-line copy (code size). */
#if GRU_KERNEL_ROWS == 48
#define GRU__HOT GRU__INLINE
#else
#define GRU__HOT static inline
#endif

/* Run-time dispatch: on x86-64 with GCC or Clang, the build may define
 * GRU_DISPATCH_X86 so that the kernels are compiled for baseline x86-64,
 * AVX2 and AVX-512 and the loader picks one for this CPU (gru_dispatch.c).
 * GRU__DISPATCH does the same for a function called only within its own file
 * (target_clones: Clang 14 mislinks its calls from other files). The source
 * is the same; only the vector width changes, and the results do not. */
#if defined(GRU_DISPATCH_X86) && defined(__GNUC__) && defined(__x86_64__)
#define GRU__DISPATCH_X86 1
#define GRU__DISPATCH __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define GRU__DISPATCH_X86 0
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

/* ---------------------------------------------------------------- block geometry */

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

/* Runs SLICE(s, n, stride) over one packed block of `width` rows (a multiple
 * of 8, at most GRU_PACK_BLOCK): rows s..s+n of the block, whose columns are
 * `stride` values apart. GRU__AT_WIDTH takes the whole block at once with
 * n == stride == width a compile-time constant, so that the kernel's
 * accumulators stay in registers: the one switch over block widths.
 * GRU__EACH_SLICE does that on wide-vector hosts; small cores take slices of
 * GRU_KERNEL_ROWS rows (then of 8), each a constant width too. */
#define GRU__AT_WIDTH(width, SLICE)                                                               \
    switch (width) {                                                                              \
    case 48: SLICE(0, 48, 48); break;                                                             \
    case 40: SLICE(0, 40, 40); break;                                                             \
    case 32: SLICE(0, 32, 32); break;                                                             \
    case 24: SLICE(0, 24, 24); break;                                                             \
    case 16: SLICE(0, 16, 16); break;                                                             \
    default: SLICE(0, 8, 8); break;                                                               \
    }

#if GRU_KERNEL_ROWS == 48
#define GRU__EACH_SLICE(width, SLICE) GRU__AT_WIDTH(width, SLICE)
#elif GRU_KERNEL_ROWS == 8
#define GRU__EACH_SLICE(width, SLICE)                                                             \
    for (int s_ = 0; s_ < (width); s_ += 8)                                                       \
        SLICE(s_, 8, (width));
#else
#define GRU__EACH_SLICE(width, SLICE)                                                             \
    do {                                                                                          \
        int s_ = 0;                                                                               \
        for (; s_ + GRU_KERNEL_ROWS <= (width); s_ += GRU_KERNEL_ROWS)                            \
            SLICE(s_, GRU_KERNEL_ROWS, (width));                                                  \
        for (; s_ < (width); s_ += 8)                                                             \
            SLICE(s_, 8, (width));                                                                \
    } while (0);
#endif

#endif /* GRU_BASE_H */
