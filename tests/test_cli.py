"""The `pygru` command line: exit codes, error messages, outputs, and the demo
end to end. Most tests call pygru.cli.main(argv) in-process; a few run
`python -m pygru` as a subprocess to check the real entry point."""
import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

import pygru
from conftest import missing, pygru_env, require_module
from train_helpers import interrupt_at
from pygru import datasets
from pygru.cli import main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COMMANDS = ["train", "eval", "export", "import", "bench", "info", "demo"]


def run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def run_module(*argv):
    env = pygru_env()
    return subprocess.run([sys.executable, "-m", "pygru", *argv], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=300)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A small model trained by `pygru train` on the bundled data (shared)."""
    path = str(tmp_path_factory.mktemp("trained") / "kws.npz")
    assert main(["train", "spoken_digits", "-o", path, "--hidden", "16", "--epochs", "3",
                 "--no-progress", "-q"]) == 0
    return path


def _write_csv(path, n_seq=60, steps=6, seed=0, split=False):
    """Sequences whose class is the sign of feature a's mean: learnable."""
    rng = np.random.default_rng(seed)
    rows = ["sequence,label,a,b" + (",split" if split else "")]
    labels = []
    for s in range(n_seq):
        label = s % 2
        labels.append(label)
        for _ in range(steps):
            a = rng.normal(1.0 if label else -1.0, 0.5)
            row = f"s{s},{'up' if label else 'down'},{a:.5f},{rng.normal():.5f}"
            if split:
                row += "," + ("test" if s >= n_seq * 3 // 4 else "train")
            rows.append(row)
    with open(path, "w") as f:
        f.write("\n".join(rows) + "\n")
    return labels


# --------------------------------------------------------------------------- parser, help, exit codes

def test_help_lists_every_command_with_examples(capsys):
    code, out, _ = run(["--help"], capsys)
    assert code == 0
    for cmd in COMMANDS:
        assert re.search(rf"^\s+pygru {cmd}\b", out, re.M), cmd
    assert "exit codes" in out


@pytest.mark.parametrize("cmd", COMMANDS)
def test_each_command_help_has_examples(cmd, capsys):
    code, out, _ = run([cmd, "--help"], capsys)
    assert code == 0
    assert "examples:" in out and f"pygru {cmd}" in out


def test_no_command_is_a_usage_error(capsys):
    code, out, _ = run([], capsys)
    assert code == 2 and "COMMAND" in out


@pytest.mark.parametrize("argv, message", [
    (["train"], "the following arguments are required: DATA, -o/--output"),
    (["train", "spoken_digits", "-o", "m.npz", "--epochs", "0"], "expected a positive integer, got 0"),
    (["train", "spoken_digits", "-o", "m.npz", "--hidden", "32,x"], "comma-separated sizes"),
    (["train", "spoken_digits", "-o", "m.npz", "--lr", "nan"], "expected a finite number"),
    (["train", "spoken_digits", "-o", "m.npz", "--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
    (["export", "m.npz"], "required: -o/--output"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["info", "--bogus"], "unrecognized arguments: --bogus"),
])
def test_bad_command_lines_exit_2(argv, message, capsys):
    code, _, err = run(argv, capsys)
    assert code == 2
    assert message in err


def test_version_and_python_m_entry_point():
    proc = run_module("--version")
    assert proc.returncode == 0 and proc.stdout.strip() == f"pygru {pygru.__version__}"
    proc = run_module("eval", "no_such_model.npz", "spoken_digits")
    assert proc.returncode == 1
    assert "pygru eval: error: MODEL: no such file 'no_such_model.npz'" in proc.stderr
    assert "Traceback" not in proc.stderr


# --------------------------------------------------------------------------- train / eval

def test_train_rejects_bad_paths_before_training(tmp_path, capsys):
    out = str(tmp_path / "m.npz")
    code, _, err = run(["train", str(tmp_path / "missing.npz"), "-o", out], capsys)
    assert code == 1 and "no such file" in err and "spoken_digits" in err
    code, _, err = run(["train", "spoken_digits", "-o", str(tmp_path / "m.pkl")], capsys)
    assert code == 2 and "--output: expected a file name ending in .npz" in err
    code, _, err = run(["train", "spoken_digits", "-o", str(tmp_path / "nodir" / "m.npz")], capsys)
    assert code == 1 and "does not exist" in err
    (tmp_path / "data.txt").write_text("1,2,3\n")
    code, _, err = run(["train", str(tmp_path / "data.txt"), "-o", out], capsys)
    assert code == 1 and "expected .npz, .csv" in err
    (tmp_path / "fake.npz").write_bytes(b"not a zip")
    code, _, err = run(["train", str(tmp_path / "fake.npz"), "-o", out], capsys)
    assert code == 1 and "not an .npz file" in err
    np.savez(tmp_path / "wrong.npz", features=np.zeros((3, 4, 2)))
    code, _, err = run(["train", str(tmp_path / "wrong.npz"), "-o", out], capsys)
    assert code == 1 and "expected arrays X_train, y_train" in err and "['features']" in err
    np.savez(tmp_path / "nan.npz", X=np.full((10, 4, 2), np.nan), y=np.zeros(10, np.int64))
    code, _, err = run(["train", str(tmp_path / "nan.npz"), "-o", out], capsys)
    assert code == 1 and "non-finite" in err
    assert sorted(os.listdir(tmp_path)) == ["data.txt", "fake.npz", "nan.npz", "wrong.npz"]


def test_train_then_eval_matches_an_independent_accuracy(trained, capsys):
    model = pygru.load(trained)
    ds = datasets.load_default()
    expected = float(np.mean(model.predict(ds.X_test).argmax(axis=1) == ds.y_test))
    code, out, _ = run(["eval", trained, "spoken_digits", "--json"], capsys)
    assert code == 0
    result = json.loads(out)
    assert result["accuracy"] == pytest.approx(expected)
    assert result["count"] == len(ds.y_test)
    assert np.trace(np.array(result["confusion"])) == result["correct"]
    # Three epochs of a 16-unit GRU already learn the digits far above chance (10%).
    assert expected > 0.5
    code, out, _ = run(["eval", trained, "spoken_digits", "--confusion"], capsys)
    assert code == 0 and f"accuracy {expected:.2%}" in out and "confusion" in out and "nine" in out


def test_eval_rejects_mismatched_data(trained, tmp_path, capsys):
    np.savez(tmp_path / "d.npz", X=np.zeros((10, 4, 3), np.float32), y=np.zeros(10, np.int64))
    code, _, err = run(["eval", trained, str(tmp_path / "d.npz")], capsys)
    assert code == 1 and "3 features per step, the model expects 13" in err
    code, _, err = run(["eval", str(tmp_path / "d.npz"), "spoken_digits"], capsys)
    assert code == 1 and "MODEL:" in err and "is an .npz file but not a pygru model" in err


def test_train_from_csv_with_named_labels_and_split(tmp_path, capsys):
    csv_path = tmp_path / "updown.csv"
    _write_csv(csv_path, split=True)
    out = str(tmp_path / "m.npz")
    code, stdout, _ = run(["train", str(csv_path), "-o", out, "--hidden", "8", "--epochs", "15",
                           "--lr", "0.02", "--no-progress", "--history", str(tmp_path / "h.json")], capsys)
    assert code == 0, stdout
    assert "train (45, 6, 2), test (15, 6, 2) (given), 2 classes" in stdout
    model = pygru.load(out)
    assert (model.input_size, model.output_dim) == (2, 2)
    history = json.loads((tmp_path / "h.json").read_text())
    assert len(history["history"]["loss"]) == 15
    code, stdout, _ = run(["eval", out, str(csv_path), "--json"], capsys)
    assert code == 0 and json.loads(stdout)["accuracy"] >= 0.8


@pytest.mark.parametrize("body, message", [
    ("sequence,label,a\ns1,0,1\ns1,0,2\ns2,1,1\n", "same number of rows"),
    ("sequence,label,a\ns1,0,1\ns2,1,1\ns1,0,2\ns2,1,1\n", "not consecutive"),
    ("sequence,label,a\ns1,0,x\n", "must be numbers"),
    ("sequence,label,a\ns1,0,1\ns1,1,1\n", "changes its label"),
    ("seq,label,a\ns1,0,1\n", "must have a 'sequence' column"),
    ("sequence,label,a\ns1,0\n", "expected 3 columns, got 2"),
    ("", "is empty"),
])
def test_csv_layout_errors_name_the_problem(body, message, tmp_path, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    code, _, err = run(["train", str(path), "-o", str(tmp_path / "m.npz")], capsys)
    assert code == 1
    assert message in err
    assert not (tmp_path / "m.npz").exists()


def test_npz_without_test_split_is_held_out_deterministically(tmp_path):
    from pygru import _datafile
    X = np.arange(20 * 3 * 2, dtype=np.float32).reshape(20, 3, 2)
    y = np.arange(20) % 4
    np.savez(tmp_path / "d.npz", X=X, y=y)
    a = _datafile.load(str(tmp_path / "d.npz"), test_split=0.25, seed=3)
    b = _datafile.load(str(tmp_path / "d.npz"), test_split=0.25, seed=3)
    assert a.held_out and a.X_test.shape == (5, 3, 2) and a.X_train.shape == (15, 3, 2)
    np.testing.assert_array_equal(a.X_test, b.X_test)
    # The split is a partition of the original sequences.
    rows = sorted(map(bytes, np.concatenate([a.X_train, a.X_test]).reshape(20, -1).view(np.uint8)))
    assert rows == sorted(map(bytes, X.reshape(20, -1).view(np.uint8)))
    assert a.classes == ["0", "1", "2", "3"]


def test_train_regression_npz_uses_mse(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((64, 5, 3)).astype(np.float32)
    y = X.mean(axis=(1, 2)).astype(np.float32)
    np.savez(tmp_path / "reg.npz", X=X, y=y)
    code, out, _ = run(["train", str(tmp_path / "reg.npz"), "-o", str(tmp_path / "r.npz"),
                        "--hidden", "8", "--epochs", "2", "--no-progress"], capsys)
    assert code == 0 and "1 targets" in out and "test MSE" in out
    code, _, err = run(["train", str(tmp_path / "reg.npz"), "-o", str(tmp_path / "r.npz"),
                        "--loss", "cross_entropy"], capsys)
    assert code == 2 and "needs integer class labels" in err


# --------------------------------------------------------------------------- export / import

def _strip_date(text):
    return re.sub(r"Exported:.*", "", text)


def test_export_equals_the_python_api(tmp_path, capsys):
    model = pygru.GRUModel(input_size=4, hidden_sizes=[6, 5], output_size=3, seed=1)
    model.save(tmp_path / "m.npz")
    (tmp_path / "cli").mkdir()
    (tmp_path / "api").mkdir()
    code, out, _ = run(["export", str(tmp_path / "m.npz"), "-o", str(tmp_path / "cli" / "kws.h")], capsys)
    assert code == 0 and "kws_model" in out and "KWS_IMPLEMENTATION" in out
    pygru.export_c(model, str(tmp_path / "api" / "kws.h"), name="kws", source="pygru export m.npz")
    assert (_strip_date((tmp_path / "cli" / "kws.h").read_text())
            == _strip_date((tmp_path / "api" / "kws.h").read_text()))
    # Default name from the file name, made a C identifier.
    code, out, _ = run(["export", str(tmp_path / "m.npz"), "-o", str(tmp_path / "my-model.h")], capsys)
    assert code == 0 and "my_model_model" in out
    assert "#define MY_MODEL_INPUT_SIZE 4" in (tmp_path / "my-model.h").read_text()


def test_export_errors_leave_no_file(tmp_path, capsys):
    pygru.GRUModel(input_size=2, hidden_sizes=[3], seed=0).save(tmp_path / "m.npz")
    before = sorted(os.listdir(tmp_path))
    code, _, err = run(["export", str(tmp_path / "m.npz"), "-o", str(tmp_path / "x.h"), "--name", "int"], capsys)
    assert code == 2 and "--name: 'int' is a C keyword" in err
    code, _, err = run(["export", str(tmp_path / "m.npz"), "-o", str(tmp_path / "x.c")], capsys)
    assert code == 2 and "ending in .h" in err
    code, _, err = run(["export", str(tmp_path / "nope.npz"), "-o", str(tmp_path / "x.h")], capsys)
    assert code == 1 and "MODEL: no such file" in err
    (tmp_path / "text.npz").write_text("hello")
    code, _, err = run(["export", str(tmp_path / "text.npz"), "-o", str(tmp_path / "x.h")], capsys)
    assert code == 1 and "is not a pygru model" in err
    code, _, err = run(["export", str(tmp_path / "m.npz"), "-o", str(tmp_path / "x.h"), "--dtype", "int8"], capsys)
    assert code in (1, 2) and "int8" in err
    assert sorted(os.listdir(tmp_path)) == sorted(before + ["text.npz"])


def test_import_torch_state_dict_matches_torch(tmp_path, capsys):
    torch = require_module("torch", "pip install torch==2.13.0")
    torch.manual_seed(0)
    gru, fc = torch.nn.GRU(5, 8, num_layers=2, batch_first=True), torch.nn.Linear(8, 3)
    state = {**{f"gru.{k}": v for k, v in gru.state_dict().items()},
             **{f"fc.{k}": v for k, v in fc.state_dict().items()}}
    torch.save(state, tmp_path / "net.pt")
    code, out, _ = run(["import", str(tmp_path / "net.pt"), "-o", str(tmp_path / "m.npz"), "--head", "fc"],
                       capsys)
    assert code == 0 and "(torch)" in out
    x = np.random.default_rng(0).standard_normal((4, 7, 5)).astype(np.float32)
    with torch.no_grad():
        o, _ = gru(torch.from_numpy(x))
        ref = fc(o[:, -1]).numpy()
    np.testing.assert_allclose(pygru.load(tmp_path / "m.npz").predict(x), ref, atol=1e-5)


def test_import_errors(tmp_path, capsys):
    (tmp_path / "w.bin").write_bytes(b"\x00" * 16)
    code, _, err = run(["import", str(tmp_path / "w.bin"), "-o", str(tmp_path / "m.npz")], capsys)
    assert code == 2 and "cannot tell the format" in err and "--format" in err
    code, _, err = run(["import", str(tmp_path / "none.onnx"), "-o", str(tmp_path / "m.npz")], capsys)
    assert code == 1 and "FILE: no such file" in err
    require_module("onnx")
    (tmp_path / "bad.onnx").write_bytes(b"garbage")
    code, _, err = run(["import", str(tmp_path / "bad.onnx"), "-o", str(tmp_path / "m.npz")], capsys)
    assert code == 1 and "could not be imported as onnx" in err
    assert not (tmp_path / "m.npz").exists()


# --------------------------------------------------------------------------- info / bench

def test_info_reports_version_build_simd_and_toolchains(capsys):
    code, out, _ = run(["info", "--json"], capsys)
    assert code == 0
    info = json.loads(out)
    assert info["pygru"] == pygru.__version__
    assert info["simd_level"]
    assert info["build"]["extension"].endswith(tuple([".so", ".pyd"]))
    assert os.path.samefile(info["build"]["extension"], pygru._core.__file__)
    assert set(info["toolchains"]) >= {"cc", "arm-none-eabi-gcc", "qemu-system-arm"}
    for exe, t in info["toolchains"].items():
        assert (t["path"] is None) == (shutil.which(exe) is None)
    assert datasets.DEFAULT in info["datasets"]
    code, out, _ = run(["info"], capsys)
    assert code == 0 and "SIMD level:" in out and "build flags:" in out and "toolchains:" in out


def test_bench_runs_and_reports_every_row(capsys):
    code, out, _ = run(["bench", "--input", "3", "--hidden", "4", "--batch", "2", "--steps", "3",
                        "--repeat", "2", "--train", "--json"], capsys)
    assert code == 0
    result = json.loads(out)
    rows = result["seconds"]
    assert set(rows) == {"inference: batch sequence", "inference: stream step", "training: Adam step (MSE)"}
    assert rows["inference: batch sequence"]["pygru"] > 0
    assert rows["training: Adam step (MSE)"]["pygru"] > 0


# --------------------------------------------------------------------------- demo

def test_demo_rejects_an_out_path_that_is_a_file(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    code, _, err = run(["demo", "--out", str(tmp_path / "f")], capsys)
    assert code == 1 and "is not a directory" in err


def test_demo_program_output_parser():
    from pygru.demo import parse_program_output
    text = "selftest 0\npred 0: 1 2 3\npred 3: 4\nmismatches 0\ndone 4\n"
    assert parse_program_output(text) == (0, [1, 2, 3, 4], 0, 4)
    assert parse_program_output("selftest 0\npred 1: 5\n")[1] is None      # a gap: not trusted


def test_demo_end_to_end(tmp_path, capsys):
    from pygru.demo import cortex_m_skip_reason, host_compiler
    if host_compiler() is None:
        missing("no C compiler: apt-get install gcc")
    out_dir = tmp_path / "demo"
    code, out, err = run(["demo", "--out", str(out_dir), "--epochs", "8", "--no-progress"], capsys)
    assert code == 0, err
    summary = json.loads((out_dir / "summary.json").read_text())
    for name in summary["files"].values():
        assert (out_dir / name).is_file(), name
    assert {"model.npz", "kws.h", "main.c", "demo_data.h", "history.json"} <= set(summary["files"].values())
    # The saved model, rerun here, gives the accuracy the demo reported.
    ds = datasets.load_default()
    model = pygru.load(out_dir / "model.npz")
    pred = model.predict(ds.X_test).argmax(axis=1)
    assert summary["test_accuracy"] == pytest.approx(float(np.mean(pred == ds.y_test)))
    assert summary["test_accuracy"] > 0.7          # typical: ~0.95 after 8 epochs; chance 0.1
    assert f"test accuracy {summary['test_accuracy']:.1%}" in out
    # The firmware-style program agreed with Python on every prediction and output bit.
    host = summary["host_c"]
    assert host["all_equal"] and host["predictions_equal"] == len(ds.y_test) and host["mismatching_values"] == 0
    # ...and its predictions, rerun here, are the model's.
    proc = subprocess.run([str(out_dir / summary["files"]["host_program"])], capture_output=True, text=True)
    from pygru.demo import parse_program_output
    assert proc.returncode == 0
    assert parse_program_output(proc.stdout)[1] == pred.tolist()
    cm = summary["cortex_m4f"]
    cortex_m_reason = cortex_m_skip_reason()
    if cortex_m_reason is None:
        assert cm["ran"] and cm["all_equal"] and cm["mismatching_values"] == 0
    else:
        assert not cm["ran"] and cm["skipped"] == cortex_m_reason
    try:
        import matplotlib  # noqa: F401
        assert (out_dir / "training.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    except ImportError:
        assert "training.png" not in summary["files"].values()
    history = json.loads((out_dir / "history.json").read_text())
    assert len(history["loss"]) == 8 and len(history["val_accuracy"]) == 8
    if cortex_m_reason is not None:
        missing(f"the demo's Cortex-M4F step did not run: {cortex_m_reason}")


@pytest.mark.parametrize("dtype", ["int8", "integer"])
def test_export_quantized_equals_the_python_api(dtype, tmp_path, capsys):
    model = pygru.GRUModel(input_size=13, hidden_sizes=[8], output_size=10, seed=2)
    model.save(tmp_path / "m.npz")
    (tmp_path / "cli").mkdir()
    (tmp_path / "api").mkdir()
    code, out, _ = run(["export", str(tmp_path / "m.npz"), "-o", str(tmp_path / "cli" / "kws.h"),
                        "--dtype", dtype, "--calibration", "spoken_digits"], capsys)
    assert code == 0 and f"({dtype})" in out
    qmodel = pygru.quantize(model, datasets.load_default().X_train, mode=dtype)
    # Every export option applies to quantized headers too (here: the source line).
    pygru.export_c(qmodel, str(tmp_path / "api" / "kws.h"), name="kws", source="pygru export m.npz")
    assert (_strip_date((tmp_path / "cli" / "kws.h").read_text())
            == _strip_date((tmp_path / "api" / "kws.h").read_text()))


def test_ctrl_c_during_training_saves_the_best_weights(tmp_path):
    import signal
    import threading
    out = tmp_path / "m.npz"
    env = pygru_env()
    proc = subprocess.Popen([sys.executable, "-m", "pygru", "train", "spoken_digits", "-o", str(out),
                             "--epochs", "100000", "--hidden", "8"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(180, proc.kill)    # never hang the suite
    watchdog.start()
    try:
        # Wait until the progress lines (plain lines: stderr is a pipe) show a
        # finished second epoch, then press Ctrl-C.
        seen = ""
        while "fit: epoch 2," not in seen:
            chunk = proc.stderr.read(1)
            assert chunk, "training ended before it could be interrupted:\n" + seen
            seen += chunk
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, stderr  # 128 + SIGINT: the conventional status (issues 14, 15)
    assert "training stopped early (interrupted); keeping the best weights" in stdout
    assert "test accuracy" in stdout
    model = pygru.load(out)
    assert model.input_size == 13 and model.output_dim == 10


def test_train_resumes_from_its_checkpoint_after_an_interruption(tmp_path, monkeypatch, capsys):
    """Ctrl-C in the middle of epoch 2 of `pygru train --checkpoint`, then the
    same command with --resume: the final model equals an uninterrupted run's
    bit for bit."""
    common = ["spoken_digits", "--hidden", "8", "--epochs", "3", "--no-progress", "--seed", "5"]
    code, _, err = run(["train", *common, "-o", str(tmp_path / "ref.npz")], capsys)
    assert code == 0, err

    ckpt = tmp_path / "ckpt.npz"
    interrupt_at(monkeypatch, 60)   # the real C trainer, but Ctrl-C arrives at the 60th training batch
    with pytest.warns(RuntimeWarning, match="interrupted"):
        code, out, err = run(["train", *common, "-o", str(tmp_path / "cut.npz"), "--checkpoint", str(ckpt)],
                             capsys)
    assert code == 130 and "interrupted" in out, err
    assert ckpt.exists()
    monkeypatch.undo()

    code, _, err = run(["train", *common, "-o", str(tmp_path / "resumed.npz"), "--checkpoint", str(ckpt),
                        "--resume"], capsys)
    assert code == 0, err
    ref, resumed = pygru.load(tmp_path / "ref.npz"), pygru.load(tmp_path / "resumed.npz")
    for name, w in ref.get_weights().items():
        np.testing.assert_array_equal(resumed.get_weights()[name], w, err_msg=name)
    interrupted = pygru.load(tmp_path / "cut.npz")
    assert any(not np.array_equal(interrupted.get_weights()[k], w) for k, w in ref.get_weights().items())


def test_train_resume_needs_a_checkpoint(tmp_path, capsys):
    code, _, err = run(["train", "spoken_digits", "-o", str(tmp_path / "m.npz"), "--resume"], capsys)
    assert code == 2 and "--resume needs --checkpoint" in err
    assert not (tmp_path / "m.npz").exists()
