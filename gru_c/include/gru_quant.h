/*
 * gru_quant.h - quantized GRU inference for pygru's C runtime.
 *
 * Two modes, each with its own descriptor so that the element types are
 * checked by the compiler. Both follow gru.h's contract: plain structs of const
 * pointers (weights may live in flash), caller-owned state and scratch, a size
 * query (function and macro) for each buffer, the configuration checked once
 * (init / check / sequence), then trusted by the step. Status codes are
 * gru.h's gru_status.
 *
 * ------------------------------------------------------------------ gru_q8_: int8 weights, float math
 *
 * Weights are int8 with one float scale per output row (symmetric:
 * w[j][k] ~= scale[j] * q[j][k]), packed exactly like gru.h's float matrices
 * (gru_q8_pack_matrix, same block geometry, int8 elements), so they take 1/4 of
 * the flash. Arithmetic is float32, as in gru.h: output j of a matrix product is
 *
 *     bias[j] + scale[j] * (((float)q[j][0] * x[0] + (float)q[j][1] * x[1]) + ...)
 *
 * summed in input order on every target (compile with -ffp-contract=off), so
 * the results are bit-identical across targets. Activations are gru.h's own.
 * Inputs, outputs, state and scratch are float, sized as in gru.h
 * (GRU_STATE_SIZE, GRU_SCRATCH_SIZE).
 *
 * ------------------------------------------------------------------ gru_qi_: integer only
 *
 * For cores without an FPU: no float operation anywhere in a step.
 *
 *   weights      int8, packed by gru_qi_pack_matrix into GRU_QI_PACKED_SIZE
 *                bytes: rows padded with zeros to a multiple of GRU_QI_BLOCK_ROWS
 *                (16), columns to a multiple of GRU_QI_GROUP_COLS (8); blocks of
 *                16 rows, each holding, for every group g of 8 columns, 128 bytes:
 *                  w[r][8g], ..., w[r][8g+7] for r = 0..15
 *                so each row's 8 columns of a group are contiguous (Arm: one
 *                LDRD for SXTB16 / SMLAD, or one VLDRB.S16 for VMLADAVA; x86:
 *                two rows per vpmovsxbw + vpmaddwd). Integer sums do not depend
 *                on their order, so the layout changes no result.
 *   x            int16; its scale is folded into layer 0's W_ih multipliers
 *   h (state)    int16, Q0.15: h = h_q / 32768 (tanh bounds |h_q| <= 32767)
 *   accumulators int32: sum_k q[j][k] * v[k]. |q| <= 128 and |v| <= 32768, so
 *                input and hidden sizes are limited to GRU_QI_MAX_DIM = 511
 *                (511 * 2^22 < 2^31: no overflow, checked by gru_qi_model_check)
 *   requantize   per output row j, to a gate pre-activation in Q.12 (value/4096):
 *                  p = clamp(rnd(acc * mult[j], shift[j]) + bias[j], +-GRU_QI_PRE_MAX)
 *                with the product in int64, mult[j] in [0, 2^31), shift[j] in 1..62
 *                (gru_qi_model_check refuses others) and bias[j] an int32 in Q.12.
 *   rounding     rnd(v, s) = v / 2^s rounded half away from zero, computed on the
 *                magnitude (no shift of a negative number anywhere).
 *   activations  gru_qi_tanh / gru_qi_sigmoid: Q.12 int32 in, Q0.15 int16 out,
 *                from one 513-entry table of tanh on [0, 8] with linear
 *                interpolation (sigmoid(x) = (1 + tanh(x / 2)) / 2, floored to
 *                Q0.15). Measured max abs error against float64 over every
 *                input (tests/test_quant.py): tanh <= 4.7e-5, sigmoid <= 3.9e-5
 *                (about 1.5 LSB of Q0.15).
 *   cell         reset_after:  n = tanh(gi_n + rnd(r * gh_n, 15))
 *                reset_before: n = tanh(gi_n + requant(W_hn rnd(r * h, 15)))
 *                h' = n + rnd(z * (h - n), 15)    (exact int32, no overflow)
 *   head output  int32: Q.12 pre-activations for GRU_ACT_NONE and GRU_ACT_SOFTMAX
 *                (softmax is NOT applied: it is monotone, so argmax is the same;
 *                apply it in float if probabilities are needed); Q0.15 for
 *                GRU_ACT_SIGMOID / GRU_ACT_TANH; Q0.15 h without a head.
 *                gru_qi_output_frac_bits() says which (12 or 15).
 *
 * Every step is bit-exact on every target and equal to pygru's numpy emulation
 * (pygru.quantize.emulate_integer).
 *
 * ------------------------------------------------------------------ x86-64
 *
 * On x86-64 (GCC, Clang) both modes' matrix products, and the integer gate
 * math, run AVX2 or AVX-512 VNNI kernels when the CPU has them (chosen at
 * load time with GRU_DISPATCH_X86, which pygru's build defines; otherwise the
 * build's -m flags decide). They compute the same values as the portable C
 * (gru_c/src/gru_kernel_x86.h says how); -DGRU_PORTABLE_KERNEL leaves them
 * out; gru_kernel_name() says which run. Signed overflow cannot happen: every
 * intermediate is bounded as noted, and sums that could grow are saturated.
 */
#ifndef GRU_QUANT_H
#define GRU_QUANT_H

#include <stddef.h>
#include <stdint.h>

#include "gru.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- int8 weights, float math */

/* int8 elements in a packed matrix: same geometry as GRU_PACKED_SIZE. */
#define GRU_Q8_PACKED_SIZE(rows, cols) GRU_PACKED_SIZE(rows, cols)

typedef struct gru_q8_layer {
    int input_size;
    int hidden_size;
    int reset_after;               /* as in gru_layer */
    const int8_t *w_ih;            /* packed [3H][I]  (GRU_LAYER_W_IH_SIZE int8s) */
    const int8_t *w_hh_rz;         /* packed [2H][H]  rows r, z of W_hh */
    const int8_t *w_hh_n;          /* packed [H][H]   rows n of W_hh */
    const float *s_ih;             /* [3H] row scales of W_ih */
    const float *s_hh;             /* [3H] row scales of W_hh */
    const float *b_ih;             /* [3H] */
    const float *b_hh;             /* [3H] */
} gru_q8_layer;

typedef struct gru_q8_dense {
    int input_size;
    int output_size;
    int activation;                /* a gru_activation */
    const int8_t *weight;          /* packed [O][H] */
    const float *scale;            /* [O] */
    const float *bias;             /* [O] */
} gru_q8_dense;

typedef struct gru_q8_model {
    int num_layers;
    gru_q8_layer layers[GRU_MAX_LAYERS];
    int has_head;
    gru_q8_dense head;
} gru_q8_model;

/* Pack a row-major int8 [rows][cols] matrix (same layout as gru_pack_matrix). */
int gru_q8_pack_matrix(const int8_t *w, int rows, int cols, int8_t *packed, size_t capacity);

/* GRU_OK, or a negative status: shapes as gru_model_check; GRU_ERR_ARGUMENT
 * for a row scale that is negative or not finite, or a bias that is not finite. */
int gru_q8_model_check(const gru_q8_model *model);
int gru_q8_model_input_size(const gru_q8_model *model);
int gru_q8_model_output_size(const gru_q8_model *model);
/* Floats of state and of scratch; equal to GRU_STATE_SIZE / GRU_SCRATCH_SIZE
 * with the same arguments as for a float model. */
size_t gru_q8_state_size(const gru_q8_model *model);
size_t gru_q8_scratch_size(const gru_q8_model *model);

typedef struct gru_q8_stream {
    const gru_q8_model *model;
    float *state;
    float *scratch;
} gru_q8_stream;

int gru_q8_stream_init(gru_q8_stream *stream, const gru_q8_model *model, float *state,
                       size_t state_size, float *scratch, size_t scratch_size);
void gru_q8_stream_reset(gru_q8_stream *stream);
void gru_q8_stream_step(gru_q8_stream *stream, const float *x, float *y);
/* As gru_sequence. */
int gru_q8_sequence(const gru_q8_model *model, const float *x, int batch, int steps,
                    int return_sequences, const float *initial_state, float *state,
                    size_t state_size, float *scratch, size_t scratch_size, float *y);

/* ---------------------------------------------------------------- integer only */

#define GRU_QI_MAX_DIM 511
#define GRU_QI_PRE_FRAC 12             /* gate pre-activations: Q.12 */
#define GRU_QI_STATE_FRAC 15           /* h, gates, activations: Q0.15 */
#define GRU_QI_PRE_MAX ((int32_t)1 << 24) /* |pre-activation| bound, 4096.0 */
#define GRU_QI_TABLE_SIZE 513          /* tanh on [0, 8], step 1/64 */
#define GRU_QI_BLOCK_ROWS 16           /* rows per block of a packed matrix */
#define GRU_QI_GROUP_COLS 8            /* columns per group of a block */

/* int8 elements of a packed [rows][cols] matrix: rows rounded up to 16,
 * columns to 8 (the padding is zeros). */
#define GRU_QI_PACKED_SIZE(rows, cols) \
    (GRU_ROUND_UP((size_t)(rows), GRU_QI_BLOCK_ROWS) * GRU_ROUND_UP((size_t)(cols), GRU_QI_GROUP_COLS))

typedef struct gru_qi_layer {
    int input_size;
    int hidden_size;
    int reset_after;
    const int8_t *w_ih;            /* packed [3H][I]  (GRU_QI_PACKED_SIZE(3H, I) int8s) */
    const int8_t *w_hh_rz;         /* packed [2H][H]  rows r, z of W_hh */
    const int8_t *w_hh_n;          /* packed [H][H]   rows n of W_hh */
    const int32_t *m_ih;           /* [3H] requantization multipliers of W_ih x */
    const int8_t *sh_ih;           /* [3H] right shifts (1..62) */
    const int32_t *m_hh;           /* [3H] of W_hh h */
    const int8_t *sh_hh;           /* [3H] */
    const int32_t *b_ih;           /* [3H] Q.12 */
    const int32_t *b_hh;           /* [3H] Q.12 */
} gru_qi_layer;

typedef struct gru_qi_dense {
    int input_size;
    int output_size;
    int activation;                /* a gru_activation (softmax: see above) */
    const int8_t *weight;          /* packed [O][H] */
    const int32_t *mult;           /* [O] */
    const int8_t *shift;           /* [O] */
    const int32_t *bias;           /* [O] Q.12 */
} gru_qi_dense;

typedef struct gru_qi_model {
    int num_layers;
    gru_qi_layer layers[GRU_MAX_LAYERS];
    int has_head;
    gru_qi_dense head;
} gru_qi_model;

/* Pack a row-major int8 [rows][cols] matrix (layout above); rows in
 * 1..GRU_MAX_DIM, cols in 1..GRU_QI_MAX_DIM, capacity in int8s >=
 * GRU_QI_PACKED_SIZE(rows, cols). `w` and `packed` must not overlap. */
int gru_qi_pack_matrix(const int8_t *w, int rows, int cols, int8_t *packed, size_t capacity);

/* GRU_OK, or GRU_ERR_SIZE if a size exceeds GRU_QI_MAX_DIM, or as gru_model_check;
 * GRU_ERR_ARGUMENT for a multiplier < 0 or a shift outside 1..62. */
int gru_qi_model_check(const gru_qi_model *model);
int gru_qi_model_input_size(const gru_qi_model *model);
int gru_qi_model_output_size(const gru_qi_model *model);
/* Fractional bits of the int32 outputs: 12 or 15 (see above). */
int gru_qi_output_frac_bits(const gru_qi_model *model);

/* State: int16 values (all layers' h). Scratch: int32 values. */
size_t gru_qi_state_size(const gru_qi_model *model);
size_t gru_qi_scratch_size(const gru_qi_model *model);
#define GRU_QI_STATE_SIZE(total_hidden) ((size_t)(total_hidden))
#define GRU_QI_SCRATCH_SIZE(max_hidden) (7 * (size_t)(max_hidden))

typedef struct gru_qi_stream {
    const gru_qi_model *model;
    int16_t *state;
    int32_t *scratch;
} gru_qi_stream;

int gru_qi_stream_init(gru_qi_stream *stream, const gru_qi_model *model, int16_t *state,
                       size_t state_size, int32_t *scratch, size_t scratch_size);
void gru_qi_stream_reset(gru_qi_stream *stream);
/* x: input_size int16 values (quantized with the scale folded into the model);
 * y: output_size int32 values with gru_qi_output_frac_bits fractional bits. */
void gru_qi_stream_step(gru_qi_stream *stream, const int16_t *x, int32_t *y);
int gru_qi_sequence(const gru_qi_model *model, const int16_t *x, int batch, int steps,
                    int return_sequences, const int16_t *initial_state, int16_t *state,
                    size_t state_size, int32_t *scratch, size_t scratch_size, int32_t *y);

/* ---------------------------------------------------------------- checksums */

/* CRC-32 of a quantized model's arrays, the value exported headers record
 * (<NAME>_CHECKSUM): the arrays in descriptor order (per layer w_ih, w_hh_rz,
 * w_hh_n, then s_ih, s_hh, b_ih, b_hh for int8 or m_ih, sh_ih, m_hh, sh_hh,
 * b_ih, b_hh for integer; then the head's weight, then scale, bias or mult,
 * shift, bias), at their packed sizes (GRU_Q8_PACKED_SIZE / GRU_QI_PACKED_SIZE
 * for matrices, 3H or O for vectors), each element fed as its little-endian
 * bytes (a float's IEEE-754 bit pattern). On little-endian targets this equals
 * gru_checksum over the arrays' bytes chained, and Python's zlib.crc32 chained
 * over them. Checks the model first; returns GRU_OK or a negative gru_status. */
int gru_q8_model_checksum(const gru_q8_model *model, uint32_t *out);
int gru_qi_model_checksum(const gru_qi_model *model, uint32_t *out);

/* The fixed-point activations the integer kernel uses: Q.12 in, Q0.15 out. */
int16_t gru_qi_tanh(int32_t x);
int16_t gru_qi_sigmoid(int32_t x);
/* The tanh table (GRU_QI_TABLE_SIZE entries, tanh(k/64) in Q0.15). */
extern const int16_t gru_qi_tanh_table[GRU_QI_TABLE_SIZE];

#ifdef __cplusplus
}
#endif

#endif /* GRU_QUANT_H */
