/* bench_quant.c - C-only streaming latency of one GRU step (batch 1): float32
 * (gru_stream), int8 weights + float math (gru_q8_stream) and integer-only
 * (gru_qi_stream), for the model in "quant_case.h" (written by
 * benchmarks/bench_quant.py, which builds and runs this program).
 *
 * Prints one line per mode: "<mode> <median us per step>".
 */
#define _POSIX_C_SOURCE 199309L
#define BENCH_TIMING
#include "gru_quant.h"
#include "quant_case.h"
#include "bench_common.h"

static float f_state[CASE_STATE], f_scratch[CASE_Q8_SCRATCH], yf[CASE_O];
static int16_t qi_state[CASE_STATE];
static int32_t qi_scratch[CASE_QI_SCRATCH], yi[CASE_O];
static gru_q8_model q8;
static gru_qi_model qi;

int main(int argc, char **argv)
{
    const long steps = bench_steps(argc, argv);
    gru_stream sf;
    gru_q8_stream s8;
    gru_qi_stream si;
    if (case_models(&q8, &qi) != GRU_OK
        || gru_stream_init(&sf, &case_float_model, f_state, CASE_STATE, f_scratch, CASE_Q8_SCRATCH)
        || gru_q8_stream_init(&s8, &q8, f_state, CASE_STATE, f_scratch, CASE_Q8_SCRATCH)
        || gru_qi_stream_init(&si, &qi, qi_state, CASE_STATE, qi_scratch, CASE_QI_SCRATCH))
        return 1;
    static const char *names[3] = {"float", "int8", "integer"};
    double t[3][BENCH_REPEATS], sink = 0.0;
    /* Modes take turns within each repeat, so that a noisy, shared machine
     * disturbs all three alike. */
    for (int r = 0; r < BENCH_REPEATS; r++)
        for (int mode = 0; mode < 3; mode++) {
            gru_stream_reset(&sf);
            gru_q8_stream_reset(&s8);
            gru_qi_stream_reset(&si);
            const double t0 = now_us();
            for (long s = 0; s < steps; s++) {
                const long k = (s % CASE_T) * CASE_I;
                if (mode == 0)
                    gru_stream_step(&sf, case_x + k, yf);
                else if (mode == 1)
                    gru_q8_stream_step(&s8, case_x + k, yf);
                else
                    gru_qi_stream_step(&si, case_xq + k, yi);
            }
            t[mode][r] = (now_us() - t0) / (double)steps;
            sink += (double)yf[0] + (double)yi[0];
        }
    bench_print_medians(3, names, t);
    return sink == 12345.0; /* keeps the outputs live */
}
