/*
 * rnnoise_gru_step.c - streaming latency of one RNNoise GRU step (batch 1),
 * for benchmarks/bench_peers.py. Not part of pygru: built only beside
 * RNNoise's nnet from ../shared/peers/rnnoise/src, never linked into pygru.
 *
 * RNNoise's compute_generic_gru over hand-filled LinearLayers (nnet.h) of
 * PEER_I inputs and PEER_H units, in three storage kinds:
 *   dense_int8   int8 weights in 8x4 blocks with per-row float scales (its
 *                AVX2 / VNNI dpbusds kernel, u8 activations)
 *   sparse_int8  the same input matrix, the recurrent matrix block-sparse:
 *                each 8-row block keeps PEER_DENSITY_PCT percent of its 4-column
 *                blocks (RNNoise's trained recurrent weights are sparse)
 *   float        float weights
 * The weight values are arbitrary: the kernels' work does not depend on them.
 * Prints "<kind> <median us per step>" for each kind; modes take turns
 * within each repeat so that a noisy machine disturbs all alike.
 */
#define _POSIX_C_SOURCE 199309L
#define BENCH_TIMING
#include "nnet.h"
#include "../bench_common.h"

#ifndef PEER_DENSITY_PCT
#define PEER_DENSITY_PCT 50
#endif
#define PEER_T 16

#define ROWS (3 * PEER_H)

static opus_int8 wq_ih[ROWS * PEER_I], wq_hh[ROWS * PEER_H], wq_hh_sparse[ROWS * PEER_H];
static float wf_ih[ROWS * PEER_I], wf_hh[ROWS * PEER_H];
static float bias[ROWS], subias[ROWS], scale[ROWS];
static int idx_hh[ROWS / 8 * (1 + PEER_H / 4)];
static float x[PEER_T][PEER_I], state[PEER_H];

static float frand(void)
{
    return (float)((int)(bench_next() >> 9) - (1 << 22)) / (float)(1 << 22); /* [-1, 1) */
}

static LinearLayer layer(const opus_int8 *wq, const float *wf, const int *idx, int inputs)
{
    LinearLayer l = {0};
    l.bias = bias;
    l.subias = subias;
    l.weights = wq;
    l.float_weights = wf;
    l.weights_idx = idx;
    l.scale = scale;
    l.nb_inputs = inputs;
    l.nb_outputs = ROWS;
    return l;
}

int main(int argc, char **argv)
{
    const long steps = bench_steps(argc, argv);
    for (int i = 0; i < ROWS * PEER_I; i++) {
        wq_ih[i] = (opus_int8)(frand() * 60.0f);
        wf_ih[i] = frand() * 0.2f;
    }
    for (int i = 0; i < ROWS * PEER_H; i++) {
        wq_hh[i] = (opus_int8)(frand() * 60.0f);
        wf_hh[i] = frand() * 0.2f;
    }
    for (int j = 0; j < ROWS; j++) {
        bias[j] = frand() * 0.1f;
        subias[j] = bias[j];
        scale[j] = 1.0f / 4096.0f;
    }
    /* Block-sparse recurrent matrix: per 8-row block, the count of kept
     * 4-column blocks, then their first columns; weights 32 bytes each. */
    int *ip = idx_hh;
    opus_int8 *wp = wq_hh_sparse;
    for (int r = 0; r < ROWS; r += 8) {
        int *count = ip++;
        *count = 0;
        for (int c = 0; c < PEER_H; c += 4)
            if ((c / 4 * 37 + r / 8 * 11) % 100 < PEER_DENSITY_PCT) {
                *ip++ = c;
                (*count)++;
                for (int k = 0; k < 32; k++)
                    *wp++ = (opus_int8)(frand() * 60.0f);
            }
    }
    for (int t = 0; t < PEER_T; t++)
        for (int k = 0; k < PEER_I; k++)
            x[t][k] = frand() * 0.9f;
    const LinearLayer in_q = layer(wq_ih, NULL, NULL, PEER_I), rec_q = layer(wq_hh, NULL, NULL, PEER_H);
    const LinearLayer rec_s = layer(wq_hh_sparse, NULL, idx_hh, PEER_H);
    const LinearLayer in_f = layer(NULL, wf_ih, NULL, PEER_I), rec_f = layer(NULL, wf_hh, NULL, PEER_H);
    const LinearLayer *ins[3] = {&in_q, &in_q, &in_f}, *recs[3] = {&rec_q, &rec_s, &rec_f};
    static const char *names[3] = {"dense_int8", "sparse_int8", "float"};
    double t[3][BENCH_REPEATS], sink = 0.0;
    for (int r = 0; r < BENCH_REPEATS; r++)
        for (int m = 0; m < 3; m++) {
            for (int j = 0; j < PEER_H; j++)
                state[j] = 0.0f;
            const double t0 = now_us();
            for (long s = 0; s < steps; s++)
                compute_generic_gru(ins[m], recs[m], state, x[s % PEER_T], 0);
            t[m][r] = (now_us() - t0) / (double)steps;
            sink += (double)state[0];
        }
    bench_print_medians(3, names, t);
    return sink == 12345.0; /* keeps the outputs live */
}
