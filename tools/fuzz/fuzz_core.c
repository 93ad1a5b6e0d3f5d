/* fuzz_core.c - libFuzzer harness for the float inference core.
 *
 * Bytes -> a model configuration (layer count, sizes, reset flags, head,
 * activation; sometimes arbitrary ints and NULL pointers), weights, inputs,
 * batch and steps. gru_model_check must accept or reject it without reading
 * the weights; an accepted model then runs gru_stream_init/step and
 * gru_sequence with every buffer allocated exactly as the size queries say
 * (ASan flags any access outside), the two must agree bit for bit, short
 * buffers must be refused, and gru_pack_matrix/gru_unpack_matrix must round
 * trip. Build: see tools/fuzz/run.py. */
#include "gru.h"
#include "fuzz_common.h"

#define SMALL_DIM 20
#define MAX_WEIGHTS (1u << 18) /* floats; bigger accepted configs are checked only */

static const float dummy[1] = {0.0f};

static void fuzz_pack(fz *f, int raw_bits)
{
    const int rows = fz_dim(f, 60, 0), cols = fz_dim(f, 12, 0);
    const size_t n = (size_t)rows * (size_t)cols, np = GRU_PACKED_SIZE(rows, cols);
    float *w = fz_floats(f, n, raw_bits);
    float *packed = (float *)fz_alloc(np * sizeof(float));
    float *back = (float *)fz_alloc(n * sizeof(float));
    FZ_CHECK(gru_pack_matrix(w, rows, cols, packed, np - 1) == GRU_ERR_BUFFER);
    FZ_CHECK(gru_pack_matrix(w, rows, cols, packed, np) == GRU_OK);
    FZ_CHECK(gru_unpack_matrix(packed, rows, cols, back, n - 1) == GRU_ERR_BUFFER);
    FZ_CHECK(gru_unpack_matrix(packed, rows, cols, back, n) == GRU_OK);
    FZ_CHECK(memcmp(w, back, n * sizeof(float)) == 0);
    FZ_CHECK(gru_pack_matrix(w, 0, cols, packed, np) == GRU_ERR_SIZE);
    FZ_CHECK(gru_pack_matrix(NULL, rows, cols, packed, np) == GRU_ERR_NULL);
    free(w);
    free(packed);
    free(back);
}

static void run_model(fz *f, const gru_model *m, int raw_bits, int weights_finite)
{
    const int I = gru_model_input_size(m), O = gru_model_output_size(m);
    const size_t S = gru_state_size(m), C = gru_scratch_size(m);
    int total_h = 0, max_h = 0;
    for (int l = 0; l < m->num_layers; l++) {
        total_h += m->layers[l].hidden_size;
        if (m->layers[l].hidden_size > max_h)
            max_h = m->layers[l].hidden_size;
    }
    FZ_CHECK(S <= GRU_STATE_SIZE(total_h));
    FZ_CHECK(C <= GRU_SCRATCH_SIZE(max_h, O));

    const int B = 1 + fz_u8(f) % 6, T = 1 + fz_u8(f) % 5;
    const uint8_t opts = fz_u8(f);
    const int rs = opts & 1, with_init = (opts >> 1) & 1;
    pool pl = {{0}, 0};
    float *x = keep(&pl, fz_floats(f, (size_t)B * (size_t)T * (size_t)I, raw_bits));
    float *init = with_init ? keep(&pl, fz_floats(f, (size_t)B * S, 0)) : NULL;

    /* Streaming, one sequence at a time. */
    float *state = keep(&pl, fz_alloc(S * sizeof(float)));
    float *scratch = keep(&pl, fz_alloc(C * sizeof(float)));
    float *ys = keep(&pl, fz_alloc((size_t)B * (size_t)T * (size_t)O * sizeof(float)));
    gru_stream st;
    memset(&st, 0, sizeof st);
    FZ_CHECK(gru_stream_init(&st, m, state, S - 1, scratch, C) == GRU_ERR_BUFFER);
    FZ_CHECK(gru_stream_init(&st, m, state, S, scratch, C - 1) == GRU_ERR_BUFFER);
    FZ_CHECK(st.model == NULL); /* untouched on error */
    FZ_CHECK(gru_stream_init(&st, m, state, S, scratch, C) == GRU_OK);
    for (int b = 0; b < B; b++) {
        gru_stream_reset(&st);
        if (init)
            memcpy(state, init + (size_t)b * S, S * sizeof(float));
        for (int t = 0; t < T; t++)
            gru_stream_step(&st, x + ((size_t)b * (size_t)T + (size_t)t) * (size_t)I,
                            ys + ((size_t)b * (size_t)T + (size_t)t) * (size_t)O);
    }

    /* The same batch through gru_sequence, exact buffers. */
    const size_t SS = gru_sequence_state_size(m), SC = gru_sequence_scratch_size(m);
    const size_t ny = (size_t)B * (rs ? (size_t)T : 1) * (size_t)O;
    float *qstate = keep(&pl, fz_alloc(SS * sizeof(float)));
    float *qscratch = keep(&pl, fz_alloc(SC * sizeof(float)));
    float *y = keep(&pl, fz_alloc(ny * sizeof(float)));
    FZ_CHECK(gru_sequence(m, x, B, T, rs, init, qstate, SS - 1, qscratch, SC, y) == GRU_ERR_BUFFER);
    FZ_CHECK(gru_sequence(m, x, B, T, rs, init, qstate, SS, qscratch, SC - 1, y) == GRU_ERR_BUFFER);
    FZ_CHECK(gru_sequence(m, x, 0, T, rs, init, qstate, SS, qscratch, SC, y) < 0);
    FZ_CHECK(gru_sequence(m, x, B, 0, rs, init, qstate, SS, qscratch, SC, y) < 0);
    FZ_CHECK(gru_sequence(m, x, B, T, rs, init, qstate, SS, qscratch, SC, y) == GRU_OK);
    if (weights_finite && all_finite(x, (size_t)B * (size_t)T * (size_t)I))
        FZ_CHECK(fz_same_outputs(ys, y, B, T, O, rs, sizeof(float)));
    drop(&pl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size};
    const uint8_t mode = fz_u8(&f);
    const int raw_dims = (mode & 0x80) != 0, raw_bits = (mode & 0x40) != 0;
    const int bad_links = (mode & 0x10) != 0, bad_flags = (mode & 0x08) != 0;

    if (mode & 0x01)
        fuzz_pack(&f, raw_bits);

    gru_model m;
    memset(&m, 0, sizeof m);
    m.num_layers = raw_dims ? (int)fz_i32(&f) : (mode & 0x20) ? (int)(fz_u8(&f) % 11) - 1 : 1 + fz_u8(&f) % 3;
    const int nl = m.num_layers < 0 ? 0 : m.num_layers > GRU_MAX_LAYERS ? GRU_MAX_LAYERS : m.num_layers;
    int prev = fz_dim(&f, SMALL_DIM, raw_dims);
    for (int l = 0; l < nl; l++) {
        gru_layer *L = &m.layers[l];
        L->input_size = (l == 0 || bad_links) ? (l == 0 ? prev : fz_dim(&f, SMALL_DIM, raw_dims)) : prev;
        L->hidden_size = fz_dim(&f, SMALL_DIM, raw_dims);
        L->reset_after = bad_flags ? (int)(int8_t)fz_u8(&f) : fz_u8(&f) & 1;
        L->w_ih = L->w_hh_rz = L->w_hh_n = L->b_ih = L->b_hh = dummy;
        prev = L->hidden_size;
    }
    m.has_head = bad_flags ? (int)(int8_t)fz_u8(&f) : fz_u8(&f) & 1;
    m.head.input_size = bad_links ? fz_dim(&f, SMALL_DIM, raw_dims) : prev;
    m.head.output_size = fz_dim(&f, SMALL_DIM, raw_dims);
    m.head.activation = bad_flags ? (int)(int8_t)fz_u8(&f) : fz_u8(&f) % 4;
    m.head.weight = m.head.bias = dummy;
    if (mode & 0x02) { /* drop one pointer */
        const int which = fz_u8(&f) % (5 * (nl ? nl : 1) + 2);
        if (which >= 5 * nl) {
            if (which == 5 * nl) m.head.weight = NULL; else m.head.bias = NULL;
        } else {
            gru_layer *L = &m.layers[which / 5];
            const float **p[5] = {&L->w_ih, &L->w_hh_rz, &L->w_hh_n, &L->b_ih, &L->b_hh};
            *p[which % 5] = NULL;
        }
    }

    const int status = gru_model_check(&m);
    FZ_CHECK(status <= 0 && status >= GRU_ERR_ARGUMENT);
    FZ_CHECK(gru_status_string(status) != NULL);
    if (status != GRU_OK)
        return 0;

    /* Accepted: give it real, exactly sized weights (small enough models only). */
    size_t total = 0;
    for (int l = 0; l < nl; l++) {
        const int I = m.layers[l].input_size, H = m.layers[l].hidden_size;
        total += GRU_LAYER_W_IH_SIZE(I, H) + GRU_LAYER_W_HH_RZ_SIZE(H) + GRU_LAYER_W_HH_N_SIZE(H) + 6 * (size_t)H;
    }
    if (m.has_head)
        total += GRU_PACKED_SIZE(m.head.output_size, m.head.input_size) + (size_t)m.head.output_size;
    if (total > MAX_WEIGHTS)
        return 0;
    float *blocks[5 * GRU_MAX_LAYERS + 2] = {0};
    int nb = 0, finite = 1;
    for (int l = 0; l < nl; l++) {
        gru_layer *L = &m.layers[l];
        const int I = L->input_size, H = L->hidden_size;
        const size_t sizes[5] = {GRU_LAYER_W_IH_SIZE(I, H), GRU_LAYER_W_HH_RZ_SIZE(H),
                                 GRU_LAYER_W_HH_N_SIZE(H), 3 * (size_t)H, 3 * (size_t)H};
        const float **p[5] = {&L->w_ih, &L->w_hh_rz, &L->w_hh_n, &L->b_ih, &L->b_hh};
        for (int k = 0; k < 5; k++) {
            blocks[nb] = fz_floats(&f, sizes[k], raw_bits);
            finite &= all_finite(blocks[nb], sizes[k]);
            *p[k] = blocks[nb++];
        }
    }
    if (m.has_head) {
        const size_t sw = GRU_PACKED_SIZE(m.head.output_size, m.head.input_size);
        blocks[nb] = fz_floats(&f, sw, raw_bits);
        finite &= all_finite(blocks[nb], sw);
        m.head.weight = blocks[nb++];
        blocks[nb] = fz_floats(&f, (size_t)m.head.output_size, raw_bits);
        finite &= all_finite(blocks[nb], (size_t)m.head.output_size);
        m.head.bias = blocks[nb++];
    }
    FZ_CHECK(gru_model_check(&m) == GRU_OK);
    run_model(&f, &m, raw_bits, finite);
    for (int i = 0; i < nb; i++)
        free(blocks[i]);
    return 0;
}
