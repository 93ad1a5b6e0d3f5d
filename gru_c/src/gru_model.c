/* gru_model.c - weight packing, configuration checks and size queries. */
#include "gru_internal.h"

const char *gru_status_string(int status)
{
    switch (status) {
    case GRU_OK: return "ok";
    case GRU_ERR_NULL: return "a required pointer is NULL";
    case GRU_ERR_SIZE: return "a dimension is outside 1..GRU_MAX_DIM";
    case GRU_ERR_LAYERS: return "num_layers is outside 1..GRU_MAX_LAYERS";
    case GRU_ERR_SHAPE: return "a layer's input size differs from the previous layer's hidden size";
    case GRU_ERR_BUFFER: return "a buffer is smaller than its size query";
    case GRU_ERR_ACTIVATION: return "unknown activation or flag value";
    case GRU_ERR_CHECKSUM: return "weights do not match their checksum";
    case GRU_ERR_ARGUMENT: return "invalid argument";
    default: return "unknown status";
    }
}

static int gru__dim_ok(int n) { return n >= 1 && n <= GRU_MAX_DIM; }

int gru_pack_matrix(const float *w, int rows, int cols, float *packed, size_t capacity)
{
    if (!w || !packed)
        return GRU_ERR_NULL;
    if (!gru__dim_ok(rows) || !gru__dim_ok(cols))
        return GRU_ERR_SIZE;
    if (capacity < GRU_PACKED_SIZE(rows, cols))
        return GRU_ERR_BUFFER;
    const int padded = gru__round_up(rows, GRU_PACK_ROWS);
    const gru__blocks g = gru__block_split(padded);
    for (int b = 0, r0 = 0; b < g.count; b++) {
        const int width = gru__block_rows(g, b);
        for (int k = 0; k < cols; k++)
            for (int j = 0; j < width; j++) {
                const int row = r0 + j;
                *packed++ = row < rows ? w[(size_t)row * (size_t)cols + (size_t)k] : 0.0f;
            }
        r0 += width;
    }
    return GRU_OK;
}

int gru_unpack_matrix(const float *packed, int rows, int cols, float *w, size_t capacity)
{
    if (!w || !packed)
        return GRU_ERR_NULL;
    if (!gru__dim_ok(rows) || !gru__dim_ok(cols))
        return GRU_ERR_SIZE;
    if (capacity < (size_t)rows * (size_t)cols)
        return GRU_ERR_BUFFER;
    const int padded = gru__round_up(rows, GRU_PACK_ROWS);
    const gru__blocks g = gru__block_split(padded);
    for (int b = 0, r0 = 0; b < g.count; b++) {
        const int width = gru__block_rows(g, b);
        for (int k = 0; k < cols; k++)
            for (int j = 0; j < width; j++) {
                const int row = r0 + j;
                const float v = *packed++;
                if (row < rows)
                    w[(size_t)row * (size_t)cols + (size_t)k] = v;
            }
        r0 += width;
    }
    return GRU_OK;
}

int gru_model_check(const gru_model *model)
{
    if (!model)
        return GRU_ERR_NULL;
    if (model->num_layers < 1 || model->num_layers > GRU_MAX_LAYERS)
        return GRU_ERR_LAYERS;
    for (int l = 0; l < model->num_layers; l++) {
        const gru_layer *layer = &model->layers[l];
        if (!layer->w_ih || !layer->w_hh_rz || !layer->w_hh_n || !layer->b_ih || !layer->b_hh)
            return GRU_ERR_NULL;
        if (!gru__dim_ok(layer->input_size) || !gru__dim_ok(layer->hidden_size))
            return GRU_ERR_SIZE;
        if (layer->reset_after != 0 && layer->reset_after != 1)
            return GRU_ERR_ACTIVATION;
        if (l > 0 && layer->input_size != model->layers[l - 1].hidden_size)
            return GRU_ERR_SHAPE;
    }
    if (model->has_head != 0 && model->has_head != 1)
        return GRU_ERR_ACTIVATION;
    if (model->has_head) {
        const gru_dense *head = &model->head;
        if (!head->weight || !head->bias)
            return GRU_ERR_NULL;
        if (!gru__dim_ok(head->input_size) || !gru__dim_ok(head->output_size))
            return GRU_ERR_SIZE;
        if (head->input_size != model->layers[model->num_layers - 1].hidden_size)
            return GRU_ERR_SHAPE;
        if (head->activation < GRU_ACT_NONE || head->activation > GRU_ACT_SOFTMAX)
            return GRU_ERR_ACTIVATION;
    }
    return GRU_OK;
}

int gru_model_input_size(const gru_model *model) { return model->layers[0].input_size; }

int gru_model_output_size(const gru_model *model)
{
    return model->has_head ? model->head.output_size
                           : model->layers[model->num_layers - 1].hidden_size;
}

size_t gru_state_size(const gru_model *model)
{
    size_t total = 0;
    for (int l = 0; l < model->num_layers; l++)
        total += (size_t)model->layers[l].hidden_size;
    return GRU_STATE_SIZE(total);
}

size_t gru_scratch_size(const gru_model *model)
{
    return GRU_SCRATCH_SIZE(gru__max_hidden(model), gru_model_output_size(model));
}
