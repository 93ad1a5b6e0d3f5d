"""Shared pieces of the importers: gate reordering, shape checks and building a
GRUModel from per-layer weights in pygru's canonical form (PyTorch names,
gate order r, z, n). Needs numpy only."""
import numpy as np


class UnsupportedModelError(ValueError):
    """The model uses a feature pygru cannot run exactly (bidirectional, reverse
    direction, hard_sigmoid, clip, ...). The message names the feature."""


def zrn_to_rzn(arr, axis=0):
    """Reorder the three gate blocks along `axis` from (z, r, n) (Keras, ONNX)
    to pygru's (r, z, n)."""
    z, r, n = np.split(np.asarray(arr), 3, axis=axis)
    return np.concatenate([r, z, n], axis=axis)


def rzn_to_zrn(arr, axis=0):
    """Inverse of zrn_to_rzn: (r, z, n) -> (z, r, n). Swapping two blocks is its own inverse."""
    return zrn_to_rzn(arr, axis)


def as_float32(name, value):
    """`value` (numpy array or anything np.asarray takes) as float32, refusing
    integer, boolean, complex and non-finite data. float16/bfloat16/float64 are
    accepted: float32 holds every float16 value exactly, and float32 is what
    pygru computes in."""
    from .._validate import refuse_masked
    refuse_masked(name, value)
    arr = np.asarray(value)
    if arr.dtype.kind != "f" and arr.dtype.name != "bfloat16":
        raise UnsupportedModelError(f"{name}: expected floating-point weights, got dtype {arr.dtype}")
    arr = np.ascontiguousarray(arr, dtype=np.float32)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name}: weights contain non-finite values")
    return arr


def expect_shape(name, arr, shape):
    if tuple(arr.shape) != tuple(shape):
        raise ValueError(f"{name}: expected shape {tuple(shape)}, got {tuple(arr.shape)}")
    return arr


def build_model(layers, head=None, output_activation=None, return_sequences=False, pre=(), post=()):
    """A GRUModel from canonical weights.

    layers: list of dicts with weight_ih [3H, I], weight_hh [3H, H], bias_ih [3H],
            bias_hh [3H] (gate order r, z, n) and reset_after (bool); optionally
            activation, recurrent_activation, direction (pygru.config.GRU's) and,
            for a bidirectional layer, "reverse": the reverse half's four arrays.
    head:   None or (weight [O, H], bias [O]), with `output_activation`.
    pre:    Dense layers before the GRUs, each (weight [O, I], bias [O], activation).
    post:   further head layers after `head`, in the same form.
    Checks that consecutive layers fit together (a mismatch names the layer)."""
    from ..config import GRU, Dense
    from ..model import GRUModel

    if not layers:
        raise ValueError("model: no GRU layer found")
    if head is None and (post or output_activation is not None):
        raise UnsupportedModelError(f"output activation {output_activation!r} without a dense head")
    heads = [] if head is None else [(head[0], head[1], output_activation)] + list(post)
    for l, layer in enumerate(layers):
        for key in ("weight_ih", "weight_hh"):
            if np.ndim(layer[key]) != 2:   # a forged file's 1-D or 0-D "matrix" (the tools/fuzz torch harness)
                raise ValueError(f"layer {l} {key}: expected a 2-D matrix, got shape {np.shape(layer[key])}")
    weights, specs = {}, []
    size_in = _dense_chain(pre, "pre", None, weights, specs)
    size_in = layers[0]["weight_ih"].shape[1] if size_in is None else size_in
    input_size = pre[0][0].shape[1] if pre else size_in
    for l, layer in enumerate(layers):
        H = layer["weight_hh"].shape[1]
        spec = GRU(H, bool(layer["reset_after"]), layer.get("activation", "tanh"),
                   layer.get("recurrent_activation", "sigmoid"), layer.get("direction", "forward"))
        for sfx in spec.suffixes:
            # a bidirectional layer's reverse half comes as layer["reverse"], a dict of the same keys
            half = layer["reverse"] if sfx and spec.direction == "bidirectional" else layer
            name = f"layer {l}{' reverse' if sfx else ''}"
            expect_shape(f"{name} weight_ih", half["weight_ih"], (3 * H, size_in))
            expect_shape(f"{name} weight_hh", half["weight_hh"], (3 * H, H))
            for key in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                if key.startswith("bias"):
                    expect_shape(f"{name} {key}", half[key], (3 * H,))
                weights[f"{key}_l{l}{sfx}"] = as_float32(f"{name} {key}", half[key])
        specs.append(spec)
        size_in = spec.output_size
    _dense_chain(heads, "head" if len(heads) == 1 else "head.", size_in, weights, specs)
    model = GRUModel.from_layers(input_size, specs, return_sequences=return_sequences)
    model.set_weights(weights)
    return model


def _dense_chain(dense, prefix, size_in, weights, specs):
    """Checks and names a chain of (weight, bias, activation) Dense layers
    reading `size_in` values (None: the first one's input); returns its output
    size (None for an empty chain)."""
    from ..config import Dense

    for k, (w, b, act) in enumerate(dense):
        name = prefix if prefix == "head" else f"{prefix.rstrip('.')}.{k}"
        w = as_float32(f"{name} weight", w)
        if w.ndim != 2 or (size_in is not None and w.shape[1] != size_in):
            raise ValueError(f"{name} weight: expected shape (O, {size_in if size_in is not None else 'I'}) "
                             f"to follow the previous layer, got {tuple(w.shape)}")
        weights[f"{name}.weight"] = w
        weights[f"{name}.bias"] = as_float32(f"{name} bias", expect_shape(f"{name} bias", np.asarray(b),
                                                                          (w.shape[0],)))
        specs.append(Dense(w.shape[0], act))
        size_in = w.shape[0]
    return size_in


def require(module, purpose, pip_name=None):
    """Import optional dependency `module`, or raise ImportError saying what needs it and how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{purpose} needs the {module} package (pip install {pip_name or module})") from None


def in_file(path, call):
    """call(), with any ValueError / TypeError it raises about a file's
    contents (a layer's weights of the wrong shape, a missing key) prefixed
    with "path: '<file>': " unless the message already names the file, so
    every error of an import from a file says which file."""
    try:
        return call()
    except (ValueError, TypeError) as exc:
        msg = str(exc)
        if path is None or path in msg:
            raise
        text = f"path: {path!r}: {msg}"
        try:
            new = type(exc)(text)
        except Exception:  # noqa: BLE001 - an exception type with another signature
            new = (ValueError if isinstance(exc, ValueError) else TypeError)(text)
        raise new from None


def check_file(path, what):
    """`path` as a str after checking that it names an existing file."""
    import os

    from .._io import fspath, input_file

    path = fspath("path", path)
    if not os.path.lexists(path):
        raise FileNotFoundError(f"path: no such {what} file {path!r} (expected an existing file, got no "
                                f"file at that path)")
    return input_file("path", path, f"{what} file")
