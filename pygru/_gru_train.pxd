# Cython declarations of gru_c/include/gru_train.h (training API).
from libc.stdint cimport int32_t
from pygru._gru cimport gru_model

cdef extern from "gru_train.h" nogil:
    enum:
        GRU_LOSS_MSE
        GRU_LOSS_CROSS_ENTROPY
        GRU_OPT_SGD
        GRU_OPT_ADAM
        GRU_OPT_ADAMW
        GRU_TRAIN_ALL
        GRU_TRAIN_LAST
        GRU_TRAIN_HEAD
        GRU_TRAIN_SKIPPED

    ctypedef struct gru_train:
        pass

    ctypedef struct gru_optimizer:
        int kind
        float lr, momentum, weight_decay, beta1, beta2, eps
        long step
        double beta1_pow, beta2_pow

    ctypedef struct gru_train_config:
        int max_batch, max_steps, return_sequences, trainable, low_memory

    ctypedef struct gru_train_batch:
        const float *x
        int batch, steps
        const int32_t *lengths
        const float *h0
        int loss_kind
        const float *target
        const int32_t *labels
        float *y
        float *h_last

    size_t gru_train_trainable_offset(const gru_model *model, int trainable)
    size_t gru_train_trainable_size(const gru_model *model, int trainable)
    size_t gru_train_workspace_size_config(const gru_model *model, const gru_train_config *config)
    int gru_train_init_config(gru_train *tr, const gru_model *model, const gru_train_config *config,
                              float *workspace, size_t workspace_size)
    int gru_optimizer_step_safe(gru_optimizer *opt, float *params, const float *grad, float *state,
                                size_t n)
    int gru_train_step(gru_train *tr, gru_optimizer *opt, float *params, float *grad, float *state,
                       const gru_train_batch *data, float clip_norm, float *loss, float *norm)
    size_t gru_train_param_size(const gru_model *model)
    int gru_train_wire(gru_model *model, const float *params, size_t param_size)
    size_t gru_train_workspace_size(const gru_model *model, int max_batch, int max_steps,
                                    int return_sequences)
    int gru_train_init(gru_train *tr, const gru_model *model, int max_batch, int max_steps,
                       int return_sequences, float *workspace, size_t workspace_size)
    int gru_train_forward(gru_train *tr, const float *x, int batch, int steps,
                          const int32_t *lengths, const float *h0, float *y, float *h_last)
    int gru_train_loss(gru_train *tr, int loss_kind, const float *target, const int32_t *labels,
                       float *loss)
    int gru_train_backward(gru_train *tr, float *grad, size_t grad_size, float *dx, float *dh0)
    int gru_clip_grad_norm(float *grad, size_t n, float max_norm, float *norm)
    int gru_optimizer_init(gru_optimizer *opt, int kind, float lr)
    size_t gru_optimizer_state_size(const gru_optimizer *opt, size_t n)
    int gru_optimizer_step(gru_optimizer *opt, float *params, const float *grad, float *state,
                           size_t n)
