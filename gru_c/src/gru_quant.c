/* gru_quant.c - quantized inference, read top-down: the public API of both
 * modes (int8 weights with float math, gru_q8_; integer-only, gru_qi_), then
 * each mode's model step and layer step. Contract in gru_quant.h; checks and
 * sizes of the descriptors in gru_model.c; the cells in gru_cell.h; which
 * kernels run in gru_dispatch.c. */
#include "gru_internal.h"

static void gru__q8_model_step(const gru_q8_model *model, float *state, float *scratch,
                               const float *x, float *y);
static void gru__qi_model_step(const gru_qi_model *model, int16_t *state, int32_t *scratch,
                               const int16_t *x, int32_t *y);

/* ---------------------------------------------------------------- public API */

/* gru_P_stream_init / _reset / _step and gru_P_sequence for both modes: the
 * same code as gru.h's float functions, over each mode's element types. */
#define GRU__Q_STREAM_API(P, MODEL, STATE_T, SCRATCH_T, IN_T, OUT_T)                           \
    int gru_##P##_stream_init(gru_##P##_stream *stream, const MODEL *model, STATE_T *state,     \
                              size_t state_size, SCRATCH_T *scratch, size_t scratch_size)       \
    {                                                                                           \
        if (!stream || !state || !scratch)                                                      \
            return GRU_ERR_NULL;                                                                \
        const int status = gru_##P##_model_check(model);                                        \
        if (status != GRU_OK)                                                                   \
            return status;                                                                      \
        if (state_size < gru_##P##_state_size(model)                                            \
            || scratch_size < gru_##P##_scratch_size(model))                                    \
            return GRU_ERR_BUFFER;                                                              \
        stream->model = model;                                                                  \
        stream->state = state;                                                                  \
        stream->scratch = scratch;                                                              \
        gru_##P##_stream_reset(stream);                                                         \
        return GRU_OK;                                                                          \
    }                                                                                           \
                                                                                                \
    void gru_##P##_stream_reset(gru_##P##_stream *stream)                                       \
    {                                                                                           \
        memset(stream->state, 0, gru_##P##_state_size(stream->model) * sizeof *stream->state);  \
    }                                                                                           \
                                                                                                \
    void gru_##P##_stream_step(gru_##P##_stream *stream, const IN_T *x, OUT_T *y)               \
    {                                                                                           \
        gru__##P##_model_step(stream->model, stream->state, stream->scratch, x, y);             \
    }                                                                                           \
                                                                                                \
    int gru_##P##_sequence(const MODEL *model, const IN_T *x, int batch, int steps,             \
                           int return_sequences, const STATE_T *initial_state, STATE_T *state,  \
                           size_t state_size, SCRATCH_T *scratch, size_t scratch_size,          \
                           OUT_T *y)                                                            \
    {                                                                                           \
        if (!x || !state || !scratch || !y)                                                     \
            return GRU_ERR_NULL;                                                                \
        const int status = gru_##P##_model_check(model);                                        \
        if (status != GRU_OK)                                                                   \
            return status;                                                                      \
        if (batch < 1 || steps < 1 || (return_sequences != 0 && return_sequences != 1))         \
            return GRU_ERR_ARGUMENT;                                                            \
        const size_t n_state = gru_##P##_state_size(model);                                     \
        if (state_size < n_state || scratch_size < gru_##P##_scratch_size(model))               \
            return GRU_ERR_BUFFER;                                                              \
        const size_t n_in = (size_t)gru_##P##_model_input_size(model);                          \
        const size_t n_out = (size_t)gru_##P##_model_output_size(model);                        \
        for (size_t b = 0; b < (size_t)batch; b++) {                                            \
            if (initial_state)                                                                  \
                memcpy(state, initial_state + b * n_state, n_state * sizeof *state);            \
            else                                                                                \
                memset(state, 0, n_state * sizeof *state);                                      \
            for (size_t t = 0; t < (size_t)steps; t++) {                                        \
                const IN_T *xt = x + (b * (size_t)steps + t) * n_in;                            \
                OUT_T *yt = return_sequences ? y + (b * (size_t)steps + t) * n_out              \
                                             : y + b * n_out;                                   \
                gru__##P##_model_step(model, state, scratch, xt, yt);                           \
            }                                                                                   \
        }                                                                                       \
        return GRU_OK;                                                                          \
    }

GRU__Q_STREAM_API(q8, gru_q8_model, float, float, float, float)
GRU__Q_STREAM_API(qi, gru_qi_model, int16_t, int32_t, int16_t, int32_t)

int16_t gru_qi_tanh(int32_t x) { return (int16_t)gru__qi_tanh(x); }
int16_t gru_qi_sigmoid(int32_t x) { return (int16_t)gru__qi_sigmoid(x); }

int gru_qi_output_frac_bits(const gru_qi_model *model)
{
    if (model->has_head && (model->head.activation == GRU_ACT_NONE
                            || model->head.activation == GRU_ACT_SOFTMAX))
        return GRU_QI_PRE_FRAC;
    return GRU_QI_STATE_FRAC;
}

/* The layers of a model step: `input` (declared by DECL) runs from x
 * through each layer's h (consecutive in state, of type H_T) and ends at
 * the last layer's h. */
#define GRU__LAYERS(DECL, H_T, layer_step, s)                                                     \
    DECL = x;                                                                                     \
    do {                                                                                          \
        H_T *h_ = state;                                                                          \
        for (int l_ = 0; l_ < model->num_layers; l_++) {                                          \
            layer_step(&model->layers[l_], input, h_, s);                                         \
            input = h_;                                                                           \
            h_ += model->layers[l_].hidden_size;                                                  \
        }                                                                                         \
    } while (0)

/* ---------------------------------------------------------------- int8 weights, float math */

/* h <- GRU(x, h) for one layer: the float layer step (gru_forward.c) with
 * int8 matrix products, one sequence. */
static void gru__q8_layer_step(const gru_q8_layer *q, const float *x, float *h, gru__scratch s)
{
    const int H = q->hidden_size;
    const float *s_hn = q->s_hh + 2 * H, *b_hn = q->b_hh + 2 * H;

    gru__q8_gemv_k(q->w_ih, 3 * H, q->input_size, x, q->s_ih, q->b_ih, s.gi);
    gru__q8_gemv_k(q->w_hh_rz, 2 * H, H, h, q->s_hh, q->b_hh, s.gh);
    if (q->reset_after) {
        gru__cell_rz(2 * H, s.gi, s.gh);
        gru__q8_gemv_k(q->w_hh_n, H, H, h, s_hn, b_hn, s.ghn);
        gru__cell_after(H, s.gi, s.gh, s.ghn, h, s.rh);
    } else {
        gru__cell_before_rz(H, s.gi, s.gh, h, s.rh);
        gru__q8_gemv_k(q->w_hh_n, H, H, s.rh, s_hn, b_hn, s.ghn);
        gru__cell_before(H, s.gi, s.gh, s.ghn, h, s.rh);
    }
}

static void gru__q8_model_step(const gru_q8_model *model, float *state, float *scratch,
                               const float *x, float *y)
{
    const int max_hidden = gru__q8_max_hidden(model);
    const gru__scratch s = gru__scratch_split(scratch, max_hidden, gru_q8_model_output_size(model));
    GRU__LAYERS(const float *input, float, gru__q8_layer_step, s);
    if (model->has_head) {
        const gru_q8_dense *head = &model->head;
        gru__q8_gemv_k(head->weight, head->output_size, head->input_size, input, head->scale,
                       head->bias, s.out);
        gru__activate_k(head->activation, s.out, head->output_size);
        memcpy(y, s.out, (size_t)head->output_size * sizeof *y);
    } else {
        memcpy(y, input, (size_t)model->layers[model->num_layers - 1].hidden_size * sizeof *y);
    }
}

/* ---------------------------------------------------------------- integer only */

/* h <- GRU(x, h) for one integer layer. Scratch: gi [3H], gh [3H], rh [H] int32. */
static void gru__qi_layer_step(const gru_qi_layer *q, const int16_t *x, int16_t *h,
                               int32_t *scratch)
{
    const int H = q->hidden_size;
    int32_t *gi = scratch, *gh = scratch + 3 * H, *rh = scratch + 6 * H;
    const int32_t *m_hn = q->m_hh + 2 * H, *b_hn = q->b_hh + 2 * H;
    const int8_t *sh_hn = q->sh_hh + 2 * H;

    gru__qi_gemv_k(q->w_ih, 3 * H, q->input_size, x, NULL, q->m_ih, q->sh_ih, q->b_ih, gi);
    gru__qi_gemv_k(q->w_hh_rz, 2 * H, H, h, NULL, q->m_hh, q->sh_hh, q->b_hh, gh);
    if (q->reset_after) {
        gru__qi_gemv_k(q->w_hh_n, H, H, h, NULL, m_hn, sh_hn, b_hn, gh + 2 * H);
        gru__qi_cell_after_k(H, gi, gh, h);
    } else {
        gru__qi_cell_before_rz_k(H, gi, gh, h, rh);
        gru__qi_gemv_k(q->w_hh_n, H, H, NULL, rh, m_hn, sh_hn, b_hn, gh + 2 * H);
        gru__qi_cell_before_k(H, gi, gh, h);
    }
}

static void gru__qi_model_step(const gru_qi_model *model, int16_t *state, int32_t *scratch,
                               const int16_t *x, int32_t *y)
{
    GRU__LAYERS(const int16_t *input, int16_t, gru__qi_layer_step, scratch);
    if (model->has_head) {
        const gru_qi_dense *head = &model->head;
        const int O = head->output_size;
        gru__qi_gemv_k(head->weight, O, head->input_size, input, NULL, head->mult, head->shift,
                       head->bias, y);
        if (head->activation == GRU_ACT_SIGMOID)
            for (int j = 0; j < O; j++)
                y[j] = gru__qi_sigmoid(y[j]);
        else if (head->activation == GRU_ACT_TANH)
            for (int j = 0; j < O; j++)
                y[j] = gru__qi_tanh(y[j]);
    } else {
        /* the bound in a local: y may alias *model for the compiler, which
         * would reload it after every store (scalar, about 7% of a step at (40,128)) */
        const int H = model->layers[model->num_layers - 1].hidden_size;
        for (int j = 0; j < H; j++)
            y[j] = input[j];
    }
}
