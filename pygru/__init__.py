"""pygru: a minimal GRU runtime for embedded inference.

The portable C99 core (gru_c/) runs the forward pass; this package trains and
runs models from numpy, imports models from other frameworks and exports C
headers for microcontroller firmware.
"""
import importlib as _importlib
import os as _os

from .config import GRU, Dense, ModelConfig
from .model import FORMAT_VERSION, GRUModel, load

from ._version import __version__

_HERE = _os.path.dirname(_os.path.abspath(__file__))

# Loaded on first use (PEP 562), so `import pygru` needs only the float model:
# name -> (module, attribute or None for the module itself).
_LAZY = {
    "quantize": ("quantize", None),         # a callable module: pygru.quantize(model, X, mode=...)
    "QuantizedGRUModel": ("quantize", "QuantizedGRUModel"),
    "load_quantized": ("quantize", "load_quantized"),
    "export_c": ("export", "export_c"),
    "export": ("export", None),
    "datasets": ("datasets", None),
    "interop": ("interop", None),
    "training": ("training", None),
    "cli": ("cli", None),
    "tune": ("tune", None),                 # a callable module: pygru.tune(...); Optuna only when called
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'pygru' has no attribute {name!r}")
    module, attribute = _LAZY[name]
    value = _importlib.import_module(f".{module}", __name__)
    return value if attribute is None else getattr(value, attribute)


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


def from_torch(obj, head=None, output_activation=None, return_sequences=False):
    """A GRUModel from an nn.GRU, its state dict, or a .pt/.safetensors file;
    `head` an optional nn.Linear. See pygru.interop.torch.from_torch."""
    from .interop.torch import from_torch as impl
    return impl(obj, head, output_activation, return_sequences)


def from_keras(path_or_model):
    """A GRUModel from a .keras / legacy .h5 file (no TensorFlow needed) or a
    Keras model. See pygru.interop.keras.from_keras."""
    from .interop.keras import from_keras as impl
    return impl(path_or_model)


def from_onnx(path, values=None):
    """A GRUModel from an ONNX file with GRU nodes and an optional MatMul/Gemm
    head. See pygru.interop.onnx.from_onnx."""
    from .interop.onnx import from_onnx as impl
    return impl(path, values)


def c_source_dir():
    """The gru_c/ folder (include/, src/, Makefile, CMakeLists.txt) that this
    package was built from: copy it or point a firmware build at it."""
    for candidate in (_os.path.join(_HERE, "gru_c"), _os.path.join(_os.path.dirname(_HERE), "gru_c")):
        if _os.path.isfile(_os.path.join(candidate, "include", "gru.h")):
            return candidate
    raise FileNotFoundError("gru_c sources not found beside the pygru package")


def c_include_dir():
    """The folder holding gru.h, for `-I`."""
    return _os.path.join(c_source_dir(), "include")


__all__ = ["GRUModel", "ModelConfig", "Dense", "GRU", "load", "export_c", "quantize", "QuantizedGRUModel",
           "load_quantized", "FORMAT_VERSION", "c_source_dir", "c_include_dir", "__version__",
           "from_torch", "from_keras", "from_onnx", "tune"]
