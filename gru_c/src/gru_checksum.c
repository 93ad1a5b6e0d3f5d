/* gru_checksum.c - CRC-32 of a model's weights, so firmware can verify a model
 * in flash against the checksum recorded at export time (see gru.h). */
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

/* Feeds each float as the 4 little-endian bytes of its IEEE-754 bit pattern,
 * whatever the target's byte order. */
static uint32_t gru__crc32_floats(uint32_t crc, const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const uint32_t u = gru__bits(x[i]);
        crc = gru__crc32_byte(crc, u);
        crc = gru__crc32_byte(crc, u >> 8);
        crc = gru__crc32_byte(crc, u >> 16);
        crc = gru__crc32_byte(crc, u >> 24);
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

int gru_model_checksum(const gru_model *model, uint32_t *out)
{
    if (!out)
        return GRU_ERR_NULL;
    const int status = gru_model_check(model);
    if (status != GRU_OK)
        return status;
    uint32_t crc = 0xFFFFFFFFu;
    for (int l = 0; l < model->num_layers; l++) {
        const gru_layer *layer = &model->layers[l];
        const int I = layer->input_size, H = layer->hidden_size;
        crc = gru__crc32_floats(crc, layer->w_ih, GRU_LAYER_W_IH_SIZE(I, H));
        crc = gru__crc32_floats(crc, layer->w_hh_rz, GRU_LAYER_W_HH_RZ_SIZE(H));
        crc = gru__crc32_floats(crc, layer->w_hh_n, GRU_LAYER_W_HH_N_SIZE(H));
        crc = gru__crc32_floats(crc, layer->b_ih, 3 * (size_t)H);
        crc = gru__crc32_floats(crc, layer->b_hh, 3 * (size_t)H);
    }
    if (model->has_head) {
        const gru_dense *head = &model->head;
        crc = gru__crc32_floats(crc, head->weight, GRU_PACKED_SIZE(head->output_size, head->input_size));
        crc = gru__crc32_floats(crc, head->bias, (size_t)head->output_size);
    }
    *out = ~crc;
    return GRU_OK;
}
