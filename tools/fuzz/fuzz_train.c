/* fuzz_train.c - libFuzzer harness for training sizing and one training step.
 *
 * Part 1 (arbitrary ints): gru_train_param_size / gru_train_workspace_size
 * never crash and never wrap around (a non-zero workspace size is at least the
 * saved h and gates, T*B*5*S floats); gru_train_init refuses what it cannot
 * index. Part 2 (small sizes): a model wired into an exact parameter buffer,
 * an exact workspace, forward / loss / backward / clipping / optimizer step with
 * every buffer allocated exactly (ASan flags any access outside). */
#include "gru_train.h"
#include "fuzz_common.h"

static void sizing(fz *f)
{
    gru_model m;
    memset(&m, 0, sizeof m);
    m.num_layers = 1 + fz_u8(f) % GRU_MAX_LAYERS;
    double S = 0.0;
    int prev = (int)fz_i32(f);
    for (int l = 0; l < m.num_layers; l++) {
        m.layers[l].input_size = prev;
        m.layers[l].hidden_size = prev = (int)fz_i32(f);
        m.layers[l].reset_after = fz_u8(f) & 1;
        S += (double)prev;
    }
    m.has_head = fz_u8(f) & 1;
    m.head.input_size = prev;
    m.head.output_size = (int)fz_i32(f);
    const int B = (int)fz_i32(f), T = (int)fz_i32(f), rs = fz_u8(f) & 1;
    (void)gru_train_param_size(&m);
    const size_t ws = gru_train_workspace_size(&m, B, T, rs);
    if (ws != 0)
        FZ_CHECK((double)ws >= (double)T * (double)B * 5.0 * S);
}

static void step(fz *f)
{
    gru_model m;
    memset(&m, 0, sizeof m);
    m.num_layers = 1 + fz_u8(f) % 3;
    int prev = 1 + fz_u8(f) % 12;
    size_t S = 0;
    for (int l = 0; l < m.num_layers; l++) {
        m.layers[l].input_size = prev;
        m.layers[l].hidden_size = prev = 1 + fz_u8(f) % 12;
        m.layers[l].reset_after = fz_u8(f) & 1;
        S += (size_t)prev;
    }
    m.has_head = fz_u8(f) & 1;
    m.head.input_size = prev;
    m.head.output_size = 1 + fz_u8(f) % 6;
    const int loss_kind = fz_u8(f) & 1;
    m.head.activation = loss_kind == GRU_LOSS_CROSS_ENTROPY ? ((fz_u8(f) & 1) ? GRU_ACT_SOFTMAX : GRU_ACT_NONE)
                                                            : (int)(fz_u8(f) % 3);
    pool pl = {{0}, 0};
    const size_t np = gru_train_param_size(&m);
    FZ_CHECK(np > 0);
    float *params = keep(&pl, fz_floats(f, np, 0));
    FZ_CHECK(gru_train_wire(&m, params, np - 1) == GRU_ERR_BUFFER);
    FZ_CHECK(gru_train_wire(&m, params, np) == GRU_OK);
    /* Padding rows of the packed matrices must be zero for the contract; write
     * them through pack(unpack()). */
    const int B = 1 + fz_u8(f) % 4, T = 1 + fz_u8(f) % 5;
    const uint8_t opts = fz_u8(f);
    const int rs = opts & 1, with_len = (opts >> 1) & 1, with_h0 = (opts >> 2) & 1;
    const int I = gru_model_input_size(&m), O = gru_model_output_size(&m);
    const size_t nws = gru_train_workspace_size(&m, B, T, rs);
    float *ws = keep(&pl, fz_alloc(nws * sizeof(float)));
    gru_train tr;
    FZ_CHECK(gru_train_init(&tr, &m, B, T, rs, ws, nws - 1) == GRU_ERR_BUFFER);
    FZ_CHECK(gru_train_init(&tr, &m, B, T, rs, ws, nws) == GRU_OK);
    const int b = 1 + fz_u8(f) % B, t = 1 + fz_u8(f) % T; /* a smaller batch than the maximum */
    float *x = keep(&pl, fz_floats(f, (size_t)b * (size_t)t * (size_t)I, 0));
    int32_t *len = NULL;
    if (with_len) {
        len = keep(&pl, fz_alloc((size_t)b * sizeof(int32_t)));
        for (int i = 0; i < b; i++)
            len[i] = 1 + fz_u8(f) % t;
    }
    float *h0 = with_h0 ? keep(&pl, fz_floats(f, (size_t)b * S, 0)) : NULL;
    const size_t ny = (size_t)b * (rs ? (size_t)t : 1) * (size_t)O;
    float *y = keep(&pl, fz_alloc(ny * sizeof(float)));
    float *hl = keep(&pl, fz_alloc((size_t)b * S * sizeof(float)));
    FZ_CHECK(gru_train_forward(&tr, x, b, t, len, h0, y, hl) == GRU_OK);
    float loss = 0.0f;
    int status;
    if (loss_kind == GRU_LOSS_MSE) {
        float *target = keep(&pl, fz_floats(f, ny, 0));
        status = gru_train_loss(&tr, GRU_LOSS_MSE, target, NULL, &loss);
        FZ_CHECK(status == GRU_OK);
    } else {
        const size_t nl = (size_t)b * (rs ? (size_t)t : 1);
        int32_t *labels = keep(&pl, fz_alloc(nl * sizeof(int32_t)));
        const int bad = fz_u8(f) & 1;
        for (size_t i = 0; i < nl; i++)
            labels[i] = bad ? (int32_t)(int8_t)fz_u8(f) : (int32_t)(fz_u8(f) % O);
        status = gru_train_loss(&tr, GRU_LOSS_CROSS_ENTROPY, NULL, labels, &loss);
        FZ_CHECK(status == GRU_OK || (bad && status == GRU_ERR_ARGUMENT));
    }
    if (status == GRU_OK) {
        float *grad = keep(&pl, fz_alloc(np * sizeof(float)));
        float *dx = keep(&pl, fz_alloc((size_t)b * (size_t)t * (size_t)I * sizeof(float)));
        float *dh0 = keep(&pl, fz_alloc((size_t)b * S * sizeof(float)));
        FZ_CHECK(gru_train_backward(&tr, grad, np - 1, dx, dh0) == GRU_ERR_BUFFER);
        FZ_CHECK(gru_train_backward(&tr, grad, np, dx, dh0) == GRU_OK);
        float norm;
        FZ_CHECK(gru_clip_grad_norm(grad, np, (float)fz_u8(f) / 16.0f, &norm) == GRU_OK);
        gru_optimizer opt;
        FZ_CHECK(gru_optimizer_init(&opt, fz_u8(f) % 3, 1e-3f) == GRU_OK);
        const size_t nst = gru_optimizer_state_size(&opt, np);
        FZ_CHECK(nst <= GRU_OPTIMIZER_STATE_SIZE(np));
        float *st = keep(&pl, fz_alloc(nst * sizeof(float)));
        memset(st, 0, nst * sizeof(float));
        FZ_CHECK(gru_optimizer_step(&opt, params, grad, st, np) == GRU_OK);
    }
    drop(&pl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz f = {data, size};
    if (fz_u8(&f) & 1)
        sizing(&f);
    else
        step(&f);
    return 0;
}
