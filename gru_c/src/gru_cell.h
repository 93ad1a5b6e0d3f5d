/*
 * gru_cell.h - the GRU cell, from gate pre-activations to the new state,
 * written once per arithmetic (gru__ prefix, private):
 *
 *   float    gru__cell_*: float inference, the int8-weight path (its products
 *            end in float pre-activations) and the training forward, which
 *            passes save = 1 to keep the gates for backpropagation
 *   integer  gru__qi_cell_*: the integer-only path
 *
 * Pre-activations of one sequence, H units (the layer step's scratch):
 *   gi  [3H]  b_ih + W_ih x                       gates r, z, n
 *   gh  [2H]  b_hh + W_hh h                       gates r, z (then their sigmoids)
 *   ghn [H]   b_hn + W_hn h   (reset_after)       gate n
 *             b_hn + W_hn (r*h) (reset_before)
 * reset_after:  r, z = sigmoid(gi + gh); n = tanh(gi_n + r * ghn)
 * reset_before: r, z = sigmoid(gi + gh); rh = r * h; then n = tanh(gi_n + ghn)
 * both:         h' = (1 - z) * n + z * h
 * Each step is split where a matrix product comes between (W_hn needs r*h
 * before reset, and after reset the sigmoids overlap W_hn's product). The
 * per-architecture versions (gru_kernel_arm.h, gru_kernel_x86.c) compute the
 * same expressions; gru_dispatch.c picks one.
 */
#ifndef GRU_CELL_H
#define GRU_CELL_H

#include "gru_math.h"

/* ---------------------------------------------------------------- float */

/* The new state of one unit. */
static inline float gru__cell_h(float z, float n, float h) { return (1.0f - z) * n + z * h; }

/* Each loop takes the layer's gate activation `ga` (r, z: sigmoid or a hard
 * sigmoid) or candidate activation `ca` (n: tanh or relu): the wrappers after
 * them pass the defaults as constants (the dispatched kernels, training, the
 * int8 path: the loops compile as if written for them); gru_dispatch.c's
 * gru__cell_*_act pass the layer's. */

/* reset_after, r and z: gh[j] = ga(gi[j] + gh[j]) for j < n (n = 2H). */
GRU__INLINE void gru__cell_rz_loop_act(int n, const float *restrict gi, float *restrict gh, const int ga)
{
    for (int j = 0; j < n; j++) /* vectorize */
        gh[j] = gru__gate(ga, gi[j] + gh[j]);
}

/* reset_after, n and h, with r and z from gru__cell_rz_loop in gh. h_out may
 * be h. With save, gates [4H] gets r, z, n and ghn. */
GRU__INLINE void gru__cell_after_loop_act(int H, const float *restrict gi, const float *restrict gh,
                                          const float *restrict ghn, const float *h, float *h_out,
                                          float *restrict gates, const int save, const int ca)
{
    for (int j = 0; j < H; j++) { /* vectorize */
        const float r = gh[j], z = gh[H + j];
        const float n = gru__candidate(ca, gi[2 * H + j] + r * ghn[j]);
        const float hn = gru__cell_h(z, n, h[j]);
        if (save) {
            gates[j] = r;
            gates[H + j] = z;
            gates[2 * H + j] = n;
            gates[3 * H + j] = ghn[j];
        }
        h_out[j] = hn;
    }
}

/* reset_before, r, z and r*h: z = ga into gh[H..2H), rh = r * h. With
 * save, gates gets r, z and rh. */
GRU__INLINE void gru__cell_before_rz_loop_act(int H, const float *restrict gi, float *gh,
                                              const float *h, float *restrict rh,
                                              float *restrict gates, const int save, const int ga)
{
    for (int j = 0; j < H; j++) { /* vectorize */
        const float r = gru__gate(ga, gi[j] + gh[j]);
        const float z = gru__gate(ga, gi[H + j] + gh[H + j]);
        gh[H + j] = z;
        rh[j] = r * h[j];
        if (save) {
            gates[j] = r;
            gates[H + j] = z;
            gates[3 * H + j] = rh[j];
        }
    }
}

/* reset_before, n and h, z in gh[H..2H). h_out may be h. With save, gates
 * gets n. */
GRU__INLINE void gru__cell_before_loop_act(int H, const float *restrict gi, const float *restrict gh,
                                           const float *restrict ghn, const float *h, float *h_out,
                                           float *restrict gates, const int save, const int ca)
{
    for (int j = 0; j < H; j++) { /* vectorize */
        const float n = gru__candidate(ca, gi[2 * H + j] + ghn[j]);
        const float hn = gru__cell_h(gh[H + j], n, h[j]);
        if (save)
            gates[2 * H + j] = n;
        h_out[j] = hn;
    }
}

/* The default activations (sigmoid gates, tanh candidate). */
GRU__HOT void gru__cell_rz_loop(int n, const float *restrict gi, float *restrict gh)
{
    gru__cell_rz_loop_act(n, gi, gh, GRU_ACT_SIGMOID);
}

GRU__HOT void gru__cell_after_loop(int H, const float *restrict gi, const float *restrict gh,
                                   const float *restrict ghn, const float *h, float *h_out,
                                   float *restrict gates, const int save)
{
    gru__cell_after_loop_act(H, gi, gh, ghn, h, h_out, gates, save, GRU_ACT_TANH);
}

GRU__HOT void gru__cell_before_rz_loop(int H, const float *restrict gi, float *gh, const float *h,
                                       float *restrict rh, float *restrict gates, const int save)
{
    gru__cell_before_rz_loop_act(H, gi, gh, h, rh, gates, save, GRU_ACT_SIGMOID);
}

GRU__HOT void gru__cell_before_loop(int H, const float *restrict gi, const float *restrict gh,
                                    const float *restrict ghn, const float *h, float *h_out,
                                    float *restrict gates, const int save)
{
    gru__cell_before_loop_act(H, gi, gh, ghn, h, h_out, gates, save, GRU_ACT_TANH);
}

/* ---------------------------------------------------------------- integer */

/* Pre-activations (requantized, |v| <= GRU_QI_PRE_MAX, Q.12) of one
 * sequence: gi [3H]; gh [3H] = b_hh + W_hh h for r, z and n (reset_after) or
 * W_hn (r*h) (reset_before). Q0.15 gates, int16 state:
 *   r, z = qsigmoid(gi + gh); n = qtanh(gi_n + rnd(r gh_n, 15)) (reset_after)
 *   rh = rnd(r h, 15); n = qtanh(gi_n + gh_n)                   (reset_before)
 *   h' = n + rnd(z (h - n), 15)
 * Each loop runs units [j0, H): the x86 kernels do the first units in
 * vectors and leave the rest to these. */

static inline int16_t gru__qi_cell_h(int32_t z, int32_t n, int32_t h)
{
    return (int16_t)(n + gru__qi_rshift(z * (h - n), 15));
}

GRU__INLINE void gru__qi_cell_after_loop(int j0, int H, const int32_t *restrict gi,
                                         const int32_t *restrict gh, int16_t *restrict h)
{
    for (int j = j0; j < H; j++) {
        const int32_t r = gru__qi_sigmoid(gi[j] + gh[j]);
        const int32_t z = gru__qi_sigmoid(gi[H + j] + gh[H + j]);
        const int32_t rn = (int32_t)gru__qi_rshift64((int64_t)r * gh[2 * H + j], 15);
        h[j] = gru__qi_cell_h(z, gru__qi_tanh(gi[2 * H + j] + rn), h[j]);
    }
}

/* r, z and r*h of reset_before: z into gh[H..2H), rh = rnd(r h, 15). */
GRU__INLINE void gru__qi_cell_before_rz_loop(int j0, int H, const int32_t *restrict gi,
                                             int32_t *restrict gh, const int16_t *restrict h,
                                             int32_t *restrict rh)
{
    for (int j = j0; j < H; j++) {
        const int32_t r = gru__qi_sigmoid(gi[j] + gh[j]);
        gh[H + j] = gru__qi_sigmoid(gi[H + j] + gh[H + j]);
        rh[j] = gru__qi_rshift(r * h[j], 15);
    }
}

GRU__INLINE void gru__qi_cell_before_loop(int j0, int H, const int32_t *restrict gi,
                                          const int32_t *restrict gh, int16_t *restrict h)
{
    for (int j = j0; j < H; j++)
        h[j] = gru__qi_cell_h(gh[H + j], gru__qi_tanh(gi[2 * H + j] + gh[2 * H + j]), h[j]);
}

#endif /* GRU_CELL_H */
