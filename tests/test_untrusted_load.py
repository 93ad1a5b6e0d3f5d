"""Loading an untrusted file never runs code: every loader refuses pickles.

Each payload is an object whose __reduce__ makes unpickling create a marker
file. The control test proves the payload works (plain unpickling creates the
marker); the other tests prove that pygru's loaders refuse it with a clear
error and that the marker never appears."""
import json
import os
import pickle

import numpy as np
import pytest

import pygru
from conftest import require_module


class Payload:
    """Unpickling this calls open(marker, "w"): the file appears."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _evil_npz(path, marker, model=None, extra=None):
    arrays = {"evil": np.array([Payload(marker)], dtype=object)}
    if model is not None:
        arrays.update(model.get_weights())
        arrays["__format_version__"] = np.array(pygru.FORMAT_VERSION)
        arrays["__config__"] = np.array(json.dumps(model.config()))
    arrays.update(extra or {})
    np.savez(path, **arrays)  # np.savez pickles object arrays


def test_control_the_payload_runs_when_unpickled(tmp_path):
    marker = tmp_path / "ran"
    pickle.loads(pickle.dumps(Payload(marker)))
    assert marker.exists()
    marker.unlink()
    _evil_npz(tmp_path / "e.npz", marker)
    with np.load(tmp_path / "e.npz", allow_pickle=True) as d:
        d["evil"]
    assert marker.exists()


def test_pygru_load_refuses_object_arrays(tmp_path):
    marker = tmp_path / "ran"
    _evil_npz(tmp_path / "m.npz", marker, pygru.GRUModel(2, [3], seed=0))
    with pytest.raises(ValueError, match=r"path: .*object array \(a pickle\); refused"):
        pygru.load(tmp_path / "m.npz")
    assert not marker.exists()


def test_load_quantized_refuses_object_arrays(tmp_path):
    marker = tmp_path / "ran"
    _evil_npz(tmp_path / "q.npz", marker, extra={"__quantized__": np.array("{}"),
                                                 "__format_version__": np.array(1)})
    with pytest.raises(ValueError, match=r"path: .*object array"):
        pygru.load_quantized(tmp_path / "q.npz")
    assert not marker.exists()


def test_cli_data_loader_refuses_object_arrays(tmp_path):
    from pygru import _datafile
    marker = tmp_path / "ran"
    X = np.zeros((4, 3, 2), np.float32)
    _evil_npz(tmp_path / "d.npz", marker, extra={"X_train": X, "y_train": np.arange(4) % 2})
    with pytest.raises(_datafile.DataError, match=r"DATA: .*object array"):
        _datafile.load(str(tmp_path / "d.npz"))
    assert not marker.exists()


def test_from_torch_refuses_pickled_objects(tmp_path):
    torch = require_module("torch", "pip install torch==2.13.0")
    marker = tmp_path / "ran"
    gru = torch.nn.GRU(2, 3, batch_first=True)
    state = dict(gru.state_dict())
    state["evil"] = Payload(marker)
    torch.save(state, tmp_path / "w.pt")  # torch.save pickles the payload
    with pytest.raises(ValueError, match=r"path: .*not a readable PyTorch weights file"):
        pygru.from_torch(str(tmp_path / "w.pt"))
    assert not marker.exists()
    # A whole pickled module (not a state dict) is refused the same way.
    torch.save(gru, tmp_path / "module.pt")
    with pytest.raises(ValueError, match="state_dict"):
        pygru.from_torch(str(tmp_path / "module.pt"))


def test_from_torch_payload_control(tmp_path):
    """The .pt payload does run under torch.load(weights_only=False)."""
    torch = require_module("torch", "pip install torch==2.13.0")
    marker = tmp_path / "ran"
    torch.save({"evil": Payload(marker)}, tmp_path / "w.pt")
    torch.load(tmp_path / "w.pt", weights_only=False)
    assert marker.exists()


def test_no_loader_calls_pickle_or_unsafe_np_load():
    """Static guard: no pygru module unpickles or calls np.load with pickles on."""
    root = os.path.dirname(pygru.__file__)
    offenders = []
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith((".py", ".pyx")):
                text = open(os.path.join(d, f), encoding="utf-8").read()
                for bad in ("pickle.load", "allow_pickle=True", "weights_only=False"):
                    if bad in text:
                        offenders.append(f"{f}: {bad}")
    assert not offenders, offenders
