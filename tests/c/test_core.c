/* test_core.c - C unit tests of the float32 inference core (run by
 * tests/test_c_core.py, also under ASan/UBSan and valgrind).
 *
 * Guard tests surround every caller buffer with sentinel bytes and check the
 * kernels never write outside what they were given, for every size from 1 up
 * to a bound. Exit status 0 = all passed; failures are printed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gru.h"

static int failures = 0, checks = 0;

#define CHECK(cond, ...)                                                      \
    do {                                                                      \
        checks++;                                                             \
        if (!(cond)) {                                                        \
            failures++;                                                       \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                       \
            printf(__VA_ARGS__);                                              \
            printf("\n");                                                     \
        }                                                                     \
    } while (0)

#define GUARD 64 /* floats of sentinel on each side */
static const unsigned char SENTINEL = 0xA5;

/* A buffer of n floats with GUARD sentinel floats before and after. */
static float *guarded(size_t n)
{
    unsigned char *raw = malloc((n + 2 * GUARD) * sizeof(float));
    if (!raw)
        exit(99);
    memset(raw, SENTINEL, (n + 2 * GUARD) * sizeof(float));
    return (float *)raw + GUARD;
}

static int guard_intact(const float *p, size_t n)
{
    const unsigned char *lo = (const unsigned char *)(p - GUARD);
    const unsigned char *hi = (const unsigned char *)(p + n);
    for (size_t i = 0; i < GUARD * sizeof(float); i++)
        if (lo[i] != SENTINEL || hi[i] != SENTINEL)
            return 0;
    return 1;
}

static void release(float *p) { free(p - GUARD); }

static unsigned rng_state = 12345u;
static float uniform(void)
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xffffff) / 16777216.0f - 0.5f;
}

static float *random_guarded(size_t n, float scale)
{
    float *p = guarded(n);
    for (size_t i = 0; i < n; i++)
        p[i] = uniform() * scale;
    return p;
}

static void test_pack_roundtrip(void)
{
    for (int rows = 1; rows <= 100; rows += (rows < 20 ? 1 : 7))
        for (int cols = 1; cols <= 13; cols += 3) {
            const size_t n = (size_t)rows * (size_t)cols, np = GRU_PACKED_SIZE(rows, cols);
            float *w = random_guarded(n, 2.0f), *p = guarded(np), *back = guarded(n);
            CHECK(gru_pack_matrix(w, rows, cols, p, np) == GRU_OK, "pack %dx%d", rows, cols);
            CHECK(gru_pack_matrix(w, rows, cols, p, np - 1) == GRU_ERR_BUFFER, "small capacity");
            CHECK(gru_unpack_matrix(p, rows, cols, back, n) == GRU_OK, "unpack");
            CHECK(memcmp(w, back, n * sizeof *w) == 0, "round trip %dx%d", rows, cols);
            /* the packed array holds each weight once, and zeros for padding */
            double sum_w = 0, sum_p = 0;
            size_t zeros = 0;
            for (size_t i = 0; i < n; i++) sum_w += fabs((double)w[i]);
            for (size_t i = 0; i < np; i++) {
                sum_p += fabs((double)p[i]);
                zeros += p[i] == 0.0f;
            }
            CHECK(sum_w == sum_p && zeros >= np - n, "padding %dx%d", rows, cols);
            CHECK(guard_intact(w, n) && guard_intact(p, np) && guard_intact(back, n), "guards");
            release(w); release(p); release(back);
        }
    float one = 1.0f;
    CHECK(gru_pack_matrix(NULL, 1, 1, &one, 1) == GRU_ERR_NULL, "null");
    CHECK(gru_pack_matrix(&one, 0, 1, &one, 1) == GRU_ERR_SIZE, "rows 0");
    CHECK(gru_pack_matrix(&one, 1, GRU_MAX_DIM + 1, &one, 1) == GRU_ERR_SIZE, "cols too big");
}

/* A random model whose every buffer is guarded; freed by free_model. */
typedef struct {
    gru_model m;
    float *bufs[4 * GRU_MAX_LAYERS * 2 + 2];
    size_t sizes[4 * GRU_MAX_LAYERS * 2 + 2];
    int count;
} test_model;

static const float *add(test_model *t, size_t n, float scale)
{
    t->bufs[t->count] = random_guarded(n, scale);
    t->sizes[t->count] = n;
    return t->bufs[t->count++];
}

static void make_model(test_model *t, int input, const int *hidden, int layers, int reset_after,
                       int output, int activation)
{
    memset(t, 0, sizeof *t);
    t->m.num_layers = layers;
    int in = input;
    for (int l = 0; l < layers; l++) {
        const int H = hidden[l];
        gru_layer *g = &t->m.layers[l];
        g->input_size = in;
        g->hidden_size = H;
        g->reset_after = (reset_after >> l) & 1;
        /* random values stand in for packed weights; padding rows are read too */
        g->w_ih = add(t, GRU_LAYER_W_IH_SIZE(in, H), 1.0f);
        g->w_hh_rz = add(t, GRU_LAYER_W_HH_RZ_SIZE(H), 1.0f);
        g->w_hh_n = add(t, GRU_LAYER_W_HH_N_SIZE(H), 1.0f);
        g->b_ih = add(t, 3 * (size_t)H, 0.5f);
        g->b_hh = add(t, 3 * (size_t)H, 0.5f);
        in = H;
    }
    if (output > 0) {
        t->m.has_head = 1;
        t->m.head.input_size = in;
        t->m.head.output_size = output;
        t->m.head.activation = activation;
        t->m.head.weight = add(t, GRU_PACKED_SIZE(output, in), 1.0f);
        t->m.head.bias = add(t, (size_t)output, 0.5f);
    }
}

static int model_guards_intact(const test_model *t)
{
    for (int i = 0; i < t->count; i++)
        if (!guard_intact(t->bufs[i], t->sizes[i]))
            return 0;
    return 1;
}

static void free_model(test_model *t)
{
    for (int i = 0; i < t->count; i++)
        release(t->bufs[i]);
}

static void test_checks(void)
{
    const int hidden[2] = {5, 7};
    test_model t;
    make_model(&t, 3, hidden, 2, 1, 4, GRU_ACT_SOFTMAX);
    CHECK(gru_model_check(&t.m) == GRU_OK, "valid model");
    CHECK(gru_model_check(NULL) == GRU_ERR_NULL, "null model");
    gru_model m = t.m;
    m.num_layers = 0;
    CHECK(gru_model_check(&m) == GRU_ERR_LAYERS, "0 layers");
    m = t.m;
    m.num_layers = GRU_MAX_LAYERS + 1;
    CHECK(gru_model_check(&m) == GRU_ERR_LAYERS, "too many layers");
    m = t.m;
    m.layers[1].input_size = 6;
    CHECK(gru_model_check(&m) == GRU_ERR_SHAPE, "layer shape mismatch");
    m = t.m;
    m.layers[0].w_hh_n = NULL;
    CHECK(gru_model_check(&m) == GRU_ERR_NULL, "null weight");
    m = t.m;
    m.layers[0].hidden_size = 0;
    CHECK(gru_model_check(&m) == GRU_ERR_SIZE, "hidden 0");
    m = t.m;
    m.layers[0].reset_after = 2;
    CHECK(gru_model_check(&m) == GRU_ERR_ACTIVATION, "reset_after 2");
    m = t.m;
    m.head.activation = 9;
    CHECK(gru_model_check(&m) == GRU_ERR_ACTIVATION, "activation 9");
    m = t.m;
    m.head.input_size = 5;
    CHECK(gru_model_check(&m) == GRU_ERR_SHAPE, "head shape");

    const size_t ns = gru_state_size(&t.m), nw = gru_scratch_size(&t.m);
    CHECK(ns == GRU_STATE_SIZE(5 + 7), "state size %zu", ns);
    CHECK(nw <= GRU_SCRATCH_SIZE(7, 4), "scratch macro %zu", nw);
    float state[64], scratch[256];
    gru_stream s;
    memset(&s, 0x5a, sizeof s);
    gru_stream before = s;
    CHECK(gru_stream_init(&s, &t.m, state, ns - 1, scratch, nw) == GRU_ERR_BUFFER, "small state");
    CHECK(gru_stream_init(&s, &t.m, state, ns, scratch, nw - 1) == GRU_ERR_BUFFER, "small scratch");
    CHECK(memcmp(&s, &before, sizeof s) == 0, "stream untouched on error");
    float x[3] = {0}, y[4], seq_state[GRU_SEQUENCE_STATE_SIZE(12)], seq_scratch[GRU_SEQUENCE_SCRATCH_SIZE(7, 4)];
    const size_t nss = gru_sequence_state_size(&t.m), nsw = gru_sequence_scratch_size(&t.m);
    CHECK(nss == GRU_SEQUENCE_STATE_SIZE(12) && nsw <= GRU_SEQUENCE_SCRATCH_SIZE(7, 4), "sequence sizes");
    CHECK(gru_sequence(&t.m, x, 0, 1, 0, NULL, seq_state, nss, seq_scratch, nsw, y) == GRU_ERR_ARGUMENT, "batch 0");
    CHECK(gru_sequence(&t.m, x, 1, 0, 0, NULL, seq_state, nss, seq_scratch, nsw, y) == GRU_ERR_ARGUMENT, "steps 0");
    CHECK(gru_sequence(&t.m, x, 1, 1, 0, NULL, seq_state, nss, seq_scratch, nsw - 1, y) == GRU_ERR_BUFFER, "seq scratch");
    CHECK(gru_sequence(&t.m, x, 1, 1, 0, NULL, seq_state, nss - 1, seq_scratch, nsw, y) == GRU_ERR_BUFFER, "seq state");
    CHECK(gru_status_string(GRU_ERR_SHAPE)[0] != '\0', "status string");
    free_model(&t);
}

/* Stream and sequence agree bit for bit, and no buffer is touched outside its
 * bounds, for every small size. */
static void test_guarded_runs(void)
{
    const int steps = 3, batch = GRU_SEQUENCE_LANES + 2; /* lanes and the remainder */
    for (int H = 1; H <= 50; H += (H < 17 ? 1 : 11))
        for (int I = 1; I <= 9; I += 4)
            for (int variant = 0; variant < 4; variant++) {
                const int layers = 1 + (variant & 1);
                const int hidden[2] = {H, H % 7 + 1};
                const int output = variant >= 2 ? (H % 5) + 1 : 0;
                test_model t;
                make_model(&t, I, hidden, layers, variant, output, variant % 4);
                CHECK(gru_model_check(&t.m) == GRU_OK, "check H=%d I=%d", H, I);
                const size_t ns = gru_state_size(&t.m), nw = gru_scratch_size(&t.m);
                const size_t no = (size_t)gru_model_output_size(&t.m);
                const size_t nss = gru_sequence_state_size(&t.m), nsw = gru_sequence_scratch_size(&t.m);
                float *state = guarded(ns), *scratch = guarded(nw);
                float *seq_state = guarded(nss), *seq_scratch = guarded(nsw);
                float *x = random_guarded((size_t)(batch * steps * I), 4.0f);
                float *y_seq = guarded((size_t)(batch * steps) * no), *y = guarded(no);
                CHECK(gru_sequence(&t.m, x, batch, steps, 1, NULL, seq_state, nss, seq_scratch, nsw, y_seq) == GRU_OK,
                      "sequence H=%d", H);
                gru_stream s;
                CHECK(gru_stream_init(&s, &t.m, state, ns, scratch, nw) == GRU_OK, "init");
                for (int b = 0; b < batch; b++) {
                    gru_stream_reset(&s);
                    for (int k = 0; k < steps; k++) {
                        gru_stream_step(&s, x + (b * steps + k) * I, y);
                        CHECK(memcmp(y, y_seq + (size_t)(b * steps + k) * no, no * sizeof *y) == 0,
                              "stream == sequence H=%d I=%d variant=%d", H, I, variant);
                        for (size_t j = 0; j < no; j++)
                            CHECK(isfinite(y[j]), "finite output");
                    }
                }
                CHECK(guard_intact(seq_state, nss) && guard_intact(seq_scratch, nsw), "sequence guards");
                CHECK(guard_intact(state, ns) && guard_intact(scratch, nw) && guard_intact(x, (size_t)(batch * steps * I)) &&
                      guard_intact(y_seq, (size_t)(batch * steps) * no) && guard_intact(y, no) &&
                      model_guards_intact(&t), "guards H=%d I=%d variant=%d", H, I, variant);
                release(state); release(scratch); release(seq_state); release(seq_scratch); release(x); release(y_seq); release(y);
                free_model(&t);
            }
}

/* One edit of the valid model t.m, and the status gru_model_check returns. */
#define EXPECT_STATUS(edit, status, what)                                         \
    do {                                                                          \
        gru_model m = t.m;                                                        \
        edit;                                                                     \
        CHECK(gru_model_check(&m) == (status), what);                             \
    } while (0)

/* Dense layer d: in -> out, random guarded weights. */
static void make_dense(test_model *t, gru_dense *d, int in, int out, int activation)
{
    d->input_size = in;
    d->output_size = out;
    d->activation = activation;
    d->weight = add(t, GRU_PACKED_SIZE(out, in), 1.0f);
    d->bias = add(t, (size_t)out, 0.5f);
}

/* A model with a pre-net of two layers (I -> p0 -> p1) and a head of
 * 1 + posts layers. */
static void make_dense_model(test_model *t, int I, int p0, int p1, int H, int posts, int O)
{
    const int hidden[2] = {H, H % 5 + 2};
    make_model(t, p1, hidden, 2, 2, p0 + 1, GRU_ACT_RELU);
    t->m.num_pre = 2;
    make_dense(t, &t->m.pre[0], I, p0, GRU_ACT_TANH);
    make_dense(t, &t->m.pre[1], p0, p1, GRU_ACT_RELU);
    t->m.num_post = posts;
    for (int k = 0; k < posts; k++)
        make_dense(t, &t->m.post[k], k ? p1 + k : p0 + 1, k == posts - 1 ? O : p1 + k + 1,
                   k == posts - 1 ? GRU_ACT_SOFTMAX : (k % 2 ? GRU_ACT_SIGMOID : GRU_ACT_NONE));
}

static void test_dense_checks(void)
{
    test_model t;
    make_dense_model(&t, 3, 6, 4, 5, 2, 3);
    CHECK(gru_model_check(&t.m) == GRU_OK, "valid dense model");
    CHECK(gru_model_input_size(&t.m) == 3 && gru_model_output_size(&t.m) == 3, "dense model sizes");
    const size_t nw = gru_scratch_size(&t.m);
    CHECK(nw == GRU_MODEL_SCRATCH_SIZE(5, 3, 7), "dense scratch %zu", nw);
    CHECK(gru_sequence_scratch_size(&t.m) == GRU_SEQUENCE_MODEL_SCRATCH_SIZE(5, 3, 7), "sequence dense scratch");
    EXPECT_STATUS(m.num_pre = GRU_MAX_DENSE + 1, GRU_ERR_LAYERS, "too many pre layers");
    EXPECT_STATUS(m.num_pre = -1, GRU_ERR_LAYERS, "negative pre count");
    EXPECT_STATUS(m.num_post = GRU_MAX_DENSE + 1, GRU_ERR_LAYERS, "too many post layers");
    EXPECT_STATUS(m.has_head = 0, GRU_ERR_LAYERS, "post layers without a head");
    EXPECT_STATUS(m.pre[1].bias = NULL, GRU_ERR_NULL, "null pre bias");
    EXPECT_STATUS(m.post[0].weight = NULL, GRU_ERR_NULL, "null post weight");
    EXPECT_STATUS(m.pre[1].input_size = 5, GRU_ERR_SHAPE, "pre chain shape");
    EXPECT_STATUS(m.layers[0].input_size = 6, GRU_ERR_SHAPE, "pre -> GRU shape");
    EXPECT_STATUS(m.post[0].input_size = 4, GRU_ERR_SHAPE, "head -> post shape");
    EXPECT_STATUS(m.post[1].output_size = 0, GRU_ERR_SIZE, "post size 0");
    EXPECT_STATUS(m.pre[0].output_size = GRU_MAX_DIM + 1, GRU_ERR_SIZE, "pre size too big");
    EXPECT_STATUS(m.pre[0].activation = GRU_ACT_RELU + 1, GRU_ERR_ACTIVATION, "pre activation");
    EXPECT_STATUS(m.post[1].activation = -1, GRU_ERR_ACTIVATION, "post activation");
    /* the checksum covers the pre and post arrays */
    uint32_t crc0 = 0, crc1 = 0, crc2 = 0;
    CHECK(gru_model_checksum(&t.m, &crc0) == GRU_OK, "checksum");
    float *pre_bias = t.bufs[t.count - 2 * (2 + 2) + 1]; /* pre[0].bias */
    CHECK(pre_bias == t.m.pre[0].bias, "pre bias buffer");
    pre_bias[0] += 1.0f;
    CHECK(gru_model_checksum(&t.m, &crc1) == GRU_OK && crc1 != crc0, "checksum covers pre");
    pre_bias[0] -= 1.0f;
    ((float *)t.bufs[t.count - 1])[0] += 1.0f; /* post[1].bias */
    CHECK(gru_model_checksum(&t.m, &crc2) == GRU_OK && crc2 != crc0 && crc2 != crc1, "checksum covers post");
    free_model(&t);
}

/* Stream and sequence agree bit for bit through pre and post layers, and
 * nothing is touched outside its buffer. */
static void test_dense_guarded_runs(void)
{
    const int steps = 3, batch = GRU_SEQUENCE_LANES + 2;
    for (int size = 1; size <= 40; size += 13)
        for (int posts = 0; posts <= GRU_MAX_DENSE; posts++) {
            test_model t;
            make_dense_model(&t, size % 4 + 1, size + 2, size % 9 + 1, size, posts, size % 6 + 1);
            CHECK(gru_model_check(&t.m) == GRU_OK, "check dense size=%d posts=%d", size, posts);
            const size_t ns = gru_state_size(&t.m), nw = gru_scratch_size(&t.m);
            const size_t no = (size_t)gru_model_output_size(&t.m), ni = (size_t)gru_model_input_size(&t.m);
            const size_t nss = gru_sequence_state_size(&t.m), nsw = gru_sequence_scratch_size(&t.m);
            float *state = guarded(ns), *scratch = guarded(nw), *seq_state = guarded(nss);
            float *seq_scratch = guarded(nsw), *x = random_guarded((size_t)(batch * steps) * ni, 3.0f);
            float *y_seq = guarded((size_t)(batch * steps) * no), *y = guarded(no);
            CHECK(gru_sequence(&t.m, x, batch, steps, 1, NULL, seq_state, nss, seq_scratch, nsw, y_seq) == GRU_OK,
                  "dense sequence");
            gru_stream s;
            CHECK(gru_stream_init(&s, &t.m, state, ns, scratch, nw) == GRU_OK, "dense init");
            for (int b = 0; b < batch; b++) {
                gru_stream_reset(&s);
                for (int k = 0; k < steps; k++) {
                    gru_stream_step(&s, x + (size_t)(b * steps + k) * ni, y);
                    CHECK(memcmp(y, y_seq + (size_t)(b * steps + k) * no, no * sizeof *y) == 0,
                          "dense stream == sequence size=%d posts=%d", size, posts);
                }
            }
            CHECK(guard_intact(state, ns) && guard_intact(scratch, nw) && guard_intact(seq_state, nss) &&
                  guard_intact(seq_scratch, nsw) && guard_intact(y_seq, (size_t)(batch * steps) * no) &&
                  guard_intact(y, no) && model_guards_intact(&t), "dense guards size=%d posts=%d", size, posts);
            release(state); release(scratch); release(seq_state); release(seq_scratch); release(x);
            release(y_seq); release(y);
            free_model(&t);
        }
}

/* Reverse and bidirectional layers: checks, GRU_ERR_STREAM, the sequence
 * scratch, a reverse layer on the reversed input is the forward layer read
 * backwards (bit for bit), and guarded layer-by-layer runs. */
static void test_reverse_layers(void)
{
    const int hidden[3] = {6, 5, 4}, T = 5, I = 3;
    test_model t;
    make_model(&t, I, hidden, 3, 0, 2, GRU_ACT_NONE);
    t.m.layers[1].input_size = I; /* layer 1: the reverse half of layer 0 */
    t.m.layers[1].reverse = t.m.layers[1].merge = 1;
    t.m.layers[2].input_size = 11;
    t.m.layers[2].reverse = 1;
    t.m.head.input_size = 4;
    t.m.layers[1].w_ih = add(&t, GRU_LAYER_W_IH_SIZE(I, 5), 1.0f);
    t.m.layers[2].w_ih = add(&t, GRU_LAYER_W_IH_SIZE(11, 4), 1.0f);
    CHECK(gru_model_check(&t.m) == GRU_OK, "bidirectional model");
    float state[64], scratch[1024];
    gru_stream s;
    CHECK(gru_stream_init(&s, &t.m, state, 64, scratch, 1024) == GRU_ERR_STREAM, "reverse cannot stream");
    const size_t need = gru_sequence_scratch_size_for(&t.m, T);
    CHECK(need == gru_scratch_size(&t.m) + 2 * (size_t)T * 11, "reverse scratch %zu", need);
    CHECK(need == GRU_SEQUENCE_REVERSE_SCRATCH_SIZE(6, 2, 0, T, 11), "reverse scratch macro");
    CHECK(gru_sequence_scratch_size_for(&t.m, 1 << 30) == SIZE_MAX || sizeof(size_t) > 4, "overflow");
    EXPECT_STATUS(m.layers[1].input_size = 6, GRU_ERR_SHAPE, "reverse half reads its partner's input");
    EXPECT_STATUS(m.layers[2].input_size = 5, GRU_ERR_SHAPE, "after a pair: both halves");
    EXPECT_STATUS(m.head.input_size = 9, GRU_ERR_SHAPE, "head after the last layer");
    EXPECT_STATUS(m.layers[0].merge = 1, GRU_ERR_SHAPE, "merge on layer 0");
    EXPECT_STATUS(m.layers[2].merge = 1, GRU_ERR_SHAPE, "merge after a merged layer");
    EXPECT_STATUS(m.layers[1].reverse = 0, GRU_ERR_SHAPE, "merge of a forward layer");
    EXPECT_STATUS(m.layers[2].reverse = 2, GRU_ERR_ACTIVATION, "reverse flag 2");
    float *x = random_guarded((size_t)(3 * T * I), 2.0f), *y = guarded((size_t)(3 * T * 2));
    float *work = guarded(need), *st = guarded(gru_sequence_state_size(&t.m));
    const size_t nss = gru_sequence_state_size(&t.m);
    CHECK(gru_sequence(&t.m, x, 3, T, 1, NULL, st, nss, work, need - 1, y) == GRU_ERR_BUFFER, "small scratch");
    CHECK(gru_sequence(&t.m, x, 3, T, 1, NULL, st, nss, work, need, y) == GRU_OK, "bidirectional run");
    CHECK(gru_sequence(&t.m, x, 3, T, 0, NULL, st, nss, work, need, y) == GRU_OK, "last step run");
    CHECK(guard_intact(x, (size_t)(3 * T * I)) && guard_intact(y, (size_t)(3 * T * 2)) && guard_intact(work, need) &&
          guard_intact(st, nss) && model_guards_intact(&t), "reverse guards");
    /* one layer: reverse on the reversed input == forward read backwards */
    gru_model fwd = t.m, rev;
    fwd.num_layers = 1;
    fwd.has_head = 0;
    rev = fwd;
    rev.layers[0].reverse = 1;
    float xr[5 * 3], yf[5 * 6], yr[5 * 6], st1[64], work1[512];
    for (int k = 0; k < T; k++)
        memcpy(xr + k * I, x + (T - 1 - k) * I, (size_t)I * sizeof *x);
    CHECK(gru_sequence(&fwd, x, 1, T, 1, NULL, st1, 64, work1, 512, yf) == GRU_OK, "forward");
    CHECK(gru_sequence(&rev, xr, 1, T, 1, NULL, st1, 64, work1, 512, yr) == GRU_OK, "reverse");
    for (int k = 0; k < T; k++)
        CHECK(memcmp(yr + k * 6, yf + (T - 1 - k) * 6, 6 * sizeof *yr) == 0, "reverse step %d", k);
    release(x); release(y); release(work); release(st);
    free_model(&t);
}

static void test_activations(void)
{
    for (int i = -4000; i <= 4000; i++) {
        const float x = (float)i * 0.01f;
        const float t = gru_tanh(x), s = gru_sigmoid(x);
        CHECK(gru_tanh(-x) == -t, "tanh odd at %g", (double)x);
        CHECK(t >= -1.0f && t <= 1.0f && s >= 0.0f && s <= 1.0f, "range at %g", (double)x);
        CHECK(fabs((double)s + (double)gru_sigmoid(-x) - 1.0) < 2.5e-7, "sigmoid symmetry at %g", (double)x);
    }
    CHECK(gru_tanh(1e30f) == 1.0f && gru_tanh(-1e30f) == -1.0f, "tanh saturates");
    CHECK(gru_sigmoid(1e30f) == 1.0f && gru_sigmoid(-1e30f) < 1e-30f, "sigmoid saturates");
    CHECK(isfinite(gru_sigmoid(NAN)) && isfinite(gru_tanh(INFINITY)), "no NaN from saturating inputs");
}

int main(void)
{
    test_pack_roundtrip();
    test_checks();
    test_guarded_runs();
    test_dense_checks();
    test_dense_guarded_runs();
    test_reverse_layers();
    test_activations();
    printf("%d checks: %d passed, %d failed\n", checks, checks - failures, failures);
    return failures ? 1 : 0;
}
