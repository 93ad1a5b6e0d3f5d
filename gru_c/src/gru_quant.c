/* gru_quant.c - quantized inference: int8 weights with float math (gru_q8_),
 * and the integer-only path (gru_qi_). Contract in gru_quant.h. */
#include "gru_quant_internal.h"
#include "gru_quant_x86.h"

/* The matrix products of both modes: the AVX2 kernels (gru_quant_x86.h) when
 * the CPU has them, else the portable loops. Same results either way. */
GRU__HOT void gru__q8_gemv_run(const int8_t *restrict w, int rows, int cols,
                               const float *restrict x, const float *restrict scale,
                               const float *restrict bias, float *restrict y)
{
#if GRU__QX86
    if (gru__x86_avx2()) {
        gru__q8_gemv_avx2(w, rows, cols, x, scale, bias, y);
        return;
    }
#endif
    gru__q8_gemv(w, rows, cols, x, scale, bias, y);
}

GRU__HOT void gru__qi_gemv_run(const int8_t *restrict w, int rows, int cols,
                               const int16_t *restrict x16, const int32_t *restrict x32,
                               const int32_t *restrict mult, const int8_t *restrict shift,
                               const int32_t *restrict bias, int32_t *restrict y)
{
#if GRU__QX86
    if (gru__x86_avx512vnni()) {
        gru__qi_gemv_avx512(w, rows, cols, x16, x32, mult, shift, bias, y);
        return;
    }
    if (gru__x86_avx2()) {
        gru__qi_gemv_avx2(w, rows, cols, x16, x32, mult, shift, bias, y);
        return;
    }
#endif
    gru__qi_gemv(w, rows, cols, x16, x32, mult, shift, bias, y);
}

static int gru__q_dim_ok(int n, int max) { return n >= 1 && n <= max; }

/* Shared structural checks of both descriptors (sizes, flags, shapes). */
static int gru__q_check_shape(int num_layers, const int *in, const int *hid, const int *ra,
                              int has_head, int head_in, int head_out, int act, int max_dim)
{
    if (num_layers < 1 || num_layers > GRU_MAX_LAYERS)
        return GRU_ERR_LAYERS;
    for (int l = 0; l < num_layers; l++) {
        if (!gru__q_dim_ok(in[l], max_dim) || !gru__q_dim_ok(hid[l], max_dim))
            return GRU_ERR_SIZE;
        if (ra[l] != 0 && ra[l] != 1)
            return GRU_ERR_ACTIVATION;
        if (l > 0 && in[l] != hid[l - 1])
            return GRU_ERR_SHAPE;
    }
    if (has_head != 0 && has_head != 1)
        return GRU_ERR_ACTIVATION;
    if (has_head) {
        if (!gru__q_dim_ok(head_in, max_dim) || !gru__q_dim_ok(head_out, max_dim))
            return GRU_ERR_SIZE;
        if (head_in != hid[num_layers - 1])
            return GRU_ERR_SHAPE;
        if (act < GRU_ACT_NONE || act > GRU_ACT_SOFTMAX)
            return GRU_ERR_ACTIVATION;
    }
    return GRU_OK;
}

/* Values the kernels trust: row scales finite and >= 0 (0: an all-zero row),
 * float biases finite; integer multipliers >= 0 and shifts in 1..62 (the
 * documented requantization ranges). Checked after the shapes, so n is sane. */
static int gru__q_scales_ok(const float *s, int n, int allow_negative)
{
    for (int i = 0; i < n; i++)
        if (!(s[i] - s[i] == 0.0f) || (!allow_negative && !(s[i] >= 0.0f)))
            return 0;
    return 1;
}

static int gru__qi_requant_ok(const int32_t *mult, const int8_t *shift, int n)
{
    for (int i = 0; i < n; i++)
        if (mult[i] < 0 || shift[i] < 1 || shift[i] > 62)
            return 0;
    return 1;
}

/* ================================================================ int8 weights, float math */

int gru_q8_pack_matrix(const int8_t *w, int rows, int cols, int8_t *packed, size_t capacity)
{
    if (!w || !packed)
        return GRU_ERR_NULL;
    if (!gru__q_dim_ok(rows, GRU_MAX_DIM) || !gru__q_dim_ok(cols, GRU_MAX_DIM))
        return GRU_ERR_SIZE;
    if (capacity < GRU_Q8_PACKED_SIZE(rows, cols))
        return GRU_ERR_BUFFER;
    const gru__blocks g = gru__block_split(gru__round_up(rows, GRU_PACK_ROWS));
    for (int b = 0, r0 = 0; b < g.count; b++) {
        const int width = gru__block_rows(g, b);
        for (int k = 0; k < cols; k++)
            for (int j = 0; j < width; j++) {
                const int row = r0 + j;
                *packed++ = row < rows ? w[(size_t)row * (size_t)cols + (size_t)k] : 0;
            }
        r0 += width;
    }
    return GRU_OK;
}

int gru_q8_model_check(const gru_q8_model *model)
{
    if (!model)
        return GRU_ERR_NULL;
    int in[GRU_MAX_LAYERS], hid[GRU_MAX_LAYERS], ra[GRU_MAX_LAYERS];
    const int n = model->num_layers;
    for (int l = 0; l < n && l < GRU_MAX_LAYERS; l++) {
        const gru_q8_layer *q = &model->layers[l];
        if (!q->w_ih || !q->w_hh_rz || !q->w_hh_n || !q->s_ih || !q->s_hh || !q->b_ih || !q->b_hh)
            return GRU_ERR_NULL;
        in[l] = q->input_size, hid[l] = q->hidden_size, ra[l] = q->reset_after;
    }
    const gru_q8_dense *head = &model->head;
    if (model->has_head == 1 && (!head->weight || !head->scale || !head->bias))
        return GRU_ERR_NULL;
    const int status = gru__q_check_shape(n, in, hid, ra, model->has_head, head->input_size,
                                          head->output_size, head->activation, GRU_MAX_DIM);
    if (status != GRU_OK)
        return status;
    for (int l = 0; l < n; l++) {
        const gru_q8_layer *q = &model->layers[l];
        const int rows = 3 * q->hidden_size;
        if (!gru__q_scales_ok(q->s_ih, rows, 0) || !gru__q_scales_ok(q->s_hh, rows, 0)
            || !gru__q_scales_ok(q->b_ih, rows, 1) || !gru__q_scales_ok(q->b_hh, rows, 1))
            return GRU_ERR_ARGUMENT;
    }
    if (model->has_head
        && (!gru__q_scales_ok(head->scale, head->output_size, 0)
            || !gru__q_scales_ok(head->bias, head->output_size, 1)))
        return GRU_ERR_ARGUMENT;
    return GRU_OK;
}

int gru_q8_model_input_size(const gru_q8_model *model) { return model->layers[0].input_size; }

int gru_q8_model_output_size(const gru_q8_model *model)
{
    return model->has_head ? model->head.output_size
                           : model->layers[model->num_layers - 1].hidden_size;
}

static int gru__q8_max_hidden(const gru_q8_model *model)
{
    int m = 0;
    for (int l = 0; l < model->num_layers; l++)
        m = model->layers[l].hidden_size > m ? model->layers[l].hidden_size : m;
    return m;
}

size_t gru_q8_state_size(const gru_q8_model *model)
{
    size_t total = 0;
    for (int l = 0; l < model->num_layers; l++)
        total += (size_t)model->layers[l].hidden_size;
    return GRU_STATE_SIZE(total);
}

size_t gru_q8_scratch_size(const gru_q8_model *model)
{
    return GRU_SCRATCH_SIZE(gru__q8_max_hidden(model), gru_q8_model_output_size(model));
}

/* h <- GRU(x, h) for one layer: gru__layer_step with int8 matrix products. */
GRU__HOT void gru__q8_layer_step(const gru_q8_layer *q, const float *restrict x,
                                 float *restrict h, gru__scratch s)
{
    const int H = q->hidden_size;
    float *restrict gi = s.gi, *restrict gh = s.gh, *restrict ghn = s.ghn, *restrict rh = s.rh;

    gru__q8_gemv_run(q->w_ih, 3 * H, q->input_size, x, q->s_ih, q->b_ih, gi);
    gru__q8_gemv_run(q->w_hh_rz, 2 * H, H, h, q->s_hh, q->b_hh, gh);
    if (q->reset_after) {
        gru__q8_gemv_run(q->w_hh_n, H, H, h, q->s_hh + 2 * H, q->b_hh + 2 * H, ghn);
        for (int j = 0; j < H; j++) {
            const float r = gru__sigmoid(gi[j] + gh[j]);
            const float z = gru__sigmoid(gi[H + j] + gh[H + j]);
            const float n = gru__tanh(gi[2 * H + j] + r * ghn[j]);
            h[j] = (1.0f - z) * n + z * h[j];
        }
    } else {
        for (int j = 0; j < H; j++) {
            const float r = gru__sigmoid(gi[j] + gh[j]);
            gh[H + j] = gru__sigmoid(gi[H + j] + gh[H + j]);
            rh[j] = r * h[j];
        }
        gru__q8_gemv_run(q->w_hh_n, H, H, rh, q->s_hh + 2 * H, q->b_hh + 2 * H, ghn);
        for (int j = 0; j < H; j++) {
            const float z = gh[H + j];
            const float n = gru__tanh(gi[2 * H + j] + ghn[j]);
            h[j] = (1.0f - z) * n + z * h[j];
        }
    }
}

GRU__DISPATCH static void gru__q8_model_step(const gru_q8_model *model, float *state,
                                             float *scratch, const float *x, float *y)
{
    const int max_hidden = gru__q8_max_hidden(model);
    const gru__scratch s = gru__scratch_split(scratch, max_hidden, gru_q8_model_output_size(model));
    const float *input = x;
    float *h = state;
    for (int l = 0; l < model->num_layers; l++) {
        gru__q8_layer_step(&model->layers[l], input, h, s);
        input = h;
        h += model->layers[l].hidden_size;
    }
    if (model->has_head) {
        const gru_q8_dense *head = &model->head;
        float *out = s.out;
        gru__q8_gemv_run(head->weight, head->output_size, head->input_size, input, head->scale,
                     head->bias, out);
        gru__activate(head->activation, out, head->output_size);
        memcpy(y, out, (size_t)head->output_size * sizeof *y);
    } else {
        memcpy(y, input, (size_t)model->layers[model->num_layers - 1].hidden_size * sizeof *y);
    }
}

/* ================================================================ integer only */

int gru_qi_pack_matrix(const int8_t *w, int rows, int cols, int8_t *packed, size_t capacity)
{
    if (!w || !packed)
        return GRU_ERR_NULL;
    if (!gru__q_dim_ok(rows, GRU_MAX_DIM) || !gru__q_dim_ok(cols, GRU_QI_MAX_DIM))
        return GRU_ERR_SIZE;
    if (capacity < GRU_QI_PACKED_SIZE(rows, cols))
        return GRU_ERR_BUFFER;
    for (int r0 = 0; r0 < rows; r0 += GRU_QI_BLOCK_ROWS)
        for (int k = 0; k < cols; k += 2)
            for (int j = 0; j < GRU_QI_BLOCK_ROWS; j++)
                for (int c = k; c < k + 2; c++) {
                    const int row = r0 + j;
                    *packed++ = row < rows && c < cols ? w[(size_t)row * (size_t)cols + (size_t)c] : 0;
                }
    return GRU_OK;
}

int16_t gru_qi_tanh(int32_t x) { return (int16_t)gru__qi_tanh(x); }
int16_t gru_qi_sigmoid(int32_t x) { return (int16_t)gru__qi_sigmoid(x); }

int gru_qi_model_check(const gru_qi_model *model)
{
    if (!model)
        return GRU_ERR_NULL;
    int in[GRU_MAX_LAYERS], hid[GRU_MAX_LAYERS], ra[GRU_MAX_LAYERS];
    const int n = model->num_layers;
    for (int l = 0; l < n && l < GRU_MAX_LAYERS; l++) {
        const gru_qi_layer *q = &model->layers[l];
        if (!q->w_ih || !q->w_hh_rz || !q->w_hh_n || !q->m_ih || !q->sh_ih || !q->m_hh || !q->sh_hh || !q->b_ih
            || !q->b_hh)
            return GRU_ERR_NULL;
        in[l] = q->input_size, hid[l] = q->hidden_size, ra[l] = q->reset_after;
    }
    const gru_qi_dense *head = &model->head;
    if (model->has_head == 1 && (!head->weight || !head->mult || !head->shift || !head->bias))
        return GRU_ERR_NULL;
    const int status = gru__q_check_shape(n, in, hid, ra, model->has_head, head->input_size,
                                          head->output_size, head->activation, GRU_QI_MAX_DIM);
    if (status != GRU_OK)
        return status;
    for (int l = 0; l < n; l++) {
        const gru_qi_layer *q = &model->layers[l];
        const int rows = 3 * q->hidden_size;
        if (!gru__qi_requant_ok(q->m_ih, q->sh_ih, rows) || !gru__qi_requant_ok(q->m_hh, q->sh_hh, rows))
            return GRU_ERR_ARGUMENT;
    }
    if (model->has_head && !gru__qi_requant_ok(head->mult, head->shift, head->output_size))
        return GRU_ERR_ARGUMENT;
    return GRU_OK;
}

int gru_qi_model_input_size(const gru_qi_model *model) { return model->layers[0].input_size; }

int gru_qi_model_output_size(const gru_qi_model *model)
{
    return model->has_head ? model->head.output_size
                           : model->layers[model->num_layers - 1].hidden_size;
}

int gru_qi_output_frac_bits(const gru_qi_model *model)
{
    if (model->has_head && (model->head.activation == GRU_ACT_NONE
                            || model->head.activation == GRU_ACT_SOFTMAX))
        return GRU_QI_PRE_FRAC;
    return GRU_QI_STATE_FRAC;
}

static int gru__qi_max_hidden(const gru_qi_model *model)
{
    int m = 0;
    for (int l = 0; l < model->num_layers; l++)
        m = model->layers[l].hidden_size > m ? model->layers[l].hidden_size : m;
    return m;
}

size_t gru_qi_state_size(const gru_qi_model *model)
{
    size_t total = 0;
    for (int l = 0; l < model->num_layers; l++)
        total += (size_t)model->layers[l].hidden_size;
    return GRU_QI_STATE_SIZE(total);
}

size_t gru_qi_scratch_size(const gru_qi_model *model)
{
    return GRU_QI_SCRATCH_SIZE(gru__qi_max_hidden(model));
}

/* h <- GRU(x, h) for one integer layer. Scratch: gi [3H], gh [3H], rh [H] int32. */
GRU__HOT void gru__qi_layer_step(const gru_qi_layer *q, const int16_t *restrict x,
                               int16_t *restrict h, int32_t *restrict scratch)
{
    const int H = q->hidden_size;
    int32_t *restrict gi = scratch, *restrict gh = scratch + 3 * H, *restrict rh = scratch + 6 * H;

    gru__qi_gemv_run(q->w_ih, 3 * H, q->input_size, x, NULL, q->m_ih, q->sh_ih, q->b_ih, gi);
    gru__qi_gemv_run(q->w_hh_rz, 2 * H, H, h, NULL, q->m_hh, q->sh_hh, q->b_hh, gh);
    if (q->reset_after) {
        gru__qi_gemv_run(q->w_hh_n, H, H, h, NULL, q->m_hh + 2 * H, q->sh_hh + 2 * H, q->b_hh + 2 * H,
                     gh + 2 * H);
        int j = 0;
#if GRU__QX86
        if (gru__x86_avx512vnni()) {
            gru__qi_gates_reset_after_avx512(H, gi, gh, h);
            j = H;
        } else if (gru__x86_avx2()) {
            j = gru__qi_gates_reset_after_avx2(H, gi, gh, h);
        }
#endif
        for (; j < H; j++) {
            const int32_t r = gru__qi_sigmoid(gi[j] + gh[j]);
            const int32_t z = gru__qi_sigmoid(gi[H + j] + gh[H + j]);
            const int32_t rn = (int32_t)gru__qi_rshift64((int64_t)r * gh[2 * H + j], 15);
            const int32_t n = gru__qi_tanh(gi[2 * H + j] + rn);
            h[j] = (int16_t)(n + gru__qi_rshift(z * (h[j] - n), 15));
        }
    } else {
        int j = 0;
#if GRU__QX86
        if (gru__x86_avx512vnni()) {
            gru__qi_gates_rz_avx512(H, gi, gh, h, rh);
            j = H;
        } else if (gru__x86_avx2()) {
            j = gru__qi_gates_rz_avx2(H, gi, gh, h, rh);
        }
#endif
        for (; j < H; j++) {
            const int32_t r = gru__qi_sigmoid(gi[j] + gh[j]);
            gh[H + j] = gru__qi_sigmoid(gi[H + j] + gh[H + j]);
            rh[j] = gru__qi_rshift(r * h[j], 15);
        }
        gru__qi_gemv_run(q->w_hh_n, H, H, NULL, rh, q->m_hh + 2 * H, q->sh_hh + 2 * H, q->b_hh + 2 * H,
                     gh + 2 * H);
        j = 0;
#if GRU__QX86
        if (gru__x86_avx512vnni()) {
            gru__qi_gates_n_avx512(H, gi, gh, h);
            j = H;
        } else if (gru__x86_avx2()) {
            j = gru__qi_gates_n_avx2(H, gi, gh, h);
        }
#endif
        for (; j < H; j++) {
            const int32_t z = gh[H + j];
            const int32_t n = gru__qi_tanh(gi[2 * H + j] + gh[2 * H + j]);
            h[j] = (int16_t)(n + gru__qi_rshift(z * (h[j] - n), 15));
        }
    }
}

GRU__DISPATCH static void gru__qi_model_step(const gru_qi_model *model, int16_t *state,
                                             int32_t *scratch, const int16_t *x, int32_t *y)
{
    const int16_t *input = x;
    int16_t *h = state;
    for (int l = 0; l < model->num_layers; l++) {
        gru__qi_layer_step(&model->layers[l], input, h, scratch);
        input = h;
        h += model->layers[l].hidden_size;
    }
    if (model->has_head) {
        const gru_qi_dense *head = &model->head;
        const int O = head->output_size;
        gru__qi_gemv_run(head->weight, O, head->input_size, input, NULL, head->mult, head->shift,
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

/* ================================================================ streams and sequences */

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
