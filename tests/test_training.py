"""Training (gru_c/src/gru_train.c, gru_loss.c, gru_optim.c; pygru/training.py):
gradients against float64 finite differences of tests/reference.py and against
PyTorch autograd (live, and golden values from tools/gen_golden_training.py),
optimizer steps against torch.optim, bit-identity with inference and with a
plain C host build, padding invariance, fit/evaluate behaviour."""
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from conftest import C_TESTS, ROOT, require_module, require_tool
from pygru.firmware.cbuild import C_SOURCES, GRU_C, build, run
from train_helpers import (HOST_FLAGS, finite_difference_grads, ref_loss, torch_loss_and_grads,
                           torch_optimizer_step)

from pygru import GRUModel, training

GOLDEN = os.path.join(ROOT, "tests", "golden", "training_torch.npz")
REL = 1e-4


def _torch():
    torch = require_module("torch", "pip install torch==2.13.0 (the golden tests run without it)")
    torch.set_num_threads(1)
    return torch


def make_model(I=4, hidden=(6, 5), O=3, reset_after=True, act=None, seq=False, seed=0):
    return GRUModel(I, list(hidden), output_size=O, reset_after=reset_after, output_activation=act,
                    return_sequences=seq, seed=seed)


def make_data(model, loss, B=4, T=6, lengths=False, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(B, T, model.input_size)).astype(np.float32)
    O = model.output_dim
    seq = model.return_sequences
    if loss == "mse":
        y = rng.normal(size=(B, T, O) if seq else (B, O)).astype(np.float32)
    else:
        y = rng.integers(0, O, size=(B, T) if seq else (B,)).astype(np.int32)
    ln = np.array([T, 3, 1, T - 1][:B], np.int32) if lengths else None
    return X, y, ln


def c_gradients(model, X, y, loss, lengths=None, h0=None):
    """(loss, grads dict, dx, dh0) from gru_c through the binding."""
    tr = training.make_trainer(model, X.shape[0], X.shape[1])
    Xp, tg, lab, ln = training._prepare(model, X, y, loss, lengths)
    h0p = None if h0 is None else np.ascontiguousarray(h0, np.float32)
    tr.forward(Xp, ln, h0p)
    value = tr.loss(loss, tg, lab)
    dx, dh0 = tr.backward(want_dx=True, want_dh0=True, x_shape=Xp.shape)
    return value, training.unflatten_weights(model, tr.grad), dx, dh0


def assert_close(got, want, what, rel=REL):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    scale = max(np.abs(want).max(), 1e-3)
    err = np.abs(got - want).max() / scale
    assert err <= rel, f"{what}: max error {err:.2e} relative to {scale:.3g} (limit {rel})"


CONFIGS = [  # reset_after, seq, loss, lengths, act
    ((True, True), False, "mse", True, "tanh"),
    ((False, False), False, "mse", True, None),
    ((True, False), True, "cross_entropy", True, None),
    ((False, True), True, "mse", False, "sigmoid"),
    ((True, True), False, "cross_entropy", False, None),
    ((False, False), True, "cross_entropy", True, "softmax"),
]


@pytest.mark.parametrize("ra,seq,loss,lengths,act", CONFIGS)
def test_gradients_match_finite_differences(ra, seq, loss, lengths, act):
    model = make_model(reset_after=list(ra), act=act, seq=seq, hidden=(5, 4), I=3)
    X, y, ln = make_data(model, loss, B=3, T=5, lengths=lengths)
    value, grads, _, _ = c_gradients(model, X, y, loss, ln)
    cfg = (model.num_layers, model.reset_after, act, seq)
    w = model.get_weights()
    assert abs(value - ref_loss(w, X, y, loss, ln, *cfg)) <= 1e-5 * max(1.0, abs(value))
    fd = finite_difference_grads(w, X, y, loss, ln, cfg, picks=10)
    for name, (idx, g) in fd.items():
        scale = max(np.abs(grads[name]).max(), 1e-3)
        err = np.abs(grads[name].reshape(-1)[idx] - g).max() / scale
        assert err <= REL, f"{name}: {err:.2e}"


@pytest.mark.parametrize("ra,seq,loss,lengths,act", CONFIGS)
def test_gradients_match_torch_autograd_live(ra, seq, loss, lengths, act):
    _torch()
    model = make_model(reset_after=list(ra), act=act, seq=seq)
    X, y, ln = make_data(model, loss, lengths=lengths)
    h0 = np.random.default_rng(5).normal(size=(X.shape[0], sum(model.hidden_sizes))).astype(np.float32)
    value, grads, dx, dh0 = c_gradients(model, X, y, loss, ln, h0)
    tv, tg, tdx, tdh0 = torch_loss_and_grads(model.get_weights(), X, y, loss, ln, model.num_layers,
                                             model.reset_after, act, seq, h0=h0)
    assert abs(value - tv) <= 1e-5 * max(1.0, abs(tv))
    for name in tg:
        assert_close(grads[name], tg[name], name)
    assert_close(dx, tdx, "dx")
    assert_close(dh0, tdh0, "dh0")
    if ln is not None:  # padding steps get no input gradient
        for b, L in enumerate(ln):
            assert not dx[b, L:].any()


def _golden():
    data = np.load(GOLDEN, allow_pickle=False)
    return data, json.loads(str(data["__meta__"][()]))


@pytest.mark.parametrize("case", range(6))
def test_gradients_match_golden_torch(case):
    data, meta = _golden()
    c = meta["cases"][case]
    name = c["name"]
    model = GRUModel(c["input_size"], c["hidden_sizes"], output_size=c["output_size"],
                     reset_after=c["reset_after"], output_activation=c["output_activation"],
                     return_sequences=c["return_sequences"])
    model.set_weights({k.split("/", 2)[2]: data[k] for k in data.files if k.startswith(f"{name}/w/")})
    ln = data[f"{name}/lengths"] if f"{name}/lengths" in data.files else None
    value, grads, dx, dh0 = c_gradients(model, data[f"{name}/X"], data[f"{name}/y"], c["loss"], ln,
                                        data[f"{name}/h0"])
    assert abs(value - float(data[f"{name}/loss"])) <= 1e-5 * max(1.0, abs(value))
    for k in grads:
        assert_close(grads[k], data[f"{name}/grad/{k}"], f"{name} {k}")
    assert_close(dx, data[f"{name}/grad_x"], f"{name} dx")
    assert_close(dh0, data[f"{name}/grad_h0"], f"{name} dh0")


def _pygru_optimizer(kind, params, grads, steps, kw):
    """Run gru_optimizer_step through a Trainer's buffers on arbitrary arrays:
    a tiny model whose flat buffer we overwrite."""
    flat = np.concatenate([params[k].reshape(-1) for k in sorted(params)]).astype(np.float32)
    n = flat.size
    # A one-layer model with at least n parameters; the tail stays zero.
    model = GRUModel(1, [1], seed=0)
    H = 1
    while training._train.param_size([(1, H, True)]) < n:
        H += 1
    model = GRUModel(1, [H], seed=0)
    tr = training.make_trainer(model, 1, 1)
    tr.set_optimizer(kind, kw["lr"], momentum=kw.get("momentum", 0.0),
                     weight_decay=kw.get("weight_decay", 0.0 if kind != "adamw" else 0.01))
    tr.params[:] = 0
    tr.params[:n] = flat
    for s in range(steps):
        tr.grad[:] = 0
        tr.grad[:n] = np.concatenate([grads[s][k].reshape(-1) for k in sorted(params)])
        tr.step()
    out, at = {}, 0
    for k in sorted(params):
        out[k] = tr.params[at:at + params[k].size].reshape(params[k].shape).copy()
        at += params[k].size
    assert not tr.params[n:].any()  # zero parameters with zero gradients stay zero
    return out


@pytest.mark.parametrize("setting", range(5))
@pytest.mark.parametrize("steps", [1, 3])
def test_optimizer_matches_torch_optim(setting, steps):
    data, meta = _golden()
    kind, kw = meta["optim"][setting]
    params = {k: data[f"optim/params/{k}"] for k in ("a", "b")}
    grads = [{k: data[f"optim/grads{s}/{k}"] for k in ("a", "b")} for s in range(3)]
    got = _pygru_optimizer(kind, params, grads, steps, kw)
    want = {k: data[f"optim/{setting}/{steps}/{k}"] for k in params}
    try:
        _torch()
        want_live = torch_optimizer_step(kind, params, grads, steps, **kw)
    except pytest.skip.Exception:
        want_live = want
    for k in params:
        np.testing.assert_allclose(got[k], want[k], rtol=0, atol=1e-6, err_msg=f"{kind} {kw} golden {k}")
        np.testing.assert_allclose(got[k], want_live[k], rtol=0, atol=1e-6, err_msg=f"{kind} {kw} live {k}")


def test_clip_grad_norm_matches_definition():
    model = make_model()
    X, y, _ = make_data(model, "mse")
    tr = training.make_trainer(model, 4, 6)
    tr.forward(*training._prepare(model, X, y, "mse", None)[:1])
    tr.loss("mse", training._prepare(model, X, y, "mse", None)[1])
    tr.backward()
    g = tr.grad.astype(np.float64)
    norm = np.sqrt(np.sum(g * g))
    assert tr.clip(0.0) == pytest.approx(norm, rel=1e-6)
    assert np.array_equal(tr.grad, g.astype(np.float32))  # max_norm 0 only measures
    assert tr.clip(norm / 4) == pytest.approx(norm, rel=1e-6)
    np.testing.assert_allclose(tr.grad, g * (norm / 4) / (norm + 1e-6), rtol=2e-6, atol=1e-9)


@pytest.mark.parametrize("ra", [True, False])
@pytest.mark.parametrize("seq", [False, True])
def test_training_forward_is_bit_identical_to_inference(ra, seq):
    model = make_model(I=5, hidden=(13, 9, 7), O=4, reset_after=ra, act="tanh", seq=seq)
    X, y, _ = make_data(model, "mse", B=5, T=7)
    tr = training.make_trainer(model, 5, 7)
    Y, _ = tr.forward(training._prepare(model, X, y, "mse", None)[0])
    assert np.array_equal(Y.view(np.uint32), model.predict(X).view(np.uint32))


def test_padding_never_changes_results():
    model = make_model(reset_after=[True, False], seq=True)
    X, y, ln = make_data(model, "cross_entropy", lengths=True)
    a = c_gradients(model, X, y, "cross_entropy", ln)
    X2 = X.copy()
    y2 = y.copy()
    for b, L in enumerate(ln):
        X2[b, L:] = 1e3 * np.random.default_rng(b).normal(size=X2[b, L:].shape)
        y2[b, L:] = 0
    b_ = c_gradients(model, X2, y2, "cross_entropy", ln)
    assert a[0] == b_[0]
    for k in a[1]:
        assert np.array_equal(a[1][k], b_[1][k]), k
    assert np.array_equal(a[2], b_[2]) and np.array_equal(a[3], b_[3])


def test_truncated_bptt_carries_the_state():
    """Two chunks with h_last carried equal one pass over the whole sequence."""
    model = make_model(seq=True, reset_after=[False, True])
    X, y, _ = make_data(model, "mse", T=8)
    tr = training.make_trainer(model, 4, 8)
    Xp = training._prepare(model, X, y, "mse", None)[0]
    full, h_full = tr.forward(Xp, want_h_last=True)
    y1, h1 = tr.forward(np.ascontiguousarray(Xp[:, :5]), want_h_last=True)
    y2, h2 = tr.forward(np.ascontiguousarray(Xp[:, 5:]), None, h1, want_h_last=True)
    assert np.array_equal(np.concatenate([y1, y2], 1), full)
    assert np.array_equal(h2, h_full)


# ---------------------------------------------------------------------- C host and example

def _write_host_input(path, model, X, y, loss, lengths, batch, epochs, optimizer, lr, momentum, wd, clip):
    act = {None: 0, "sigmoid": 1, "tanh": 2, "softmax": 3}[model.output_activation]
    ints = [model.num_layers, model.input_size, *model.hidden_sizes, *[int(r) for r in model.reset_after],
            int(model.output_size is not None), model.output_size or 0, act, int(model.return_sequences),
            0 if loss == "mse" else 1, {"sgd": 0, "adam": 1, "adamw": 2}[optimizer],
            X.shape[0], X.shape[1], batch, epochs, int(lengths is not None)]
    with open(path, "wb") as f:
        f.write(np.array(ints, "<i4").tobytes())
        f.write(np.array([lr, momentum, wd, clip], "<f4").tobytes())
        f.write(training.flatten_weights(model).astype("<f4").tobytes())
        f.write(np.ascontiguousarray(X, "<f4").tobytes())
        f.write(np.ascontiguousarray(y, "<f4" if loss == "mse" else "<i4").tobytes())
        if lengths is not None:
            f.write(np.ascontiguousarray(lengths, "<i4").tobytes())


@pytest.fixture(scope="module")
def train_host(tmp_path_factory):
    out = tmp_path_factory.mktemp("host") / "train_host"
    return build([os.path.join(C_TESTS, "train_host.c")] + C_SOURCES, out, HOST_FLAGS)


@pytest.fixture(scope="module")
def train_host_small_kernel(tmp_path_factory):
    """The 8-row kernels that Cortex-M and RISC-V builds use (only built for
    the adam case; module scope keeps it to one build)."""
    out = tmp_path_factory.mktemp("host8") / "train_host8"
    return build([os.path.join(C_TESTS, "train_host.c")] + C_SOURCES, out,
                 HOST_FLAGS + ["-DGRU_KERNEL_ROWS=8"])


@pytest.mark.parametrize("loss,optimizer", [("mse", "adam"), ("cross_entropy", "sgd"), ("mse", "adamw")])
def test_python_and_plain_c_train_bit_identically(tmp_path, train_host, train_host_small_kernel, loss,
                                                  optimizer):
    model = make_model(I=4, hidden=(12, 8), O=3, reset_after=[True, False], seq=(loss == "mse"),
                       act="tanh" if loss == "mse" else None)
    X, y, _ = make_data(model, loss, B=10, T=7, seed=3)
    ln = np.array([7, 2, 5, 7, 1, 6, 7, 3, 4, 7], np.int32)
    kw = dict(batch=4, epochs=3, optimizer=optimizer, lr=0.01, momentum=0.9 if optimizer == "sgd" else 0.0,
              wd=0.01, clip=0.5)
    _write_host_input(tmp_path / "in.bin", model, X, y, loss, ln, **kw)
    run([train_host, tmp_path / "in.bin", tmp_path / "out.bin"])
    c_params = np.fromfile(tmp_path / "out.bin", "<f4")
    if optimizer == "adam":
        run([train_host_small_kernel, tmp_path / "in.bin", tmp_path / "out8.bin"])
        assert np.array_equal(np.fromfile(tmp_path / "out8.bin", "<f4").view(np.uint32),
                              c_params.view(np.uint32))
    model.fit(X, y, loss=loss, epochs=3, batch_size=4, optimizer=optimizer, lr=0.01, weight_decay=0.01,
              clip_norm=0.5, lengths=ln, shuffle=False, progress=False,
              **({"momentum": 0.9} if optimizer == "sgd" else {}))
    py_params = training.flatten_weights(model)
    assert c_params.shape == py_params.shape
    assert np.array_equal(c_params.view(np.uint32), py_params.view(np.uint32))


def test_c_unit_tests(tmp_path):
    exe = build([os.path.join(C_TESTS, "test_train.c")] + C_SOURCES, tmp_path / "t",
                  ["-O1", "-g", "-fsanitize=address,undefined", "-fno-sanitize-recover=all"])
    out = run([exe]).decode()
    assert re.search(r"\d+ passed, 0 failed", out), out


def test_example_trains_in_c_alone(tmp_path):
    require_tool("make")
    src = os.path.join(ROOT, "examples", "train_c")
    work = tmp_path / "train_c"
    shutil.copytree(src, work)
    proc = subprocess.run(["make", "-s", f"GRU_C={GRU_C}"], cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = run([work / "train_c"]).decode()
    losses = [float(m) for m in re.findall(r"loss ([0-9.eE+-]+)", out)]
    assert len(losses) >= 5, out
    assert losses[-1] < 0.5 * losses[0], out


# ---------------------------------------------------------------------- fit / evaluate

def _toy_classification(n=96, T=12, seed=0):
    """Which of two sine frequencies a noisy sequence carries."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    t = np.arange(T)
    phase = rng.uniform(0, 2 * np.pi, n)
    freq = np.where(labels == 1, 0.9, 0.3)
    X = np.sin(freq[:, None] * t[None] + phase[:, None])[..., None] + 0.1 * rng.normal(size=(n, T, 1))
    return X.astype(np.float32), labels


def test_fit_learns_and_reports_history():
    X, y = _toy_classification()
    model = GRUModel(1, [16], output_size=2, seed=0)
    before = model.evaluate(X, y, loss="cross_entropy")
    hist = model.fit(X, y, loss="cross_entropy", epochs=15, batch_size=16, lr=0.02, seed=0,
                     validation_data=(X[:32], y[:32]), progress=False)
    after = model.evaluate(X, y, loss="cross_entropy")
    assert set(hist) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert len(hist["loss"]) == 15 and hist.stopped is None
    assert after["loss"] < 0.5 * before["loss"]
    assert after["accuracy"] >= 0.9


def test_fit_is_deterministic_for_a_seed():
    X, y = _toy_classification(n=40)
    runs = []
    for _ in range(2):
        model = GRUModel(1, [8], output_size=2, seed=1)
        model.fit(X, y, loss="cross_entropy", epochs=2, batch_size=8, seed=7, progress=False)
        runs.append(training.flatten_weights(model))
    assert np.array_equal(runs[0], runs[1])
    model = GRUModel(1, [8], output_size=2, seed=1)
    model.fit(X, y, loss="cross_entropy", epochs=2, batch_size=8, seed=8, progress=False)
    assert not np.array_equal(runs[0], training.flatten_weights(model))


class _Faulty:
    """Wraps a Trainer; at call number `at` of train_batch raises
    KeyboardInterrupt or returns a NaN loss."""

    def __init__(self, inner, at, mode):
        self.inner, self.at, self.mode, self.calls = inner, at, mode, 0

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def train_batch(self, *args):
        self.calls += 1
        if self.calls == self.at:
            if self.mode == "interrupt":
                raise KeyboardInterrupt
            return float("nan"), 0.0
        return self.inner.train_batch(*args)


@pytest.mark.parametrize("mode,reason", [("interrupt", "interrupted"), ("nan", "non-finite loss")])
def test_interrupt_or_nan_stops_cleanly_with_best_weights(monkeypatch, mode, reason):
    X, y = _toy_classification(n=32)
    real = training.make_trainer
    seen = {}

    def faulty(*a, **k):
        t = _Faulty(real(*a, **k), at=9, mode=mode)  # 4 batches per epoch: dies in epoch 3
        seen["t"] = t
        return t
    monkeypatch.setattr(training, "make_trainer", faulty)
    model = GRUModel(1, [8], output_size=2, seed=2)
    with pytest.warns(RuntimeWarning, match=reason):
        hist = model.fit(X, y, loss="cross_entropy", epochs=5, batch_size=8, seed=0, progress=False)
    assert hist.stopped == reason and hist.epochs_run == 2
    best = int(np.argmin(hist["loss"]))
    assert hist.best_epoch == best + 1
    # The restored weights are finite and are those of the best epoch: retrain
    # the same epochs without the fault and compare.
    monkeypatch.setattr(training, "make_trainer", real)
    ref = GRUModel(1, [8], output_size=2, seed=2)
    ref.fit(X, y, loss="cross_entropy", epochs=best + 1, batch_size=8, seed=0, progress=False)
    assert np.array_equal(training.flatten_weights(model), training.flatten_weights(ref))


def test_early_stopping_keeps_best():
    X, y = _toy_classification(n=48)
    model = GRUModel(1, [8], output_size=2, seed=3)
    hist = model.fit(X, y, loss="cross_entropy", epochs=40, batch_size=8, lr=0.05, seed=0,
                     validation_data=(X[:8], (1 - y[:8])), early_stopping=2, progress=False)
    assert hist.stopped == "early stopping"
    assert hist.best_epoch == int(np.argmin(hist["val_loss"])) + 1
    assert model.evaluate(X[:8], 1 - y[:8], loss="cross_entropy")["loss"] == pytest.approx(
        min(hist["val_loss"]), rel=1e-5)


def test_fit_on_bundled_dataset():
    """The bundled real data set (spoken digits, MFCC sequences): typical test
    accuracy 0.96-0.98 with these settings (README), floor well below."""
    from pygru import datasets
    ds = datasets.load_default()
    model = GRUModel(ds.input_size, [32], output_size=ds.num_classes, seed=0)
    hist = model.fit(ds.X_train, ds.y_train, loss="cross_entropy", epochs=10, batch_size=32, lr=0.01,
                     seed=0, progress=False)
    result = model.evaluate(ds.X_test, ds.y_test, loss="cross_entropy")
    assert hist["loss"][-1] < 0.25 * hist["loss"][0]
    assert result["accuracy"] >= 0.90, result
    # The trained weights run through inference (gru_sequence) with the same answers.
    pred = model.predict(ds.X_test).argmax(-1)
    assert np.mean(pred == ds.y_test) == pytest.approx(result["accuracy"])


def test_evaluate_matches_numpy_reference():
    model = make_model(seq=True, act="tanh")
    X, y, ln = make_data(model, "mse", lengths=True)
    got = model.evaluate(X, y, loss="mse", lengths=ln, batch_size=3)["loss"]
    want = ref_loss(model.get_weights(), X, y, "mse", ln, model.num_layers, model.reset_after, "tanh", True)
    assert got == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(loss="hinge"), ValueError, "loss"),
    (dict(optimizer="rmsprop"), ValueError, "optimizer"),
    (dict(epochs=0), ValueError, "epochs"),
    (dict(lr=-1.0), ValueError, "lr"),
    (dict(clip_norm=float("nan")), ValueError, "clip_norm"),
    (dict(lengths=[1, 2]), ValueError, "lengths"),
    (dict(lengths=[0, 1, 1, 1]), ValueError, "lengths"),
    (dict(y=np.zeros((4, 2), np.float32)), ValueError, "y"),
    (dict(loss="cross_entropy", y=np.zeros(4, np.float32)), TypeError, "y"),
    (dict(loss="cross_entropy", y=np.full(4, 3)), ValueError, "y"),
    (dict(validation_data=[1]), TypeError, "validation_data"),
])
def test_fit_rejects_bad_arguments(kwargs, exc, match):
    model = make_model(I=2, hidden=(3,), O=3)
    args = dict(X=np.zeros((4, 5, 2), np.float32), y=np.zeros((4, 3), np.float32), progress=False)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        model.fit(**args)


def test_training_hot_loops_vectorize(tmp_path):
    """Every loop marked `/* vectorize */` in the training sources is reported
    vectorized by GCC at -O3 without -ffast-math."""
    require_tool("gcc")
    files = ("gru_train.c", "gru_train_kernels.h", "gru_cell.h")  # the cell training shares with inference
    marked = {}
    for name in files:
        with open(os.path.join(GRU_C, "src", name)) as f:
            marked[name] = [i + 1 for i, line in enumerate(f) if "/* vectorize */" in line]
    assert sum(len(v) for v in marked.values()) >= 10
    proc = subprocess.run(["gcc", "-std=c99", "-O3", "-ffp-contract=off", "-fno-math-errno",
                           "-fopt-info-vec-optimized", "-I" + os.path.join(GRU_C, "include"), "-c",
                           os.path.join(GRU_C, "src", "gru_train.c"), "-o", str(tmp_path / "t.o")],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for name in files:
        done = {int(m.group(1)) for m in
                re.finditer(re.escape(name) + r":(\d+):\d+: optimized: loop vectorized", proc.stderr)}
        missing = [line for line in marked[name] if line not in done]
        assert not missing, f"{name} loops at lines {missing} did not vectorize:\n{proc.stderr}"


# ---------------------------------------------------------------------- truncated BPTT

def _tbptt_reference(weights, X, Y, lengths, K, lr, epochs):
    """fit(bptt_steps=K, optimizer='sgd', momentum=0, one batch, no shuffle) by
    PyTorch autograd in float64: each chunk of K steps starts from the states
    the previous chunk ended in (detached), its loss is the mean over its valid
    steps, and plain SGD updates after every chunk."""
    import reference
    w = {k: np.asarray(v, np.float64) for k, v in weights.items()}
    N, T = X.shape[:2]
    H = w["weight_hh_l0"].shape[1]
    for _ in range(epochs):
        h = np.zeros((N, H))
        for t0 in range(0, T, K):
            t1 = min(t0 + K, T)
            ln = np.clip(lengths - t0, 0, t1 - t0)  # 0: the sequence has ended
            _, grads, _, _ = torch_loss_and_grads(w, X[:, t0:t1], Y[:, t0:t1], "mse", ln, 1, [True],
                                                  None, True, h0=h)
            new_h = h.copy()  # the state after each sequence's last valid step of the chunk
            for b in np.flatnonzero(ln > 0):
                out = reference.gru_layer(X[b:b + 1, t0:t0 + ln[b]], w["weight_ih_l0"],
                                          w["weight_hh_l0"], w["bias_ih_l0"], w["bias_hh_l0"],
                                          h0=h[b:b + 1])
                new_h[b] = out[0, -1]
            h = new_h
            w = {k: v - lr * grads[k] for k, v in w.items()}
    return w


def test_fit_bptt_steps_matches_torch_truncated_bptt():
    _torch()
    model = GRUModel(3, [7], output_size=2, return_sequences=True, seed=5)
    rng = np.random.default_rng(6)
    X = rng.standard_normal((5, 11, 3)).astype(np.float32)
    Y = rng.standard_normal((5, 11, 2)).astype(np.float32)
    lengths = np.array([11, 3, 9, 4, 11])  # ends inside chunks, on a boundary, and at T
    want = _tbptt_reference(model.get_weights(), X, Y, lengths, K=4, lr=0.05, epochs=2)
    hist = model.fit(X, Y, epochs=2, batch_size=5, optimizer="sgd", momentum=0.0, lr=0.05,
                     lengths=lengths, shuffle=False, progress=False, bptt_steps=4)
    got = model.get_weights()
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=1e-4, atol=1e-5, err_msg=k)
    assert len(hist["loss"]) == 2 and np.isfinite(hist["loss"]).all()


def test_fit_bptt_steps_at_least_T_is_ordinary_bptt_bit_for_bit():
    X = np.random.default_rng(0).standard_normal((6, 9, 3)).astype(np.float32)
    Y = np.random.default_rng(1).standard_normal((6, 9, 2)).astype(np.float32)
    a = GRUModel(3, [5], output_size=2, return_sequences=True, seed=1)
    b = GRUModel(3, [5], output_size=2, return_sequences=True, seed=1)
    a.fit(X, Y, epochs=2, batch_size=4, seed=3, progress=False)
    b.fit(X, Y, epochs=2, batch_size=4, seed=3, progress=False, bptt_steps=9)
    for k, v in a.get_weights().items():
        np.testing.assert_array_equal(v, b.get_weights()[k])


def test_fit_bptt_validation_runs_in_chunks_and_matches_evaluate():
    # The trainer holds only bptt_steps steps: validation sequences (longer) run
    # in chunks that carry the state, which gives evaluate's full-length loss.
    rng = np.random.default_rng(2)
    X, Xv = rng.standard_normal((4, 8, 3)), rng.standard_normal((3, 10, 3))
    labels, labels_v = rng.integers(0, 4, (4, 8)), rng.integers(0, 4, (3, 10))
    model = GRUModel(3, [6], output_size=4, return_sequences=True, seed=0)
    hist = model.fit(X, labels, loss="cross_entropy", epochs=1, bptt_steps=3, progress=False,
                     validation_data=(Xv, labels_v, [10, 4, 7]), shuffle=False)
    full = model.evaluate(Xv, labels_v, loss="cross_entropy", lengths=[10, 4, 7])
    assert hist["val_loss"][0] == pytest.approx(full["loss"], rel=1e-6)
    assert hist["val_accuracy"][0] == full["accuracy"]


def test_fit_bptt_steps_needs_a_sequence_to_sequence_model():
    model = GRUModel(3, [4], output_size=2, seed=0)
    X, Y = np.zeros((2, 5, 3)), np.zeros((2, 2))
    with pytest.raises(ValueError, match=r"^bptt_steps: truncated BPTT needs a sequence-to-sequence"):
        model.fit(X, Y, bptt_steps=2, progress=False)
    with pytest.raises(ValueError, match=r"^bptt_steps: "):
        GRUModel(3, [4], output_size=2, return_sequences=True).fit(X, np.zeros((2, 5, 2)),
                                                                   bptt_steps=0, progress=False)


def test_progress_in_a_log_is_one_plain_line_per_epoch(tmp_path):
    """Not on a terminal, fit's progress is a line per epoch, not tqdm's
    carriage-return frames (which filled logs with ~87 KB per run)."""
    import subprocess
    import sys
    code = ("import numpy as np, pygru\n"
            "X = np.random.default_rng(0).normal(size=(64, 5, 3)).astype(np.float32)\n"
            "y = X[:, :, 0].sum(axis=1, keepdims=True)\n"
            "pygru.GRUModel(3, [4], 1, seed=0).fit(X, y, epochs=3, batch_size=8, progress=True)\n")
    log = tmp_path / "log.txt"
    with open(log, "w") as f:
        subprocess.run([sys.executable, "-c", code], stderr=f, stdout=f, check=True, timeout=120)
    text = log.read_text()
    assert "\r" not in text
    lines = [l for l in text.splitlines() if l.startswith("fit: epoch")]
    assert [l.split(",")[0] for l in lines] == ["fit: epoch 1", "fit: epoch 2", "fit: epoch 3"], text
