/*
 * gru_kernel_qi.h - the portable integer-only product (gru__ prefix,
 * private): y = requant(W x) over the layout of gru_qi_pack_matrix (16-row
 * blocks; in each, groups of 8 columns with each row's 8 int8s contiguous).
 * It is the reference every integer kernel equals bit for bit: the Arm DSP
 * and Helium ones (gru_kernel_arm_int.h), the x86 ones (gru_kernel_x86.c).
 * All of them share the driver gru__qi_gemv_blocks and differ in the block
 * kernel. Integer sums are exact and every partial sum of a row is bounded
 * by the row's sum of |q| |x| <= 511 * 128 * 32768 < 2^31 (GRU_QI_MAX_DIM),
 * so any summation order gives the same result.
 */
#ifndef GRU_KERNEL_QI_H
#define GRU_KERNEL_QI_H

#include "gru_math.h"

/* x values a kernel reads: the columns rounded up to whole groups. */
#define GRU__QI_X_MAX GRU_ROUND_UP(GRU_QI_MAX_DIM, GRU_QI_GROUP_COLS)
#define GRU__QI_GROUP_BYTES (GRU_QI_BLOCK_ROWS * GRU_QI_GROUP_COLS)

static inline int gru__qi_groups(int cols) { return (cols + GRU_QI_GROUP_COLS - 1) / GRU_QI_GROUP_COLS; }

/* int8s in one 16-row block of a packed matrix with `cols` columns. */
static inline size_t gru__qi_block_size(int cols)
{
    return (size_t)GRU__QI_GROUP_BYTES * (size_t)gru__qi_groups(cols);
}

/* x as int16 over whole groups: x16 itself when cols fills them, else a copy
 * in buf (GRU__QI_X_MAX values) with zeros after the last column (whose
 * weights are zeros too). An int32 x (reset_before's rnd(r h, 15), |v| <=
 * 32767) is narrowed into buf, exactly. */
static inline const int16_t *gru__qi_x(const int16_t *x16, const int32_t *x32, int cols,
                                       int16_t *buf)
{
    const int padded = gru__qi_groups(cols) * GRU_QI_GROUP_COLS;
    if (x16 && cols == padded)
        return x16;
    int k = 0;
    for (; k < cols; k++)
        buf[k] = x16 ? x16[k] : (int16_t)x32[k];
    for (; k < padded; k++)
        buf[k] = 0;
    return buf;
}

/* y[r] = requant(y[r]) for each row (a separate loop: vectorizable). */
static inline void gru__qi_requant_rows(int rows, const int32_t *restrict mult,
                                        const int8_t *restrict shift, const int32_t *restrict bias,
                                        int32_t *restrict y)
{
    for (int j = 0; j < rows; j++)
        y[j] = gru__qi_requant(y[j], mult[j], shift[j], bias[j]);
}

/* y[0..min(n, 4)) = a[0..): the 4 sums of a kernel that computes rows in 4s. */
static inline void gru__qi_store4(int32_t *y, const int32_t a[4], int n)
{
    if (n >= 4) {
        y[0] = a[0], y[1] = a[1], y[2] = a[2], y[3] = a[3];
        return;
    }
    for (int i = 0; i < n; i++)
        y[i] = a[i];
}

/* A block kernel: y[0..n) = the sums of rows 0..n-1 (n in 1..16) of the
 * packed block w, over `groups` groups of x (in the kernel's own form); and a
 * requantization of y in place (gru__qi_requant_rows). */
typedef void (*gru__qi_block_fn)(const int8_t *restrict w, int groups, const void *restrict x,
                                 int32_t *restrict y, int n);
typedef void (*gru__qi_requant_fn)(int rows, const int32_t *restrict mult,
                                   const int8_t *restrict shift, const int32_t *restrict bias,
                                   int32_t *restrict y);

/* y = requant(W x): the block kernel over each 16-row block, then the rows'
 * requantization. Inlined with constant kernels. */
GRU__INLINE void gru__qi_gemv_blocks(gru__qi_block_fn block, gru__qi_requant_fn requant,
                                     const int8_t *restrict w, int rows, int cols,
                                     const void *restrict x, const int32_t *restrict mult,
                                     const int8_t *restrict shift, const int32_t *restrict bias,
                                     int32_t *restrict y)
{
    const size_t size = gru__qi_block_size(cols);
    const int groups = gru__qi_groups(cols);
    for (int j = 0; j < rows; j += GRU_QI_BLOCK_ROWS, w += size)
        block(w, groups, x, y + j, rows - j < GRU_QI_BLOCK_ROWS ? rows - j : GRU_QI_BLOCK_ROWS);
    requant(rows, mult, shift, bias, y);
}

#if GRU_KERNEL_ROWS == 48
/* Wide-vector hosts (x86-64 and AArch64 built without the x86 kernels): one
 * sum per (row, column of the group), 128 lanes that the compiler vectorizes
 * over the group's contiguous 128 bytes, added up at the end. */
static inline void gru__qi_block_portable(const int8_t *restrict w, int groups, const void *restrict xv,
                                   int32_t *restrict y, int n)
{
    const int16_t *x = (const int16_t *)xv;
    int32_t acc[GRU__QI_GROUP_BYTES] = {0};
    for (int g = 0; g < groups; g++, w += GRU__QI_GROUP_BYTES, x += GRU_QI_GROUP_COLS)
        for (int i = 0; i < GRU__QI_GROUP_BYTES; i++)
            acc[i] += (int32_t)w[i] * x[i % GRU_QI_GROUP_COLS];
    for (int r = 0; r < n; r++) {
        int32_t s = 0;
        for (int c = 0; c < GRU_QI_GROUP_COLS; c++)
            s += acc[GRU_QI_GROUP_COLS * r + c];
        y[r] = s;
    }
}
#else
/* Small cores (Cortex-M0, RV32, and Arm builds without DSP): x widened to
 * int32 once (a word load with an immediate offset: Armv6-M has none for
 * LDRSH), GRU__QI_TOGETHER rows at a time, each x value loaded once for all
 * of them, the group's 8 columns written out. Armv6-M has 8 low registers: 2
 * rows. A padding row of the block (n odd) is summed too: its weights are
 * zeros and exist. */
#if defined(__ARM_ARCH_6M__)
#define GRU__QI_TOGETHER 2
#define GRU__QI_MACS(xc, c) (a0 += (int32_t)p[c] * (xc), a1 += (int32_t)p[8 + (c)] * (xc))
#else
#define GRU__QI_TOGETHER 4
#define GRU__QI_MACS(xc, c)                                                                       \
    (a0 += (int32_t)p[c] * (xc), a1 += (int32_t)p[8 + (c)] * (xc),                                \
     a2 += (int32_t)p[16 + (c)] * (xc), a3 += (int32_t)p[24 + (c)] * (xc))
#endif
/* GCC's scheduler before register allocation hoists all 32 weight loads of a
 * group and spills the accumulators (RV32): this loop is in load order already. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__riscv)
#define GRU__QI_NO_SCHED __attribute__((optimize("no-schedule-insns")))
#else
#define GRU__QI_NO_SCHED
#endif
GRU__QI_NO_SCHED static inline void gru__qi_block_portable(const int8_t *restrict w, int groups,
                                                           const void *restrict xv,
                                                           int32_t *restrict y, int n)
{
    for (int r = 0; r < n; r += GRU__QI_TOGETHER, w += GRU__QI_TOGETHER * GRU_QI_GROUP_COLS) {
        const int32_t *x = (const int32_t *)xv, *end = x + GRU_QI_GROUP_COLS * groups;
        const int8_t *p = w;
        int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0; /* a2, a3: 4 rows only */
        for (; x < end; p += GRU__QI_GROUP_BYTES, x += GRU_QI_GROUP_COLS) {
            GRU__QI_MACS(x[0], 0), GRU__QI_MACS(x[1], 1), GRU__QI_MACS(x[2], 2);
            GRU__QI_MACS(x[3], 3), GRU__QI_MACS(x[4], 4), GRU__QI_MACS(x[5], 5);
            GRU__QI_MACS(x[6], 6), GRU__QI_MACS(x[7], 7);
        }
        const int32_t a[4] = {a0, a1, a2, a3};
        for (int i = 0; i < GRU__QI_TOGETHER && r + i < n; i++)
            y[r + i] = a[i];
    }
}
#undef GRU__QI_MACS

/* gru__qi_gemv (below) on these cores, x as int32. */
static inline void gru__qi_gemv(const int8_t *restrict w, int rows, int cols,
                                      const int16_t *restrict x16, const int32_t *restrict x32,
                                      const int32_t *restrict mult, const int8_t *restrict shift,
                                      const int32_t *restrict bias, int32_t *restrict y)
{
    int32_t buf[GRU__QI_X_MAX];
    const int padded = gru__qi_groups(cols) * GRU_QI_GROUP_COLS;
    for (int k = 0; k < padded; k++)
        buf[k] = k >= cols ? 0 : x16 ? x16[k] : x32[k];
    gru__qi_gemv_blocks(gru__qi_block_portable, gru__qi_requant_rows, w, rows, cols, buf, mult,
                        shift, bias, y);
}
#endif

/* A product with gru__qi_gemv's contract, `ATTR void name(...)`, from a block
 * kernel and a requantization that read x as int16 (gru__qi_x). */
#define GRU__QI_GEMV(ATTR, name, block, requant)                                                  \
    ATTR void name(const int8_t *restrict w, int rows, int cols, const int16_t *restrict x16,     \
                   const int32_t *restrict x32, const int32_t *restrict mult,                     \
                   const int8_t *restrict shift, const int32_t *restrict bias,                    \
                   int32_t *restrict y)                                                           \
    {                                                                                             \
        int16_t buf_[GRU__QI_X_MAX];                                                              \
        gru__qi_gemv_blocks(block, requant, w, rows, cols, gru__qi_x(x16, x32, cols, buf_), mult, \
                            shift, bias, y);                                                      \
    }

/* y[j] = requant(W[j] . x) for the rows j of a packed int8 matrix (exactly
 * one of x16, x32 non-NULL; padding rows are not computed: y holds `rows`
 * values). */
#if GRU_KERNEL_ROWS == 48
GRU__QI_GEMV(static inline, gru__qi_gemv, gru__qi_block_portable, gru__qi_requant_rows)
#endif

#endif /* GRU_KERNEL_QI_H */
