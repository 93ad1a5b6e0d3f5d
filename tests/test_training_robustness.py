"""Training never loses work: a non-finite loss stops with a clear message and
restores the last good weights; per-epoch checkpoints are written atomically;
an interrupted fit resumes from its checkpoint and ends bit-identical to an
uninterrupted run."""
import os

import numpy as np
import pytest

import pygru
from train_helpers import Interrupting, interrupt_at


def _data(n=24, t=5, i=3):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, t, i)).astype(np.float32)
    y = np.stack([X[:, :, 0].mean(1), X[:, :, 1].sum(1) * 0.1], 1).astype(np.float32)
    return X, y


def _model():
    return pygru.GRUModel(3, [6], output_size=2, seed=3)


FIT = dict(epochs=4, batch_size=5, optimizer="adam", lr=0.01, seed=11, progress=False)


def test_interrupted_fit_resumes_bit_identical(tmp_path, monkeypatch):
    X, y = _data()
    reference = _model()
    reference.fit(X, y, **FIT)

    model = _model()
    ckpt = tmp_path / "ckpt.npz"
    interrupt_at(monkeypatch, 13)  # 5 batches per epoch: Ctrl-C in the middle of epoch 3
    with pytest.warns(RuntimeWarning, match=r"interrupted.*after 2 complete epoch"):
        h = model.fit(X, y, checkpoint=ckpt, **FIT)
    assert h.stopped == "interrupted" and h.epochs_run == 2
    assert ckpt.exists() and not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    monkeypatch.undo()

    resumed = _model()
    h2 = resumed.fit(X, y, checkpoint=ckpt, resume=True, **FIT)
    assert h2.epochs_run == 4 and h2.stopped is None
    assert len(h2["loss"]) == 4
    for name, w in reference.get_weights().items():
        np.testing.assert_array_equal(resumed.get_weights()[name], w, err_msg=name)


def test_resume_without_checkpoint_file_starts_fresh(tmp_path):
    X, y = _data()
    a, b = _model(), _model()
    a.fit(X, y, **FIT)
    b.fit(X, y, checkpoint=tmp_path / "new.npz", resume=True, **FIT)
    for name, w in a.get_weights().items():
        np.testing.assert_array_equal(b.get_weights()[name], w)
    assert (tmp_path / "new.npz").exists()


def test_resume_refuses_other_settings_or_model(tmp_path):
    X, y = _data()
    ckpt = tmp_path / "c.npz"
    _model().fit(X, y, checkpoint=ckpt, **dict(FIT, epochs=1))
    with pytest.raises(ValueError, match=r"checkpoint: .*other settings \(lr"):
        _model().fit(X, y, checkpoint=ckpt, resume=True, **dict(FIT, lr=0.5))
    other = pygru.GRUModel(3, [7], output_size=2, seed=3)
    with pytest.raises(ValueError, match=r"checkpoint: .*is for a model"):
        other.fit(X, y, checkpoint=ckpt, resume=True, **FIT)
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match=r"checkpoint: .*not a readable pygru training checkpoint"):
        _model().fit(X, y, checkpoint=tmp_path / "junk.npz", resume=True, **FIT)


def test_checkpoint_argument_errors(tmp_path):
    X, y = _data()
    with pytest.raises(ValueError, match=r"checkpoint: expected a file name ending in '\.npz'"):
        _model().fit(X, y, checkpoint=tmp_path / "c.txt", **FIT)
    with pytest.raises(FileNotFoundError, match=r"checkpoint: directory"):
        _model().fit(X, y, checkpoint=tmp_path / "no" / "c.npz", **FIT)
    with pytest.raises(ValueError, match=r"resume: resume=True needs checkpoint"):
        _model().fit(X, y, resume=True, **FIT)


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    """A failure while writing epoch 2's checkpoint leaves epoch 1's whole."""
    X, y = _data()
    ckpt = tmp_path / "c.npz"
    _model().fit(X, y, checkpoint=ckpt, **dict(FIT, epochs=1))
    before = ckpt.read_bytes()
    real = np.savez

    def dying_savez(f, **arrays):
        real(f, **arrays)
        raise KeyboardInterrupt  # the process is killed after writing, before the rename

    monkeypatch.setattr(np, "savez", dying_savez)
    with pytest.warns(RuntimeWarning, match="interrupted"):
        _model().fit(X, y, checkpoint=ckpt, resume=True, **dict(FIT, epochs=3))
    monkeypatch.undo()
    assert ckpt.read_bytes() == before
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_non_finite_loss_stops_and_restores_last_good_weights():
    X, _ = _data()
    y = np.full((len(X), 2), 3e38, np.float32)  # finite targets whose squared error overflows
    model = _model()
    before = model.get_weights()
    with pytest.warns(RuntimeWarning, match=r"fit stopped early \(non-finite loss\).*restored the best weights"):
        h = model.fit(X, y, **FIT)
    assert h.stopped == "non-finite loss"
    for name, w in before.items():
        np.testing.assert_array_equal(model.get_weights()[name], w)
    assert all(np.isfinite(w).all() for w in model.get_weights().values())


def test_non_finite_loss_after_good_epochs_keeps_their_weights(monkeypatch):
    """A loss that turns NaN in epoch 3 restores the best of epochs 1-2."""
    X, y = _data()

    class NaNLater(Interrupting):
        def train_batch(self, *args):
            object.__setattr__(self, "_left", self._left - 1)
            value, extra = self._t.train_batch(*args)
            return (float("nan") if self._left <= 0 else value), extra

    interrupt_at(monkeypatch, 11, NaNLater)
    model = _model()
    with pytest.warns(RuntimeWarning, match="non-finite loss"):
        h = model.fit(X, y, **FIT)
    assert h.stopped == "non-finite loss" and h.epochs_run == 2
    monkeypatch.undo()
    # The restored weights are those of the best complete epoch: an uninterrupted
    # fit of that many epochs (same seed, same batches) ends with the same bits.
    best = int(np.argmin(h["loss"])) + 1
    assert h.best_epoch == best
    ref = _model()
    ref.fit(X, y, **dict(FIT, epochs=best))
    for name, w in ref.get_weights().items():
        np.testing.assert_array_equal(model.get_weights()[name], w)


def test_resume_reads_a_plain_sgd_checkpoint_of_earlier_versions(tmp_path):
    """Before SGD without momentum kept no optimizer state, its checkpoints
    carried a velocity the size of the parameters; they still resume, to the
    bits of an uninterrupted run."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((16, 5, 3)).astype(np.float32)
    y = rng.standard_normal((16, 2)).astype(np.float32)
    kw = dict(optimizer="sgd", momentum=0.0, lr=0.05, seed=3, progress=False)
    straight = pygru.GRUModel(3, [4], output_size=2, seed=1)
    straight.fit(X, y, epochs=3, **kw)
    resumed = pygru.GRUModel(3, [4], output_size=2, seed=1)
    path = str(tmp_path / "ck.npz")
    resumed.fit(X, y, epochs=1, checkpoint=path, **kw)
    with np.load(path, allow_pickle=False) as f:
        arrays = dict(f)
    assert arrays["opt_state"].size == 0
    arrays["opt_state"] = rng.standard_normal(arrays["params"].shape).astype(np.float32)  # the old form
    np.savez(path, **arrays)
    resumed.fit(X, y, epochs=3, checkpoint=path, resume=True, **kw)
    for name, w in straight.get_weights().items():
        assert np.array_equal(w, resumed.get_weights()[name]), name
