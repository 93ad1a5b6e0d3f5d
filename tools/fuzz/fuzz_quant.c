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
#include <math.h>

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

/* Expected verdict of the value checks (gru_model.c), written from the
 * documented ranges rather than copied: scales finite (and >= 0 unless signed),
 * multipliers >= 0, shifts 1..62. Each walks back from the end while the
 * values are in range; all were if it reaches the start. */
static int fz_scales_ok(const float *s, size_t n, int allow_negative)
{
    while (n > 0 && isfinite(s[n - 1]) && (allow_negative || s[n - 1] >= 0.0f))
        n--;
    return n == 0;
}

static int fz_requant_ok(const int32_t *m, const int8_t *sh, size_t n)
{
    while (n > 0 && m[n - 1] >= 0 && sh[n - 1] >= 1 && sh[n - 1] <= 62)
        n--;
    return n == 0;
}

/* The check of a model with its real values gives the expected verdict;
 * returns whether it accepted. */
static int fz_verdict(int status, int values_ok)
{
    FZ_CHECK(status == (values_ok ? GRU_OK : GRU_ERR_ARGUMENT));
    return values_ok;
}

/* One accepted model's run: its size queries (the state size must be the sum
 * of the hidden sizes, S), batch, steps and whether the sequence returns every
 * step (from the input), and the buffers that take no input bytes, each
 * exactly as large as the sizes say: the stream's state, scratch and outputs
 * ys, and the sequence call's state qs, scratch qc (gru_qP_sequence runs one
 * lane: the streaming sizes) and outputs y. Elements of st_el, sc_el and
 * out_el bytes. */
typedef struct fz_run {
    int I, O, B, T, rs;
    size_t st, sc;
    void *state, *scratch, *ys, *qs, *qc, *y;
} fz_run;

static fz_run fz_run_new(fz *f, pool *pl, int I, int O, size_t st, size_t sc, size_t S, int max_batch,
                         size_t st_el, size_t sc_el, size_t out_el)
{
    fz_run r;
    FZ_CHECK(st == S);
    r.I = I;
    r.O = O;
    r.st = st;
    r.sc = sc;
    r.B = 1 + fz_u8(f) % max_batch;
    r.T = 1 + fz_u8(f) % 4;
    r.rs = fz_u8(f) & 1;
    const size_t outs = (size_t)r.B * (size_t)r.T * (size_t)O, ny = (size_t)r.B * (r.rs ? (size_t)r.T : 1) * (size_t)O;
    r.state = keep(pl, fz_alloc(st * st_el));
    r.scratch = keep(pl, fz_alloc(sc * sc_el));
    r.ys = keep(pl, fz_alloc(outs * out_el));
    r.qs = keep(pl, fz_alloc(st * st_el));
    r.qc = keep(pl, fz_alloc(sc * sc_el));
    r.y = keep(pl, fz_alloc(ny * out_el));
    return r;
}

/* Offset of step t of sequence b in an array of T steps per sequence, n elements a step. */
static size_t fz_at(int b, int t, int T, int n)
{
    return ((size_t)b * (size_t)T + (size_t)t) * (size_t)n;
}

/* A stream init refuses a state or a scratch one element short (leaving the
 * stream untouched) and accepts the exact sizes. */
#define FZ_STREAM_INIT(init, s, m, r)                                                         \
    do {                                                                                    \
        memset(s, 0, sizeof *(s));                                                          \
        FZ_CHECK(init(s, m, (r).state, (r).st - 1, (r).scratch, (r).sc) == GRU_ERR_BUFFER);  \
        FZ_CHECK(init(s, m, (r).state, (r).st, (r).scratch, (r).sc - 1) == GRU_ERR_BUFFER);  \
        FZ_CHECK((s)->model == NULL);                                                       \
        FZ_CHECK(init(s, m, (r).state, (r).st, (r).scratch, (r).sc) == GRU_OK);              \
    } while (0)

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

static void fuzz_q8(fz *f, uint8_t mode, pool *pl)
{
    gru_q8_model m;
    memset(&m, 0, sizeof m);
    const int raw = (mode & 0x80) != 0;
    m.num_layers = raw ? (int)(fz_u8(f) % 11) - 1 : 1 + fz_u8(f) % 3;
    const int nl = m.num_layers < 0 ? 0 : m.num_layers > GRU_MAX_LAYERS ? GRU_MAX_LAYERS : m.num_layers;
    int prev = fz_dim(f, 16, 0);
    size_t S = 0, total = 0; /* total weights: an accepted model too big to allocate here is checked only */
    for (int l = 0; l < nl; l++) {
        gru_q8_layer *L = &m.layers[l];
        L->input_size = (raw && l) ? fz_dim(f, 16, 0) : prev;
        L->hidden_size = prev = raw ? fz_dim(f, 16, 1) : fz_dim(f, 16, 0);
        L->reset_after = raw ? (int)(int8_t)fz_u8(f) : fz_u8(f) & 1;
        S += (size_t)(prev > 0 ? prev : 0);
        total += 3 * (size_t)L->hidden_size * ((size_t)L->input_size + (size_t)L->hidden_size);
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
    if (status != GRU_OK || total > (1u << 20))
        return;
    for (int l = 0; l < nl; l++) {
        gru_q8_layer *L = &m.layers[l];
        const int I = L->input_size, H = L->hidden_size;
        L->w_ih = keep(pl, fz_bytes(f, GRU_Q8_PACKED_SIZE(3 * H, I)));
        L->w_hh_rz = keep(pl, fz_bytes(f, GRU_Q8_PACKED_SIZE(2 * H, H)));
        L->w_hh_n = keep(pl, fz_bytes(f, GRU_Q8_PACKED_SIZE(H, H)));
        L->s_ih = keep(pl, fz_scales(f, 3 * (size_t)H, (mode & 0x04) != 0));
        L->s_hh = keep(pl, fz_scales(f, 3 * (size_t)H, (mode & 0x04) != 0));
        L->b_ih = keep(pl, fz_floats(f, 3 * (size_t)H, 0));
        L->b_hh = keep(pl, fz_floats(f, 3 * (size_t)H, 0));
    }
    if (m.has_head) {
        m.head.weight = keep(pl, fz_bytes(f, GRU_Q8_PACKED_SIZE(m.head.output_size, m.head.input_size)));
        m.head.scale = keep(pl, fz_scales(f, (size_t)m.head.output_size, (mode & 0x04) != 0));
        m.head.bias = keep(pl, fz_floats(f, (size_t)m.head.output_size, 0));
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
    if (!fz_verdict(gru_q8_model_check(&m), values_ok))
        return;
    const fz_run r = fz_run_new(f, pl, gru_q8_model_input_size(&m), gru_q8_model_output_size(&m),
                                gru_q8_state_size(&m), gru_q8_scratch_size(&m), S, 5,
                                sizeof(float), sizeof(float), sizeof(float));
    float *x = keep(pl, fz_floats(f, (size_t)r.B * (size_t)r.T * (size_t)r.I, (mode & 0x40) != 0));
    gru_q8_stream s;
    FZ_STREAM_INIT(gru_q8_stream_init, &s, &m, r);
    for (int b = 0; b < r.B; b++) {
        gru_q8_stream_reset(&s);
        for (int t = 0; t < r.T; t++)
            gru_q8_stream_step(&s, x + fz_at(b, t, r.T, r.I), (float *)r.ys + fz_at(b, t, r.T, r.O));
    }
    FZ_CHECK(gru_q8_sequence(&m, x, r.B, r.T, r.rs, NULL, r.qs, r.st, r.qc, r.sc, r.y) == GRU_OK);
    if (!(mode & 0x40))
        FZ_CHECK(fz_same_outputs(r.ys, r.y, r.B, r.T, r.O, r.rs, sizeof(float)));
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

static void fuzz_qi(fz *f, uint8_t mode, pool *pl)
{
    gru_qi_model m;
    memset(&m, 0, sizeof m);
    const int raw = (mode & 0x80) != 0;
    m.num_layers = 1 + fz_u8(f) % 3;
    int prev = raw ? (int)(fz_i32(f) % 1024) : fz_dim(f, 16, 0);
    size_t S = 0, total = 0; /* as in fuzz_q8 */
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
        total += 3 * (size_t)L->hidden_size * ((size_t)L->input_size + (size_t)L->hidden_size);
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
    if (status != GRU_OK || total > (1u << 20))
        return;
    for (int l = 0; l < m.num_layers; l++) {
        gru_qi_layer *L = &m.layers[l];
        const size_t H = (size_t)L->hidden_size, I = (size_t)L->input_size;
        L->w_ih = qi_packed(f, pl, 3 * (int)H, (int)I);
        L->w_hh_rz = qi_packed(f, pl, 2 * (int)H, (int)H);
        L->w_hh_n = qi_packed(f, pl, (int)H, (int)H);
        L->m_ih = keep(pl, fz_mults(f, 3 * H, (mode & 0x04) != 0));
        L->sh_ih = keep(pl, fz_shifts(f, 3 * H, (mode & 0x04) != 0));
        L->m_hh = keep(pl, fz_mults(f, 3 * H, (mode & 0x04) != 0));
        L->sh_hh = keep(pl, fz_shifts(f, 3 * H, (mode & 0x04) != 0));
        L->b_ih = keep(pl, fz_i32s(f, 3 * H));
        L->b_hh = keep(pl, fz_i32s(f, 3 * H));
    }
    if (m.has_head) {
        const size_t O = (size_t)m.head.output_size;
        m.head.weight = qi_packed(f, pl, (int)O, m.head.input_size);
        m.head.mult = keep(pl, fz_mults(f, O, (mode & 0x04) != 0));
        m.head.shift = keep(pl, fz_shifts(f, O, (mode & 0x04) != 0));
        m.head.bias = keep(pl, fz_i32s(f, O));
    }
    int values_ok = 1;
    for (int l = 0; l < m.num_layers; l++) {
        const size_t R = 3 * (size_t)m.layers[l].hidden_size;
        values_ok &= fz_requant_ok(m.layers[l].m_ih, m.layers[l].sh_ih, R)
                     & fz_requant_ok(m.layers[l].m_hh, m.layers[l].sh_hh, R);
    }
    if (m.has_head)
        values_ok &= fz_requant_ok(m.head.mult, m.head.shift, (size_t)m.head.output_size);
    if (!fz_verdict(gru_qi_model_check(&m), values_ok))
        return;
    const fz_run r = fz_run_new(f, pl, gru_qi_model_input_size(&m), gru_qi_model_output_size(&m),
                                gru_qi_state_size(&m), gru_qi_scratch_size(&m), S, 4,
                                sizeof(int16_t), sizeof(int32_t), sizeof(int32_t));
    const size_t st = r.st;
    int16_t *x = keep(pl, fz_bytes(f, (size_t)r.B * (size_t)r.T * (size_t)r.I * sizeof(int16_t)));
    int16_t *init = keep(pl, fz_bytes(f, (size_t)r.B * st * sizeof(int16_t)));
    for (size_t i = 0; i < (size_t)r.B * st; i++) /* a valid Q0.15 state: |h| <= 32767 */
        if (init[i] == INT16_MIN)
            init[i] = -INT16_MAX;
    gru_qi_stream s;
    FZ_STREAM_INIT(gru_qi_stream_init, &s, &m, r);
    for (int b = 0; b < r.B; b++) {
        gru_qi_stream_reset(&s);
        memcpy(r.state, init + (size_t)b * st, st * sizeof(int16_t));
        for (int t = 0; t < r.T; t++)
            gru_qi_stream_step(&s, x + fz_at(b, t, r.T, r.I), (int32_t *)r.ys + fz_at(b, t, r.T, r.O));
    }
    FZ_CHECK(gru_qi_sequence(&m, x, r.B, r.T, r.rs, init, r.qs, st, r.qc, r.sc, r.y) == GRU_OK);
    FZ_CHECK(fz_same_outputs(r.ys, r.y, r.B, r.T, r.O, r.rs, sizeof(int32_t)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size};
    const uint8_t mode = fz_u8(&f);
    pool pl = {{0}, 0};
    if (mode & 1)
        fuzz_qi(&f, mode, &pl);
    else
        fuzz_q8(&f, mode, &pl);
    drop(&pl);
    return 0;
}
