"""Build and run C programs with gru_c: on the host (cbuild) and, cross-compiled,
on the firmware targets under QEMU (fwbuild).

Ships with the package so that a pip-installed pygru can do what a checkout
does (the demo's Cortex-M4F step): the startup code (startup_cortexm.c,
trap_riscv.c), the linker script (cortexm.ld), the QEMU instruction-count
plugin (insn_count.c) and the test programs (gru_infer.c, gru_train_steps.c,
quant_infer.c) sit beside these modules. The targets themselves are the table
gru_c/targets.mk, shared with gru_c's Makefile and CMake toolchain file.
"""
import os

DIR = os.path.dirname(os.path.abspath(__file__))


def path(name):
    """The full path of a file shipped in this folder, e.g. path("cortexm.ld")."""
    full = os.path.join(DIR, name)
    if not os.path.isfile(full):
        raise FileNotFoundError(f"name: expected a file of pygru/firmware ({', '.join(files())}), got {name!r}")
    return full


def files():
    """The C sources and linker scripts shipped in this folder, sorted."""
    return sorted(f for f in os.listdir(DIR) if f.endswith((".c", ".ld")))
