"""Cross-compiled firmware builds run under QEMU must compute exactly what the
host computes: same C program (tools/firmware/gru_infer.c) and same weights,
built with the system cc and with each target's cross GCC, outputs compared bit
for bit, and both compared with the Python binding (GRUModel.predict) and with
the float64 reference.

Needs the cross toolchains and QEMU (EMBEDDED.md; `.ci/run` installs them). A
missing tool skips its target with the apt-get line that installs it, unless
PYGRU_REQUIRE_TARGETS=1 (set by .ci/run), which turns the skip into a failure.
"""
import os
import shlex
import subprocess
import sys
import sysconfig

import numpy as np
import pytest

import reference
from pygru import GRUModel

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIRMWARE = os.path.join(ROOT, "tools", "firmware")
sys.path.insert(0, FIRMWARE)
import fwbuild  # noqa: E402
from model_header import write_model_header  # noqa: E402

GRU_INFER = os.path.join(FIRMWARE, "gru_infer.c")
STEPS = 25


def require_target(target):
    reason = fwbuild.skip_reason(target)
    if reason is None:
        return
    if os.environ.get("PYGRU_REQUIRE_TARGETS", "") not in ("", "0"):
        pytest.fail(reason + " [PYGRU_REQUIRE_TARGETS is set: CI must run every target]")
    pytest.skip(reason)


def parse_bits(stdout, steps, width):
    rows = [line.split() for line in stdout.strip().splitlines()]
    assert len(rows) == steps and all(len(r) == width for r in rows), \
        f"expected {steps} lines of {width} hex words, got:\n{stdout[:2000]}"
    return np.array([[int(v, 16) for v in r] for r in rows], dtype=np.uint32)


def host_cc():
    return shlex.split(sysconfig.get_config_var("CC") or "cc")


def build_host(sources, include_dirs, output):
    cmd = host_cc() + ["-O2"] + fwbuild.WARNINGS + fwbuild.FP_FLAGS
    cmd += ["-I" + os.path.join(ROOT, "gru_c", d) for d in ("include", "src")]
    cmd += ["-I" + str(d) for d in include_dirs]
    cmd += [str(s) for s in sources] + fwbuild.runtime_sources() + ["-o", str(output), "-lm"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, f"host build failed:\n$ {' '.join(cmd)}\n{proc.stderr}"
    return output


def describe_mismatch(got, want):
    bad = np.argwhere(got != want)
    t, j = bad[0]
    ulps = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
    return (f"{len(bad)} of {got.size} values differ (max {ulps.max()} ulp); first at step {t}, "
            f"output {j}: {got[t, j]:08x} vs {want[t, j]:08x}")


@pytest.fixture(scope="module")
def inference_case(tmp_path_factory):
    """Two layers (reset_after 1 then 0, sizes not multiples of the packing
    width), a softmax head; the host C program's output lines and Python's."""
    model = GRUModel(input_size=7, hidden_sizes=[33, 16], output_size=5, reset_after=[True, False],
                     output_activation="softmax", return_sequences=True, seed=20261126)
    x = (np.random.default_rng(5).standard_normal((STEPS, 7)) * 1.5).astype(np.float32)
    work = tmp_path_factory.mktemp("firmware")
    write_model_header(str(work / "fw_model.h"), model, x)
    exe = build_host([GRU_INFER], [work], work / "host_infer")
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    host = parse_bits(proc.stdout, STEPS, model.output_dim)
    python = model.predict(x).view(np.uint32)
    return dict(model=model, x=x, work=work, host=host, python=python)


def test_host_program_matches_python_and_reference(inference_case):
    c = inference_case
    assert c["host"].shape == c["python"].shape
    assert np.array_equal(c["host"], c["python"]), describe_mismatch(c["host"], c["python"])
    model = c["model"]
    ref = reference.gru_model(c["x"][None], model.get_weights(), model.num_layers,
                              list(model.reset_after), "softmax", return_sequences=True)[0]
    np.testing.assert_allclose(c["host"].view(np.float32), ref, rtol=0, atol=2e-6)


@pytest.mark.parametrize("target", sorted(fwbuild.TARGETS))
def test_target_inference_bit_identical(target, inference_case):
    require_target(target)
    c = inference_case
    elf = fwbuild.build_image(target, [GRU_INFER], str(c["work"] / f"{target}.elf"),
                              include_dirs=[str(c["work"])], opt="-O3")
    res = fwbuild.run_image(target, elf, timeout=60)
    assert not res.timed_out, f"{target}: QEMU timed out; output so far:\n{res.stdout[-2000:]}"
    assert res.returncode == 0, f"{target}: exit status {res.returncode}\n{res.stdout}\n{res.stderr}"
    got = parse_bits(res.stdout, STEPS, c["model"].output_dim)
    assert np.array_equal(got, c["host"]), f"{target} vs host: " + describe_mismatch(got, c["host"])
    assert np.array_equal(got, c["python"]), f"{target} vs Python: " + describe_mismatch(got, c["python"])


@pytest.mark.parametrize("target", ["cortex-m4f", "rv32imac"])
def test_fault_exits_with_status_1(target, tmp_path):
    """The startup's fault handler (Cortex-M) and trap vector (RISC-V) end the
    run with status 1 instead of a QEMU lockup or a hang."""
    require_target(target)
    src = tmp_path / "fault.c"
    src.write_text("#include <stdio.h>\nint main(void)\n{\n    puts(\"before\");\n"
                   "    fflush(stdout);\n    __builtin_trap();\n    return 0;\n}\n")
    res = fwbuild.build_and_run(target, [str(src)], timeout=20, with_runtime=False)
    assert not res.timed_out
    assert (res.returncode, res.stdout) == (1, "before\n")
