/*
 * gru_train.h - pygru's portable C99 GRU training: forward with saved
 * activations, backpropagation through time, losses, gradient clipping and
 * optimizers. Same rules as gru.h: no allocation, no global state, every buffer
 * is the caller's, a size query (function and macro) beside each operation, so
 * the same code trains on a microcontroller with `static` arrays.
 *
 * Parameters live in ONE flat float buffer in the packed layout of gru.h, in
 * this order (the "parameter layout"):
 *
 *   for each layer l:  w_ih   GRU_LAYER_W_IH_SIZE(I_l, H_l)   packed [3H][I]
 *                      w_hh_rz GRU_LAYER_W_HH_RZ_SIZE(H_l)    packed [2H][H]
 *                      w_hh_n GRU_LAYER_W_HH_N_SIZE(H_l)      packed [H][H]
 *                      b_ih   3H,  b_hh 3H
 *   then, with a head: weight GRU_PACKED_SIZE(O, H_last), bias O.
 *
 * gru_train_wire() points a gru_model's weight pointers into that buffer, so
 * inference (gru_stream_step, gru_sequence) runs the trained parameters in
 * place. Gradients and optimizer moments use the same layout; the packing
 * padding rows of the parameters stay exactly zero under every update below,
 * so optimizer steps are plain elementwise loops.
 *
 * One training step (see examples/train_c/main.c):
 *
 *   gru_train_init(&tr, &model, max_batch, max_steps, return_sequences, ws, ws_size);
 *   gru_train_forward(&tr, x, batch, steps, lengths, h0, y, h_last);
 *   gru_train_loss(&tr, GRU_LOSS_MSE, target, NULL, &loss);
 *   gru_train_backward(&tr, grad, grad_size, NULL, NULL);
 *   gru_clip_grad_norm(grad, n, max_norm, &norm);
 *   gru_optimizer_step(&opt, params, grad, opt_state, n);
 *
 * Data layouts (as gru_sequence): x [batch][steps][input]; outputs and MSE
 * targets [batch][output] (sequence-to-one: the output after each sequence's
 * last valid step) or [batch][steps][output] (sequence-to-sequence); class
 * labels [batch] or [batch][steps]. lengths[b] in 1..steps (NULL: all full):
 * steps t >= lengths[b] are padding; the state is held there, they add nothing
 * to the loss or the gradients, and their x values are never read, so padding
 * never changes a result. Losses are means: over the batch (sequence-to-one) or
 * over all valid steps (sequence-to-sequence), and over outputs for MSE.
 *
 * Truncated BPTT: pass the previous chunk's h_last as the next chunk's h0.
 *
 * Results: the training forward computes every output with the same kernels
 * and expressions as gru_sequence (bit-identical outputs); all sums run in a
 * fixed order, so results do not depend on the vector width or the target.
 */
#ifndef GRU_TRAIN_H
#define GRU_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "gru.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- parameters */

/* Floats of one layer's / the head's parameters in the parameter layout. */
#define GRU_LAYER_PARAM_SIZE(input_size, hidden_size)                                 \
    (GRU_LAYER_W_IH_SIZE(input_size, hidden_size) + GRU_LAYER_W_HH_RZ_SIZE(hidden_size) + \
     GRU_LAYER_W_HH_N_SIZE(hidden_size) + 6 * (size_t)(hidden_size))
#define GRU_HEAD_PARAM_SIZE(hidden_size, output_size)                                 \
    (GRU_PACKED_SIZE(output_size, hidden_size) + (size_t)(output_size))

/* Floats of the whole parameter buffer. Reads only the sizes and flags of
 * `model` (num_layers, input/hidden sizes, has_head, head sizes); its pointers
 * may be unset. Returns 0 if those sizes are invalid. */
size_t gru_train_param_size(const gru_model *model);

/* Point every weight pointer of `model` into `params` (parameter layout) and
 * check the model. The sizes and flags must already be set. */
int gru_train_wire(gru_model *model, const float *params, size_t param_size);

/* ---------------------------------------------------------------- workspace */

/* Training state: a checked model plus the caller's workspace. Fields are
 * private; the struct is public only so that it can live on the stack. */
typedef struct gru_train {
    const gru_model *model;
    float *ws;
    size_t ws_size;
    int max_batch, max_steps, return_sequences, trainable, low_memory;
    /* set by gru_train_forward / gru_train_loss */
    int batch, steps, has_forward, has_loss;
    const float *x;
    const int32_t *lengths;
} gru_train;

/* Floats of workspace for batches of up to `max_batch` sequences of up to
 * `max_steps` steps. Returns 0 on invalid arguments. */
size_t gru_train_workspace_size(const gru_model *model, int max_batch, int max_steps,
                                int return_sequences);

/* Compile-time upper bound of gru_train_workspace_size:
 *   B, T:          max_batch, max_steps
 *   S:             sum of the hidden sizes
 *   H:             largest hidden size
 *   I:             input size
 *   O:             output size (the last hidden size without a head)
 *   RS:            return_sequences (0 or 1) */
#define GRU__R8(n) GRU_ROUND_UP((size_t)(n), GRU_PACK_ROWS)
#define GRU__MAXZ(a, b) ((size_t)(a) > (size_t)(b) ? (size_t)(a) : (size_t)(b))
#define GRU_TRAIN_WORKSPACE_SIZE(B, T, S, H, I, O, RS) \
    GRU_TRAIN_WORKSPACE_SIZE_FOR(GRU_TRAIN_ALL, 0, B, T, S, H, I, O, RS, H, I)

/* ---------------------------------------------------------------- what is trainable */

/* Fine-tuning trains a suffix of the parameter layout and leaves the rest
 * frozen (never written, no gradient computed, so it may live in flash):
 *   GRU_TRAIN_ALL   every parameter;
 *   GRU_TRAIN_LAST  the last GRU layer and the head (BPTT through that layer
 *                   only; the layers below run forward and keep no history);
 *   GRU_TRAIN_HEAD  the head only (needs a head): no BPTT at all, the GRU
 *                   runs forward and keeps two states per layer.
 * With one layer, GRU_TRAIN_LAST is GRU_TRAIN_ALL. Gradients and optimizer
 * state cover the trainable floats only, params[offset .. total). */
typedef enum gru_trainable {
    GRU_TRAIN_ALL = 0,
    GRU_TRAIN_LAST = 1,
    GRU_TRAIN_HEAD = 2
} gru_trainable;

/* Offset of the first trainable float in the parameter layout, and the count
 * of trainable floats (total - offset). 0 / 0 on invalid sizes or a
 * head-only choice without a head (the offset of GRU_TRAIN_ALL is 0). */
size_t gru_train_trainable_offset(const gru_model *model, int trainable);
size_t gru_train_trainable_size(const gru_model *model, int trainable);

/* Compile-time trainable float counts (IL, HL: input and hidden size of the
 * last layer; O: head outputs). GRU_TRAIN_ALL is gru_train_param_size. */
#define GRU_TRAIN_HEAD_PARAM_SIZE(HL, O) GRU_HEAD_PARAM_SIZE(HL, O)
#define GRU_TRAIN_LAST_PARAM_SIZE(IL, HL, O, HAS_HEAD) \
    (GRU_LAYER_PARAM_SIZE(IL, HL) + ((HAS_HEAD) ? GRU_HEAD_PARAM_SIZE(HL, O) : 0))

/* gru_train_wire with the frozen part and the trainable part in separate
 * buffers: frozen = params[0 .. offset) (const, e.g. in flash), trainable =
 * params[offset .. total) (RAM). frozen may be NULL when offset is 0. */
int gru_train_wire_split(gru_model *model, const float *frozen, size_t frozen_size,
                         const float *trainable_params, size_t trainable_size, int trainable);

/* Training configuration for gru_train_init_config. low_memory = 1 drops the
 * transposed weight copies of backward (it multiplies by the transposes in
 * place): the same bits, a slower backward, less workspace. */
typedef struct gru_train_config {
    int max_batch, max_steps, return_sequences;
    int trainable;   /* gru_trainable */
    int low_memory;  /* 0 or 1 */
} gru_train_config;

/* Floats of workspace for `config`; 0 on invalid arguments. */
size_t gru_train_workspace_size_config(const gru_model *model, const gru_train_config *config);

/* gru_train_init for a configuration. gru_train_init is this with
 * GRU_TRAIN_ALL and low_memory 0. With another choice, gru_train_backward
 * writes only the trainable gradients and refuses dx / dh0. */
int gru_train_init_config(gru_train *tr, const gru_model *model, const gru_train_config *config,
                          float *workspace, size_t workspace_size);

/* Compile-time upper bound of gru_train_workspace_size_config:
 *   K, LM:  trainable choice and low_memory;  B, T, S, H, I, O, RS as above;
 *   HL, IL: hidden and input size of the last layer. */
#define GRU__TRAIN_HT(K, H, HL) ((K) == GRU_TRAIN_ALL ? (size_t)(H) : (size_t)(HL))
#define GRU__TRAIN_IT(K, H, I, IL) ((K) == GRU_TRAIN_ALL ? GRU__MAXZ(I, H) : (size_t)(IL))
#define GRU_TRAIN_WORKSPACE_SIZE_FOR(K, LM, B, T, S, H, I, O, RS, HL, IL)                         \
    (((K) == GRU_TRAIN_ALL ? 5 * (size_t)(T) * (size_t)(B) * (size_t)(S)                            \
      : (K) == GRU_TRAIN_LAST ? (size_t)(T) * (size_t)(B) * (5 * (size_t)(HL) + (size_t)(IL)) +    \
                                    2 * (size_t)(B) * (size_t)(S)                                  \
      : ((RS) ? (size_t)(T) * (size_t)(B) * (size_t)(HL) : 0) + 2 * (size_t)(B) * (size_t)(S)) +   \
     3 * ((RS) ? (size_t)(T) : 1) * (size_t)(B) * GRU__R8(O) + (size_t)(B) * (size_t)(S) +         \
     ((K) == GRU_TRAIN_HEAD ? (size_t)(B) * (size_t)(HL)                                           \
      : ((LM) ? 0                                                                                  \
              : ((K) == GRU_TRAIN_ALL ? GRU__R8(GRU__MAXZ(I, H)) * 3 * (size_t)(H) : 0) +           \
                    GRU__R8(GRU__TRAIN_HT(K, H, HL)) * (3 * GRU__TRAIN_HT(K, H, HL) + (size_t)(O))) + \
            (size_t)(T) * (size_t)(B) * ((K) == GRU_TRAIN_ALL ? 2 * GRU__MAXZ(H, O) : (size_t)(HL)) + \
            (size_t)(B) * (2 * GRU__R8(GRU__TRAIN_HT(K, H, HL)) + GRU__R8(3 * GRU__TRAIN_HT(K, H, HL)) + \
                           GRU__R8(2 * GRU__TRAIN_HT(K, H, HL)) +                                    \
                           GRU__MAXZ(GRU__TRAIN_IT(K, H, I, IL), GRU__TRAIN_HT(K, H, HL)) +         \
                           2 * GRU__TRAIN_HT(K, H, HL) +                                            \
                           2 * GRU__R8(GRU__MAXZ(GRU__MAXZ(GRU__TRAIN_IT(K, H, I, IL),               \
                                                           GRU__TRAIN_HT(K, H, HL)), O)))) +         \
     ((B) > 1 ? 2 : 1) * GRU_SCRATCH_SIZE(H, O))

/* Check the model (wired) and the workspace size, and bind them. */
int gru_train_init(gru_train *tr, const gru_model *model, int max_batch, int max_steps,
                   int return_sequences, float *workspace, size_t workspace_size);

/* ---------------------------------------------------------------- forward / loss / backward */

/* Forward over a batch, saving what backward needs in the workspace.
 *   x        [batch][steps][input_size]; must stay unchanged until backward.
 *   lengths  [batch] in 1..steps, or NULL; must stay unchanged until backward.
 *   h0       [batch][state_size] initial states (gru_state_size), or NULL for 0.
 *   y        outputs (see layouts above), or NULL.
 *   h_last   [batch][state_size]: each sequence's state after its last valid
 *            step (the h0 of the next truncated-BPTT chunk), or NULL. */
int gru_train_forward(gru_train *tr, const float *x, int batch, int steps,
                      const int32_t *lengths, const float *h0, float *y, float *h_last);

typedef enum gru_loss_kind {
    GRU_LOSS_MSE = 0,             /* target: floats shaped like y; head activation none/sigmoid/tanh */
    GRU_LOSS_CROSS_ENTROPY = 1    /* labels: int32 classes; softmax of the pre-activation outputs
                                     (head activation none or softmax) */
} gru_loss_kind;

/* Loss of the last forward (mean, see above) into *loss, and its gradient
 * kept for backward. `target` for MSE, `labels` for cross-entropy (the other
 * may be NULL). A label outside 0..O-1 gives GRU_ERR_ARGUMENT. */
int gru_train_loss(gru_train *tr, int loss_kind, const float *target, const int32_t *labels,
                   float *loss);

/* Backpropagation through time of the last loss. Overwrites `grad`
 * (parameter layout, gru_train_param_size floats) with dLoss/dparams.
 * dx ([batch][steps][input], zero at padding) and dh0 ([batch][state_size])
 * receive the gradients for the input and the initial state, or are NULL. */
int gru_train_backward(gru_train *tr, float *grad, size_t grad_size, float *dx, float *dh0);

/* Gradient accumulation: as gru_train_backward (without dx / dh0), but ADDS
 * weight * dLoss/dparams to grad (zero it before the first micro-batch;
 * weight: the micro-batch's share of the batch's loss terms). Consumes the
 * loss gradient: run gru_train_loss again before another backward. */
int gru_train_backward_add(gru_train *tr, float *grad, size_t grad_size, float weight);

/* ---------------------------------------------------------------- clipping and optimizers */

/* Global L2 norm of grad[0..n) into *norm (may be NULL); if max_norm > 0 and
 * the norm exceeds it, scale grad by max_norm / (norm + 1e-6) (PyTorch's
 * clip_grad_norm_). The sum of squares runs in double, in index order. */
int gru_clip_grad_norm(float *grad, size_t n, float max_norm, float *norm);

typedef enum gru_optimizer_kind {
    GRU_OPT_SGD = 0,     /* p -= lr * buf, buf = momentum * buf + (g + wd * p) (PyTorch SGD) */
    GRU_OPT_ADAM = 1,    /* Adam, weight decay as L2 added to the gradient (torch.optim.Adam) */
    GRU_OPT_ADAMW = 2    /* Adam with decoupled weight decay p *= 1 - lr * wd (torch.optim.AdamW) */
} gru_optimizer_kind;

typedef struct gru_optimizer {
    int kind;
    float lr, momentum, weight_decay, beta1, beta2, eps;
    long step;                        /* updates done; set to 0 (gru_optimizer_init) */
    double beta1_pow, beta2_pow;      /* beta^step, kept by gru_optimizer_step */
} gru_optimizer;

/* Fill `opt` with PyTorch's defaults for `kind` (SGD: momentum 0; Adam/AdamW:
 * betas 0.9, 0.999, eps 1e-8; weight decay 0, AdamW 0.01) and the given lr. */
int gru_optimizer_init(gru_optimizer *opt, int kind, float lr);

/* Floats of optimizer state for n parameters (SGD: n momentum values, none
 * with momentum 0; Adam: 2n moments); the macro is the largest. Zero the
 * state before the first step. */
size_t gru_optimizer_state_size(const gru_optimizer *opt, size_t n);
#define GRU_OPTIMIZER_STATE_SIZE(n) (2 * (size_t)(n))

/* One update of params[0..n) from grad[0..n). */
int gru_optimizer_step(gru_optimizer *opt, float *params, const float *grad, float *state,
                       size_t n);

/* ---------------------------------------------------------------- guarded steps */

/* Returned (positive: not a call error) when a step was refused because a
 * value was not finite: the loss, the gradient norm, or any updated weight or
 * optimizer value. Nothing was written to the parameters, the optimizer state
 * or the gru_optimizer: the previous weights stay in place. */
#define GRU_TRAIN_SKIPPED 1

/* gru_optimizer_step that first computes the whole update without storing
 * it (a second pass of the same arithmetic stores it): GRU_OK, or
 * GRU_TRAIN_SKIPPED with nothing changed. */
int gru_optimizer_step_safe(gru_optimizer *opt, float *params, const float *grad, float *state,
                            size_t n);

/* One batch for gru_train_step: inputs as gru_train_forward and
 * gru_train_loss; y and h_last (outputs) may be NULL. */
typedef struct gru_train_batch {
    const float *x;
    int batch, steps;
    const int32_t *lengths;   /* or NULL */
    const float *h0;          /* or NULL */
    int loss_kind;            /* gru_loss_kind */
    const float *target;      /* MSE */
    const int32_t *labels;    /* cross-entropy */
    float *y, *h_last;
} gru_train_batch;

/* One guarded training step: forward, loss, backward, clipping to clip_norm
 * (0: none) and gru_optimizer_step_safe over the trainable floats. A batch
 * larger than the trainer's max_batch runs in micro-batches of max_batch
 * sequences whose gradients accumulate (gru_train_backward_add) into one
 * update, so batches need not fit the workspace; the loss is then their
 * terms-weighted mean. Updates
 * params[0 .. gru_train_trainable_size) (the buffer the model's trainable
 * part is wired to), with grad and state of that size. *loss and *norm (may
 * be NULL) receive the loss and the gradient norm before clipping (norm 0
 * when the loss was not finite). Returns GRU_OK, GRU_TRAIN_SKIPPED (nothing
 * changed) or a negative status. A firmware that commits params, state and
 * opt to non-volatile memory after each GRU_OK can resume after power loss
 * from the last commit (examples/fine_tune). */
int gru_train_step(gru_train *tr, gru_optimizer *opt, float *params, float *grad, float *state,
                   const gru_train_batch *data, float clip_norm, float *loss, float *norm);

#ifdef __cplusplus
}
#endif

#endif /* GRU_TRAIN_H */
