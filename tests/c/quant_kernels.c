/* quant_kernels.c - tools/firmware/quant_infer.c's run of "quant_case.h",
 * preceded by a line "kernel <name>" naming the integer kernel that this
 * build dispatches to on this CPU (portable, avx2 or avx512vnni), so that
 * tests/test_quant.py can check that each forced build (GRU_PORTABLE_KERNEL,
 * GRU_NO_AVX512_KERNEL, neither) really ran the kernel it is named after.
 * Includes gru_quant.c to reach its private dispatch predicates. */
#include <stdio.h>

#include "gru_quant.c"

#define main quant_infer_main
#include "quant_infer.c"
#undef main

int main(void)
{
#if GRU__QX86
    puts(gru__x86_avx512vnni() ? "kernel avx512vnni" : gru__x86_avx2() ? "kernel avx2" : "kernel portable");
#else
    puts("kernel portable");
#endif
    return quant_infer_main();
}
