/*
 * cmsis_lstm_step.c - one streaming step of CMSIS-NN's integer LSTM, for
 * benchmarks/bench_gru_vs_lstm.py (instructions per step under QEMU). Not part
 * of pygru; built only beside CMSIS-NN from ../shared/peers/cmsis-nn/, never
 * linked into pygru.
 *
 * Each step is one call of arm_lstm_unidirectional_s8 (PEER_BITS 8: int8
 * input and hidden state, int16 cell state and gates, int32 effective biases)
 * or arm_lstm_unidirectional_s16 (PEER_BITS 16: int16 input and hidden
 * state, int64 effective biases) with time_steps = 1 and a persistent
 * hidden state, as a streaming caller (TFLite Micro's LSTM with a state
 * tensor) runs it. Quantization parameters are plausible constants: the
 * kernels' instruction counts do not depend on the values.
 *
 *   -DPEER_I=.. -DPEER_H=.. -DPEER_STEPS=N -DPEER_BITS=8|16
 * Prints a checksum of the last hidden state; returns 0, or 1 on an error
 * status. The buffers are what the LSTM needs beside its weights (RAM):
 * hidden state, cell state, two gate buffers, the output.
 */
#include <stdint.h>
#include <stdio.h>

#include "arm_nnfunctions.h"
#include "../bench_common.h"

#define PEER_T 8 /* distinct inputs, cycled */

#if PEER_BITS == 8
typedef int32_t bias_t;
#define LSTM arm_lstm_unidirectional_s8
#else
typedef int64_t bias_t;
#define LSTM arm_lstm_unidirectional_s16
#endif

static int8_t w_in[4][PEER_H * PEER_I], w_hid[4][PEER_H * PEER_H];
static bias_t b_in[4][PEER_H], b_hid[4][PEER_H];
static act_t x[PEER_T][PEER_I], hidden[PEER_H], out[PEER_H];
static int16_t cell[PEER_H], temp1[PEER_H], temp2[PEER_H];

static cmsis_nn_lstm_gate gate(int g, arm_nn_activation_type act)
{
    cmsis_nn_lstm_gate q;
    q.input_multiplier = 1 << 30;
    q.input_shift = -9;
    q.input_weights = w_in[g];
    q.input_effective_bias = b_in[g];
    q.hidden_multiplier = 1 << 30;
    q.hidden_shift = -9;
    q.hidden_weights = w_hid[g];
    q.hidden_effective_bias = b_hid[g];
    q.bias = NULL;
    q.activation_type = act;
    return q;
}

int main(void)
{
    for (int g = 0; g < 4; g++) {
        for (int i = 0; i < PEER_H * PEER_I; i++)
            w_in[g][i] = (int8_t)(next_rand() % 255 - 127);
        for (int i = 0; i < PEER_H * PEER_H; i++)
            w_hid[g][i] = (int8_t)(next_rand() % 255 - 127);
        for (int j = 0; j < PEER_H; j++) {
            b_in[g][j] = next_rand() % 1000;
            b_hid[g][j] = next_rand() % 1000;
        }
    }
    for (int t = 0; t < PEER_T; t++)
        for (int k = 0; k < PEER_I; k++)
            x[t][k] = (act_t)(next_rand() % (ACT_MAX / 2));
    cmsis_nn_lstm_params p;
    p.time_major = 1;
    p.batch_size = 1;
    p.time_steps = 1;
    p.input_size = PEER_I;
    p.hidden_size = PEER_H;
    p.input_offset = 0;
    p.forget_to_cell_multiplier = 1 << 30;
    p.forget_to_cell_shift = -15;
    p.input_to_cell_multiplier = 1 << 30;
    p.input_to_cell_shift = -15;
    p.cell_clip = 32767;
    p.cell_scale_power = -11;
    p.output_multiplier = 1 << 30;
    p.output_shift = -15;
    p.output_offset = 0;
    p.forget_gate = gate(0, ARM_SIGMOID);
    p.input_gate = gate(1, ARM_SIGMOID);
    p.cell_gate = gate(2, ARM_TANH);
    p.output_gate = gate(3, ARM_SIGMOID);
    cmsis_nn_lstm_context ctx;
    ctx.temp1 = temp1;
    ctx.temp2 = temp2;
    ctx.cell_state = cell;
    ctx.hidden_state = hidden;
    for (long s = 0; s < PEER_STEPS; s++)
        if (LSTM(x[s % PEER_T], out, &p, &ctx) != ARM_CMSIS_NN_SUCCESS)
            return 1;
    long sum = 0;
    for (int j = 0; j < PEER_H; j++)
        sum += hidden[j] + cell[j];
    printf("checksum %ld\n", sum);
    return 0;
}
