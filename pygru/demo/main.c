/*
 * main.c - the firmware-style program of `pygru demo`.
 *
 * Everything is static: the model comes from the exported header kws.h (const
 * weights, flash on a microcontroller), the test sequences and the outputs
 * Python computed for them from demo_data.h, and the runtime's state and scratch
 * are static arrays sized by the header's macros. No malloc, no file I/O.
 *
 * For each test sequence it resets the stream, feeds the frames one by one
 * (gru_stream_step, as firmware would feed live MFCC frames), takes the argmax
 * of the last output as the predicted class and compares every output value bit
 * for bit with Python's. It prints:
 *
 *   selftest 0                   kws_selftest(): 0 = the header's own test passed
 *   pred 0: 3 7 1 ...            predicted classes, 25 per line, from index 0
 *   mismatches 0                 output values that differ from Python's (bits)
 *   done 500                     sequences run
 *
 * and returns 0 only if the checksum, the self-test and every value matched.
 */
#include <stdio.h>
#include <string.h>

#define KWS_IMPLEMENTATION
#include "kws.h"
#include "demo_data.h"

#define PER_LINE 25

static float state[KWS_STATE_SIZE];
static float scratch[KWS_SCRATCH_SIZE];

static int argmax(const float *y, int n)
{
    int best = 0;
    for (int i = 1; i < n; ++i) {
        if (y[i] > y[best]) {
            best = i;
        }
    }
    return best;
}

int main(void)
{
    gru_stream stream;
    float y[KWS_OUTPUT_SIZE];
    long mismatches = 0;
    int status = kws_check();
    if (status != GRU_OK) {
        printf("check %d (%s)\n", status, gru_status_string(status));
        return 1;
    }
    status = kws_selftest(state, KWS_STATE_SIZE, scratch, KWS_SCRATCH_SIZE);
    printf("selftest %d\n", status);
    if (status != 0) {
        return 1;
    }
    status = gru_stream_init(&stream, &kws_model, state, KWS_STATE_SIZE, scratch, KWS_SCRATCH_SIZE);
    if (status != GRU_OK) {
        printf("init %d (%s)\n", status, gru_status_string(status));
        return 1;
    }
    for (int n = 0; n < DEMO_COUNT; ++n) {
        gru_stream_reset(&stream);
        for (int t = 0; t < DEMO_STEPS; ++t) {
            gru_stream_step(&stream, demo_x[n][t], y);
        }
        for (int k = 0; k < KWS_OUTPUT_SIZE; ++k) {
            if (memcmp(&y[k], &demo_expected[n][k], sizeof(float)) != 0) {
                ++mismatches;
            }
        }
        if (n % PER_LINE == 0) {
            printf("pred %d:", n);
        }
        printf(" %d", argmax(y, KWS_OUTPUT_SIZE));
        if (n % PER_LINE == PER_LINE - 1 || n == DEMO_COUNT - 1) {
            printf("\n");
        }
    }
    printf("mismatches %ld\n", mismatches);
    printf("done %d\n", DEMO_COUNT);
    return mismatches == 0 ? 0 : 2;
}
