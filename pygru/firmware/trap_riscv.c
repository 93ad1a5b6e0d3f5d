/*
 * trap_riscv.c - RISC-V machine-mode trap vector for images run under QEMU
 * virt with picolibc (--crt0=hosted --oslib=semihost).
 *
 * picolibc's own trap handlers spin, so a bad access or an illegal instruction
 * would hang QEMU until the timeout. A constructor (run by the hosted crt0
 * before main) points mtvec at a stub that exits through semihosting with
 * status 1. mtvec is written with `.insn`: plain `csrw` needs `_zicsr` in
 * -march with binutils 2.40, which breaks picolibc's multilib selection.
 */
#include <stdint.h>

extern void _exit(int status);
void startup_trap(void);
void startup_trap_exit(void);

__asm__(".section .text.startup_trap,\"ax\",@progbits\n"
        ".balign 4\n"
        ".globl startup_trap\n"
        "startup_trap:\n"
        "    j startup_trap_exit\n");

void startup_trap_exit(void) { _exit(1); }

__attribute__((constructor)) static void startup_trap_install(void)
{
    const uintptr_t vector = (uintptr_t)&startup_trap;
    __asm__ volatile(".insn i SYSTEM, 1, x0, %0, 0x305" : : "r"(vector) : "memory");
}
