/*
 * gru_internal.h - what the gru_c sources share (gru__ prefix, private): the
 * headers below, and the model family's helpers. Where each concern lives:
 *
 *   gru_base.h        floating-point contract, build switches, block geometry
 *   gru_math.h        float activations, fixed-point arithmetic
 *   gru_cell.h        the GRU cell, once per arithmetic
 *   gru_kernels.h     portable packed-matrix products
 *   gru_kernel_arm.h  Arm VMLA and Helium kernels
 *   gru_kernel_x86.h  x86 quantized kernels (code in gru_kernel_x86.c)
 *   gru_dispatch.h    the kernel entry points (the map: gru_dispatch.c)
 */
#ifndef GRU_INTERNAL_H
#define GRU_INTERNAL_H

#include "gru_base.h"
#include "gru_cell.h"
#include "gru_dispatch.h"
#include "gru_math.h"
#include "gru_quant.h"

/* The largest hidden size of a float, int8 or integer model (every
 * descriptor has num_layers and layers[l].hidden_size). */
#define GRU__DEFINE_MAX_HIDDEN(name, MODEL)                                                       \
    static inline int name(const MODEL *model)                                                    \
    {                                                                                             \
        int max_hidden = 0;                                                                       \
        for (int l = 0; l < model->num_layers; l++)                                               \
            if (model->layers[l].hidden_size > max_hidden)                                        \
                max_hidden = model->layers[l].hidden_size;                                        \
        return max_hidden;                                                                        \
    }
GRU__DEFINE_MAX_HIDDEN(gru__max_hidden, gru_model)
GRU__DEFINE_MAX_HIDDEN(gru__q8_max_hidden, gru_q8_model)
GRU__DEFINE_MAX_HIDDEN(gru__qi_max_hidden, gru_qi_model)
#undef GRU__DEFINE_MAX_HIDDEN

/* The input size layer l of a float model reads (l = num_layers: what the
 * head reads): the previous layer's hidden size; the reverse half of a
 * bidirectional pair reads its partner's input; the layer after a pair reads
 * both halves' h. Trusts 1 <= l <= num_layers and the merge flags. */
static inline int gru__expected_input(const gru_model *model, int l)
{
    const gru_layer *prev = &model->layers[l - 1];
    if (l < model->num_layers && model->layers[l].merge)
        return prev->input_size;
    return prev->merge && l >= 2 ? prev->hidden_size + model->layers[l - 2].hidden_size : prev->hidden_size;
}

/* 1 if a float model has a layer that reads its sequences backwards. */
static inline int gru__has_reverse(const gru_model *model)
{
    if (GRU_PLAIN_MODELS)
        return 0;
    for (int l = 0; l < model->num_layers; l++)
        if (model->layers[l].reverse)
            return 1;
    return 0;
}

/* 1 if a float layer computes the default activations (tanh, sigmoid). */
static inline int gru__layer_default(const gru_layer *layer)
{
    return (layer->activation == 0 || layer->activation == GRU_ACT_TANH) &&
           (layer->recurrent_activation == 0 || layer->recurrent_activation == GRU_ACT_SIGMOID);
}

/* 1 for the 0.2 model family (what a GRU_PLAIN_MODELS build runs): forward
 * GRU layers of default activations, at most one head (no pre or post layers). */
static inline int gru__plain(const gru_model *model)
{
    for (int l = 0; l < model->num_layers; l++)
        if (!gru__layer_default(&model->layers[l]) || model->layers[l].reverse || model->layers[l].merge)
            return 0;
    return !model->num_pre && !model->num_post;
}

/* The pre and post layer counts the forward pass runs: constant 0 in a
 * GRU_PLAIN_MODELS build (its check refuses others), so their code drops out. */
static inline int gru__num_pre(const gru_model *model) { return GRU_PLAIN_MODELS ? 0 : model->num_pre; }
static inline int gru__num_post(const gru_model *model) { return GRU_PLAIN_MODELS ? 0 : model->num_post; }

/* 1 if gru_train.h can train the model: a plain one whose head is not relu. */
static inline int gru__trainable(const gru_model *model)
{
    return gru__plain(model) && !(model->has_head && model->head.activation == GRU_ACT_RELU);
}

/* The largest output size of a float model's pre, head and post layers when
 * it has pre or post layers (their outputs live in the dense scratch), else 0. */
static inline int gru__max_dense(const gru_model *model)
{
    int max_dense = 0;
    if (gru__num_pre(model) == 0 && gru__num_post(model) == 0)
        return 0;
    for (int l = 0; l < model->num_pre; l++)
        if (model->pre[l].output_size > max_dense)
            max_dense = model->pre[l].output_size;
    if (model->has_head && model->head.output_size > max_dense)
        max_dense = model->head.output_size;
    for (int l = 0; l < model->num_post; l++)
        if (model->post[l].output_size > max_dense)
            max_dense = model->post[l].output_size;
    return max_dense;
}

/* Scratch layout of one lane of a model step (floats), for the largest hidden
 * size H, output size O and largest dense size D (GRU_MODEL_SCRATCH_SIZE):
 *   gi  [R(3H)]  b_ih + W_ih x           gates r, z, n
 *   gh  [R(2H)]  b_hh + W_hh h           gates r, z  (z kept here, reset_before)
 *   ghn [R(H)]   b_hn + W_hn (h or r*h)  gate n
 *   rh  [R(H)]   r * h                   (reset_before)
 *   out [R(O)]   head output
 *   d   [2][R(D)] outputs of the pre and inner head layers, alternately
 * R(n) = n rounded up to GRU_PACK_ROWS. Lanes of a batched step follow each
 * other, `stride` floats apart. */
typedef struct gru__scratch {
    float *gi, *gh, *ghn, *rh, *out, *d[2];
    size_t stride;
} gru__scratch;

static inline gru__scratch gru__scratch_split_dense(float *scratch, int max_hidden,
                                                    int output_size, int max_dense)
{
    gru__scratch s;
    s.gi = scratch;
    s.gh = s.gi + gru__round_up(3 * max_hidden, GRU_PACK_ROWS);
    s.ghn = s.gh + gru__round_up(2 * max_hidden, GRU_PACK_ROWS);
    s.rh = s.ghn + gru__round_up(max_hidden, GRU_PACK_ROWS);
    s.out = s.rh + gru__round_up(max_hidden, GRU_PACK_ROWS);
    s.d[0] = s.out + gru__round_up(output_size, GRU_PACK_ROWS);
    s.d[1] = s.d[0] + gru__round_up(max_dense, GRU_PACK_ROWS);
    s.stride = GRU_MODEL_SCRATCH_SIZE(max_hidden, output_size, max_dense);
    return s;
}

/* The layout of a model without dense scratch (the quantized and training
 * paths). */
static inline gru__scratch gru__scratch_split(float *scratch, int max_hidden, int output_size)
{
    return gru__scratch_split_dense(scratch, max_hidden, output_size, 0);
}

#endif /* GRU_INTERNAL_H */
