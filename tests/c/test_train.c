/* test_train.c - C unit and guard tests of the training API (gru_train.h):
 * size queries and macros, argument checks, buffer bounds (exact-size buffers
 * with canaries; run under ASan/UBSan by tests/test_training.py), padding of
 * packed parameters staying zero under every optimizer. Prints "N passed, M failed". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gru_train.h"

static int passed, failed;
#define CHECK(cond)                                                                   \
    do {                                                                              \
        if (cond)                                                                     \
            passed++;                                                                 \
        else {                                                                        \
            failed++;                                                                 \
            printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                    \
        }                                                                             \
    } while (0)

#define CANARY 8
static const float canary_value = -12345.5f;

static float *alloc_guarded(size_t n)
{
    float *p = malloc((n + CANARY) * sizeof *p);
    for (size_t i = 0; i < n + CANARY; i++)
        p[i] = i < n ? 0.0f : canary_value;
    return p;
}

static int canary_ok(const float *p, size_t n)
{
    for (size_t i = n; i < n + CANARY; i++)
        if (p[i] != canary_value)
            return 0;
    return 1;
}

static unsigned seed = 12345u;
static float rnd(void)
{
    seed = seed * 1664525u + 1013904223u;
    return (float)((seed >> 8) & 0xffff) / 65536.0f - 0.5f;
}

static void describe(gru_model *m, int I, int H0, int H1, int O, int act)
{
    memset(m, 0, sizeof *m);
    m->num_layers = H1 ? 2 : 1;
    m->layers[0].input_size = I;
    m->layers[0].hidden_size = H0;
    m->layers[0].reset_after = 1;
    if (H1) {
        m->layers[1].input_size = H0;
        m->layers[1].hidden_size = H1;
        m->layers[1].reset_after = 0;
    }
    m->has_head = O > 0;
    m->head.input_size = H1 ? H1 : H0;
    m->head.output_size = O;
    m->head.activation = act;
}

/* Random parameters with zero padding (as packed from row-major); with
 * ones != 0, 1 for every real parameter and 0 for padding instead. */
static void fill_params(const gru_model *m, float *p, size_t n, int ones)
{
    memset(p, 0, n * sizeof *p);
    size_t at = 0;
    for (int l = 0; l < m->num_layers; l++) {
        const int I = m->layers[l].input_size, H = m->layers[l].hidden_size;
        const int rows[3] = {3 * H, 2 * H, H}, cols[3] = {I, H, H};
        for (int k = 0; k < 3; k++) {
            float w[4096];
            for (int i = 0; i < rows[k] * cols[k]; i++)
                w[i] = ones ? 1.0f : rnd();
            gru_pack_matrix(w, rows[k], cols[k], p + at, n - at);
            at += GRU_PACKED_SIZE(rows[k], cols[k]);
        }
        for (int i = 0; i < 6 * H; i++)
            p[at++] = ones ? 1.0f : rnd() * 0.2f;
    }
    if (m->has_head) {
        float w[4096];
        for (int i = 0; i < m->head.output_size * m->head.input_size; i++)
            w[i] = ones ? 1.0f : rnd();
        gru_pack_matrix(w, m->head.output_size, m->head.input_size, p + at, n - at);
        at += GRU_PACKED_SIZE(m->head.output_size, m->head.input_size);
        for (int i = 0; i < m->head.output_size; i++)
            p[at++] = ones ? 1.0f : rnd() * 0.2f;
    }
}

static void init_params(const gru_model *m, float *p, size_t n) { fill_params(m, p, n, 0); }

static void test_sizes(void)
{
    const int cfg[][5] = {{3, 5, 0, 2, 8}, {16, 32, 0, 1, 32}, {7, 13, 9, 4, 3}, {40, 128, 0, 1, 1},
                          {2, 3, 70, 0, 5}};
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        gru_model m;
        const int I = cfg[c][0], H0 = cfg[c][1], H1 = cfg[c][2], O = cfg[c][3], B = cfg[c][4];
        describe(&m, I, H0, H1, O, GRU_ACT_NONE);
        size_t want = GRU_LAYER_PARAM_SIZE(I, H0) + (H1 ? GRU_LAYER_PARAM_SIZE(H0, H1) : 0) +
                      (O ? GRU_HEAD_PARAM_SIZE(H1 ? H1 : H0, O) : 0);
        CHECK(gru_train_param_size(&m) == want);
        const int Hm = H0 > H1 ? H0 : H1, Out = O ? O : (H1 ? H1 : H0);
        for (int rs = 0; rs < 2; rs++)
            CHECK(GRU_TRAIN_WORKSPACE_SIZE(B, 9, H0 + H1, Hm, I, Out, rs) >=
                  gru_train_workspace_size(&m, B, 9, rs));
    }
    gru_model bad;
    describe(&bad, 0, 4, 0, 1, 0);
    CHECK(gru_train_param_size(&bad) == 0);
    CHECK(gru_train_param_size(NULL) == 0);
}

static void test_arguments(void)
{
    gru_model m;
    describe(&m, 3, 5, 4, 2, GRU_ACT_TANH);
    const size_t n = gru_train_param_size(&m);
    float *p = alloc_guarded(n), *g = alloc_guarded(n);
    init_params(&m, p, n);
    CHECK(gru_train_wire(&m, NULL, n) == GRU_ERR_NULL);
    CHECK(gru_train_wire(&m, p, n - 1) == GRU_ERR_BUFFER);
    CHECK(gru_train_wire(&m, p, n) == GRU_OK);
    const size_t nw = gru_train_workspace_size(&m, 4, 6, 0);
    float *ws = alloc_guarded(nw);
    gru_train tr;
    CHECK(gru_train_init(&tr, &m, 4, 6, 0, ws, nw - 1) == GRU_ERR_BUFFER);
    CHECK(gru_train_init(&tr, &m, 0, 6, 0, ws, nw) == GRU_ERR_ARGUMENT);
    CHECK(gru_train_init(&tr, &m, 4, 6, 2, ws, nw) == GRU_ERR_ARGUMENT);
    CHECK(gru_train_init(&tr, &m, 4, 6, 0, ws, nw) == GRU_OK);
    float x[4 * 6 * 3], y[4 * 2], target[4 * 2], loss = 0;
    int32_t lengths[4] = {6, 1, 3, 6}, bad_lengths[4] = {6, 0, 3, 6}, labels[4] = {0, 1, 1, 0};
    for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
        x[i] = rnd();
    for (int i = 0; i < 8; i++)
        target[i] = rnd();
    CHECK(gru_train_loss(&tr, GRU_LOSS_MSE, target, NULL, &loss) == GRU_ERR_ARGUMENT);
    CHECK(gru_train_backward(&tr, g, n, NULL, NULL) == GRU_ERR_ARGUMENT);
    CHECK(gru_train_forward(&tr, x, 5, 6, NULL, NULL, y, NULL) == GRU_ERR_ARGUMENT);
    CHECK(gru_train_forward(&tr, x, 4, 7, NULL, NULL, y, NULL) == GRU_ERR_ARGUMENT);
    CHECK(gru_train_forward(&tr, x, 4, 6, bad_lengths, NULL, y, NULL) == GRU_ERR_ARGUMENT);
    CHECK(gru_train_forward(&tr, x, 4, 6, lengths, NULL, y, NULL) == GRU_OK);
    CHECK(gru_train_loss(&tr, GRU_LOSS_CROSS_ENTROPY, NULL, labels, &loss) == GRU_ERR_ACTIVATION);
    CHECK(gru_train_loss(&tr, 7, target, NULL, &loss) == GRU_ERR_ARGUMENT);
    CHECK(gru_train_loss(&tr, GRU_LOSS_MSE, NULL, NULL, &loss) == GRU_ERR_NULL);
    CHECK(gru_train_loss(&tr, GRU_LOSS_MSE, target, NULL, &loss) == GRU_OK && loss > 0.0f);
    CHECK(gru_train_backward(&tr, g, n - 1, NULL, NULL) == GRU_ERR_BUFFER);
    CHECK(gru_train_backward(&tr, g, n, NULL, NULL) == GRU_OK);
    CHECK(canary_ok(ws, nw) && canary_ok(g, n) && canary_ok(p, n));

    m.head.activation = GRU_ACT_NONE;
    CHECK(gru_train_forward(&tr, x, 4, 6, lengths, NULL, y, NULL) == GRU_OK);
    labels[2] = 2;
    CHECK(gru_train_loss(&tr, GRU_LOSS_CROSS_ENTROPY, NULL, labels, &loss) == GRU_ERR_ARGUMENT);
    labels[2] = 1;
    CHECK(gru_train_loss(&tr, GRU_LOSS_CROSS_ENTROPY, NULL, labels, &loss) == GRU_OK);
    m.head.activation = GRU_ACT_SOFTMAX;
    CHECK(gru_train_loss(&tr, GRU_LOSS_MSE, target, NULL, &loss) == GRU_ERR_ACTIVATION);

    gru_optimizer opt;
    CHECK(gru_optimizer_init(&opt, 5, 0.1f) == GRU_ERR_ARGUMENT);
    CHECK(gru_optimizer_init(&opt, GRU_OPT_ADAM, 0.0f) == GRU_ERR_ARGUMENT);
    CHECK(gru_clip_grad_norm(g, n, -1.0f, NULL) == GRU_ERR_ARGUMENT);
    free(p), free(g), free(ws);
}

/* Full training steps in every mode with exact-size guarded buffers; padding
 * rows of the packed parameters must stay exactly zero. */
static void test_training_steps_stay_in_bounds(void)
{
    for (int rs = 0; rs < 2; rs++)
        for (int kind = GRU_OPT_SGD; kind <= GRU_OPT_ADAMW; kind++) {
            gru_model m;
            describe(&m, 3, 5, 7, 3, GRU_ACT_NONE);
            m.layers[0].reset_after = rs;
            const size_t n = gru_train_param_size(&m);
            float *p = alloc_guarded(n), *g = alloc_guarded(n);
            init_params(&m, p, n);
            float *real = alloc_guarded(n);
            fill_params(&m, real, n, 1);
            CHECK(gru_train_wire(&m, p, n) == GRU_OK);
            const int B = 3, T = 5;
            const size_t nw = gru_train_workspace_size(&m, B, T, rs);
            float *ws = alloc_guarded(nw);
            gru_train tr;
            CHECK(gru_train_init(&tr, &m, B, T, rs, ws, nw) == GRU_OK);
            gru_optimizer opt;
            CHECK(gru_optimizer_init(&opt, kind, 0.05f) == GRU_OK);
            opt.momentum = 0.9f;
            opt.weight_decay = 0.01f;
            const size_t ns = gru_optimizer_state_size(&opt, n);
            CHECK(ns <= GRU_OPTIMIZER_STATE_SIZE(n));
            float *st = alloc_guarded(ns);
            float *x = alloc_guarded((size_t)(B * T * 3)), *dx = alloc_guarded((size_t)(B * T * 3));
            float *y = alloc_guarded((size_t)(B * T * 3)), *h_last = alloc_guarded((size_t)(B * 12));
            float *dh0 = alloc_guarded((size_t)(B * 12));
            int32_t labels[3 * 5], lengths[3] = {5, 2, 4};
            for (int i = 0; i < B * T * 3; i++)
                x[i] = rnd();
            for (int i = 0; i < B * T; i++)
                labels[i] = i % 3;
            float first = 0, last = 0, norm = 0;
            for (int it = 0; it < 30; it++) {
                float loss = 0;
                CHECK(gru_train_forward(&tr, x, B, T, lengths, NULL, y, h_last) == GRU_OK);
                CHECK(gru_train_loss(&tr, GRU_LOSS_CROSS_ENTROPY, NULL, labels, &loss) == GRU_OK);
                CHECK(gru_train_backward(&tr, g, n, dx, dh0) == GRU_OK);
                CHECK(gru_clip_grad_norm(g, n, 1.0f, &norm) == GRU_OK);
                CHECK(gru_optimizer_step(&opt, p, g, st, n) == GRU_OK);
                if (it == 0)
                    first = loss;
                last = loss;
            }
            CHECK(last < first);
            int pad_zero = 1;
            for (size_t i = 0; i < n; i++)
                if (real[i] == 0.0f && (p[i] != 0.0f || g[i] != 0.0f))
                    pad_zero = 0;
            CHECK(pad_zero);
            CHECK(canary_ok(p, n) && canary_ok(g, n) && canary_ok(ws, nw) && canary_ok(st, ns));
            CHECK(canary_ok(dx, (size_t)(B * T * 3)) && canary_ok(y, (size_t)(B * T * 3)) &&
                  canary_ok(h_last, (size_t)(B * 12)) && canary_ok(dh0, (size_t)(B * 12)));
            free(p), free(g), free(real), free(ws), free(st), free(x), free(dx), free(y);
            free(h_last), free(dh0);
        }
}

/* Trainable choices: offsets and sizes, the compile-time workspace bound of
 * every choice, argument checks of the partial-training calls, and a guarded
 * fine-tuning step that stays in its exact-size buffers. */
static void test_trainable_choices(void)
{
    const int cfg[][5] = {{3, 5, 0, 2, 8}, {7, 13, 9, 4, 3}, {2, 3, 70, 0, 5}, {13, 32, 0, 10, 1}};
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        gru_model m;
        const int I = cfg[c][0], H0 = cfg[c][1], H1 = cfg[c][2], O = cfg[c][3], B = cfg[c][4];
        describe(&m, I, H0, H1, O, GRU_ACT_NONE);
        const int Hm = H0 > H1 ? H0 : H1, HL = H1 ? H1 : H0, IL = H1 ? H0 : I, Out = O ? O : HL;
        const size_t total = gru_train_param_size(&m);
        CHECK(gru_train_trainable_offset(&m, GRU_TRAIN_ALL) == 0);
        CHECK(gru_train_trainable_size(&m, GRU_TRAIN_ALL) == total);
        CHECK(gru_train_trainable_size(&m, GRU_TRAIN_LAST) ==
              GRU_TRAIN_LAST_PARAM_SIZE(IL, HL, O, O > 0));
        CHECK(gru_train_trainable_size(&m, GRU_TRAIN_HEAD) == (O ? GRU_TRAIN_HEAD_PARAM_SIZE(HL, O) : 0));
        CHECK(gru_train_trainable_size(&m, 7) == 0);
        for (int k = GRU_TRAIN_ALL; k <= GRU_TRAIN_HEAD; k++)
            for (int lm = 0; lm < 2; lm++)
                for (int rs = 0; rs < 2; rs++) {
                    gru_train_config cf = {B, 9, rs, k, lm};
                    const size_t got = gru_train_workspace_size_config(&m, &cf);
                    CHECK((got == 0) == (k == GRU_TRAIN_HEAD && !O));
                    CHECK(GRU_TRAIN_WORKSPACE_SIZE_FOR(k, lm, B, 9, H0 + H1, Hm, I, Out, rs, HL, IL) >= got);
                }
    }
    /* A guarded head-only and last-layer step on a 2-layer model, exact buffers. */
    gru_model m, w;
    describe(&m, 3, 6, 5, 3, GRU_ACT_SOFTMAX);
    const size_t total = gru_train_param_size(&m);
    float *full = alloc_guarded(total);
    init_params(&m, full, total);
    for (int k = GRU_TRAIN_LAST; k <= GRU_TRAIN_HEAD; k++) {
        const size_t off = gru_train_trainable_offset(&m, k), n = gru_train_trainable_size(&m, k);
        float *p = alloc_guarded(n), *g = alloc_guarded(n), *st = alloc_guarded(n);
        memcpy(p, full + off, n * sizeof *p);
        w = m;
        CHECK(gru_train_wire_split(&w, NULL, off, p, n, k) == GRU_ERR_NULL);
        CHECK(gru_train_wire_split(&w, full, off - 1, p, n, k) == GRU_ERR_BUFFER);
        CHECK(gru_train_wire_split(&w, full, off, p, n - 1, k) == GRU_ERR_BUFFER);
        CHECK(gru_train_wire_split(&w, full, off, p, n, 9) == GRU_ERR_ARGUMENT);
        CHECK(gru_train_wire_split(&w, full, off, p, n, k) == GRU_OK);
        gru_train_config cf = {2, 4, 0, k, 1};
        const size_t nw = gru_train_workspace_size_config(&w, &cf);
        float *ws = alloc_guarded(nw), x[4 * 4 * 3];
        for (size_t i = 0; i < sizeof x / sizeof x[0]; i++)
            x[i] = rnd() * 4.0f;
        gru_train tr;
        gru_optimizer opt;
        CHECK(gru_train_init_config(&tr, &w, &cf, ws, nw - 1) == GRU_ERR_BUFFER);
        cf.low_memory = 2;
        CHECK(gru_train_init_config(&tr, &w, &cf, ws, nw) == GRU_ERR_ARGUMENT);
        cf.low_memory = 1;
        CHECK(gru_train_init_config(&tr, &w, &cf, ws, nw) == GRU_OK);
        CHECK(gru_optimizer_init(&opt, GRU_OPT_SGD, 0.1f) == GRU_OK);
        opt.momentum = 0.9f;
        const int32_t labels[4] = {0, 2, 1, 2};
        /* Batch 4 over a trainer of 2: two micro-batches, one update. */
        gru_train_batch d = {x, 4, 4, NULL, NULL, GRU_LOSS_CROSS_ENTROPY, NULL, labels, NULL, NULL};
        float loss = 0.0f, norm = 0.0f;
        CHECK(gru_train_forward(&tr, x, 2, 4, NULL, NULL, NULL, NULL) == GRU_OK);
        CHECK(gru_train_loss(&tr, GRU_LOSS_CROSS_ENTROPY, NULL, labels, &loss) == GRU_OK);
        float dh0[2 * 11];
        CHECK(gru_train_backward(&tr, g, n, NULL, dh0) == GRU_ERR_ARGUMENT);
        CHECK(gru_train_backward_add(&tr, g, n, NAN) == GRU_ERR_ARGUMENT);
        CHECK(gru_train_step(&tr, &opt, p, g, st, &d, 1.0f, &loss, &norm) == GRU_OK && norm > 0.0f);
        CHECK(opt.step == 1 && memcmp(full + off, p, n * sizeof *p) != 0);
        opt.lr = 1e38f; /* an update that overflows: refused, nothing changes */
        opt.weight_decay = 1e38f;
        float *before = alloc_guarded(n);
        memcpy(before, p, n * sizeof *p);
        CHECK(gru_train_step(&tr, &opt, p, g, st, &d, 0.0f, &loss, &norm) == GRU_TRAIN_SKIPPED);
        CHECK(memcmp(before, p, n * sizeof *p) == 0 && opt.step == 1);
        CHECK(canary_ok(p, n) && canary_ok(g, n) && canary_ok(st, n) && canary_ok(ws, nw));
        free(p), free(g), free(st), free(ws), free(before);
    }
    CHECK(canary_ok(full, total));
    free(full);
    gru_optimizer sgd;
    float q[3] = {1, 2, 3}, dq[3] = {1, 1, 1};
    CHECK(gru_optimizer_init(&sgd, GRU_OPT_SGD, 0.5f) == GRU_OK);
    CHECK(gru_optimizer_state_size(&sgd, 3) == 0);
    CHECK(gru_optimizer_step_safe(&sgd, q, dq, NULL, 3) == GRU_OK && q[0] == 0.5f && q[2] == 2.5f);
}

int main(void)
{
    test_sizes();
    test_arguments();
    test_training_steps_stay_in_bounds();
    test_trainable_choices();
    printf("%d passed, %d failed\n", passed, failed);
    return failed != 0;
}
