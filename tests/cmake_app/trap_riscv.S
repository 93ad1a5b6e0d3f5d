/* The application's trap vector in assembly (picolibc's hosted crt0 does the
 * rest of the startup): installed from .init_array before main, it ends the
 * run with status 1 instead of picolibc's spinning handlers. mtvec is written
 * with .insn: plain csrw needs _zicsr in -march, which breaks picolibc's
 * multilib selection. */
    .section .text.app_trap, "ax", @progbits
    .balign 4
    .globl app_trap
app_trap:
    li a0, 1
    j _exit

    .text
    .globl app_install_trap
app_install_trap:
    la t0, app_trap
    .insn i SYSTEM, 1, x0, t0, 0x305
    ret

    .section .init_array, "aw"
#if __riscv_xlen == 64
    .balign 8
    .dword app_install_trap
#else
    .balign 4
    .word app_install_trap
#endif
