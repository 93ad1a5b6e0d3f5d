/* train_host.c - trains a model with gru_c alone, exactly as pygru's fit does
 * with shuffle=False, so tests can compare the two bit for bit.
 *
 * Usage: train_host IN OUT. IN (little-endian, written by tests/test_training.py):
 *   int32  num_layers, input_size, hidden[num_layers], reset_after[num_layers],
 *          has_head, output_size, activation, return_sequences, loss, optimizer,
 *          N, T, batch, epochs, use_lengths
 *   float32 lr, momentum, weight_decay, clip_norm
 *   float32 params[gru_train_param_size]; X[N][T][I];
 *   targets: float32 [N][O] / [N][T][O] (MSE) or int32 [N] / [N][T] (CE);
 *   int32 lengths[N] when use_lengths.
 * OUT: the trained float32 params. Prints each batch's loss as hex. Test code:
 * allocation is fine here (the library itself never allocates).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gru_train.h"

static int32_t rd_i(FILE *f)
{
    int32_t v = 0;
    if (fread(&v, sizeof v, 1, f) != 1)
        exit(3);
    return v;
}

static float rd_f(FILE *f)
{
    float v = 0;
    if (fread(&v, sizeof v, 1, f) != 1)
        exit(3);
    return v;
}

static void *rd_n(FILE *f, size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p || fread(p, size, n, f) != n)
        exit(3);
    return p;
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return 2;
    gru_model m;
    memset(&m, 0, sizeof m);
    m.num_layers = rd_i(f);
    const int I = rd_i(f);
    int prev = I;
    for (int l = 0; l < m.num_layers; l++) {
        m.layers[l].input_size = prev;
        prev = m.layers[l].hidden_size = rd_i(f);
    }
    for (int l = 0; l < m.num_layers; l++)
        m.layers[l].reset_after = rd_i(f);
    m.has_head = rd_i(f);
    const int out_size = rd_i(f);
    m.head.activation = rd_i(f);
    if (m.has_head) {
        m.head.input_size = prev;
        m.head.output_size = out_size;
    }
    const int seq = rd_i(f), loss_kind = rd_i(f), opt_kind = rd_i(f);
    const int N = rd_i(f), T = rd_i(f), batch = rd_i(f), epochs = rd_i(f), use_lengths = rd_i(f);
    const float lr = rd_f(f), momentum = rd_f(f), weight_decay = rd_f(f), clip = rd_f(f);
    const size_t n = gru_train_param_size(&m);
    float *params = rd_n(f, n, sizeof(float));
    float *x = rd_n(f, (size_t)N * (size_t)T * (size_t)I, sizeof(float));
    const int O = m.has_head ? out_size : prev;
    const size_t per = seq ? (size_t)T : 1;
    float *target = NULL;
    int32_t *labels = NULL, *lengths = NULL;
    if (loss_kind == GRU_LOSS_MSE)
        target = rd_n(f, (size_t)N * per * (size_t)O, sizeof(float));
    else
        labels = rd_n(f, (size_t)N * per, sizeof(int32_t));
    if (use_lengths)
        lengths = rd_n(f, (size_t)N, sizeof(int32_t));
    fclose(f);

    int status = gru_train_wire(&m, params, n);
    const size_t n_ws = gru_train_workspace_size(&m, batch, T, seq);
    float *ws = calloc(n_ws, sizeof(float)), *grad = calloc(n, sizeof(float));
    float *y = calloc((size_t)batch * per * (size_t)O, sizeof(float));
    gru_train tr;
    if (status == GRU_OK)
        status = gru_train_init(&tr, &m, batch, T, seq, ws, n_ws);
    gru_optimizer opt;
    if (status == GRU_OK)
        status = gru_optimizer_init(&opt, opt_kind, lr);
    if (status != GRU_OK) {
        fprintf(stderr, "setup: %s\n", gru_status_string(status));
        return 1;
    }
    opt.momentum = opt_kind == GRU_OPT_SGD ? momentum : 0.0f;
    opt.weight_decay = weight_decay;
    float *state = calloc(gru_optimizer_state_size(&opt, n), sizeof(float));
    for (int e = 0; e < epochs; e++)
        for (int s = 0; s < N; s += batch) {
            const int nb = N - s < batch ? N - s : batch;
            float loss = 0, norm = 0;
            status = gru_train_forward(&tr, x + (size_t)s * (size_t)T * (size_t)I, nb, T,
                                       lengths ? lengths + s : NULL, NULL, y, NULL);
            if (status == GRU_OK)
                status = gru_train_loss(&tr, loss_kind,
                                        target ? target + (size_t)s * per * (size_t)O : NULL,
                                        labels ? labels + (size_t)s * per : NULL, &loss);
            if (status == GRU_OK)
                status = gru_train_backward(&tr, grad, n, NULL, NULL);
            if (status == GRU_OK)
                status = gru_clip_grad_norm(grad, n, clip, &norm);
            if (status == GRU_OK)
                status = gru_optimizer_step(&opt, params, grad, state, n);
            if (status != GRU_OK) {
                fprintf(stderr, "step: %s\n", gru_status_string(status));
                return 1;
            }
            unsigned u;
            memcpy(&u, &loss, sizeof u);
            printf("%08x\n", u);
        }
    f = fopen(argv[2], "wb");
    if (!f || fwrite(params, sizeof(float), n, f) != n)
        return 4;
    fclose(f);
    free(params), free(x), free(target), free(labels), free(lengths), free(ws), free(grad), free(y);
    free(state);
    return 0;
}
