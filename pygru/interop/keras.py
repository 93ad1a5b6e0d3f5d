"""Keras interchange: .keras (Keras 3) and legacy .h5 files -> GRUModel, read
with zipfile + json + h5py (no TensorFlow, no Keras needed), or a live Keras
model object (any backend).

Keras GRU math (keras/src/layers/rnn/gru.py), gate order z, r, h, kernel [I, 3H]:
    reset_after=True:  bias [2, 3H] = (input bias, recurrent bias)
        hh = tanh(x W_h + b_h + r * (h U_h + rb_h))           == pygru reset_after
    reset_after=False: bias [3H], no recurrent bias
        hh = tanh(x W_h + b_h + (r * h) U_h)                  == pygru reset_before
                                                                 with bias_hh = 0
    h' = z * h + (1 - z) * hh
"""
import io
import json
import os
import re
import zipfile

import numpy as np

from ._common import UnsupportedModelError, build_model, check_file, in_file, require, zrn_to_rzn

_DENSE_ACTIVATIONS = {"linear": None, None: None, "relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh",
                      "softmax": "softmax"}
_VERSION_KEY = "__pygru_keras_major__"   # set on the config by the readers
_NEAREST = "the nearest supported form is Dense layers, GRU layers, then Dense layers"
_OUT_OF_SCOPE = {
    "LSTM": f"pygru runs GRU layers, not LSTM; {_NEAREST}",
    "SimpleRNN": f"pygru runs GRU layers; {_NEAREST}",
    "GRUCell": "wrap it in a GRU layer", "RNN": "use a GRU layer",
    "Masking": "pass lengths= to predict instead",
    "Conv1D": f"{_NEAREST} (a Dense pre-net acts per time step)",
    "Embedding": f"feed the embedded vectors; {_NEAREST}",
    "Attention": f"no attention layers; {_NEAREST}", "MultiHeadAttention": f"no attention layers; {_NEAREST}",
    "Add": f"no skip connections; {_NEAREST}", "Concatenate": f"no skip connections; {_NEAREST}",
}
_IGNORED_LAYERS = {"InputLayer", "Dropout", "SpatialDropout1D", "GaussianDropout", "GaussianNoise",
                   "AlphaDropout"}  # identity at inference


def from_keras(path_or_model):
    """A GRUModel with the weights of a Keras model.

    path_or_model: a ``.keras`` file (Keras 3: a zip of config.json and
        model.weights.h5), a legacy ``.h5`` file (``model.save("m.h5")``, with
        the model config in its attributes), or a Keras model object.

    Supported: a Sequential or a chain-shaped Functional model of Dense
    layers (a pre-net, on every time step), GRU layers (``reset_after`` True
    or False, ``use_bias`` either way, activation ``tanh`` or ``relu``,
    recurrent_activation ``sigmoid`` or ``hard_sigmoid``: Keras 2's
    clip(0.2 x + 0.5, 0, 1) or Keras 3's relu6(x + 3) / 6, as the file's
    keras_version says; ``go_backwards`` (a reverse layer, without
    return_sequences); Bidirectional(GRU) with merge_mode "concat"
    (``return_sequences`` False gives [forward final, backward final], as
    Keras does); ``return_sequences`` on the last GRU
    makes the head run on every step), then Dense layers (a head). Dense
    activations linear, relu, sigmoid, tanh or softmax; an Activation layer
    may follow a linear Dense; TimeDistributed(Dense) is a Dense. Dropout
    layers and the GRU's dropout / recurrent_dropout only act in training and
    are ignored; ``unroll`` does not change the result. Anything else
    (stateful, return_state, Bidirectional of other layers or merge modes,
    masking, LSTM, Conv1D, Embedding, attention, skip connections, mixed
    precision) raises UnsupportedModelError naming it.
    """
    if isinstance(path_or_model, (str, bytes, os.PathLike)):
        path = check_file(path_or_model, "Keras")
        config, weights = _read_file(path)
        return in_file(path, lambda: _convert(config, weights))
    config, weights = _read_live(path_or_model)
    return _convert(config, weights)


def _major(version, default):
    """The major version of a "keras_version" string (default if unreadable)."""
    try:
        return int(str(version.decode() if isinstance(version, bytes) else version).split(".")[0])
    except (ValueError, AttributeError, UnicodeDecodeError):
        return default


# ---------------------------------------------------------------------- reading


def _bad_file(path, why):
    return ValueError(f"path: {path!r} is not a readable Keras model file: expected a .keras zip or a "
                      f"legacy HDF5 model, got {why}")


def _read_file(path):
    """(model config dict, {layer name: [arrays in Keras order]})."""
    h5py = require("h5py", "reading Keras files")

    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as z:
                names = set(z.namelist())
                if {"config.json", "model.weights.h5"} <= names:
                    config = json.loads(z.read("config.json").decode("utf-8"))
                    blob = z.read("model.weights.h5")
                    meta = json.loads(z.read("metadata.json").decode("utf-8")) if "metadata.json" in names else {}
        except (zipfile.BadZipFile, UnicodeDecodeError, ValueError, OSError, EOFError) as exc:
            raise _bad_file(path, exc) from None
        if not {"config.json", "model.weights.h5"} <= names:
            raise _bad_file(path, f"zip without config.json / model.weights.h5: {sorted(names)[:6]}")
        if not isinstance(config, dict):
            raise _bad_file(path, "config.json is not a JSON object")
        # The .keras format came with Keras 2.13 / 3: its metadata says which.
        config[_VERSION_KEY] = _major(meta.get("keras_version") if isinstance(meta, dict) else None, 3)
        try:
            with h5py.File(io.BytesIO(blob), "r") as f:
                return config, _keras3_weights(f, config)
        except H5_ERRORS as exc:
            raise _bad_file(path, f"model.weights.h5: {type(exc).__name__}: {exc}") from None
    try:
        f = h5py.File(path, "r")
    except H5_ERRORS as exc:
        raise _bad_file(path, f"neither a .keras zip nor HDF5: {exc}") from None
    try:
        return _read_legacy(path, f)
    except H5_ERRORS as exc:
        # A damaged HDF5 body: h5py raises RuntimeError / OSError / KeyError /
        # TypeError from deep inside (the tools/fuzz keras harness).
        raise _bad_file(path, f"damaged HDF5 data: {type(exc).__name__}: {exc}") from None
    finally:
        f.close()


# What h5py raises on a damaged file, besides pygru's own ValueErrors.
H5_ERRORS = (OSError, KeyError, RuntimeError, TypeError, IndexError, AttributeError, SystemError,
             UnicodeDecodeError, OverflowError)


def _read_legacy(path, f):
    """(config, weights) of a legacy Keras .h5 file open as `f`."""
    if "model_config" not in f.attrs:
        raise _bad_file(path, "HDF5 file without a model_config attribute (a weights-only file?)")
    if "model_weights" not in f:
        raise _bad_file(path, "no model_weights group")
    raw = f.attrs["model_config"]
    try:
        config = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else raw)
        if not isinstance(config, dict):
            raise ValueError("not a JSON object")
        config[_VERSION_KEY] = _major(f.attrs.get("keras_version"), 2)
        return config, _legacy_weights(f["model_weights"])
    except (ValueError, KeyError, OSError) as exc:
        raise _bad_file(path, f"model_config / model_weights: {exc}") from None


def _snake_case(name):
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _keras3_weights(f, config):
    """model.weights.h5 keeps each layer's variables under layers/<key>/vars/<i>
    (GRU: layers/<key>/cell/vars/<i>, TimeDistributed: layers/<key>/layer/vars/<i>,
    Bidirectional: layers/<key>/{forward,backward}_layer/cell/vars/<i>), in the order the layer created them.
    Keras 3 does not use the layer's name as <key> but its class name in
    snake case, numbered in model order: gru, gru_1, dense, ... (saving_lib's
    _save_container_state); the layer name is tried second."""
    out, used = {}, {}
    for layer in _layer_list(config):
        name = layer.get("config", {}).get("name")
        base = _snake_case(layer.get("class_name", ""))
        key = base if base not in used else f"{base}_{used[base] + 1}"
        used[base] = used[base] + 1 if base in used else 0
        for root, key in (("layers", key), ("layers", name), ("_layer_checkpoint_dependencies", name)):
            group = f.get(f"{root}/{key}")
            if group is None:
                continue
            # Bidirectional: forward then backward layer; GRU: its cell; TimeDistributed: its layer
            parts = [group[k] for k in ("forward_layer", "backward_layer") if k in group] or [group]
            out[name] = []
            for part in parts:
                for inner in ("cell", "layer"):
                    if inner in part:
                        part = part[inner]
                        break
                if "vars" in part:
                    out[name] += [np.asarray(part["vars"][str(i)]) for i in range(len(part["vars"]))]
            break
    return out


def _legacy_weights(g):
    """Legacy h5: model_weights/<layer> has a weight_names attribute listing the
    datasets (".../kernel:0", ".../recurrent_kernel:0", ".../bias:0")."""
    out = {}
    for name in g.attrs.get("layer_names", []):
        name = name.decode() if isinstance(name, bytes) else str(name)
        layer = g[name]
        wnames = [w.decode() if isinstance(w, bytes) else str(w) for w in layer.attrs.get("weight_names", [])]
        out[name] = [np.asarray(layer[w]) for w in wnames]
    return out


def _read_live(model):
    if not (hasattr(model, "get_config") and hasattr(model, "layers")):
        raise TypeError(f"path_or_model: expected a .keras/.h5 path or a Keras model, got {type(model).__name__}")
    import keras
    config = {"class_name": type(model).__name__, "config": model.get_config(),
              _VERSION_KEY: _major(getattr(keras, "__version__", "3"), 3)}
    layers = _layer_list(config)
    by_name = {layer.name: layer for layer in model.layers}
    weights = {}
    for entry in layers:
        layer = by_name.get(entry["config"].get("name"))
        if layer is not None:
            weights[layer.name] = [np.asarray(w) for w in layer.get_weights()]
    return config, weights


# ---------------------------------------------------------------------- converting


def _layer_list(config):
    """The layers of a Sequential, or of a Functional model whose layers form one chain."""
    cls = config.get("class_name")
    cfg = config.get("config", {})
    if cls == "Sequential":
        return cfg if isinstance(cfg, list) else cfg.get("layers", [])  # a list before Keras 2.2.3
    if cls in ("Functional", "Model"):
        layers = cfg.get("layers", [])
        names = [l.get("config", {}).get("name", l.get("name")) for l in layers]
        for i, layer in enumerate(layers):
            inbound = json.dumps(layer.get("inbound_nodes", []))
            sources = [n for n in names if f'"{n}"' in inbound]
            if (i == 0 and sources) or (i > 0 and sources != [names[i - 1]]):
                raise UnsupportedModelError(f"model: Functional model is not a single chain of layers "
                                            f"(layer {names[i]!r} takes {sources})")
            layer["config"].setdefault("name", names[i])
        return layers
    raise UnsupportedModelError(f"model: expected a Sequential or Functional model, got {cls!r}")


def _dtype_name(dtype):
    if isinstance(dtype, dict):
        return dtype.get("config", {}).get("name")
    return dtype


def _check_gru(name, c, keras_major):
    """(activation, recurrent_activation) of a Keras GRU layer as pygru names
    them: Keras 2's hard_sigmoid is clip(0.2 x + 0.5, 0, 1), Keras 3's
    relu6(x + 3) / 6 (the file's keras_version says which)."""
    def fail(feature):
        raise UnsupportedModelError(f"GRU layer {name!r}: {feature} is not supported")

    act = c.get("activation", "tanh")
    rec = c.get("recurrent_activation", "sigmoid")
    if rec not in ("sigmoid", "hard_sigmoid"):
        fail(f"recurrent_activation={rec!r} (only 'sigmoid' or 'hard_sigmoid')")
    if act not in ("tanh", "relu"):
        fail(f"activation={act!r} (only 'tanh' or 'relu')")
    if c.get("go_backwards") and c.get("return_sequences"):
        fail("go_backwards=True with return_sequences=True (Keras returns that sequence in reversed time "
             "order; pygru's reverse layers return theirs in time order: use Bidirectional or "
             "return_sequences=False)")
    for flag, why in (("stateful", "pygru's predict starts every sequence from a zero state; use "
                                   "GRUModel.stream() to carry state"),
                      ("return_state", "pygru returns one output"),
                      ("time_major", "pygru takes (batch, time, features)")):
        if c.get(flag):
            fail(f"{flag}=True ({why})")
    if _dtype_name(c.get("dtype", "float32")) not in (None, "float32"):
        fail(f"dtype policy {_dtype_name(c.get('dtype'))!r} (pygru computes in float32)")
    if rec == "hard_sigmoid" and keras_major >= 3:
        rec = "hard_sigmoid_keras3"
    return act, rec


def _gru_weights(name, c, arrays):
    H = int(c["units"])
    # Keras before 2.1.3 had no reset_after key and computed the reset_before GRU
    reset_after = bool(c.get("reset_after", False))
    use_bias = c.get("use_bias", True)
    if len(arrays) != (3 if use_bias else 2):
        raise ValueError(f"GRU layer {name!r}: expected {3 if use_bias else 2} weight arrays "
                         f"(kernel, recurrent_kernel{', bias' if use_bias else ''}), got {len(arrays)}")
    kernel, recurrent = arrays[0], arrays[1]
    if kernel.ndim != 2 or kernel.shape[1] != 3 * H:
        raise ValueError(f"GRU layer {name!r}: kernel: expected shape (input, {3 * H}), got {kernel.shape}")
    if recurrent.shape != (H, 3 * H):
        raise ValueError(f"GRU layer {name!r}: recurrent_kernel: expected shape {(H, 3 * H)}, got {recurrent.shape}")
    bias_ih = bias_hh = np.zeros(3 * H, np.float32)
    if use_bias:
        bias = arrays[2]
        want = (2, 3 * H) if reset_after else (3 * H,)
        if bias.shape != want:
            raise ValueError(f"GRU layer {name!r} (reset_after={reset_after}): bias: expected shape {want}, "
                             f"got {bias.shape}")
        if reset_after:
            bias_ih, bias_hh = bias[0], bias[1]
        else:
            bias_ih = bias  # Keras' reset_before GRU has no recurrent bias
    return {"weight_ih": zrn_to_rzn(kernel.T), "weight_hh": zrn_to_rzn(recurrent.T),
            "bias_ih": zrn_to_rzn(bias_ih), "bias_hh": zrn_to_rzn(bias_hh), "reset_after": reset_after}


def _dense_weights(name, c, weights):
    """(weight [O, I], bias [O], activation) of a Keras Dense layer."""
    act = c.get("activation", "linear")
    if act not in _DENSE_ACTIVATIONS:
        raise UnsupportedModelError(f"Dense layer {name!r}: activation={act!r} is not supported "
                                    f"(linear, relu, sigmoid, tanh, softmax)")
    if _dtype_name(c.get("dtype", "float32")) not in (None, "float32"):
        raise UnsupportedModelError(f"Dense layer {name!r}: dtype policy "
                                    f"{_dtype_name(c.get('dtype'))!r} is not supported")
    arrays = weights.get(name, [])
    use_bias = c.get("use_bias", True)
    if len(arrays) != (2 if use_bias else 1):
        raise ValueError(f"Dense layer {name!r}: expected {2 if use_bias else 1} weight arrays, "
                         f"got {len(arrays)}")
    kernel = arrays[0]
    if kernel.ndim != 2:
        raise ValueError(f"Dense layer {name!r}: kernel: expected a 2-D array, got shape {kernel.shape}")
    bias = arrays[1] if use_bias else np.zeros(kernel.shape[1], np.float32)
    return [kernel.T, bias, _DENSE_ACTIVATIONS[act]]


def _unwrap(entry):
    """(class name, config) of a layer; TimeDistributed(Dense) is a Dense (a
    Dense on a sequence already acts on every step), with the wrapper's name
    (under which its weights are stored)."""
    cls, c = entry.get("class_name"), entry.get("config", {})
    if cls == "TimeDistributed":
        inner = c.get("layer", {})
        if inner.get("class_name") != "Dense":
            raise UnsupportedModelError(f"layer {c.get('name')!r}: TimeDistributed({inner.get('class_name')}) "
                                        f"is not supported (only TimeDistributed(Dense))")
        return "Dense", dict(inner.get("config", {}), name=c.get("name"))
    return cls, c


def _recurrent(cls, name, c, arrays, keras_major):
    """(canonical layer dict, return_sequences) of a GRU or Bidirectional(GRU)."""
    if cls == "GRU":
        act, rec = _check_gru(name, c, keras_major)
        layer = dict(_gru_weights(name, c, arrays), activation=act, recurrent_activation=rec,
                     direction="reverse" if c.get("go_backwards") else "forward")
        return layer, bool(c.get("return_sequences", False))
    inner = c.get("layer", {})
    back = c.get("backward_layer") or inner
    if c.get("merge_mode", "concat") != "concat":
        raise UnsupportedModelError(f"Bidirectional layer {name!r}: merge_mode={c.get('merge_mode')!r} is not "
                                    f"supported (only 'concat')")
    if inner.get("class_name") != "GRU" or back.get("class_name") != "GRU":
        raise UnsupportedModelError(f"Bidirectional layer {name!r}: only Bidirectional(GRU) is supported, got "
                                    f"{inner.get('class_name')}")
    fc, bc = inner.get("config", {}), dict(back.get("config", {}), go_backwards=False)
    if fc.get("go_backwards") or any(fc.get(k) != bc.get(k) for k in ("units", "activation", "recurrent_activation",
                                                                      "reset_after", "use_bias", "return_sequences")):
        raise UnsupportedModelError(f"Bidirectional layer {name!r}: forward and backward GRUs must have the same "
                                    f"settings (and no go_backwards on the forward one)")
    act, rec = _check_gru(name, fc, keras_major)
    n = len(arrays) // 2
    layer = dict(_gru_weights(name, fc, arrays[:n]), activation=act, recurrent_activation=rec,
                 direction="bidirectional", reverse=_gru_weights(name, bc, arrays[n:]))
    return layer, bool(fc.get("return_sequences", False))


def _convert(config, weights):
    pre, layers, heads, return_sequences = [], [], [], False
    for entry in _layer_list(config):
        cls, c = _unwrap(entry)
        name = c.get("name")
        if cls in _IGNORED_LAYERS:
            continue
        if cls in ("GRU", "Bidirectional") and not heads:
            if layers and not return_sequences:
                raise ValueError(f"GRU layer {name!r} follows a GRU without return_sequences=True")
            if name not in weights:
                raise ValueError(f"GRU layer {name!r}: no weights stored for it")
            layer, return_sequences = _recurrent(cls, name, c, weights[name], config.get(_VERSION_KEY, 3))
            layers.append(layer)
        elif cls == "Dense":
            (heads if layers else pre).append(_dense_weights(name, c, weights))
        elif cls == "Activation" and (heads if layers else pre) and (heads if layers else pre)[-1][2] is None:
            act = c.get("activation")
            if act not in _DENSE_ACTIVATIONS:
                raise UnsupportedModelError(f"Activation layer {name!r}: activation={act!r} is not supported")
            (heads if layers else pre)[-1][2] = _DENSE_ACTIVATIONS[act]
        elif cls in _OUT_OF_SCOPE:
            raise UnsupportedModelError(f"layer {name!r}: {cls} is not supported ({_OUT_OF_SCOPE[cls]})")
        else:
            raise UnsupportedModelError(f"layer {name!r}: {cls} at this position is not supported "
                                        f"(expected Dense layers, GRU layers, then Dense layers; an "
                                        f"Activation only after a linear Dense)")
    head = heads[0] if heads else None
    return build_model(layers, None if head is None else head[:2], None if head is None else head[2],
                       return_sequences, pre=[tuple(d) for d in pre], post=[tuple(d) for d in heads[1:]])
