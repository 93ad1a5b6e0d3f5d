"""Regenerate tests/golden/interop/: small GRU models saved by PyTorch, Keras 3
and ONNX tools, with an input batch and each framework's own output, so that
tests/test_interop.py can check pygru's importers where the framework is not
installed (and live, by running this script into a temporary folder, where it is).

    KERAS_BACKEND=torch python tools/gen_golden_interop.py [--out DIR] [--only torch,keras,onnx]

Needs torch, keras (run on the torch backend), safetensors, onnx and
onnxruntime. Never imports pygru: the expected outputs come from the frameworks
alone. Every model has odd sizes and random (non-zero) biases so that a gate or
bias mix-up cannot go unnoticed. cases.json lists, per case: the model file, the
keyword arguments for the pygru importer, the io file (x, y) and whether the
framework's tensors are time-major.
"""
import argparse
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(os.path.dirname(HERE), "tests", "golden", "interop")
SEED = 1234


def _rng(name):
    return np.random.default_rng([SEED, sum(map(ord, name))])


def _input(name, batch, steps, features):
    return _rng(name + "/x").standard_normal((batch, steps, features)).astype(np.float32)


class Writer:
    def __init__(self, out):
        self.out = out
        self.cases = []

    def case(self, name, framework, file, x, y, kwargs=None, time_major=False, expect_error=None):
        io = f"{name}.npz"
        np.savez(os.path.join(self.out, io), x=x, y=np.asarray(y, np.float32))
        self.cases.append({"name": name, "framework": framework, "file": file, "io": io,
                           "kwargs": kwargs or {}, "time_major": time_major})

    def error_case(self, name, framework, file, feature):
        self.cases.append({"name": name, "framework": framework, "file": file, "error": feature})

    def path(self, file):
        return os.path.join(self.out, file)


# ---------------------------------------------------------------------- PyTorch


def gen_torch(w):
    import torch
    from safetensors.torch import save_file

    class Net(torch.nn.Module):
        def __init__(self, I, H, L, O, batch_first, bias=True):
            super().__init__()
            self.gru = torch.nn.GRU(I, H, L, batch_first=batch_first, bias=bias, dropout=0.25 if L > 1 else 0)
            self.fc = torch.nn.Linear(H, O) if O else None

    torch.manual_seed(SEED)
    # 2 layers, batch_first, Linear head + softmax: as .pt and as .safetensors
    net = Net(3, 5, 2, 3, batch_first=True).eval()
    x = _input("torch_2l", 4, 7, 3)
    with torch.no_grad():
        y = torch.softmax(net.fc(net.gru(torch.from_numpy(x))[0][:, -1]), -1).numpy()
    torch.save(net.state_dict(), w.path("torch_2l.pt"))
    save_file(net.state_dict(), w.path("torch_2l.safetensors"))
    kw = {"head": "fc", "output_activation": "softmax"}
    w.case("torch_2l_pt", "torch", "torch_2l.pt", x, y, kw)
    w.case("torch_2l_safetensors", "torch", "torch_2l.safetensors", x, y, kw)
    # time-major GRU without biases, every step returned, no head
    net = Net(4, 7, 2, 0, batch_first=False, bias=False).eval()
    x = _input("torch_seq", 3, 6, 4)
    with torch.no_grad():
        y = net.gru(torch.from_numpy(x.transpose(1, 0, 2).copy()))[0].numpy().transpose(1, 0, 2)
    save_file({k: v.contiguous() for k, v in net.gru.state_dict().items()}, w.path("torch_seq_nobias.safetensors"))
    w.case("torch_seq_nobias", "torch", "torch_seq_nobias.safetensors", x, y, {"return_sequences": True})


# ---------------------------------------------------------------------- Keras


def _randomize(model, name):
    """Random values for every weight (Keras initialises biases to zero)."""
    rng = _rng(name + "/w")
    model.set_weights([rng.uniform(-0.6, 0.6, v.shape).astype(np.float32) for v in model.get_weights()])


def gen_keras(w):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras
    from keras import layers

    def save(model, name, files, x):
        _randomize(model, name)
        y = np.asarray(model.predict(x, verbose=0))
        for file in files.split():
            model.save(w.path(file))
            w.case(f"{name}_{file.rsplit('.', 1)[1]}", "keras", file, x, y)

    x = _input("keras", 3, 6, 4)
    save(keras.Sequential([keras.Input((None, 4)),
                           layers.GRU(5, reset_after=True, return_sequences=True),
                           layers.GRU(3, reset_after=True),
                           layers.Dense(2, activation="softmax")]),
         "keras_after", "keras_after.keras", x)
    save(keras.Sequential([keras.Input((None, 4)),
                           layers.GRU(5, reset_after=False, return_sequences=True),
                           layers.Dropout(0.5),
                           layers.GRU(3, reset_after=False, dropout=0.3),
                           layers.Dense(2, activation="sigmoid")]),
         "keras_before", "keras_before.keras", x)
    # legacy HDF5 (Keras 3 still writes it with model.save("x.h5")), mixed variants, sequences
    save(keras.Sequential([keras.Input((None, 4)),
                           layers.GRU(5, reset_after=False, return_sequences=True),
                           layers.GRU(3, reset_after=True, return_sequences=True),
                           layers.Dense(2, activation="tanh")]),
         "keras_mixed_seq", "keras_mixed_seq.h5", x)
    inp = keras.Input((None, 4))
    out = layers.Activation("sigmoid")(layers.Dense(3)(layers.GRU(5, use_bias=False)(inp)))
    save(keras.Model(inp, out), "keras_functional", "keras_functional.keras keras_functional.h5", x)
    # Dense layers around the GRUs: the kws_streaming head (GRU -> Dense -> Dense(relu) -> Dense),
    # an RNNoise-style pre-net with a per-step head, a Functional chain with Activation layers
    save(keras.Sequential([keras.Input((None, 4)), layers.GRU(6), layers.Dense(8),
                           layers.Dense(7, activation="relu"), layers.Dense(3, activation="softmax")]),
         "keras_mlp_head", "keras_mlp_head.keras keras_mlp_head.h5", x)
    save(keras.Sequential([keras.Input((None, 4)), layers.Dense(6, activation="tanh"),
                           layers.GRU(5, return_sequences=True),
                           layers.TimeDistributed(layers.Dense(3, activation="sigmoid"))]),
         "keras_prenet_seq", "keras_prenet_seq.keras", x)
    inp = keras.Input((None, 4))
    hid = layers.Dropout(0.2)(layers.Activation("relu")(layers.Dense(5)(inp)))
    out = layers.Activation("softmax")(layers.Dense(2)(layers.GRU(4, reset_after=False)(hid)))
    save(keras.Model(inp, out), "keras_functional_mlp", "keras_functional_mlp.keras", x)
    # GRU options: hard_sigmoid (Keras 3's relu6(x + 3) / 6 in a Keras 3 file), relu candidates (RNNoise)
    save(keras.Sequential([keras.Input((None, 4)), layers.GRU(3, recurrent_activation="hard_sigmoid")]),
         "keras_hard_sigmoid", "keras_hard_sigmoid.keras keras_hard_sigmoid.h5", x)
    save(keras.Sequential([keras.Input((None, 4)), layers.Dense(6, activation="tanh"),
                           layers.GRU(5, activation="relu", return_sequences=True),
                           layers.GRU(4, activation="relu", recurrent_activation="hard_sigmoid",
                                      reset_after=False),
                           layers.Dense(2, activation="sigmoid")]),
         "keras_rnnoise", "keras_rnnoise.keras", x)
    # reverse and bidirectional layers: a bidirectional GRU classifier, go_backwards
    save(keras.Sequential([keras.Input((None, 4)), layers.Dense(6, activation="relu"),
                           layers.Bidirectional(layers.GRU(5, return_sequences=True)),
                           layers.Bidirectional(layers.GRU(4, reset_after=False)),
                           layers.Dense(3, activation="softmax")]),
         "keras_bidir_classifier", "keras_bidir_classifier.keras keras_bidir_classifier.h5", x)
    save(keras.Sequential([keras.Input((None, 4)), layers.Bidirectional(layers.GRU(3))]),
         "keras_bidirectional", "keras_bidirectional.h5", x)
    save(keras.Sequential([keras.Input((None, 4)), layers.GRU(4, go_backwards=True), layers.Dense(2)]),
         "keras_go_backwards", "keras_go_backwards.keras", x)
    # files pygru must refuse
    m = keras.Sequential([keras.Input((None, 4)), layers.Bidirectional(layers.GRU(3), merge_mode="sum")])
    m.save(w.path("keras_bidirectional_sum.keras"))
    w.error_case("keras_bidirectional_sum", "keras", "keras_bidirectional_sum.keras", "merge_mode='sum'")


# ---------------------------------------------------------------------- ONNX


def _ort(path, x):
    import onnxruntime as ort

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    return sess.run(None, {sess.get_inputs()[0].name: x})[0]


def gen_onnx(w):
    import torch
    from onnx import helper, numpy_helper

    # 1. what torch.onnx.export writes (Transpose, ConstantOfShape initial state,
    #    Squeeze, Gather of the last step, Gemm, Sigmoid), linear_before_reset=1
    class Net(torch.nn.Module):
        """GRU(I, H, L) + Linear(H, O); `read(fc, (output, h_n))` is what it exports."""

        def __init__(self, I, H, L, O, read, batch_first=True):
            super().__init__()
            self.gru = torch.nn.GRU(I, H, L, batch_first=batch_first)
            self.fc = torch.nn.Linear(H, O)
            self.read = read

        def forward(self, x):
            return self.read(self.fc, self.gru(x))

    torch.manual_seed(SEED + 1)
    last = Net(3, 5, 2, 2, lambda fc, r: torch.sigmoid(fc(r[0][:, -1])))
    seq = Net(4, 7, 1, 3, lambda fc, r: fc(r[0]))
    # the final state h_n of the top layer (a Concat of Y_h, Gather), time-major
    state = Net(3, 4, 3, 2, lambda fc, r: torch.tanh(fc(r[1][-1])), batch_first=False)
    for name, net, x, tm in (("onnx_torch_last", last, _input("onnx_torch_last", 2, 6, 3), False),
                             ("onnx_torch_seq", seq, _input("onnx_torch_seq", 2, 5, 4), False),
                             ("onnx_torch_state", state, _input("onnx_torch_state", 4, 3, 3), True)):
        feed = x.transpose(1, 0, 2).copy() if tm else x
        torch.onnx.export(net.eval(), (torch.from_numpy(feed),), w.path(name + ".onnx"), dynamo=False,
                          opset_version=14, input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": {int(tm): "batch", int(not tm): "time"}})
        w.case(name, "onnx", name + ".onnx", x, _ort(w.path(name + ".onnx"), feed), time_major=tm)

    # 2. hand-built, linear_before_reset=0 (the ONNX default; PyTorch never
    #    writes it), time-major input straight into GRU, Y_h, Gemm + Softmax
    rng = _rng("onnx_lbr0")
    I, H1, H2, O = 4, 5, 3, 3
    u = lambda *s: rng.uniform(-0.6, 0.6, s).astype(np.float32)  # noqa: E731
    inits = [numpy_helper.from_array(a, n) for n, a in (
        ("W0", u(1, 3 * H1, I)), ("R0", u(1, 3 * H1, H1)), ("B0", u(1, 6 * H1)),
        ("W1", u(1, 3 * H2, H1)), ("R1", u(1, 3 * H2, H2)), ("B1", u(1, 6 * H2)),
        ("fcW", u(O, H2)), ("fcb", u(O)), ("ax1", np.array([1], np.int64)), ("ax0", np.array([0], np.int64)))]
    nodes = [helper.make_node("GRU", ["x", "W0", "R0", "B0"], ["Y0"], hidden_size=H1, linear_before_reset=0),
             helper.make_node("Squeeze", ["Y0", "ax1"], ["h0"]),
             helper.make_node("GRU", ["h0", "W1", "R1", "B1"], ["", "Yh1"], hidden_size=H2),
             helper.make_node("Squeeze", ["Yh1", "ax0"], ["h1"]),
             helper.make_node("Gemm", ["h1", "fcW", "fcb"], ["logits"], transB=1),
             helper.make_node("Softmax", ["logits"], ["y"], axis=-1)]
    _save_graph(w, "onnx_lbr0", nodes, inits, ["time", "batch", I], ["batch", O])
    x = _input("onnx_lbr0", 3, 6, I)
    w.case("onnx_lbr0", "onnx", "onnx_lbr0.onnx", x, _ort(w.path("onnx_lbr0.onnx"), x.transpose(1, 0, 2).copy()),
           time_major=True)

    # 3. hand-built, batch-first via Transpose, linear_before_reset=1 and 0,
    #    no B input (zero biases), every step, MatMul + Add + Tanh
    rng = _rng("onnx_seq_matmul")
    I, H1, H2, O = 3, 6, 5, 2
    inits = [numpy_helper.from_array(a, n) for n, a in (
        ("W0", u(1, 3 * H1, I)), ("R0", u(1, 3 * H1, H1)),
        ("W1", u(1, 3 * H2, H1)), ("R1", u(1, 3 * H2, H2)), ("B1", u(1, 6 * H2)),
        ("fcWT", u(H2, O)), ("fcb", u(O)), ("ax1", np.array([1], np.int64)))]
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
             helper.make_node("GRU", ["xt", "W0", "R0"], ["Y0"], hidden_size=H1, linear_before_reset=1),
             helper.make_node("Squeeze", ["Y0", "ax1"], ["h0"]),
             helper.make_node("GRU", ["h0", "W1", "R1", "B1"], ["Y1"], hidden_size=H2, linear_before_reset=0),
             helper.make_node("Squeeze", ["Y1", "ax1"], ["h1"]),
             helper.make_node("Transpose", ["h1"], ["hb"], perm=[1, 0, 2]),
             helper.make_node("MatMul", ["hb", "fcWT"], ["mm"]),
             helper.make_node("Add", ["fcb", "mm"], ["logits"]),
             helper.make_node("Tanh", ["logits"], ["y"])]
    _save_graph(w, "onnx_seq_matmul", nodes, inits, ["batch", "time", I], ["batch", "time", O])
    x = _input("onnx_seq_matmul", 2, 5, I)
    w.case("onnx_seq_matmul", "onnx", "onnx_seq_matmul.onnx", x, _ort(w.path("onnx_seq_matmul.onnx"), x))


def _save_graph(w, name, nodes, inits, in_shape, out_shape):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(nodes, name, [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, w.path(name + ".onnx"))


GENERATORS = {"torch": gen_torch, "keras": gen_keras, "onnx": gen_onnx}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--only", default=",".join(GENERATORS), help="comma-separated: torch,keras,onnx")
    args = ap.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    w = Writer(args.out)
    for name in args.only.split(","):
        GENERATORS[name](w)
    manifest = os.path.join(args.out, "cases.json")
    cases = w.cases
    if os.path.exists(manifest):  # keep the cases of frameworks not regenerated now
        with open(manifest) as f:
            old = json.load(f)
        cases = [c for c in old if c["framework"] not in args.only.split(",")] + cases
    with open(manifest, "w") as f:
        json.dump(cases, f, indent=1)
    print(f"wrote {len(w.cases)} cases to {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
