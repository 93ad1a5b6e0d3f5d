/* gru_forward.c - float32 inference, read top-down: the public API
 * (streams, sequences), then the model step, then the layer step. The cell
 * is gru_cell.h's; the kernels behind gru__gemv / gru__cell_* are chosen in
 * gru_dispatch.c. */
#include "gru_internal.h"

static void gru__sequence(const gru_model *model, const float *x, int batch, int steps,
                          int return_sequences, const float *initial_state, float *state,
                          float *scratch, float *y);
static void gru__model_step(const gru_model *model, float *state, size_t state_stride,
                            float *scratch, const float *x, size_t x_stride, float *y,
                            size_t y_stride, int lanes);
static void gru__layer_step(const gru_layer *layer, const float *x, size_t x_stride, float *h,
                            size_t h_stride, gru__scratch s, int lanes);
static void gru__layer_step_act(const gru_layer *layer, float *h, size_t h_stride, gru__scratch s,
                                int lanes);
static void gru__sequence_passes(const gru_model *model, const float *x, int batch, int steps,
                                 int return_sequences, const float *initial_state, float *state,
                                 float *scratch, float *y);
static const float *gru__pre_net(const gru_model *model, const float *x, size_t *stride,
                                 gru__scratch s, int lanes);
static const float *gru__head(const gru_model *model, const float *input, size_t *stride,
                              gru__scratch s, int lanes);

/* The model step of one sequence (gru_stream_step, and the rest of a batch). */
static void gru__stream_step(const gru_model *model, float *state, float *scratch,
                             const float *x, float *y)
{
    gru__model_step(model, state, 0, scratch, x, 0, y, 0, 1);
}

/* ---------------------------------------------------------------- public API */

int gru_stream_init(gru_stream *stream, const gru_model *model, float *state,
                    size_t state_size, float *scratch, size_t scratch_size)
{
    if (!stream || !state || !scratch)
        return GRU_ERR_NULL;
    const int status = gru_model_check(model);
    if (status != GRU_OK)
        return status;
    if (gru__has_reverse(model))
        return GRU_ERR_STREAM;
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
    gru__stream_step(stream->model, stream->state, stream->scratch, x, y);
}

size_t gru_sequence_state_size(const gru_model *model)
{
    return GRU_SEQUENCE_LANES * gru_state_size(model);
}

size_t gru_sequence_scratch_size(const gru_model *model)
{
    return GRU_SEQUENCE_LANES * gru_scratch_size(model);
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
    if (state_size < gru_sequence_state_size(model) ||
        scratch_size < gru_sequence_scratch_size_for(model, steps))
        return GRU_ERR_BUFFER;
    if (gru__has_reverse(model))
        gru__sequence_passes(model, x, batch, steps, return_sequences, initial_state, state, scratch, y);
    else
        gru__sequence(model, x, batch, steps, return_sequences, initial_state, state, scratch, y);
    return GRU_OK;
}

/* W of gru_sequence_scratch_size_for. */
static size_t gru__pass_width(const gru_model *model)
{
    size_t width = (size_t)model->layers[0].input_size;
    for (int l = 1; l <= model->num_layers; l++)
        if ((size_t)gru__expected_input(model, l) > width)
            width = (size_t)gru__expected_input(model, l);
    return width;
}

size_t gru_sequence_scratch_size_for(const gru_model *model, int steps)
{
    if (!gru__has_reverse(model))
        return gru_sequence_scratch_size(model);
    const size_t base = gru_scratch_size(model), width = gru__pass_width(model);
    const size_t T = steps < 1 ? 1 : (size_t)steps;
    if (T > (SIZE_MAX - base) / (2 * width))
        return SIZE_MAX;
    return base + 2 * T * width;
}

/* ---------------------------------------------------------------- sequences */

#if GRU_SEQUENCE_LANES > 1
/* Sequences [first, first + lanes) of the batch, all `steps` steps, in lock
 * step through one model step of `lanes` lanes. */
static void gru__sequence_lanes(const gru_model *model, const float *x, int steps,
                                int return_sequences, const float *initial_state, float *state,
                                float *scratch, float *y, size_t first, int lanes)
{
    const size_t n_state = gru_state_size(model);
    const size_t n_in = (size_t)gru_model_input_size(model);
    const size_t n_out = (size_t)gru_model_output_size(model);
    const size_t T = (size_t)steps;
    if (initial_state)
        memcpy(state, initial_state + first * n_state, (size_t)lanes * n_state * sizeof *state);
    else
        memset(state, 0, (size_t)lanes * n_state * sizeof *state);
    for (size_t t = 0; t < T; t++) {
        const float *xt = x + (first * T + t) * n_in;
        if (return_sequences)
            gru__model_step(model, state, n_state, scratch, xt, T * n_in, y + (first * T + t) * n_out,
                            T * n_out, lanes);
        else
            gru__model_step(model, state, n_state, scratch, xt, T * n_in, y + first * n_out, n_out,
                            lanes);
    }
}
#endif

/* GRU_SEQUENCE_LANES sequences at a time, then the rest of the batch one at
 * a time through the streaming step (same results; no second inlined copy
 * of the model step). */
static void gru__sequence(const gru_model *model, const float *x, int batch, int steps,
                          int return_sequences, const float *initial_state, float *state,
                          float *scratch, float *y)
{
    size_t b = 0;
#if GRU_SEQUENCE_LANES > 1
    for (; b + GRU_SEQUENCE_LANES <= (size_t)batch; b += GRU_SEQUENCE_LANES)
        gru__sequence_lanes(model, x, steps, return_sequences, initial_state, state, scratch, y, b,
                            GRU_SEQUENCE_LANES);
#endif
    const size_t n_state = gru_state_size(model);
    const size_t n_in = (size_t)gru_model_input_size(model);
    const size_t n_out = (size_t)gru_model_output_size(model);
    const size_t T = (size_t)steps;
    for (; b < (size_t)batch; b++) {
        if (initial_state)
            memcpy(state, initial_state + b * n_state, n_state * sizeof *state);
        else
            memset(state, 0, n_state * sizeof *state);
        for (size_t t = 0; t < T; t++)
            gru__stream_step(model, state, scratch, x + (b * T + t) * n_in,
                             return_sequences ? y + (b * T + t) * n_out : y + b * n_out);
    }
}

/* ---------------------------------------------------------------- model step */

/* y = activation(W x + b) of one dense layer for `lanes` lanes. */
static void gru__dense_step(const gru_dense *d, const float *x, size_t x_stride, float *y,
                            size_t y_stride, int lanes)
{
    gru__gemm_call(d->weight, d->output_size, d->input_size, x, x_stride, d->bias, y, y_stride,
                   lanes);
    for (int l = 0; l < lanes; l++)
        gru__activate_k(d->activation, y + (size_t)l * y_stride, d->output_size);
}

/* One time step of the whole model (pre-net, every GRU layer, then the head)
 * for `lanes` sequences: lane l reads x + l * x_stride, owns state + l *
 * state_stride and writes y + l * y_stride. The one kernel behind
 * gru_stream_step (1 lane) and gru_sequence (GRU_SEQUENCE_LANES lanes, then 1
 * for the rest of a batch). Dense layers write the two dense buffers in turn;
 * the last head layer writes s.out. */
static void gru__model_step(const gru_model *model, float *state, size_t state_stride,
                            float *scratch, const float *x, size_t x_stride, float *y,
                            size_t y_stride, int lanes)
{
    const int out_size = gru_model_output_size(model);
    const gru__scratch s = gru__scratch_split_dense(scratch, gru__max_hidden(model), out_size,
                                                    gru__max_dense(model));
    size_t input_stride = x_stride;
    const float *input = gru__pre_net(model, x, &input_stride, s, lanes);
    float *h = state;
    for (int l = 0; l < model->num_layers; l++) {
        gru__layer_step(&model->layers[l], input, input_stride, h, state_stride, s, lanes);
        input = h;
        input_stride = state_stride;
        h += model->layers[l].hidden_size;
    }
    /* `input` is now the last layer's h. */
    input = gru__head(model, input, &input_stride, s, lanes);
    for (int l = 0; l < lanes; l++)
        memcpy(y + (size_t)l * y_stride, input + (size_t)l * input_stride,
               (size_t)out_size * sizeof *y);
}

/* The pre-net on x (lanes `*stride` apart); returns where its output is and
 * sets *stride to its lanes' distance (x itself without a pre-net). */
static const float *gru__pre_net(const gru_model *model, const float *x, size_t *stride,
                                 gru__scratch s, int lanes)
{
    for (int l = 0; l < gru__num_pre(model); l++) {
        gru__dense_step(&model->pre[l], x, *stride, s.d[l & 1], s.stride, lanes);
        x = s.d[l & 1];
        *stride = s.stride;
    }
    return x;
}

/* The head on the last GRU output, in the same way; the last head layer
 * writes s.out. */
static const float *gru__head(const gru_model *model, const float *input, size_t *stride,
                              gru__scratch s, int lanes)
{
    if (!model->has_head)
        return input;
    const int num_post = gru__num_post(model);
    for (int l = -1; l < num_post; l++) {
        float *out = l == num_post - 1 ? s.out : s.d[(l + 1) & 1];
        gru__dense_step(l < 0 ? &model->head : &model->post[l], input, *stride, out, s.stride, lanes);
        input = out;
        *stride = s.stride;
    }
    return input;
}

/* ---------------------------------------------------------------- layer by layer */

/* gru_sequence for models with a reverse layer, one sequence at a time: the
 * pre-net on every step into buffer a ([T][W]), then each GRU layer (or
 * bidirectional pair) over all steps, forward or backward, its h into
 * buffer b at each step's row (the reverse half beside the forward one),
 * then a and b swap; the head on every row (return_sequences) or on the last
 * layer's final states. */
static void gru__sequence_passes(const gru_model *model, const float *x, int batch, int steps,
                                 int return_sequences, const float *initial_state, float *state,
                                 float *scratch, float *y)
{
    const size_t n_state = gru_state_size(model), W = gru__pass_width(model), T = (size_t)steps;
    const size_t n_in = (size_t)gru_model_input_size(model), n_out = (size_t)gru_model_output_size(model);
    const gru__scratch s = gru__scratch_split_dense(scratch, gru__max_hidden(model), (int)n_out,
                                                    gru__max_dense(model));
    float *a = scratch + gru_scratch_size(model), *b = a + T * W;
    for (size_t q = 0; q < (size_t)batch; q++) {
        if (initial_state)
            memcpy(state, initial_state + q * n_state, n_state * sizeof *state);
        else
            memset(state, 0, n_state * sizeof *state);
        const size_t width0 = (size_t)model->layers[0].input_size;
        for (size_t t = 0; t < T; t++) {
            size_t stride = 0;
            memcpy(a + t * W, gru__pre_net(model, x + (q * T + t) * n_in, &stride, s, 1),
                   width0 * sizeof *a);
        }
        float *h = state;
        size_t column = 0;
        for (int l = 0; l < model->num_layers; l++) {
            const gru_layer *layer = &model->layers[l];
            const size_t H = (size_t)layer->hidden_size;
            column = layer->merge ? column + (size_t)model->layers[l - 1].hidden_size : 0;
            for (size_t i = 0; i < T; i++) {
                const size_t t = layer->reverse ? T - 1 - i : i;
                gru__layer_step(layer, a + t * W, 0, h, 0, s, 1);
                memcpy(b + t * W + column, h, H * sizeof *h);
            }
            h += H;
            if (l + 1 == model->num_layers || !model->layers[l + 1].merge) {
                float *swap = a;
                a = b;
                b = swap;
            }
        }
        /* The last layer (or pair)'s final states end the state: its output
         * without return_sequences. */
        const size_t top = (size_t)gru__expected_input(model, model->num_layers);
        for (size_t t = return_sequences ? 0 : T - 1; t < T; t++) {
            size_t stride = 0;
            const float *in = return_sequences ? a + t * W : h - top;
            memcpy(return_sequences ? y + (q * T + t) * n_out : y + q * n_out,
                   gru__head(model, in, &stride, s, 1), n_out * sizeof *y);
        }
    }
}

/* ---------------------------------------------------------------- layer step */

/* h <- GRU(x, h) for one layer and `lanes` independent sequences: lane l reads
 * x + l * x_stride and updates h + l * h_stride. x and h must not overlap.
 * After reset (reset_after) the sigmoids of r and z come before the product
 * for n, which does not need them: the core overlaps their long dependency
 * chains with the product's multiply-adds (same operations, same results). */
static void gru__layer_step(const gru_layer *layer, const float *x, size_t x_stride, float *h,
                            size_t h_stride, gru__scratch s, int lanes)
{
    const int H = layer->hidden_size;
    const size_t ss = s.stride;
    const float *b_hn = layer->b_hh + 2 * H;

    gru__gemm_call(layer->w_ih, 3 * H, layer->input_size, x, x_stride, layer->b_ih, s.gi, ss, lanes);
    gru__gemm_call(layer->w_hh_rz, 2 * H, H, h, h_stride, layer->b_hh, s.gh, ss, lanes);
    if (!GRU_PLAIN_MODELS && !gru__layer_default(layer)) {
        gru__layer_step_act(layer, h, h_stride, s, lanes);
        return;
    }
    if (layer->reset_after) {
        for (int l = 0; l < lanes; l++)
            gru__cell_rz(2 * H, s.gi + (size_t)l * ss, s.gh + (size_t)l * ss);
        gru__gemm_call(layer->w_hh_n, H, H, h, h_stride, b_hn, s.ghn, ss, lanes);
        for (int l = 0; l < lanes; l++)
            gru__cell_after(H, s.gi + (size_t)l * ss, s.gh + (size_t)l * ss, s.ghn + (size_t)l * ss,
                            h + (size_t)l * h_stride, s.rh + (size_t)l * ss);
    } else {
        for (int l = 0; l < lanes; l++)
            gru__cell_before_rz(H, s.gi + (size_t)l * ss, s.gh + (size_t)l * ss,
                                h + (size_t)l * h_stride, s.rh + (size_t)l * ss);
        gru__gemm_call(layer->w_hh_n, H, H, s.rh, ss, b_hn, s.ghn, ss, lanes);
        for (int l = 0; l < lanes; l++)
            gru__cell_before(H, s.gi + (size_t)l * ss, s.gh + (size_t)l * ss, s.ghn + (size_t)l * ss,
                             h + (size_t)l * h_stride, s.rh + (size_t)l * ss);
    }
}

/* The rest of gru__layer_step for a layer with other activations (the same
 * order of operations, through the portable *_act cells). */
static void gru__layer_step_act(const gru_layer *layer, float *h, size_t h_stride, gru__scratch s,
                                int lanes)
{
    const int H = layer->hidden_size, ga = layer->recurrent_activation, ca = layer->activation;
    const size_t ss = s.stride;
    const float *b_hn = layer->b_hh + 2 * H;
    for (int l = 0; l < lanes; l++) {
        float *gi = s.gi + (size_t)l * ss, *gh = s.gh + (size_t)l * ss;
        if (layer->reset_after)
            gru__cell_rz_act(2 * H, gi, gh, ga);
        else
            gru__cell_before_rz_act(H, gi, gh, h + (size_t)l * h_stride, s.rh + (size_t)l * ss, ga);
    }
    if (layer->reset_after)
        gru__gemm_call(layer->w_hh_n, H, H, h, h_stride, b_hn, s.ghn, ss, lanes);
    else
        gru__gemm_call(layer->w_hh_n, H, H, s.rh, ss, b_hn, s.ghn, ss, lanes);
    for (int l = 0; l < lanes; l++)
        gru__cell_n_act(layer->reset_after, H, s.gi + (size_t)l * ss, s.gh + (size_t)l * ss,
                        s.ghn + (size_t)l * ss, h + (size_t)l * h_stride, ca);
}
