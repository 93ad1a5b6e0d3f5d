/* quant_host.c - runs a quantized model through the gru_q8_ and gru_qi_ stream
 * APIs and prints every output, for tests/test_quant.py (host and targets).
 *
 * "quant_case.h" (written by the test) defines CASE_* sizes, the row-major
 * int8 weights, scales, multipliers and biases, the inputs, and
 * case_models(gru_q8_model *, gru_qi_model *, packed buffers). Static buffers
 * only, so the same program runs on a microcontroller.
 * Output: one line per step, "q8" + the float outputs as hex bit patterns,
 * then "qi" + the int32 outputs in decimal. Exit status 0, or 1 on a C error.
 */
#include <stdio.h>
#include <string.h>

#include "gru_quant.h"
#include "quant_case.h"

static float q8_state[CASE_STATE], q8_scratch[CASE_Q8_SCRATCH];
static int16_t qi_state[CASE_STATE];
static int32_t qi_scratch[CASE_QI_SCRATCH];
static gru_q8_model q8;
static gru_qi_model qi;

int main(void)
{
    if (case_models(&q8, &qi) != GRU_OK)
        return 1;
    gru_q8_stream s8;
    gru_qi_stream si;
    if (gru_q8_stream_init(&s8, &q8, q8_state, CASE_STATE, q8_scratch, CASE_Q8_SCRATCH) != GRU_OK
        || gru_qi_stream_init(&si, &qi, qi_state, CASE_STATE, qi_scratch, CASE_QI_SCRATCH) != GRU_OK)
        return 1;
    for (int b = 0; b < CASE_B; b++) {
        gru_q8_stream_reset(&s8);
        gru_qi_stream_reset(&si);
        for (int t = 0; t < CASE_T; t++) {
            float y8[CASE_O];
            int32_t yi[CASE_O];
            gru_q8_stream_step(&s8, case_x + (b * CASE_T + t) * CASE_I, y8);
            gru_qi_stream_step(&si, case_xq + (b * CASE_T + t) * CASE_I, yi);
            printf("q8");
            for (int j = 0; j < CASE_O; j++) {
                uint32_t u;
                memcpy(&u, &y8[j], sizeof u);
                printf(" %08lx", (unsigned long)u);
            }
            printf("\nqi");
            for (int j = 0; j < CASE_O; j++)
                printf(" %ld", (long)yi[j]);
            printf("\n");
        }
    }
    return 0;
}
