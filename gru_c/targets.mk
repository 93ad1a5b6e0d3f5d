# gru_c's cross targets: the one table of what each target needs. Read by
# gru_c/Makefile (include), gru_c/cmake/gru-toolchain.cmake (file(STRINGS)) and
# pygru/firmware/fwbuild.py; change a flag here and all three follow.
#
# Format: one `TARGET.FIELD = value` per line (valid make syntax; values are
# space-separated flags, never quoted). Fields:
#   prefix  toolchain prefix: PREFIXgcc, PREFIXg++, PREFIXar, PREFIXsize ...
#   cpu     CPU, FPU and ABI flags: every compile (C, C++, assembly) and the link
#   libc    C library: newlib (Arm) or picolibc (RISC-V)
#   specs   C library selection, passed to every compile and to the link
#   link    link flags of a bare-metal test image that runs under `qemu` with
#           semihosting; -T names a script found through -L (pygru/firmware/)
#   startup startup source in pygru/firmware/ that such an image links
#   qemu    QEMU program and machine, up to the semihosting options
#   fpu     none, sp (single precision), dp (double) or mve (Helium)
# Memory maps and why each machine: /work/shared/EMBEDDED.md, pygru/firmware/cortexm.ld.

GRU_TARGETS = cortex-m0 cortex-m3 cortex-m4f cortex-m7 cortex-m55 rv32imac rv32imafc rv64gc

# The M0 image also runs on -M microbit (real M0, 16 KB RAM); mps2-an385 (an M3
# core) lets one linker script serve every Arm target.
cortex-m0.prefix = arm-none-eabi-
cortex-m0.cpu = -mcpu=cortex-m0 -mthumb -mfloat-abi=soft
cortex-m0.libc = newlib
cortex-m0.specs =
cortex-m0.link = -nostartfiles --specs=rdimon.specs -T cortexm.ld
cortex-m0.startup = startup_cortexm.c
cortex-m0.qemu = qemu-system-arm -M mps2-an385
cortex-m0.fpu = none

cortex-m3.prefix = arm-none-eabi-
cortex-m3.cpu = -mcpu=cortex-m3 -mthumb -mfloat-abi=soft
cortex-m3.libc = newlib
cortex-m3.specs =
cortex-m3.link = -nostartfiles --specs=rdimon.specs -T cortexm.ld
cortex-m3.startup = startup_cortexm.c
cortex-m3.qemu = qemu-system-arm -M mps2-an385
cortex-m3.fpu = none

cortex-m4f.prefix = arm-none-eabi-
cortex-m4f.cpu = -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
cortex-m4f.libc = newlib
cortex-m4f.specs =
cortex-m4f.link = -nostartfiles --specs=rdimon.specs -T cortexm.ld
cortex-m4f.startup = startup_cortexm.c
cortex-m4f.qemu = qemu-system-arm -M mps2-an386
cortex-m4f.fpu = sp

cortex-m7.prefix = arm-none-eabi-
cortex-m7.cpu = -mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16
cortex-m7.libc = newlib
cortex-m7.specs =
cortex-m7.link = -nostartfiles --specs=rdimon.specs -T cortexm.ld
cortex-m7.startup = startup_cortexm.c
cortex-m7.qemu = qemu-system-arm -M mps2-an500
cortex-m7.fpu = dp

cortex-m55.prefix = arm-none-eabi-
cortex-m55.cpu = -mcpu=cortex-m55 -mthumb -mfloat-abi=hard
cortex-m55.libc = newlib
cortex-m55.specs =
cortex-m55.link = -nostartfiles --specs=rdimon.specs -T cortexm.ld
cortex-m55.startup = startup_cortexm.c
cortex-m55.qemu = qemu-system-arm -M mps3-an547
cortex-m55.fpu = mve

# RISC-V: picolibc's own linker script placed with --defsym on QEMU virt's RAM
# at 0x80000000; --crt0=hosted is the crt0 that calls exit(main()) (the default
# one never returns).
rv32imac.prefix = riscv64-unknown-elf-
rv32imac.cpu = -march=rv32imac -mabi=ilp32 -mcmodel=medany
rv32imac.libc = picolibc
rv32imac.specs = --specs=picolibc.specs
rv32imac.link = --oslib=semihost --crt0=hosted -Wl,--defsym=__flash=0x80000000 -Wl,--defsym=__flash_size=0x200000 -Wl,--defsym=__ram=0x80200000 -Wl,--defsym=__ram_size=0x200000 -Wl,--defsym=__stack_size=0x8000
rv32imac.startup = trap_riscv.c
rv32imac.qemu = qemu-system-riscv32 -M virt -bios none
rv32imac.fpu = none

rv32imafc.prefix = riscv64-unknown-elf-
rv32imafc.cpu = -march=rv32imafc -mabi=ilp32f -mcmodel=medany
rv32imafc.libc = picolibc
rv32imafc.specs = --specs=picolibc.specs
rv32imafc.link = --oslib=semihost --crt0=hosted -Wl,--defsym=__flash=0x80000000 -Wl,--defsym=__flash_size=0x200000 -Wl,--defsym=__ram=0x80200000 -Wl,--defsym=__ram_size=0x200000 -Wl,--defsym=__stack_size=0x8000
rv32imafc.startup = trap_riscv.c
rv32imafc.qemu = qemu-system-riscv32 -M virt -bios none
rv32imafc.fpu = sp

rv64gc.prefix = riscv64-unknown-elf-
rv64gc.cpu = -march=rv64imafdc -mabi=lp64d -mcmodel=medany
rv64gc.libc = picolibc
rv64gc.specs = --specs=picolibc.specs
rv64gc.link = --oslib=semihost --crt0=hosted -Wl,--defsym=__flash=0x80000000 -Wl,--defsym=__flash_size=0x200000 -Wl,--defsym=__ram=0x80200000 -Wl,--defsym=__ram_size=0x200000 -Wl,--defsym=__stack_size=0x8000
rv64gc.startup = trap_riscv.c
rv64gc.qemu = qemu-system-riscv64 -M virt -bios none
rv64gc.fpu = dp
