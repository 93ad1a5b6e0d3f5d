/* gru_loss.c - training losses (MSE, softmax cross-entropy) and the gradient of
 * the loss with respect to the model's pre-activation outputs. */
#include "gru_train_internal.h"

/* d loss / d logit from d loss / d y for the head's activation. */
static float gru__act_grad(int activation, float y, float dy)
{
    if (activation == GRU_ACT_SIGMOID)
        return dy * y * (1.0f - y);
    if (activation == GRU_ACT_TANH)
        return dy * (1.0f - y * y);
    return dy;
}

/* Softmax of one row of logits into p (index-order sum, as gru__activate);
 * returns log(sum of exp(logit - max)) and the max through *m. */
static float gru__softmax_row(const float *logit, int n, float *p, float *m)
{
    float mx = logit[0];
    for (int j = 1; j < n; j++)
        mx = gru__max(mx, logit[j]);
    float sum = 0.0f;
    for (int j = 0; j < n; j++) {
        p[j] = gru__exp_shifted(logit[j] - mx);
        sum += p[j];
    }
    for (int j = 0; j < n; j++)
        p[j] = p[j] / sum;
    *m = mx;
    return gru__log(sum);
}

int gru_train_loss(gru_train *tr, int loss_kind, const float *target, const int32_t *labels,
                   float *loss)
{
    if (!tr || !tr->model || !loss)
        return GRU_ERR_NULL;
    if (!tr->has_forward)
        return GRU_ERR_ARGUMENT;
    const gru_model *model = tr->model;
    const int activation = model->has_head ? model->head.activation : GRU_ACT_NONE;
    if (loss_kind == GRU_LOSS_MSE) {
        if (!target)
            return GRU_ERR_NULL;
        if (activation == GRU_ACT_SOFTMAX)
            return GRU_ERR_ACTIVATION;
    } else if (loss_kind == GRU_LOSS_CROSS_ENTROPY) {
        if (!labels)
            return GRU_ERR_NULL;
        if (activation != GRU_ACT_NONE && activation != GRU_ACT_SOFTMAX)
            return GRU_ERR_ACTIVATION;
    } else {
        return GRU_ERR_ARGUMENT;
    }
    const gru__train_ws w = gru__ws_layout(model, tr->ws, tr->max_batch, tr->max_steps,
                                           tr->return_sequences, tr->trainable, tr->low_memory);
    const int B = tr->batch, T = tr->steps, O = gru_model_output_size(model);
    const size_t RO = gru__r8((size_t)O);
    const int seq = tr->return_sequences, To = seq ? T : 1;

    /* Number of loss terms: sequences, or valid steps. */
    long count = 0;
    for (int b = 0; b < B; b++)
        count += seq ? gru__len(tr, b) : 1;
    if (loss_kind == GRU_LOSS_CROSS_ENTROPY) {
        for (int b = 0; b < B; b++)
            for (int t = 0; t < (seq ? gru__len(tr, b) : 1); t++) {
                const int32_t c = labels[seq ? (size_t)b * (size_t)T + (size_t)t : (size_t)b];
                if (c < 0 || c >= O)
                    return GRU_ERR_ARGUMENT;
            }
    }
    const float scale = loss_kind == GRU_LOSS_MSE ? 2.0f / ((float)count * (float)O)
                                                  : 1.0f / (float)count;
    double total = 0.0;
    for (int t = 0; t < To; t++)
        for (int b = 0; b < B; b++) {
            const size_t row = ((size_t)t * (size_t)B + (size_t)b) * RO;
            float *restrict d = w.dlogit + row;
            if (seq && t >= gru__len(tr, b)) {
                memset(d, 0, RO * sizeof *d);
                continue;
            }
            const size_t src = seq ? (size_t)b * (size_t)T + (size_t)t : (size_t)b;
            if (loss_kind == GRU_LOSS_MSE) {
                const float *y = w.y + row, *tg = target + src * (size_t)O;
                for (int j = 0; j < O; j++) {
                    const float e = y[j] - tg[j];
                    total += (double)e * (double)e;
                    d[j] = gru__act_grad(activation, y[j], scale * e);
                }
            } else {
                const int32_t c = labels[src];
                float m;
                const float lse = gru__softmax_row(w.logits + row, O, d, &m);
                total += (double)(lse - (w.logits[row + (size_t)c] - m));
                for (int j = 0; j < O; j++)
                    d[j] = scale * (d[j] - (j == c ? 1.0f : 0.0f));
            }
            for (size_t j = (size_t)O; j < RO; j++)
                d[j] = 0.0f;
        }
    const double denom = (double)count * (loss_kind == GRU_LOSS_MSE ? (double)O : 1.0);
    *loss = (float)(total / denom);
    tr->has_loss = 1;
    return GRU_OK;
}
