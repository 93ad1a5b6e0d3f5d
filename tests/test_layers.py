"""Models as sequences of layers: Dense pre-nets and heads of several Dense
layers around the GRUs (issue 13). Checked against the float64 numpy
reference (tests/reference.py's layered_model, written from the math) on
random layer sequences, against PyTorch modules, and for the API around them
(streams, lengths, states, files, pickling, refusals)."""
import json
import pickle

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import pygru
import reference as ref
from conftest import require_module
from pygru import GRU, Dense
from pygru.config import CONFIG_KEYS, LAYERS_KEYS, ModelConfig

TOL = 1e-5
ACTS = [None, "relu", "sigmoid", "tanh", "softmax"]


def ref_layers(spec):
    return ref.reference_layers(spec)


def dense_st(max_units=24):
    return st.builds(Dense, st.integers(1, max_units), st.sampled_from(ACTS))


@st.composite
def layer_lists(draw):
    pre = draw(st.lists(dense_st(), max_size=3))
    grus = draw(st.lists(st.builds(GRU, st.integers(1, 20), st.booleans(), st.sampled_from(["tanh", "relu"]),
                                   st.sampled_from(["sigmoid", "hard_sigmoid", "hard_sigmoid_keras3"]),
                                   st.sampled_from(["forward", "forward", "reverse", "bidirectional"])),
                         min_size=1, max_size=3))
    head = draw(st.lists(dense_st(), max_size=4))
    return pre + grus + head


@settings(max_examples=60, deadline=None)
@given(layers=layer_lists(), seed=st.integers(0, 2**31 - 1), input_size=st.integers(1, 12),
       batch=st.integers(1, 6), steps=st.integers(1, 12), seq=st.booleans())
def test_random_layer_sequences_match_numpy_reference(layers, seed, input_size, batch, steps, seq):
    rng = np.random.default_rng(seed)
    model = pygru.GRUModel.from_layers(input_size, layers, seed=seed)
    X = rng.standard_normal((batch, steps, input_size)) * 1.5
    got = model.predict(X, return_sequences=seq)
    want = ref.layered_model(X, model.get_weights(), ref_layers(model.spec), seq)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=TOL, rtol=0)


def mlp_model(seed=0, seq=False):
    return pygru.GRUModel.from_layers(5, [Dense(12, "tanh"), Dense(7, "relu"), GRU(9), GRU(6, reset_after=False),
                                          Dense(10, "relu"), Dense(8, "sigmoid"), Dense(4, "softmax")],
                                      return_sequences=seq, seed=seed)


def test_stream_and_every_batch_lane_give_the_same_bits():
    """gru_sequence runs 4 lanes in lock step, then the rest one by one; the
    stream runs one: all give the same bits, also through the dense buffers."""
    model = mlp_model(1)
    X = np.random.default_rng(2).standard_normal((7, 11, 5)).astype(np.float32)
    Y = model.predict(X, return_sequences=True)
    for b in range(7):
        s = model.stream()
        got = np.stack([s.step(x) for x in X[b]])
        assert np.array_equal(got.view(np.uint32), Y[b].view(np.uint32))
        one = model.predict(X[b], return_sequences=True)
        assert np.array_equal(one.view(np.uint32), Y[b].view(np.uint32))
    assert np.array_equal(model.predict(X), Y[:, -1])


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_activations_stream_and_lanes_same_bits(reset_after):
    model = pygru.GRUModel.from_layers(4, [GRU(9, reset_after, "relu", "hard_sigmoid"),
                                           GRU(6, reset_after, "tanh", "hard_sigmoid_keras3"),
                                           GRU(5, reset_after, "relu", "sigmoid")], seed=3)
    X = (3 * np.random.default_rng(6).standard_normal((7, 10, 4))).astype(np.float32)
    Y = model.predict(X, return_sequences=True)
    for b in range(7):
        s = model.stream()
        got = np.stack([s.step(x) for x in X[b]])
        assert np.array_equal(got.view(np.uint32), Y[b].view(np.uint32))
    want = ref.layered_model(X, model.get_weights(), ref_layers(model.spec), True)
    np.testing.assert_allclose(Y, want, atol=TOL, rtol=0)
    with pytest.raises(ValueError, match=r"GRU layer 0 with activation='relu', recurrent_activation='hard_sigmoid'"):
        model.fit(X, Y[:, -1], epochs=1, progress=False)
    with pytest.raises(ValueError, match="quantization .* GRU layer 0"):
        pygru.quantize(model, X)


def test_hard_sigmoids_are_the_frameworks_formulas():
    """One unit whose r, z pre-activations are exactly x: z = hard_sigmoid(x)
    with W_hh = 0, b = 0, so h' = z * h0 + (1 - z) * n where n = act(0) = 0."""
    x = np.array([-3.0, -2.5, -1.0, 0.0, 0.7, 2.5, 3.0, 5.0], np.float32)
    for rec, want in (("hard_sigmoid", np.clip(0.2 * x + 0.5, 0, 1)),
                      ("hard_sigmoid_keras3", np.clip((x + 3) / 6, 0, 1))):
        model = pygru.GRUModel.from_layers(1, [GRU(1, recurrent_activation=rec)])
        w = {k: np.zeros_like(v) for k, v in model.get_weights().items()}
        w["weight_ih_l0"][:] = [[1.0], [1.0], [0.0]]
        model.set_weights(w)
        h0 = np.ones((1, len(x), 1), np.float32)
        _, h = model.predict(x.reshape(-1, 1, 1), initial_state=h0, return_state=True)
        np.testing.assert_allclose(h[0, :, 0], want, atol=1e-7, rtol=0)


def test_lengths_states_and_final_states_match_reference():
    model = mlp_model(3, seq=True)
    rng = np.random.default_rng(4)
    X = rng.standard_normal((5, 8, 5)).astype(np.float32)
    lengths = [8, 3, 1, 6, 8]
    h0 = [rng.standard_normal((5, 9)).astype(np.float32), rng.standard_normal((5, 6)).astype(np.float32)]
    Y, hn = model.predict(X, lengths=lengths, initial_state=h0, return_state=True)
    Y2 = model.predict(X, lengths=lengths, initial_state=h0)
    assert np.array_equal(Y, Y2)
    w, layers = model.get_weights(), ref_layers(model.spec)
    for b, L in enumerate(lengths):
        want = ref.layered_model(X[b:b + 1, :L], w, layers, True, [h[b:b + 1] for h in h0])[0]
        np.testing.assert_allclose(Y[b, :L], want, atol=TOL, rtol=0)
        np.testing.assert_allclose(Y[b, L:], np.broadcast_to(want[-1], Y[b, L:].shape), atol=TOL, rtol=0)
        # the final states: the GRU layers' h after each sequence's last valid step
        pre = np.asarray(X[b:b + 1, :L], np.float64)
        for k, act in enumerate(("tanh", "relu")):
            pre = ref.activate(pre @ w[f"pre.{k}.weight"].T.astype(np.float64) + w[f"pre.{k}.bias"], act)
        h1 = ref.gru_layer(pre, w["weight_ih_l0"], w["weight_hh_l0"], w["bias_ih_l0"], w["bias_hh_l0"], True,
                           h0[0][b:b + 1])
        h2 = ref.gru_layer(h1, w["weight_ih_l1"], w["weight_hh_l1"], w["bias_ih_l1"], w["bias_hh_l1"], False,
                           h0[1][b:b + 1])
        np.testing.assert_allclose(hn[0][b], h1[0, -1], atol=TOL, rtol=0)
        np.testing.assert_allclose(hn[1][b], h2[0, -1], atol=TOL, rtol=0)
    last = model.predict(X, lengths=lengths, initial_state=h0, return_sequences=False)
    np.testing.assert_array_equal(last, Y[np.arange(5), np.array(lengths) - 1])


def test_weight_names_and_initialisation():
    model = mlp_model(0)
    shapes = model.weight_shapes()
    assert shapes["pre.0.weight"] == (12, 5) and shapes["pre.1.weight"] == (7, 12)
    assert shapes["weight_ih_l0"] == (27, 7) and shapes["weight_ih_l1"] == (18, 9)
    assert shapes["head.0.weight"] == (10, 6) and shapes["head.2.weight"] == (4, 8)
    w = model.get_weights()
    # PyTorch's Linear initialisation bound 1/sqrt(fan_in)
    assert np.abs(w["pre.1.weight"]).max() <= 1 / np.sqrt(12) and np.abs(w["head.1.bias"]).max() <= 1 / np.sqrt(10)
    one = pygru.GRUModel.from_layers(3, [GRU(4), Dense(2, "relu")])
    assert set(one.weight_shapes()) >= {"head.weight", "head.bias"}


def test_short_form_is_the_same_config_and_keeps_its_file_format(tmp_path):
    short = pygru.GRUModel(4, [6, 5], 3, output_activation="softmax", seed=1)
    layered = pygru.GRUModel.from_layers(4, [GRU(6), GRU(5), Dense(3, "softmax")], seed=1)
    assert short.spec == layered.spec and short.spec.plain
    assert set(short.config()) == set(CONFIG_KEYS)
    for a, b in zip(short.get_weights().values(), layered.get_weights().values()):
        np.testing.assert_array_equal(a, b)
    # a file as pygru 0.2 wrote it (the same keys, names and layout) loads
    path = tmp_path / "old.npz"
    np.savez(path, __format_version__=np.array(1, np.int64), __config__=np.array(json.dumps(
        {"input_size": 4, "hidden_sizes": [6, 5], "output_size": 3, "reset_after": [True, True],
         "output_activation": "softmax", "return_sequences": False})), **short.get_weights())
    back = pygru.load(path)
    X = np.random.default_rng(0).standard_normal((2, 3, 4))
    np.testing.assert_array_equal(back.predict(X), short.predict(X))


def test_save_load_and_pickle_round_trip(tmp_path):
    model = mlp_model(5, seq=True)
    assert set(model.config()) == set(LAYERS_KEYS)
    model.save(tmp_path / "m.npz")
    back = pygru.load(tmp_path / "m.npz")
    assert back.spec == model.spec and repr(back) == repr(model)
    X = np.random.default_rng(1).standard_normal((3, 4, 5)).astype(np.float32)
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.predict(X), model.predict(X))
    assert ModelConfig.from_dict(json.loads(json.dumps(model.config()))) == model.spec


def gru_entry(**changes):
    return dict({"kind": "gru", "hidden_size": 2, "reset_after": True, "activation": "tanh",
                 "recurrent_activation": "sigmoid", "direction": "forward"}, **changes)


@pytest.mark.parametrize("config, match", [
    ({"input_size": 3, "layers": [{"kind": "lstm", "units": 3}], "return_sequences": False}, r"layers\[0\]"),
    ({"input_size": 3, "layers": [gru_entry(hidden_size=0)],
      "return_sequences": False}, r"layers\[0\]\.hidden_size"),
    ({"input_size": 3, "layers": [{"kind": "dense", "units": 2, "activation": "gelu"},
                                  gru_entry()],
      "return_sequences": False}, r"layers\[0\]\.activation"),
    ({"input_size": 3, "layers": [gru_entry(reset_after=1)],
      "return_sequences": False}, r"reset_after: expected a boolean"),
    ({"input_size": 3, "layers": [gru_entry()],
      "return_sequences": "yes"}, r"return_sequences: expected a boolean"),
    ({"input_size": 3, "layers": "gru", "return_sequences": False}, r"layers: expected a list"),
    ({"input_size": 3, "layers": [gru_entry(activation="elu")], "return_sequences": False},
     r"layers\[0\]\.activation: expected one of \('tanh', 'relu'\)"),
    ({"input_size": 3, "layers": [gru_entry(recurrent_activation="hard")], "return_sequences": False},
     r"layers\[0\]\.recurrent_activation: expected one of"),
])
def test_forged_layer_configs_are_refused(config, match, tmp_path):
    model = mlp_model(0)
    path = tmp_path / "forged.npz"
    np.savez(path, __format_version__=np.array(1, np.int64), __config__=np.array(json.dumps(config)),
             **model.get_weights())
    with pytest.raises(ValueError, match=match):
        pygru.load(path)


def test_training_and_quantization_refuse_the_new_layers():
    model = mlp_model(0)
    X = np.zeros((2, 3, 5), np.float32)
    with pytest.raises(ValueError, match=r"training \(fit\) is not supported yet for a Dense pre-net"):
        model.fit(X, np.zeros((2, 4), np.float32), epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"evaluate .* is not supported yet"):
        model.evaluate(X, np.zeros((2, 4), np.float32))
    with pytest.raises(ValueError, match=r"quantization \(pygru.quantize\) is not supported yet"):
        pygru.quantize(model, X)
    relu = pygru.GRUModel(5, [4], 3, output_activation="relu")
    with pytest.raises(ValueError, match="a relu Dense head"):
        relu.fit(X, np.zeros((2, 3), np.float32), epochs=1, progress=False)
    deep = pygru.GRUModel.from_layers(5, [GRU(4), Dense(3), Dense(2)])
    with pytest.raises(ValueError, match="a head of 2 Dense layers"):
        pygru.quantize(deep, X, mode="integer")
    with pytest.raises(ValueError, match="QuantizedGRUModel is not supported yet"):
        pygru.QuantizedGRUModel("int8", deep.spec, {}, 1.0)


def test_relu_gives_positive_zero_for_negative_zero_and_is_exact():
    """Dense(relu) on exact inputs: a 1x1 identity layer passes x through
    relu; -0.0 becomes +0.0 (the same bits on every target)."""
    model = pygru.GRUModel.from_layers(1, [Dense(1, "relu"), GRU(1)], seed=0)
    w = model.get_weights()
    w["pre.0.weight"][:] = 1.0
    w["pre.0.bias"][:] = 0.0
    model.set_weights(w)
    native = model._native_model()
    assert native.input_size == 1
    x = np.array([[[-0.0], [-3.0], [2.5]]], np.float32)
    # the GRU's output on relu(x) equals the GRU's output on max(x, 0) computed here
    plain = pygru.GRUModel(1, [1])
    plain.set_weights({k: v for k, v in w.items() if not k.startswith("pre.")})
    got = model.predict(x, return_sequences=True)
    want = plain.predict(np.array([[[0.0], [0.0], [2.5]]], np.float32), return_sequences=True)
    assert np.array_equal(got.view(np.uint32), want.view(np.uint32))


def test_layer_sequence_errors_name_the_layer():
    with pytest.raises(ValueError, match=r"^layers\[1\]\.units: expected a positive integer"):
        pygru.GRUModel.from_layers(3, [Dense(2), Dense(0), GRU(3)])
    with pytest.raises(ValueError, match=r"at most 4 Dense layers before the GRU layers and 5 after"):
        pygru.GRUModel.from_layers(3, [GRU(3)] + [Dense(2)] * 6)
    with pytest.raises(ValueError, match="a skip or a GRU between Dense layers is not supported"):
        pygru.GRUModel.from_layers(3, [GRU(3), Dense(2), GRU(3)])
    assert pygru.GRUModel.from_layers(3, [GRU(3), Dense(2, "linear")]).output_activation is None


# ---------------------------------------------------------------------- PyTorch


def torch_modules(torch, seed=0):
    torch.manual_seed(seed)
    return [torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Dropout(0.3), torch.nn.Linear(8, 6),
            torch.nn.ReLU(), torch.nn.GRU(6, 7, num_layers=2, batch_first=True),
            torch.nn.GRU(7, 4, batch_first=True), torch.nn.Linear(4, 9), torch.nn.Sigmoid(),
            torch.nn.Linear(9, 3), torch.nn.Softmax(dim=-1)]


def torch_forward(torch, mods, x, seq):
    """The modules' meaning, written out: per-step pre-net, GRUs, head on the
    last step (or every step)."""
    for m in mods:
        m.eval()
    with torch.no_grad():
        grus = [i for i, m in enumerate(mods) if isinstance(m, torch.nn.GRU)]
        h = x
        for m in mods[:grus[0]]:
            h = m(h)
        for i in grus:
            h, _ = mods[i](h)
        if not seq:
            h = h[:, -1]
        for m in mods[grus[-1] + 1:]:
            h = m(h)
    return h.numpy()


@pytest.mark.parametrize("seq", [False, True])
def test_from_torch_module_list_matches_torch(seq):
    torch = require_module("torch")
    mods = torch_modules(torch)
    model = pygru.from_torch(mods, return_sequences=seq)
    assert [type(l).__name__ for l in model.spec.layers] == ["Dense", "Dense", "GRU", "GRU", "GRU", "Dense", "Dense"]
    x = torch.randn(4, 9, 5)
    want = torch_forward(torch, mods, x, seq)
    np.testing.assert_allclose(model.predict(x.numpy()), want, atol=TOL, rtol=0)
    # nn.Sequential / nn.ModuleList hold the same list
    again = pygru.from_torch(torch.nn.ModuleList(mods), return_sequences=seq)
    np.testing.assert_array_equal(again.predict(x.numpy()), model.predict(x.numpy()))
    # and to_torch computes the same model
    back = model.to_torch()
    with torch.no_grad():
        np.testing.assert_allclose(back(x).numpy(), model.predict(x.numpy()), atol=TOL, rtol=0)


def test_from_torch_module_list_refusals():
    torch = require_module("torch")
    with pytest.raises(ValueError, match=r"obj\[1\]: LSTM is not supported \(the nearest supported form"):
        pygru.from_torch([torch.nn.Linear(3, 4), torch.nn.LSTM(4, 4)])
    with pytest.raises(ValueError, match=r"obj\[0\]: ReLU is only supported right after an nn.Linear"):
        pygru.from_torch([torch.nn.ReLU(), torch.nn.GRU(3, 4)])
    with pytest.raises(ValueError, match=r"Softmax\(dim=1\) is not supported"):
        pygru.from_torch([torch.nn.GRU(3, 4), torch.nn.Linear(4, 2), torch.nn.Softmax(dim=1)])
    with pytest.raises(ValueError, match="a GRU after the Linear head"):
        pygru.from_torch([torch.nn.GRU(3, 4), torch.nn.Linear(4, 2), torch.nn.GRU(2, 2)])
    with pytest.raises(ValueError, match=r"head, output_activation: expected None"):
        pygru.from_torch([torch.nn.GRU(3, 4)], head=torch.nn.Linear(4, 2))
    with pytest.raises(ValueError, match="expected shape"):
        pygru.from_torch([torch.nn.Linear(3, 5), torch.nn.GRU(4, 4)])


# ---------------------------------------------------------------------- reverse and bidirectional


def bidir_model(seq=False, seed=0):
    return pygru.GRUModel.from_layers(4, [Dense(6, "tanh"), GRU(5, direction="bidirectional"),
                                          GRU(3, reset_after=False, direction="reverse"), Dense(2)],
                                      return_sequences=seq, seed=seed)


def test_bidirectional_initial_state_matches_torch_h0():
    torch = require_module("torch")
    torch.manual_seed(1)
    gru = torch.nn.GRU(3, 4, num_layers=2, batch_first=True, bidirectional=True)
    x, h0 = torch.randn(3, 6, 3), torch.randn(4, 3, 4)
    with torch.no_grad():
        out, _ = gru(x, h0)
    model = pygru.from_torch(gru, return_sequences=True)
    assert model.spec.state_sizes == (4, 4, 4, 4)
    got = model.predict(x.numpy(), initial_state=h0.numpy())
    np.testing.assert_allclose(got, out.numpy(), atol=TOL, rtol=0)


def test_reverse_models_refuse_streaming_and_final_states_but_predict_the_rest(tmp_path):
    model = bidir_model(seq=True)
    with pytest.raises(ValueError, match=r"stream: GRU layer 0 is bidirectional: it reads each sequence from its end"):
        model.stream()
    X = np.random.default_rng(2).standard_normal((3, 5, 4)).astype(np.float32)
    with pytest.raises(ValueError, match="return_state: not supported yet for a model with a reverse"):
        model.predict(X, return_state=True)
    with pytest.raises(ValueError, match="direction='bidirectional'"):
        model.fit(X, np.zeros((3, 5, 2), np.float32), epochs=1, progress=False)
    lengths = [5, 2, 4]
    Y = model.predict(X, lengths=lengths)
    w, layers = model.get_weights(), ref_layers(model.spec)
    for b, L in enumerate(lengths):      # each sequence's reverse pass starts at its own last valid step
        want = ref.layered_model(X[b:b + 1, :L], w, layers, True)[0]
        np.testing.assert_allclose(Y[b, :L], want, atol=TOL, rtol=0)
        np.testing.assert_array_equal(Y[b, L:], np.broadcast_to(Y[b, L - 1], Y[b, L:].shape))
    model.save(tmp_path / "b.npz")
    back = pygru.load(tmp_path / "b.npz")
    assert back.spec == model.spec and "weight_ih_l0_reverse" in back.get_weights()
    np.testing.assert_array_equal(back.predict(X), model.predict(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(model)).predict(X), model.predict(X))


def test_last_step_of_a_bidirectional_model_is_both_final_states():
    """Without return_sequences the head reads [forward h at the last step,
    reverse h after reading the first] (Keras), not the sequence's last row."""
    model = pygru.GRUModel.from_layers(3, [GRU(4, direction="bidirectional")], seed=5)
    X = np.random.default_rng(3).standard_normal((2, 6, 3)).astype(np.float32)
    seq = model.predict(X, return_sequences=True)
    last = model.predict(X)
    np.testing.assert_array_equal(last[:, :4], seq[:, -1, :4])
    np.testing.assert_array_equal(last[:, 4:], seq[:, 0, 4:])


# ---------------------------------------------------------------------- ONNX


def onnx_model(seq):
    return pygru.GRUModel.from_layers(4, [Dense(6, "tanh"), GRU(5, direction="bidirectional"),
                                          GRU(3, False, "relu", "hard_sigmoid", "reverse"),
                                          GRU(4, recurrent_activation="hard_sigmoid_keras3"), Dense(7, "relu"),
                                          Dense(2, "softmax")], return_sequences=seq, seed=3)


@pytest.mark.parametrize("seq", [False, True])
def test_to_onnx_runs_in_onnxruntime_and_imports_back(seq, tmp_path):
    """Dense pre-net, bidirectional / reverse GRU nodes with activations
    attributes (Relu, HardSigmoid alpha 0.2 and 1/6), MLP head."""
    ort = require_module("onnxruntime")
    require_module("onnx")
    model = onnx_model(seq)
    model.to_onnx(tmp_path / "m.onnx")
    X = np.random.default_rng(0).standard_normal((3, 6, 4)).astype(np.float32) * 2
    got = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, {"input": X})[0]
    np.testing.assert_allclose(got, model.predict(X), atol=TOL, rtol=0)
    back = pygru.from_onnx(tmp_path / "m.onnx")
    assert back.spec == model.spec
    for name, value in model.get_weights().items():
        np.testing.assert_array_equal(back.get_weights()[name], value)


class _TorchNet:
    """Linear -> ReLU -> 2-layer bidirectional GRU -> Linear -> Tanh -> Linear -> Softmax,
    per step (or torch's out[:, -1] with last=True)."""

    @staticmethod
    def make(torch, last):
        class Net(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.pre = torch.nn.Linear(4, 6)
                self.gru = torch.nn.GRU(6, 5, num_layers=2, batch_first=True, bidirectional=True)
                self.h1, self.h2 = torch.nn.Linear(10, 7), torch.nn.Linear(7, 3)

            def forward(self, x):
                y, _ = self.gru(torch.relu(self.pre(x)))
                y = y[:, -1] if last else y
                return torch.softmax(self.h2(torch.tanh(self.h1(y))), -1)
        torch.manual_seed(0)
        return Net().eval()


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
def test_from_onnx_of_both_torch_exporters_with_dense_layers_and_bidirectional_gru(dynamo, tmp_path):
    torch = require_module("torch")
    require_module("onnx")
    if dynamo:
        require_module("onnxscript")
    import warnings
    x = torch.randn(2, 7, 4)
    for last in (False, True):
        net = _TorchNet.make(torch, last)
        path = tmp_path / f"n{int(last)}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net, (x,), str(path), dynamo=dynamo, input_names=["x"], output_names=["y"],
                              dynamic_axes=None if dynamo else {"x": {0: "b", 1: "t"}})
        if last:   # PyTorch's out[:, -1] of a bidirectional GRU is not pygru's last step: refused, saying so
            with pytest.raises(ValueError, match=r"out\[:, -1\]: its reverse half has read one step"):
                pygru.from_onnx(path)
            continue
        model = pygru.from_onnx(path)
        assert [type(l).__name__ for l in model.spec.layers] == ["Dense", "GRU", "GRU", "Dense", "Dense"]
        with torch.no_grad():
            np.testing.assert_allclose(model.predict(x.numpy()), net(x).numpy(), atol=TOL, rtol=0)


@pytest.mark.parametrize("dynamo", [False, True], ids=["legacy", "dynamo"])
def test_from_onnx_of_a_bidirectional_classifier_on_h_n_halves(dynamo, tmp_path):
    """torch's bidirectional classifier head on cat(h_n[-2], h_n[-1]) is pygru's
    last step ([forward final state, reverse final state]); the halves in the
    other order are refused, not read as that."""
    torch = require_module("torch")
    require_module("onnx")
    if dynamo:
        require_module("onnxscript")
    import warnings

    class Net(torch.nn.Module):
        def __init__(self, order):
            super().__init__()
            self.order = order
            self.gru, self.fc = torch.nn.GRU(4, 6, batch_first=True, bidirectional=True), torch.nn.Linear(12, 3)

        def forward(self, x):
            h = self.gru(x)[1]
            return torch.softmax(self.fc(torch.cat([h[i] for i in self.order], -1)), -1)
    torch.manual_seed(1)
    x = torch.randn(2, 7, 4)
    for order in ((-2, -1), (-1, -2)):
        net = Net(order).eval()
        path = tmp_path / f"c{order[0]}.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(net, (x,), str(path), dynamo=dynamo, input_names=["x"], output_names=["y"])
        if order == (-1, -2):
            with pytest.raises(ValueError, match=r"used by 2 nodes \['Gather', 'Gather'\]"):
                pygru.from_onnx(path)
            continue
        with torch.no_grad():
            np.testing.assert_allclose(pygru.from_onnx(path).predict(x.numpy()), net(x).numpy(), atol=TOL, rtol=0)
