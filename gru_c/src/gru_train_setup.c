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

/* ---------------------------------------------------------------- what is trainable */

static int gru__trainable_ok(const gru_model *model, int trainable)
{
    if (trainable == GRU_TRAIN_HEAD)
        return model->has_head;
    return trainable == GRU_TRAIN_ALL || trainable == GRU_TRAIN_LAST;
}

size_t gru_train_trainable_offset(const gru_model *model, int trainable)
{
    if (!gru__sizes_ok(model) || !gru__trainable_ok(model, trainable))
        return 0;
    const gru__param_offsets o = gru__param_layout(model);
    const int first = gru__first_trainable(model, trainable);
    return first == model->num_layers ? o.head_w : o.w_ih[first];
}

size_t gru_train_trainable_size(const gru_model *model, int trainable)
{
    if (!gru__sizes_ok(model) || !gru__trainable_ok(model, trainable))
        return 0;
    return gru__param_layout(model).total - gru_train_trainable_offset(model, trainable);
}

int gru_train_wire_split(gru_model *model, const float *frozen, size_t frozen_size,
                         const float *trainable_params, size_t trainable_size, int trainable)
{
    if (!model || !trainable_params)
        return GRU_ERR_NULL;
    if (!gru__sizes_ok(model))
        return GRU_ERR_SIZE;
    if (!gru__trainable_ok(model, trainable))
        return GRU_ERR_ARGUMENT;
    const gru__param_offsets o = gru__param_layout(model);
    const size_t base = gru_train_trainable_offset(model, trainable);
    if (base > 0 && !frozen)
        return GRU_ERR_NULL;
    if (frozen_size < base || trainable_size < o.total - base)
        return GRU_ERR_BUFFER;
    /* Each piece from the buffer that holds its offset. */
#define GRU__AT(off) ((off) < base ? frozen + (off) : trainable_params + ((off) - base))
    for (int l = 0; l < model->num_layers; l++) {
        gru_layer *layer = &model->layers[l];
        layer->w_ih = GRU__AT(o.w_ih[l]);
        layer->w_hh_rz = GRU__AT(o.w_hh_rz[l]);
        layer->w_hh_n = GRU__AT(o.w_hh_n[l]);
        layer->b_ih = GRU__AT(o.b_ih[l]);
        layer->b_hh = GRU__AT(o.b_hh[l]);
    }
    if (model->has_head) {
        model->head.weight = GRU__AT(o.head_w);
        model->head.bias = GRU__AT(o.head_b);
    }
#undef GRU__AT
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

static gru_train_config gru__config(int max_batch, int max_steps, int return_sequences)
{
    gru_train_config c;
    memset(&c, 0, sizeof c);
    c.max_batch = max_batch;
    c.max_steps = max_steps;
    c.return_sequences = return_sequences;
    c.trainable = GRU_TRAIN_ALL;
    return c;
}

size_t gru_train_workspace_size_config(const gru_model *model, const gru_train_config *c)
{
    if (!c || !gru__sizes_ok(model) || c->max_batch < 1 || c->max_steps < 1 ||
        !gru__trainable_ok(model, c->trainable) || !gru__ws_fits(model, c->max_batch, c->max_steps))
        return 0;
    return gru__ws_layout(model, NULL, c->max_batch, c->max_steps, c->return_sequences != 0,
                          c->trainable, c->low_memory != 0).total;
}

size_t gru_train_workspace_size(const gru_model *model, int max_batch, int max_steps,
                                int return_sequences)
{
    const gru_train_config c = gru__config(max_batch, max_steps, return_sequences);
    return gru_train_workspace_size_config(model, &c);
}

int gru_train_init_config(gru_train *tr, const gru_model *model, const gru_train_config *c,
                          float *workspace, size_t workspace_size)
{
    if (!tr || !workspace || !c)
        return GRU_ERR_NULL;
    const int status = gru_model_check(model);
    if (status != GRU_OK)
        return status;
    if (!gru__trainable(model)) /* backpropagation covers the default GRU and one head only */
        return GRU_ERR_ARGUMENT;
    if (c->max_batch < 1 || c->max_steps < 1 || (c->return_sequences != 0 && c->return_sequences != 1) ||
        (c->low_memory != 0 && c->low_memory != 1) || !gru__trainable_ok(model, c->trainable))
        return GRU_ERR_ARGUMENT;
    if (!gru__ws_fits(model, c->max_batch, c->max_steps))
        return GRU_ERR_SIZE;
    if (workspace_size < gru_train_workspace_size_config(model, c))
        return GRU_ERR_BUFFER;
    memset(tr, 0, sizeof *tr);
    tr->model = model;
    tr->ws = workspace;
    tr->ws_size = workspace_size;
    tr->max_batch = c->max_batch;
    tr->max_steps = c->max_steps;
    tr->return_sequences = c->return_sequences;
    tr->trainable = c->trainable;
    tr->low_memory = c->low_memory;
    return GRU_OK;
}

int gru_train_init(gru_train *tr, const gru_model *model, int max_batch, int max_steps,
                   int return_sequences, float *workspace, size_t workspace_size)
{
    const gru_train_config c = gru__config(max_batch, max_steps, return_sequences);
    return gru_train_init_config(tr, model, &c, workspace, workspace_size);
}
