"""Fuzzing in CI: every harness of tools/fuzz/ runs for a few seconds, and every
committed crash input in tests/fuzz_regressions/NAME/ is replayed (each was a
bug; each must stay fixed). Longer runs: python tools/fuzz/run.py run --time N.

PYGRU_FUZZ_SECONDS sets the smoke time per harness (default 3)."""
import json
import os
import re
import subprocess
import sys

import pytest

from conftest import ROOT, TESTS, missing, require_module

RUN = os.path.join(ROOT, "tools", "fuzz", "run.py")
REGRESSIONS = os.path.join(TESTS, "fuzz_regressions")
SECONDS = float(os.environ.get("PYGRU_FUZZ_SECONDS", "3"))

# Optional package each Python harness's loader needs (its importer imports it).
NEEDS = {"npz": None, "qnpz": None, "data": None, "torch": "torch", "keras": "h5py", "onnx": "onnx"}


def fuzz(*args, timeout=900):
    """tools/fuzz/run.py with `args`, in a subprocess (the tool's own CLI)."""
    return subprocess.run([sys.executable, RUN, *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


HARNESSES = json.loads(fuzz("list", "--json").stdout)
C_HARNESSES, PY_HARNESSES = HARNESSES["c"], HARNESSES["python"]


def _regressions(name):
    d = os.path.join(REGRESSIONS, name)
    return sorted(os.path.join(d, f) for f in os.listdir(d)) if os.path.isdir(d) else []


def test_every_regression_folder_names_a_harness():
    assert set(os.listdir(REGRESSIONS)) <= set(C_HARNESSES + PY_HARNESSES)


@pytest.fixture(scope="module")
def c_harnesses():
    check = fuzz("build", "--check")
    if check.returncode != 0:
        missing(check.stderr.strip())
    proc = fuzz("build")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def _need(name):
    module = NEEDS.get(name)
    if module:
        require_module(module, "pip install torch==2.13.0" if module == "torch" else None)


# Replay tests exist only for harnesses with committed crash inputs (a harness
# that never crashed has nothing to replay; its smoke test still runs).
@pytest.mark.parametrize("name", [n for n in C_HARNESSES if _regressions(n)])
def test_c_harness_replays_regressions(c_harnesses, name):
    proc = fuzz("replay", name, *_regressions(name))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.parametrize("name", [n for n in PY_HARNESSES if _regressions(n)])
def test_python_harness_replays_regressions(name):
    """In-process, without atheris: the loader raises only documented errors."""
    _need(name)
    proc = fuzz("check", name, *_regressions(name))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


def _smoke(name, tmp_path):
    proc = fuzz("run", name, "--time", SECONDS, "--max-len", 4096, "--corpus", tmp_path / "corpus",
                "--crashes", tmp_path / "crashes", "--also", *_regressions(name), timeout=SECONDS + 600)
    assert proc.returncode == 0, f"{name} found a crash (kept in {tmp_path / 'crashes'}):\n" \
                                 + proc.stdout[-3000:] + proc.stderr[-3000:]
    m = re.search(rf"^{name}\s+\d+ s\s+(\d+) execs\s+0 crash", proc.stdout, re.M)
    assert m and int(m.group(1)) > 0, proc.stdout


@pytest.mark.parametrize("name", C_HARNESSES)
def test_c_harness_smoke(c_harnesses, name, tmp_path):
    _smoke(name, tmp_path)


@pytest.mark.parametrize("name", PY_HARNESSES)
def test_python_harness_smoke(name, tmp_path):
    require_module("atheris")
    _need(name)
    _smoke(name, tmp_path)
