/* qi_gemv_check.c - the integer product this build dispatches to
 * (gru__qi_gemv_k) against a scalar model of gru_quant.h's contract written
 * here from the row-major matrix: acc = sum_k q[j][k] x[k] (int64), then
 * clamp(rnd(acc * mult, shift) + bias, +-GRU_QI_PRE_MAX) with rnd rounding
 * half away from zero and shift clamped to 1..62. Random shapes (rows 1..70,
 * cols 1..GRU_QI_MAX_DIM), weights, int16 and int32 inputs, multipliers,
 * every shift, biases up to the int32 extremes. Static buffers only (runs on
 * every QEMU target). Prints "kernel <name>" and "checked <n>" or the first
 * mismatch; returns 1 on a mismatch. */
#include <stdio.h>
#include <string.h>

#include "gru_dispatch.h"
#include "gru_quant.h"

#define MAX_ROWS 70
#define MAX_COLS GRU_QI_MAX_DIM

static int8_t w[MAX_ROWS * MAX_COLS], packed[GRU_QI_PACKED_SIZE(MAX_ROWS, MAX_COLS)];
static int16_t x16[MAX_COLS];
static int32_t x32[MAX_COLS], mult[MAX_ROWS], bias[MAX_ROWS], y[MAX_ROWS];
static int8_t shift[MAX_ROWS];
static uint32_t seed = 12345u;

static uint32_t next(void)
{
    seed = seed * 1664525u + 1013904223u;
    return seed ^ (seed >> 15);
}

static int32_t pick32(void)
{
    switch (next() % 6) {
    case 0: return (int32_t)next();
    case 1: return (int32_t)(next() % 9) - 4;
    case 2: return next() & 1 ? INT32_MAX : INT32_MIN;
    default: return (int32_t)(next() % (1u << 26)) - (1 << 25);
    }
}

static int32_t model(int j, int cols, int use32)
{
    int64_t acc = 0;
    for (int k = 0; k < cols; k++)
        acc += (int64_t)w[j * cols + k] * (use32 ? x32[k] : x16[k]);
    const int s = shift[j] < 1 ? 1 : shift[j] > 62 ? 62 : shift[j];
    const int64_t p = acc * mult[j];
    const uint64_t mag = p < 0 ? 0u - (uint64_t)p : (uint64_t)p;
    const int64_t q = (int64_t)((mag + ((uint64_t)1 << (s - 1))) >> s);
    const int64_t v = (p < 0 ? -q : q) + bias[j];
    return v > GRU_QI_PRE_MAX ? GRU_QI_PRE_MAX : v < -GRU_QI_PRE_MAX ? -GRU_QI_PRE_MAX : (int32_t)v;
}

int main(void)
{
    printf("kernel %s\n", gru_kernel_name(GRU_KERNEL_INTEGER));
    long checked = 0;
    for (int trial = 0; trial < 60; trial++) {
        const int rows = 1 + (int)(next() % MAX_ROWS);
        const int cols = trial % 4 == 0 ? MAX_COLS : 1 + (int)(next() % (trial % 2 ? 40 : MAX_COLS));
        const int use32 = trial % 3 == 2;
        for (int i = 0; i < rows * cols; i++)
            w[i] = (int8_t)(next() % 256 - 128);
        for (int k = 0; k < cols; k++) {
            x16[k] = (int16_t)(next() % 65536 - 32768);
            x32[k] = (int32_t)(next() % 65535) - 32767; /* reset_before's rnd(r h, 15) */
        }
        for (int j = 0; j < rows; j++) {
            const int32_t m = pick32();
            mult[j] = m < 0 ? (m == INT32_MIN ? INT32_MAX : -m) : m; /* model check: >= 0 */
            shift[j] = (int8_t)(1 + next() % 62);
            bias[j] = pick32();
        }
        if (gru_qi_pack_matrix(w, rows, cols, packed, sizeof packed) != GRU_OK)
            return 1;
        gru__qi_gemv_k(packed, rows, cols, use32 ? NULL : x16, use32 ? x32 : NULL, mult, shift,
                       bias, y);
        for (int j = 0; j < rows; j++, checked++) {
            const int32_t want = model(j, cols, use32);
            if (y[j] != want) {
                printf("mismatch trial %d rows %d cols %d row %d: %ld != %ld\n", trial, rows, cols,
                       j, (long)y[j], (long)want);
                return 1;
            }
        }
    }
    printf("checked %ld\n", checked);
    return 0;
}
