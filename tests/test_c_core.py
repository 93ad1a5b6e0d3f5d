"""C core, tested from C: unit + guard tests under several compilers, ASan/UBSan
and valgrind; warning-free builds; the hot loops vectorize."""
import os
import re
import subprocess

import pytest

from conftest import C_TESTS, missing, require_tool
from pygru.firmware.cbuild import C_SOURCES, GRU_C, build, run, system_cc

TEST_CORE = os.path.join(C_TESTS, "test_core.c")
STRICT = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]

COMPILERS = ["gcc", "clang"]


def _need(cc):
    require_tool(cc)


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("opt", ["-O0", "-O3"])
def test_core_unit_tests(tmp_path, cc, opt):
    _need(cc)
    exe = build([TEST_CORE] + C_SOURCES, tmp_path / "test_core", [opt], cc=[cc])
    out = run([exe]).decode()
    assert re.search(r"\d+ passed, 0 failed", out), out


@pytest.mark.parametrize("cc", COMPILERS)
def test_core_under_asan_ubsan(tmp_path, cc):
    _need(cc)
    flags = ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
             "-fno-omit-frame-pointer"]
    exe = build([TEST_CORE] + C_SOURCES, tmp_path / "test_core_san", flags, cc=[cc])
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    out = run([exe], env=env).decode()
    assert re.search(r"\d+ passed, 0 failed", out), out


def test_core_under_valgrind(tmp_path):
    require_tool("valgrind")
    exe = build([TEST_CORE] + C_SOURCES, tmp_path / "test_core_vg", ["-O2", "-g"])
    proc = subprocess.run(["valgrind", "--error-exitcode=9", "--leak-check=full", "-q", str(exe)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\d+ passed, 0 failed", proc.stdout)


@pytest.mark.parametrize("cc", COMPILERS)
def test_c_core_is_warning_free(tmp_path, cc):
    _need(cc)
    for src in C_SOURCES:
        cmd = [cc] + STRICT + ["-O2", "-ffp-contract=off", "-I" + os.path.join(GRU_C, "include"),
                               "-c", src, "-o", str(tmp_path / "x.o")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stderr == "", f"{' '.join(cmd)}\n{proc.stderr}"


def test_hot_loops_vectorize(tmp_path):
    """Every loop marked `/* vectorize */` in gru_c/src is reported vectorized by
    GCC at -O3 without -ffast-math (for the host's default ISA), so results
    cannot depend on a scalar fallback."""
    cc = system_cc()
    src_dir = os.path.join(GRU_C, "src")
    marked = set()
    for name in sorted(os.listdir(src_dir)):
        with open(os.path.join(src_dir, name)) as f:
            marked |= {(name, i + 1) for i, line in enumerate(f) if "/* vectorize */" in line}
    assert len(marked) >= 5, "expected the kernel loops to carry /* vectorize */ markers"
    reports = ""
    for src in C_SOURCES:
        proc = subprocess.run(cc + ["-std=c99", "-O3", "-ffp-contract=off", "-fopt-info-vec-optimized",
                                    "-I" + os.path.join(GRU_C, "include"), "-c", src,
                                    "-o", str(tmp_path / "f.o")], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        reports += proc.stderr
    if "gcc" not in os.path.basename(cc[0]) and "optimized" not in reports:
        missing(f"{cc[0]} does not print -fopt-info reports (the check needs GCC)")
    vectorized = {(os.path.basename(m.group(1)), int(m.group(2))) for m in
                  re.finditer(r"([\w./-]+\.[ch]):(\d+):\d+: optimized: loop vectorized", reports)}
    unvectorized = sorted(marked - vectorized)
    assert not unvectorized, f"marked loops that did not vectorize: {unvectorized}\n{reports}"
