/* gru_optim.c - global-norm gradient clipping, SGD (momentum, weight decay),
 * Adam and AdamW, as elementwise loops over the flat parameter buffer. No libm:
 * square roots come from gru__sqrt. */
#include "gru_train_internal.h"

int gru_clip_grad_norm(float *grad, size_t n, float max_norm, float *norm)
{
    if (!grad && n > 0)
        return GRU_ERR_NULL;
    if (!(max_norm >= 0.0f))
        return GRU_ERR_ARGUMENT;
    double sq = 0.0;
    for (size_t i = 0; i < n; i++)
        sq += (double)grad[i] * (double)grad[i];
    const float total = gru__sqrt((float)sq);
    if (norm)
        *norm = total;
    if (max_norm > 0.0f && total > max_norm) {
        const float coef = max_norm / (total + 1e-6f);
        for (size_t i = 0; i < n; i++)
            grad[i] = grad[i] * coef;
    }
    return GRU_OK;
}

int gru_optimizer_init(gru_optimizer *opt, int kind, float lr)
{
    if (!opt)
        return GRU_ERR_NULL;
    if (kind < GRU_OPT_SGD || kind > GRU_OPT_ADAMW || !(lr > 0.0f))
        return GRU_ERR_ARGUMENT;
    memset(opt, 0, sizeof *opt);
    opt->kind = kind;
    opt->lr = lr;
    opt->beta1 = 0.9f;
    opt->beta2 = 0.999f;
    opt->eps = 1e-8f;
    opt->weight_decay = kind == GRU_OPT_ADAMW ? 0.01f : 0.0f;
    opt->beta1_pow = 1.0;
    opt->beta2_pow = 1.0;
    return GRU_OK;
}

size_t gru_optimizer_state_size(const gru_optimizer *opt, size_t n)
{
    if (!opt)
        return 0;
    return opt->kind == GRU_OPT_SGD ? n : 2 * n;
}

static void gru__sgd(const gru_optimizer *opt, float *restrict p, const float *restrict g,
                     float *restrict buf, size_t n)
{
    const float lr = opt->lr, mu = opt->momentum, wd = opt->weight_decay;
    for (size_t i = 0; i < n; i++) {
        const float gi = g[i] + wd * p[i];
        const float v = mu * buf[i] + gi;
        buf[i] = v;
        p[i] = p[i] - lr * v;
    }
}

/* torch.optim.Adam/AdamW (single-tensor form): m, v moments; bias corrections
 * in double as PyTorch computes them in Python. */
static void gru__adam(const gru_optimizer *opt, float *restrict p, const float *restrict g,
                      float *restrict m, float *restrict v, size_t n)
{
    const float b1 = opt->beta1, b2 = opt->beta2, eps = opt->eps;
    const float wd = opt->kind == GRU_OPT_ADAM ? opt->weight_decay : 0.0f;
    const float decay = opt->kind == GRU_OPT_ADAMW ? 1.0f - opt->lr * opt->weight_decay : 1.0f;
    const float step_size = (float)((double)opt->lr / (1.0 - opt->beta1_pow));
    const float bc2_sqrt = gru__sqrt((float)(1.0 - opt->beta2_pow));
    for (size_t i = 0; i < n; i++) {
        const float pi = p[i] * decay;
        const float gi = g[i] + wd * pi;
        const float mi = b1 * m[i] + (1.0f - b1) * gi;
        const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        const float denom = gru__sqrt(vi) / bc2_sqrt + eps;
        p[i] = pi - step_size * (mi / denom);
    }
}

int gru_optimizer_step(gru_optimizer *opt, float *params, const float *grad, float *state,
                       size_t n)
{
    if (!opt || ((!params || !grad || !state) && n > 0))
        return GRU_ERR_NULL;
    if (opt->kind < GRU_OPT_SGD || opt->kind > GRU_OPT_ADAMW)
        return GRU_ERR_ARGUMENT;
    opt->step++;
    if (opt->kind == GRU_OPT_SGD) {
        gru__sgd(opt, params, grad, state, n);
        return GRU_OK;
    }
    opt->beta1_pow *= (double)opt->beta1;
    opt->beta2_pow *= (double)opt->beta2;
    gru__adam(opt, params, grad, state, state + n, n);
    return GRU_OK;
}
