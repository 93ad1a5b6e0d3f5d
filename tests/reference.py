"""An independent float64 numpy GRU: the oracle the tests compare against.

Written from the equations in DESIGN.md with numpy's own tanh/exp, sharing no
code with gru_c or pygru.
"""
import numpy as np


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def gate(name):
    """A GRU layer's recurrent activation (r, z), from the frameworks' definitions."""
    return {"sigmoid": sigmoid,
            "hard_sigmoid": lambda v: np.clip(0.2 * v + 0.5, 0.0, 1.0),           # Keras 2, ONNX defaults
            "hard_sigmoid_keras3": lambda v: np.minimum(np.maximum(v + 3.0, 0.0), 6.0) / 6.0}[name]


def gru_layer(x, weight_ih, weight_hh, bias_ih, bias_hh, reset_after=True, h0=None, activation="tanh",
              recurrent_activation="sigmoid"):
    """x: (B, T, I) -> (B, T, H), float64, gate order r, z, n; activation
    (n) tanh or relu, recurrent_activation (r, z) as gate() names."""
    g = gate(recurrent_activation)
    act = np.tanh if activation == "tanh" else (lambda v: np.maximum(v, 0.0))
    x = np.asarray(x, np.float64)
    Wi, Wh = np.asarray(weight_ih, np.float64), np.asarray(weight_hh, np.float64)
    bi, bh = np.asarray(bias_ih, np.float64), np.asarray(bias_hh, np.float64)
    B, T, _ = x.shape
    H = Wh.shape[1]
    h = np.zeros((B, H)) if h0 is None else np.asarray(h0, np.float64).copy()
    out = np.empty((B, T, H))
    for t in range(T):
        gi = x[:, t] @ Wi.T + bi
        r = g(gi[:, :H] + h @ Wh[:H].T + bh[:H])
        z = g(gi[:, H:2 * H] + h @ Wh[H:2 * H].T + bh[H:2 * H])
        if reset_after:
            n = act(gi[:, 2 * H:] + r * (h @ Wh[2 * H:].T + bh[2 * H:]))
        else:
            n = act(gi[:, 2 * H:] + (r * h) @ Wh[2 * H:].T + bh[2 * H:])
        h = (1 - z) * n + z * h
        out[:, t] = h
    return out


def activate(y, activation):
    if activation == "relu":
        return np.maximum(y, 0.0)
    if activation == "sigmoid":
        return sigmoid(y)
    if activation == "tanh":
        return np.tanh(y)
    if activation == "softmax":
        e = np.exp(y - y.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return y


def gru_model(x, weights, num_layers, reset_after, output_activation=None, return_sequences=False):
    """The whole model (stacked layers + optional head), float64."""
    x = np.asarray(x, np.float64)
    if isinstance(reset_after, bool):
        reset_after = [reset_after] * num_layers
    for l in range(num_layers):
        x = gru_layer(x, weights[f"weight_ih_l{l}"], weights[f"weight_hh_l{l}"],
                      weights[f"bias_ih_l{l}"], weights[f"bias_hh_l{l}"], reset_after[l])
    if not return_sequences:
        x = x[:, -1]
    if "head.weight" in weights:
        x = activate(x @ np.asarray(weights["head.weight"], np.float64).T + weights["head.bias"],
                     output_activation)
    return x


def layered_model(x, weights, layers, return_sequences=False, h0=None):
    """A model given as a list of ("dense", units, activation) and ("gru",
    hidden, reset_after[, activation, recurrent_activation[, direction]])
    entries: Dense layers before the first GRU run on every step, those after
    the last GRU on the last step (or every step with return_sequences). A
    reverse GRU runs over the time-reversed sequence (its outputs put back in
    time order); a bidirectional one concatenates [forward, reverse]; the
    "last step" of a reverse run is its state after reading step 0 (Keras'
    return_sequences=False). Weights named as PyTorch names the submodules `pre`
    (nn.Sequential), GRU layers weight_ih_l{k} ..., and `head` (an nn.Linear
    for one layer, an nn.Sequential for more). h0: None or one (B, H)
    initial state per GRU layer and direction (forward first). float64."""
    x = np.asarray(x, np.float64)
    first = min(i for i, layer in enumerate(layers) if layer[0] == "gru")
    last = max(i for i, layer in enumerate(layers) if layer[0] == "gru")
    n_head = len(layers) - last - 1
    k = slot = 0
    for i, layer in enumerate(layers):
        if layer[0] == "gru":
            direction = layer[5] if len(layer) > 5 else "forward"
            suffixes = {"forward": [""], "reverse": ["_reverse"], "bidirectional": ["", "_reverse"]}[direction]
            outs, finals = [], []
            for sfx in suffixes:
                xs = x[:, ::-1] if sfx else x
                o = gru_layer(xs, weights[f"weight_ih_l{k}{sfx}"], weights[f"weight_hh_l{k}{sfx}"],
                              weights[f"bias_ih_l{k}{sfx}"], weights[f"bias_hh_l{k}{sfx}"], layer[2],
                              None if h0 is None else h0[slot], *layer[3:5])
                slot += 1
                finals.append(o[:, -1])
                outs.append(o[:, ::-1] if sfx else o)
            x = np.concatenate(outs, axis=-1)
            k += 1
            if i == last and not return_sequences:
                x = np.concatenate(finals, axis=-1)
            continue
        if i < first:
            name = f"pre.{i}"
        else:
            name = "head" if n_head == 1 else f"head.{i - last - 1}"
        W = np.asarray(weights[f"{name}.weight"], np.float64)
        x = activate(x @ W.T + np.asarray(weights[f"{name}.bias"], np.float64), layer[2])
    return x


def reference_layers(spec):
    """A pygru ModelConfig's layer list in layered_model's form (structure only)."""
    return [("gru", layer.hidden_size, layer.reset_after, layer.activation, layer.recurrent_activation,
             layer.direction) if hasattr(layer, "hidden_size")
            else ("dense", layer.units, layer.activation) for layer in spec.layers]
