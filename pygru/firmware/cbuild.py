"""Compile C programs against gru_c: the one compile helper of the tests, the
demo, the fuzzers, the benchmarks and (through pygru.firmware.fwbuild) the
firmware images.

The host compiler is Python's own (sysconfig CC) when it exists, so C test
programs use the toolchain the extension was built with. Every build passes
-ffp-contract=off: without it GCC fuses a*b+c where the CPU has FMA, and the
results stop being bit-identical to the extension's and the targets'.
The gru_c used is the one this package was built from (pygru.c_source_dir()).
"""
import atexit
import os
import shlex
import shutil
import subprocess
import sysconfig
import tempfile
from glob import glob

from .. import c_source_dir

# The project's warning set as errors, and the two flags that keep results
# bit-identical to the host.
WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]
FP_FLAGS = ["-ffp-contract=off", "-fno-math-errno"]

GRU_C = c_source_dir()
INCLUDE_DIRS = [os.path.join(GRU_C, "include"), os.path.join(GRU_C, "src")]


class BuildError(RuntimeError):
    """A compiler, archiver or program run failed; the message holds the command
    and its output."""


def runtime_sources():
    """gru_c's C sources (src/ and any folder below it), sorted."""
    return sorted(glob(os.path.join(GRU_C, "src", "**", "*.c"), recursive=True))


C_SOURCES = runtime_sources()


def include_flags():
    """-I flags for gru.h and gru_c's private headers."""
    return ["-I" + d for d in INCLUDE_DIRS]


def system_cc():
    """Python's configured C compiler (sysconfig CC) as a list, or ["cc"]."""
    return shlex.split(sysconfig.get_config_var("CC") or "cc")


def host_compiler():
    """The system C compiler: Python's configured CC if it exists, else the
    first of cc, gcc, clang on PATH. Returns the command as a list, or None."""
    configured = system_cc()
    if configured and shutil.which(configured[0]):
        return configured
    for cc in ("cc", "gcc", "clang"):
        if shutil.which(cc):
            return [cc]
    return None


def have(cmd):
    return shutil.which(cmd) is not None


def run_checked(cmd, what):
    """Run a build command; raise BuildError naming `what`, the command and the
    compiler's messages if it fails. Returns the CompletedProcess (text)."""
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        raise BuildError(f"{what} failed:\n$ {' '.join(str(c) for c in cmd)}\n{proc.stdout}{proc.stderr}")
    return proc


def build(sources, out, flags=(), cc=None, warnings=True, with_runtime=False):
    """Compile `sources` (plus gru_c's sources if with_runtime) into the host
    executable `out` with -ffp-contract=off and gru_c's include folders;
    warnings=True adds WARNINGS (as errors). Returns `out`."""
    cmd = list(cc or system_cc()) + (WARNINGS if warnings else []) + ["-ffp-contract=off"]
    cmd += include_flags() + list(flags) + [str(s) for s in sources]
    cmd += (C_SOURCES if with_runtime else []) + ["-o", str(out), "-lm"]
    run_checked(cmd, "compile")
    return out


_OBJECTS = {}


def runtime_objects(flags=(), cc=None):
    """gru_c's sources compiled once per compiler and flags (cached for the
    process, in a temporary folder removed at exit), so that tests linking
    several programs do not recompile the runtime. Returns the object paths."""
    cc = list(cc or system_cc())
    key = (tuple(cc), tuple(flags))
    if key not in _OBJECTS:
        work = tempfile.mkdtemp(prefix="pygru-objects-")
        atexit.register(shutil.rmtree, work, True)
        objs = []
        for i, src in enumerate(C_SOURCES):
            obj = os.path.join(work, f"{i}_{os.path.basename(src)[:-2]}.o")
            run_checked(cc + WARNINGS + list(flags) + ["-ffp-contract=off"] + include_flags()
                        + ["-c", src, "-o", obj], f"compiling {os.path.basename(src)}")
            objs.append(obj)
        _OBJECTS[key] = objs
    return _OBJECTS[key]


def run(args, stdin=None, env=None, timeout=120):
    """Run a built program; its stdout (bytes). Raises BuildError with its
    output if it exits with a non-zero status."""
    proc = subprocess.run([str(a) for a in args], input=stdin, capture_output=True, timeout=timeout,
                          env=env)
    if proc.returncode != 0:
        raise BuildError(f"{args[0]} exited {proc.returncode}\n{proc.stdout.decode(errors='replace')}"
                         f"{proc.stderr.decode(errors='replace')}")
    return proc.stdout
