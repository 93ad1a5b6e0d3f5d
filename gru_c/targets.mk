# gru_c's cross targets: the one table of what each target needs. Read by
# gru_c/Makefile (include), gru_c/cmake/gru-toolchain.cmake (file(STRINGS)) and
# pygru/firmware/fwbuild.py; change a flag here and all three follow.
#
# Format: one `NAME.FIELD = value` per line (valid make syntax; values are
# space-separated flags, never quoted). An architecture (arm, riscv) holds what
# its targets share; a target names its architecture and adds its own fields.
# Architecture fields:
#   prefix  toolchain prefix: PREFIXgcc, PREFIXg++, PREFIXar, PREFIXsize ...
#   libc    C library: newlib (Arm) or picolibc (RISC-V)
#   specs   C library selection, passed to every compile and to the link
#   link    link flags of a bare-metal test image that runs under `qemu` with
#           semihosting; -T names a script found through -L (pygru/firmware/)
#   startup startup source in pygru/firmware/ that such an image links
# Target fields:
#   arch    arm or riscv
#   cpu     CPU, FPU and ABI flags: every compile (C, C++, assembly) and the link
#   qemu    QEMU program and machine, up to the semihosting options
#   fpu     none, sp (single precision), dp (double) or mve (Helium)
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
cortex-m0.arch = arm
cortex-m0.cpu = -mcpu=cortex-m0 -mthumb -mfloat-abi=soft
cortex-m0.qemu = qemu-system-arm -M mps2-an385
cortex-m0.fpu = none

cortex-m3.arch = arm
cortex-m3.cpu = -mcpu=cortex-m3 -mthumb -mfloat-abi=soft
cortex-m3.qemu = qemu-system-arm -M mps2-an385
cortex-m3.fpu = none

cortex-m4f.arch = arm
cortex-m4f.cpu = -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
cortex-m4f.qemu = qemu-system-arm -M mps2-an386
cortex-m4f.fpu = sp

cortex-m7.arch = arm
cortex-m7.cpu = -mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16
cortex-m7.qemu = qemu-system-arm -M mps2-an500
cortex-m7.fpu = dp

cortex-m55.arch = arm
cortex-m55.cpu = -mcpu=cortex-m55 -mthumb -mfloat-abi=hard
cortex-m55.qemu = qemu-system-arm -M mps3-an547
cortex-m55.fpu = mve

rv32imac.arch = riscv
rv32imac.cpu = -march=rv32imac -mabi=ilp32 -mcmodel=medany
rv32imac.qemu = qemu-system-riscv32 -M virt -bios none
rv32imac.fpu = none

rv32imafc.arch = riscv
rv32imafc.cpu = -march=rv32imafc -mabi=ilp32f -mcmodel=medany
rv32imafc.qemu = qemu-system-riscv32 -M virt -bios none
rv32imafc.fpu = sp

rv64gc.arch = riscv
rv64gc.cpu = -march=rv64imafdc -mabi=lp64d -mcmodel=medany
rv64gc.qemu = qemu-system-riscv64 -M virt -bios none
rv64gc.fpu = dp
