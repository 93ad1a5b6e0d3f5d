"""pygru: a minimal GRU runtime for embedded inference.

The portable C99 core (gru_c/) runs the forward pass; this package trains and
runs models from numpy, imports models from other frameworks and exports C
headers for microcontroller firmware.
"""
import os as _os

from .export import export_c
from .model import FORMAT_VERSION, GRUModel, load
from . import quantize  # callable module: pygru.quantize(model, X, mode=...)
from .quantize import QuantizedGRUModel, load_quantized

__version__ = "0.2.0"

_HERE = _os.path.dirname(_os.path.abspath(__file__))


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


def from_onnx(path):
    """A GRUModel from an ONNX file with GRU nodes and an optional MatMul/Gemm
    head. See pygru.interop.onnx.from_onnx."""
    from .interop.onnx import from_onnx as impl
    return impl(path)


def __getattr__(name):
    # pygru.tune(...) without importing Optuna (or the tune module) at `import pygru`.
    if name == "tune":
        import importlib    # `from . import tune` would ask this __getattr__ again
        return importlib.import_module(".tune", __name__)   # callable: pygru.tune(...) runs tune.tune
    raise AttributeError(f"module 'pygru' has no attribute {name!r}")


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


__all__ = ["GRUModel", "load", "export_c", "quantize", "QuantizedGRUModel", "load_quantized",
           "FORMAT_VERSION", "c_source_dir", "c_include_dir", "__version__",
           "from_torch", "from_keras", "from_onnx", "tune"]
