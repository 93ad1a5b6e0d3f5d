"""Compile and run C programs from the tests (as emlearn's test_c.py does).

The compiler is Python's own (sysconfig CC), not distutils, so the tests use the
toolchain the extension was built with. Every build passes -ffp-contract=off, as
the extension and the firmware builds do.
"""
import os
import shlex
import shutil
import subprocess
import sysconfig

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GRU_C = os.path.join(ROOT, "gru_c")
C_SOURCES = sorted(os.path.join(GRU_C, "src", f) for f in os.listdir(os.path.join(GRU_C, "src"))
                   if f.endswith(".c"))
WARNINGS = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]


def system_cc():
    return shlex.split(sysconfig.get_config_var("CC") or "cc")


def have(cmd):
    return shutil.which(cmd) is not None


def build(sources, out, flags=(), cc=None, warnings=True):
    """Compile `sources` (plus nothing else) into executable `out`; raise
    AssertionError with the compiler's output on failure."""
    cmd = list(cc or system_cc()) + (WARNINGS if warnings else []) + [
        "-ffp-contract=off", "-I" + os.path.join(GRU_C, "include"), "-I" + os.path.join(GRU_C, "src")]
    cmd += list(flags) + [str(s) for s in sources] + ["-o", str(out), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"compile failed: {' '.join(cmd)}\n{proc.stdout}{proc.stderr}"
    return out


def run(args, stdin=None, env=None, timeout=120):
    proc = subprocess.run([str(a) for a in args], input=stdin, capture_output=True, timeout=timeout,
                          env=env)
    assert proc.returncode == 0, (f"{args[0]} exited {proc.returncode}\n"
                                  f"{proc.stdout.decode(errors='replace')}{proc.stderr.decode(errors='replace')}")
    return proc.stdout
