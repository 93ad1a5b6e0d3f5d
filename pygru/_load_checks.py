"""Checks of everything a model file brings, before any of it reaches C.

A file is untrusted: its configuration is checked on its own (keys, types,
ranges) without allocating anything the size of what it claims, then every
array against the configuration (presence, no extra names, dtype exactly as
pygru writes it, shape, finiteness, value ranges the C kernels rely on). The
errors name `name` (the argument: "path: '<file>'", "params", ...), what was
expected and what came; they are ValueError or TypeError only.
"""
import math
import numbers

import numpy as np

CONFIG_KEYS = ("input_size", "hidden_sizes", "output_size", "reset_after", "output_activation",
               "return_sequences")
OUTPUT_ACTIVATIONS = (None, "sigmoid", "tanh", "softmax")


def _int(name, what, value, maximum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name}: expected {what} to be an integer in 1..{maximum}, got "
                         f"{type(value).__name__} {value!r}")
    if not 1 <= int(value) <= maximum:
        raise ValueError(f"{name}: expected {what} in 1..{maximum}, got {value}")
    return int(value)


def check_format(name, arrays, kind, header, version):
    """The arrays of a saved pygru file of `kind` ("pygru model", "pygru
    quantized model"): they hold a `header` array and __format_version__, which
    is removed from `arrays` and must equal `version`."""
    if "__format_version__" not in arrays or header not in arrays:
        raise ValueError(f"{name} is an .npz file but not a {kind}: expected arrays __format_version__ and "
                         f"{header}, got {sorted(arrays)[:8]}")
    found = arrays.pop("__format_version__")
    if found.shape != () or found.dtype.kind not in "iu" or int(found) != version:
        raise ValueError(f"{name}: expected {kind} format version {version} (what this pygru reads), got "
                         f"format version {found!r}")


def check_config(name, config, max_dim, max_layers):
    """A model configuration dict (GRUModel.config()) from an untrusted source,
    normalised; ValueError naming `name` when anything is off."""
    if not isinstance(config, dict):
        raise ValueError(f"{name}: expected the model config to be a JSON object, got {type(config).__name__}")
    if set(config) != set(CONFIG_KEYS):
        raise ValueError(f"{name}: expected config keys {sorted(CONFIG_KEYS)}, got {sorted(map(str, config))}")
    hidden = config["hidden_sizes"]
    if not isinstance(hidden, list) or not 1 <= len(hidden) <= max_layers:
        raise ValueError(f"{name}: expected config hidden_sizes to be a list of 1..{max_layers} sizes, "
                         f"got {hidden!r}")
    hidden = [_int(name, f"config hidden_sizes[{i}]", h, max_dim) for i, h in enumerate(hidden)]
    out = config["output_size"]
    ra = config["reset_after"]
    if not isinstance(ra, list) or len(ra) != len(hidden) or not all(isinstance(r, bool) for r in ra):
        raise ValueError(f"{name}: expected config reset_after to be {len(hidden)} booleans (one per layer), "
                         f"got {ra!r}")
    act = config["output_activation"]
    if act not in OUTPUT_ACTIVATIONS:
        raise ValueError(f"{name}: expected config output_activation in {OUTPUT_ACTIVATIONS}, got {act!r}")
    if out is None and act is not None:
        raise ValueError(f"{name}: config output_activation {act!r} needs an output_size, got None")
    if not isinstance(config["return_sequences"], bool):
        raise ValueError(f"{name}: expected config return_sequences to be a boolean, got "
                         f"{config['return_sequences']!r}")
    return {"input_size": _int(name, "config input_size", config["input_size"], max_dim),
            "hidden_sizes": hidden,
            "output_size": None if out is None else _int(name, "config output_size", out, max_dim),
            "reset_after": list(ra), "output_activation": act,
            "return_sequences": config["return_sequences"]}


def check_names(name, arrays, expected):
    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    if missing or extra:
        raise ValueError(f"{name}: expected the arrays the configuration needs, got missing {missing}, "
                         f"unexpected {extra}")


def check_array(name, key, arr, dtype, shape, finite=False, low=None, high=None):
    """arr must be a numpy array of exactly `dtype` and `shape` (values in
    [low, high] when given, finite when asked)."""
    if not isinstance(arr, np.ndarray) or isinstance(arr, np.ma.MaskedArray):
        raise TypeError(f"{name}: expected {key} to be a numpy array, got {type(arr).__name__}")
    if arr.dtype != np.dtype(dtype):
        raise TypeError(f"{name}: expected {key} of dtype {np.dtype(dtype)}, got {arr.dtype}")
    if arr.shape != tuple(shape):
        raise ValueError(f"{name}: expected {key} of shape {tuple(shape)}, got {arr.shape}")
    if finite and not np.isfinite(arr).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(arr))[0])
        raise ValueError(f"{name}: expected finite values in {key}, got {arr[bad]} at index {bad}")
    if low is not None and arr.size and arr.min() < low:
        raise ValueError(f"{name}: expected {key} values >= {low}, got {arr.min()}")
    if high is not None and arr.size and arr.max() > high:
        raise ValueError(f"{name}: expected {key} values <= {high}, got {arr.max()}")


def quantized_layout(mode, config):
    """name -> (dtype, shape, finite, low, high) of every array of a quantized model."""
    spec = {}
    size_in = config["input_size"]
    for l, H in enumerate(config["hidden_sizes"]):
        for kind, cols in (("ih", size_in), ("hh", H)):
            spec[f"w_{kind}_l{l}"] = (np.int8, (3 * H, cols), False, None, None)
            if mode == "int8":
                spec[f"s_{kind}_l{l}"] = (np.float32, (3 * H,), True, 0.0, None)
                spec[f"b_{kind}_l{l}"] = (np.float32, (3 * H,), True, None, None)
            else:
                spec[f"m_{kind}_l{l}"] = (np.int32, (3 * H,), False, 0, None)
                spec[f"sh_{kind}_l{l}"] = (np.int8, (3 * H,), False, 1, 62)
                spec[f"b_{kind}_l{l}"] = (np.int32, (3 * H,), False, None, None)
        size_in = H
    O = config["output_size"]
    if O is not None:
        spec["head.weight"] = (np.int8, (O, size_in), False, None, None)
        if mode == "int8":
            spec["head.scale"] = (np.float32, (O,), True, 0.0, None)
            spec["head.bias"] = (np.float32, (O,), True, None, None)
        else:
            spec["head.mult"] = (np.int32, (O,), False, 0, None)
            spec["head.shift"] = (np.int8, (O,), False, 1, 62)
            spec["head.bias"] = (np.int32, (O,), False, None, None)
    return spec


def check_quantized(name, mode, config, params, input_scale, modes, max_dim, qi_max_dim, max_layers):
    """Validate a quantized model's parts; returns (config, input_scale) normalised."""
    if mode not in modes:
        raise ValueError(f"{name}: expected mode in {modes}, got {mode!r}")
    config = check_config(name, config, qi_max_dim if mode == "integer" else max_dim, max_layers)
    if isinstance(input_scale, bool) or not isinstance(input_scale, numbers.Real):
        raise ValueError(f"{name}: expected input_scale to be a number, got {type(input_scale).__name__}")
    input_scale = float(input_scale)
    if not (math.isfinite(input_scale) and input_scale > 0):
        raise ValueError(f"{name}: expected input_scale finite and > 0, got {input_scale!r}")
    if not hasattr(params, "keys"):
        raise TypeError(f"{name}: expected the parameters as a dict of arrays, got {type(params).__name__}")
    spec = quantized_layout(mode, config)
    check_names(name, params, spec)
    for key, (dtype, shape, finite, low, high) in spec.items():
        check_array(name, key, params[key], dtype, shape, finite, low, high)
    return config, input_scale


def check_float_arrays(name, arrays, shapes):
    """The float model's weights from a file: names, float dtype and shapes,
    before anything the configuration's size is allocated."""
    missing = sorted(set(shapes) - set(arrays))
    extra = sorted(set(arrays) - set(shapes))
    if missing or extra:
        raise ValueError(f"{name}: names do not match the model: missing {missing}, unexpected {extra}")
    for key, shape in shapes.items():
        arr = arrays[key]
        if arr.dtype not in (np.float32, np.float64):
            raise TypeError(f"{name}[{key!r}]: expected dtype float32 or float64, got {arr.dtype}")
        if arr.shape != tuple(shape):
            raise ValueError(f"{name}[{key!r}]: expected shape {tuple(shape)}, got {arr.shape}")
