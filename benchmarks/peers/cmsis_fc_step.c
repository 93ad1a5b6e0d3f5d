/*
 * cmsis_fc_step.c - a GRU-shaped step made of CMSIS-NN fully-connected
 * products, for benchmarks/bench_peers.py (instructions per multiply-
 * accumulate under QEMU). Not part of pygru; built only beside CMSIS-NN from
 * ../shared/peers/cmsis-nn/, never linked into pygru.
 *
 * One step = the six products of a GRU cell, one per gate and per input:
 * W_ih[g] x (H x I) and W_hh[g] h (H x H) for g = r, z, n, each through
 * arm_nn_vec_mat_mult_t_s8 (PEER_BITS 8) or arm_nn_vec_mat_mult_t_s16
 * (PEER_BITS 16): the kernels arm_fully_connected_s8 / _s16 call, without
 * the wrapper's argument unpacking. Per-tensor requantization (TFLite
 * Micro's fully-connected), s8: input offset 0 and kernel sums precomputed
 * once (what arm_fully_connected_s8 needs on Helium). No gate math: this is
 * the products' cost, the part of a GRU step that CMSIS-NN provides.
 *
 *   -DPEER_I=.. -DPEER_H=.. -DPEER_STEPS=N -DPEER_BITS=8|16
 * Prints a checksum of the last outputs (keeps them live); returns 0.
 */
#include <stdint.h>
#include <stdio.h>

#include "arm_nnfunctions.h"
#include "arm_nnsupportfunctions.h"
#include "../bench_common.h"

#define PEER_T 8 /* distinct inputs, cycled */

static int8_t w_ih[3][PEER_H * PEER_I], w_hh[3][PEER_H * PEER_H];
static int32_t bias32[PEER_H], ksum_ih[3][PEER_H], ksum_hh[3][PEER_H];
static int64_t bias64[PEER_H];
static act_t x[PEER_T][PEER_I], h[PEER_H], out_i[3][PEER_H], out_h[3][PEER_H];

static void fill(int8_t *w, int n)
{
    for (int i = 0; i < n; i++)
        w[i] = (int8_t)(next_rand() % 255 - 127);
}

static void product(const act_t *in, const int8_t *w, const int32_t *ksum, act_t *out, int cols)
{
#if PEER_BITS == 8
    (void)arm_nn_vec_mat_mult_t_s8(in, w, ksum, bias32, out, 0, 0, 1 << 30, -8, cols, PEER_H, ACT_MIN,
                                   ACT_MAX, 1, 0);
#else
    (void)ksum;
    (void)arm_nn_vec_mat_mult_t_s16(in, w, bias64, out, 1 << 30, -8, cols, PEER_H, ACT_MIN, ACT_MAX);
#endif
}

int main(void)
{
    for (int j = 0; j < PEER_H; j++) {
        bias32[j] = next_rand() % 1000;
        bias64[j] = bias32[j];
        h[j] = (act_t)(next_rand() % (ACT_MAX / 2));
    }
    for (int g = 0; g < 3; g++) {
        fill(w_ih[g], PEER_H * PEER_I);
        fill(w_hh[g], PEER_H * PEER_H);
        (void)arm_vector_sum_s8(ksum_ih[g], PEER_I, PEER_H, w_ih[g], 0, 0, bias32);
        (void)arm_vector_sum_s8(ksum_hh[g], PEER_H, PEER_H, w_hh[g], 0, 0, bias32);
    }
    for (int t = 0; t < PEER_T; t++)
        for (int k = 0; k < PEER_I; k++)
            x[t][k] = (act_t)(next_rand() % (ACT_MAX / 2));
    for (long s = 0; s < PEER_STEPS; s++)
        for (int g = 0; g < 3; g++) {
            product(x[s % PEER_T], w_ih[g], ksum_ih[g], out_i[g], PEER_I);
            product(h, w_hh[g], ksum_hh[g], out_h[g], PEER_H);
        }
    long sum = 0;
    for (int g = 0; g < 3; g++)
        for (int j = 0; j < PEER_H; j++)
            sum += out_i[g][j] + out_h[g][j];
    printf("checksum %ld\n", sum);
    return 0;
}
