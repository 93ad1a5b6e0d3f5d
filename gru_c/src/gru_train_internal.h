/*
 * gru_train_internal.h - private helpers of the training sources (gru__ prefix):
 * the parameter layout, the workspace layout of each trainable choice and its
 * per-step rows (kernels in gru_train_kernels.h).
 */
#ifndef GRU_TRAIN_INTERNAL_H
#define GRU_TRAIN_INTERNAL_H

#include "gru_internal.h"
#include "gru_kernels.h"
#include "gru_train.h"
#include "gru_train_kernels.h"

/* Clang refuses noinline beside target_clones (GRU__DISPATCH), and never
 * inlines a multiversioned function anyway. */
#if defined(__GNUC__) && !defined(__clang__)
#define GRU__NOINLINE __attribute__((noinline))
#else
#define GRU__NOINLINE
#endif

static inline size_t gru__r8(size_t n) { return GRU_ROUND_UP(n, GRU_PACK_ROWS); }

/* ---------------------------------------------------------------- parameter layout */

typedef struct gru__param_offsets {
    size_t w_ih[GRU_MAX_LAYERS], w_hh_rz[GRU_MAX_LAYERS], w_hh_n[GRU_MAX_LAYERS];
    size_t b_ih[GRU_MAX_LAYERS], b_hh[GRU_MAX_LAYERS];
    size_t head_w, head_b, total;
} gru__param_offsets;

/* Offsets of every parameter in the flat layout (gru_train.h). Sizes only. */
static inline gru__param_offsets gru__param_layout(const gru_model *model)
{
    gru__param_offsets o;
    size_t at = 0;
    memset(&o, 0, sizeof o);
    for (int l = 0; l < model->num_layers; l++) {
        const int I = model->layers[l].input_size, H = model->layers[l].hidden_size;
        o.w_ih[l] = at;
        at += GRU_LAYER_W_IH_SIZE(I, H);
        o.w_hh_rz[l] = at;
        at += GRU_LAYER_W_HH_RZ_SIZE(H);
        o.w_hh_n[l] = at;
        at += GRU_LAYER_W_HH_N_SIZE(H);
        o.b_ih[l] = at;
        at += 3 * (size_t)H;
        o.b_hh[l] = at;
        at += 3 * (size_t)H;
    }
    o.head_w = o.head_b = at;
    if (model->has_head) {
        at += GRU_PACKED_SIZE(model->head.output_size, model->head.input_size);
        o.head_b = at;
        at += (size_t)model->head.output_size;
    }
    o.total = at;
    return o;
}

/* ---------------------------------------------------------------- workspace layout */

/* Regions of the workspace (see GRU_TRAIN_WORKSPACE_SIZE_FOR). Per-step arrays
 * are [t][b][...] with the current batch size as the b stride. A layer whose
 * steps backward never revisits keeps a ring of its last two states (hseq)
 * and no gates; NULL regions are not needed by the configuration. */
typedef struct gru__train_ws {
    float *hseq[GRU_MAX_LAYERS];   /* [T or 2][B][H_l]   h after step t */
    float *gates[GRU_MAX_LAYERS];  /* [T or 0][B][4H_l]  r, z, n, g (g = W_hn h + b_hn, or r*h) */
    int hfull[GRU_MAX_LAYERS], gfull[GRU_MAX_LAYERS];
    float *logits, *y, *dlogit;    /* [To][B][R(O)] */
    float *h0;                     /* [B][S] */
    float *w_ih_t, *w_rz_t, *w_n_t, *head_t;  /* transposed packed weights of one layer */
    float *dy_a, *dy_b;            /* [T][B][max(H, O)] output gradients, ping-pong */
    float *dh;                     /* [B][R(H)] gradient of the running state */
    float *d3, *d2, *dn;           /* [B][R(3H)], [B][R(2H)], [B][R(H)] gate gradients */
    float *xg, *hg, *gg;           /* gathered inputs, [k][B] */
    float *tmp_a, *tmp_b;          /* [B][rt] per-sequence temporaries */
    float *scratch;                /* 2 x gru_scratch_size (two sequences per pass; 1 x for B = 1) */
    size_t rt;                     /* row stride of tmp_a / tmp_b */
    int first;                     /* first trainable layer (num_layers: head only) */
    size_t total;
} gru__train_ws;

static inline size_t gru__sum_hidden(const gru_model *model)
{
    size_t s = 0;
    for (int l = 0; l < model->num_layers; l++)
        s += (size_t)model->layers[l].hidden_size;
    return s;
}

/* First trainable layer of a `trainable` choice (GRU_TRAIN_LAST on one layer
 * is GRU_TRAIN_ALL). */
static inline int gru__first_trainable(const gru_model *model, int trainable)
{
    const int L = model->num_layers;
    return trainable == GRU_TRAIN_HEAD ? L : trainable == GRU_TRAIN_LAST ? L - 1 : 0;
}

static inline size_t gru__zmax(size_t a, size_t b) { return a > b ? a : b; }

/* With ws == NULL only .total is meaningful. Follows GRU_TRAIN_WORKSPACE_SIZE_FOR
 * region by region, so the macro is never smaller. */
static inline gru__train_ws gru__ws_layout(const gru_model *model, float *ws, int max_batch,
                                           int max_steps, int return_sequences, int trainable,
                                           int low_memory)
{
    gru__train_ws w;
    const int L = model->num_layers, first = gru__first_trainable(model, trainable);
    const size_t B = (size_t)max_batch, T = (size_t)max_steps, S = gru__sum_hidden(model);
    const size_t H = (size_t)gru__max_hidden(model), O = (size_t)gru_model_output_size(model);
    const size_t RO = gru__r8(O), To = return_sequences ? T : 1, ring = T < 2 ? T : 2;
    size_t Ht = 0, It = 0; /* largest hidden / input size of the trainable layers */
    for (int l = first; l < L; l++) {
        Ht = gru__zmax(Ht, (size_t)model->layers[l].hidden_size);
        It = gru__zmax(It, (size_t)model->layers[l].input_size);
    }
    const int head_only = first == L;
    const size_t Htop = (size_t)model->layers[L - 1].hidden_size;
    const size_t IH = gru__zmax(It, Ht), HO = gru__zmax(Ht, O);
    size_t at = 0;
#define GRU__TAKE(ptr, n) do { (ptr) = ws ? ws + at : NULL; at += (n); } while (0)
    memset(&w, 0, sizeof w);
    w.first = first;
    for (int l = 0; l < L; l++) {
        w.hfull[l] = l >= first - 1 && !(head_only && !return_sequences);
        w.gfull[l] = l >= first;
        GRU__TAKE(w.hseq[l], (w.hfull[l] ? T : ring) * B * (size_t)model->layers[l].hidden_size);
    }
    for (int l = 0; l < L; l++)
        GRU__TAKE(w.gates[l], w.gfull[l] ? T * B * 4 * (size_t)model->layers[l].hidden_size : 0);
    GRU__TAKE(w.logits, To * B * RO);
    GRU__TAKE(w.y, To * B * RO);
    GRU__TAKE(w.dlogit, To * B * RO);
    GRU__TAKE(w.h0, B * S);
    if (!low_memory && !head_only) {
        if (trainable == GRU_TRAIN_ALL)
            GRU__TAKE(w.w_ih_t, gru__r8(IH) * 3 * Ht);
        GRU__TAKE(w.w_rz_t, gru__r8(Ht) * 2 * Ht);
        GRU__TAKE(w.w_n_t, gru__r8(Ht) * Ht);
        GRU__TAKE(w.head_t, gru__r8(Ht) * O);
    }
    if (!head_only) {
        GRU__TAKE(w.dy_a, T * B * (trainable == GRU_TRAIN_ALL ? HO : Htop));
        if (trainable == GRU_TRAIN_ALL)
            GRU__TAKE(w.dy_b, T * B * HO);
        GRU__TAKE(w.dh, B * gru__r8(Ht));
        GRU__TAKE(w.d3, B * gru__r8(3 * Ht));
        GRU__TAKE(w.d2, B * gru__r8(2 * Ht));
        GRU__TAKE(w.dn, B * gru__r8(Ht));
        GRU__TAKE(w.xg, IH * B);
        GRU__TAKE(w.gg, Ht * B);
    }
    GRU__TAKE(w.hg, (head_only ? Htop : Ht) * B);
    w.rt = head_only ? 0 : gru__r8(gru__zmax(IH, O));
    GRU__TAKE(w.tmp_a, B * w.rt);
    GRU__TAKE(w.tmp_b, B * w.rt);
    GRU__TAKE(w.scratch, (B > 1 ? 2 : 1) * GRU_SCRATCH_SIZE(H, O));
#undef GRU__TAKE
    w.total = at;
    return w;
}

/* Row t of layer l's saved states ([B][H_l]) and gates ([B][4H_l]). */
static inline float *gru__hrow(const gru__train_ws *w, const gru_model *model, int l, int t, int B)
{
    const size_t row = w->hfull[l] ? (size_t)t : (size_t)(t & 1);
    return w->hseq[l] + row * (size_t)B * (size_t)model->layers[l].hidden_size;
}

static inline float *gru__grow(const gru__train_ws *w, const gru_model *model, int l, int t, int B)
{
    if (!w->gfull[l] || !w->gates[l])
        return NULL; /* gates not kept (or a size-only layout) */
    return w->gates[l] + (size_t)t * (size_t)B * 4 * (size_t)model->layers[l].hidden_size;
}

/* lengths[b], or `steps` without lengths. */
static inline int gru__len(const gru_train *tr, int b)
{
    return tr->lengths ? (int)tr->lengths[b] : tr->steps;
}

#endif /* GRU_TRAIN_INTERNAL_H */
