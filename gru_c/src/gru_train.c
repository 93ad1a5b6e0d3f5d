/* gru_train.c - parameter layout, training forward with saved activations and
 * backpropagation through time (contract in gru_train.h). */
#include "gru_train_internal.h"

/* ---------------------------------------------------------------- parameters */

static int gru__sizes_ok(const gru_model *model)
{
    if (!model || model->num_layers < 1 || model->num_layers > GRU_MAX_LAYERS)
        return 0;
    for (int l = 0; l < model->num_layers; l++) {
        const gru_layer *layer = &model->layers[l];
        if (layer->input_size < 1 || layer->input_size > GRU_MAX_DIM || layer->hidden_size < 1 ||
            layer->hidden_size > GRU_MAX_DIM)
            return 0;
    }
    if (model->has_head && (model->head.output_size < 1 || model->head.output_size > GRU_MAX_DIM ||
                            model->head.input_size < 1 || model->head.input_size > GRU_MAX_DIM))
        return 0;
    return 1;
}

size_t gru_train_param_size(const gru_model *model)
{
    return gru__sizes_ok(model) ? gru__param_layout(model).total : 0;
}

int gru_train_wire(gru_model *model, const float *params, size_t param_size)
{
    if (!model || !params)
        return GRU_ERR_NULL;
    if (!gru__sizes_ok(model))
        return GRU_ERR_SIZE;
    const gru__param_offsets o = gru__param_layout(model);
    if (param_size < o.total)
        return GRU_ERR_BUFFER;
    for (int l = 0; l < model->num_layers; l++) {
        gru_layer *layer = &model->layers[l];
        layer->w_ih = params + o.w_ih[l];
        layer->w_hh_rz = params + o.w_hh_rz[l];
        layer->w_hh_n = params + o.w_hh_n[l];
        layer->b_ih = params + o.b_ih[l];
        layer->b_hh = params + o.b_hh[l];
    }
    if (model->has_head) {
        model->head.weight = params + o.head_w;
        model->head.bias = params + o.head_b;
    }
    return gru_model_check(model);
}

/* ---------------------------------------------------------------- workspace */

/* 1 if gru_train_init can accept these sizes: the per-step arrays stay
 * indexable with int products, and a generous double-precision bound of the
 * workspace (every term of gru__ws_layout, rounded up) fits in size_t bytes,
 * so the size_t sums of the layout cannot wrap around. Without this check a
 * huge max_batch * max_steps made gru_train_workspace_size return a wrapped,
 * small value (tools/fuzz/fuzz_train.c). */
static int gru__ws_fits(const gru_model *model, int max_batch, int max_steps)
{
    const double B = max_batch, T = max_steps, S = (double)gru__sum_hidden(model);
    const double H = gru__max_hidden(model), I = model->layers[0].input_size;
    const double O = gru_model_output_size(model) + 8.0, IH = (I > H ? I : H) + 8.0;
    const double HO = H > O ? H : O;
    const double bound = T * B * (5.0 * S + 3.0 * O + 2.0 * HO) + B * (S + 8.0 * H + 32.0 + IH + 2.0 * H) +
                         IH * 3.0 * H + (H + 8.0) * 4.0 * H + (H + 8.0) * O + 2.0 * (IH + O) + 8.0 * H + O + 32.0;
    return T * B * 5.0 * S <= 2e9 && bound * (double)sizeof(float) < (double)SIZE_MAX;
}

size_t gru_train_workspace_size(const gru_model *model, int max_batch, int max_steps,
                                int return_sequences)
{
    if (!gru__sizes_ok(model) || max_batch < 1 || max_steps < 1 || !gru__ws_fits(model, max_batch, max_steps))
        return 0;
    return gru__ws_layout(model, NULL, max_batch, max_steps, return_sequences != 0, max_batch).total;
}

int gru_train_init(gru_train *tr, const gru_model *model, int max_batch, int max_steps,
                   int return_sequences, float *workspace, size_t workspace_size)
{
    if (!tr || !workspace)
        return GRU_ERR_NULL;
    const int status = gru_model_check(model);
    if (status != GRU_OK)
        return status;
    if (max_batch < 1 || max_steps < 1 || (return_sequences != 0 && return_sequences != 1))
        return GRU_ERR_ARGUMENT;
    if (!gru__ws_fits(model, max_batch, max_steps))
        return GRU_ERR_SIZE;
    if (workspace_size < gru_train_workspace_size(model, max_batch, max_steps, return_sequences))
        return GRU_ERR_BUFFER;
    memset(tr, 0, sizeof *tr);
    tr->model = model;
    tr->ws = workspace;
    tr->ws_size = workspace_size;
    tr->max_batch = max_batch;
    tr->max_steps = max_steps;
    tr->return_sequences = return_sequences;
    return GRU_OK;
}

static gru__train_ws gru__ws(const gru_train *tr)
{
    return gru__ws_layout(tr->model, tr->ws, tr->max_batch, tr->max_steps, tr->return_sequences,
                          tr->batch);
}

/* ---------------------------------------------------------------- forward */

/* One layer step for one sequence, saving r, z, n and g. Same kernels and
 * expressions, in the same order, as gru__layer_step, so h comes out
 * bit-identical to inference. */
GRU__HOT void gru__layer_step_save(const gru_layer *layer, const float *restrict x,
                                   const float *restrict h, float *restrict h_out,
                                   float *restrict gates, gru__layer_scratch s)
{
    const int H = layer->hidden_size;
    float *restrict gi = s.gi, *restrict gh = s.gh, *restrict ghn = s.ghn, *restrict rh = s.rh;
    float *restrict sr = gates, *restrict sz = gates + H, *restrict sn = gates + 2 * H,
                    *restrict sg = gates + 3 * H;

    gru__gemv(layer->w_ih, 3 * H, layer->input_size, x, layer->b_ih, gi);
    gru__gemv(layer->w_hh_rz, 2 * H, H, h, layer->b_hh, gh);
    if (layer->reset_after) {
        gru__gemv(layer->w_hh_n, H, H, h, layer->b_hh + 2 * H, ghn);
        for (int j = 0; j < H; j++) {
            const float r = gru__sigmoid(gi[j] + gh[j]);
            const float z = gru__sigmoid(gi[H + j] + gh[H + j]);
            const float n = gru__tanh(gi[2 * H + j] + r * ghn[j]);
            h_out[j] = (1.0f - z) * n + z * h[j];
            sr[j] = r;
            sz[j] = z;
            sn[j] = n;
            sg[j] = ghn[j];
        }
    } else {
        for (int j = 0; j < H; j++) {
            const float r = gru__sigmoid(gi[j] + gh[j]);
            sz[j] = gru__sigmoid(gi[H + j] + gh[H + j]);
            rh[j] = r * h[j];
            sr[j] = r;
            sg[j] = rh[j];
        }
        gru__gemv(layer->w_hh_n, H, H, rh, layer->b_hh + 2 * H, ghn);
        for (int j = 0; j < H; j++) {
            const float z = sz[j];
            const float n = gru__tanh(gi[2 * H + j] + ghn[j]);
            h_out[j] = (1.0f - z) * n + z * h[j];
            sn[j] = n;
        }
    }
}

/* Head on one state: logits (padded row) and the activated output y. */
static void gru__head_forward(const gru_dense *head, const float *h, float *logits, float *y)
{
    gru__gemv(head->weight, head->output_size, head->input_size, h, head->bias, logits);
    memcpy(y, logits, (size_t)head->output_size * sizeof *y);
    gru__activate(head->activation, y, head->output_size);
}

GRU__DISPATCH static void gru__forward(gru_train *tr, const float *h0, float *y, float *h_last)
{
    const gru_model *model = tr->model;
    const gru__train_ws w = gru__ws(tr);
    const int B = tr->batch, T = tr->steps, L = model->num_layers;
    const size_t S = gru__sum_hidden(model), I = (size_t)model->layers[0].input_size;
    const size_t O = (size_t)gru_model_output_size(model), RO = gru__r8(O);
    const gru__layer_scratch s = gru__layer_scratch_split(w.scratch, gru__max_hidden(model));

    if (h0)
        memcpy(w.h0, h0, (size_t)B * S * sizeof *w.h0);
    else
        memset(w.h0, 0, (size_t)B * S * sizeof *w.h0);

    for (int t = 0; t < T; t++) {
        for (int b = 0; b < B; b++) {
            const int active = t < gru__len(tr, b);
            const float *input = tr->x + ((size_t)b * (size_t)T + (size_t)t) * I;
            size_t off = 0;
            for (int l = 0; l < L; l++) {
                const gru_layer *layer = &model->layers[l];
                const size_t H = (size_t)layer->hidden_size;
                const float *h_prev = t > 0 ? w.hseq[l] + ((size_t)(t - 1) * (size_t)B + (size_t)b) * H
                                            : w.h0 + (size_t)b * S + off;
                float *h_out = w.hseq[l] + ((size_t)t * (size_t)B + (size_t)b) * H;
                if (active)
                    gru__layer_step_save(layer, input, h_prev, h_out,
                                         w.gates[l] + ((size_t)t * (size_t)B + (size_t)b) * 4 * H, s);
                else
                    memcpy(h_out, h_prev, H * sizeof *h_out);
                input = h_out;
                off += H;
            }
            /* `input` is the top layer's h after step t. */
            const int emit = tr->return_sequences || t == T - 1;
            if (!emit)
                continue;
            const size_t row = ((tr->return_sequences ? (size_t)t : 0) * (size_t)B + (size_t)b) * RO;
            if (model->has_head)
                gru__head_forward(&model->head, input, w.logits + row, w.y + row);
            else {
                memcpy(w.logits + row, input, O * sizeof *w.logits);
                memcpy(w.y + row, input, O * sizeof *w.y);
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
                memcpy(h_last + (size_t)b * S + off,
                       w.hseq[l] + ((size_t)(T - 1) * (size_t)B + (size_t)b) * H, H * sizeof *h_last);
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

/* Gradients of one layer over all steps, given the gradients of its outputs
 * dy_in ([T][B][H]; for the top layer of a sequence-to-one model only the
 * [B][H] rows at T-1), writing the gradients of its inputs to dx_out
 * ([T][B][I], or the caller's [B][T][I] for layer 0 when dx_user, or NULL). */
GRU__DISPATCH static void gru__layer_backward(const gru_train *tr, const gru__train_ws *w, int l,
                                              const float *dy_in, int dy_last_only, float *dx_out,
                                              int dx_user, float *grad, float *dh0)
{
    const gru_model *model = tr->model;
    const gru_layer *layer = &model->layers[l];
    const gru__param_offsets o = gru__param_layout(model);
    const int B = tr->batch, T = tr->steps, H = layer->hidden_size, I = layer->input_size;
    const int R3 = gru__round_up(3 * H, GRU_PACK_ROWS), R2 = gru__round_up(2 * H, GRU_PACK_ROWS);
    const int RH = gru__round_up(H, GRU_PACK_ROWS);
    const size_t S = gru__sum_hidden(model);
    size_t off = 0;
    for (int k = 0; k < l; k++)
        off += (size_t)model->layers[k].hidden_size;

    float *g_wih = grad + o.w_ih[l], *g_wrz = grad + o.w_hh_rz[l], *g_wn = grad + o.w_hh_n[l];
    float *g_bih = grad + o.b_ih[l], *g_bhh = grad + o.b_hh[l];

    gru__transpose_packed(layer->w_ih, 3 * H, I, w->w_ih_t);
    gru__transpose_packed(layer->w_hh_rz, 2 * H, H, w->w_rz_t);
    gru__transpose_packed(layer->w_hh_n, H, H, w->w_n_t);
    memset(w->dh, 0, (size_t)B * (size_t)RH * sizeof *w->dh);
    /* Padding rows of the gate gradients stay 0 (gru__ger reads them). */
    memset(w->d3, 0, (size_t)B * (size_t)R3 * sizeof *w->d3);
    memset(w->d2, 0, (size_t)B * (size_t)R2 * sizeof *w->d2);
    memset(w->dn, 0, (size_t)B * (size_t)RH * sizeof *w->dn);

    const float *x_layer = l == 0 ? tr->x : w->hseq[l - 1];
    for (int t = T - 1; t >= 0; t--) {
        int a = 0;
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
                for (int j = 0; j < H; j++)
                    dh[j] += dy[j];
            float *dx = NULL;
            if (dx_out)
                dx = dx_user ? dx_out + ((size_t)b * (size_t)T + (size_t)t) * (size_t)I
                             : dx_out + tb * (size_t)I;
            if (!active) {
                if (dx && dx_user)
                    memset(dx, 0, (size_t)I * sizeof *dx);
                continue;
            }
            const float *x_in = l == 0 ? x_layer + ((size_t)b * (size_t)T + (size_t)t) * (size_t)I
                                       : x_layer + tb * (size_t)I;
            const float *restrict h_prev =
                t > 0 ? w->hseq[l] + ((size_t)(t - 1) * (size_t)B + (size_t)b) * (size_t)H
                      : w->h0 + (size_t)b * S + off;
            const float *restrict gt = w->gates[l] + tb * 4 * (size_t)H;
            const float *restrict r = gt, *restrict z = gt + H, *restrict n = gt + 2 * H,
                                  *restrict g = gt + 3 * H;
            float *restrict d3 = w->d3 + (size_t)a * (size_t)R3;
            float *restrict d2 = w->d2 + (size_t)a * (size_t)R2;
            float *restrict dn = w->dn + (size_t)a * (size_t)RH;
            float *restrict ta = w->tmp_a, *restrict tb_ = w->tmp_b;

            /* d3 = [da_r, da_z, da_n] once da_r is known; start with z and n. */
            for (int j = 0; j < H; j++) {
                const float dan = dh[j] * (1.0f - z[j]) * (1.0f - n[j] * n[j]);
                d3[H + j] = dh[j] * (h_prev[j] - n[j]) * z[j] * (1.0f - z[j]);
                d3[2 * H + j] = dan;
            }
            if (layer->reset_after) {
                for (int j = 0; j < H; j++) {
                    d3[j] = d3[2 * H + j] * g[j] * r[j] * (1.0f - r[j]);
                    dn[j] = d3[2 * H + j] * r[j];
                }
                /* dh_prev = z dh + W_hn^T dn + W_rz^T [da_r, da_z] */
                gru__gemv(w->w_n_t, H, H, dn, NULL, ta);
            } else {
                for (int j = 0; j < H; j++)
                    dn[j] = d3[2 * H + j];
                /* d(r*h) = W_hn^T da_n; da_r = d(r*h) * h_prev * r(1-r) */
                gru__gemv(w->w_n_t, H, H, dn, NULL, ta);
                for (int j = 0; j < H; j++) {
                    d3[j] = ta[j] * h_prev[j] * r[j] * (1.0f - r[j]);
                    ta[j] = ta[j] * r[j];
                }
            }
            for (int j = 0; j < 2 * H; j++)
                d2[j] = d3[j];
            gru__gemv(w->w_rz_t, H, 2 * H, d2, ta, tb_);
            for (int j = 0; j < H; j++)
                dh[j] = dh[j] * z[j] + tb_[j];
            if (dx) {
                gru__gemv(w->w_ih_t, I, 3 * H, d3, NULL, ta);
                memcpy(dx, ta, (size_t)I * sizeof *dx);
            }
            /* Gather this sequence's inputs for the weight gradients. */
            for (int k = 0; k < I; k++)
                w->xg[(size_t)k * (size_t)B + (size_t)a] = x_in[k];
            for (int k = 0; k < H; k++) {
                w->hg[(size_t)k * (size_t)B + (size_t)a] = h_prev[k];
                w->gg[(size_t)k * (size_t)B + (size_t)a] = g[k];
            }
            a++;
        }
        gru__ger(g_wih, 3 * H, I, w->d3, R3, a, w->xg, B);
        gru__ger(g_wrz, 2 * H, H, w->d2, R2, a, w->hg, B);
        gru__ger(g_wn, H, H, w->dn, RH, a, layer->reset_after ? w->hg : w->gg, B);
        for (int i = 0; i < a; i++) {
            const float *restrict d3 = w->d3 + (size_t)i * (size_t)R3;
            const float *restrict dn = w->dn + (size_t)i * (size_t)RH;
            for (int j = 0; j < 3 * H; j++)
                g_bih[j] += d3[j];
            for (int j = 0; j < 2 * H; j++)
                g_bhh[j] += d3[j];
            for (int j = 0; j < H; j++)
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
                               float *dy_top)
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
    const float *h_top = w->hseq[model->num_layers - 1];
    float *g_w = grad + o.head_w, *g_b = grad + o.head_b;
    gru__transpose_packed(model->head.weight, O, H, w->head_t);
    for (int t = To - 1; t >= 0; t--) {
        const int ts = tr->return_sequences ? t : T - 1;
        /* Rows of padding steps hold dlogit = 0: they add exact zeros. */
        for (int b = 0; b < B; b++) {
            const size_t row = (size_t)t * (size_t)B + (size_t)b;
            const float *hb = h_top + ((size_t)ts * (size_t)B + (size_t)b) * (size_t)H;
            for (int k = 0; k < H; k++)
                w->hg[(size_t)k * (size_t)B + (size_t)b] = hb[k];
            gru__gemv(w->head_t, H, O, w->dlogit + row * (size_t)RO, NULL, w->tmp_a);
            memcpy(dy_top + row * (size_t)H, w->tmp_a, (size_t)H * sizeof *dy_top);
        }
        gru__ger(g_w, O, H, w->dlogit + (size_t)t * (size_t)B * (size_t)RO, RO, B, w->hg, B);
        for (int b = 0; b < B; b++) {
            const float *restrict d = w->dlogit + ((size_t)t * (size_t)B + (size_t)b) * (size_t)RO;
            for (int j = 0; j < O; j++)
                g_b[j] += d[j];
        }
    }
}

int gru_train_backward(gru_train *tr, float *grad, size_t grad_size, float *dx, float *dh0)
{
    if (!tr || !tr->model || !grad)
        return GRU_ERR_NULL;
    if (!tr->has_forward || !tr->has_loss)
        return GRU_ERR_ARGUMENT;
    const gru_model *model = tr->model;
    const gru__param_offsets o = gru__param_layout(model);
    if (grad_size < o.total)
        return GRU_ERR_BUFFER;
    const gru__train_ws w = gru__ws(tr);
    memset(grad, 0, o.total * sizeof *grad);

    float *dy = w.dy_a, *dxl = w.dy_b;
    gru__head_backward(tr, &w, grad, dy);
    int last_only = !tr->return_sequences;
    for (int l = model->num_layers - 1; l >= 0; l--) {
        float *dx_out = l > 0 ? dxl : dx;
        gru__layer_backward(tr, &w, l, dy, last_only, dx_out, l == 0, grad, dh0);
        float *swap = dy;
        dy = dxl;
        dxl = swap;
        last_only = 0;
    }
    return GRU_OK;
}
