/* gru_model.c - the model family: one packer for the three packed layouts,
 * and the configuration checks and size queries of the float (gru_model),
 * int8 (gru_q8_model) and integer (gru_qi_model) descriptors, each written
 * once over the descriptors' common shape (num_layers, layers[] with
 * input_size / hidden_size / reset_after, has_head, head with input_size /
 * output_size / activation). */
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
    case GRU_ERR_STREAM: return "a layer runs backwards in time: the model cannot stream (use gru_sequence)";
    default: return "unknown status";
    }
}

static int gru__dim_ok(int n, int max) { return n >= 1 && n <= max; }

/* ---------------------------------------------------------------- packing */

/* The packed layouts, as a walk over the packed elements in memory order:
 * blocks of rows (gru__block_split's widths for float and int8, 16 rows for
 * integer), then groups of `pair` columns (1, or GRU_QI_GROUP_COLS for integer), then the
 * block's rows, then the group's columns. Element (row, col) of the
 * row-major matrix, or padding (0) past its rows or columns. */
typedef struct gru__layout {
    int qi;      /* 1: gru_qi_pack_matrix's layout */
    size_t elem; /* bytes per element */
} gru__layout;

/* Row-major `w` <-> packed; unpack skips the padding. */
static void gru__walk(gru__layout f, int rows, int cols, const unsigned char *from,
                      unsigned char *to, int unpack)
{
    const int pair = f.qi ? GRU_QI_GROUP_COLS : 1;
    const int padded = gru__round_up(rows, f.qi ? GRU_QI_BLOCK_ROWS : GRU_PACK_ROWS);
    gru__blocks g = gru__block_split(padded);
    if (f.qi) { /* equal blocks of 16 rows */
        g.count = padded / GRU_QI_BLOCK_ROWS;
        g.base = GRU_QI_BLOCK_ROWS / GRU_PACK_ROWS;
        g.extra = 0;
    }
    size_t at = 0;
    for (int b = 0, r0 = 0; b < g.count; b++) {
        const int width = gru__block_rows(g, b);
        for (int k = 0; k < cols; k += pair)
            for (int j = 0; j < width; j++)
                for (int c = k; c < k + pair; c++, at += f.elem) {
                    const int row = r0 + j, inside = row < rows && c < cols;
                    const size_t src = ((size_t)row * (size_t)cols + (size_t)c) * f.elem;
                    if (unpack) {
                        if (inside)
                            memcpy(to + src, from + at, f.elem);
                    } else if (inside) {
                        memcpy(to + at, from + src, f.elem);
                    } else {
                        memset(to + at, 0, f.elem);
                    }
                }
        r0 += width;
    }
}

/* Checks and runs gru__walk: from -> to (row-major -> packed, or back). */
static int gru__pack(gru__layout f, const void *from, int rows, int cols, void *to,
                     size_t capacity, size_t need, int max_cols, int unpack)
{
    if (!from || !to)
        return GRU_ERR_NULL;
    if (!gru__dim_ok(rows, GRU_MAX_DIM) || !gru__dim_ok(cols, max_cols))
        return GRU_ERR_SIZE;
    if (capacity < need)
        return GRU_ERR_BUFFER;
    gru__walk(f, rows, cols, (const unsigned char *)from, (unsigned char *)to, unpack);
    return GRU_OK;
}

static const gru__layout gru__float_layout = {0, sizeof(float)};
static const gru__layout gru__q8_layout = {0, 1};
static const gru__layout gru__qi_layout = {1, 1};

int gru_pack_matrix(const float *w, int rows, int cols, float *packed, size_t capacity)
{
    return gru__pack(gru__float_layout, w, rows, cols, packed, capacity,
                     GRU_PACKED_SIZE(rows, cols), GRU_MAX_DIM, 0);
}

int gru_unpack_matrix(const float *packed, int rows, int cols, float *w, size_t capacity)
{
    return gru__pack(gru__float_layout, packed, rows, cols, w, capacity,
                     (size_t)rows * (size_t)cols, GRU_MAX_DIM, 1);
}

int gru_q8_pack_matrix(const int8_t *w, int rows, int cols, int8_t *packed, size_t capacity)
{
    return gru__pack(gru__q8_layout, w, rows, cols, packed, capacity,
                     GRU_Q8_PACKED_SIZE(rows, cols), GRU_MAX_DIM, 0);
}

int gru_qi_pack_matrix(const int8_t *w, int rows, int cols, int8_t *packed, size_t capacity)
{
    return gru__pack(gru__qi_layout, w, rows, cols, packed, capacity,
                     GRU_QI_PACKED_SIZE(rows, cols), GRU_QI_MAX_DIM, 0);
}

/* ---------------------------------------------------------------- checks and sizes */

/* Values the quantized kernels trust, checked after the shapes (so the row
 * counts are sane): row scales finite and >= 0 (0: an all-zero row), float
 * biases finite; integer multipliers >= 0 and shifts in 1..62 (the documented
 * requantization ranges). GRU_ERR_ARGUMENT otherwise. */
static int gru__finite_ok(const float *v, int n, int allow_negative)
{
    for (int i = 0; i < n; i++)
        if (!(v[i] - v[i] == 0.0f) || (!allow_negative && !(v[i] >= 0.0f)))
            return 0;
    return 1;
}

static int gru__requant_ok(const int32_t *mult, const int8_t *shift, int n)
{
    for (int i = 0; i < n; i++)
        if (mult[i] < 0 || shift[i] < 1 || shift[i] > 62)
            return 0;
    return 1;
}

/* A chain of n dense layers whose first reads `in` values: pointers, sizes,
 * activations, each input size the previous output size. */
static int gru__dense_chain_ok(const gru_dense *d, int n, int in)
{
    for (int l = 0; l < n; l++) {
        if (!d[l].weight || !d[l].bias)
            return GRU_ERR_NULL;
        if (!gru__dim_ok(d[l].input_size, GRU_MAX_DIM) || !gru__dim_ok(d[l].output_size, GRU_MAX_DIM))
            return GRU_ERR_SIZE;
        if (d[l].input_size != in)
            return GRU_ERR_SHAPE;
        if (d[l].activation < GRU_ACT_NONE || d[l].activation > GRU_ACT_RELU)
            return GRU_ERR_ACTIVATION;
        in = d[l].output_size;
    }
    return GRU_OK;
}

/* The float model's GRU activations and dense layers around the GRUs (the
 * family check has done the rest of the GRU layers and the head). Float
 * weights are the caller's: any value computes. */
static int gru__values_ok(const gru_model *model)
{
    if (GRU_PLAIN_MODELS) /* and the checks below drop out */
        return gru__plain(model) ? GRU_OK : GRU_ERR_LAYERS;
    for (int l = 0; l < model->num_layers; l++) {
        const int ca = model->layers[l].activation, ga = model->layers[l].recurrent_activation;
        const gru_layer *g = &model->layers[l];
        if (!(ca == 0 || ca == GRU_ACT_TANH || ca == GRU_ACT_RELU) ||
            !(ga == 0 || ga == GRU_ACT_SIGMOID || ga == GRU_ACT_HARD_SIGMOID || ga == GRU_ACT_HARD_SIGMOID_KERAS3) ||
            (g->reverse != 0 && g->reverse != 1) || (g->merge != 0 && g->merge != 1))
            return GRU_ERR_ACTIVATION;
        /* a merged layer is the reverse half of a pair: after a forward, unmerged layer */
        if (g->merge && (l == 0 || !g->reverse || model->layers[l - 1].reverse || model->layers[l - 1].merge))
            return GRU_ERR_SHAPE;
    }
    if (model->num_pre < 0 || model->num_pre > GRU_MAX_DENSE || model->num_post < 0 ||
        model->num_post > GRU_MAX_DENSE || (model->num_post > 0 && !model->has_head))
        return GRU_ERR_LAYERS;
    int status = gru__dense_chain_ok(model->pre, model->num_pre,
                                     model->num_pre ? model->pre[0].input_size : 0);
    if (status != GRU_OK)
        return status;
    if (model->num_pre && model->layers[0].input_size != model->pre[model->num_pre - 1].output_size)
        return GRU_ERR_SHAPE;
    return gru__dense_chain_ok(model->post, model->num_post, model->head.output_size);
}

static int gru__q8_values_ok(const gru_q8_model *model)
{
    for (int l = 0; l < model->num_layers; l++) {
        const gru_q8_layer *q = &model->layers[l];
        const int rows = 3 * q->hidden_size;
        if (!gru__finite_ok(q->s_ih, rows, 0) || !gru__finite_ok(q->s_hh, rows, 0) ||
            !gru__finite_ok(q->b_ih, rows, 1) || !gru__finite_ok(q->b_hh, rows, 1))
            return GRU_ERR_ARGUMENT;
    }
    if (model->has_head && (!gru__finite_ok(model->head.scale, model->head.output_size, 0) ||
                            !gru__finite_ok(model->head.bias, model->head.output_size, 1)))
        return GRU_ERR_ARGUMENT;
    return GRU_OK;
}

static int gru__qi_values_ok(const gru_qi_model *model)
{
    for (int l = 0; l < model->num_layers; l++) {
        const gru_qi_layer *q = &model->layers[l];
        const int rows = 3 * q->hidden_size;
        if (!gru__requant_ok(q->m_ih, q->sh_ih, rows) || !gru__requant_ok(q->m_hh, q->sh_hh, rows))
            return GRU_ERR_ARGUMENT;
    }
    if (model->has_head && !gru__requant_ok(model->head.mult, model->head.shift, model->head.output_size))
        return GRU_ERR_ARGUMENT;
    return GRU_OK;
}

/* gru_P_model_check: pointers set (LAYER_OK(layer), HEAD_OK(head)), sizes in
 * 1..MAX_DIM, each layer's input_size equal to the previous hidden size, head
 * sizes matching, flags valid, head activation up to MAX_ACT; the first fault
 * found, layer by layer; then gru__P_values_ok (the values the quantized
 * kernels trust; the float model's dense layers). Then the size queries: the
 * model's input size IN(model), output size OUT(model) and scratch size
 * SCRATCH(model) are the descriptor's own. */
#define GRU__MODEL_FAMILY(P, MODEL, LAYER_OK, HEAD_OK, MAX_DIM, MAX_ACT, IN, OUT, STATE, SCRATCH,  \
                          EXPECT_IN)                                                              \
    int gru_##P##model_check(const MODEL *model)                                                  \
    {                                                                                             \
        if (!model)                                                                               \
            return GRU_ERR_NULL;                                                                  \
        if (model->num_layers < 1 || model->num_layers > GRU_MAX_LAYERS)                          \
            return GRU_ERR_LAYERS;                                                                \
        for (int l = 0; l < model->num_layers; l++) {                                             \
            const int in = model->layers[l].input_size, hid = model->layers[l].hidden_size;       \
            if (!(LAYER_OK(model->layers[l])))                                                    \
                return GRU_ERR_NULL;                                                              \
            if (!gru__dim_ok(in, MAX_DIM) || !gru__dim_ok(hid, MAX_DIM))                          \
                return GRU_ERR_SIZE;                                                              \
            if (model->layers[l].reset_after != 0 && model->layers[l].reset_after != 1)           \
                return GRU_ERR_ACTIVATION;                                                        \
            if (l > 0 && in != EXPECT_IN(model, l))                                               \
                return GRU_ERR_SHAPE;                                                             \
        }                                                                                         \
        if (model->has_head != 0 && model->has_head != 1)                                         \
            return GRU_ERR_ACTIVATION;                                                            \
        if (model->has_head) {                                                                    \
            if (!(HEAD_OK(model->head)))                                                          \
                return GRU_ERR_NULL;                                                              \
            if (!gru__dim_ok(model->head.input_size, MAX_DIM) ||                                  \
                !gru__dim_ok(model->head.output_size, MAX_DIM))                                   \
                return GRU_ERR_SIZE;                                                              \
            if (model->head.input_size != EXPECT_IN(model, model->num_layers))                    \
                return GRU_ERR_SHAPE;                                                             \
            if (model->head.activation < GRU_ACT_NONE || model->head.activation > MAX_ACT)         \
                return GRU_ERR_ACTIVATION;                                                        \
        }                                                                                         \
        return gru__##P##values_ok(model);                                                        \
    }                                                                                             \
                                                                                                  \
    int gru_##P##model_input_size(const MODEL *model) { return IN(model); }                       \
                                                                                                  \
    int gru_##P##model_output_size(const MODEL *model) { return OUT(model); }                     \
                                                                                                  \
    size_t gru_##P##state_size(const MODEL *model)                                                \
    {                                                                                             \
        size_t total = 0;                                                                         \
        for (int l = 0; l < model->num_layers; l++)                                               \
            total += (size_t)model->layers[l].hidden_size;                                        \
        return STATE(total);                                                                      \
    }                                                                                             \
                                                                                                  \
    size_t gru_##P##scratch_size(const MODEL *model) { return SCRATCH(model); }

#define GRU__F_LAYER_OK(q) ((q).w_ih && (q).w_hh_rz && (q).w_hh_n && (q).b_ih && (q).b_hh)
#define GRU__F_HEAD_OK(d) ((d).weight && (d).bias)
#define GRU__Q8_LAYER_OK(q) (GRU__F_LAYER_OK(q) && (q).s_ih && (q).s_hh)
#define GRU__Q8_HEAD_OK(d) (GRU__F_HEAD_OK(d) && (d).scale)
#define GRU__QI_LAYER_OK(q)                                                                       \
    (GRU__F_LAYER_OK(q) && (q).m_ih && (q).sh_ih && (q).m_hh && (q).sh_hh)
#define GRU__QI_HEAD_OK(d) (GRU__F_HEAD_OK(d) && (d).mult && (d).shift)

/* Input and output sizes: the GRU stack and the head, and for the float
 * model the pre and post layers. */
#define GRU__IN(m) ((m)->layers[0].input_size)
#define GRU__OUT(m) ((m)->has_head ? (m)->head.output_size : (m)->layers[(m)->num_layers - 1].hidden_size)
#define GRU__F_IN(m) ((m)->num_pre ? (m)->pre[0].input_size : GRU__IN(m))
#define GRU__F_OUT(m)                                                                             \
    ((m)->num_post  ? (m)->post[(m)->num_post - 1].output_size                                    \
     : (m)->has_head ? (m)->head.output_size : gru__expected_input(m, (m)->num_layers))
#define GRU__F_SCRATCH(m) \
    GRU_MODEL_SCRATCH_SIZE(gru__max_hidden(m), gru_model_output_size(m), gru__max_dense(m))
#define GRU__Q8_SCRATCH(m) GRU_SCRATCH_SIZE(gru__q8_max_hidden(m), gru_q8_model_output_size(m))
#define GRU__QI_SCRATCH(m) GRU_QI_SCRATCH_SIZE(gru__qi_max_hidden(m))

/* The input size layer l expects (l = num_layers: the head's): the previous
 * layer's hidden size; in a float model the reverse half of a pair reads its
 * partner's input, and the layer after a pair reads both halves. */
#define GRU__EXPECT_IN(m, l) ((m)->layers[(l) - 1].hidden_size)
#define GRU__F_EXPECT_IN(m, l) gru__expected_input(m, l)

GRU__MODEL_FAMILY(, gru_model, GRU__F_LAYER_OK, GRU__F_HEAD_OK, GRU_MAX_DIM, GRU_ACT_RELU, GRU__F_IN,
                  GRU__F_OUT, GRU_STATE_SIZE, GRU__F_SCRATCH, GRU__F_EXPECT_IN)
GRU__MODEL_FAMILY(q8_, gru_q8_model, GRU__Q8_LAYER_OK, GRU__Q8_HEAD_OK, GRU_MAX_DIM, GRU_ACT_SOFTMAX,
                  GRU__IN, GRU__OUT, GRU_STATE_SIZE, GRU__Q8_SCRATCH, GRU__EXPECT_IN)
GRU__MODEL_FAMILY(qi_, gru_qi_model, GRU__QI_LAYER_OK, GRU__QI_HEAD_OK, GRU_QI_MAX_DIM, GRU_ACT_SOFTMAX,
                  GRU__IN, GRU__OUT, GRU_QI_STATE_SIZE, GRU__QI_SCRATCH, GRU__EXPECT_IN)
