"""Model interchange: PyTorch, Keras, ONNX -> pygru and pygru -> ONNX, PyTorch.

Every numeric check compares pygru with the framework's own output (<= 1e-5):
live where the framework is installed, and through tests/golden/interop/
(written by tools/gen_golden_interop.py from the frameworks alone) otherwise.
Keras runs live on the torch backend in a subprocess (KERAS_BACKEND must be
set before keras is imported).
"""
import json
import os
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import pygru
from conftest import pygru_env, require_package
from pygru.interop import UnsupportedModelError
from reference import gru_model, layered_model, reference_layers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(ROOT, "tests", "golden", "interop")
GENERATOR = os.path.join(ROOT, "tools", "gen_golden_interop.py")
TOL = 1e-5


def need(module, pip_name=None):
    require_package(module, f"pip install {pip_name or module}")


def need_torch():
    require_package("torch", "pip install torch==2.13.0")


def load_cases(folder):
    with open(os.path.join(folder, "cases.json")) as f:
        return {c["name"]: c for c in json.load(f)}


GOLDEN_CASES = load_cases(GOLDEN)
NUMERIC = sorted(n for n, c in GOLDEN_CASES.items() if "error" not in c)
ERRORS = sorted(n for n, c in GOLDEN_CASES.items() if "error" in c)
NEEDS = {"torch": {".pt": "torch"}, "keras": {"": "h5py"}, "onnx": {"": "onnx"}}


def importer(case):
    return {"torch": pygru.from_torch, "keras": pygru.from_keras, "onnx": pygru.from_onnx}[case["framework"]]


def skip_unless_readable(case):
    for ext, module in NEEDS[case["framework"]].items():
        if case["file"].endswith(ext):
            if module == "torch":
                need_torch()
            need(module)


def check_case(folder, case):
    """Import the case's model with pygru and compare with the framework's output."""
    model = importer(case)(os.path.join(folder, case["file"]), **case["kwargs"])
    data = np.load(os.path.join(folder, case["io"]))
    x, want = data["x"], data["y"]
    got = model.predict(x)
    if case["time_major"] and want.ndim == 3:
        want = want.transpose(1, 0, 2)
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL)
    return model, x


# ---------------------------------------------------------------------- golden files


@pytest.mark.parametrize("name", NUMERIC)
def test_golden_matches_framework_output(name):
    case = GOLDEN_CASES[name]
    skip_unless_readable(case)
    model, x = check_case(GOLDEN, case)
    # the imported weights also agree with the independent float64 reference
    ref = layered_model(x, model.get_weights(), reference_layers(model.spec), model.return_sequences)
    np.testing.assert_allclose(model.predict(x), ref, rtol=0, atol=TOL)


@pytest.mark.parametrize("name", ERRORS)
def test_golden_unsupported_models_are_refused(name):
    case = GOLDEN_CASES[name]
    skip_unless_readable(case)
    with pytest.raises(UnsupportedModelError, match=case["error"]):
        importer(case)(os.path.join(GOLDEN, case["file"]))


@pytest.mark.parametrize("name", [n for n in NUMERIC if GOLDEN_CASES[n]["framework"] == "onnx"])
def test_golden_onnx_live_onnxruntime(name):
    """The committed .onnx files run live in the installed ONNX Runtime too."""
    need("onnxruntime")
    need("onnx")
    import onnxruntime as ort

    case = GOLDEN_CASES[name]
    path = os.path.join(GOLDEN, case["file"])
    x = np.load(os.path.join(GOLDEN, case["io"]))["x"]
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feed = x.transpose(1, 0, 2).copy() if case["time_major"] else x
    want = sess.run(None, {sess.get_inputs()[0].name: feed})[0]
    if case["time_major"] and want.ndim == 3:
        want = want.transpose(1, 0, 2)
    np.testing.assert_allclose(pygru.from_onnx(path).predict(x), want, rtol=0, atol=TOL)


def test_safetensors_reader_matches_safetensors_package():
    need("safetensors")
    from safetensors.numpy import load_file

    from pygru.interop.safetensors_io import read_safetensors

    for file in ("torch_2l.safetensors", "torch_seq_nobias.safetensors"):
        want = load_file(os.path.join(GOLDEN, file))
        got = read_safetensors(os.path.join(GOLDEN, file))
        assert sorted(got) == sorted(want)
        for k in want:
            assert got[k].dtype == want[k].dtype and np.array_equal(got[k], want[k])


def test_safetensors_reader_dtypes(tmp_path):
    """float16 / bfloat16 / float64 widen exactly; integer weights are refused."""
    from pygru.interop.safetensors_io import read_safetensors

    values = np.array([1.5, -2.25, 3.0e-3], np.float32)
    bf16 = (values.view(np.uint32) >> 16).astype("<u2")  # truncation: exact bf16 values
    parts = {"a": ("F16", values.astype("<f2").tobytes()), "b": ("BF16", bf16.tobytes()),
             "c": ("F64", values.astype("<f8").tobytes()), "d": ("I32", np.arange(3, dtype="<i4").tobytes())}
    header, blob = {}, b""
    for k, (dt, raw) in parts.items():
        header[k] = {"dtype": dt, "shape": [3], "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    h = json.dumps(header).encode()
    path = tmp_path / "t.safetensors"
    path.write_bytes(len(h).to_bytes(8, "little") + h + blob)
    got = read_safetensors(path)
    assert np.array_equal(got["a"], values.astype(np.float16))
    assert np.array_equal(got["b"], (bf16.astype(np.uint32) << 16).view(np.float32))
    assert got["c"].dtype == np.float64 and np.array_equal(got["c"], values.astype(np.float64))
    assert got["d"].dtype == np.int32


# ---------------------------------------------------------------------- PyTorch, live

TORCH_CONFIGS = [  # (input, hidden, layers, batch_first, bias, head out, activation, sequences)
    (3, 5, 1, True, True, None, None, False),
    (4, 7, 2, False, True, 3, "softmax", False),
    (2, 6, 3, True, False, 2, "sigmoid", True),
    (5, 3, 2, True, True, 1, "tanh", False),
]


def torch_forward(gru, head, activation, sequences, x):
    import torch

    with torch.no_grad():
        t = torch.from_numpy(x if gru.batch_first else x.transpose(1, 0, 2).copy())
        y = gru(t)[0]
        if not gru.batch_first:
            y = y.transpose(0, 1)
        if not sequences:
            y = y[:, -1]
        if head is not None:
            y = head(y)
        y = {"softmax": lambda v: torch.softmax(v, -1), "sigmoid": torch.sigmoid,
             "tanh": torch.tanh, None: lambda v: v}[activation](y)
    return y.numpy()


@pytest.mark.parametrize("cfg", TORCH_CONFIGS, ids=lambda c: f"L{c[2]}-bf{int(c[3])}-bias{int(c[4])}-{c[6]}")
@pytest.mark.parametrize("source", ["module", "state_dict", "pt", "safetensors"])
def test_from_torch_live(cfg, source, tmp_path):
    need_torch()
    import torch

    I, H, L, bf, bias, O, act, seq = cfg
    torch.manual_seed(7 * L + I)
    gru = torch.nn.GRU(I, H, L, batch_first=bf, bias=bias, dropout=0.3 if L > 1 else 0.0).eval()
    head = torch.nn.Linear(H, O) if O else None
    x = np.random.default_rng(L).standard_normal((3, 6, I)).astype(np.float32)
    want = torch_forward(gru, head, act, seq, x)
    kw = {"output_activation": act, "return_sequences": seq}
    if source == "module":
        model = pygru.from_torch(gru, head=head, **kw)
    else:
        state = {f"rnn.{k}": v for k, v in gru.state_dict().items()}
        if head is not None:
            state.update({f"out.{k}": v for k, v in head.state_dict().items()})
        obj = state
        if source == "pt":
            obj = tmp_path / "m.pt"
            torch.save(state, obj)
        elif source == "safetensors":
            need("safetensors")
            from safetensors.torch import save_file

            obj = str(tmp_path / "m.safetensors")
            save_file(state, obj)
        model = pygru.from_torch(obj, head="out" if head is not None else None, **kw)
    assert model.reset_after == (True,) * L
    np.testing.assert_allclose(model.predict(x), want, rtol=0, atol=TOL)


def test_from_torch_head_as_dict_and_float64():
    need_torch()
    import torch

    torch.manual_seed(3)
    gru = torch.nn.GRU(3, 4, 2, batch_first=True).double().eval()
    head = torch.nn.Linear(4, 2).double()
    x = np.random.default_rng(0).standard_normal((2, 5, 3))
    want = torch_forward(gru, head, None, False, x)  # float64 through and through
    model = pygru.from_torch(gru.state_dict(), head={"weight": head.weight, "bias": head.bias})
    np.testing.assert_allclose(model.predict(x), want, rtol=0, atol=TOL)


# ---------------------------------------------------------------------- PyTorch, errors


@pytest.mark.parametrize("num_layers", [1, 2])
def test_from_torch_bidirectional_matches_packed_sequences(num_layers):
    """Bidirectional nn.GRU (now supported): per-step outputs match torch on
    packed sequences (the reverse direction starts at each sequence's own last
    valid step), the last step is torch's h_n halves, from the module and its
    state dict, and to_torch gives the module back."""
    need_torch()
    import torch

    torch.manual_seed(num_layers)
    gru = torch.nn.GRU(3, 4, num_layers=num_layers, batch_first=True, bidirectional=True)
    x = torch.randn(5, 7, 3)
    lengths = [7, 2, 1, 5, 7]
    with torch.no_grad():
        packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, h_n = gru(packed)
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=7)
    seq = pygru.from_torch(gru, return_sequences=True).predict(x.numpy(), lengths=lengths)
    for b, L in enumerate(lengths):
        np.testing.assert_allclose(seq[b, :L], out[b, :L].numpy(), rtol=0, atol=TOL)
    last = pygru.from_torch(gru.state_dict()).predict(x.numpy(), lengths=lengths)
    np.testing.assert_allclose(last, torch.cat([h_n[-2], h_n[-1]], -1).numpy(), rtol=0, atol=TOL)
    model = pygru.from_torch(gru)
    with torch.no_grad():
        np.testing.assert_allclose(model.to_torch()(x).numpy(), model.predict(x.numpy()), rtol=0, atol=TOL)


def test_from_torch_refuses_other_modules_and_features():
    need_torch()
    import torch

    with pytest.raises(UnsupportedModelError, match="expected an nn.GRU, got LSTM"):
        pygru.from_torch(torch.nn.LSTM(3, 4))
    sd = torch.nn.GRU(3, 4).state_dict()
    with pytest.raises(UnsupportedModelError, match="proj_size"):
        pygru.from_torch({**sd, "weight_hr_l0": torch.zeros(2, 4)})
    with pytest.raises(UnsupportedModelError, match="floating-point.*int64"):
        pygru.from_torch({**sd, "weight_ih_l0": torch.zeros(12, 3, dtype=torch.int64)})
    with pytest.raises(UnsupportedModelError, match=r"keys pygru does not know how to run: \['bn.num_batches"):
        pygru.from_torch({**sd, "bn.num_batches_tracked": torch.tensor(3), "embedding.weight": torch.zeros(5, 3)})
    with pytest.raises(TypeError, match="obj: expected"):
        pygru.from_torch(42)


def test_from_torch_mismatched_shapes():
    need_torch()
    import torch

    sd = torch.nn.GRU(3, 4, 2).state_dict()
    bad = {**sd, "weight_ih_l1": torch.zeros(12, 5)}
    with pytest.raises(ValueError, match=r"layer 1 weight_ih: expected shape \(12, 4\), got \(12, 5\)"):
        pygru.from_torch(bad)
    with pytest.raises(ValueError, match=r"layer 0 bias_hh: expected shape \(12,\)"):
        pygru.from_torch({**sd, "bias_hh_l0": torch.zeros(11)})
    with pytest.raises(ValueError, match=r"head weight: expected shape \(O, 4\)"):
        pygru.from_torch(sd, head=torch.nn.Linear(5, 2))
    with pytest.raises(ValueError, match="head: no key 'fc.weight'"):
        pygru.from_torch(sd, head="fc")
    with pytest.raises(ValueError, match="no GRU weights"):
        pygru.from_torch({"fc.weight": torch.zeros(2, 2)})


def test_from_torch_corrupted_files(tmp_path):
    bad = tmp_path / "bad.safetensors"
    good = open(os.path.join(GOLDEN, "torch_2l.safetensors"), "rb").read()
    for blob, why in ((b"abc", "shorter"), (good[:-10], "offsets"), (b"\xff" * 8 + good[8:], "header length"),
                      (good[:8] + b"{" * (len(good) - 8), "JSON")):
        bad.write_bytes(blob)
        with pytest.raises(ValueError, match=why):
            pygru.from_torch(bad, head="fc")
    with pytest.raises(FileNotFoundError, match="no such PyTorch file"):
        pygru.from_torch(tmp_path / "missing.pt")
    need_torch()
    pt = tmp_path / "bad.pt"
    pt.write_bytes(open(os.path.join(GOLDEN, "torch_2l.pt"), "rb").read()[:300])
    with pytest.raises(ValueError, match="not a readable PyTorch weights file"):
        pygru.from_torch(pt)


# ---------------------------------------------------------------------- round trips

EXPORT_CONFIGS = [  # (input, hidden sizes, reset_after, head, activation, sequences)
    (3, [5], True, None, None, False),
    (4, [7, 3], [False, True], 2, "softmax", False),
    (2, [6, 6], False, 3, "sigmoid", True),
    (5, [4, 9, 3], True, 1, "tanh", True),
    (3, [5, 5], True, 4, None, False),
]


def export_model(cfg, seed):
    I, hs, ra, O, act, seq = cfg
    model = pygru.GRUModel(I, hs, O, reset_after=ra, output_activation=act, return_sequences=seq, seed=seed)
    rng = np.random.default_rng(seed)
    # larger weights than the default init, so that every gate matters
    model.set_weights({k: rng.uniform(-0.8, 0.8, v.shape).astype(np.float32)
                       for k, v in model.get_weights().items()})
    x = rng.standard_normal((3, 7, I)).astype(np.float32)
    return model, x


@pytest.mark.parametrize("cfg", EXPORT_CONFIGS, ids=str)
def test_to_onnx_runs_in_onnxruntime(cfg, tmp_path):
    need("onnx")
    need("onnxruntime")
    import onnx
    import onnxruntime as ort

    model, x = export_model(cfg, 11)
    path = str(tmp_path / "m.onnx")
    model.to_onnx(path)
    proto = onnx.load(path)
    assert proto.opset_import[0].version >= 14
    assert [n.op_type for n in proto.graph.node].count("GRU") == model.num_layers
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    want = sess.run(None, {"input": x})[0]
    np.testing.assert_allclose(model.predict(x), want, rtol=0, atol=TOL)
    back = pygru.from_onnx(path)  # and back: the very same model
    assert back.config() == model.config()
    for k, v in model.get_weights().items():
        assert np.array_equal(back.get_weights()[k], v), k


@pytest.mark.parametrize("cfg", [c for c in EXPORT_CONFIGS if c[2] is True], ids=str)
def test_to_torch_matches_torch(cfg):
    need_torch()
    import torch

    model, x = export_model(cfg, 5)
    module = model.to_torch()
    assert isinstance(module, torch.nn.Module)
    with torch.no_grad():
        want = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.predict(x), want, rtol=0, atol=TOL)
    if len(set(model.hidden_sizes)) == 1:  # one nn.GRU: its state dict imports back unchanged
        back = pygru.from_torch(module.state_dict(), head="head" if model.output_size else None,
                                output_activation=model.output_activation,
                                return_sequences=model.return_sequences)
        for k, v in model.get_weights().items():
            assert np.array_equal(back.get_weights()[k], v), k


def test_to_torch_refuses_reset_before():
    need_torch()
    model = pygru.GRUModel(3, [4, 4], reset_after=[True, False], seed=0)
    with pytest.raises(UnsupportedModelError, match=r"layers \[1\] use reset_after=False.*torch.nn.GRU"):
        model.to_torch()


def test_to_onnx_errors_and_atomic_write(tmp_path):
    need("onnx")
    model = pygru.GRUModel(3, [4], seed=0)
    with pytest.raises(ValueError, match="opset: expected 14 or newer, got 13"):
        model.to_onnx(tmp_path / "a.onnx", opset=13)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        model.to_onnx(tmp_path / "nodir" / "a.onnx")
    assert os.listdir(tmp_path) == []  # nothing half-written left behind


# ---------------------------------------------------------------------- ONNX, errors


def mutated_onnx(tmp_path, edit, source="onnx_lbr0.onnx"):
    """A copy of a golden ONNX model with edit(proto) applied."""
    import onnx

    proto = onnx.load(os.path.join(GOLDEN, source))
    edit(proto)
    path = str(tmp_path / "m.onnx")
    onnx.save(proto, path)
    return path


def set_gru_attr(name, value, node=0):
    def edit(proto):
        from onnx import helper

        gru = [n for n in proto.graph.node if n.op_type == "GRU"][node]
        for a in list(gru.attribute):
            if a.name == name:
                gru.attribute.remove(a)
        gru.attribute.append(helper.make_attribute(name, value))
    return edit


@pytest.mark.parametrize("edit,feature", [
    (set_gru_attr("direction", "sideways"), "direction='sideways'"),
    (set_gru_attr("direction", "bidirectional"), r"R: expected shape \(2, 3H, H\)"),
    (set_gru_attr("clip", 3.0), "clip=3.0"),
    (set_gru_attr("activations", ["Elu", "Tanh"]), r"activations=\['Elu', 'Tanh'\]"),
    (set_gru_attr("activation_alpha", [0.2]), "activation_alpha"),
    (set_gru_attr("hidden_size", 9, node=1), "hidden_size=9"),
], ids=["direction", "bidirectional", "clip", "activations", "activation_alpha", "hidden_size"])
def test_from_onnx_refuses_gru_features(edit, feature, tmp_path):
    need("onnx")
    with pytest.raises(ValueError, match=feature):
        pygru.from_onnx(mutated_onnx(tmp_path, edit))


def test_from_onnx_refuses_graph_features(tmp_path):
    need("onnx")
    from onnx import helper, numpy_helper

    def initial_h(value):
        def edit(proto):
            proto.graph.initializer.append(numpy_helper.from_array(np.full((1, 1, 5), value, np.float32), "init_h"))
            gru = proto.graph.node[0]
            del gru.input[4:]
            gru.input.extend(["", "init_h"])
        return edit

    assert pygru.from_onnx(mutated_onnx(tmp_path, initial_h(0.0))).hidden_sizes == (5, 3)  # zero state is fine
    # a GRUModel starts from zeros: a fixed state needs the graph object
    with pytest.raises(UnsupportedModelError, match="non-zero constant initial_h .*import_graph"):
        pygru.from_onnx(mutated_onnx(tmp_path, initial_h(0.5)))

    def seq_lens(proto):  # sequence_lens computed from the data: not a graph input or constant
        proto.graph.node.insert(0, helper.make_node("Shape", ["input"], ["lens"], start=1, end=2))
        proto.graph.node[1].input.extend(["lens"])
    with pytest.raises(UnsupportedModelError, match="sequence_lens computed by a Shape node"):
        pygru.from_onnx(mutated_onnx(tmp_path, seq_lens))

    def head_act(op):
        def edit(proto):
            proto.graph.node[-1].op_type = op
            del proto.graph.node[-1].attribute[:]
        return edit
    with pytest.raises(UnsupportedModelError, match="Elu node"):
        pygru.from_onnx(mutated_onnx(tmp_path, head_act("Elu")))
    assert pygru.from_onnx(mutated_onnx(tmp_path, head_act("Relu"))).output_activation == "relu"  # supported now

    def bad_w(proto):
        w = [t for t in proto.graph.initializer if t.name == "W1"][0]
        w.CopyFrom(numpy_helper.from_array(np.zeros((1, 9, 4), np.float32), "W1"))
    with pytest.raises(ValueError, match=r"layer 1 weight_ih: expected shape \(9, 5\), got \(9, 4\)"):
        pygru.from_onnx(mutated_onnx(tmp_path, bad_w))

    def bad_gemm_bias(proto):
        b = [t for t in proto.graph.initializer if t.name == "fcb"][0]
        b.CopyFrom(numpy_helper.from_array(np.zeros(4, np.float32), "fcb"))
    with pytest.raises(ValueError, match="Gemm bias: expected 3 values"):
        pygru.from_onnx(mutated_onnx(tmp_path, bad_gemm_bias))

    def first_layer_state(proto):  # h_n[0] of a 3-layer GRU: not the model's output
        proto.graph.initializer.append(numpy_helper.from_array(np.array(0, np.int64), "idx0"))
        gather = [n for n in proto.graph.node if n.op_type == "Gather" and "Concat" in n.input[0]][0]
        gather.input[1] = "idx0"
    with pytest.raises(UnsupportedModelError, match=r"Gather node .* of L\[0\]"):
        pygru.from_onnx(mutated_onnx(tmp_path, first_layer_state, "onnx_torch_state.onnx"))

    def runtime_weights(proto):
        proto.graph.node.insert(0, helper.make_node("Neg", ["R0"], ["R0neg"]))
        proto.graph.node[1].input[2] = "R0neg"
    with pytest.raises(UnsupportedModelError, match="computed at run time"):
        pygru.from_onnx(mutated_onnx(tmp_path, runtime_weights))


def test_from_onnx_corrupted_file(tmp_path):
    need("onnx")
    path = tmp_path / "bad.onnx"
    path.write_bytes(open(os.path.join(GOLDEN, "onnx_lbr0.onnx"), "rb").read()[:200])
    with pytest.raises(ValueError, match="not a readable ONNX model"):
        pygru.from_onnx(path)
    with pytest.raises(FileNotFoundError):
        pygru.from_onnx(tmp_path / "missing.onnx")


# ---------------------------------------------------------------------- Keras, errors


def mutated_keras(tmp_path, edit, source="keras_before.keras"):
    """A copy of a golden .keras file whose config.json went through edit(config)."""
    src = os.path.join(GOLDEN, source)
    dst = tmp_path / "m.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "config.json":
                config = json.loads(data)
                edit(config)
                data = json.dumps(config).encode()
            zout.writestr(item, data)
    return dst


def gru_config(**changes):
    def edit(config):
        config["config"]["layers"][1]["config"].update(changes)
    return edit


@pytest.mark.parametrize("changes,feature", [
    ({"recurrent_activation": "tanh"}, "recurrent_activation='tanh'"),
    ({"activation": "elu"}, "activation='elu'"),
    ({"go_backwards": True}, "go_backwards=True"),
    ({"stateful": True}, "stateful=True"),
    ({"return_state": True}, "return_state=True"),
    ({"dtype": "mixed_float16"}, "dtype policy 'mixed_float16'"),
], ids=lambda v: str(v))
def test_from_keras_refuses_gru_features(changes, feature, tmp_path):
    need("h5py")
    with pytest.raises(UnsupportedModelError, match=feature):
        pygru.from_keras(mutated_keras(tmp_path, gru_config(**changes)))


def test_from_keras_hard_sigmoid_follows_the_files_keras_version(tmp_path):
    """Keras 3 files mean relu6(x + 3) / 6 (checked against Keras 3's output in
    the golden case); a file whose metadata says Keras 2 means Keras 2's
    clip(0.2 x + 0.5, 0, 1), checked against the float64 reference (no Keras 2
    here to run)."""
    need("h5py")
    src = os.path.join(GOLDEN, "keras_hard_sigmoid.keras")
    assert pygru.from_keras(src).spec.gru_layers[0].recurrent_activation == "hard_sigmoid_keras3"
    dst = tmp_path / "keras2.keras"
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "metadata.json":
                data = json.dumps(dict(json.loads(data), keras_version="2.15.0")).encode()
            zout.writestr(item, data)
    model = pygru.from_keras(dst)
    assert model.spec.gru_layers[0].recurrent_activation == "hard_sigmoid"
    x = np.random.default_rng(0).standard_normal((3, 6, 4)).astype(np.float32) * 3
    want = layered_model(x, model.get_weights(), reference_layers(model.spec))
    np.testing.assert_allclose(model.predict(x), want, rtol=0, atol=TOL)


def test_from_keras_unroll_is_irrelevant(tmp_path):
    """unroll only changes how Keras loops; the result is the golden output."""
    need("h5py")
    case = dict(GOLDEN_CASES["keras_before_keras"], file="m.keras")
    shutil.copy(os.path.join(GOLDEN, case["io"]), tmp_path / case["io"])
    mutated_keras(tmp_path, gru_config(unroll=True))
    check_case(str(tmp_path), case)


def test_from_keras_refuses_other_layers_and_shapes(tmp_path):
    need("h5py")

    def dense_act(act):
        def edit(config):
            config["config"]["layers"][-1]["config"]["activation"] = act
        return edit
    with pytest.raises(UnsupportedModelError, match="activation='gelu'"):
        pygru.from_keras(mutated_keras(tmp_path, dense_act("gelu")))
    # A relu head (supported since Dense layers anywhere) is relu of the linear head's output.
    relu, linear = (pygru.from_keras(mutated_keras(tmp_path, dense_act(a))) for a in ("relu", "linear"))
    assert relu.output_activation == "relu"
    X = np.random.default_rng(3).standard_normal((2, 5, relu.input_size)).astype(np.float32)
    np.testing.assert_array_equal(relu.predict(X), np.maximum(linear.predict(X), 0))

    def lstm(config):
        config["config"]["layers"][1]["class_name"] = "LSTM"
    with pytest.raises(UnsupportedModelError, match="LSTM"):
        pygru.from_keras(mutated_keras(tmp_path, lstm))

    def conv(config):
        config["config"]["layers"][2]["class_name"] = "Conv1D"
    with pytest.raises(UnsupportedModelError, match="Conv1D"):
        pygru.from_keras(mutated_keras(tmp_path, conv))

    with pytest.raises(ValueError, match=r"'gru_2': kernel: expected shape \(input, 18\), got \(4, 15\)"):
        pygru.from_keras(mutated_keras(tmp_path, gru_config(units=6)))
    with pytest.raises(ValueError, match=r"reset_after=True\): bias: expected shape \(2, 15\), got \(15,\)"):
        pygru.from_keras(mutated_keras(tmp_path, gru_config(reset_after=True)))


def open_zip_member(file, member):
    with zipfile.ZipFile(os.path.join(GOLDEN, file)) as z:
        return z.read(member)


def test_from_keras_corrupted_files(tmp_path):
    need("h5py")
    import h5py

    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="not a readable Keras model file"):
        pygru.from_keras(bad)
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("config.json", "{}")
    with pytest.raises(ValueError, match="model.weights.h5"):
        pygru.from_keras(bad)
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("config.json", "[]")
        z.writestr("model.weights.h5", b"")
    with pytest.raises(ValueError, match="config.json is not a JSON object"):
        pygru.from_keras(bad)
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("config.json", open_zip_member("keras_after.keras", "config.json"))
        z.writestr("model.weights.h5", b"\x89HDF garbage")
    with pytest.raises(ValueError, match="model.weights.h5"):
        pygru.from_keras(bad)
    weights_only = tmp_path / "w.h5"
    with h5py.File(weights_only, "w") as f:
        f["kernel"] = np.zeros(3)
    with pytest.raises(ValueError, match="without a model_config"):
        pygru.from_keras(weights_only)
    with pytest.raises(FileNotFoundError, match="no such Keras file"):
        pygru.from_keras(tmp_path / "missing.keras")
    with pytest.raises(TypeError, match="path_or_model"):
        pygru.from_keras(42)


# ---------------------------------------------------------------------- Keras, live


KERAS_LIVE_SCRIPT = r"""
import json, sys, runpy
out, generator = sys.argv[1], sys.argv[2]
# 1. the golden-file generator, run into `out` by the installed Keras
runpy.run_path(generator)["main"](["--only", "keras", "--out", out])
# 2. a live Keras model object handed to pygru.from_keras
import numpy as np, keras, pygru
from keras import layers
rng = np.random.default_rng(0)
model = keras.Sequential([keras.Input((None, 3)), layers.GRU(5, return_sequences=True, reset_after=False),
                          layers.GRU(4), layers.Dense(2, activation="softmax")])
model.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype("float32") for w in model.get_weights()])
x = rng.standard_normal((2, 6, 3)).astype("float32")
want = np.asarray(model.predict(x, verbose=0))
got = pygru.from_keras(model).predict(x)
with open(out + "/object.json", "w") as f:
    json.dump({"diff": float(np.abs(got - want).max()), "shape": list(got.shape)}, f)
"""


@pytest.fixture(scope="module")
def keras_live(tmp_path_factory):
    """Models saved and run by the installed Keras (torch backend, in a
    subprocess: KERAS_BACKEND must be set before keras is imported)."""
    need("keras")
    need_torch()
    out = str(tmp_path_factory.mktemp("keras_live"))
    env = pygru_env(KERAS_BACKEND="torch")
    proc = subprocess.run([sys.executable, "-c", KERAS_LIVE_SCRIPT, out, GENERATOR], cwd=out, env=env,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode:
        pytest.fail(f"keras subprocess failed:\n{proc.stderr[-3000:]}")
    return out, load_cases(out)


@pytest.mark.parametrize("name", [n for n in NUMERIC if GOLDEN_CASES[n]["framework"] == "keras"]
                         + [n for n in ERRORS if GOLDEN_CASES[n]["framework"] == "keras"])
def test_from_keras_live(keras_live, name):
    folder, cases = keras_live
    case = cases[name]
    if "error" in case:
        with pytest.raises(UnsupportedModelError, match=case["error"]):
            pygru.from_keras(os.path.join(folder, case["file"]))
    else:
        check_case(folder, case)


def test_from_keras_live_model_object(keras_live):
    with open(os.path.join(keras_live[0], "object.json")) as f:
        result = json.load(f)
    assert result["shape"] == [2, 2]
    assert result["diff"] <= TOL


# ---------------------------------------------------------------------- packaging


def test_import_pygru_needs_numpy_alone():
    """Frameworks are imported only inside the functions that need them; a
    .safetensors file imports with torch unavailable."""
    code = (
        "import sys\n"
        "for m in ('torch', 'onnx', 'onnxruntime', 'h5py', 'keras', 'safetensors'): sys.modules[m] = None\n"
        "import pygru\n"
        f"m = pygru.from_torch({os.path.join(GOLDEN, 'torch_2l.safetensors')!r}, head='fc')\n"
        "print(m.hidden_sizes)\n"
        "for call in (m.to_torch, lambda: m.to_onnx('x.onnx'), lambda: pygru.from_keras('README.md')):\n"
        "    try:\n"
        "        call()\n"
        "    except ImportError as e:\n"
        "        print(e)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env=pygru_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["(5, 5)", "to_torch needs the torch package (pip install torch==2.13.0)",
                                        "to_onnx needs the onnx package (pip install onnx)",
                                        "reading Keras files needs the h5py package (pip install h5py)"]


def test_from_keras_old_config_without_reset_after(tmp_path):
    """Keras before 2.1.3 wrote no reset_after key and computed the reset_before
    GRU: such a layer imports as reset_after=False and gives the same output."""
    need("h5py")
    import h5py

    case = dict(GOLDEN_CASES["keras_mixed_seq_h5"], file="old.h5")
    shutil.copy(os.path.join(GOLDEN, "keras_mixed_seq.h5"), tmp_path / "old.h5")
    shutil.copy(os.path.join(GOLDEN, case["io"]), tmp_path / case["io"])
    with h5py.File(tmp_path / "old.h5", "r+") as f:
        config = json.loads(f.attrs["model_config"])
        layer = config["config"]["layers"][1]["config"]
        assert layer["reset_after"] is False
        del layer["reset_after"]
        f.attrs["model_config"] = json.dumps(config)
    model, _ = check_case(str(tmp_path), case)
    assert model.reset_after == (False, True)


@pytest.mark.filterwarnings("ignore")  # the legacy exporter's deprecation and tracer warnings
@pytest.mark.parametrize("layers,batch_first,out", [(1, True, "h_n"), (2, False, "h_n"), (2, True, "seq"),
                                                     (1, False, "last")])
def test_from_onnx_live_torch_export(layers, batch_first, out, tmp_path):
    """What torch.onnx.export writes for the usual ways of reading a GRU
    (h_n[-1], every step, the last step), checked against ONNX Runtime."""
    need_torch()
    need("onnx")
    need("onnxruntime")
    import onnxruntime as ort
    import torch

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru = torch.nn.GRU(3, 5, layers, batch_first=batch_first)
            self.fc = torch.nn.Linear(5, 2)

        def forward(self, x):
            y, h = self.gru(x)
            t = 1 if batch_first else 0
            return self.fc({"h_n": h[-1], "seq": y, "last": y.select(t, -1)}[out])

    torch.manual_seed(layers)
    x = np.random.default_rng(2).standard_normal((3, 6, 3)).astype(np.float32)
    feed = x if batch_first else x.transpose(1, 0, 2).copy()
    path = str(tmp_path / "m.onnx")
    torch.onnx.export(Net().eval(), (torch.from_numpy(feed),), path, dynamo=False, opset_version=14,
                      input_names=["x"], output_names=["y"])
    want = ort.InferenceSession(path, providers=["CPUExecutionProvider"]).run(None, {"x": feed})[0]
    if out == "seq" and not batch_first:
        want = want.transpose(1, 0, 2)
    np.testing.assert_allclose(pygru.from_onnx(path).predict(x), want, rtol=0, atol=TOL)


# ---------------------------------------------------------------------- ONNX: exporters' own graphs, states

def _ort_vs_pygru(path, feeds, values=None, runtime="onnxruntime"):
    """Max abs difference per output between ONNX Runtime (or, for what it
    does not implement, onnx's own reference evaluator: layout=1 GRUs) and
    import_graph(path).run."""
    need("onnxruntime")
    import onnxruntime as ort
    from onnx.reference import ReferenceEvaluator

    from pygru.interop.onnx import import_graph

    ort_feeds = dict(feeds, **(values or {}))
    if runtime == "onnxruntime":
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        want = dict(zip([o.name for o in sess.get_outputs()], sess.run(None, ort_feeds)))
    else:
        ref = ReferenceEvaluator(str(path))
        want = dict(zip(ref.output_names, ref.run(None, ort_feeds)))
    got = import_graph(str(path), values).run(feeds)
    assert set(got) == set(want)
    for name in want:
        assert got[name].shape == want[name].shape, name
    return {name: float(np.abs(got[name] - want[name]).max()) for name in want}


class _TorchGRUNet:
    @staticmethod
    def make(torch, batch_first, head):
        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.gru = torch.nn.GRU(3, 5, num_layers=2, batch_first=batch_first)
                self.fc = torch.nn.Linear(5, 2)

            def forward(self, x, h0):
                y, h_n = self.gru(x, h0)
                return (self.fc(y) if head else y), h_n
        return Net().eval()


@pytest.mark.parametrize("dynamo", [True, False], ids=["dynamo", "legacy"])
@pytest.mark.parametrize("batch_first", [True, False], ids=["batch_first", "time_major"])
@pytest.mark.parametrize("head", [True, False], ids=["head", "no_head"])
def test_onnx_torch_exporters_with_h0_and_h_n(dynamo, batch_first, head, tmp_path):
    need_torch()
    need("onnx")
    import torch
    torch.manual_seed(7)
    net = _TorchGRUNet.make(torch, batch_first, head)
    x = torch.randn((4, 6, 3) if batch_first else (6, 4, 3))
    h0 = torch.randn(2, 4, 5)
    path = tmp_path / "t.onnx"
    kw = {} if dynamo else {"dynamic_axes": {"x": {0: "a", 1: "b"}, "h0": {1: "batch"}}}
    torch.onnx.export(net, (x, h0), str(path), dynamo=dynamo, input_names=["x", "h0"],
                      output_names=["y", "h_n"], **kw)
    diffs = _ort_vs_pygru(path, {"x": x.numpy(), "h0": h0.numpy()})
    assert max(diffs.values()) <= 1e-5, diffs
    # and the torch module itself, through the plain GRUModel API
    from pygru.interop.onnx import import_graph

    graph = import_graph(str(path))
    with torch.no_grad():
        _, h_n = net(x, h0)
    xb = x.numpy() if batch_first else x.numpy().transpose(1, 0, 2)
    _, hn = graph.model.predict(xb, initial_state=h0.numpy(), return_state=True)
    assert np.abs(hn - h_n.numpy()).max() <= 1e-5


def test_onnx_dynamo_export_of_a_large_gru_folds_the_weight_reordering(tmp_path):
    """torch's dynamo exporter leaves the gate reordering of a large weight_hh
    (Slice, Concat, Unsqueeze of the initializer) in the graph: the importer
    computes it from the constants (it refused such a GRU(64) before)."""
    need_torch()
    need("onnx")
    import warnings

    import onnx
    import torch
    torch.manual_seed(3)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.gru, self.fc = torch.nn.GRU(10, 64, batch_first=True), torch.nn.Linear(64, 12)

        def forward(self, x):
            return self.fc(self.gru(x)[0][:, -1])
    x = torch.randn(2, 9, 10)
    path = tmp_path / "big.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Net().eval(), (x,), str(path), dynamo=True, input_names=["x"], output_names=["y"])
    graph = onnx.load(str(path)).graph
    gru = next(n for n in graph.node if n.op_type == "GRU")
    assert gru.input[2] not in {t.name for t in graph.initializer}, "R folded by the exporter: test moot"
    assert max(_ort_vs_pygru(path, {"x": x.numpy()}).values()) <= 1e-5


def _conformance_gru(tmp_path, *, layout=0, bias=False, lens=False, init_h=False, outputs=("", "Y_h"),
                     lbr=0, T=3, B=3, I=2, H=5, seed=0):
    """A graph in the form of ONNX's backend cases test_gru_defaults /
    _with_initial_bias / _seq_length / _batchwise: one GRU node, every tensor
    (weights too) a graph input, no initializers. Returns (path, feeds, values)."""
    from onnx import TensorProto, helper

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((T, B, I) if layout == 0 else (B, T, I)).astype(np.float32)
    values = {"W": (0.3 * rng.standard_normal((1, 3 * H, I))).astype(np.float32),
              "R": (0.3 * rng.standard_normal((1, 3 * H, H))).astype(np.float32)}
    names = ["X", "W", "R"]
    feeds = {"X": X}
    if bias or lens or init_h:
        values["B"] = (0.3 * rng.standard_normal((1, 6 * H))).astype(np.float32)
        names.append("B")
    if lens or init_h:
        names.append("sequence_lens" if lens else "")
        if lens:
            feeds["sequence_lens"] = rng.integers(1, T + 1, B).astype(np.int32)
    if init_h:
        names.append("initial_h")
        feeds["initial_h"] = rng.standard_normal((1, B, H) if layout == 0 else (B, 1, H)).astype(np.float32)
    node = helper.make_node("GRU", names, list(outputs), hidden_size=H, layout=layout, linear_before_reset=lbr)
    shapes = {"X": X.shape, "sequence_lens": (B,), "initial_h": feeds.get("initial_h", X).shape}
    shapes.update({k: v.shape for k, v in values.items()})
    dtype = {"sequence_lens": TensorProto.INT32}
    inputs = [helper.make_tensor_value_info(n, dtype.get(n, TensorProto.FLOAT), shapes[n]) for n in names if n]
    out_shapes = {"Y": (T, 1, B, H) if layout == 0 else (B, T, 1, H), "Y_h": (1, B, H) if layout == 0 else (B, 1, H)}
    graph_outputs = [helper.make_tensor_value_info(o, TensorProto.FLOAT, out_shapes[o]) for o in outputs if o]
    proto = helper.make_model(helper.make_graph([node], "gru_case", inputs, graph_outputs),
                              opset_imports=[helper.make_opsetid("", 14)])
    proto.ir_version = 8
    path = tmp_path / "case.onnx"
    import onnx

    onnx.save(proto, str(path))
    return path, feeds, values


@pytest.mark.parametrize("case", [
    dict(),                                                   # test_gru_defaults
    dict(bias=True, H=3, I=3),                                # test_gru_with_initial_bias
    dict(bias=True, T=2, B=3, I=3, H=5),                      # test_gru_seq_length
    dict(layout=1, outputs=("Y", "Y_h"), H=6),                # test_gru_batchwise
    dict(lens=True, T=6, outputs=("Y", "Y_h")),               # padded batch
    dict(init_h=True, outputs=("Y", "Y_h"), lbr=1),           # non-zero initial_h input
    dict(lens=True, init_h=True, T=5, outputs=("Y", "Y_h"), lbr=1),
], ids=["defaults", "initial_bias", "seq_length", "batchwise", "sequence_lens", "initial_h", "lens_and_initial_h"])
def test_onnx_conformance_form_weights_as_inputs(case, tmp_path):
    need("onnx")
    path, feeds, values = _conformance_gru(tmp_path, **case)
    # ONNX Runtime refuses layout=1 ("Batchwise recurrent operations are not supported")
    diffs = _ort_vs_pygru(path, feeds, values, "onnxruntime" if not case.get("layout") else "onnx.reference")
    assert max(diffs.values()) <= 1e-5, diffs


def test_onnx_weights_as_inputs_need_values(tmp_path):
    need("onnx")
    path, _, values = _conformance_gru(tmp_path)
    with pytest.raises(UnsupportedModelError, match=r"3 inputs \['X', 'W', 'R'\].*values"):
        pygru.from_onnx(path)
    with pytest.raises(ValueError, match="values: expected names of graph inputs .* got 'Q'"):
        pygru.from_onnx(path, values={"Q": values["W"]})
    assert pygru.from_onnx(path, values=values).hidden_sizes == (5,)


def test_onnx_constant_initial_h_runs_through_import_graph(tmp_path):
    need("onnx")
    from onnx import numpy_helper

    def initial_h(proto):
        rng = np.random.default_rng(3)
        proto.graph.initializer.append(numpy_helper.from_array(
            rng.standard_normal((1, 2, 5)).astype(np.float32), "init_h"))
        gru = proto.graph.node[0]
        del gru.input[4:]
        gru.input.extend(["", "init_h"])
    path = mutated_onnx(tmp_path, initial_h)
    x = np.random.default_rng(4).standard_normal((2, 2, 4)).astype(np.float32)  # batch 2 either way
    import onnx

    name = onnx.load(path).graph.input[0].name
    diffs = _ort_vs_pygru(path, {name: x})
    assert max(diffs.values()) <= 1e-5, diffs


def test_onnx_keras2onnx_style_graph(tmp_path):
    """The form tf2onnx / keras2onnx write for Keras GRU(return_sequences=False)
    -> Dense(softmax): batch-major input Transposed to time-major, GRU with
    linear_before_reset=1 (Keras reset_after=True), Y_h Squeezed, MatMul + Add
    and Softmax; initial_h a zero ConstantOfShape-derived tensor."""
    need("onnx")
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(8)
    H, I, O = 6, 4, 3
    inits = [numpy_helper.from_array((0.3 * rng.standard_normal(s)).astype(np.float32), n) for n, s in
             [("W", (1, 3 * H, I)), ("R", (1, 3 * H, H)), ("B", (1, 6 * H)), ("dense_W", (H, O)), ("dense_b", (O,))]]
    inits.append(numpy_helper.from_array(np.array([0], np.int64), "axis0"))
    inits.append(numpy_helper.from_array(np.array([1, 1, H], np.int64), "zshape"))
    nodes = [helper.make_node("Transpose", ["input_1"], ["tm"], perm=[1, 0, 2]),
             helper.make_node("ConstantOfShape", ["zshape"], ["h_zero"]),
             helper.make_node("Expand", ["h_zero", "zshape"], ["h_init"]),
             helper.make_node("GRU", ["tm", "W", "R", "B", "", "h_init"], ["Y", "Y_h"], hidden_size=H,
                              linear_before_reset=1, name="gru"),
             helper.make_node("Squeeze", ["Y_h", "axis0"], ["last"]),
             helper.make_node("MatMul", ["last", "dense_W"], ["mm"]),
             helper.make_node("Add", ["mm", "dense_b"], ["logits"]),
             helper.make_node("Softmax", ["logits"], ["dense"], axis=-1)]
    graph = helper.make_graph(nodes, "keras", [helper.make_tensor_value_info("input_1", TensorProto.FLOAT, [1, 7, I])],
                              [helper.make_tensor_value_info("dense", TensorProto.FLOAT, [1, O])], initializer=inits)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    proto.ir_version = 8
    path = tmp_path / "keras.onnx"
    onnx.save(proto, str(path))
    diffs = _ort_vs_pygru(path, {"input_1": rng.standard_normal((1, 7, I)).astype(np.float32)})
    assert max(diffs.values()) <= 1e-5, diffs


@pytest.mark.parametrize("op,attrs,feature", [
    # reverse GRUs import (tests/test_layers.py, against ONNX Runtime); their Y_h outputs not yet
    ("GRU", {"direction": "reverse"}, "initial_h or Y_h graph outputs with a reverse or bidirectional GRU"),
    ("LSTM", {}, "LSTM node .*an LSTM layer .nearest supported form: a forward GRU layer"),
    ("Conv", {}, r"Conv node .*Conv1D.*nearest supported form"),
])
def test_onnx_refuses_other_recurrences_by_name(op, attrs, feature, tmp_path):
    need("onnx")
    path, feeds, values = _conformance_gru(tmp_path, outputs=("Y", "Y_h"))
    import onnx

    proto = onnx.load(str(path))
    node = proto.graph.node[0]
    if op != "GRU":
        node.op_type = op
    for key, value in attrs.items():
        node.attribute.append(onnx.helper.make_attribute(key, value))
    onnx.save(proto, str(path))
    with pytest.raises(UnsupportedModelError, match=feature):
        pygru.from_onnx(path, values=values)


@pytest.mark.parametrize("seq", [False, True])
def test_to_onnx_states_round_trip(seq, tmp_path):
    need("onnx")
    rng = np.random.default_rng(9)
    model = pygru.GRUModel(3, [4, 4], output_size=2, reset_after=[True, False], return_sequences=seq, seed=2)
    path = tmp_path / "s.onnx"
    model.to_onnx(path, states=True)
    X = rng.standard_normal((3, 5, 3)).astype(np.float32)
    h0 = rng.standard_normal((2, 3, 4)).astype(np.float32)
    feeds = {"input": X, "initial_h": h0}
    assert max(_ort_vs_pygru(path, feeds).values()) <= 1e-5
    need("onnxruntime")
    import onnxruntime as ort

    y, h_n = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, feeds)
    Y, hn = model.predict(X, initial_state=h0, return_state=True)
    assert np.abs(Y - y).max() <= 1e-5 and np.abs(hn - h_n).max() <= 1e-5
    with pytest.raises(ValueError, match=r"states: .* need one hidden size, got hidden sizes \[4, 3\]"):
        pygru.GRUModel(3, [4, 3]).to_onnx(tmp_path / "x.onnx", states=True)


@pytest.mark.parametrize("forgery", ["bad_axis", "doubling_chain"])
def test_onnx_weight_folding_refuses_forged_graphs(tmp_path, forgery):
    """A GRU weight computed from constants by nodes numpy cannot evaluate, or
    by a chain whose every node reads the one before twice (2^60 paths, sizes
    doubling), is refused as computed at run time: no numpy error, no
    exponential walk, no unbounded allocation."""
    need("onnx")
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    H, I = 4, 3
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal((1, 3 * H, I)).astype(np.float32), "W"),
             numpy_helper.from_array(rng.standard_normal((1, 3 * H, H)).astype(np.float32), "R0")]
    nodes = []
    if forgery == "bad_axis":
        nodes.append(helper.make_node("Concat", ["R0", "R0"], ["R"], axis=7))
    else:
        prev = "R0"
        for k in range(60):
            nodes.append(helper.make_node("Concat", [prev, prev], [f"c{k}"], axis=0))
            prev = f"c{k}"
        nodes.append(helper.make_node("Identity", [prev], ["R"]))
    nodes.append(helper.make_node("GRU", ["X", "W", "R"], ["Y", "Y_h"], hidden_size=H))
    graph = helper.make_graph(nodes, "forged", [helper.make_tensor_value_info("X", TensorProto.FLOAT, [5, 1, I])],
                              [helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, 1, H])], inits)
    path = tmp_path / "forged.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)]), str(path))
    with pytest.raises(ValueError, match="computed at run time"):
        pygru.from_onnx(path)
