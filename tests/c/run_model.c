/* run_model.c - plain C host program: read a model and inputs, run gru_sequence,
 * write the outputs. Lets the tests check that the Python binding and a C build
 * of the same sources (any flags, any compiler) agree bit for bit.
 *
 * stdin (little-endian, native): int32 header
 *     num_layers, input_size, hidden[num_layers], reset_after[num_layers],
 *     has_head, output_size, activation, batch, steps, return_sequences
 *   then float32 arrays, PyTorch layouts: per layer weight_ih [3H][I],
 *   weight_hh [3H][H], bias_ih [3H], bias_hh [3H]; head weight [O][H], bias [O];
 *   x [batch][steps][input_size].
 * stdout: the float32 outputs of gru_sequence, raw.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gru.h"

static int read_ints(int *v, size_t n) { return fread(v, sizeof *v, n, stdin) == n ? 0 : -1; }

static float *read_floats(size_t n)
{
    float *p = malloc(n * sizeof *p);
    if (!p || fread(p, sizeof *p, n, stdin) != n) {
        fprintf(stderr, "short read of %zu floats\n", n);
        exit(3);
    }
    return p;
}

static const float *packed(const float *w, int rows, int cols)
{
    const size_t n = GRU_PACKED_SIZE(rows, cols);
    float *p = malloc(n * sizeof *p);
    if (!p || gru_pack_matrix(w, rows, cols, p, n) != GRU_OK)
        exit(4);
    return p;
}

int main(void)
{
    int num_layers, input_size, hidden[GRU_MAX_LAYERS], reset_after[GRU_MAX_LAYERS], tail[6];
    if (read_ints(&num_layers, 1) || num_layers < 1 || num_layers > GRU_MAX_LAYERS ||
        read_ints(&input_size, 1) || read_ints(hidden, (size_t)num_layers) ||
        read_ints(reset_after, (size_t)num_layers) || read_ints(tail, 6)) {
        fprintf(stderr, "bad header\n");
        return 2;
    }
    const int has_head = tail[0], output_size = tail[1], activation = tail[2];
    const int batch = tail[3], steps = tail[4], return_sequences = tail[5];

    gru_model model;
    memset(&model, 0, sizeof model);
    model.num_layers = num_layers;
    int in = input_size;
    for (int l = 0; l < num_layers; l++) {
        const int H = hidden[l];
        const float *w_ih = read_floats((size_t)(3 * H) * (size_t)in);
        const float *w_hh = read_floats((size_t)(3 * H) * (size_t)H);
        const float *b_ih = read_floats((size_t)(3 * H));
        const float *b_hh = read_floats((size_t)(3 * H));
        gru_layer *layer = &model.layers[l];
        layer->input_size = in;
        layer->hidden_size = H;
        layer->reset_after = reset_after[l];
        layer->w_ih = packed(w_ih, 3 * H, in);
        layer->w_hh_rz = packed(w_hh, 2 * H, H);
        layer->w_hh_n = packed(w_hh + (size_t)(2 * H) * (size_t)H, H, H);
        layer->b_ih = b_ih;
        layer->b_hh = b_hh;
        in = H;
    }
    if (has_head) {
        model.has_head = 1;
        model.head.input_size = in;
        model.head.output_size = output_size;
        model.head.activation = activation;
        model.head.weight = packed(read_floats((size_t)output_size * (size_t)in), output_size, in);
        model.head.bias = read_floats((size_t)output_size);
    }
    const float *x = read_floats((size_t)batch * (size_t)steps * (size_t)input_size);
    const size_t n_state = gru_sequence_state_size(&model), n_scratch = gru_sequence_scratch_size(&model);
    const size_t n_out = (size_t)batch * (size_t)(return_sequences ? steps : 1) *
                         (size_t)gru_model_output_size(&model);
    float *state = malloc(n_state * sizeof *state), *scratch = malloc(n_scratch * sizeof *scratch);
    float *y = malloc(n_out * sizeof *y);
    const int status = gru_sequence(&model, x, batch, steps, return_sequences, NULL, state, n_state,
                                    scratch, n_scratch, y);
    if (status != GRU_OK) {
        fprintf(stderr, "gru_sequence: %s\n", gru_status_string(status));
        return 1;
    }
    fwrite(y, sizeof *y, n_out, stdout);
    return 0;
}
