"""Fuzzing in CI: every harness of tools/fuzz/ runs for a few seconds, and every
committed crash input in tests/fuzz_regressions/NAME/ is replayed (each was a
bug; each must stay fixed). Longer runs: python tools/fuzz/run.py run --time N.

PYGRU_FUZZ_SECONDS sets the smoke time per harness (default 3)."""
import importlib
import os
import shutil
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUZZ = os.path.join(ROOT, "tools", "fuzz")
REGRESSIONS = os.path.join(ROOT, "tests", "fuzz_regressions")
sys.path.insert(0, FUZZ)
import run as fuzz  # noqa: E402

SECONDS = float(os.environ.get("PYGRU_FUZZ_SECONDS", "3"))

# Optional package each Python harness's loader needs (its importer imports it).
NEEDS = {"npz": None, "qnpz": None, "data": None, "torch": "torch", "keras": "h5py", "onnx": "onnx"}


def _regressions(name):
    d = os.path.join(REGRESSIONS, name)
    return sorted(os.path.join(d, f) for f in os.listdir(d)) if os.path.isdir(d) else []


def test_every_regression_folder_names_a_harness():
    assert set(os.listdir(REGRESSIONS)) <= set(fuzz.ALL)


@pytest.fixture(scope="module")
def c_harnesses():
    reason = fuzz.can_build_c()
    if reason:
        pytest.skip(reason)
    fuzz.build(quiet=True)


def _need(name):
    module = NEEDS.get(name)
    if module:
        pytest.importorskip(module, reason=f"{module} not installed (pip install {module})")


# Replay tests exist only for harnesses with committed crash inputs (a harness
# that never crashed has nothing to replay; its smoke test still runs).
@pytest.mark.parametrize("name", [n for n in fuzz.C_HARNESSES if _regressions(n)])
def test_c_harness_replays_regressions(c_harnesses, name):
    files = _regressions(name)
    proc = fuzz.replay(name, files)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.parametrize("name", [n for n in fuzz.PY_HARNESSES if _regressions(n)])
def test_python_harness_replays_regressions(name):
    """In-process, without atheris: the loader raises only documented errors."""
    files = _regressions(name)
    _need(name)
    module = importlib.import_module(fuzz.PY_HARNESSES[name][:-3])
    import pyharness
    allowed = module.allowed() if hasattr(module, "allowed") else module.ALLOWED
    loader = module.loader()
    for path in files:
        with open(path, "rb") as f:
            pyharness.check(loader, f.read(), module.SUFFIXES, allowed, module.MUST_NAME)


def _smoke(name, tmp_path):
    corpus = tmp_path / "corpus"
    from seeds import write_seeds
    write_seeds(name, str(corpus))
    for path in _regressions(name):
        shutil.copy(path, corpus)
    execs, crashes, tail, rc = fuzz.run_one(name, SECONDS, 4096, str(corpus), str(tmp_path / "crashes"))
    assert not crashes and rc == 0, f"{name} found a crash (kept in {tmp_path / 'crashes'}):\n{tail}"
    assert execs > 0, tail


@pytest.mark.parametrize("name", list(fuzz.C_HARNESSES))
def test_c_harness_smoke(c_harnesses, name, tmp_path):
    _smoke(name, tmp_path)


@pytest.mark.parametrize("name", list(fuzz.PY_HARNESSES))
def test_python_harness_smoke(name, tmp_path):
    pytest.importorskip("atheris", reason="atheris not installed (pip install atheris)")
    _need(name)
    _smoke(name, tmp_path)
