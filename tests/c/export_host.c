/* export_host.c - host program for tests/test_export.py: runs an exported
 * header's model and prints everything as hex bit patterns.
 *
 * The test writes "model_shim.h", which defines M_IMPLEMENTATION-style glue:
 * it includes the exported header with NAME_IMPLEMENTATION defined and maps
 * M_INPUT_SIZE, M_OUTPUT_SIZE, M_STATE_SIZE, M_SCRATCH_SIZE, M_CHECKSUM,
 * M_model, M_check and M_selftest onto the header's NAME-prefixed names.
 *
 * Usage: export_host BATCH STEPS < x.f32
 *   x.f32 holds BATCH*STEPS*M_INPUT_SIZE native floats (models that cannot
 *   stream, M_STREAMS 0, run each sequence through gru_sequence). Prints
 *     check S / selftest S / checksum HEX / sizes ...
 *     weights: one line per packed array (hex of each float)
 *     y: one line per output step (hex of each float), every sequence from h = 0
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_shim.h"

static float state[M_STATE_SIZE];
static float scratch[M_SCRATCH_SIZE];
#if M_STREAMS
static float x[M_INPUT_SIZE];
static float y[M_OUTPUT_SIZE];
#endif

static void print_floats(const char *tag, const float *v, size_t n)
{
    printf("%s", tag);
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        printf(" %08lx", (unsigned long)u);
    }
    printf("\n");
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    const long batch = strtol(argv[1], NULL, 10), steps = strtol(argv[2], NULL, 10);
    uint32_t crc = 0;
    printf("check %d\n", M_check());
    printf("selftest %d\n", M_selftest(state, M_STATE_SIZE, scratch, M_SCRATCH_SIZE));
    printf("selftest_small_scratch %d\n", M_selftest(state, M_STATE_SIZE, scratch, M_SCRATCH_SIZE - 1));
    printf("checksum_status %d\n", gru_model_checksum(&M_model, &crc));
    printf("checksum %08lx %08lx\n", (unsigned long)crc, (unsigned long)M_CHECKSUM);
    printf("sizes %zu %zu %zu %zu %d %d\n", gru_state_size(&M_model), (size_t)M_STATE_SIZE,
           gru_scratch_size(&M_model), (size_t)M_SCRATCH_SIZE, gru_model_input_size(&M_model),
           gru_model_output_size(&M_model));

    for (int l = 0; l < M_model.num_pre; l++) {
        print_floats("weights", M_model.pre[l].weight,
                     GRU_PACKED_SIZE(M_model.pre[l].output_size, M_model.pre[l].input_size));
        print_floats("weights", M_model.pre[l].bias, (size_t)M_model.pre[l].output_size);
    }
    for (int l = 0; l < M_model.num_layers; l++) {
        const gru_layer *L = &M_model.layers[l];
        print_floats("weights", L->w_ih, GRU_LAYER_W_IH_SIZE(L->input_size, L->hidden_size));
        print_floats("weights", L->w_hh_rz, GRU_LAYER_W_HH_RZ_SIZE(L->hidden_size));
        print_floats("weights", L->w_hh_n, GRU_LAYER_W_HH_N_SIZE(L->hidden_size));
        print_floats("weights", L->b_ih, 3 * (size_t)L->hidden_size);
        print_floats("weights", L->b_hh, 3 * (size_t)L->hidden_size);
    }
    if (M_model.has_head) {
        print_floats("weights", M_model.head.weight,
                     GRU_PACKED_SIZE(M_model.head.output_size, M_model.head.input_size));
        print_floats("weights", M_model.head.bias, (size_t)M_model.head.output_size);
    }
    for (int l = 0; l < M_model.num_post; l++) {
        print_floats("weights", M_model.post[l].weight,
                     GRU_PACKED_SIZE(M_model.post[l].output_size, M_model.post[l].input_size));
        print_floats("weights", M_model.post[l].bias, (size_t)M_model.post[l].output_size);
    }

#if !M_STREAMS
    /* A model with a reverse layer: one gru_sequence call per sequence. */
    const size_t need = gru_sequence_scratch_size_for(&M_model, (int)steps);
    float *xs = malloc((size_t)steps * M_INPUT_SIZE * sizeof *xs), *work = malloc(need * sizeof *work);
    float *ys = malloc((size_t)steps * M_OUTPUT_SIZE * sizeof *ys);
    if (!xs || !work || !ys)
        return 4;
    for (long b = 0; b < batch; b++) {
        if (fread(xs, sizeof xs[0], (size_t)steps * M_INPUT_SIZE, stdin) != (size_t)steps * M_INPUT_SIZE)
            return 3;
        const int status = gru_sequence(&M_model, xs, 1, (int)steps, 1, NULL, state, M_STATE_SIZE, work, need, ys);
        if (status != GRU_OK) {
            printf("sequence %d\n", status);
            return 1;
        }
        for (long t = 0; t < steps; t++)
            print_floats("y", ys + t * M_OUTPUT_SIZE, M_OUTPUT_SIZE);
    }
    free(xs);
    free(work);
    free(ys);
    return 0;
#else
    gru_stream s;
    const int status = gru_stream_init(&s, &M_model, state, M_STATE_SIZE, scratch, M_SCRATCH_SIZE);
    if (status != GRU_OK) {
        printf("init %d\n", status);
        return 1;
    }
    for (long b = 0; b < batch; b++) {
        gru_stream_reset(&s);
        for (long t = 0; t < steps; t++) {
            if (fread(x, sizeof x[0], M_INPUT_SIZE, stdin) != M_INPUT_SIZE)
                return 3;
            gru_stream_step(&s, x, y);
            print_floats("y", y, M_OUTPUT_SIZE);
        }
    }
    return 0;
#endif
}
