/* The application's startup in assembly, for pygru/firmware/cortexm.ld: vector
 * table, FPU on (CPACR CP10/CP11), .data copied, .bss zeroed, semihosting
 * handles opened, exit(main()). Faults exit with status 1. No .cpu or .thumb
 * here: the CPU comes from the toolchain file's ASM flags, as in firmware
 * projects (without them this assembles for ARMv4T and fails on dsb). */
    .syntax unified

    .section .vectors, "a"
    .word __stack_top__
    .word startup_reset
    .rept 30
    .word startup_fault
    .endr

    .text
    .global startup_reset
    .type startup_reset, %function
startup_reset:
    ldr r0, =0xE000ED88
    ldr r1, [r0]
    orr r1, r1, #0x00F00000
    str r1, [r0]
    dsb
    isb
    ldr r0, =__data_load__
    ldr r1, =__data_start__
    ldr r2, =__data_end__
1:  cmp r1, r2
    bhs 2f
    ldr r3, [r0], #4
    str r3, [r1], #4
    b 1b
2:  ldr r1, =__bss_start__
    ldr r2, =__bss_end__
    movs r3, #0
3:  cmp r1, r2
    bhs 4f
    str r3, [r1], #4
    b 3b
4:  bl initialise_monitor_handles
    bl main
    bl exit

    .global startup_fault
    .type startup_fault, %function
startup_fault:
    movs r0, #1
    bl _exit

/* -nostartfiles drops crti/crtn; newlib's exit() still calls _fini. */
    .global _init
    .type _init, %function
_init:
    bx lr
    .global _fini
    .type _fini, %function
_fini:
    bx lr
