"""gru_c hardening beyond tests/test_c_core.py: every source is warning-free
(-Werror) under GCC and Clang at -O3 and in the configurations small targets
compile (one sequence lane, 8- and 16-row register kernels), and the other C
test programs (run_model.c, the exported-header host program) run clean under
valgrind memcheck."""
import os
import subprocess

import numpy as np
import pytest

import pygru
from conftest import require_tool
from pygru.firmware.cbuild import C_SOURCES, GRU_C, WARNINGS, build

# The configurations small targets compile (GRU_SEQUENCE_LANES is 1 and the
# register kernels are used off x86-64/AArch64), built on the host.
SMALL_CORE = ["-O2", "-DGRU_SEQUENCE_LANES=1", "-DGRU_KERNEL_ROWS=8"]


def _need(tool):
    require_tool(tool)


@pytest.mark.parametrize("cc, flags", [("gcc", SMALL_CORE), ("clang", SMALL_CORE),
                                       ("gcc", ["-O3", "-DGRU_KERNEL_ROWS=16"])],
                         ids=["gcc-small-core", "clang-small-core", "gcc-O3-rows16"])
def test_every_source_warning_free(tmp_path, cc, flags):
    _need(cc)
    for src in C_SOURCES:
        cmd = [cc] + WARNINGS + ["-ffp-contract=off", *flags, "-I" + os.path.join(GRU_C, "include"),
                                 "-I" + os.path.join(GRU_C, "src"), "-c", src, "-o", str(tmp_path / "x.o")]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0 and proc.stderr == "", f"{' '.join(cmd)}\n{proc.stderr}"


def _valgrind(args, stdin=None):
    # Memory errors only: run_model.c (a test driver) never frees its input
    # buffers; gru_c itself allocates nothing.
    proc = subprocess.run(["valgrind", "--error-exitcode=9", "--leak-check=no", "-q", *map(str, args)],
                          input=stdin, capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")
    return proc.stdout


@pytest.mark.parametrize("kind", ["reset_before_softmax_2layers", "reset_after_seq"])
def test_run_model_under_valgrind(tmp_path, kind):
    _need("valgrind")
    from test_bit_identity import RUN_MODEL, encode
    if kind == "reset_after_seq":
        model, seq = pygru.GRUModel(4, [9], seed=1, return_sequences=True), True
    else:
        model, seq = pygru.GRUModel(3, [5, 7], output_size=4, reset_after=False,
                                    output_activation="softmax", seed=2), False
    X = np.random.default_rng(0).normal(size=(5, 6, model.input_size)).astype(np.float32)
    exe = build([RUN_MODEL] + C_SOURCES, tmp_path / "run_model", ["-O1", "-g"])
    out = _valgrind([exe], stdin=encode(model, X, seq))
    assert out  # the program printed its outputs


def test_exported_header_host_program_under_valgrind(tmp_path):
    _need("valgrind")
    from test_export import build_host  # the same shim as the export tests
    model = pygru.GRUModel(3, [6], output_size=2, output_activation="sigmoid", seed=4)
    header = tmp_path / "vg.h"
    pygru.export_c(model, header, name="vg")
    inference = [s for s in C_SOURCES if os.path.basename(s) in ("gru_model.c", "gru_forward.c", "gru_checksum.c",
                                                                     "gru_dispatch.c", "gru_kernel_x86.c",
                                                                     "gru_quant_table.c")]
    exe = build_host("gcc", header, "vg", inference, opt="-O1 -g")
    X = np.random.default_rng(1).normal(size=(2, 5, 3)).astype(np.float32)
    proc = subprocess.run(["valgrind", "--error-exitcode=9", "--leak-check=full", "-q", exe, "2", "5"],
                          input=X.tobytes(), capture_output=True, timeout=600)
    assert proc.returncode == 0, proc.stdout.decode() + proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    assert "check 0" in lines and "selftest 0" in lines, lines
