/* fuzz_quant.c - libFuzzer harness for the quantized cores.
 *
 * Bytes -> a gru_q8_ or gru_qi_ model (sizes, flags, head, sometimes
 * arbitrary ints and NULL pointers; int8 weights, scales, int32 multipliers,
 * shifts and biases anywhere in their types' ranges), then the configuration
 * check and, when it passes, stream init/step and sequence with every buffer
 * exactly as large as the size queries say (ASan flags any access outside);
 * scales, multipliers and shifts outside their documented ranges must be
 * refused with GRU_ERR_ARGUMENT (and valid ones accepted);
 * the streamed and sequence outputs must agree bit for bit; short buffers must
 * be refused. */
#include <stdio.h>

#include "gru_quant.h"
#include "fuzz_common.h"

static void *fz_bytes(fz *f, size_t n)
{
    uint8_t *a = (uint8_t *)fz_alloc(n);
    for (size_t i = 0; i < n; i++)
        a[i] = fz_u8(f);
    return a;
}

static int32_t *fz_i32s(fz *f, size_t n)
{
    int32_t *a = (int32_t *)fz_alloc(n * sizeof(int32_t));
    for (size_t i = 0; i < n; i++)
        a[i] = fz_i32(f);
    return a;
}

/* The model checks read the per-row scales (q8) and multipliers / shifts (qi),
 * not the weights: placeholders for them are as long as the largest accepted
 * row count, with valid values (scale 0, multiplier 0, shift 1). */
#define FZ_ROWS (3 * (GRU_MAX_DIM > 1024 ? GRU_MAX_DIM : 1024))
static float fz_zero_f[FZ_ROWS];
static int32_t fz_zero_i32[FZ_ROWS];
static int8_t fz_shift_1[FZ_ROWS];

/* Expected verdict of the value checks (gru_quant.c: gru__q_scales_ok / gru__qi_requant_ok). */
static int fz_scales_ok(const float *s, size_t n, int allow_negative)
{
    for (size_t i = 0; i < n; i++)
        if (!(s[i] - s[i] == 0.0f) || (!allow_negative && !(s[i] >= 0.0f)))
            return 0;
    return 1;
}

static int fz_requant_ok(const int32_t *m, const int8_t *sh, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (m[i] < 0 || sh[i] < 1 || sh[i] > 62)
            return 0;
    return 1;
}

/* Multipliers and scales: as fuzzed (raw), or made non-negative so that most
 * models get past the checks to the kernels. */
static int32_t *fz_mults(fz *f, size_t n, int raw)
{
    int32_t *a = fz_i32s(f, n);
    if (!raw)
        for (size_t i = 0; i < n; i++)
            a[i] &= INT32_MAX;
    return a;
}

static float *fz_scales(fz *f, size_t n, int raw)
{
    float *a = fz_floats(f, n, 0);
    if (!raw)
        for (size_t i = 0; i < n; i++)
            a[i] = a[i] < 0.0f ? -a[i] : a[i];
    return a;
}

/* Shifts: raw bytes (mostly out of 1..62, to exercise the refusal) or mapped into range. */
static int8_t *fz_shifts(fz *f, size_t n, int raw)
{
    int8_t *a = (int8_t *)fz_bytes(f, n);
    if (!raw)
        for (size_t i = 0; i < n; i++)
            a[i] = (int8_t)(1 + (uint8_t)a[i] % 62);
    return a;
}

#define MAXP 64
typedef struct pool {
    void *p[MAXP];
    int n;
} pool;
static void *keep(pool *pl, void *p) { pl->p[pl->n++] = p; return p; }
static void drop(pool *pl) { while (pl->n) free(pl->p[--pl->n]); }

static void fuzz_q8(fz *f, uint8_t mode)
{
    pool pl = {{0}, 0};
    gru_q8_model m;
    memset(&m, 0, sizeof m);
    const int raw = (mode & 0x80) != 0;
    m.num_layers = raw ? (int)(fz_u8(f) % 11) - 1 : 1 + fz_u8(f) % 3;
    const int nl = m.num_layers < 0 ? 0 : m.num_layers > GRU_MAX_LAYERS ? GRU_MAX_LAYERS : m.num_layers;
    int prev = fz_dim(f, 16, 0);
    size_t S = 0;
    for (int l = 0; l < nl; l++) {
        gru_q8_layer *L = &m.layers[l];
        L->input_size = (raw && l) ? fz_dim(f, 16, 0) : prev;
        L->hidden_size = prev = raw ? fz_dim(f, 16, 1) : fz_dim(f, 16, 0);
        L->reset_after = raw ? (int)(int8_t)fz_u8(f) : fz_u8(f) & 1;
        S += (size_t)(prev > 0 ? prev : 0);
    }
    m.has_head = fz_u8(f) & 1;
    m.head.input_size = prev;
    m.head.output_size = fz_dim(f, 10, 0);
    m.head.activation = raw ? (int)(int8_t)fz_u8(f) : fz_u8(f) % 4;
    /* Configuration with placeholder pointers: the check must not read weights. */
    static const int8_t d8[1];
    const float *df = fz_zero_f;
    for (int l = 0; l < nl; l++) {
        gru_q8_layer *L = &m.layers[l];
        L->w_ih = L->w_hh_rz = L->w_hh_n = d8;
        L->s_ih = L->s_hh = L->b_ih = L->b_hh = df;
    }
    m.head.weight = d8;
    m.head.scale = m.head.bias = df;
    if (mode & 0x02)
        m.head.scale = NULL;
    const int status = gru_q8_model_check(&m);
    FZ_CHECK(status <= 0 && status >= GRU_ERR_ARGUMENT);
    if (status != GRU_OK)
        return;
    size_t total = 0; /* accepted but too big to allocate here: checked only */
    for (int l = 0; l < nl; l++)
        total += 3 * (size_t)m.layers[l].hidden_size * (size_t)(m.layers[l].input_size + m.layers[l].hidden_size);
    if (total > (1u << 20))
        return;
    for (int l = 0; l < nl; l++) {
        gru_q8_layer *L = &m.layers[l];
        const int I = L->input_size, H = L->hidden_size;
        L->w_ih = keep(&pl, fz_bytes(f, GRU_Q8_PACKED_SIZE(3 * H, I)));
        L->w_hh_rz = keep(&pl, fz_bytes(f, GRU_Q8_PACKED_SIZE(2 * H, H)));
        L->w_hh_n = keep(&pl, fz_bytes(f, GRU_Q8_PACKED_SIZE(H, H)));
        L->s_ih = keep(&pl, fz_scales(f, 3 * (size_t)H, (mode & 0x04) != 0));
        L->s_hh = keep(&pl, fz_scales(f, 3 * (size_t)H, (mode & 0x04) != 0));
        L->b_ih = keep(&pl, fz_floats(f, 3 * (size_t)H, 0));
        L->b_hh = keep(&pl, fz_floats(f, 3 * (size_t)H, 0));
    }
    if (m.has_head) {
        m.head.weight = keep(&pl, fz_bytes(f, GRU_Q8_PACKED_SIZE(m.head.output_size, m.head.input_size)));
        m.head.scale = keep(&pl, fz_scales(f, (size_t)m.head.output_size, (mode & 0x04) != 0));
        m.head.bias = keep(&pl, fz_floats(f, (size_t)m.head.output_size, 0));
    }
    int values_ok = 1;
    for (int l = 0; l < nl; l++) {
        const gru_q8_layer *L = &m.layers[l];
        const size_t R = 3 * (size_t)L->hidden_size;
        values_ok &= fz_scales_ok(L->s_ih, R, 0) & fz_scales_ok(L->s_hh, R, 0)
                     & fz_scales_ok(L->b_ih, R, 1) & fz_scales_ok(L->b_hh, R, 1);
    }
    if (m.has_head)
        values_ok &= fz_scales_ok(m.head.scale, (size_t)m.head.output_size, 0)
                     & fz_scales_ok(m.head.bias, (size_t)m.head.output_size, 1);
    FZ_CHECK(gru_q8_model_check(&m) == (values_ok ? GRU_OK : GRU_ERR_ARGUMENT));
    if (!values_ok) {
        drop(&pl);
        return;
    }
    const int I = gru_q8_model_input_size(&m), O = gru_q8_model_output_size(&m);
    const size_t st = gru_q8_state_size(&m), sc = gru_q8_scratch_size(&m);
    FZ_CHECK(st == S);
    const int B = 1 + fz_u8(f) % 5, T = 1 + fz_u8(f) % 4, rs = fz_u8(f) & 1;
    float *x = keep(&pl, fz_floats(f, (size_t)B * (size_t)T * (size_t)I, (mode & 0x40) != 0));
    float *state = keep(&pl, fz_alloc(st * sizeof(float)));
    float *scratch = keep(&pl, fz_alloc(sc * sizeof(float)));
    float *ys = keep(&pl, fz_alloc((size_t)B * (size_t)T * (size_t)O * sizeof(float)));
    gru_q8_stream s;
    FZ_CHECK(gru_q8_stream_init(&s, &m, state, st - 1, scratch, sc) == GRU_ERR_BUFFER);
    FZ_CHECK(gru_q8_stream_init(&s, &m, state, st, scratch, sc - 1) == GRU_ERR_BUFFER);
    FZ_CHECK(gru_q8_stream_init(&s, &m, state, st, scratch, sc) == GRU_OK);
    for (int b = 0; b < B; b++) {
        gru_q8_stream_reset(&s);
        for (int t = 0; t < T; t++)
            gru_q8_stream_step(&s, x + ((size_t)b * (size_t)T + (size_t)t) * (size_t)I,
                               ys + ((size_t)b * (size_t)T + (size_t)t) * (size_t)O);
    }
        const size_t SS = st, SC = sc; /* gru_q8_sequence runs one lane: the streaming sizes */
    const size_t ny = (size_t)B * (rs ? (size_t)T : 1) * (size_t)O;
    float *qs = keep(&pl, fz_alloc(SS * sizeof(float)));
    float *qc = keep(&pl, fz_alloc(SC * sizeof(float)));
    float *y = keep(&pl, fz_alloc(ny * sizeof(float)));
    const int rc = gru_q8_sequence(&m, x, B, T, rs, NULL, qs, SS, qc, SC, y);
    FZ_CHECK(rc == GRU_OK);
    if (!(mode & 0x40))
        for (int b = 0; b < B; b++)
            for (int t = rs ? 0 : T - 1; t < T; t++)
                FZ_CHECK(memcmp(ys + ((size_t)b * (size_t)T + (size_t)t) * (size_t)O,
                                y + ((size_t)b * (rs ? (size_t)T : 1) + (size_t)(rs ? t : 0)) * (size_t)O,
                                (size_t)O * sizeof(float)) == 0);
    drop(&pl);
}

/* A packed integer-path matrix from arbitrary row-major bytes, through
 * gru_qi_pack_matrix into a buffer of exactly GRU_QI_PACKED_SIZE: a short
 * buffer is refused, and every packed byte is checked against the layout of
 * gru_quant.h (16-row blocks of 8-column groups, zero padding). */
static int8_t *qi_packed(fz *f, pool *pl, int rows, int cols)
{
    const size_t n = GRU_QI_PACKED_SIZE(rows, cols), C = (size_t)(cols + 7) / 8 * 8;
    int8_t *w = (int8_t *)fz_bytes(f, (size_t)rows * (size_t)cols);
    int8_t *p = keep(pl, fz_alloc(n));
    FZ_CHECK(gru_qi_pack_matrix(w, rows, cols, p, n - 1) == GRU_ERR_BUFFER);
    FZ_CHECK(gru_qi_pack_matrix(w, rows, cols, p, n) == GRU_OK);
    for (size_t i = 0; i < n; i++) {
        const size_t block = i / (16 * C), group = i % (16 * C) / 128, r = i % 128 / 8, c = 8 * group + i % 8;
        const size_t row = 16 * block + r;
        FZ_CHECK(p[i] == (row < (size_t)rows && c < (size_t)cols ? w[row * (size_t)cols + c] : 0));
    }
    free(w);
    return p;
}

static void fuzz_qi(fz *f, uint8_t mode)
{
    pool pl = {{0}, 0};
    gru_qi_model m;
    memset(&m, 0, sizeof m);
    const int raw = (mode & 0x80) != 0;
    m.num_layers = 1 + fz_u8(f) % 3;
    int prev = raw ? (int)(fz_i32(f) % 1024) : fz_dim(f, 16, 0);
    size_t S = 0;
    static const int8_t d8[1];
    const int32_t *d32 = fz_zero_i32;
    if (fz_shift_1[0] != 1)
        memset(fz_shift_1, 1, sizeof fz_shift_1);
    for (int l = 0; l < m.num_layers; l++) {
        gru_qi_layer *L = &m.layers[l];
        L->input_size = prev;
        L->hidden_size = prev = raw ? (int)(fz_i32(f) % 1024) : fz_dim(f, 16, 0);
        L->reset_after = fz_u8(f) & 1;
        L->w_ih = L->w_hh_rz = L->w_hh_n = d8;
        L->sh_ih = L->sh_hh = fz_shift_1;
        L->m_ih = L->m_hh = L->b_ih = L->b_hh = d32;
        S += (size_t)(prev > 0 ? prev : 0);
    }
    m.has_head = fz_u8(f) & 1;
    m.head.input_size = prev;
    m.head.output_size = raw ? (int)(fz_i32(f) % 1024) : fz_dim(f, 10, 0);
    m.head.activation = fz_u8(f) % 4;
    m.head.weight = d8;
    m.head.shift = fz_shift_1;
    m.head.mult = m.head.bias = d32;
    const int status = gru_qi_model_check(&m);
    FZ_CHECK(status <= 0 && status >= GRU_ERR_ARGUMENT);
    if (status != GRU_OK)
        return;
    size_t total = 0;
    for (int l = 0; l < m.num_layers; l++)
        total += 3 * (size_t)m.layers[l].hidden_size * (size_t)(m.layers[l].input_size + m.layers[l].hidden_size);
    if (total > (1u << 20))
        return;
    for (int l = 0; l < m.num_layers; l++) {
        gru_qi_layer *L = &m.layers[l];
        const size_t H = (size_t)L->hidden_size, I = (size_t)L->input_size;
        L->w_ih = qi_packed(f, &pl, 3 * (int)H, (int)I);
        L->w_hh_rz = qi_packed(f, &pl, 2 * (int)H, (int)H);
        L->w_hh_n = qi_packed(f, &pl, (int)H, (int)H);
        L->m_ih = keep(&pl, fz_mults(f, 3 * H, (mode & 0x04) != 0));
        L->sh_ih = keep(&pl, fz_shifts(f, 3 * H, (mode & 0x04) != 0));
        L->m_hh = keep(&pl, fz_mults(f, 3 * H, (mode & 0x04) != 0));
        L->sh_hh = keep(&pl, fz_shifts(f, 3 * H, (mode & 0x04) != 0));
        L->b_ih = keep(&pl, fz_i32s(f, 3 * H));
        L->b_hh = keep(&pl, fz_i32s(f, 3 * H));
    }
    if (m.has_head) {
        const size_t O = (size_t)m.head.output_size;
        m.head.weight = qi_packed(f, &pl, (int)O, m.head.input_size);
        m.head.mult = keep(&pl, fz_mults(f, O, (mode & 0x04) != 0));
        m.head.shift = keep(&pl, fz_shifts(f, O, (mode & 0x04) != 0));
        m.head.bias = keep(&pl, fz_i32s(f, O));
    }
    int values_ok = 1;
    for (int l = 0; l < m.num_layers; l++) {
        const size_t R = 3 * (size_t)m.layers[l].hidden_size;
        values_ok &= fz_requant_ok(m.layers[l].m_ih, m.layers[l].sh_ih, R)
                     & fz_requant_ok(m.layers[l].m_hh, m.layers[l].sh_hh, R);
    }
    if (m.has_head)
        values_ok &= fz_requant_ok(m.head.mult, m.head.shift, (size_t)m.head.output_size);
    FZ_CHECK(gru_qi_model_check(&m) == (values_ok ? GRU_OK : GRU_ERR_ARGUMENT));
    if (!values_ok) {
        drop(&pl);
        return;
    }
    const int I = gru_qi_model_input_size(&m), O = gru_qi_model_output_size(&m);
    const size_t st = gru_qi_state_size(&m), sc = gru_qi_scratch_size(&m);
    FZ_CHECK(st == S);
    const int B = 1 + fz_u8(f) % 4, T = 1 + fz_u8(f) % 4, rs = fz_u8(f) & 1;
    int16_t *x = keep(&pl, fz_bytes(f, (size_t)B * (size_t)T * (size_t)I * sizeof(int16_t)));
    int16_t *init = keep(&pl, fz_bytes(f, (size_t)B * st * sizeof(int16_t)));
    for (size_t i = 0; i < (size_t)B * st; i++) /* a valid Q0.15 state: |h| <= 32767 */
        if (init[i] == INT16_MIN)
            init[i] = -INT16_MAX;
    int16_t *state = keep(&pl, fz_alloc(st * sizeof(int16_t)));
    int32_t *scratch = keep(&pl, fz_alloc(sc * sizeof(int32_t)));
    int32_t *ys = keep(&pl, fz_alloc((size_t)B * (size_t)T * (size_t)O * sizeof(int32_t)));
    gru_qi_stream s;
    FZ_CHECK(gru_qi_stream_init(&s, &m, state, st - 1, scratch, sc) == GRU_ERR_BUFFER);
    FZ_CHECK(gru_qi_stream_init(&s, &m, state, st, scratch, sc - 1) == GRU_ERR_BUFFER);
    FZ_CHECK(gru_qi_stream_init(&s, &m, state, st, scratch, sc) == GRU_OK);
    for (int b = 0; b < B; b++) {
        gru_qi_stream_reset(&s);
        memcpy(state, init + (size_t)b * st, st * sizeof(int16_t));
        for (int t = 0; t < T; t++)
            gru_qi_stream_step(&s, x + ((size_t)b * (size_t)T + (size_t)t) * (size_t)I,
                               ys + ((size_t)b * (size_t)T + (size_t)t) * (size_t)O);
    }
    const size_t ny = (size_t)B * (rs ? (size_t)T : 1) * (size_t)O;
    int16_t *qs = keep(&pl, fz_alloc(st * sizeof(int16_t)));
    int32_t *qc = keep(&pl, fz_alloc(sc * sizeof(int32_t)));
    int32_t *y = keep(&pl, fz_alloc(ny * sizeof(int32_t)));
    FZ_CHECK(gru_qi_sequence(&m, x, B, T, rs, init, qs, st, qc, sc, y) == GRU_OK);
    for (int b = 0; b < B; b++)
        for (int t = rs ? 0 : T - 1; t < T; t++)
            FZ_CHECK(memcmp(ys + ((size_t)b * (size_t)T + (size_t)t) * (size_t)O,
                            y + ((size_t)b * (rs ? (size_t)T : 1) + (size_t)(rs ? t : 0)) * (size_t)O,
                            (size_t)O * sizeof(int32_t)) == 0);
    drop(&pl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size};
    const uint8_t mode = fz_u8(&f);
    if (mode & 1)
        fuzz_qi(&f, mode);
    else
        fuzz_q8(&f, mode);
    return 0;
}
