/*
 * quant_infer.c - test program for the quantized paths: runs the models in
 * "quant_case.h" (pygru/firmware/quant_header.py) through the gru_q8_ and
 * gru_qi_ stream APIs and prints every output. Built for the host with the
 * system cc (tests/test_quant.py) and for every target by fwbuild.py; the
 * outputs must agree bit for bit. Static buffers only.
 *
 * Default output: per sequence and step, a line "q8" + the float outputs as
 * hex bit patterns, then a line "qi" + the int32 outputs in decimal; first a
 * line "kernels" + the int8 and integer kernels' names (gru_kernel_name).
 *
 *   -DQH_RUN_STEPS=N -DQH_MODE=M   run N steps of sequence 0 (inputs cycle) in
 *       mode M (0: float gru_stream, 1: gru_q8, 2: gru_qi) and print only the
 *       last output (instruction counting: benchmarks/bench_quant.py)
 * Returns 0, or 1 if a model or stream could not be initialised.
 */
#include <stdio.h>
#include <string.h>

#include "gru_quant.h"
#include "quant_case.h"

static float f_state[CASE_STATE], f_scratch[CASE_Q8_SCRATCH], y8[CASE_O];
static int16_t qi_state[CASE_STATE];
static int32_t qi_scratch[CASE_QI_SCRATCH], yi[CASE_O];
static gru_q8_model q8;
static gru_qi_model qi;

static void print_q8(void)
{
    printf("q8");
    for (int j = 0; j < CASE_O; j++) {
        uint32_t u;
        memcpy(&u, &y8[j], sizeof u);
        printf(" %08lx", (unsigned long)u);
    }
    printf("\n");
}

static void print_qi(void)
{
    printf("qi");
    for (int j = 0; j < CASE_O; j++)
        printf(" %ld", (long)yi[j]);
    printf("\n");
}

int main(void)
{
    if (case_models(&q8, &qi) != GRU_OK)
        return 1;
    gru_q8_stream s8;
    gru_qi_stream si;
    if (gru_q8_stream_init(&s8, &q8, f_state, CASE_STATE, f_scratch, CASE_Q8_SCRATCH) != GRU_OK
        || gru_qi_stream_init(&si, &qi, qi_state, CASE_STATE, qi_scratch, CASE_QI_SCRATCH) != GRU_OK)
        return 1;
#ifdef QH_RUN_STEPS
    gru_stream sf;
    if (gru_stream_init(&sf, &case_float_model, f_state, CASE_STATE, f_scratch, CASE_Q8_SCRATCH)
        != GRU_OK)
        return 1;
    for (long t = 0; t < QH_RUN_STEPS; t++) {
        const long k = (t % CASE_T) * CASE_I;
#if QH_MODE == 0
        gru_stream_step(&sf, case_x + k, y8);
#elif QH_MODE == 1
        gru_q8_stream_step(&s8, case_x + k, y8);
#else
        gru_qi_stream_step(&si, case_xq + k, yi);
#endif
    }
    print_q8();
    print_qi();
#else
    printf("kernels %s %s\n", gru_kernel_name(GRU_KERNEL_INT8), gru_kernel_name(GRU_KERNEL_INTEGER));
    for (int b = 0; b < CASE_B; b++) {
        gru_q8_stream_reset(&s8);
        gru_qi_stream_reset(&si);
        for (int t = 0; t < CASE_T; t++) {
            gru_q8_stream_step(&s8, case_x + (b * CASE_T + t) * CASE_I, y8);
            gru_qi_stream_step(&si, case_xq + (b * CASE_T + t) * CASE_I, yi);
            print_q8();
            print_qi();
        }
    }
#endif
    return 0;
}
