/* gru_train_step.c - one guarded training step (contract in gru_train.h): a
 * non-finite loss, gradient norm or updated value leaves the weights as they
 * were. */
#include "gru_train_internal.h"

int gru_train_step(gru_train *tr, gru_optimizer *opt, float *params, float *grad, float *state,
                   const gru_train_batch *data, float clip_norm, float *loss, float *norm)
{
    if (!tr || !tr->model || !opt || !data)
        return GRU_ERR_NULL;
    const size_t n = gru_train_trainable_size(tr->model, tr->trainable);
    float value = 0.0f, total = 0.0f;
    if (norm)
        *norm = 0.0f;
    int status = gru_train_forward(tr, data->x, data->batch, data->steps, data->lengths, data->h0,
                                   data->y, data->h_last);
    if (status == GRU_OK)
        status = gru_train_loss(tr, data->loss_kind, data->target, data->labels, &value);
    if (status != GRU_OK)
        return status;
    if (loss)
        *loss = value;
    if (!(value - value == 0.0f))
        return GRU_TRAIN_SKIPPED;
    if ((status = gru_train_backward(tr, grad, n, NULL, NULL)) != GRU_OK)
        return status;
    if ((status = gru_clip_grad_norm(grad, n, clip_norm, &total)) != GRU_OK)
        return status;
    if (norm)
        *norm = total;
    if (!(total - total == 0.0f))
        return GRU_TRAIN_SKIPPED;
    return gru_optimizer_step_safe(opt, params, grad, state, n);
}
