"""The bad-input matrix: one table, read by tests/test_bad_input_matrix.py
(every row is a test) and by tools/gen_bad_inputs_doc.py (which writes
docs/bad_inputs.md from it), so the documentation and the tests cannot drift.

A row: id, area, the input (text for the doc), run(tmp) performing the bad
call in the temporary folder `tmp`, the exception type expected (None: the
input is valid and must be accepted), a regex its message must match, and
the output files (relative to tmp) that must not exist afterwards."""
import json
import os
import sys

import numpy as np

import pygru

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Case:
    def __init__(self, id, area, input, run, exc, match, outputs=()):
        self.id, self.area, self.input, self.run = id, area, input, run
        self.exc, self.match, self.outputs = exc, match, tuple(outputs)


def _model(**kw):
    return pygru.GRUModel(3, [5], output_size=2, seed=0, **kw)


def _X(shape=(2, 4, 3), dtype=np.float32, fill=0.5):
    return np.full(shape, fill, dtype)


def _readonly(n):
    a = np.zeros(n, np.float32)
    a.flags.writeable = False
    return a


def _saved(tmp, name="m.npz"):
    p = os.path.join(tmp, name)
    _model().save(p)
    return p


def _write(tmp, name, data):
    p = os.path.join(tmp, name)
    with open(p, "wb") as f:
        f.write(data)
    return p


def _mutate_saved(tmp, fn, name="bad.npz"):
    with open(_saved(tmp, "good.npz"), "rb") as f:
        data = f.read()
    return _write(tmp, name, fn(data))


def _npz(tmp, name, **arrays):
    p = os.path.join(tmp, name)
    np.savez(p, **arrays)
    return p


def _model_npz(tmp, name, config=None, version=1, weights=None):
    m = _model()
    return _npz(tmp, name, __format_version__=np.array(version),
                __config__=np.array(json.dumps(config if config is not None else m.config())),
                **(weights if weights is not None else m.get_weights()))


def _forged_shape(tmp):
    """A zip with a well-formed .npy member whose header claims 2**40 floats
    but holds 16 bytes (np.load would try to allocate 4 TiB)."""
    import io
    import zipfile
    head = io.BytesIO()
    np.lib.format.write_array_header_1_0(head, {"descr": "<f4", "fortran_order": False, "shape": (2**40,)})
    p = os.path.join(tmp, "forged.npz")
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("weight_ih_l0.npy", head.getvalue() + bytes(16))
    return p


def _flip_middle(data):
    b = bytearray(data)
    b[len(b) // 2] ^= 0xFF
    return bytes(b)


def _noncontig_ok(tmp):
    m = _model()
    X = np.asfortranarray(np.random.default_rng(0).normal(size=(2, 4, 3)))[:, ::2, :]
    assert not X.flags.c_contiguous
    np.testing.assert_array_equal(m.predict(X), m.predict(np.ascontiguousarray(X)))


def _float64_ok(tmp):
    m = _model()
    X = np.random.default_rng(1).normal(size=(2, 4, 3))
    np.testing.assert_array_equal(m.predict(X), m.predict(X.astype(np.float32)))


def _cli(argv):
    from pygru import cli
    code = cli.main(argv)
    if code != 0:
        raise SystemExit(code)


def _fit(X=None, y=None, **kw):
    m = _model()
    X = _X() if X is None else X
    y = np.zeros((2, 2), np.float32) if y is None else y
    m.fit(X, y, epochs=kw.pop("epochs", 1), progress=False, **kw)


def _export(tmp, name="model", path="m.h", model=None):
    pygru.export_c(model or _model(), os.path.join(tmp, path) if not os.path.isabs(path) else path, name=name)


def _torch_pt(tmp, name, obj):
    import torch
    p = os.path.join(tmp, name)
    torch.save(obj, p)
    return p


NAN_WEIGHTS = None
QF = r"path: '[^']*forged\.npz': expected"


def _nan_weights():
    w = _model().get_weights()
    w["weight_ih_l0"][0, 0] = np.nan
    return w


# ---------------------------------------------------------------- issue 14 helpers

def _qsaved(tmp, mode="int8", **forge):
    """A quantized model saved by pygru, then rewritten with `forge`:
    name -> new array (None: removed), "meta" -> dict of header changes."""
    m = _model()
    q = pygru.quantize(m, _X(), mode=mode)
    p = os.path.join(tmp, f"q_{mode}.npz")
    q.save(p)
    with np.load(p, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    meta = json.loads(str(arrays["__quantized__"]))
    meta.update(forge.pop("meta", {}))
    if "config" in forge:
        meta["config"] = dict(meta["config"], **forge.pop("config"))
    arrays["__quantized__"] = np.array(json.dumps(meta))
    for k, v in forge.items():
        k = k.replace("__", ".")
        if v is None:
            arrays.pop(k)
        else:
            arrays[k] = v(arrays[k]) if callable(v) else v
    f = os.path.join(tmp, "forged.npz")
    np.savez(f, **arrays)
    return f


def _masked(a):
    return np.ma.masked_array(a, mask=np.zeros(np.shape(a), bool))


def _fifo(tmp):
    p = os.path.join(tmp, "pipe.npz")
    os.mkfifo(p)
    return p


def _h5_damaged(tmp, offset):
    """The legacy Keras golden .h5 with 8 bytes overwritten where h5py then
    fails inside (offset 679: a local heap, RuntimeError; 5820: a dataset,
    OSError)."""
    with open(os.path.join(ROOT, "tests", "golden", "interop", "keras_mixed_seq.h5"), "rb") as f:
        b = bytearray(f.read())
    b[offset:offset + 8] = b"\xff" * 8
    return _write(tmp, "damaged.h5", bytes(b))


def _save_long_name(tmp):
    """A legal 255-byte file name (NAME_MAX): the temporary must not be longer."""
    p = os.path.join(tmp, "m" * 251 + ".npz")
    _model().save(p)
    assert pygru.load(p).config() == _model().config()
    _model().save(os.fsencode(p))            # bytes paths work too
    assert pygru.load(os.fsencode(p)).config() == _model().config()


def _disk_full(tmp):
    import errno
    from unittest import mock
    with mock.patch("numpy.savez", side_effect=OSError(errno.ENOSPC, "No space left on device")):
        _model().save(os.path.join(tmp, "m.npz"))


def _gradient_overflow(tmp):
    """Finite loss, gradient norm beyond float32: every update is skipped,
    so fit stops and says so (a RuntimeWarning, raised here as an error)."""
    import warnings
    m = pygru.GRUModel(2, [3], output_size=1, seed=0)
    w = {k: np.zeros_like(v) for k, v in m.get_weights().items()}
    w["head.weight"][:] = 1e38
    m.set_weights(w)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        m.fit(np.zeros((4, 5, 2), np.float32), np.ones((4, 1), np.float32), epochs=2, progress=False)


def _pickle_used(tmp):
    import copy
    import pickle
    X = np.random.default_rng(2).normal(size=(2, 4, 3)).astype(np.float32)
    for m in (_model(), pygru.quantize(_model(), X, "int8"), pygru.quantize(_model(), X, "integer")):
        y = m.predict(X)
        m.stream().step(X[0, 0])
        for clone in (pickle.loads(pickle.dumps(m)), copy.deepcopy(m)):
            np.testing.assert_array_equal(clone.predict(X), y)


def _set_weights_then_predict(tmp):
    """The descriptor cache is keyed by the weights it was built from."""
    m = _model()
    X = _X()
    m.predict(X)
    w = {k: v * 0.5 for k, v in m.get_weights().items()}
    m.set_weights(w)
    fresh = _model()
    fresh.set_weights(w)
    np.testing.assert_array_equal(m.predict(X), fresh.predict(X))


def _safetensors_wrapping_shape(tmp):
    """A header whose shape's int64 product wraps to 0 (2**32 x 2**32) with empty offsets."""
    import struct
    h = json.dumps({"weight_ih_l0": {"dtype": "F32", "shape": [2**32, 2**32], "data_offsets": [0, 0]}}).encode()
    return _write(tmp, "x.safetensors", struct.pack("<Q", len(h)) + h)


def _cli_eval_quantized(tmp):
    data = _npz(tmp, "d.npz", X_train=_X((8, 4, 3)), y_train=np.arange(8) % 2)
    q = pygru.quantize(_model(), _X(), "int8")
    q.save(os.path.join(tmp, "q.npz"))
    _cli(["eval", os.path.join(tmp, "q.npz"), data, "--json"])
    _cli(["export", os.path.join(tmp, "q.npz"), "-o", os.path.join(tmp, "q.h"), "-q"])
    assert os.path.exists(os.path.join(tmp, "q.h"))
    os.remove(os.path.join(tmp, "q.h"))


def _long_sequences(tmp):
    """evaluate past gru_c's training workspace limit runs in pieces (the
    limit lowered here so that a small input crosses it; tests/test_hardening.py
    also runs (128, 100000, 1) for real)."""
    from unittest import mock
    from pygru import training
    m = pygru.GRUModel(1, [4], output_size=1, seed=0)
    X = np.random.default_rng(0).normal(size=(6, 40, 1)).astype(np.float32)
    y = np.zeros((6, 1), np.float32)
    ref = m.evaluate(X, y)["loss"]
    # one sequence (40 x 5 x 4 = 800 terms) fits, the batch does not
    with mock.patch.object(training, "WORKSPACE_TERMS", 1000.0):
        with mock.patch.object(training, "CHUNK_TERMS", 300):     # time chunks of 15 steps
            got = m.evaluate(X, y)["loss"]
        with mock.patch.object(training, "CHUNK_TERMS", 1600):    # micro-batches of 2
            m.fit(X, y, epochs=1, progress=False)
    assert abs(got - ref) <= 1e-6 * abs(ref)


CASES = [
    # ---------------------------------------------------------------- constructor
    Case("ctor-zero-input", "GRUModel", "input_size=0", lambda t: pygru.GRUModel(0, 4), ValueError, r"input_size: expected a positive integer, got 0"),
    Case("ctor-float-size", "GRUModel", "input_size=2.5", lambda t: pygru.GRUModel(2.5, 4), TypeError, r"input_size: expected a positive integer"),
    Case("ctor-huge-hidden", "GRUModel", "hidden_sizes=10**6 (above GRU_MAX_DIM)", lambda t: pygru.GRUModel(3, 10**6), ValueError, r"hidden_sizes"),
    Case("ctor-too-many-layers", "GRUModel", "9 layers (GRU_MAX_LAYERS is 8)", lambda t: pygru.GRUModel(3, [4] * 9), ValueError, r"hidden_sizes: expected 1\.\.8"),
    Case("ctor-empty-layers", "GRUModel", "hidden_sizes=[]", lambda t: pygru.GRUModel(3, []), ValueError, r"hidden_sizes"),
    Case("ctor-bad-activation", "GRUModel", "output_activation='gelu'", lambda t: pygru.GRUModel(3, 4, output_size=2, output_activation="gelu"), ValueError, r"output_activation: expected one of"),
    # ---------------------------------------------------------------- predict
    Case("predict-wrong-last-dim", "predict", "X of shape (2, 4, 4) for input_size 3", lambda t: _model().predict(_X((2, 4, 4))), ValueError, r"X: expected last dimension 3, got shape \(2, 4, 4\)"),
    Case("predict-1d", "predict", "X of shape (4,)", lambda t: _model().predict(_X((4,))), ValueError, r"X: expected a 2-D or 3-D array"),
    Case("predict-4d", "predict", "X of shape (1, 2, 4, 3)", lambda t: _model().predict(_X((1, 2, 4, 3))), ValueError, r"X: expected a 2-D or 3-D array"),
    Case("predict-int-dtype", "predict", "X int32 array", lambda t: _model().predict(_X(dtype=np.int32)), TypeError, r"X: expected dtype float32 or float64, got int32"),
    Case("predict-complex", "predict", "X complex64 array", lambda t: _model().predict(_X(dtype=np.complex64)), TypeError, r"X: expected dtype float32 or float64, got complex64"),
    Case("predict-strings", "predict", "X array of strings", lambda t: _model().predict(np.array([[["a", "b", "c"]]])), TypeError, r"X: expected dtype float32 or float64"),
    Case("predict-object", "predict", "X ragged Python lists", lambda t: _model().predict([[[1, 2, 3]], [[1, 2]]]), TypeError, r"X: expected a numeric array"),
    Case("predict-nan", "predict", "X with a NaN", lambda t: _model().predict(_X(fill=np.nan)), ValueError, r"X: expected finite values"),
    Case("predict-inf", "predict", "X with +Inf", lambda t: _model().predict(_X(fill=np.inf)), ValueError, r"X: expected finite values"),
    Case("predict-float32-overflow", "predict", "X float64 1e300 (overflows float32)", lambda t: _model().predict(_X(dtype=np.float64, fill=1e300)), ValueError, r"X: expected finite values within float32 range"),
    Case("predict-empty-batch", "predict", "X of shape (0, 4, 3)", lambda t: _model().predict(_X((0, 4, 3))), ValueError, r"X: expected a non-empty array"),
    Case("predict-empty-time", "predict", "X of shape (2, 0, 3)", lambda t: _model().predict(_X((2, 0, 3))), ValueError, r"X: expected a non-empty array"),
    Case("predict-non-contiguous", "predict", "X non-contiguous (Fortran order, strided view)", _noncontig_ok, None, "accepted; same result as the contiguous copy"),
    Case("predict-float64", "predict", "X float64", _float64_ok, None, "accepted; same result as float32"),
    Case("predict-state-shape", "predict", "initial_state of shape (1, 3, 5) for X of batch 2", lambda t: _model().predict(_X(), initial_state=np.zeros((1, 3, 5), np.float32)), ValueError, r"initial_state: expected shape \(1, 2, 5\) \(PyTorch h0: num_layers, batch, hidden\) or a list of 1 arrays of shapes \[\(2, 5\)\], got shape \(1, 3, 5\)"),
    Case("predict-state-hidden", "predict", "initial_state list with a (2, 4) array for hidden size 5", lambda t: _model().predict(_X(), initial_state=[np.zeros((2, 4))]), ValueError, r"initial_state: expected .*, got a list of arrays of shapes \[\(2, 4\)\]"),
    Case("predict-state-dtype", "predict", "initial_state int32 array", lambda t: _model().predict(_X(), initial_state=np.zeros((1, 2, 5), np.int32)), TypeError, r"initial_state: expected dtype float32 or float64, got int32"),
    Case("predict-state-nan", "predict", "initial_state with a NaN", lambda t: _model().predict(_X(), initial_state=np.full((1, 2, 5), np.nan, np.float32)), ValueError, r"initial_state: expected finite values"),
    Case("predict-state-quantized", "predict", "return_state=True on a QuantizedGRUModel", lambda t: pygru.quantize(_model(), _X()).predict(_X(), return_state=True), NotImplementedError, r"return_state: expected False for a quantized model .* returns no final state.*got True"),
    Case("stream-state-shape", "stream", "stream(initial_state) of shape (1, 4) for hidden size 5", lambda t: _model().stream(initial_state=np.zeros((1, 4), np.float32)), ValueError, r"initial_state: expected shape \(1, 5\)"),
    Case("stream-wrong-shape", "stream", "step(x) with x of shape (4,) for input_size 3", lambda t: _model().stream().step(np.zeros(4, np.float32)), ValueError, r"x: expected shape \(3,\)"),
    Case("stream-nan", "stream", "step(x) with a NaN", lambda t: _model().stream().step(np.array([0, np.nan, 0], np.float32)), ValueError, r"x: expected finite"),
    Case("stream-out-shape", "stream", "step(x, out) with out of shape (3,) for output_size 2", lambda t: _model().stream().step(np.zeros(3, np.float32), np.zeros(3, np.float32)), ValueError, r"out: expected .*float32 numpy array of shape \(2,\), got float32 array of shape \(3,\)"),
    Case("stream-out-dtype", "stream", "step(x, out) with a float64 out", lambda t: _model().stream().step(np.zeros(3, np.float32), np.zeros(2)), ValueError, r"out: expected .*, got float64 array"),
    Case("stream-out-readonly", "stream", "step(x, out) with a read-only out", lambda t: _model().stream().step(np.zeros(3, np.float32), _readonly(2)), ValueError, r"out: expected .*, got read-only float32"),
    Case("stream-out-list", "stream", "step(x, out) with a list as out", lambda t: _model().stream().step(np.zeros(3, np.float32), [0.0, 0.0]), ValueError, r"out: expected .*, got list"),
    # ---------------------------------------------------------------- weights
    Case("weights-not-dict", "set_weights", "a list instead of a dict", lambda t: _model().set_weights([1, 2]), TypeError, r"weights: expected a dict of arrays"),
    Case("weights-missing-name", "set_weights", "dict without head.bias", lambda t: _model().set_weights({k: v for k, v in _model().get_weights().items() if k != "head.bias"}), ValueError, r"weights: names do not match the model: expected its 6 parameter names, got missing \['head.bias'\]"),
    Case("weights-wrong-shape", "set_weights", "weight_ih_l0 of shape (15, 4)", lambda t: _model().set_weights(dict(_model().get_weights(), weight_ih_l0=np.zeros((15, 4), np.float32))), ValueError, r"weights\['weight_ih_l0'\]: expected shape \(15, 3\)"),
    Case("weights-nan", "set_weights", "weight_ih_l0 with a NaN", lambda t: _model().set_weights(_nan_weights()), ValueError, r"weights\['weight_ih_l0'\]: expected finite"),
    # ---------------------------------------------------------------- training
    Case("fit-y-shape", "fit", "mse targets of shape (2, 3) for output 2", lambda t: _fit(y=np.zeros((2, 3), np.float32)), ValueError, r"y: expected shape \(2, 2\)"),
    Case("fit-x-nan", "fit", "X with a NaN", lambda t: _fit(X=_X(fill=np.nan)), ValueError, r"X: expected finite"),
    Case("fit-labels-range", "fit", "cross_entropy labels [0, 5] for 2 classes", lambda t: _fit(y=np.array([0, 5]), loss="cross_entropy"), ValueError, r"y: expected labels in 0\.\.1"),
    Case("fit-lengths-range", "fit", "lengths [0, 9] for T=4", lambda t: _fit(lengths=np.array([0, 9])), ValueError, r"lengths: expected values in 1\.\.4"),
    Case("fit-epochs-zero", "fit", "epochs=0", lambda t: _fit(epochs=0), ValueError, r"epochs: expected a positive integer"),
    Case("fit-lr-nan", "fit", "lr=nan", lambda t: _fit(lr=float("nan")), ValueError, r"lr: expected a finite number"),
    Case("fit-validation-type", "fit", "validation_data=5", lambda t: _fit(validation_data=5), TypeError, r"validation_data: expected a tuple"),
    # ---------------------------------------------------------------- save / load
    Case("save-missing-dir", "save", "path in a directory that does not exist", lambda t: _model().save(os.path.join(t, "nodir", "m.npz")), FileNotFoundError, r"path: directory .* does not exist", ["nodir"]),
    Case("save-path-is-dir", "save", "path that is a directory", lambda t: (os.mkdir(os.path.join(t, "d.npz")), _model().save(os.path.join(t, "d.npz"))), IsADirectoryError, r"path: .* is a directory"),
    Case("save-unwritable", "save", "path in an unwritable directory (/proc)", lambda t: _model().save("/proc/pygru-bad-input.npz"), OSError, r"path: cannot write '/proc/pygru-bad-input.npz': expected a directory that accepts new files, got '/proc'", ["/proc/pygru-bad-input.npz"]),
    Case("load-missing", "load", "a file that does not exist", lambda t: pygru.load(os.path.join(t, "none.npz")), FileNotFoundError, r"path: no such file"),
    Case("load-empty", "load", "an empty file", lambda t: pygru.load(_write(t, "e.npz", b"")), ValueError, r"path: .* is not a readable pygru \.npz model"),
    Case("load-not-zip", "load", "a text file named .npz", lambda t: pygru.load(_write(t, "t.npz", b"hello")), ValueError, r"not a readable pygru \.npz model: expected a zip of \.npy arrays, got BadZipFile"),
    Case("load-truncated", "load", "a model file cut in half", lambda t: pygru.load(_mutate_saved(t, lambda d: d[: len(d) // 2])), ValueError, r"not a readable pygru \.npz model"),
    Case("load-corrupted", "load", "a model file with a flipped byte in the middle", lambda t: pygru.load(_mutate_saved(t, _flip_middle)), ValueError, r"path: "),
    Case("load-forged-shape", "load", "an array header claiming 2**40 floats", lambda t: pygru.load(_forged_shape(t)), ValueError, r"claims shape \(1099511627776,\)"),
    Case("load-object-array", "load", "an object array (pickle) in the .npz", lambda t: pygru.load(_npz(t, "p.npz", evil=np.array([{}], dtype=object))), ValueError, r"object array \(a pickle\); refused"),
    Case("load-foreign-npz", "load", "an .npz of other arrays", lambda t: pygru.load(_npz(t, "o.npz", a=np.zeros(3))), ValueError, r"not a pygru model"),
    Case("load-wrong-version", "load", "format version 99", lambda t: pygru.load(_model_npz(t, "v.npz", version=99)), ValueError, r"format version"),
    Case("load-bad-config", "load", "config that is not JSON", lambda t: pygru.load(_npz(t, "c.npz", __format_version__=np.array(1), __config__=np.array("{nope"))), ValueError, r"invalid model config"),
    Case("load-config-weights-mismatch", "load", "config hidden 7, weights for hidden 5", lambda t: pygru.load(_model_npz(t, "w.npz", config=dict(_model().config(), hidden_sizes=[7]))), ValueError, r"path: .* has invalid weights .*expected shape"),
    Case("load-nan-weights", "load", "weights with a NaN", lambda t: pygru.load(_model_npz(t, "n.npz", weights=_nan_weights())), ValueError, r"path: .* has invalid weights .*finite"),
    Case("load-wrong-kind-onnx", "load", "an ONNX file passed to pygru.load", lambda t: pygru.load(os.path.join(ROOT, "tests", "golden", "interop", "onnx_lbr0.onnx")), ValueError, r"not a readable pygru \.npz model"),
    Case("load-quantized-float-model", "load_quantized", "a float model passed to load_quantized", lambda t: pygru.load_quantized(_saved(t)), ValueError, r"path: .* is an \.npz file but not a pygru quantized model"),
    # ---------------------------------------------------------------- export
    Case("export-name-not-identifier", "export_c", "name='my-model'", lambda t: _export(t, "my-model"), ValueError, r"name: expected a C identifier", ["m.h"]),
    Case("export-name-digit", "export_c", "name='1net'", lambda t: _export(t, "1net"), ValueError, r"name: expected a C identifier", ["m.h"]),
    Case("export-name-empty", "export_c", "name=''", lambda t: _export(t, ""), ValueError, r"name: expected a C identifier", ["m.h"]),
    Case("export-name-keyword", "export_c", "name='while'", lambda t: _export(t, "while"), ValueError, r"name: 'while' is a C keyword", ["m.h"]),
    Case("export-name-keyword-c99", "export_c", "name='restrict'", lambda t: _export(t, "restrict"), ValueError, r"is a C keyword", ["m.h"]),
    Case("export-name-reserved", "export_c", "name='_model'", lambda t: _export(t, "_model"), ValueError, r"reserved identifiers", ["m.h"]),
    Case("export-name-not-str", "export_c", "name=5", lambda t: _export(t, 5), TypeError, r"name: expected a str", ["m.h"]),
    Case("export-wrong-extension", "export_c", "path 'm.txt'", lambda t: _export(t, path="m.txt"), ValueError, r"path: expected a C header file name ending in '\.h'", ["m.txt"]),
    Case("export-missing-dir", "export_c", "path in a directory that does not exist", lambda t: _export(t, path=os.path.join("nodir", "m.h")), FileNotFoundError, r"path: directory .* does not exist", ["nodir"]),
    Case("export-unwritable", "export_c", "path in an unwritable directory (/proc)", lambda t: _export(t, path="/proc/pygru-bad-input.h"), OSError, r"path: cannot write '/proc/pygru-bad-input.h': expected a directory that accepts new files, got '/proc'", ["/proc/pygru-bad-input.h"]),
    # ---------------------------------------------------------------- importers
    Case("torch-missing", "from_torch", "a .pt file that does not exist", lambda t: pygru.from_torch(os.path.join(t, "x.pt")), FileNotFoundError, r"path: no such PyTorch file"),
    Case("torch-garbage", "from_torch", "random bytes named .pt", lambda t: pygru.from_torch(_write(t, "g.pt", b"\x00garbage" * 10)), ValueError, r"path: .* is not a readable PyTorch weights file"),
    Case("torch-wrong-kind", "from_torch", "a pygru .npz renamed .pt", lambda t: pygru.from_torch(_write(t, "n.pt", open(_saved(t), "rb").read())), ValueError, r"path: .* is not a readable PyTorch weights file"),
    Case("torch-missing-keys", "from_torch", "a state dict without weight_hh_l0", lambda t: pygru.from_torch({"weight_ih_l0": np.zeros((6, 3), np.float32)}), ValueError, r"weight_hh_l0|no GRU"),
    Case("onnx-garbage", "from_onnx", "random bytes named .onnx", lambda t: pygru.from_onnx(_write(t, "g.onnx", b"\x08\x07garbage")), ValueError, r"path: .* (is not a readable ONNX model|not supported)|path .*"),
    Case("onnx-wrong-kind", "from_onnx", "a pygru .npz renamed .onnx", lambda t: pygru.from_onnx(_write(t, "n.onnx", open(_saved(t), "rb").read())), ValueError, r"path"),
    Case("keras-garbage", "from_keras", "random bytes named .keras", lambda t: pygru.from_keras(_write(t, "g.keras", b"garbage")), ValueError, r"g\.keras"),
    Case("keras-wrong-kind", "from_keras", "a pygru .npz renamed .h5", lambda t: pygru.from_keras(_write(t, "n.h5", open(_saved(t), "rb").read())), ValueError, r"n\.h5"),
    # ---------------------------------------------------------------- command line
    Case("cli-train-bad-output", "pygru CLI", "pygru train DATA -o model.txt", lambda t: _cli(["train", _npz(t, "d.npz", X_train=_X((4, 3, 3)), y_train=np.arange(4) % 2), "-o", os.path.join(t, "model.txt"), "-q"]), SystemExit, r"2", ["model.txt"]),
    Case("cli-import-garbage", "pygru CLI", "pygru import garbage.onnx -o m.npz", lambda t: _cli(["import", _write(t, "g.onnx", b"garbage"), "-o", os.path.join(t, "m.npz"), "-q"]), SystemExit, r"1", ["m.npz"]),
    Case("cli-data-object-array", "pygru CLI", "pygru train on an .npz holding a pickle", lambda t: _cli(["train", _npz(t, "p.npz", X_train=np.array([{}], dtype=object), y_train=np.arange(1)), "-o", os.path.join(t, "m.npz"), "-q"]), SystemExit, r"1", ["m.npz"]),
    Case("cli-data-csv-ragged", "pygru CLI", "pygru train on a CSV with a short row", lambda t: _cli(["train", _write(t, "d.csv", b"sequence,label,f0\n0,1,0.5\n0,1\n"), "-o", os.path.join(t, "m.npz"), "-q"]), SystemExit, r"1", ["m.npz"]),
    # ---------------------------------------------------------------- quantize
    Case("quantize-nan-calibration", "quantize", "calibration X with a NaN", lambda t: pygru.quantize(_model(), _X(fill=np.nan)), ValueError, r"finite"),
    Case("quantize-bad-mode", "quantize", "mode='int4'", lambda t: pygru.quantize(_model(), _X(), mode="int4"), ValueError, r"mode"),
    # ---------------------------------------------------------------- issue 14: forged quantized files
    Case("qload-short-scales", "load_quantized", "int8 file: s_ih_l0 cut to 1 of 15 row scales", lambda t: pygru.load_quantized(_qsaved(t, s_ih_l0=lambda a: a[:1])), ValueError, QF + r" s_ih_l0 of shape \(15,\), got \(1,\)"),
    Case("qload-short-mult", "load_quantized", "integer file: m_hh_l0 cut to 1 of 15 multipliers", lambda t: pygru.load_quantized(_qsaved(t, "integer", m_hh_l0=lambda a: a[:1])), ValueError, QF + r" m_hh_l0 of shape \(15,\), got \(1,\)"),
    Case("qload-float-weights", "load_quantized", "w_ih_l0 stored as float32", lambda t: pygru.load_quantized(_qsaved(t, w_ih_l0=lambda a: a.astype(np.float32))), ValueError, QF + r" w_ih_l0 of dtype int8, got float32"),
    Case("qload-int64-weights", "load_quantized", "w_hh_l0 stored as int64 (would wrap to int8)", lambda t: pygru.load_quantized(_qsaved(t, "integer", w_hh_l0=lambda a: a.astype(np.int64) * 300)), ValueError, QF + r" w_hh_l0 of dtype int8, got int64"),
    Case("qload-hidden-mismatch", "load_quantized", "config hidden_sizes=[99], arrays for 5", lambda t: pygru.load_quantized(_qsaved(t, config={"hidden_sizes": [99]})), ValueError, QF + r" w_ih_l0 of shape \(297, 3\), got \(15, 3\)"),
    Case("qload-layers-mismatch", "load_quantized", "config hidden_sizes=[99, 8], arrays for one layer", lambda t: pygru.load_quantized(_qsaved(t, config={"hidden_sizes": [99, 8]})), ValueError, r"path: .*: expected config reset_after to be 2 booleans"),
    Case("qload-input-scale-nan", "load_quantized", "input_scale NaN", lambda t: pygru.load_quantized(_qsaved(t, "integer", meta={"input_scale": float("nan")})), ValueError, QF + r" input_scale finite and > 0, got nan"),
    Case("qload-input-scale-zero", "load_quantized", "input_scale 0", lambda t: pygru.load_quantized(_qsaved(t, "integer", meta={"input_scale": 0})), ValueError, QF + r" input_scale finite and > 0, got 0\.0"),
    Case("qload-input-scale-negative", "load_quantized", "input_scale -1", lambda t: pygru.load_quantized(_qsaved(t, "integer", meta={"input_scale": -1})), ValueError, QF + r" input_scale finite and > 0, got -1\.0"),
    Case("qload-missing-array", "load_quantized", "w_hh_l0 missing", lambda t: pygru.load_quantized(_qsaved(t, w_hh_l0=None)), ValueError, QF + r" the arrays the configuration needs, got missing \['w_hh_l0'\], unexpected \[\]"),
    Case("qload-extra-array", "load_quantized", "an array the configuration has no place for", lambda t: pygru.load_quantized(_qsaved(t, evil=np.zeros(3))), ValueError, QF + r" the arrays the configuration needs, got missing \[\], unexpected \['evil'\]"),
    Case("qload-negative-scale", "load_quantized", "a row scale of -1", lambda t: pygru.load_quantized(_qsaved(t, head__scale=lambda a: -a)), ValueError, QF + r" head\.scale values >= 0\.0, got -"),
    Case("qload-nan-bias", "load_quantized", "a NaN bias", lambda t: pygru.load_quantized(_qsaved(t, b_ih_l0=lambda a: a * np.nan)), ValueError, QF + r" finite values in b_ih_l0, got nan"),
    Case("qload-shift-range", "load_quantized", "integer file: a shift of 0 (documented range 1..62)", lambda t: pygru.load_quantized(_qsaved(t, "integer", sh_ih_l0=lambda a: a * 0)), ValueError, QF + r" sh_ih_l0 values >= 1, got 0"),
    Case("qload-negative-mult", "load_quantized", "integer file: a negative multiplier", lambda t: pygru.load_quantized(_qsaved(t, "integer", head__mult=lambda a: -a - 1)), ValueError, QF + r" head\.mult values >= 0, got -"),
    Case("qload-bad-mode", "load_quantized", "mode 'int4' in the header", lambda t: pygru.load_quantized(_qsaved(t, meta={"mode": "int4"})), ValueError, QF + r" mode in \('int8', 'integer'\), got 'int4'"),
    # ---------------------------------------------------------------- issue 14: masked arrays
    Case("predict-masked", "predict", "X a numpy.ma masked array", lambda t: _model().predict(_masked(_X())), TypeError, r"X: expected a plain numpy array, got a masked array \(numpy\.ma\)"),
    Case("fit-masked", "fit", "X a numpy.ma masked array", lambda t: _fit(X=_masked(_X())), TypeError, r"X: expected a plain numpy array, got a masked array"),
    Case("fit-labels-masked", "fit", "class labels y as a masked array", lambda t: _fit(y=_masked(np.array([0, 1])), loss="cross_entropy"), TypeError, r"y: expected a plain numpy array, got a masked array"),
    Case("evaluate-masked", "evaluate", "y a numpy.ma masked array", lambda t: _model().evaluate(_X(), _masked(np.zeros((2, 2), np.float32))), TypeError, r"y: expected a plain numpy array, got a masked array"),
    Case("set-weights-masked", "set_weights", "weight_ih_l0 as a masked array", lambda t: _model().set_weights(dict(_model().get_weights(), weight_ih_l0=_masked(np.zeros((15, 3), np.float32)))), TypeError, r"weights\['weight_ih_l0'\]: expected a plain numpy array, got a masked array"),
    Case("stream-masked", "stream", "step(x) with a masked array", lambda t: _model().stream().step(_masked(np.zeros(3, np.float32))), TypeError, r"x: expected a plain numpy array, got a masked array"),
    Case("stream-q8-masked", "stream", "int8 quantized step(x) with a masked array", lambda t: pygru.quantize(_model(), _X(), "int8").stream().step(_masked(np.zeros(3, np.float32))), TypeError, r"x: expected a plain numpy array, got a masked array"),
    Case("quantize-masked-calibration", "quantize", "calibration_X a masked array", lambda t: pygru.quantize(_model(), _masked(_X())), TypeError, r"calibration_X: expected a plain numpy array, got a masked array"),
    # ---------------------------------------------------------------- issue 14: training
    Case("fit-lr-float32-overflow", "fit", "lr=1e39 (finite as double, inf as float32)", lambda t: _fit(lr=1e39), ValueError, r"lr: expected a number within float32 range \(at most 3\.403e\+38\), got 1e\+39"),
    Case("fit-lr-float32-underflow", "fit", "lr=1e-50 (0 as float32)", lambda t: _fit(lr=1e-50), ValueError, r"lr: expected a number float32 can hold \(at least 1\.401e-45\), got 1e-50"),
    Case("fit-weight-decay-overflow", "fit", "weight_decay=1e39", lambda t: _fit(weight_decay=1e39), ValueError, r"weight_decay: expected a number within float32 range .*, got 1e\+39"),
    Case("fit-momentum-range", "fit", "optimizer='sgd', momentum=1.5", lambda t: _fit(optimizer="sgd", momentum=1.5), ValueError, r"momentum: expected a finite number >= 0 and < 1\.0, got 1\.5"),
    Case("fit-gradient-overflow", "fit", "finite loss, gradient norm overflowing float32 on every update", _gradient_overflow, RuntimeWarning, r"fit stopped early \(non-finite gradient\) after 0 complete epoch\(s\).*1 update\(s\) skipped"),
    Case("ctor-seed-negative", "GRUModel", "seed=-1", lambda t: pygru.GRUModel(3, 4, seed=-1), ValueError, r"seed: expected None or an integer >= 0, got -1"),
    Case("ctor-seed-string", "GRUModel", "seed='abc'", lambda t: pygru.GRUModel(3, 4, seed="abc"), TypeError, r"seed: expected None or an integer >= 0, got str 'abc'"),
    Case("fit-seed-negative", "fit", "seed=-1", lambda t: _fit(seed=-1), ValueError, r"seed: expected None or an integer >= 0, got -1"),
    Case("evaluate-long-sequences", "evaluate", "sequences past gru_c's training workspace limit", _long_sequences, None, "accepted; evaluated (and fit) in pieces that fit the workspace"),
    # ---------------------------------------------------------------- issue 14: pickling, threads
    Case("pickle-after-use", "pickle", "pickle / deepcopy of float, int8 and integer models after predict and stream", _pickle_used, None, "accepted; bit-identical predictions after the round trip"),
    Case("set-weights-cache", "set_weights", "set_weights after predict", _set_weights_then_predict, None, "accepted; predictions use the new weights (docs/threads.md)"),
    # ---------------------------------------------------------------- issue 14: paths and files
    Case("load-int-path", "load", "path=5", lambda t: pygru.load(5), TypeError, r"path: expected a file path \(str, bytes or os\.PathLike\), got int"),
    Case("save-int-path", "save", "path=5.0", lambda t: _model().save(5.0), TypeError, r"path: expected a file path \(str, bytes or os\.PathLike\), got float"),
    Case("load-fifo", "load", "a FIFO named .npz", lambda t: pygru.load(_fifo(t)), ValueError, r"path: expected a pygru \.npz model, got '.*pipe\.npz', which is a FIFO \(named pipe\)"),
    Case("load-dev-zero", "load", "/dev/zero", lambda t: pygru.load("/dev/zero"), ValueError, r"path: expected a pygru \.npz model, got '/dev/zero', which is a character device"),
    Case("load-directory", "load", "a directory", lambda t: pygru.load(t), IsADirectoryError, r"path: expected a pygru \.npz model, got '.*', which is a directory"),
    Case("qload-fifo", "load_quantized", "a FIFO", lambda t: pygru.load_quantized(_fifo(t)), ValueError, r"path: expected a pygru quantized model, got .*, which is a FIFO"),
    Case("save-name-max", "save", "a 255-byte file name (NAME_MAX), as str and as bytes", _save_long_name, None, "accepted; the temporary name is short, whatever the target's length"),
    Case("save-disk-full", "save", "the disk fills up while writing (ENOSPC)", _disk_full, OSError, r"path: cannot write '.*m\.npz': expected the data written, got ENOSPC \(No space left on device\)", ["m.npz"]),
    Case("keras-damaged-heap", "from_keras", "a legacy .h5 with a damaged local heap", lambda t: pygru.from_keras(_h5_damaged(t, 679)), ValueError, r"path: '.*damaged\.h5' is not a readable Keras model file: expected a \.keras zip or a legacy HDF5 model, got damaged HDF5 data: RuntimeError"),
    Case("keras-damaged-data", "from_keras", "a legacy .h5 with a damaged dataset", lambda t: pygru.from_keras(_h5_damaged(t, 5820)), ValueError, r"path: '.*damaged\.h5' is not a readable Keras model file: expected a \.keras zip or a legacy HDF5 model, got damaged HDF5 data: OSError"),
    Case("safetensors-wrapping-shape", "from_torch", "a .safetensors tensor of shape [2**32, 2**32] (int64 product 0) and no data", lambda t: pygru.from_torch(_safetensors_wrapping_shape(t)), ValueError, r"path: '.*x\.safetensors' is not a valid safetensors file: expected .*, got tensor 'weight_ih_l0': offsets \[0, 0\] do not fit shape \[4294967296, 4294967296\]"),
    # ---------------------------------------------------------------- issue 14: command line
    Case("cli-eval-quantized", "pygru CLI", "pygru eval / export of a quantized model", _cli_eval_quantized, None, "accepted; evaluated and exported as what it is"),
    Case("cli-export-quantized-dtype", "pygru CLI", "pygru export QUANTIZED.npz --dtype int8", lambda t: _cli(["export", (pygru.quantize(_model(), _X(), "int8").save(os.path.join(t, "q.npz")), os.path.join(t, "q.npz"))[1], "-o", os.path.join(t, "q.h"), "--dtype", "int8", "--calibration", "x", "-q"]), SystemExit, r"2", ["q.h"]),
    Case("cli-history-unwritable", "pygru CLI", "pygru train ... --history in an unwritable directory (/proc)", lambda t: _cli(["train", _npz(t, "d.npz", X_train=_X((4, 3, 3)), y_train=np.arange(4) % 2), "-o", os.path.join(t, "m.npz"), "--history", "/proc/h.json", "-q"]), SystemExit, r"1", ["m.npz"]),
    Case("cli-data-fifo", "pygru CLI", "pygru eval MODEL FIFO", lambda t: _cli(["eval", _saved(t), _fifo(t), "-q"]), SystemExit, r"1"),
]

if len({c.id for c in CASES}) != len(CASES):  # pragma: no cover
    sys.exit("duplicate case ids in tests/bad_input_cases.py")
