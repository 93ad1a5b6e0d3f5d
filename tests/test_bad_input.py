"""Bad input gets a clear error naming the argument, and loses nothing."""
import numpy as np
import pytest

import pygru


@pytest.fixture
def model():
    return pygru.GRUModel(3, [5], output_size=2, seed=0)


@pytest.mark.parametrize("kwargs, exc, words", [
    (dict(input_size=0, hidden_sizes=4), ValueError, "input_size"),
    (dict(input_size=2.5, hidden_sizes=4), TypeError, "input_size"),
    (dict(input_size=True, hidden_sizes=4), TypeError, "input_size"),
    (dict(input_size=3, hidden_sizes=[]), ValueError, "hidden_sizes"),
    (dict(input_size=3, hidden_sizes=[4, -1]), ValueError, "hidden_sizes[1]"),
    (dict(input_size=3, hidden_sizes=[4] * 9), ValueError, "hidden_sizes"),
    (dict(input_size=3, hidden_sizes=10**6), ValueError, "hidden_sizes"),
    (dict(input_size=3, hidden_sizes=4, output_activation="gelu", output_size=2), ValueError, "output_activation"),
    (dict(input_size=3, hidden_sizes=4, output_activation="softmax"), ValueError, "output_size"),
    (dict(input_size=3, hidden_sizes=[4, 4], reset_after=[True]), ValueError, "reset_after"),
])
def test_constructor_errors(kwargs, exc, words):
    with pytest.raises(exc, match=words.replace("[", r"\[").replace("]", r"\]")):
        pygru.GRUModel(**kwargs)


@pytest.mark.parametrize("X, exc, words", [
    (np.zeros((2, 4, 4), np.float32), ValueError, "last dimension 3"),
    (np.zeros((4,), np.float32), ValueError, "2-D or 3-D"),
    (np.zeros((1, 2, 4, 3), np.float32), ValueError, "2-D or 3-D"),
    (np.zeros((0, 4, 3), np.float32), ValueError, "non-empty"),
    (np.zeros((2, 0, 3), np.float32), ValueError, "non-empty"),
    (np.zeros((2, 4, 3), np.int32), TypeError, "float32 or float64"),
    (np.zeros((2, 4, 3), np.complex64), TypeError, "float32 or float64"),
    (np.array([[["a", "b", "c"]]]), TypeError, "float32 or float64"),
    (np.full((2, 4, 3), np.nan), ValueError, "finite"),
    (np.full((2, 4, 3), np.inf, np.float32), ValueError, "finite"),
    (np.full((2, 4, 3), 1e300), ValueError, "finite"),  # overflows float32
])
def test_predict_errors(model, X, exc, words):
    with pytest.raises(exc, match="X: .*" + words):
        model.predict(X)


def test_stream_errors(model):
    s = model.stream()
    with pytest.raises(ValueError, match=r"x: expected shape \(3,\)"):
        s.step(np.zeros(4, np.float32))
    with pytest.raises(ValueError, match="x: expected finite"):
        s.step(np.array([0, np.nan, 0], np.float32))
    with pytest.raises(TypeError, match="x: expected a real numeric array"):
        s.step(np.array(["a", "b", "c"]))
    before = s.state
    with pytest.raises(ValueError):
        s.step(np.array([np.inf, 0, 0]))
    assert np.array_equal(s.state, before)  # a rejected step changes nothing


def test_set_weights_errors(model):
    good = model.get_weights()
    with pytest.raises(ValueError, match="missing.*bias_hh_l0"):
        model.set_weights({k: v for k, v in good.items() if k != "bias_hh_l0"})
    with pytest.raises(ValueError, match="unexpected.*extra"):
        model.set_weights(dict(good, extra=np.zeros(1)))
    bad = dict(good, weight_ih_l0=np.zeros((15, 4)))
    with pytest.raises(ValueError, match=r"weights\['weight_ih_l0'\]: expected shape \(15, 3\)"):
        model.set_weights(bad)
    with pytest.raises(ValueError, match="finite"):
        model.set_weights(dict(good, bias_ih_l0=np.full(15, np.nan)))
    with pytest.raises(TypeError, match="weights"):
        model.set_weights([1, 2])
    after = model.get_weights()
    assert all(np.array_equal(after[k], good[k]) for k in good)  # failed sets change nothing


def test_save_to_missing_directory_writes_nothing(model, tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model.save(tmp_path / "no" / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_save_failure_leaves_old_file_intact(model, tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    model.save(path)
    before = path.read_bytes()

    def boom(*args, **kwargs):
        raise OSError("disk full")
    monkeypatch.setattr(np, "savez", boom)
    with pytest.raises(OSError, match="disk full"):
        pygru.GRUModel(3, 9, seed=1).save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]


@pytest.mark.parametrize("content, words", [
    (b"", "not a readable pygru"),
    (b"this is not a zip file", "not a readable pygru"),
    (b"PK\x03\x04garbage", "not a readable pygru"),
])
def test_load_rejects_garbage(tmp_path, content, words):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=words):
        pygru.load(path)


def test_load_rejects_truncated_and_foreign_files(model, tmp_path):
    path = tmp_path / "m.npz"
    model.save(path)
    data = path.read_bytes()
    (tmp_path / "t.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="t.npz"):
        pygru.load(tmp_path / "t.npz")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a pygru model"):
        pygru.load(tmp_path / "other.npz")
    with pytest.raises(FileNotFoundError, match="no such file"):
        pygru.load(tmp_path / "missing.npz")


def test_load_rejects_pickled_and_inconsistent_content(model, tmp_path):
    import json
    w = model.get_weights()
    config = model.config()
    # an object array would need pickle: refused, never executed
    np.savez(tmp_path / "p.npz", __format_version__=np.array(1), __config__=np.array(json.dumps(config)),
             evil=np.array([object()], dtype=object), **w)
    with pytest.raises(ValueError, match="p.npz"):
        pygru.load(tmp_path / "p.npz")
    np.savez(tmp_path / "v.npz", __format_version__=np.array(99), __config__=np.array(json.dumps(config)), **w)
    with pytest.raises(ValueError, match="format version"):
        pygru.load(tmp_path / "v.npz")
    bad_config = dict(config, hidden_sizes=[7])
    np.savez(tmp_path / "c.npz", __format_version__=np.array(1), __config__=np.array(json.dumps(bad_config)), **w)
    with pytest.raises(ValueError, match="expected shape"):
        pygru.load(tmp_path / "c.npz")
    np.savez(tmp_path / "j.npz", __format_version__=np.array(1), __config__=np.array("{not json"), **w)
    with pytest.raises(ValueError, match="invalid model config"):
        pygru.load(tmp_path / "j.npz")
