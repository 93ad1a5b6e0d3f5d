/* gru_checksum.c - CRC-32 of bytes and of a model's weights (float, int8 and
 * integer descriptors), so firmware can verify a model in flash against the
 * checksum recorded at export time (gru.h, gru_quant.h). */
#include "gru_internal.h"

/* CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), four bits at a time:
 * a 64-byte table instead of 1 KB, about 4x faster than bit by bit. */
static const uint32_t gru__crc32_nibble[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u,
    0x4DB26158u, 0x5005713Cu, 0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu,
    0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};

static uint32_t gru__crc32_byte(uint32_t crc, uint32_t byte)
{
    crc ^= byte & 0xFFu;
    crc = (crc >> 4) ^ gru__crc32_nibble[crc & 0xFu];
    crc = (crc >> 4) ^ gru__crc32_nibble[crc & 0xFu];
    return crc;
}

/* Feeds n elements of `elem` bytes (1, or 4: float, int32) as their
 * little-endian bytes (a float's IEEE-754 bit pattern), whatever the
 * target's byte order. */
static uint32_t gru__crc32_le(uint32_t crc, const void *data, size_t n, size_t elem)
{
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = 0; i < n; i++, p += elem) {
        uint32_t u = *p;
        if (elem == 4)
            memcpy(&u, p, sizeof u);
        for (size_t b = 0; b < elem; b++, u >>= 8)
            crc = gru__crc32_byte(crc, u);
    }
    return crc;
}

uint32_t gru_checksum(const void *data, size_t size)
{
    const unsigned char *p = (const unsigned char *)data;
    uint32_t crc = 0xFFFFFFFFu;
    if (!p)
        return 0u; /* the CRC-32 of no bytes */
    for (size_t i = 0; i < size; i++)
        crc = gru__crc32_byte(crc, p[i]);
    return ~crc;
}

/* The CRC of a model's arrays in the order the model runs them, each at its
 * size: one function per descriptor, from the list of (pointer, count,
 * element bytes) of each layer and of the head; PRE(model) and POST(model)
 * add the float model's dense layers before and after. */
#define GRU__MODEL_CHECKSUM(P, MODEL, LAYER_ARRAYS, HEAD_ARRAYS, PRE, POST)                       \
    int gru_##P##model_checksum(const MODEL *model, uint32_t *out)                                \
    {                                                                                             \
        if (!out)                                                                                 \
            return GRU_ERR_NULL;                                                                  \
        const int status = gru_##P##model_check(model);                                           \
        if (status != GRU_OK)                                                                     \
            return status;                                                                        \
        uint32_t crc = 0xFFFFFFFFu;                                                               \
        PRE(model)                                                                                \
        for (int l = 0; l < model->num_layers; l++) {                                             \
            const size_t I = (size_t)model->layers[l].input_size;                                 \
            const size_t H = (size_t)model->layers[l].hidden_size;                                \
            LAYER_ARRAYS(model->layers[l], I, H)                                                  \
        }                                                                                         \
        if (model->has_head) {                                                                    \
            const size_t O = (size_t)model->head.output_size;                                     \
            const size_t H = (size_t)model->head.input_size;                                      \
            HEAD_ARRAYS(model->head, O, H)                                                        \
        }                                                                                         \
        POST(model)                                                                               \
        *out = ~crc;                                                                              \
        return GRU_OK;                                                                            \
    }
#define GRU__CRC(p, n) crc = gru__crc32_le(crc, p, n, sizeof *(p));

/* The three matrices of a layer, packed at SIZE(rows, cols). */
#define GRU__MATRICES_CRC(q, I, H, SIZE)                                                          \
    GRU__CRC((q).w_ih, SIZE(3 * H, I))                                                            \
    GRU__CRC((q).w_hh_rz, SIZE(2 * H, H))                                                         \
    GRU__CRC((q).w_hh_n, SIZE(H, H))
#define GRU__BIASES_CRC(q, H) GRU__CRC((q).b_ih, 3 * H) GRU__CRC((q).b_hh, 3 * H)

#define GRU__F_LAYER_CRC(q, I, H) GRU__MATRICES_CRC(q, I, H, GRU_PACKED_SIZE) GRU__BIASES_CRC(q, H)
#define GRU__F_HEAD_CRC(d, O, H) GRU__CRC((d).weight, GRU_PACKED_SIZE(O, H)) GRU__CRC((d).bias, O)
#define GRU__Q8_LAYER_CRC(q, I, H)                                                                \
    GRU__MATRICES_CRC(q, I, H, GRU_Q8_PACKED_SIZE)                                                \
    GRU__CRC((q).s_ih, 3 * H) GRU__CRC((q).s_hh, 3 * H) GRU__BIASES_CRC(q, H)
#define GRU__Q8_HEAD_CRC(d, O, H)                                                                 \
    GRU__CRC((d).weight, GRU_Q8_PACKED_SIZE(O, H)) GRU__CRC((d).scale, O) GRU__CRC((d).bias, O)
#define GRU__QI_LAYER_CRC(q, I, H)                                                                \
    GRU__MATRICES_CRC(q, I, H, GRU_QI_PACKED_SIZE)                                                \
    GRU__CRC((q).m_ih, 3 * H) GRU__CRC((q).sh_ih, 3 * H)                                          \
    GRU__CRC((q).m_hh, 3 * H) GRU__CRC((q).sh_hh, 3 * H) GRU__BIASES_CRC(q, H)
#define GRU__QI_HEAD_CRC(d, O, H)                                                                 \
    GRU__CRC((d).weight, GRU_QI_PACKED_SIZE(O, H)) GRU__CRC((d).mult, O)                          \
    GRU__CRC((d).shift, O) GRU__CRC((d).bias, O)

/* Dense layers d[0..n) of the float model. */
#define GRU__F_DENSE_CRC(d, n)                                                                    \
    for (int k = 0; k < (n); k++) {                                                               \
        GRU__F_HEAD_CRC((d)[k], (size_t)(d)[k].output_size, (size_t)(d)[k].input_size)            \
    }
#define GRU__F_PRE_CRC(m) GRU__F_DENSE_CRC((m)->pre, (m)->num_pre)
#define GRU__F_POST_CRC(m) GRU__F_DENSE_CRC((m)->post, (m)->num_post)
#define GRU__NO_CRC(m)

GRU__MODEL_CHECKSUM(, gru_model, GRU__F_LAYER_CRC, GRU__F_HEAD_CRC, GRU__F_PRE_CRC, GRU__F_POST_CRC)
GRU__MODEL_CHECKSUM(q8_, gru_q8_model, GRU__Q8_LAYER_CRC, GRU__Q8_HEAD_CRC, GRU__NO_CRC, GRU__NO_CRC)
GRU__MODEL_CHECKSUM(qi_, gru_qi_model, GRU__QI_LAYER_CRC, GRU__QI_HEAD_CRC, GRU__NO_CRC, GRU__NO_CRC)
