/*
 * gru_infer.c - firmware test program for a model exported by pygru.export_c
 * as "fw_model.h" (name "fw"): verify the weights' checksum, run the header's
 * bit-exact self-test, then run the model over the self-test input with the
 * streaming API (gru_sequence for a model that cannot stream, FW_STREAMS 0)
 * and print every output value as the hex of its 32-bit pattern
 * (exact, and needs no float printf), one line per step.
 *
 * Output: "check C selftest S" (0 and 0 when all is well), then
 * FW_TEST_STEPS lines of FW_OUTPUT_SIZE hex words. Built for the host with the
 * system cc and for every target by pygru/firmware/fwbuild.py; the outputs
 * must agree bit for bit.
 *
 *   -DFW_RUN_STEPS=N   skip the checks, run N steps (inputs cycle), print only
 *                      the last output line (instruction counting:
 *                      tools/footprint.py)
 * Returns 0, or 2 if the stream could not be initialised.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FW_IMPLEMENTATION
#include "fw_model.h"

static float state[FW_STATE_SIZE];
static float scratch[FW_SCRATCH_SIZE];
static float y[FW_OUTPUT_SIZE];

static void print_floats(const float *v, int n)
{
    for (int j = 0; j < n; j++) {
        uint32_t u;
        memcpy(&u, &v[j], sizeof u);
        printf(j ? " %08lx" : "%08lx", (unsigned long)u);
    }
    printf("\n");
}

int main(void)
{
#ifndef FW_RUN_STEPS
    printf("check %d selftest %d\n", fw_check(),
           fw_selftest(state, FW_STATE_SIZE, scratch, FW_SCRATCH_SIZE));
#endif
#if !FW_STREAMS
    /* A reverse GRU layer: the whole test input through gru_sequence (its
     * outputs after the scratch it needs). */
    const size_t need = gru_sequence_scratch_size_for(&fw_model, FW_TEST_STEPS);
    const int status = gru_sequence(&fw_model, fw_test_input, 1, FW_TEST_STEPS, 1, NULL, state,
                                    FW_STATE_SIZE, scratch, need, scratch + need);
    if (status != GRU_OK) {
        printf("gru_sequence: %s\n", gru_status_string(status));
        return 2;
    }
    for (int t = 0; t < FW_TEST_STEPS; t++)
        print_floats(scratch + need + t * FW_OUTPUT_SIZE, FW_OUTPUT_SIZE);
    (void)y;
    return 0;
#else
    gru_stream stream;
    const int status = gru_stream_init(&stream, &fw_model, state, FW_STATE_SIZE, scratch,
                                       FW_SCRATCH_SIZE);
    if (status != GRU_OK) {
        printf("gru_stream_init: %s\n", gru_status_string(status));
        return 2;
    }
#ifdef FW_RUN_STEPS
    for (long t = 0; t < FW_RUN_STEPS; t++)
        gru_stream_step(&stream, fw_test_input + (t % FW_TEST_STEPS) * FW_INPUT_SIZE, y);
    print_floats(y, FW_OUTPUT_SIZE);
#else
    for (int t = 0; t < FW_TEST_STEPS; t++) {
        gru_stream_step(&stream, fw_test_input + t * FW_INPUT_SIZE, y);
        print_floats(y, FW_OUTPUT_SIZE);
    }
#endif
    return 0;
#endif
}
