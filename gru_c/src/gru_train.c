/* gru_train.c - training forward with saved activations and backpropagation
 * through time (contract in gru_train.h; parameters and workspace in
 * gru_train_setup.c). */
#include "gru_train_internal.h"

static gru__train_ws gru__ws(const gru_train *tr)
{
    return gru__ws_layout(tr->model, tr->ws, tr->max_batch, tr->max_steps, tr->return_sequences,
                          tr->trainable, tr->low_memory);
}

/* ---------------------------------------------------------------- forward */

/* Out-of-line, separately dispatched kernels: inlined into the long BPTT loop
 * their accumulators were spilled to the stack (measured 3x slower). */
GRU__DISPATCH GRU__NOINLINE static void gru__gemv_k(const float *w, int rows, int cols,
                                                   const float *x0, const float *x1,
                                                   const float *bias0, const float *bias1,
                                                   float *y0, float *y1)
{
    gru__gemv2(w, rows, cols, x0, x1, bias0, bias1, y0, y1);
}

GRU__DISPATCH GRU__NOINLINE static void gru__ger_k(float *dw, int rows, int cols,
                                                  const float *d, int ldd, int n,
                                                  const float *xt, int ldx)
{
    gru__ger(dw, rows, cols, d, ldd, n, xt, ldx);
}

/* One layer step for one or two sequences (x1 == NULL: one), saving the gates
 * (unless g0 / g1 are NULL: a frozen layer backward never visits).
 * The matrix products read each weight once for both sequences. */
GRU__DISPATCH GRU__NOINLINE static void gru__step_k(const gru_layer *layer, const float *x0,
                                                   const float *x1, const float *h0,
                                                   const float *h1, float *o0, float *o1,
                                                   float *g0, float *g1, gru__scratch s0,
                                                   gru__scratch s1)
{
    const int H = layer->hidden_size;
    const float *b_hn = layer->b_hh + 2 * H;
    gru__gemv_k(layer->w_ih, 3 * H, layer->input_size, x0, x1, layer->b_ih, NULL, s0.gi, s1.gi);
    gru__gemv_k(layer->w_hh_rz, 2 * H, H, h0, x1 ? h1 : NULL, layer->b_hh, NULL, s0.gh, s1.gh);
    if (layer->reset_after) {
        /* The inference cell (gru_cell.h), keeping the gates: same
         * expressions, so h comes out bit-identical to inference. */
        gru__cell_rz_loop(2 * H, s0.gi, s0.gh);
        if (x1)
            gru__cell_rz_loop(2 * H, s1.gi, s1.gh);
        gru__gemv_k(layer->w_hh_n, H, H, h0, x1 ? h1 : NULL, b_hn, NULL, s0.ghn, s1.ghn);
        GRU__CELL(gru__cell_after_loop, g0, H, s0.gi, s0.gh, s0.ghn, h0, o0);
        if (x1)
            GRU__CELL(gru__cell_after_loop, g1, H, s1.gi, s1.gh, s1.ghn, h1, o1);
    } else {
        GRU__CELL(gru__cell_before_rz_loop, g0, H, s0.gi, s0.gh, h0, s0.rh);
        if (x1)
            GRU__CELL(gru__cell_before_rz_loop, g1, H, s1.gi, s1.gh, h1, s1.rh);
        gru__gemv_k(layer->w_hh_n, H, H, s0.rh, x1 ? s1.rh : NULL, b_hn, NULL, s0.ghn, s1.ghn);
        GRU__CELL(gru__cell_before_loop, g0, H, s0.gi, s0.gh, s0.ghn, h0, o0);
        if (x1)
            GRU__CELL(gru__cell_before_loop, g1, H, s1.gi, s1.gh, s1.ghn, h1, o1);
    }
}

/* Head on one state: logits (padded row) and the activated output y, as
 * gru__model_step computes them. */
static void gru__head_forward(const gru_dense *head, const float *h, float *logits, float *y)
{
    gru__gemv_k(head->weight, head->output_size, head->input_size, h, NULL, head->bias, NULL,
                logits, NULL);
    memcpy(y, logits, (size_t)head->output_size * sizeof *y);
    gru__activate_k(head->activation, y, head->output_size);
}

/* h of layer l before step t of sequence b (the saved initial state at t = 0). */
static const float *gru__h_prev(const gru_train *tr, const gru__train_ws *w, int l, int t, int b)
{
    const gru_model *model = tr->model;
    const size_t H = (size_t)model->layers[l].hidden_size;
    if (t > 0)
        return gru__hrow(w, model, l, t - 1, tr->batch) + (size_t)b * H;
    size_t off = 0;
    for (int k = 0; k < l; k++)
        off += (size_t)model->layers[k].hidden_size;
    return w->h0 + (size_t)b * gru__sum_hidden(model) + off;
}

/* Step t of every layer for sequences b0 and b1 (b1 < 0: b0 alone). */
static void gru__forward_pair(const gru_train *tr, const gru__train_ws *w, int t, int b0, int b1,
                              gru__scratch s0, gru__scratch s1)
{
    const gru_model *model = tr->model;
    const size_t T = (size_t)tr->steps, B = (size_t)tr->batch;
    const size_t I = (size_t)model->layers[0].input_size;
    const int bb = b1 >= 0 ? b1 : b0;
    const float *in0 = tr->x + ((size_t)b0 * T + (size_t)t) * I;
    const float *in1 = b1 >= 0 ? tr->x + ((size_t)b1 * T + (size_t)t) * I : NULL;
    for (int l = 0; l < model->num_layers; l++) {
        const gru_layer *layer = &model->layers[l];
        const size_t H = (size_t)layer->hidden_size;
        float *hrow = gru__hrow(w, model, l, t, (int)B), *grow = gru__grow(w, model, l, t, (int)B);
        float *o0 = hrow + (size_t)b0 * H, *o1 = hrow + (size_t)bb * H;
        gru__step_k(layer, in0, in1, gru__h_prev(tr, w, l, t, b0), gru__h_prev(tr, w, l, t, bb), o0,
                    in1 ? o1 : NULL, grow ? grow + (size_t)b0 * 4 * H : NULL,
                    grow ? grow + (size_t)bb * 4 * H : NULL, s0, s1);
        in0 = o0;
        in1 = in1 ? o1 : NULL;
    }
}

static void gru__forward(gru_train *tr, const float *h0, float *y, float *h_last)
{
    const gru_model *model = tr->model;
    const gru__train_ws w = gru__ws(tr);
    const int B = tr->batch, T = tr->steps, L = model->num_layers;
    const size_t S = gru__sum_hidden(model);
    const size_t O = (size_t)gru_model_output_size(model), RO = gru__r8(O);
    const int max_hidden = gru__max_hidden(model);
    const gru__scratch s0 = gru__scratch_split(w.scratch, max_hidden, (int)O);
    const gru__scratch s1 = tr->max_batch > 1 ? gru__scratch_split(w.scratch + gru_scratch_size(model),
                                                                    max_hidden, (int)O)
                                               : s0; /* never used: one sequence per pass */

    if (h0)
        memcpy(w.h0, h0, (size_t)B * S * sizeof *w.h0);
    else
        memset(w.h0, 0, (size_t)B * S * sizeof *w.h0);

    for (int t = 0; t < T; t++) {
        /* Active sequences run two at a time; padding steps hold the state. */
        int pending = -1;
        for (int b = 0; b < B; b++) {
            if (!(t < gru__len(tr, b))) {
                for (int l = 0; l < L; l++) {
                    const size_t H = (size_t)model->layers[l].hidden_size;
                    memcpy(gru__hrow(&w, model, l, t, B) + (size_t)b * H,
                           gru__h_prev(tr, &w, l, t, b), H * sizeof(float));
                }
            } else if (pending < 0) {
                pending = b;
            } else {
                gru__forward_pair(tr, &w, t, pending, b, s0, s1);
                pending = -1;
            }
        }
        if (pending >= 0)
            gru__forward_pair(tr, &w, t, pending, -1, s0, s1);
        /* Outputs of step t (every step, or the last one). */
        if (!tr->return_sequences && t != T - 1)
            continue;
        const float *h_top = gru__hrow(&w, model, L - 1, t, B);
        const size_t Ht = (size_t)model->layers[L - 1].hidden_size;
        for (int b = 0; b < B; b++) {
            const float *hb = h_top + (size_t)b * Ht;
            const size_t row = ((tr->return_sequences ? (size_t)t : 0) * (size_t)B + (size_t)b) * RO;
            if (model->has_head)
                gru__head_forward(&model->head, hb, w.logits + row, w.y + row);
            else {
                memcpy(w.logits + row, hb, O * sizeof *w.logits);
                memcpy(w.y + row, hb, O * sizeof *w.y);
            }
            if (y) {
                float *dst = tr->return_sequences ? y + ((size_t)b * (size_t)T + (size_t)t) * O
                                                  : y + (size_t)b * O;
                memcpy(dst, w.y + row, O * sizeof *dst);
            }
        }
    }
    if (h_last) {
        for (int b = 0; b < B; b++) {
            size_t off = 0;
            for (int l = 0; l < L; l++) {
                const size_t H = (size_t)model->layers[l].hidden_size;
                memcpy(h_last + (size_t)b * S + off, gru__hrow(&w, model, l, T - 1, B) + (size_t)b * H,
                       H * sizeof *h_last);
                off += H;
            }
        }
    }
}

int gru_train_forward(gru_train *tr, const float *x, int batch, int steps,
                      const int32_t *lengths, const float *h0, float *y, float *h_last)
{
    if (!tr || !tr->model || !x)
        return GRU_ERR_NULL;
    if (batch < 1 || batch > tr->max_batch || steps < 1 || steps > tr->max_steps)
        return GRU_ERR_ARGUMENT;
    if (lengths)
        for (int b = 0; b < batch; b++)
            if (lengths[b] < 1 || lengths[b] > steps)
                return GRU_ERR_ARGUMENT;
    tr->x = x;
    tr->lengths = lengths;
    tr->batch = batch;
    tr->steps = steps;
    tr->has_loss = 0;
    gru__forward(tr, h0, y, h_last);
    tr->has_forward = 1;
    return GRU_OK;
}

/* ---------------------------------------------------------------- backward */

/* y_b = W x_b (+ bias_b) for every sequence b < B, two per pass over W:
 * x rows of stride ldx, bias rows (or NULL) and y rows of stride ldy. */
static void gru__gemv_batch(const float *w, int rows, int cols, int B, const float *x, size_t ldx,
                            const float *bias, size_t ldb, float *y, size_t ldy)
{
    int b = 0;
#if GRU_SEQUENCE_LANES > 1
    /* Without per-sequence biases, GRU_SEQUENCE_LANES sequences share each
     * weight load (gru_forward.c's lane kernel); same sums, same order. */
    if (!bias)
        for (; b + GRU_SEQUENCE_LANES <= B; b += GRU_SEQUENCE_LANES)
            gru__gemm_lanes(w, rows, cols, x + (size_t)b * ldx, ldx, NULL, y + (size_t)b * ldy, ldy);
#endif
    for (; b < B; b += 2) {
        const int two = b + 1 < B;
        const float *b0 = bias ? bias + (size_t)b * ldb : NULL;
        gru__gemv_k(w, rows, cols, x + (size_t)b * ldx, two ? x + (size_t)(b + 1) * ldx : NULL, b0,
                    bias && two ? b0 + ldb : NULL, y + (size_t)b * ldy,
                    two ? y + (size_t)(b + 1) * ldy : NULL);
    }
}

/* y_b = W^T x_b (+ bias_b) for the packed [rows][cols] W: through its
 * transposed copy wt, or (low_memory, wt == NULL) straight from W; the same
 * bits either way (gru__gemv_t). */
static void gru__gemv_tbatch(const float *w, const float *wt, int rows, int cols, int B,
                             const float *x, size_t ldx, const float *bias, size_t ldb, float *y,
                             size_t ldy)
{
    if (wt) {
        gru__gemv_batch(wt, cols, rows, B, x, ldx, bias, ldb, y, ldy);
        return;
    }
    for (int b = 0; b < B; b++)
        gru__gemv_t(w, rows, cols, x + (size_t)b * ldx, bias ? bias + (size_t)b * ldb : NULL,
                    y + (size_t)b * ldy);
}

/* Gradients of one layer over all steps, given the gradients of its outputs
 * dy_in ([T][B][H]; for the top layer of a sequence-to-one model only the
 * [B][H] rows at T-1), writing the gradients of its inputs to dx_out
 * ([T][B][I], or the caller's [B][T][I] for layer 0 when dx_user, or NULL).
 * Sequences at padding steps get all-zero gate gradients and inputs, which add
 * exact zeros to the weight gradients (their x is never read). */
static void gru__layer_backward(const gru_train *tr, const gru__train_ws *w, int l,
                                const float *dy_in, int dy_last_only, float *dx_out, int dx_user,
                                float *grad, size_t base, float *dh0)
{
    const gru_model *model = tr->model;
    const gru_layer *layer = &model->layers[l];
    const gru__param_offsets o = gru__param_layout(model);
    const int B = tr->batch, T = tr->steps, H = layer->hidden_size, I = layer->input_size;
    const int R3 = gru__round_up(3 * H, GRU_PACK_ROWS), R2 = gru__round_up(2 * H, GRU_PACK_ROWS);
    const int RH = gru__round_up(H, GRU_PACK_ROWS);
    const size_t RT = w->rt;
    const size_t S = gru__sum_hidden(model);
    size_t off = 0;
    for (int k = 0; k < l; k++)
        off += (size_t)model->layers[k].hidden_size;

    float *g_wih = grad + (o.w_ih[l] - base), *g_wrz = grad + (o.w_hh_rz[l] - base);
    float *g_wn = grad + (o.w_hh_n[l] - base);
    float *g_bih = grad + (o.b_ih[l] - base), *g_bhh = grad + (o.b_hh[l] - base);

    if (dx_out)
        gru__transpose_if(layer->w_ih, 3 * H, I, w->w_ih_t);
    gru__transpose_if(layer->w_hh_rz, 2 * H, H, w->w_rz_t);
    gru__transpose_if(layer->w_hh_n, H, H, w->w_n_t);
    memset(w->dh, 0, (size_t)B * (size_t)RH * sizeof *w->dh);
    /* Padding rows of the gate gradients stay 0 (gru__ger reads them). */
    memset(w->d3, 0, (size_t)B * (size_t)R3 * sizeof *w->d3);
    memset(w->d2, 0, (size_t)B * (size_t)R2 * sizeof *w->d2);
    memset(w->dn, 0, (size_t)B * (size_t)RH * sizeof *w->dn);

    for (int t = T - 1; t >= 0; t--) {
        /* 1. Running state gradient, gate gradients of z and n (and r after). */
        for (int b = 0; b < B; b++) {
            float *restrict dh = w->dh + (size_t)b * (size_t)RH;
            const int active = t < gru__len(tr, b);
            const size_t tb = (size_t)t * (size_t)B + (size_t)b;
            const float *dy = NULL;
            if (dy_last_only)
                dy = t == T - 1 ? dy_in + (size_t)b * (size_t)H : NULL;
            else if (active)
                dy = dy_in + tb * (size_t)H;
            if (dy)
                for (int j = 0; j < H; j++) /* vectorize */
                    dh[j] += dy[j];
            float *restrict d3 = w->d3 + (size_t)b * (size_t)R3;
            float *restrict dn = w->dn + (size_t)b * (size_t)RH;
            if (!active) {
                memset(d3, 0, 3 * (size_t)H * sizeof *d3);
                memset(dn, 0, (size_t)H * sizeof *dn);
                for (int k = 0; k < I; k++)
                    w->xg[(size_t)k * (size_t)B + (size_t)b] = 0.0f;
                for (int k = 0; k < H; k++)
                    w->hg[(size_t)k * (size_t)B + (size_t)b] = w->gg[(size_t)k * (size_t)B + (size_t)b] = 0.0f;
                continue;
            }
            const float *x_in = l == 0 ? tr->x + ((size_t)b * (size_t)T + (size_t)t) * (size_t)I
                                       : w->hseq[l - 1] + tb * (size_t)I;
            const float *restrict h_prev = gru__h_prev(tr, w, l, t, b);
            const float *restrict gt = w->gates[l] + tb * 4 * (size_t)H;
            const float *restrict r = gt, *restrict z = gt + H, *restrict n = gt + 2 * H,
                                  *restrict g = gt + 3 * H;
            for (int j = 0; j < H; j++) { /* vectorize */
                const float dan = dh[j] * (1.0f - z[j]) * (1.0f - n[j] * n[j]);
                d3[H + j] = dh[j] * (h_prev[j] - n[j]) * z[j] * (1.0f - z[j]);
                d3[2 * H + j] = dan;
            }
            if (layer->reset_after)
                for (int j = 0; j < H; j++) { /* vectorize */
                    d3[j] = d3[2 * H + j] * g[j] * r[j] * (1.0f - r[j]);
                    dn[j] = d3[2 * H + j] * r[j];
                }
            else
                for (int j = 0; j < H; j++) /* vectorize */
                    dn[j] = d3[2 * H + j];
            /* Gather this sequence's inputs for the weight gradients. */
            for (int k = 0; k < I; k++)
                w->xg[(size_t)k * (size_t)B + (size_t)b] = x_in[k];
            for (int k = 0; k < H; k++) {
                w->hg[(size_t)k * (size_t)B + (size_t)b] = h_prev[k];
                w->gg[(size_t)k * (size_t)B + (size_t)b] = g[k];
            }
        }
        /* 2. tmp_a = W_hn^T dn: the reset gate's share of dh_prev (reset_after)
         *    or d(r*h) (reset_before, which then gives da_r). */
        gru__gemv_tbatch(layer->w_hh_n, w->w_n_t, H, H, B, w->dn, (size_t)RH, NULL, 0, w->tmp_a, RT);
        if (!layer->reset_after)
            for (int b = 0; b < B; b++) {
                if (!(t < gru__len(tr, b)))
                    continue;
                const float *restrict h_prev = gru__h_prev(tr, w, l, t, b);
                const float *restrict r = w->gates[l] + ((size_t)t * (size_t)B + (size_t)b) * 4 * (size_t)H;
                float *restrict d3 = w->d3 + (size_t)b * (size_t)R3;
                float *restrict ta = w->tmp_a + (size_t)b * RT;
                for (int j = 0; j < H; j++) { /* vectorize */
                    d3[j] = ta[j] * h_prev[j] * r[j] * (1.0f - r[j]);
                    ta[j] = ta[j] * r[j];
                }
            }
        for (int b = 0; b < B; b++)
            memcpy(w->d2 + (size_t)b * (size_t)R2, w->d3 + (size_t)b * (size_t)R3,
                   2 * (size_t)H * sizeof *w->d2);
        /* 3. dh_prev = z dh + tmp_a + W_rz^T [da_r, da_z]. */
        gru__gemv_tbatch(layer->w_hh_rz, w->w_rz_t, 2 * H, H, B, w->d2, (size_t)R2, w->tmp_a, RT,
                         w->tmp_b, RT);
        for (int b = 0; b < B; b++) {
            if (!(t < gru__len(tr, b)))
                continue;
            const float *restrict z =
                w->gates[l] + ((size_t)t * (size_t)B + (size_t)b) * 4 * (size_t)H + H;
            const float *restrict tb_ = w->tmp_b + (size_t)b * RT;
            float *restrict dh = w->dh + (size_t)b * (size_t)RH;
            for (int j = 0; j < H; j++) /* vectorize */
                dh[j] = dh[j] * z[j] + tb_[j];
        }
        /* 4. Input gradients. */
        if (dx_out) {
            gru__gemv_tbatch(layer->w_ih, w->w_ih_t, 3 * H, I, B, w->d3, (size_t)R3, NULL, 0,
                             w->tmp_a, RT);
            for (int b = 0; b < B; b++) {
                float *dx = dx_user ? dx_out + ((size_t)b * (size_t)T + (size_t)t) * (size_t)I
                                    : dx_out + ((size_t)t * (size_t)B + (size_t)b) * (size_t)I;
                if (t < gru__len(tr, b))
                    memcpy(dx, w->tmp_a + (size_t)b * RT, (size_t)I * sizeof *dx);
                else if (dx_user)
                    memset(dx, 0, (size_t)I * sizeof *dx);
            }
        }
        /* 5. Weight and bias gradients, summed over the batch in order. */
        gru__ger_k(g_wih, 3 * H, I, w->d3, R3, B, w->xg, B);
        gru__ger_k(g_wrz, 2 * H, H, w->d2, R2, B, w->hg, B);
        gru__ger_k(g_wn, H, H, w->dn, RH, B, layer->reset_after ? w->hg : w->gg, B);
        for (int b = 0; b < B; b++) {
            if (!(t < gru__len(tr, b)))
                continue;
            const float *restrict d3 = w->d3 + (size_t)b * (size_t)R3;
            const float *restrict dn = w->dn + (size_t)b * (size_t)RH;
            for (int j = 0; j < 3 * H; j++) /* vectorize */
                g_bih[j] += d3[j];
            for (int j = 0; j < 2 * H; j++) /* vectorize */
                g_bhh[j] += d3[j];
            for (int j = 0; j < H; j++) /* vectorize */
                g_bhh[2 * H + j] += dn[j];
        }
    }
    if (dh0)
        for (int b = 0; b < B; b++)
            memcpy(dh0 + (size_t)b * S + off, w->dh + (size_t)b * (size_t)RH,
                   (size_t)H * sizeof *dh0);
}

/* Head: weight gradients and the gradients of the top layer's outputs. */
static void gru__head_backward(const gru_train *tr, const gru__train_ws *w, float *grad,
                               size_t base, float *dy_top)
{
    const gru_model *model = tr->model;
    const int B = tr->batch, T = tr->steps, H = model->layers[model->num_layers - 1].hidden_size;
    const int O = gru_model_output_size(model), RO = gru__round_up(O, GRU_PACK_ROWS);
    const int To = tr->return_sequences ? T : 1;
    if (!model->has_head) {
        for (int t = 0; t < To; t++)
            for (int b = 0; b < B; b++)
                memcpy(dy_top + ((size_t)t * (size_t)B + (size_t)b) * (size_t)H,
                       w->dlogit + ((size_t)t * (size_t)B + (size_t)b) * (size_t)RO,
                       (size_t)H * sizeof *dy_top);
        return;
    }
    const gru__param_offsets o = gru__param_layout(model);
    float *g_w = grad + (o.head_w - base), *g_b = grad + (o.head_b - base);
    if (dy_top)
        gru__transpose_if(model->head.weight, O, H, w->head_t);
    for (int t = To - 1; t >= 0; t--) {
        const int ts = tr->return_sequences ? t : T - 1;
        /* Rows of padding steps hold dlogit = 0: they add exact zeros. */
        const float *h_top = gru__hrow(w, model, model->num_layers - 1, ts, B);
        for (int b = 0; b < B; b++) {
            const float *hb = h_top + (size_t)b * (size_t)H;
            for (int k = 0; k < H; k++)
                w->hg[(size_t)k * (size_t)B + (size_t)b] = hb[k];
        }
        if (dy_top) { /* the top layer's output gradients (not for head-only training) */
            gru__gemv_tbatch(model->head.weight, w->head_t, O, H, B,
                             w->dlogit + (size_t)t * (size_t)B * (size_t)RO, (size_t)RO, NULL, 0,
                             w->tmp_a, w->rt);
            for (int b = 0; b < B; b++)
                memcpy(dy_top + ((size_t)t * (size_t)B + (size_t)b) * (size_t)H,
                       w->tmp_a + (size_t)b * w->rt, (size_t)H * sizeof *dy_top);
        }
        gru__ger_k(g_w, O, H, w->dlogit + (size_t)t * (size_t)B * (size_t)RO, RO, B, w->hg, B);
        for (int b = 0; b < B; b++) {
            const float *restrict d = w->dlogit + ((size_t)t * (size_t)B + (size_t)b) * (size_t)RO;
            for (int j = 0; j < O; j++)
                g_b[j] += d[j];
        }
    }
}

/* Backward of the last loss into grad: overwritten (add = 0) or, for
 * accumulation, added to after scaling the loss gradient by weight. */
static int gru__backward(gru_train *tr, float *grad, size_t grad_size, float *dx, float *dh0, int add,
                         float weight)
{
    if (!tr || !tr->model || !grad)
        return GRU_ERR_NULL;
    if (!tr->has_forward || !tr->has_loss)
        return GRU_ERR_ARGUMENT;
    const gru_model *model = tr->model;
    if ((dx || dh0) && tr->trainable != GRU_TRAIN_ALL)
        return GRU_ERR_ARGUMENT;
    const size_t base = gru_train_trainable_offset(model, tr->trainable);
    const size_t n = gru_train_trainable_size(model, tr->trainable);
    if (grad_size < n)
        return GRU_ERR_BUFFER;
    const gru__train_ws w = gru__ws(tr);
    if (add) {
        const size_t rows = (size_t)(tr->return_sequences ? tr->steps : 1) * (size_t)tr->batch;
        const size_t count = rows * gru__r8((size_t)gru_model_output_size(model));
        for (size_t i = 0; i < count; i++)
            w.dlogit[i] = w.dlogit[i] * weight;
        tr->has_loss = 0; /* the loss gradient is now scaled: one backward only */
    } else {
        memset(grad, 0, n * sizeof *grad);
    }

    /* Frozen layers (below w.first) get no backward pass at all. */
    float *dy = w.dy_a, *dxl = w.dy_b;
    gru__head_backward(tr, &w, grad, base, dy);
    int last_only = !tr->return_sequences;
    for (int l = model->num_layers - 1; l >= w.first; l--) {
        float *dx_out = l > w.first ? dxl : l == 0 ? dx : NULL;
        gru__layer_backward(tr, &w, l, dy, last_only, dx_out, l == 0, grad, base, dh0);
        float *swap = dy;
        dy = dxl;
        dxl = swap;
        last_only = 0;
    }
    return GRU_OK;
}

int gru_train_backward(gru_train *tr, float *grad, size_t grad_size, float *dx, float *dh0)
{
    return gru__backward(tr, grad, grad_size, dx, dh0, 0, 1.0f);
}

int gru_train_backward_add(gru_train *tr, float *grad, size_t grad_size, float weight)
{
    if (!(weight - weight == 0.0f))
        return GRU_ERR_ARGUMENT;
    return gru__backward(tr, grad, grad_size, NULL, NULL, 1, weight);
}
