"""gru_c protects its own bit-exactness from fused multiply-adds: a firmware
build that forgets -ffp-contract=off (GCC's default for -std=gnu* is
-ffp-contract=fast, which fuses a*b+c into VFMA on Cortex-M4F and fmadd.s on
RV32IMAFC) must still compute the host's bits, because the sources turn
contraction off themselves (gru_c/src/gru_base.h).

Each image is built with `-std=gnu11 -ffp-contract=fast` after the usual flags
(the later flag wins: the worst case, stronger than merely leaving the flag
out), runs under QEMU, and is compared bit for bit with the host build and the
Python binding. A control build of the same sources with that protection cut
out must differ, which shows the comparison can fail.
"""
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import cbuild
import pygru
from pygru import GRUModel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "tools", "firmware")
sys.path.insert(0, FIRMWARE)
import fwbuild  # noqa: E402
from test_targets import require_target  # noqa: E402

GRU_INFER = os.path.join(FIRMWARE, "gru_infer.c")
GRU_SRC = os.path.join(ROOT, "gru_c", "src")
STEPS = 25
TARGETS = ["cortex-m4f", "rv32imafc"]
FUSING = ["-std=gnu11", "-ffp-contract=fast"]


def parse_bits(stdout, width):
    lines = stdout.strip().splitlines()
    assert lines and lines[0] == "check 0 selftest 0", f"checksum or self-test failed:\n{stdout[:2000]}"
    rows = [line.split() for line in lines[1:]]
    assert len(rows) == STEPS and all(len(r) == width for r in rows), stdout[:2000]
    return np.array([[int(v, 16) for v in r] for r in rows], dtype=np.uint32)


@pytest.fixture(scope="module")
def case(tmp_path_factory):
    model = GRUModel(input_size=7, hidden_sizes=[33, 16], output_size=5, reset_after=[True, False],
                     output_activation="softmax", return_sequences=True, seed=20261207)
    x = (np.random.default_rng(6).standard_normal((STEPS, 7)) * 1.5).astype(np.float32)
    work = tmp_path_factory.mktemp("fpc")
    pygru.export_c(model, str(work / "fw_model.h"), name="fw", self_test_input=x)
    exe = cbuild.build([GRU_INFER] + cbuild.C_SOURCES, work / "host_infer",
                       ["-O2", "-fno-math-errno", "-I" + str(work)])
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    host = parse_bits(proc.stdout, model.output_dim)
    assert np.array_equal(host, model.predict(x).view(np.uint32))
    return dict(model=model, work=work, host=host)


def run_target(target, work, name, sources, with_runtime):
    elf = fwbuild.build_image(target, [GRU_INFER] + sources, str(work / f"{name}.elf"),
                              include_dirs=[str(work)], opt="-O3", extra_cflags=FUSING,
                              with_runtime=with_runtime)
    res = fwbuild.run_image(target, elf, timeout=60)
    assert not res.timed_out and res.returncode == 0, f"{name}: {res.returncode}\n{res.stdout}\n{res.stderr}"
    return res.stdout


@pytest.mark.parametrize("target", TARGETS)
def test_build_with_contraction_on_keeps_the_host_bits(target, case):
    require_target(target)
    out = run_target(target, case["work"], f"{target}-fused", [], True)
    got = parse_bits(out, case["model"].output_dim)
    bad = int((got != case["host"]).sum())
    assert bad == 0, f"{target} built with {' '.join(FUSING)}: {bad} of {got.size} outputs differ from the host"


@pytest.mark.parametrize("target", TARGETS)
def test_control_without_the_protection_differs(target, case, tmp_path):
    """The same build from a copy of gru_c/src whose contraction pragmas are
    removed: the outputs now differ (or the self-test fails), so the test
    above would catch a lost protection."""
    require_target(target)
    src = tmp_path / "src"
    shutil.copytree(GRU_SRC, src)
    base = src / "gru_base.h"
    text = base.read_text()
    stripped = re.sub(r"^#pragma (GCC optimize|STDC FP_CONTRACT).*$", "", text, flags=re.M)
    assert stripped != text, "gru_base.h no longer holds the contraction pragmas this test removes"
    base.write_text(stripped)
    sources = sorted(str(p) for p in src.glob("*.c"))
    out = run_target(target, case["work"], f"{target}-unprotected", sources, False)
    lines = out.strip().splitlines()
    # Either the header's bit-exact self-test catches the fused arithmetic at
    # boot, or the outputs differ from the host's.
    caught = not lines or lines[0] != "check 0 selftest 0"
    if not caught:
        caught = int((parse_bits(out, case["model"].output_dim) != case["host"]).sum()) > 0
    assert caught, f"{target}: -ffp-contract=fast changed nothing even without the pragmas"
