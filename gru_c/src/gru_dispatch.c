/* gru_dispatch.c - the dispatch map: which kernel stands behind each entry
 * point of gru_dispatch.h, decided here once per kind, and gru_kernel_name.
 *
 *   float    the portable kernels (gru_kernels.h, gru_cell.h), with the Arm
 *            block products where the build targets them (gru_kernel_arm.h)
 *            and Helium's own cell; with GRU_DISPATCH_X86 also compiled for
 *            AVX2 and AVX-512F (the same source: only the vector width
 *            changes, and the results do not).
 *   int8,    the x86 kernels (gru_kernel_x86.c) or the portable ones.
 *   integer
 *
 * Each kind is a table of rows (GRU__*_ROWS: a name and a kernel suffix) and
 * a function giving this build's row on this CPU. With GRU_DISPATCH_X86 the
 * entry points are GNU ifuncs whose resolvers the loader calls once (what
 * target_clones does, but usable across files with Clang too); otherwise the
 * row is a compile-time constant (the build's -m flags on x86) and the entry
 * points call it directly. Nothing is chosen per call, nothing is written at
 * run time. A new architecture is one kernel file and one row here. */
#include "gru_cell.h"
#include "gru_dispatch.h"
#include "gru_kernels.h"
#include "gru_kernel_x86.h"
#include "gru_kernel_arm_int.h"

#if GRU__DISPATCH_X86
#define GRU__RESOLVER __attribute__((used)) /* Clang counts no ifunc as a use */
#else
#define GRU__RESOLVER
#endif

/* pick(): the kernel of `name` in this build's row of its kind, for every
 * row r of ROWS(ROW) = ROW(r, names..., suffixes...) with CASE(row, ...) =
 * "case r: return the kernel". */
#define GRU__PICK(name, ROWS, row, CASE, ret_type, ...)                                           \
    GRU__RESOLVER static ret_type (*name##_pick(void))(__VA_ARGS__)                               \
    {                                                                                             \
        switch (row()) {                                                                          \
            ROWS(CASE)                                                                            \
        default: return name##_portable;                                                          \
        }                                                                                         \
    }

/* The entry point `name`: an ifunc resolved by pick(), or a call of it. */
#if GRU__DISPATCH_X86
#define GRU__ENTRY(name, pick, params, args) void name params __attribute__((ifunc(#pick "_pick")));
#else
#define GRU__ENTRY(name, pick, params, args)                                                      \
    void name params { pick##_pick() args; }
#endif

/* ---------------------------------------------------------------- float */

#if GRU__HELIUM
#define GRU__FLOAT_CELL(portable, mve) mve
#define GRU__FLOAT_NAME "helium"
#elif GRU__ARM_VMLA
#define GRU__FLOAT_CELL(portable, mve) portable
#define GRU__FLOAT_NAME "arm-vmla"
#else
#define GRU__FLOAT_CELL(portable, mve) portable
#define GRU__FLOAT_NAME "portable"
#endif

/* The float kernels compiled with the target attribute ISA (or none). */
#define GRU__FLOAT_KERNELS(ISA, sfx)                                                              \
    ISA static void gru__gemv_##sfx(const float *restrict w, int rows, int cols,                  \
                                    const float *restrict x, const float *restrict bias,          \
                                    float *restrict y)                                            \
    {                                                                                             \
        gru__gemm(w, rows, cols, x, 0, bias, y, 0, 1);                                            \
    }                                                                                             \
    ISA static void gru__cell_rz_##sfx(int n, const float *gi, float *gh)                         \
    {                                                                                             \
        GRU__FLOAT_CELL(gru__cell_rz_loop(n, gi, gh), gru__cell_rz_mve(n, gi, gh));               \
    }                                                                                             \
    ISA static void gru__cell_before_rz_##sfx(int H, const float *restrict gi, float *gh,         \
                                              const float *restrict h, float *restrict rh)        \
    {                                                                                             \
        GRU__FLOAT_CELL(gru__cell_before_rz_loop(H, gi, gh, h, rh, NULL, 0),                      \
                        gru__cell_before_rz_mve(H, gi, gh, h, rh));                               \
    }                                                                                             \
    GRU__CELL_N(ISA, sfx, after)                                                                  \
    GRU__CELL_N(ISA, sfx, before)

/* n and h, after or before reset (the same signature). */
#define GRU__CELL_N(ISA, sfx, when)                                                               \
    ISA static void gru__cell_##when##_##sfx(int H, const float *restrict gi,                     \
                                             const float *restrict gh, float *restrict ghn,       \
                                             float *restrict h, float *restrict tmp)              \
    {                                                                                             \
        (void)tmp;                                                                                \
        GRU__FLOAT_CELL(gru__cell_##when##_loop(H, gi, gh, ghn, h, h, NULL, 0),                   \
                        gru__cell_##when##_mve(H, gi, gh, ghn, h, tmp));                          \
    }

/* The kernel of gru_sequence's lock-step lanes, where there are several. */
#define GRU__LANES_KERNEL(ISA, sfx)                                                               \
    ISA static void gru__gemm_lanes_##sfx(const float *restrict w, int rows, int cols,            \
                                          const float *restrict x, size_t x_stride,               \
                                          const float *restrict bias, float *restrict y,          \
                                          size_t y_stride)                                        \
    {                                                                                             \
        gru__gemm(w, rows, cols, x, x_stride, bias, y, y_stride, GRU_SEQUENCE_LANES);             \
    }

GRU__FLOAT_KERNELS(, portable)
#if GRU_SEQUENCE_LANES > 1
GRU__LANES_KERNEL(, portable)
#endif

#if GRU__DISPATCH_X86
GRU__FLOAT_KERNELS(__attribute__((target("avx2"))), avx2)
GRU__FLOAT_KERNELS(__attribute__((target("avx512f"))), avx512f)
GRU__LANES_KERNEL(__attribute__((target("avx2"))), avx2)
GRU__LANES_KERNEL(__attribute__((target("avx512f"))), avx512f)
#define GRU__FLOAT_ROWS(ROW)                                                                      \
    ROW(0, GRU__FLOAT_NAME, portable)                                                             \
    ROW(1, "portable-avx2", avx2)                                                                 \
    ROW(2, "portable-avx512f", avx512f)

static int gru__float_row(void)
{
    __builtin_cpu_init(); /* resolvers run before constructors */
    return __builtin_cpu_supports("avx512f") ? 2 : __builtin_cpu_supports("avx2") ? 1 : 0;
}
#else
#define GRU__FLOAT_ROWS(ROW) ROW(0, GRU__FLOAT_NAME, portable)
static int gru__float_row(void) { return 0; }
#endif

#define GRU__F_CASE_gru__gemv(r, n, sfx) case r: return gru__gemv_##sfx;
#define GRU__F_CASE_gru__gemm_lanes(r, n, sfx) case r: return gru__gemm_lanes_##sfx;
#define GRU__F_CASE_gru__cell_rz(r, n, sfx) case r: return gru__cell_rz_##sfx;
#define GRU__F_CASE_gru__cell_after(r, n, sfx) case r: return gru__cell_after_##sfx;
#define GRU__F_CASE_gru__cell_before_rz(r, n, sfx) case r: return gru__cell_before_rz_##sfx;
#define GRU__F_CASE_gru__cell_before(r, n, sfx) case r: return gru__cell_before_##sfx;
#define GRU__F_PICK(name, ...)                                                                    \
    GRU__PICK(name, GRU__FLOAT_ROWS, gru__float_row, GRU__F_CASE_##name, void, __VA_ARGS__)
GRU__F_PICK(gru__gemv, const float *, int, int, const float *, const float *, float *)
GRU__F_PICK(gru__cell_rz, int, const float *, float *)
GRU__F_PICK(gru__cell_after, int, const float *, const float *, float *, float *, float *)
GRU__F_PICK(gru__cell_before_rz, int, const float *, float *, const float *, float *)
GRU__F_PICK(gru__cell_before, int, const float *, const float *, float *, float *, float *)

GRU__ENTRY(gru__gemv, gru__gemv,
           (const float *w, int rows, int cols, const float *x, const float *bias, float *y),
           (w, rows, cols, x, bias, y))
GRU__ENTRY(gru__cell_rz, gru__cell_rz, (int n, const float *gi, float *gh), (n, gi, gh))
GRU__ENTRY(gru__cell_after, gru__cell_after,
           (int H, const float *gi, const float *gh, float *ghn, float *h, float *tmp),
           (H, gi, gh, ghn, h, tmp))
GRU__ENTRY(gru__cell_before_rz, gru__cell_before_rz,
           (int H, const float *gi, float *gh, const float *h, float *rh), (H, gi, gh, h, rh))
GRU__ENTRY(gru__cell_before, gru__cell_before,
           (int H, const float *gi, const float *gh, float *ghn, float *h, float *tmp),
           (H, gi, gh, ghn, h, tmp))
#if GRU_SEQUENCE_LANES > 1
GRU__F_PICK(gru__gemm_lanes, const float *, int, int, const float *, size_t, const float *,
            float *, size_t)
GRU__ENTRY(gru__gemm_lanes, gru__gemm_lanes,
           (const float *w, int rows, int cols, const float *x, size_t x_stride,
            const float *bias, float *y, size_t y_stride),
           (w, rows, cols, x, x_stride, bias, y, y_stride))
#endif

void gru__activate_k(int activation, float *v, int n) { gru__activate(activation, v, n); }

/* The cell of layers with other activations: gru_cell.h's loops, portable
 * on every target, the activation chosen per element (one copy of each loop:
 * these layers are rare, firmware flash is not). */
void gru__cell_rz_act(int n, const float *gi, float *gh, int ga) { gru__cell_rz_loop_act(n, gi, gh, ga); }

void gru__cell_before_rz_act(int H, const float *gi, float *gh, const float *h, float *rh, int ga)
{
    gru__cell_before_rz_loop_act(H, gi, gh, h, rh, NULL, 0, ga);
}

void gru__cell_n_act(int reset_after, int H, const float *gi, const float *gh, const float *ghn,
                     float *h, int ca)
{
    if (reset_after)
        gru__cell_after_loop_act(H, gi, gh, ghn, h, h, NULL, 0, ca);
    else
        gru__cell_before_loop_act(H, gi, gh, ghn, h, h, NULL, 0, ca);
}

/* The public activations live here too, beside the kernels that inline them
 * (one copy of them in a firmware image). */
float gru_tanh(float x) { return gru__tanh(x); }
float gru_sigmoid(float x) { return gru__sigmoid(x); }

/* ---------------------------------------------------------------- quantized: portable */

static void gru__q8_gemv_portable(const int8_t *w, int rows, int cols, const float *x,
                                  const float *scale, const float *bias, float *y)
{
    gru__q8_gemv(w, rows, cols, x, scale, bias, y);
}

static void gru__qi_gemv_portable(const int8_t *w, int rows, int cols, const int16_t *x16,
                                  const int32_t *x32, const int32_t *mult, const int8_t *shift,
                                  const int32_t *bias, int32_t *y)
{
    gru__qi_gemv(w, rows, cols, x16, x32, mult, shift, bias, y);
}

static void gru__qi_cell_after_portable(int H, const int32_t *gi, int32_t *gh, int16_t *h)
{
    gru__qi_cell_after_loop(0, H, gi, gh, h);
}

static void gru__qi_cell_before_rz_portable(int H, const int32_t *gi, int32_t *gh,
                                            const int16_t *h, int32_t *rh)
{
    gru__qi_cell_before_rz_loop(0, H, gi, gh, h, rh);
}

static void gru__qi_cell_before_portable(int H, const int32_t *gi, int32_t *gh, int16_t *h)
{
    gru__qi_cell_before_loop(0, H, gi, gh, h);
}

/* ---------------------------------------------------------------- quantized: the map */

/* Row r of the map: the names of the int8 and integer kernels, then the
 * suffixes of the int8 product, the integer product and the integer cell.
 * gru__q_row() is the row this build runs on this CPU. */
#define GRU__Q_ROWS(ROW)                                                                          \
    ROW(0, "portable", "portable", portable, portable, portable)                                 \
    GRU__X86_ROWS(ROW)                                                                            \
    GRU__ARM_ROWS(ROW)

#if GRU__QI_HELIUM
#define GRU__ARM_ROWS(ROW) ROW(3, "portable", "helium", portable, helium, portable)
#define GRU__ARM_ROW 3
#elif GRU__QI_ARM_DSP
#define GRU__ARM_ROWS(ROW) ROW(3, "portable", "arm-dsp", portable, dsp, portable)
#define GRU__ARM_ROW 3
#else
#define GRU__ARM_ROWS(ROW)
#define GRU__ARM_ROW 0
#endif

#if GRU__X86
#define GRU__X86_ROWS(ROW)                                                                        \
    ROW(1, "avx2", "avx2", avx2, avx2, avx2)                                                      \
    ROW(2, "avx2", "avx512-vnni", avx2, avx512, avx512)

#if defined(GRU_NO_AVX512_KERNEL) /* tests: the AVX2 kernels on an AVX-512 machine */
#define GRU__X86_AVX512_OK 0
#else
#define GRU__X86_AVX512_OK 1
#endif

static int gru__q_row(void)
{
#if GRU__DISPATCH_X86
    __builtin_cpu_init(); /* resolvers run before constructors */
    if (GRU__X86_AVX512_OK && __builtin_cpu_supports("avx512vnni") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
        return 2;
    return __builtin_cpu_supports("avx2") ? 1 : 0;
#elif defined(__AVX512VNNI__) && defined(__AVX512BW__) && defined(__AVX512VL__)
    return GRU__X86_AVX512_OK ? 2 : 1;
#elif defined(__AVX2__)
    return 1;
#else
    return 0;
#endif
}
#else
#define GRU__X86_ROWS(ROW)
static int gru__q_row(void) { return GRU__ARM_ROW; }
#endif

/* One resolver per entry point: the kernel of the map's row. With
 * GRU_DISPATCH_X86 the loader calls it once (ifunc); otherwise the entry
 * point calls what it returns, a constant the compiler folds. */
#define GRU__Q_PICK(name, ...)                                                                    \
    GRU__PICK(name, GRU__Q_ROWS, gru__q_row, GRU__PICK_CASE_##name, void, __VA_ARGS__)
#define GRU__PICK_CASE_gru__q8_gemv(r, n8, ni, q8, qi, cell) case r: return gru__q8_gemv_##q8;
#define GRU__PICK_CASE_gru__qi_gemv(r, n8, ni, q8, qi, cell) case r: return gru__qi_gemv_##qi;
#define GRU__PICK_CASE_gru__qi_cell_after(r, n8, ni, q8, qi, cell) case r: return gru__qi_cell_after_##cell;
#define GRU__PICK_CASE_gru__qi_cell_before_rz(r, n8, ni, q8, qi, cell) case r: return gru__qi_cell_before_rz_##cell;
#define GRU__PICK_CASE_gru__qi_cell_before(r, n8, ni, q8, qi, cell) case r: return gru__qi_cell_before_##cell;
GRU__Q_PICK(gru__q8_gemv, const int8_t *, int, int, const float *, const float *, const float *,
          float *)
GRU__Q_PICK(gru__qi_gemv, const int8_t *, int, int, const int16_t *, const int32_t *,
             const int32_t *, const int8_t *, const int32_t *, int32_t *)
GRU__Q_PICK(gru__qi_cell_after, int, const int32_t *, int32_t *, int16_t *)
GRU__Q_PICK(gru__qi_cell_before_rz, int, const int32_t *, int32_t *, const int16_t *,
             int32_t *)
GRU__Q_PICK(gru__qi_cell_before, int, const int32_t *, int32_t *, int16_t *)

GRU__ENTRY(gru__q8_gemv_k, gru__q8_gemv,
                (const int8_t *w, int rows, int cols, const float *x, const float *scale,
                 const float *bias, float *y),
                (w, rows, cols, x, scale, bias, y))
GRU__ENTRY(gru__qi_gemv_k, gru__qi_gemv,
                (const int8_t *w, int rows, int cols, const int16_t *x16, const int32_t *x32,
                 const int32_t *mult, const int8_t *shift, const int32_t *bias, int32_t *y),
                (w, rows, cols, x16, x32, mult, shift, bias, y))
GRU__ENTRY(gru__qi_cell_after_k, gru__qi_cell_after,
                (int H, const int32_t *gi, int32_t *gh, int16_t *h), (H, gi, gh, h))
GRU__ENTRY(gru__qi_cell_before_rz_k, gru__qi_cell_before_rz,
                (int H, const int32_t *gi, int32_t *gh, const int16_t *h, int32_t *rh),
                (H, gi, gh, h, rh))
GRU__ENTRY(gru__qi_cell_before_k, gru__qi_cell_before,
                (int H, const int32_t *gi, int32_t *gh, int16_t *h), (H, gi, gh, h))

/* ---------------------------------------------------------------- names */

const char *gru_kernel_name(int kind)
{
#define GRU__F_NAME(r, n, sfx) case r: return n;
#define GRU__Q_NAME(r, n8, ni, q8, qi, cell) case r: return kind == GRU_KERNEL_INT8 ? n8 : ni;
    switch (kind) {
    case GRU_KERNEL_FLOAT:
        switch (gru__float_row()) {
            GRU__FLOAT_ROWS(GRU__F_NAME)
        default: return GRU__FLOAT_NAME;
        }
    case GRU_KERNEL_INT8:
    case GRU_KERNEL_INTEGER:
        switch (gru__q_row()) {
            GRU__Q_ROWS(GRU__Q_NAME)
        default: return "portable";
        }
    default: return NULL;
    }
#undef GRU__F_NAME
#undef GRU__Q_NAME
}

int gru_kernels_dispatched(void) { return GRU__DISPATCH_X86; }
