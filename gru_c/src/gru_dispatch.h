/*
 * gru_dispatch.h - the dispatch seam (gru__ prefix, private): the kernel
 * entry points that the layer steps of every path call. Which kernel stands
 * behind each one (portable, AVX2, AVX-512 VNNI, Arm VMLA, Helium) is decided
 * in gru_dispatch.c, once per kind, and gru_kernel_name() reports it:
 *
 *   GRU_KERNEL_FLOAT    gru__gemv, gru__gemm_lanes, gru__cell_*, gru__activate_k
 *   GRU_KERNEL_INT8     gru__q8_gemv_k
 *   GRU_KERNEL_INTEGER  gru__qi_gemv_k, gru__qi_cell_*_k
 *
 * Each kernel computes what its portable form (gru_kernels.h, gru_cell.h)
 * computes, bit for bit. Out of line: a call costs a few ns next to a matrix
 * product, and inlining gru__gemm at every call site made 435 KB of x86 text.
 */
#ifndef GRU_DISPATCH_H
#define GRU_DISPATCH_H

#include "gru_base.h"

/* ---------------------------------------------------------------- float */

/* y = bias + W x (gru__gemm, one vector), and for GRU_SEQUENCE_LANES vectors. */
void gru__gemv(const float *restrict w, int rows, int cols, const float *restrict x,
               const float *restrict bias, float *restrict y);
#if GRU_SEQUENCE_LANES > 1
void gru__gemm_lanes(const float *restrict w, int rows, int cols, const float *restrict x,
                     size_t x_stride, const float *restrict bias, float *restrict y,
                     size_t y_stride);
#endif

/* The float cell of one sequence (gru_cell.h), in place (h_out = h, no saved
 * gates); tmp is H floats the kernel may use as scratch.
 *   gru__cell_rz         reset_after, r and z (n = 2H)
 *   gru__cell_after      reset_after, n and h
 *   gru__cell_before_rz  reset_before, z and r * h
 *   gru__cell_before     reset_before, n and h */
void gru__cell_rz(int n, const float *gi, float *gh);
void gru__cell_after(int H, const float *gi, const float *gh, float *ghn, float *h, float *tmp);
void gru__cell_before_rz(int H, const float *gi, float *gh, const float *h, float *rh);
void gru__cell_before(int H, const float *gi, const float *gh, float *ghn, float *h, float *tmp);

/* The cell of a layer with other activations (ga: its recurrent_activation,
 * ca: its activation; gru_cell.h's *_act loops), one sequence, in place,
 * portable on every target: r and z (reset_after), z and r * h
 * (reset_before), then n and h (either). */
void gru__cell_rz_act(int n, const float *gi, float *gh, int ga);
void gru__cell_before_rz_act(int H, const float *gi, float *gh, const float *h, float *rh, int ga);
void gru__cell_n_act(int reset_after, int H, const float *gi, const float *gh, const float *ghn,
                     float *h, int ca);

/* The dense head's activation in place over n values (gru__activate), out
 * of line beside the cell kernels, so that a firmware image holds one copy
 * of the activations. */
void gru__activate_k(int activation, float *v, int n);

/* gru__gemm for lanes == 1 or GRU_SEQUENCE_LANES. */
static inline void gru__gemm_call(const float *restrict w, int rows, int cols,
                                  const float *restrict x, size_t x_stride,
                                  const float *restrict bias, float *restrict y, size_t y_stride,
                                  int lanes)
{
#if GRU_SEQUENCE_LANES > 1
    if (lanes > 1) {
        gru__gemm_lanes(w, rows, cols, x, x_stride, bias, y, y_stride);
        return;
    }
#endif
    (void)x_stride;
    (void)y_stride;
    (void)lanes;
    gru__gemv(w, rows, cols, x, bias, y);
}

/* ---------------------------------------------------------------- int8 weights, float math */

/* y = bias + scale * (Q x) (gru__q8_gemv). */
void gru__q8_gemv_k(const int8_t *w, int rows, int cols, const float *x, const float *scale,
                    const float *bias, float *y);

/* ---------------------------------------------------------------- integer */

/* y = requant(Q x) (gru__qi_gemv), and the integer cell (gru__qi_cell_*_loop
 * over all H units; gh may be overwritten). */
void gru__qi_gemv_k(const int8_t *w, int rows, int cols, const int16_t *x16, const int32_t *x32,
                    const int32_t *mult, const int8_t *shift, const int32_t *bias, int32_t *y);
void gru__qi_cell_after_k(int H, const int32_t *gi, int32_t *gh, int16_t *h);
void gru__qi_cell_before_rz_k(int H, const int32_t *gi, int32_t *gh, const int16_t *h,
                              int32_t *rh);
void gru__qi_cell_before_k(int H, const int32_t *gi, int32_t *gh, int16_t *h);

#endif /* GRU_DISPATCH_H */
