/* main.c - firmware-style use of a model header exported by pygru.
 *
 * Everything is static and sized by the header's macros: no malloc, no VLA, no
 * libm. At boot the weights in flash are verified (CRC-32) and the model runs
 * its embedded self-test bit for bit; then every frame of features goes
 * through one streaming step. On a board, replace read_features() with the
 * sensor / feature pipeline and the printf calls with the application's
 * reporting.
 */
#include <stdio.h>

#define KWS_IMPLEMENTATION
#include "kws.h"

#define FRAMES 50

static float state[KWS_STATE_SIZE];        /* the only RAM the model needs: */
static float scratch[KWS_SCRATCH_SIZE];    /* state + scratch */
static float features[KWS_INPUT_SIZE];
static float scores[KWS_OUTPUT_SIZE];
static gru_stream stream;

/* Stand-in for a sensor: deterministic frames in [-1, 1) from a 32-bit LCG,
 * exact in float32 (tests/test_export.py regenerates them). */
static void read_features(uint32_t *seed, float *x)
{
    for (int i = 0; i < KWS_INPUT_SIZE; i++) {
        *seed = *seed * 1664525u + 1013904223u;
        x[i] = (float)((int32_t)(*seed >> 8) - 8388608) / 8388608.0f;
    }
}

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

int main(void)
{
    int status = kws_check();
    if (status != GRU_OK) {
        printf("boot: weight check failed: %s\n", gru_status_string(status));
        return 1;
    }
    status = kws_selftest(state, KWS_STATE_SIZE, scratch, KWS_SCRATCH_SIZE);
    if (status != 0) {
        printf("boot: self-test failed (%d)\n", status);
        return 1;
    }
    status = gru_stream_init(&stream, &kws_model, state, KWS_STATE_SIZE, scratch, KWS_SCRATCH_SIZE);
    if (status != GRU_OK) {
        printf("boot: %s\n", gru_status_string(status));
        return 1;
    }
    printf("boot: ok, model RAM %u bytes, weights %u bytes\n",
           (unsigned)(sizeof state + sizeof scratch), (unsigned)(KWS_WEIGHT_COUNT * sizeof(float)));

    uint32_t seed = 1u;
    for (int frame = 0; frame < FRAMES; frame++) {
        read_features(&seed, features);
        gru_stream_step(&stream, features, scores);
    }
    printf("class %d\nscores", argmax(scores, KWS_OUTPUT_SIZE));
    for (int i = 0; i < KWS_OUTPUT_SIZE; i++) {
        uint32_t bits;
        memcpy(&bits, &scores[i], sizeof bits);
        printf(" %08lx", (unsigned long)bits);
    }
    printf("\n");
    return 0;
}
