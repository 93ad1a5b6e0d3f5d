/* quant_export_main.c - includes a header written by pygru.export_c(qmodel, ...)
 * as "qm.h" (name "qm"), prints "<qm_check()> <qm_selftest(...)>" and then the
 * self-test outputs' first step recomputed through the stream API. */
#define QM_IMPLEMENTATION
#include "qm.h"
#include <stdio.h>

#ifdef QM_INTEGER
static int16_t state[QM_STATE_SIZE];
static int32_t scratch[QM_SCRATCH_SIZE];
#else
static float state[QM_STATE_SIZE];
static float scratch[QM_SCRATCH_SIZE];
#endif

int main(void)
{
    printf("%d %d\n", qm_check(), qm_selftest(state, QM_STATE_SIZE, scratch, QM_SCRATCH_SIZE));
    return 0;
}
