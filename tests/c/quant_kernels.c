/* quant_kernels.c - pygru/firmware/quant_infer.c's run of "quant_case.h",
 * preceded by a line "kernel <name>" naming the integer kernel that this
 * build runs on this CPU (gru_kernel_name: portable, avx2 or avx512-vnni),
 * so that tests/test_quant.py can check that each forced build
 * (GRU_PORTABLE_KERNEL, GRU_NO_AVX512_KERNEL, neither) really ran the kernel
 * it is named after. */
#include <stdio.h>

#include "gru.h"

#define main quant_infer_main
#include "quant_infer.c"
#undef main

int main(void)
{
    printf("kernel %s\n", gru_kernel_name(GRU_KERNEL_INTEGER));
    return quant_infer_main();
}
