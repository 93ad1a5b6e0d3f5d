"""Cross-build C programs with gru_c for the firmware targets and run them under
QEMU with semihosting.

    python tools/firmware/fwbuild.py list
    python tools/firmware/fwbuild.py run cortex-m4f prog.c [more.c ...] [-I dir] [-D NAME=V]

Used by tests/test_targets.py and tools/footprint.py. Everything a target needs
is in TARGETS: compiler flags, the C library (newlib + librdimon on Cortex-M,
picolibc on RISC-V) and the QEMU machine. Beside this file: startup_cortexm.c
(vector table, FPU/MVE enable, .data/.bss, semihosting, fault handlers that
exit with status 1), cortexm.ld (one memory map for all the mps2/mps3
machines), trap_riscv.c (trap vector that exits with status 1), insn_count.c
(QEMU TCG plugin counting executed instructions), gru_infer.c and
gru_train_steps.c (the test programs).

This lives in tools/, not in the pygru package, because it needs the startup
files and linker scripts beside it and a cross toolchain on the machine: it is
a development and CI tool, not something a pip-installed pygru user runs.
"""
import argparse
import dataclasses
import os
import shutil
import subprocess
import sys
import tempfile
from glob import glob

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GRU_C = os.path.join(ROOT, "gru_c")

# Flags every build uses (runtime, test programs): the project's warning set as
# errors, and the two flags that keep results bit-identical to the host.
WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]
FP_FLAGS = ["-ffp-contract=off", "-fno-math-errno"]

ARM_INSTALL = ("apt-get install -y --no-install-recommends gcc-arm-none-eabi "
               "libnewlib-arm-none-eabi qemu-system-arm")
RISCV_INSTALL = ("apt-get install -y --no-install-recommends gcc-riscv64-unknown-elf "
                 "picolibc-riscv64-unknown-elf qemu-system-misc")


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    arch: str            # "arm" or "riscv"
    cflags: tuple        # CPU / ABI flags (compile and link)
    libc: str            # "newlib" or "picolibc"
    qemu: tuple          # QEMU command up to (not including) -kernel
    install: str         # how to get the toolchain and QEMU on Debian
    fpu: str             # "none", "sp" (single precision), "dp", "mve"

    @property
    def cc(self):
        return "arm-none-eabi-gcc" if self.arch == "arm" else "riscv64-unknown-elf-gcc"

    @property
    def tool_prefix(self):
        return self.cc[:-len("gcc")]

    def tool(self, name):
        """Binutils of this toolchain: tool('size'), tool('objdump'), ..."""
        return self.tool_prefix + name


_SEMIHOST = ("-display", "none", "-monitor", "none", "-serial", "none",
             "-chardev", "stdio,id=sh0",
             "-semihosting-config", "enable=on,target=native,chardev=sh0")


def _arm(name, cflags, machine, fpu):
    return Target(name, "arm", tuple(cflags), "newlib",
                  ("qemu-system-arm", "-M", machine) + _SEMIHOST, ARM_INSTALL, fpu)


def _riscv(name, cflags, qemu, fpu):
    return Target(name, "riscv", tuple(cflags) + ("-mcmodel=medany",), "picolibc",
                  (qemu, "-M", "virt", "-bios", "none") + _SEMIHOST, RISCV_INSTALL, fpu)


TARGETS = {t.name: t for t in [
    # M0 also runs on -M microbit (16 KB RAM); mps2-an385 lets one linker script serve all.
    _arm("cortex-m0", ["-mcpu=cortex-m0", "-mthumb", "-mfloat-abi=soft"], "mps2-an385", "none"),
    _arm("cortex-m3", ["-mcpu=cortex-m3", "-mthumb", "-mfloat-abi=soft"], "mps2-an385", "none"),
    _arm("cortex-m4f", ["-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16"],
         "mps2-an386", "sp"),
    _arm("cortex-m7", ["-mcpu=cortex-m7", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv5-d16"],
         "mps2-an500", "dp"),
    _arm("cortex-m55", ["-mcpu=cortex-m55", "-mthumb", "-mfloat-abi=hard"], "mps3-an547", "mve"),
    _riscv("rv32imac", ["-march=rv32imac", "-mabi=ilp32"], "qemu-system-riscv32", "none"),
    _riscv("rv32imafc", ["-march=rv32imafc", "-mabi=ilp32f"], "qemu-system-riscv32", "sp"),
    _riscv("rv64gc", ["-march=rv64imafdc", "-mabi=lp64d"], "qemu-system-riscv64", "dp"),
]}


def get_target(name):
    try:
        return TARGETS[name]
    except KeyError:
        raise ValueError(f"target: expected one of {sorted(TARGETS)}, got {name!r}") from None


def missing_tools(target):
    """Names of the programs `target` needs that are not on PATH ([] if none)."""
    t = get_target(target) if isinstance(target, str) else target
    need = [t.cc, t.tool("size"), t.qemu[0]]
    missing = [p for p in need if shutil.which(p) is None]
    if not missing and t.libc == "picolibc":
        probe = subprocess.run([t.cc, "-print-file-name=picolibc.specs"],
                               capture_output=True, text=True)
        if probe.returncode != 0 or not os.path.isabs(probe.stdout.strip()):
            missing.append("picolibc")
    return missing


def skip_reason(target):
    """None if `target` can be built and run here, else why not and how to fix it."""
    t = get_target(target) if isinstance(target, str) else target
    missing = missing_tools(t)
    if not missing:
        return None
    return (f"{t.name}: {', '.join(missing)} not installed; install with: {t.install} "
            "(.ci/run does this)")


def runtime_sources():
    """The gru_c/src/*.c files, sorted."""
    return sorted(glob(os.path.join(GRU_C, "src", "*.c")))


def startup_sources(target):
    t = get_target(target) if isinstance(target, str) else target
    if t.arch == "arm":
        return [os.path.join(HERE, "startup_cortexm.c")]
    return [os.path.join(HERE, "trap_riscv.c")]


def link_flags(target):
    t = get_target(target) if isinstance(target, str) else target
    if t.arch == "arm":
        # Own startup + linker script; rdimon.specs gives newlib the semihosting syscalls.
        return ["-nostartfiles", "--specs=rdimon.specs", "-T", os.path.join(HERE, "cortexm.ld"),
                "-Wl,--gc-sections"]
    # picolibc's linker script placed with --defsym on QEMU virt's RAM at 0x80000000;
    # --crt0=hosted: crt0 that calls exit(main()) (the default one never exits).
    # (--specs=picolibc.specs comes with compile_flags.)
    return ["--oslib=semihost", "--crt0=hosted",
            "-Wl,--defsym=__flash=0x80000000", "-Wl,--defsym=__flash_size=0x200000",
            "-Wl,--defsym=__ram=0x80200000", "-Wl,--defsym=__ram_size=0x200000",
            "-Wl,--defsym=__stack_size=0x8000", "-Wl,--gc-sections"]


def compile_flags(target, opt="-O2"):
    """Everything but sources, includes and output for compiling gru_c (or a
    program using it) for `target`."""
    t = get_target(target) if isinstance(target, str) else target
    flags = list(t.cflags) + [opt] + WARNINGS + FP_FLAGS + ["-ffunction-sections", "-fdata-sections"]
    if t.libc == "picolibc":
        flags.append("--specs=picolibc.specs")
    return flags


def _run_checked(cmd, what):
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed:\n$ {' '.join(cmd)}\n{proc.stderr}")
    return proc


def build_runtime_library(target, output_dir, opt="-O2", extra_cflags=()):
    """Compile gru_c/src/*.c for `target` into output_dir/libgru.a (what
    `make -C gru_c TARGET=...` builds) and return its path. Images link it
    with build_image(runtime_lib=...), so a test session compiles the runtime
    once per target instead of once per image."""
    t = get_target(target)
    objects = []
    for src in runtime_sources():
        obj = os.path.join(output_dir, os.path.basename(src)[:-2] + ".o")
        _run_checked([t.cc] + compile_flags(t, opt) + list(extra_cflags)
                     + ["-I" + os.path.join(GRU_C, "include"), "-I" + os.path.join(GRU_C, "src"),
                        "-c", src, "-o", obj], f"compiling {os.path.basename(src)} for {t.name}")
        objects.append(obj)
    lib = os.path.join(output_dir, "libgru.a")
    if os.path.exists(lib):
        os.remove(lib)
    _run_checked([t.tool("ar"), "rcs", lib] + objects, f"archiving libgru.a for {t.name}")
    return lib


def build_image(target, sources, output, include_dirs=(), defines=(), opt="-O2",
                extra_cflags=(), with_runtime=True, runtime_lib=None, map_file=None):
    """Compile and link `sources` (plus the runtime: gru_c/src/*.c compiled with
    the same flags, or the prebuilt `runtime_lib`; none if not with_runtime,
    plus the target's startup) into the ELF `output`. `defines` are "NAME" or
    "NAME=VALUE". Raises RuntimeError with the compiler's messages if the build
    fails. Returns `output`."""
    t = get_target(target)
    cmd = [t.cc] + compile_flags(t, opt) + list(extra_cflags)
    cmd += ["-I" + os.path.join(GRU_C, "include"), "-I" + os.path.join(GRU_C, "src")]
    cmd += ["-I" + d for d in include_dirs] + ["-D" + d for d in defines]
    cmd += list(sources) + startup_sources(t)
    if with_runtime:
        cmd += [runtime_lib] if runtime_lib else runtime_sources()
    cmd += link_flags(t) + ["-o", output]
    if map_file:
        cmd.append("-Wl,-Map=" + map_file)
    cmd.append("-lm")
    _run_checked(cmd, f"build for {t.name}")
    return output


@dataclasses.dataclass
class RunResult:
    returncode: int      # main's return value (1 after a fault, 124 on timeout)
    stdout: str          # everything the guest printed to stdout
    stderr: str          # QEMU's diagnostics (and plugin output)
    timed_out: bool


def qemu_command(target, elf, plugin=None, plugin_args=()):
    t = get_target(target)
    cmd = list(t.qemu)
    if plugin:
        cmd += ["-plugin", ",".join([plugin] + list(plugin_args)), "-d", "plugin"]
    return cmd + ["-kernel", elf]


def run_image(target, elf, timeout=60, plugin=None, plugin_args=()):
    """Run an ELF under QEMU with semihosting. Returns a RunResult; a timeout is
    reported (timed_out=True, returncode 124), not raised."""
    cmd = qemu_command(target, elf, plugin, plugin_args)
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return RunResult(124, out, err, True)
    return RunResult(proc.returncode, proc.stdout, proc.stderr, False)


def build_and_run(target, sources, timeout=60, workdir=None, **build_kwargs):
    """build_image then run_image in a temporary directory; returns the RunResult."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        elf = build_image(target, sources, os.path.join(tmp, "prog.elf"), **build_kwargs)
        return run_image(target, elf, timeout=timeout)


INSN_PLUGIN_SOURCE = os.path.join(HERE, "insn_count.c")


def build_insn_plugin(output_dir):
    """Compile the instruction-counting TCG plugin (host cc) into output_dir;
    returns the .so path."""
    so = os.path.join(output_dir, "libinsn_count.so")
    cc = os.environ.get("CC", "cc")
    cmd = [cc, "-shared", "-fPIC", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror",
           INSN_PLUGIN_SOURCE, "-o", so]
    _run_checked(cmd, "building the QEMU plugin")
    return so


def count_instructions(target, elf, plugin_so, lo=None, hi=None, timeout=120):
    """Guest instructions executed by the whole run of `elf` (or only those at
    addresses in [lo, hi)). Returns (count, RunResult)."""
    args = []
    if lo is not None:
        args += [f"lo={lo:#x}", f"hi={hi:#x}"]
    res = run_image(target, elf, timeout=timeout, plugin=plugin_so, plugin_args=args)
    for line in res.stderr.splitlines():
        if line.startswith("insns "):
            return int(line.split()[1]), res
    raise RuntimeError(f"no instruction count from the plugin (status {res.returncode}):\n"
                       f"{res.stderr}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="targets, flags and whether their tools are installed")
    run = sub.add_parser("run", help="build C sources with gru_c for a target and run them in QEMU")
    run.add_argument("target", choices=sorted(TARGETS))
    run.add_argument("sources", nargs="+")
    run.add_argument("-I", dest="includes", action="append", default=[])
    run.add_argument("-D", dest="defines", action="append", default=[])
    run.add_argument("-O", dest="opt", default="2")
    run.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args(argv)
    if args.cmd == "list":
        for t in TARGETS.values():
            reason = skip_reason(t)
            print(f"{t.name:11s} {' '.join(t.cflags):60s} {t.libc:8s} {' '.join(t.qemu[:3]):28s} "
                  f"{'ok' if reason is None else 'MISSING: ' + ', '.join(missing_tools(t))}")
        return 0
    res = build_and_run(args.target, args.sources, timeout=args.timeout,
                        include_dirs=args.includes, defines=args.defines, opt="-O" + args.opt)
    sys.stdout.write(res.stdout)
    sys.stderr.write(res.stderr)
    if res.timed_out:
        print(f"timed out after {args.timeout} s", file=sys.stderr)
    return res.returncode


if __name__ == "__main__":
    sys.exit(main())
