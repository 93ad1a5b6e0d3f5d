/*
 * startup_cortexm.c - bare-metal startup for the Cortex-M images that
 * pygru/firmware/fwbuild.py runs under QEMU (newlib + librdimon semihosting).
 *
 * Reset: enable the FPU and MVE (CPACR CP10/CP11; a no-op on cores without
 * them), copy .data from flash, zero .bss, open the semihosting handles, then
 * exit(main()). The stack comes from the linker script (cortexm.ld), not from
 * SYS_HEAPINFO, which lands inside code on mps3-an547. Every fault vector exits
 * through semihosting with status 1, so a fault never becomes a QEMU lockup or
 * a hang.
 */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t __data_load__[], __data_start__[], __data_end__[];
extern uint32_t __bss_start__[], __bss_end__[];
extern uint32_t __stack_top__[];

extern int main(void);
extern void initialise_monitor_handles(void);
extern void _exit(int status);

void startup_reset(void);
void startup_fault(void);

/* Linking with -nostartfiles drops crti/crtn; exit() still calls _fini. */
void _init(void);
void _fini(void);
void _init(void) {}
void _fini(void) {}

#define CPACR (*(volatile uint32_t *)0xE000ED88u)

void startup_reset(void)
{
    /* Full access to CP10/CP11 (FPU; on v8.1-M also MVE) before any code that
     * the compiler might vectorize or give floating-point registers. */
    CPACR |= 0xFu << 20;
    __asm__ volatile("dsb\n\tisb" ::: "memory");
    volatile uint32_t *src = __data_load__;
    for (volatile uint32_t *dst = __data_start__; dst < __data_end__;)
        *dst++ = *src++;
    for (volatile uint32_t *dst = __bss_start__; dst < __bss_end__;)
        *dst++ = 0;
    initialise_monitor_handles();
    exit(main());
}

void startup_fault(void) { _exit(1); }

/* Initial stack pointer, reset, then NMI .. SysTick (15 system vectors) and a
 * few external interrupts, all pointing at the fault handler. */
__attribute__((section(".vectors"), used)) static void (*const startup_vectors[32])(void) = {
    (void (*)(void))(uintptr_t)__stack_top__,
    startup_reset,
    startup_fault, startup_fault, startup_fault, startup_fault, startup_fault, startup_fault,
    startup_fault, startup_fault, startup_fault, startup_fault, startup_fault, startup_fault,
    startup_fault, startup_fault, startup_fault, startup_fault, startup_fault, startup_fault,
    startup_fault, startup_fault, startup_fault, startup_fault, startup_fault, startup_fault,
    startup_fault, startup_fault, startup_fault, startup_fault, startup_fault, startup_fault,
};
