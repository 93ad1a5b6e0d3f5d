/* gru_forward.c - float32 inference: streaming steps and batched sequences. */
#include "gru_internal.h"

float gru_tanh(float x) { return gru__tanh(x); }
float gru_sigmoid(float x) { return gru__sigmoid(x); }

/* One time step of the whole model: every layer, then the head. The single
 * kernel behind both gru_stream_step and gru_sequence. */
GRU__DISPATCH static void gru__model_step(const gru_model *model, float *state, float *scratch,
                                          const float *x, float *y)
{
    const int max_hidden = gru__max_hidden(model);
    const gru__layer_scratch s = gru__layer_scratch_split(scratch, max_hidden);
    const float *input = x;
    float *h = state;
    for (int l = 0; l < model->num_layers; l++) {
        gru__layer_step(&model->layers[l], input, h, s);
        input = h;
        h += model->layers[l].hidden_size;
    }
    /* `input` is now the last layer's h. */
    if (model->has_head) {
        const gru_dense *head = &model->head;
        float *out = s.rh + gru__round_up(max_hidden, GRU_PACK_ROWS);
        gru__gemv(head->weight, head->output_size, head->input_size, input, head->bias, out);
        gru__activate(head->activation, out, head->output_size);
        memcpy(y, out, (size_t)head->output_size * sizeof *y);
    } else {
        memcpy(y, input, (size_t)model->layers[model->num_layers - 1].hidden_size * sizeof *y);
    }
}

int gru_stream_init(gru_stream *stream, const gru_model *model, float *state,
                    size_t state_size, float *scratch, size_t scratch_size)
{
    if (!stream || !state || !scratch)
        return GRU_ERR_NULL;
    const int status = gru_model_check(model);
    if (status != GRU_OK)
        return status;
    if (state_size < gru_state_size(model) || scratch_size < gru_scratch_size(model))
        return GRU_ERR_BUFFER;
    stream->model = model;
    stream->state = state;
    stream->scratch = scratch;
    gru_stream_reset(stream);
    return GRU_OK;
}

void gru_stream_reset(gru_stream *stream)
{
    memset(stream->state, 0, gru_state_size(stream->model) * sizeof *stream->state);
}

void gru_stream_step(gru_stream *stream, const float *x, float *y)
{
    gru__model_step(stream->model, stream->state, stream->scratch, x, y);
}

int gru_sequence(const gru_model *model, const float *x, int batch, int steps,
                 int return_sequences, const float *initial_state, float *state,
                 size_t state_size, float *scratch, size_t scratch_size, float *y)
{
    if (!x || !state || !scratch || !y)
        return GRU_ERR_NULL;
    const int status = gru_model_check(model);
    if (status != GRU_OK)
        return status;
    if (batch < 1 || steps < 1 || (return_sequences != 0 && return_sequences != 1))
        return GRU_ERR_ARGUMENT;
    const size_t n_state = gru_state_size(model);
    if (state_size < n_state || scratch_size < gru_scratch_size(model))
        return GRU_ERR_BUFFER;
    const size_t n_in = (size_t)gru_model_input_size(model);
    const size_t n_out = (size_t)gru_model_output_size(model);
    for (size_t b = 0; b < (size_t)batch; b++) {
        if (initial_state)
            memcpy(state, initial_state + b * n_state, n_state * sizeof *state);
        else
            memset(state, 0, n_state * sizeof *state);
        for (size_t t = 0; t < (size_t)steps; t++) {
            const float *xt = x + (b * (size_t)steps + t) * n_in;
            float *yt = return_sequences ? y + (b * (size_t)steps + t) * n_out : y + b * n_out;
            gru__model_step(model, state, scratch, xt, yt);
        }
    }
    return GRU_OK;
}
