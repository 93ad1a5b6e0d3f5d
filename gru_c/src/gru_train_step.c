/* gru_train_step.c - one guarded training step over micro-batches (contract
 * in gru_train.h): a non-finite loss, gradient norm or updated value leaves
 * the weights as they were. */
#include "gru_train_internal.h"

/* Sequences [b0, b0 + count) of `d`, as a batch of their own. */
static gru_train_batch gru__part(const gru_train *tr, const gru_train_batch *d, int b0, int count)
{
    const gru_model *model = tr->model;
    const size_t b = (size_t)b0, T = (size_t)d->steps, I = (size_t)model->layers[0].input_size;
    const size_t O = (size_t)gru_model_output_size(model), S = gru__sum_hidden(model);
    const size_t per = tr->return_sequences ? T : 1;
    gru_train_batch p = *d;
    p.batch = count;
    p.x = d->x + b * T * I;
    p.lengths = d->lengths ? d->lengths + b : NULL;
    p.h0 = d->h0 ? d->h0 + b * S : NULL;
    p.target = d->target ? d->target + b * per * O : NULL;
    p.labels = d->labels ? d->labels + b * per : NULL;
    p.y = d->y ? d->y + b * per * O : NULL;
    p.h_last = d->h_last ? d->h_last + b * S : NULL;
    return p;
}

/* Loss terms of sequences [b0, b0 + count): sequences, or valid steps. */
static long gru__terms(const gru_train *tr, const gru_train_batch *d, int b0, int count)
{
    if (!tr->return_sequences)
        return count;
    long n = 0;
    for (int b = b0; b < b0 + count; b++)
        n += d->lengths ? (long)d->lengths[b] : (long)d->steps;
    return n;
}

/* Forward, loss and gradient accumulation over micro-batches of up to
 * tr->max_batch sequences; *loss: the batch's mean loss (terms-weighted). */
static int gru__accumulate(gru_train *tr, const gru_train_batch *d, float *grad, size_t n,
                           float *loss)
{
    const int micro = tr->max_batch;
    if (d->batch <= micro) { /* one pass: exactly gru_train_backward's gradient */
        int status = gru_train_forward(tr, d->x, d->batch, d->steps, d->lengths, d->h0, d->y,
                                       d->h_last);
        if (status == GRU_OK)
            status = gru_train_loss(tr, d->loss_kind, d->target, d->labels, loss);
        if (status != GRU_OK || !(*loss - *loss == 0.0f))
            return status;
        return gru_train_backward(tr, grad, n, NULL, NULL);
    }
    if (d->lengths)
        for (int b = 0; b < d->batch; b++)
            if (d->lengths[b] < 1 || d->lengths[b] > d->steps)
                return GRU_ERR_ARGUMENT;
    const float total = (float)gru__terms(tr, d, 0, d->batch);
    float sum = 0.0f;
    memset(grad, 0, n * sizeof *grad);
    for (int b0 = 0; b0 < d->batch; b0 += micro) {
        const int count = d->batch - b0 < micro ? d->batch - b0 : micro;
        const gru_train_batch p = gru__part(tr, d, b0, count);
        const float weight = (float)gru__terms(tr, d, b0, count) / total;
        float part = 0.0f;
        int status = gru_train_forward(tr, p.x, p.batch, p.steps, p.lengths, p.h0, p.y, p.h_last);
        if (status == GRU_OK)
            status = gru_train_loss(tr, p.loss_kind, p.target, p.labels, &part);
        if (status != GRU_OK)
            return status;
        sum += weight * part;
        if (!(part - part == 0.0f)) {
            *loss = part;
            return GRU_OK;
        }
        if ((status = gru_train_backward_add(tr, grad, n, weight)) != GRU_OK)
            return status;
    }
    *loss = sum;
    return GRU_OK;
}

int gru_train_step(gru_train *tr, gru_optimizer *opt, float *params, float *grad, float *state,
                   const gru_train_batch *data, float clip_norm, float *loss, float *norm)
{
    if (!tr || !tr->model || !opt || !data || !grad)
        return GRU_ERR_NULL;
    if (!data->x)
        return GRU_ERR_NULL;
    if (data->batch < 1 || data->steps < 1)
        return GRU_ERR_ARGUMENT;
    const size_t n = gru_train_trainable_size(tr->model, tr->trainable);
    float value = 0.0f, total = 0.0f;
    if (norm)
        *norm = 0.0f;
    int status = gru__accumulate(tr, data, grad, n, &value);
    if (status != GRU_OK)
        return status;
    if (loss)
        *loss = value;
    if (!(value - value == 0.0f))
        return GRU_TRAIN_SKIPPED;
    if ((status = gru_clip_grad_norm(grad, n, clip_norm, &total)) != GRU_OK)
        return status;
    if (norm)
        *norm = total;
    if (!(total - total == 0.0f))
        return GRU_TRAIN_SKIPPED;
    return gru_optimizer_step_safe(opt, params, grad, state, n);
}
