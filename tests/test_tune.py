"""pygru.tune / `pygru tune`: search, constraints, resume, seeds, Dask, outputs.

Small on purpose: 200 training sequences, 2-3 epochs, a handful of trials.
Most tests use the calibrated instruction model (latency="model") so they
need no cross toolchain; one checks the exact QEMU path against it."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import pygru
from pygru import datasets

from conftest import require_module, require_target

optuna = require_module("optuna", "pip install 'pygru[tune]'")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUDGET = dict(target="cortex-m4f", mhz=64, flash=32 * 1024, ram=8 * 1024, latency_ms=1.0)
FAST = {"epochs": [2, 3], "hidden": [8, 16, 24, 32, 64], "layers": [1, 2]}


@pytest.fixture(scope="module")
def small():
    ds = datasets.load_default()
    return (ds.X_train[:200], ds.y_train[:200]), (ds.X_test[:100], ds.y_test[:100])


def run(small, **kw):
    train, val = small
    args = dict(BUDGET, n_trials=4, space=FAST, latency="model", progress=False)
    args.update(kw)
    return pygru.tune(train, val, **args)


def test_import_pygru_does_not_import_optuna():
    code = "import sys, pygru; assert callable(pygru.tune); print('optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    assert out.stdout.strip() == "False"


def test_same_seed_same_trials_and_results(small):
    a, b = run(small, seed=3), run(small, seed=3)
    key = lambda r: [(t["trial"], t["config"], t["accuracy"], t["flash"], t["ram"], t["latency_ms"])
                     for t in r.report["trials"]]
    assert key(a) == key(b)
    assert a.chosen["trial"] == b.chosen["trial"]
    np.testing.assert_array_equal(a.model.predict(small[1][0]), b.model.predict(small[1][0]))
    assert key(run(small, seed=4)) != key(a)


def test_front_and_chosen_respect_limits(small, tmp_path):
    r = run(small, n_trials=6, output_dir=tmp_path)
    assert r.chosen is not None and r.front
    for t in r.front + [r.chosen]:
        assert t["feasible"] and t["flash"] <= BUDGET["flash"] and t["ram"] <= BUDGET["ram"]
        assert t["latency_ms"] <= BUDGET["latency_ms"]
    best = max(t["accuracy"] for t in r.report["trials"] if t["feasible"])
    assert r.chosen["accuracy"] == best
    # Nothing on the front is dominated by another feasible trial.
    feas = [t for t in r.report["trials"] if t["feasible"]]
    for f in r.front:
        assert not any(g["accuracy"] >= f["accuracy"] and g["flash"] <= f["flash"] and g["ram"] <= f["ram"]
                       and g["latency_ms"] <= f["latency_ms"] and
                       (g["accuracy"], g["flash"], g["ram"], g["latency_ms"]) !=
                       (f["accuracy"], f["flash"], f["ram"], f["latency_ms"]) for g in feas)
    # Files: report, plot, the chosen model (float weights and, if quantized, its quantization), header.
    rep = json.loads((tmp_path / "report.json").read_text())
    assert rep["chosen"]["trial"] == r.chosen["trial"] and rep["settings"]["latency_source"] == "model"
    assert (tmp_path / "front.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = pygru.load(tmp_path / "model.npz")
    deployed = model if r.chosen["config"]["precision"] == "float" else \
        pygru.load_quantized(tmp_path / f"model_{r.chosen['config']['precision']}.npz")
    np.testing.assert_array_equal(deployed.predict(small[1][0]), r.model.predict(small[1][0]))
    acc = float(np.mean(deployed.predict(small[1][0]).argmax(1) == small[1][1]))
    assert acc == r.chosen["accuracy"]
    header = (tmp_path / "model.h").read_text()
    if r.chosen["config"]["precision"] == "float":
        assert f"#define MODEL_WEIGHT_COUNT {r.chosen['weight_bytes'] // 4}" in header
    else:
        assert f"#define MODEL_WEIGHT_BYTES {r.chosen['weight_bytes']}" in header
    assert r.chosen["header"]["weight_bytes"] == r.chosen["weight_bytes"]


def test_interrupted_search_resumes_to_the_same_total(small, tmp_path, monkeypatch):
    from pygru import tune as tune_module
    real, calls = tune_module.run_trial, []

    def flaky(config, data, seed, train=True):
        if train:
            calls.append(seed)
            if len(calls) == 3:
                raise KeyboardInterrupt
        return real(config, data, seed, train)

    monkeypatch.setattr(tune_module, "run_trial", flaky)
    with pytest.raises(KeyboardInterrupt):
        run(small, n_trials=5, output_dir=tmp_path)
    monkeypatch.setattr(tune_module, "run_trial", real)
    study = optuna.load_study(study_name="pygru-tune", storage=f"sqlite:///{tmp_path / 'tune.db'}")
    done = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert 2 <= len(done) < 5
    assert not [t for t in study.trials if t.state == optuna.trial.TrialState.RUNNING]
    r = run(small, n_trials=5, output_dir=tmp_path)
    assert r.report["trials_complete"] == 5
    # The chosen model may come from the first run: its weights were saved then.
    assert (tmp_path / "trials").is_dir() and r.model is not None
    # Same command again: nothing left to do, same answer.
    again = run(small, n_trials=5, output_dir=tmp_path)
    assert again.report["trials_complete"] == 5 and again.chosen["trial"] == r.chosen["trial"]
    with pytest.raises(ValueError, match=r"other settings \(differs in: limits\)"):
        run(small, n_trials=5, output_dir=tmp_path, flash=16 * 1024)


def test_trials_that_keep_failing_stop_the_search(small, monkeypatch):
    from pygru import tune as tune_module
    real = tune_module.run_trial

    def broken(config, data, seed, train=True):
        if train:
            raise ValueError("diverged")
        return real(config, data, seed, train)

    monkeypatch.setattr(tune_module, "run_trial", broken)
    with pytest.raises(RuntimeError, match=r"3 trials failed in this run, .* ValueError: diverged"):
        run(small, n_trials=2)


def test_impossible_budget_names_the_smallest_models_needs(small):
    with pytest.raises(pygru.tune.ImpossibleBudget) as exc:
        run(small, flash=3000, ram=64, latency_ms=0.001)
    msg = str(exc.value)
    assert "nothing in the search space fits cortex-m4f at 64 MHz within flash 3000 B, RAM 64 B" in msg
    for precision in ("float", "int8", "integer"):
        assert f"8 {precision} reset-after: flash" in msg
    assert "ms/step" in msg


@pytest.mark.parametrize("kw, match", [
    (dict(target="cortex-m9"), "target: expected one of"),
    (dict(mhz=0), "mhz: expected a positive number"),
    (dict(flash=-1), "flash: expected a positive number"),
    (dict(latency_ms="1"), "latency_ms: expected a positive number"),
    (dict(n_trials=0), "n_trials: expected a positive integer"),
    (dict(objectives=("flash", "ram")), "objectives: expected distinct names"),
    (dict(objectives=("accuracy", "speed")), "objectives: expected distinct names"),
    (dict(space={"width": [8]}), "space: unknown dimension 'width'"),
    (dict(space={"hidden": [0, 8]}), r"space\['hidden'\]: invalid value\(s\) \[0\]"),
    (dict(space={"precision": ["fp16"]}), r"space\['precision'\]: invalid value"),
    (dict(space={"lr": (0.1, 0.01)}), r"space\['lr'\]: expected \(low, high\)"),
    (dict(latency="exact"), "latency: expected 'auto', 'qemu' or 'model'"),
    (dict(workers=-1), "workers: expected a non-negative integer"),
    (dict(header_name="1bad"), "name"),
])
def test_bad_arguments_are_named(small, kw, match):
    with pytest.raises(ValueError, match=match):
        run(small, **kw)


def test_regression_data_with_loss_objective():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 6, 3)).astype(np.float32)
    y = X.sum(axis=(1, 2))[:, None].astype(np.float32) / 6
    with pytest.raises(ValueError, match="'accuracy' needs class labels"):
        pygru.tune((X, y), **BUDGET, n_trials=2, latency="model", progress=False)
    r = pygru.tune((X, y), **BUDGET, n_trials=3, objectives=("loss", "flash"), latency="model",
                   space={"epochs": [2], "hidden": [8, 16], "layers": [1]}, progress=False)
    assert r.chosen["accuracy"] is None and r.chosen["loss"] == min(t["loss"] for t in r.front)


def test_qemu_counts_agree_with_the_calibrated_model(small, tmp_path):
    from pygru import _tune_cost as tc
    require_target("cortex-m4f")
    r = run(small, n_trials=2, latency="qemu", output_dir=tmp_path,
            space={"epochs": [2], "hidden": [16, 24], "layers": [1], "precision": ["float", "integer"]})
    assert r.report["settings"]["latency_source"] == "qemu"
    c = r.chosen
    # The chosen header itself, counted: same sizes, and an instruction count
    # within a fraction of a percent of its shape's seed-0 stand-in.
    assert c["header"]["flash"] == c["flash"] and c["header"]["ram"] == c["ram"]
    assert abs(c["header"]["insn_per_step"] - c["insn_per_step"]) <= 0.01 * c["insn_per_step"]
    counts = json.loads((tmp_path / "counts.json").read_text())
    assert counts and all(v["source"] == "qemu" for v in counts.values())
    for t in r.report["trials"]:
        cfg = t["config"]
        insn, code = tc.modelled("cortex-m4f", cfg["precision"], 13, cfg["hidden"], 10,
                                 [cfg["reset_after"]] * cfg["layers"])
        entry = tc.coefficients()["targets"]["cortex-m4f"][cfg["precision"]]
        bound = max(entry["max_rel_error_fit"], entry["max_rel_error_holdout"]) + 0.02
        assert abs(insn - t["insn_per_step"]) <= bound * t["insn_per_step"]
        assert code == t["runtime_bytes"]


def test_dask_local_cluster_with_two_workers(small, tmp_path):
    require_module("distributed", "pip install 'dask[distributed]'")
    r = run(small, n_trials=4, workers=2, output_dir=tmp_path)
    assert r.report["parallel_slots"] == 2 and r.report["trials_complete"] == 4
    assert r.chosen is not None and r.chosen["feasible"]


def test_cli(small, tmp_path):
    from pygru.cli import main
    (X, y), (Xv, yv) = small
    data = tmp_path / "d.npz"
    np.savez(data, X_train=X, y_train=y, X_test=Xv, y_test=yv)
    out = tmp_path / "out"
    argv = ["tune", str(data), "-o", str(out), "--target", "rv32imac", "--mhz", "100", "--flash", "24K",
            "--ram", "4K", "--trials", "3", "--space", "epochs=2", "--space", "hidden=8,16",
            "--space", "reset_after=after,before", "--latency-source", "model", "--no-progress", "--name", "kws"]
    assert main(argv) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["trials_complete"] == 3 and rep["settings"]["limits"]["flash"] == 24 * 1024
    assert (out / "kws.h").is_file() and (out / "model.npz").is_file()
    # `pygru eval` reads the chosen model, quantized or not.
    prec = rep["chosen"]["config"]["precision"]
    name = "model.npz" if prec == "float" else f"model_{prec}.npz"
    assert main(["eval", str(out / name), str(data)]) == 0
    for bad in (["--flash", "0"], ["--space", "width=3"], ["--mhz", "fast"], ["--target", "avr"]):
        assert main(argv[:4] + ["--target", "rv32imac", "--mhz", "100"] + bad) == 2
    assert main(argv[:4] + ["--target", "cortex-m0", "--mhz", "16", "--flash", "1K", "--latency-source",
                            "model"]) == 1
