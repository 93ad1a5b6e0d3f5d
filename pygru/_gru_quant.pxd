# Cython declarations of gru_c/include/gru_quant.h (quantized inference): what
# the binding (_quant.pxi) uses. Struct fields it never reads or writes (the
# streams are only passed by pointer) are left to the C header.
from libc.stdint cimport int8_t, int16_t, int32_t, uint32_t

cdef extern from "gru_quant.h" nogil:
    enum:
        GRU_QI_MAX_DIM
        GRU_QI_TABLE_SIZE

    ctypedef struct gru_q8_layer:
        int input_size
        int hidden_size
        int reset_after
        const int8_t *w_ih
        const int8_t *w_hh_rz
        const int8_t *w_hh_n
        const float *s_ih
        const float *s_hh
        const float *b_ih
        const float *b_hh

    ctypedef struct gru_q8_dense:
        int input_size
        int output_size
        int activation
        const int8_t *weight
        const float *scale
        const float *bias

    ctypedef struct gru_q8_model:
        int num_layers
        gru_q8_layer layers[8]
        int has_head
        gru_q8_dense head

    ctypedef struct gru_q8_stream:
        pass

    int gru_q8_pack_matrix(const int8_t *w, int rows, int cols, int8_t *packed, size_t capacity)
    int gru_q8_model_check(const gru_q8_model *model)
    int gru_q8_model_checksum(const gru_q8_model *model, uint32_t *out)
    int gru_q8_model_input_size(const gru_q8_model *model)
    int gru_q8_model_output_size(const gru_q8_model *model)
    size_t gru_q8_state_size(const gru_q8_model *model)
    size_t gru_q8_scratch_size(const gru_q8_model *model)
    int gru_q8_stream_init(gru_q8_stream *stream, const gru_q8_model *model, float *state,
                           size_t state_size, float *scratch, size_t scratch_size)
    void gru_q8_stream_reset(gru_q8_stream *stream)
    void gru_q8_stream_step(gru_q8_stream *stream, const float *x, float *y)
    int gru_q8_sequence(const gru_q8_model *model, const float *x, int batch, int steps,
                        int return_sequences, const float *initial_state, float *state,
                        size_t state_size, float *scratch, size_t scratch_size, float *y)

    ctypedef struct gru_qi_layer:
        int input_size
        int hidden_size
        int reset_after
        const int8_t *w_ih
        const int8_t *w_hh_rz
        const int8_t *w_hh_n
        const int32_t *m_ih
        const int8_t *sh_ih
        const int32_t *m_hh
        const int8_t *sh_hh
        const int32_t *b_ih
        const int32_t *b_hh

    ctypedef struct gru_qi_dense:
        int input_size
        int output_size
        int activation
        const int8_t *weight
        const int32_t *mult
        const int8_t *shift
        const int32_t *bias

    ctypedef struct gru_qi_model:
        int num_layers
        gru_qi_layer layers[8]
        int has_head
        gru_qi_dense head

    ctypedef struct gru_qi_stream:
        pass

    size_t GRU_QI_PACKED_SIZE(int rows, int cols)
    int gru_qi_pack_matrix(const int8_t *w, int rows, int cols, int8_t *packed, size_t capacity)
    int gru_qi_model_check(const gru_qi_model *model)
    int gru_qi_model_checksum(const gru_qi_model *model, uint32_t *out)
    int gru_qi_model_input_size(const gru_qi_model *model)
    int gru_qi_model_output_size(const gru_qi_model *model)
    int gru_qi_output_frac_bits(const gru_qi_model *model)
    size_t gru_qi_state_size(const gru_qi_model *model)
    size_t gru_qi_scratch_size(const gru_qi_model *model)
    int gru_qi_stream_init(gru_qi_stream *stream, const gru_qi_model *model, int16_t *state,
                           size_t state_size, int32_t *scratch, size_t scratch_size)
    void gru_qi_stream_reset(gru_qi_stream *stream)
    void gru_qi_stream_step(gru_qi_stream *stream, const int16_t *x, int32_t *y)
    int gru_qi_sequence(const gru_qi_model *model, const int16_t *x, int batch, int steps,
                        int return_sequences, const int16_t *initial_state, int16_t *state,
                        size_t state_size, int32_t *scratch, size_t scratch_size, int32_t *y)
    int16_t gru_qi_tanh(int32_t x)
    int16_t gru_qi_sigmoid(int32_t x)
    const int16_t gru_qi_tanh_table[513]
