/* examples/train_c/main.c - train a small GRU in C alone, with static arrays
 * only (no malloc, no Python): the task is to tell whether a noisy sequence
 * carries a slow or a fast oscillation. Builds with `make` beside gru_c/ and
 * prints the loss falling, epoch by epoch.
 *
 * Everything the training needs is sized at compile time with the macros of
 * gru.h / gru_train.h, as firmware would do it.
 */
#include <stdio.h>

#include "gru_train.h"

#define N_SEQ 64     /* training sequences */
#define T_STEPS 16   /* steps per sequence */
#define IN 1         /* input size */
#define HID 12       /* hidden size */
#define OUT 2        /* classes */
#define BATCH 16
#define EPOCHS 30

#define N_PARAMS (GRU_LAYER_PARAM_SIZE(IN, HID) + GRU_HEAD_PARAM_SIZE(HID, OUT))
#define N_WS GRU_TRAIN_WORKSPACE_SIZE(BATCH, T_STEPS, HID, HID, IN, OUT, 0)

static float params[N_PARAMS], grad[N_PARAMS], opt_state[GRU_OPTIMIZER_STATE_SIZE(N_PARAMS)];
static float workspace[N_WS];
static float x[N_SEQ][T_STEPS][IN];
static int32_t labels[N_SEQ];
static float rows[3 * HID * HID + 3 * HID * IN];

static unsigned rng_state = 2026u;
static float uniform(void) /* [-0.5, 0.5) */
{
    rng_state = rng_state * 1664525u + 1013904223u;
    return (float)((rng_state >> 8) & 0xffffu) / 65536.0f - 0.5f;
}

/* sin without libm: a short Taylor series after reducing to [-pi, pi]. */
static float sine(float a)
{
    const float pi = 3.14159265f;
    while (a > pi)
        a -= 2.0f * pi;
    while (a < -pi)
        a += 2.0f * pi;
    const float a2 = a * a;
    return a * (1.0f - a2 / 6.0f * (1.0f - a2 / 20.0f * (1.0f - a2 / 42.0f * (1.0f - a2 / 72.0f))));
}

/* Packed, PyTorch-style initialisation U(-1/sqrt(H), 1/sqrt(H)); 1/sqrt(12) ~ 0.2887. */
static void init_matrix(float *dst, int r, int c, float bound)
{
    for (int i = 0; i < r * c; i++)
        rows[i] = 2.0f * bound * uniform();
    gru_pack_matrix(rows, r, c, dst, GRU_PACKED_SIZE(r, c));
}

int main(void)
{
    gru_model model = {0};
    model.num_layers = 1;
    model.layers[0].input_size = IN;
    model.layers[0].hidden_size = HID;
    model.layers[0].reset_after = 1;
    model.has_head = 1;
    model.head.input_size = HID;
    model.head.output_size = OUT;
    model.head.activation = GRU_ACT_NONE; /* logits; the loss applies softmax */

    /* Parameters in gru_train.h's layout: w_ih, w_hh_rz, w_hh_n, b_ih, b_hh, head. */
    const float bound = 0.2887f;
    float *p = params;
    init_matrix(p, 3 * HID, IN, bound);
    p += GRU_LAYER_W_IH_SIZE(IN, HID);
    init_matrix(p, 2 * HID, HID, bound);
    p += GRU_LAYER_W_HH_RZ_SIZE(HID);
    init_matrix(p, HID, HID, bound);
    p += GRU_LAYER_W_HH_N_SIZE(HID);
    for (int i = 0; i < 6 * HID; i++)
        *p++ = 2.0f * bound * uniform();
    init_matrix(p, OUT, HID, bound);
    p += GRU_PACKED_SIZE(OUT, HID);
    for (int i = 0; i < OUT; i++)
        *p++ = 2.0f * bound * uniform();

    for (int n = 0; n < N_SEQ; n++) {
        labels[n] = n % 2;
        const float freq = labels[n] ? 1.1f : 0.35f, phase = 6.2831853f * (uniform() + 0.5f);
        for (int t = 0; t < T_STEPS; t++)
            x[n][t][0] = sine(freq * (float)t + phase) + 0.2f * uniform();
    }

    gru_train tr;
    gru_optimizer opt;
    int status = gru_train_wire(&model, params, N_PARAMS);
    if (status == GRU_OK)
        status = gru_train_init(&tr, &model, BATCH, T_STEPS, 0, workspace, N_WS);
    if (status == GRU_OK)
        status = gru_optimizer_init(&opt, GRU_OPT_ADAM, 0.02f);
    if (status != GRU_OK) {
        printf("setup failed: %s\n", gru_status_string(status));
        return 1;
    }
    static float y[BATCH][OUT];
    for (int epoch = 1; epoch <= EPOCHS; epoch++) {
        float total = 0.0f;
        int correct = 0;
        for (int s = 0; s < N_SEQ; s += BATCH) {
            float loss = 0.0f;
            status = gru_train_forward(&tr, &x[s][0][0], BATCH, T_STEPS, NULL, NULL, &y[0][0], NULL);
            if (status == GRU_OK)
                status = gru_train_loss(&tr, GRU_LOSS_CROSS_ENTROPY, NULL, &labels[s], &loss);
            if (status == GRU_OK)
                status = gru_train_backward(&tr, grad, N_PARAMS, NULL, NULL);
            if (status == GRU_OK)
                status = gru_clip_grad_norm(grad, N_PARAMS, 5.0f, NULL);
            if (status == GRU_OK)
                status = gru_optimizer_step(&opt, params, grad, opt_state, N_PARAMS);
            if (status != GRU_OK) {
                printf("training failed: %s\n", gru_status_string(status));
                return 1;
            }
            total += loss;
            for (int b = 0; b < BATCH; b++)
                correct += (y[b][1] > y[b][0]) == (labels[s + b] == 1);
        }
        if (epoch == 1 || epoch % 5 == 0)
            printf("epoch %2d  loss %.4f  train accuracy %.2f\n", epoch,
                   (double)(total / (N_SEQ / BATCH)), (double)correct / N_SEQ);
    }
    /* The trained parameters serve inference in place: gru_stream_step etc. use `model`. */
    return 0;
}
