# Cython declarations of gru_c/include/gru.h (the public float32 inference API).
# Other binding modules cimport from here, so the C contract is declared once.

cdef extern from "gru.h" nogil:
    enum:
        GRU_OK
        GRU_MAX_LAYERS
        GRU_MAX_DENSE
        GRU_MAX_DIM
        GRU_PACK_ROWS
        GRU_PACK_BLOCK
        GRU_WEIGHT_ALIGN
        GRU_VERSION_MAJOR
        GRU_VERSION_MINOR
        GRU_VERSION_PATCH
        GRU_KERNEL_FLOAT
        GRU_KERNEL_INT8
        GRU_KERNEL_INTEGER

    ctypedef struct gru_layer:
        int input_size
        int hidden_size
        int reset_after
        const float *w_ih
        const float *w_hh_rz
        const float *w_hh_n
        const float *b_ih
        const float *b_hh
        int activation
        int recurrent_activation
        int reverse
        int merge

    ctypedef struct gru_dense:
        int input_size
        int output_size
        int activation
        const float *weight
        const float *bias

    ctypedef struct gru_model:
        int num_layers
        gru_layer layers[8]
        int has_head
        gru_dense head
        int num_pre
        gru_dense pre[4]
        int num_post
        gru_dense post[4]

    ctypedef struct gru_stream:
        const gru_model *model
        float *state
        float *scratch

    const char *gru_status_string(int status)
    int gru_pack_matrix(const float *w, int rows, int cols, float *packed, size_t capacity)
    int gru_unpack_matrix(const float *packed, int rows, int cols, float *w, size_t capacity)
    int gru_model_check(const gru_model *model)
    int gru_model_input_size(const gru_model *model)
    int gru_model_output_size(const gru_model *model)
    size_t gru_state_size(const gru_model *model)
    size_t gru_scratch_size(const gru_model *model)
    size_t gru_sequence_state_size(const gru_model *model)
    size_t gru_sequence_scratch_size(const gru_model *model)
    size_t gru_sequence_scratch_size_for(const gru_model *model, int steps)
    int gru_stream_init(gru_stream *stream, const gru_model *model, float *state,
                        size_t state_size, float *scratch, size_t scratch_size)
    void gru_stream_reset(gru_stream *stream)
    void gru_stream_step(gru_stream *stream, const float *x, float *y)
    int gru_sequence(const gru_model *model, const float *x, int batch, int steps,
                     int return_sequences, const float *initial_state, float *state,
                     size_t state_size, float *scratch, size_t scratch_size, float *y)
    float gru_tanh(float x)
    float gru_sigmoid(float x)
    const char *gru_kernel_name(int kind)
    int gru_kernels_dispatched()
