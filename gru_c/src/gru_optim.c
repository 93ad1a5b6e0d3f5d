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
    if (opt->kind == GRU_OPT_SGD)
        return opt->momentum != 0.0f ? n : 0;
    return 2 * n;
}

/* 1 if v is not finite (no libm: inf - inf and NaN - NaN are NaN). */
static inline int gru__bad(float v) { return !(v - v == 0.0f); }

/* SGD; with momentum 0 the update is the gradient itself (no state, as
 * PyTorch keeps none). store = 0: only report whether any new value would be
 * non-finite, writing nothing. */
static int gru__sgd(const gru_optimizer *opt, float *restrict p, const float *restrict g,
                    float *restrict buf, size_t n, int store)
{
    const float lr = opt->lr, mu = opt->momentum, wd = opt->weight_decay;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const float gi = g[i] + wd * p[i];
        const float v = mu != 0.0f ? mu * buf[i] + gi : gi;
        const float pn = p[i] - lr * v;
        if (store) {
            if (mu != 0.0f)
                buf[i] = v;
            p[i] = pn;
        } else {
            bad |= gru__bad(v) | gru__bad(pn);
        }
    }
    return bad;
}

/* torch.optim.Adam/AdamW (single-tensor form): m, v moments; bias corrections
 * in double as PyTorch computes them in Python. */
static int gru__adam(const gru_optimizer *opt, float *restrict p, const float *restrict g,
                     float *restrict m, float *restrict v, size_t n, int store)
{
    int bad = 0;
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
        const float denom = gru__sqrt(vi) / bc2_sqrt + eps;
        const float pn = pi - step_size * (mi / denom);
        if (store) {
            m[i] = mi;
            v[i] = vi;
            p[i] = pn;
        } else {
            bad |= gru__bad(mi) | gru__bad(vi) | gru__bad(pn);
        }
    }
    return bad;
}

/* One update (store = 1) or its dry run (store = 0: 1 if a new value would
 * not be finite; nothing written, opt unchanged). */
static int gru__update(gru_optimizer *opt, float *params, const float *grad, float *state,
                       size_t n, int store)
{
    if (opt->kind == GRU_OPT_SGD) {
        const int bad = gru__sgd(opt, params, grad, state, n, store);
        opt->step += store;
        return bad;
    }
    gru_optimizer next = *opt;
    next.step++;
    next.beta1_pow *= (double)opt->beta1;
    next.beta2_pow *= (double)opt->beta2;
    const int bad = gru__adam(&next, params, grad, state, state ? state + n : NULL, n, store);
    if (store)
        *opt = next;
    return bad;
}

static int gru__step_args(const gru_optimizer *opt, const float *params, const float *grad,
                          const float *state, size_t n)
{
    if (!opt)
        return GRU_ERR_NULL;
    if (opt->kind < GRU_OPT_SGD || opt->kind > GRU_OPT_ADAMW)
        return GRU_ERR_ARGUMENT;
    if ((!params || !grad || (!state && gru_optimizer_state_size(opt, n) > 0)) && n > 0)
        return GRU_ERR_NULL;
    return GRU_OK;
}

/* safe: dry-run first, and refuse a non-finite update (GRU_TRAIN_SKIPPED). */
static int gru__step(gru_optimizer *opt, float *params, const float *grad, float *state, size_t n,
                     int safe)
{
    const int status = gru__step_args(opt, params, grad, state, n);
    if (status != GRU_OK)
        return status;
    if (safe && gru__update(opt, params, grad, state, n, 0))
        return GRU_TRAIN_SKIPPED;
    gru__update(opt, params, grad, state, n, 1);
    return GRU_OK;
}

int gru_optimizer_step(gru_optimizer *opt, float *params, const float *grad, float *state,
                       size_t n)
{
    return gru__step(opt, params, grad, state, n, 0);
}

int gru_optimizer_step_safe(gru_optimizer *opt, float *params, const float *grad, float *state,
                            size_t n)
{
    return gru__step(opt, params, grad, state, n, 1);
}
