/*
 * gru.h - pygru's portable C99 GRU runtime: float32 inference.
 *
 * One contract for three users (Python bindings, firmware, cross builds):
 *
 *   - No dynamic allocation and no global mutable state. Every buffer belongs to
 *     the caller; each operation has a size query, as a function and, where the
 *     sizes are known at compile time, as a macro for `static` arrays.
 *   - A model is a plain struct of `const` pointers (weights can live in flash).
 *     Only the state and the scratch live in RAM.
 *   - The configuration is checked once (gru_model_check, gru_stream_init); the
 *     step and sequence functions then trust it.
 *   - Results are bit-identical on every target and every vector width, provided
 *     the sources are compiled with -ffp-contract=off and without -ffast-math
 *     (see README: "Bit-identical results").
 *
 * GRU semantics (canonical gate order r, z, n, as in PyTorch):
 *
 *   r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
 *   z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n  = tanh(W_in x + b_in + r * (W_hn h + b_hn))     reset_after = 1 (PyTorch, Keras 2+)
 *   n  = tanh(W_in x + b_in + W_hn (r * h) + b_hn)     reset_after = 0 (Cho 2014, ONNX default)
 *   h' = (1 - z) * n + z * h
 *
 * A model is a short sequence of layers: 0..GRU_MAX_DENSE dense layers run on
 * every time step (a pre-net), then a stack of 1..GRU_MAX_LAYERS GRU layers,
 * then optionally a head of 1..GRU_MAX_DENSE + 1 dense layers y = act(W x + b)
 * on the last GRU layer's output (`head`, then `post[0..num_post)`).
 *
 * Weight layout. Matrices are stored "packed": gru_pack_matrix() turns a
 * row-major [rows][cols] matrix (PyTorch's layout, rows = outputs) into blocks of
 * output rows, each block stored column by column. Rows are padded with zeros to
 * P = a multiple of GRU_PACK_ROWS, then split into ceil(P / GRU_PACK_BLOCK)
 * blocks whose widths are multiples of GRU_PACK_ROWS, as equal as possible,
 * wider blocks first (P = 64 gives 32 + 32, P = 104 gives 40 + 32 + 32).
 * The kernel then reads
 * weights strictly sequentially and keeps a block of outputs in registers. The
 * packed layout is the same on every target; each output still sums its
 * products in input order, so packing never changes a result.
 */
#ifndef GRU_H
#define GRU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GRU_VERSION_MAJOR 0
#define GRU_VERSION_MINOR 3
#define GRU_VERSION_PATCH 0

/* ---------------------------------------------------------------- status codes */

typedef enum gru_status {
    GRU_OK = 0,
    GRU_ERR_NULL = -1,           /* a required pointer is NULL */
    GRU_ERR_SIZE = -2,           /* a dimension is < 1 or > GRU_MAX_DIM */
    GRU_ERR_LAYERS = -3,         /* num_layers outside 1..GRU_MAX_LAYERS, num_pre or num_post
                                    outside 0..GRU_MAX_DENSE, num_post > 0 without a head, or
                                    a model beyond the plain family in a GRU_PLAIN_MODELS build */
    GRU_ERR_SHAPE = -4,          /* a layer's input size is not the previous layer's output size */
    GRU_ERR_BUFFER = -5,         /* a caller buffer is smaller than its size query says */
    GRU_ERR_ACTIVATION = -6,     /* unknown activation or flag value */
    GRU_ERR_CHECKSUM = -7,       /* weights do not match their recorded checksum */
    GRU_ERR_ARGUMENT = -8,       /* any other invalid argument (e.g. steps < 1) */
    GRU_ERR_STREAM = -9          /* a layer runs backwards in time: the model cannot stream
                                    (gru_stream_init); run it with gru_sequence */
} gru_status;

/* Short, static, human-readable text for a status code. */
const char *gru_status_string(int status);

/* ---------------------------------------------------------------- limits */

#ifndef GRU_MAX_LAYERS
#define GRU_MAX_LAYERS 8
#endif

/* Dense layers before the GRUs (pre[]) and after the head (post[]). */
#ifndef GRU_MAX_DENSE
#define GRU_MAX_DENSE 4
#endif

/* Define GRU_PLAIN_MODELS to 1, for gru_c and the firmware alike, for a
 * runtime of the 0.2 model family only: forward GRU layers with the default
 * activations and at most one dense head. The code for pre-nets, further head
 * layers, GRU activation options and reverse layers is then never referenced,
 * so the linker leaves it out; gru_model_check refuses such models
 * (GRU_ERR_LAYERS), and their exported headers stop the build. */
#ifndef GRU_PLAIN_MODELS
#define GRU_PLAIN_MODELS 0
#endif

/* Largest input, hidden or output size; keeps every size computation in range. */
#define GRU_MAX_DIM 65536

/* Packed-weight geometry (see "Weight layout" above). Part of the data format:
 * changing them changes every packed array, so they are not configurable. */
#define GRU_PACK_ROWS 8
#define GRU_PACK_BLOCK 48

/* Recommended alignment in bytes of packed matrices, state and scratch (a
 * cache line). Any float-aligned address works, but on x86-64 a vector load
 * from a misaligned matrix straddles two cache lines: with 16-byte aligned
 * weights a (16, 32) step took 0.25 us instead of 0.21 (AVX-512). */
#define GRU_WEIGHT_ALIGN 64

#define GRU_ROUND_UP(n, m) ((((n) + (m) - 1) / (m)) * (m))

/* Floats in a packed [rows][cols] matrix. */
#define GRU_PACKED_SIZE(rows, cols) (GRU_ROUND_UP((size_t)(rows), GRU_PACK_ROWS) * (size_t)(cols))

/* Packed float counts of one layer's three matrices. */
#define GRU_LAYER_W_IH_SIZE(input_size, hidden_size) GRU_PACKED_SIZE(3 * (hidden_size), (input_size))
#define GRU_LAYER_W_HH_RZ_SIZE(hidden_size) GRU_PACKED_SIZE(2 * (hidden_size), (hidden_size))
#define GRU_LAYER_W_HH_N_SIZE(hidden_size) GRU_PACKED_SIZE((hidden_size), (hidden_size))

/* ---------------------------------------------------------------- descriptors */

typedef enum gru_activation {
    GRU_ACT_NONE = 0,
    GRU_ACT_SIGMOID = 1,
    GRU_ACT_TANH = 2,
    GRU_ACT_SOFTMAX = 3,
    GRU_ACT_RELU = 4,            /* max(x, 0): -0.0 and NaN give +0.0 (float models only) */
    GRU_ACT_HARD_SIGMOID = 5,    /* clip(0.2 x + 0.5, 0, 1): Keras 2, ONNX HardSigmoid defaults */
    GRU_ACT_HARD_SIGMOID_KERAS3 = 6 /* relu6(x + 3) / 6: Keras 3 */
} gru_activation;

/* One GRU layer. Biases are the 3*hidden_size vectors in gate order r, z, n.
 * The activations (added in 0.3, after the pointers so that 0.2 descriptors
 * keep their meaning) replace tanh in n and sigmoid in r and z; 0 is the
 * default. Training (gru_train.h) and the quantized descriptors compute the
 * defaults only. */
typedef struct gru_layer {
    int input_size;
    int hidden_size;
    int reset_after;               /* 1: reset applied after W_hn (PyTorch); 0: before (Cho) */
    const float *w_ih;             /* packed [3H][I]:  GRU_LAYER_W_IH_SIZE floats */
    const float *w_hh_rz;          /* packed [2H][H]:  rows r then z of W_hh */
    const float *w_hh_n;           /* packed [H][H]:   rows n of W_hh */
    const float *b_ih;             /* [3H] */
    const float *b_hh;             /* [3H] */
    int activation;                /* n: 0 or GRU_ACT_TANH; GRU_ACT_RELU (RNNoise) */
    int recurrent_activation;      /* r, z: 0 or GRU_ACT_SIGMOID; GRU_ACT_HARD_SIGMOID(_KERAS3) */
    int reverse;                   /* 1: reads each sequence from its last step to its first */
    int merge;                     /* 1: the reverse half of a bidirectional layer (reverse = 1,
                                      after a forward layer): reads that layer's input, and its h
                                      follows that layer's h in the state and in the output
                                      ([forward, reverse], hidden sizes added) */
} gru_layer;

/* Dense layer y = activation(W x + b). */
typedef struct gru_dense {
    int input_size;                /* = the previous layer's output size */
    int output_size;
    int activation;                /* a gru_activation */
    const float *weight;           /* packed [O][H]: GRU_PACKED_SIZE(O, H) floats */
    const float *bias;             /* [O] */
} gru_dense;

typedef struct gru_model {
    int num_layers;                /* 1..GRU_MAX_LAYERS */
    gru_layer layers[GRU_MAX_LAYERS];
    int has_head;                  /* 0: the output is the last layer's h */
    gru_dense head;                /* first head layer, on the last GRU layer's h */
    /* Added in 0.3; a descriptor written for 0.2 (zero-initialised past `head`)
     * has neither. */
    int num_pre;                   /* 0..GRU_MAX_DENSE dense layers on each input step */
    gru_dense pre[GRU_MAX_DENSE];  /* pre[0] reads x; layers[0] reads pre[num_pre - 1] */
    int num_post;                  /* 0..GRU_MAX_DENSE more head layers (needs has_head) */
    gru_dense post[GRU_MAX_DENSE]; /* post[0] reads head's output; the model's output is
                                      post[num_post - 1]'s (or head's) */
} gru_model;

/* ---------------------------------------------------------------- weight packing */

/* Pack a row-major [rows][cols] matrix into `packed` (capacity in floats; needs
 * GRU_PACKED_SIZE(rows, cols)). `w` and `packed` must not overlap. */
int gru_pack_matrix(const float *w, int rows, int cols, float *packed, size_t capacity);

/* Inverse of gru_pack_matrix: recover the row-major matrix. */
int gru_unpack_matrix(const float *packed, int rows, int cols, float *w, size_t capacity);

/* ---------------------------------------------------------------- checks and sizes */

/* GRU_OK if the model is consistent: counts in range, pointers set, sizes in
 * 1..GRU_MAX_DIM, each layer's input_size equal to the previous layer's output
 * size (pre-net, GRUs, head, post), flags and activations valid. Does not read
 * the weights. */
int gru_model_check(const gru_model *model);

/* Input size (pre[0]'s, else layers[0]'s) and output size (the last head
 * layer's, or the last hidden size) of a checked model. */
int gru_model_input_size(const gru_model *model);
int gru_model_output_size(const gru_model *model);

/* Floats of state: the hidden vectors of all layers, layer 0 first. */
size_t gru_state_size(const gru_model *model);
/* Floats of scratch for gru_stream_step and gru_sequence. */
size_t gru_scratch_size(const gru_model *model);

/* Compile-time forms for static buffers:
 *   GRU_STATE_SIZE(sum of hidden sizes)
 *   GRU_SCRATCH_SIZE(largest hidden size, output size)   (output size = hidden size without a head)
 *     for a model without pre or post layers;
 *   GRU_MODEL_SCRATCH_SIZE(largest hidden size, output size, largest dense size)
 *     for any model, where the largest dense size is the largest output size
 *     of the pre, head and post layers when there are pre or post layers, else 0.
 * They equal (or exceed) the functions above. */
#define GRU_STATE_SIZE(total_hidden) ((size_t)(total_hidden))
#define GRU_SCRATCH_SIZE(max_hidden, output_size)                                   \
    (GRU_ROUND_UP(3 * (size_t)(max_hidden), GRU_PACK_ROWS) +                        \
     GRU_ROUND_UP(2 * (size_t)(max_hidden), GRU_PACK_ROWS) +                        \
     2 * GRU_ROUND_UP((size_t)(max_hidden), GRU_PACK_ROWS) +                        \
     GRU_ROUND_UP((size_t)(output_size), GRU_PACK_ROWS))
#define GRU_DENSE_SCRATCH_SIZE(max_dense) (2 * GRU_ROUND_UP((size_t)(max_dense), GRU_PACK_ROWS))
#define GRU_MODEL_SCRATCH_SIZE(max_hidden, output_size, max_dense) \
    (GRU_SCRATCH_SIZE(max_hidden, output_size) + GRU_DENSE_SCRATCH_SIZE(max_dense))

/* gru_sequence runs GRU_SEQUENCE_LANES sequences of a batch in lock step, so
 * each weight is read once for all of them. The lane count changes speed and
 * buffer sizes, never results. Small targets default to 1. */
#ifndef GRU_SEQUENCE_LANES
#if defined(__x86_64__) || defined(__aarch64__) || defined(_M_X64) || defined(_M_ARM64)
#define GRU_SEQUENCE_LANES 4
#else
#define GRU_SEQUENCE_LANES 1
#endif
#endif

/* Buffers for gru_sequence: GRU_SEQUENCE_LANES times the streaming sizes. */
size_t gru_sequence_state_size(const gru_model *model);
size_t gru_sequence_scratch_size(const gru_model *model);
/* Scratch gru_sequence needs for `steps` steps: gru_sequence_scratch_size for
 * a model without reverse layers; for one with, gru_scratch_size plus two
 * [steps][W] buffers (it runs each sequence one layer at a time over all its
 * steps), W the largest of the first GRU layer's input size and the GRU
 * layers' output sizes (a bidirectional pair's is the sum). SIZE_MAX if that
 * does not fit in size_t. GRU_SEQUENCE_REVERSE_SCRATCH_SIZE is its macro. */
size_t gru_sequence_scratch_size_for(const gru_model *model, int steps);
#define GRU_SEQUENCE_REVERSE_SCRATCH_SIZE(max_hidden, output_size, max_dense, steps, width) \
    (GRU_MODEL_SCRATCH_SIZE(max_hidden, output_size, max_dense) + 2 * (size_t)(steps) * (size_t)(width))
#define GRU_SEQUENCE_STATE_SIZE(total_hidden) (GRU_SEQUENCE_LANES * GRU_STATE_SIZE(total_hidden))
#define GRU_SEQUENCE_SCRATCH_SIZE(max_hidden, output_size) \
    (GRU_SEQUENCE_LANES * GRU_SCRATCH_SIZE(max_hidden, output_size))
#define GRU_SEQUENCE_MODEL_SCRATCH_SIZE(max_hidden, output_size, max_dense) \
    (GRU_SEQUENCE_LANES * GRU_MODEL_SCRATCH_SIZE(max_hidden, output_size, max_dense))

/* ---------------------------------------------------------------- streaming */

/* Streaming instance (CMSIS-DSP style): const model + caller-owned state and scratch. */
typedef struct gru_stream {
    const gru_model *model;
    float *state;                  /* gru_state_size(model) floats */
    float *scratch;                /* gru_scratch_size(model) floats */
} gru_stream;

/* Check the model and the buffer sizes (in floats), wire the pointers and zero
 * the state. Returns GRU_OK or a negative gru_status (GRU_ERR_STREAM for a
 * model with a reverse layer); on error `stream` is left untouched. */
int gru_stream_init(gru_stream *stream, const gru_model *model, float *state,
                    size_t state_size, float *scratch, size_t scratch_size);

/* Zero the state (all layers' h). */
void gru_stream_reset(gru_stream *stream);

/* One time step: x has input_size floats, y receives output_size floats.
 * Trusts an initialised stream; y may not alias x, state or scratch. */
void gru_stream_step(gru_stream *stream, const float *x, float *y);

/* ---------------------------------------------------------------- sequences */

/* Run `batch` independent sequences of `steps` time steps each. The results
 * are bit-identical to running each sequence through gru_stream_step (for
 * models that can stream).
 *   x:      [batch][steps][input_size]
 *   y:      [batch][steps][output_size] if return_sequences, else [batch][output_size]
 *   state:  gru_sequence_state_size floats (working state); every sequence
 *           starts from h = 0 when `initial_state` is NULL, otherwise from
 *           initial_state ([batch][gru_state_size]).
 *   scratch: gru_sequence_scratch_size_for(model, steps) floats.
 * Without return_sequences, the head reads the last GRU layer's final state:
 * for a reverse layer, h after reading the first step (Keras'
 * return_sequences=False; PyTorch's out[:, -1] is its h after one step).
 * Returns GRU_OK or a negative gru_status (the model is checked). */
int gru_sequence(const gru_model *model, const float *x, int batch, int steps,
                 int return_sequences, const float *initial_state, float *state,
                 size_t state_size, float *scratch, size_t scratch_size, float *y);

/* ---------------------------------------------------------------- checksums */

/* CRC-32 (IEEE 802.3 / zlib / PNG: reflected polynomial 0xEDB88320, initial
 * value and final xor 0xFFFFFFFF) of `size` bytes, processed byte by byte, so
 * it equals Python's zlib.crc32(data). NULL data gives 0 (the CRC of nothing). */
uint32_t gru_checksum(const void *data, size_t size);

/* CRC-32 of a model's weights, the value exported headers record: the packed
 * arrays in the order the model runs them (each pre layer's weight and bias,
 * per GRU layer w_ih, w_hh_rz, w_hh_n, b_ih, b_hh, the head's weight and bias,
 * each post layer's weight and bias), at their packed sizes, each float fed as the 4
 * little-endian bytes of its IEEE-754 bit pattern. The result is therefore the
 * same on little- and big-endian targets, and on little-endian ones equals
 * gru_checksum over the arrays' bytes. Sizes and flags are not included.
 * Checks the model first; returns GRU_OK or a negative gru_status. */
int gru_model_checksum(const gru_model *model, uint32_t *out);

/* ---------------------------------------------------------------- kernels */

/* Which kernels this build runs on this CPU, chosen once (at compile time, or
 * by the loader in x86-64 builds with GRU_DISPATCH_X86), never per call:
 *   GRU_KERNEL_FLOAT    float products and gate math (gru_stream_step,
 *                       gru_sequence, training, and the gates of gru_q8_*)
 *   GRU_KERNEL_INT8     int8-weight products of gru_q8_*
 *   GRU_KERNEL_INTEGER  integer products and gate math of gru_qi_*
 * gru_kernel_name returns a static string: "portable"; "portable-avx2" or
 * "portable-avx512f" (the portable float source compiled for that ISA);
 * "avx2", "avx512-vnni" (x86-64 quantized kernels); "arm-vmla" (Cortex-M4F /
 * M7 float); "arm-dsp" (Cortex-M4 / M7 integer, SXTB16 / SMLAD); "helium"
 * (Cortex-M55). NULL for an unknown kind. Every kernel gives the
 * same bits. */
#define GRU_KERNEL_FLOAT 0
#define GRU_KERNEL_INT8 1
#define GRU_KERNEL_INTEGER 2
const char *gru_kernel_name(int kind);
/* 1 if the loader chose these kernels for this CPU among several compiled in
 * (x86-64 builds with GRU_DISPATCH_X86), 0 if the build fixed them. */
int gru_kernels_dispatched(void);

/* ---------------------------------------------------------------- activations */

/* The runtime's own branch-free activations (no libm), exactly the ones the
 * kernels use; the same bits on every target. Maximum absolute error against
 * float64, asserted by tests/test_activations.py over every 61st float in
 * [-20, 20] and beyond: tanh <= 2e-7 (1.19e-7 measured over every 7th float),
 * sigmoid <= 1e-7 (8.9e-8 measured). NaN inputs give finite, unspecified
 * outputs (no undefined behaviour); the Python layer rejects them earlier. */
float gru_tanh(float x);
float gru_sigmoid(float x);

#ifdef __cplusplus
}
#endif

#endif /* GRU_H */
