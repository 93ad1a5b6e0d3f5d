# gru_c's cross targets: the one table of what each target needs. Read by
# gru_c/Makefile (include), gru_c/cmake/gru-toolchain.cmake (file(STRINGS)) and
# pygru/firmware/fwbuild.py; change a flag here and all three follow.
#
# Format (valid make syntax; values are space-separated flags, never quoted).
# An architecture (arm, riscv) holds what its targets share, one
# `ARCH.FIELD = value` a line:
#   prefix  toolchain prefix: PREFIXgcc, PREFIXg++, PREFIXar, PREFIXsize ...
#   libc    C library: newlib (Arm) or picolibc (RISC-V)
#   specs   C library selection, passed to every compile and to the link
#   link    link flags of a bare-metal test image that runs under `qemu` with
#           semihosting; -T names a script found through -L (pygru/firmware/)
#   startup startup source in pygru/firmware/ that such an image links
# A target is one row, `NAME = ARCH FPU | CPU | QEMU`:
#   ARCH    arm or riscv
#   FPU     none, sp (single precision), dp (double) or mve (Helium)
#   CPU     CPU, FPU and ABI flags: every compile (C, C++, assembly) and the link
#   QEMU    QEMU program and machine, up to the semihosting options
# Memory maps and why each machine: pygru/firmware/cortexm.ld.

GRU_TARGETS = cortex-m0 cortex-m3 cortex-m4f cortex-m7 cortex-m55 rv32imac rv32imafc rv64gc

arm.prefix = arm-none-eabi-
arm.libc = newlib
arm.specs =
arm.link = -nostartfiles --specs=rdimon.specs -T cortexm.ld
arm.startup = startup_cortexm.c

# picolibc's own linker script placed with --defsym on QEMU virt's RAM at
# 0x80000000; --crt0=hosted is the crt0 that calls exit(main()) (the default
# one never returns).
riscv.prefix = riscv64-unknown-elf-
riscv.libc = picolibc
riscv.specs = --specs=picolibc.specs
riscv.link = --oslib=semihost --crt0=hosted -Wl,--defsym=__flash=0x80000000 -Wl,--defsym=__flash_size=0x200000 -Wl,--defsym=__ram=0x80200000 -Wl,--defsym=__ram_size=0x200000 -Wl,--defsym=__stack_size=0x8000
riscv.startup = trap_riscv.c

# The M0 image also runs on -M microbit (real M0, 16 KB RAM); mps2-an385 (an M3
# core) lets one linker script serve every Arm target.
#          ARCH  FPU  | CPU                                                       | QEMU
cortex-m0  = arm   none | -mcpu=cortex-m0 -mthumb -mfloat-abi=soft                   | qemu-system-arm -M mps2-an385
cortex-m3  = arm   none | -mcpu=cortex-m3 -mthumb -mfloat-abi=soft                   | qemu-system-arm -M mps2-an385
cortex-m4f = arm   sp   | -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16 | qemu-system-arm -M mps2-an386
cortex-m7  = arm   dp   | -mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16    | qemu-system-arm -M mps2-an500
cortex-m55 = arm   mve  | -mcpu=cortex-m55 -mthumb -mfloat-abi=hard                  | qemu-system-arm -M mps3-an547
rv32imac   = riscv none | -march=rv32imac -mabi=ilp32 -mcmodel=medany                | qemu-system-riscv32 -M virt -bios none
rv32imafc  = riscv sp   | -march=rv32imafc -mabi=ilp32f -mcmodel=medany              | qemu-system-riscv32 -M virt -bios none
rv64gc     = riscv dp   | -march=rv64imafdc -mabi=lp64d -mcmodel=medany              | qemu-system-riscv64 -M virt -bios none
