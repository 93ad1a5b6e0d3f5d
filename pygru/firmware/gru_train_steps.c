/*
 * gru_train_steps.c - firmware test program for on-device training: a few
 * steps of forward, loss, backpropagation through time, gradient clipping and
 * an optimizer update, all with static buffers, from the setup in
 * "fw_train.h" (written by tests/test_targets.py). Prints, as the hex of each
 * 32-bit float pattern:
 *
 *   step S loss L norm N        one line per training step
 *   p p p p p p p p             the updated flat parameters, 8 per line
 *
 * The same program built for the host and for a target must print the same
 * bits, and so must pygru's Trainer running the same steps.
 * Returns 0, or 2 with a message if a call fails.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gru_train.h"
#include "fw_train.h"

static float params[TR_PARAM_SIZE];
static float grad[TR_PARAM_SIZE];
static float opt_state[GRU_OPTIMIZER_STATE_SIZE(TR_PARAM_SIZE)];
static float workspace[TR_WORKSPACE_SIZE];
static float y[TR_BATCH * TR_OUTPUT_SIZE];

static unsigned long bits(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return (unsigned long)u;
}

static int fail(const char *what, int status)
{
    printf("%s: %s\n", what, gru_status_string(status));
    return 2;
}

int main(void)
{
    gru_model model;
    gru_train tr;
    gru_optimizer opt;
    int status;
    memset(&model, 0, sizeof model);
    tr_describe(&model);
    if (gru_train_param_size(&model) != TR_PARAM_SIZE)
        return fail("gru_train_param_size", GRU_ERR_BUFFER);
    memcpy(params, tr_params, sizeof params);
    if ((status = gru_train_wire(&model, params, TR_PARAM_SIZE)) != GRU_OK)
        return fail("gru_train_wire", status);
    if ((status = gru_train_init(&tr, &model, TR_BATCH, TR_STEPS, 0, workspace,
                                 TR_WORKSPACE_SIZE)) != GRU_OK)
        return fail("gru_train_init", status);
    if ((status = gru_optimizer_init(&opt, TR_OPTIMIZER, TR_LR)) != GRU_OK)
        return fail("gru_optimizer_init", status);
    for (int s = 0; s < TR_TRAIN_STEPS; s++) {
        float loss = 0.0f, norm = 0.0f;
        if ((status = gru_train_forward(&tr, tr_x, TR_BATCH, TR_STEPS, NULL, NULL, y, NULL)) != GRU_OK)
            return fail("gru_train_forward", status);
        if ((status = gru_train_loss(&tr, TR_LOSS, TR_TARGET, TR_LABELS, &loss)) != GRU_OK)
            return fail("gru_train_loss", status);
        if ((status = gru_train_backward(&tr, grad, TR_PARAM_SIZE, NULL, NULL)) != GRU_OK)
            return fail("gru_train_backward", status);
        if ((status = gru_clip_grad_norm(grad, TR_PARAM_SIZE, TR_CLIP, &norm)) != GRU_OK)
            return fail("gru_clip_grad_norm", status);
        if ((status = gru_optimizer_step(&opt, params, grad, opt_state, TR_PARAM_SIZE)) != GRU_OK)
            return fail("gru_optimizer_step", status);
        printf("step %d loss %08lx norm %08lx\n", s, bits(loss), bits(norm));
    }
    for (size_t i = 0; i < TR_PARAM_SIZE; i++)
        printf((i % 8 == 7 || i + 1 == TR_PARAM_SIZE) ? "%08lx\n" : "%08lx ", bits(params[i]));
    return 0;
}
