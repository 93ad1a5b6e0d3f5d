/* gru_train_setup.c - the flat parameter layout and the training workspace:
 * size queries, wiring a model onto parameters, gru_train_init (contract in
 * gru_train.h). */
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
    if (!gru__trainable(model)) /* backpropagation covers the default GRU and one head only */
        return GRU_ERR_ARGUMENT;
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
