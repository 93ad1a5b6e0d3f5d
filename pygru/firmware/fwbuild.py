"""Cross-build C programs with gru_c for the firmware targets and run them under
QEMU with semihosting.

    python -m pygru.firmware.fwbuild list
    python -m pygru.firmware.fwbuild run cortex-m4f prog.c [more.c ...] [-I dir] [-D NAME=V]

Used by the demo's Cortex-M4F step, tests/test_targets.py, tools/footprint.py
and benchmarks/bench_quant.py. The targets (compiler flags, toolchain prefix,
C library, link flags, startup file, QEMU machine) are the table
gru_c/targets.mk, which gru_c/Makefile and gru_c/cmake/gru-toolchain.cmake read
too. Beside this file: startup_cortexm.c (vector table, FPU/MVE enable,
.data/.bss, semihosting, fault handlers that exit with status 1), cortexm.ld
(one memory map for all the mps2/mps3 machines), trap_riscv.c (trap vector that
exits with status 1), insn_count.c (QEMU TCG plugin counting executed
instructions), gru_infer.c, gru_train_steps.c and quant_infer.c (test programs).
A cross toolchain and QEMU are needed on the machine (skip_reason says which).
"""
import argparse
import dataclasses
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

from . import DIR as HERE
from . import cbuild
from .cbuild import FP_FLAGS, GRU_C, WARNINGS, run_checked as _run_checked

TABLE = os.path.join(GRU_C, "targets.mk")

ARM_INSTALL = ("apt-get install -y --no-install-recommends gcc-arm-none-eabi "
               "libnewlib-arm-none-eabi qemu-system-arm")
RISCV_INSTALL = ("apt-get install -y --no-install-recommends gcc-riscv64-unknown-elf "
                 "picolibc-riscv64-unknown-elf qemu-system-misc")


@dataclasses.dataclass(frozen=True)
class Target:
    name: str
    arch: str            # "arm" or "riscv"
    cflags: tuple        # CPU / FPU / ABI flags (compile and link)
    libc: str            # "newlib" or "picolibc"
    qemu: tuple          # QEMU command up to (not including) -kernel
    install: str         # how to get the toolchain and QEMU on Debian
    fpu: str             # "none", "sp" (single precision), "dp", "mve"
    tool_prefix: str     # "arm-none-eabi-", "riscv64-unknown-elf-"
    specs: tuple         # C library selection (compile and link)
    link: tuple          # link flags of a semihosted QEMU image
    startup: str         # startup source beside this file

    @property
    def cc(self):
        return self.tool_prefix + "gcc"

    def tool(self, name):
        """Binutils of this toolchain: tool('size'), tool('objdump'), ..."""
        return self.tool_prefix + name


_SEMIHOST = ("-display", "none", "-monitor", "none", "-serial", "none",
             "-chardev", "stdio,id=sh0",
             "-semihosting-config", "enable=on,target=native,chardev=sh0")
_ARCH_FIELDS = ("prefix", "libc", "specs", "link", "startup")
_ROW = "NAME = ARCH FPU | CPU | QEMU"


def _target_row(path, name, value):
    """A target row's value `ARCH FPU | CPU | QEMU` -> its fields."""
    cols = [c.strip() for c in (value or "").split("|")]
    if len(cols) != 3 or len(cols[0].split()) != 2:
        raise ValueError(f"{path}: target {name}: expected a row {_ROW}, got {name} = {value or ''}")
    arch, fpu = cols[0].split()
    return {"arch": arch, "fpu": fpu, "cpu": cols[1], "qemu": cols[2]}


def read_table(path=TABLE):
    """{name: Target} from the target table (`ARCH.FIELD = value` lines: an
    architecture's shared fields; a row `NAME = ARCH FPU | CPU | QEMU` a
    target), in the order of its GRU_TARGETS line."""
    fields, rows, order = {}, {}, None
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            m = re.fullmatch(r"([A-Za-z0-9_-]+)(?:\.([a-z]+))?\s*=\s*(.*)", line)
            if m is None:
                raise ValueError(f"{path}:{number}: expected ARCH.FIELD = value or {_ROW}, got {line!r}")
            name, field, value = m.groups()
            if field is not None:
                fields.setdefault(name, {})[field] = value
            elif name == "GRU_TARGETS":
                order = value.split()
            else:
                rows[name] = value
    if order is None:
        raise ValueError(f"{path}: no GRU_TARGETS line")
    targets = {}
    for name in order:
        row = _target_row(path, name, rows.get(name))
        arch = row["arch"]
        missing = [k for k in _ARCH_FIELDS if k not in fields.get(arch, {})]
        if missing:
            raise ValueError(f"{path}: architecture {arch}: expected fields {', '.join(_ARCH_FIELDS)}, "
                             f"missing {', '.join(missing)}")
        row = {**fields[arch], **row}
        targets[name] = Target(
            name, arch, tuple(shlex.split(row["cpu"])), row["libc"],
            tuple(shlex.split(row["qemu"])) + _SEMIHOST, ARM_INSTALL if arch == "arm" else RISCV_INSTALL,
            row["fpu"], row["prefix"], tuple(shlex.split(row["specs"])), tuple(shlex.split(row["link"])),
            row["startup"])
    return targets


TARGETS = read_table()


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


runtime_sources = cbuild.runtime_sources


def startup_sources(target):
    t = get_target(target) if isinstance(target, str) else target
    return [os.path.join(HERE, t.startup)]


def link_flags(target):
    """The table's link flags (-L so that its -T script is found beside this
    file) and section garbage collection."""
    t = get_target(target) if isinstance(target, str) else target
    return ["-L" + HERE] + list(t.link) + ["-Wl,--gc-sections"]


def compile_flags(target, opt="-O2"):
    """Everything but sources, includes and output for compiling gru_c (or a
    program using it) for `target`."""
    t = get_target(target) if isinstance(target, str) else target
    return list(t.cflags) + [opt] + WARNINGS + FP_FLAGS + ["-ffunction-sections", "-fdata-sections"] \
        + list(t.specs)


def build_runtime_library(target, output_dir, opt="-O2", extra_cflags=()):
    """Compile gru_c's sources for `target` into output_dir/libgru.a (what
    `make -C gru_c TARGET=...` builds) and return its path. Images link it
    with build_image(runtime_lib=...), so a test session compiles the runtime
    once per target instead of once per image."""
    t = get_target(target)
    objects = []
    for src in runtime_sources():
        obj = os.path.join(output_dir, os.path.basename(src)[:-2] + ".o")
        _run_checked([t.cc] + compile_flags(t, opt) + list(extra_cflags) + cbuild.include_flags()
                     + ["-c", src, "-o", obj], f"compiling {os.path.basename(src)} for {t.name}")
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
    cmd = [t.cc] + compile_flags(t, opt) + list(extra_cflags) + cbuild.include_flags()
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
    cc = shlex.split(os.environ["CC"]) if os.environ.get("CC") else (cbuild.host_compiler() or ["cc"])
    cmd = cc + ["-shared", "-fPIC", "-O2", "-std=c99", "-Wall", "-Wextra", "-Werror",
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
