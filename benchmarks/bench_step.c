/* bench_step.c - C-only streaming latency of one float32 GRU step (batch 1).
 *
 * Usage: bench_step INPUT HIDDEN [REPEATS]
 * Prints: "<input> <hidden> <median us per step> <hex checksum of h>"
 * Weights are a fixed pseudo-random pattern; the checksum lets builds with
 * different flags be compared for bit-identical results.
 */
#define _POSIX_C_SOURCE 200112L /* clock_gettime, posix_memalign */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gru.h"

static float lcg(unsigned *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)((*s >> 8) & 0xffff) / 65536.0f - 0.5f;
}

/* n floats at a GRU_WEIGHT_ALIGN boundary, as firmware and the Python binding
 * place them (malloc gives 16 bytes: vector loads would straddle lines). */
static float *alloc_floats(size_t n)
{
    void *p = NULL;
    if (posix_memalign(&p, GRU_WEIGHT_ALIGN, n * sizeof(float)) != 0) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s INPUT HIDDEN [REPEATS]\n", argv[0]);
        return 2;
    }
    const int I = atoi(argv[1]), H = atoi(argv[2]);
    const int repeats = argc > 3 ? atoi(argv[3]) : 11;
    unsigned seed = 1;
    float *w_ih = alloc_floats(3 * (size_t)H * (size_t)I);
    float *w_hh = alloc_floats(3 * (size_t)H * (size_t)H);
    float *b = alloc_floats(6 * (size_t)H);
    for (size_t i = 0; i < 3 * (size_t)H * (size_t)I; i++) w_ih[i] = lcg(&seed) * 0.5f;
    for (size_t i = 0; i < 3 * (size_t)H * (size_t)H; i++) w_hh[i] = lcg(&seed) * 0.5f;
    for (size_t i = 0; i < 6 * (size_t)H; i++) b[i] = lcg(&seed) * 0.1f;
    float *p_ih = alloc_floats(GRU_LAYER_W_IH_SIZE(I, H));
    float *p_rz = alloc_floats(GRU_LAYER_W_HH_RZ_SIZE(H));
    float *p_n = alloc_floats(GRU_LAYER_W_HH_N_SIZE(H));
    gru_pack_matrix(w_ih, 3 * H, I, p_ih, GRU_LAYER_W_IH_SIZE(I, H));
    gru_pack_matrix(w_hh, 2 * H, H, p_rz, GRU_LAYER_W_HH_RZ_SIZE(H));
    gru_pack_matrix(w_hh + 2 * (size_t)H * (size_t)H, H, H, p_n, GRU_LAYER_W_HH_N_SIZE(H));

    gru_model model;
    memset(&model, 0, sizeof model);
    model.num_layers = 1;
    model.layers[0] = (gru_layer){I, H, 1, p_ih, p_rz, p_n, b, b + 3 * H, GRU_ACT_TANH, GRU_ACT_SIGMOID, 0, 0};
    const size_t n_state = gru_state_size(&model), n_scratch = gru_scratch_size(&model);
    float *state = alloc_floats(n_state), *scratch = alloc_floats(n_scratch);
    /* Step t reads x[i] = ((t + i) mod 7) / 4 - 3/4: 7 distinct vectors, made
     * before timing so that only the step is timed. */
    float *inputs = alloc_floats(7 * (size_t)I), *y = alloc_floats((size_t)H);
    for (int t = 0; t < 7; t++)
        for (int i = 0; i < I; i++)
            inputs[t * I + i] = (float)((t + i) % 7) * 0.25f - 0.75f;
    gru_stream stream;
    if (gru_stream_init(&stream, &model, state, n_state, scratch, n_scratch) != GRU_OK)
        return 1;

    /* Enough steps per timing to last about 2 ms. */
    const int steps = (int)(2e6 / (3.0 * H * (I + H) + 1.0)) + 10;
    double *times = malloc(sizeof(double) * (size_t)repeats);
    for (int rep = 0; rep < repeats; rep++) {
        const double t0 = now_us();
        for (int t = 0; t < steps; t++)
            gru_stream_step(&stream, inputs + (size_t)(t % 7) * (size_t)I, y);
        times[rep] = (now_us() - t0) / steps;
    }
    qsort(times, (size_t)repeats, sizeof *times, cmp);
    unsigned sum = 0;
    for (int j = 0; j < H; j++) {
        unsigned u;
        memcpy(&u, &state[j], sizeof u);
        sum = sum * 31u + u;
    }
    printf("%d %d %.4f %08x\n", I, H, times[repeats / 2], sum);
    return 0;
}
