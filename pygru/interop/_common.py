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


def build_model(layers, head=None, output_activation=None, return_sequences=False):
    """A GRUModel from canonical weights.

    layers: list of dicts with weight_ih [3H, I], weight_hh [3H, H], bias_ih [3H],
            bias_hh [3H] (gate order r, z, n) and reset_after (bool).
    head:   None or (weight [O, H], bias [O]).
    Checks that consecutive layers fit together (a mismatch names the layer)."""
    from ..model import GRUModel

    if not layers:
        raise ValueError("model: no GRU layer found")
    weights, sizes = {}, []
    for l, layer in enumerate(layers):
        for key in ("weight_ih", "weight_hh"):
            if np.ndim(layer[key]) != 2:   # a forged file's 1-D or 0-D "matrix" (the tools/fuzz torch harness)
                raise ValueError(f"layer {l} {key}: expected a 2-D matrix, got shape {np.shape(layer[key])}")
    size_in = layers[0]["weight_ih"].shape[1]
    for l, layer in enumerate(layers):
        H = layer["weight_hh"].shape[1]
        expect_shape(f"layer {l} weight_ih", layer["weight_ih"], (3 * H, size_in))
        expect_shape(f"layer {l} weight_hh", layer["weight_hh"], (3 * H, H))
        for key in ("bias_ih", "bias_hh"):
            expect_shape(f"layer {l} {key}", layer[key], (3 * H,))
            weights[f"{key}_l{l}"] = as_float32(f"layer {l} {key}", layer[key])
        weights[f"weight_ih_l{l}"] = as_float32(f"layer {l} weight_ih", layer["weight_ih"])
        weights[f"weight_hh_l{l}"] = as_float32(f"layer {l} weight_hh", layer["weight_hh"])
        sizes.append(H)
        size_in = H
    output_size = None
    if head is not None:
        w, b = head
        if w.ndim != 2 or w.shape[1] != sizes[-1]:
            raise ValueError(f"head weight: expected shape (O, {sizes[-1]}) to follow the last GRU layer "
                             f"(hidden size {sizes[-1]}), got {tuple(w.shape)}")
        output_size = w.shape[0]
        weights["head.weight"] = as_float32("head weight", w)
        weights["head.bias"] = as_float32("head bias", expect_shape("head bias", np.asarray(b), (output_size,)))
    elif output_activation is not None:
        raise UnsupportedModelError(f"output activation {output_activation!r} without a dense head")
    model = GRUModel(input_size=layers[0]["weight_ih"].shape[1], hidden_sizes=sizes,
                     output_size=output_size, reset_after=[bool(l["reset_after"]) for l in layers],
                     output_activation=output_activation, return_sequences=return_sequences)
    model.set_weights(weights)
    return model


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
