"""pygru: a minimal GRU runtime for embedded inference.

The portable C99 core (gru_c/) runs the forward pass; this package trains and
runs models from numpy, imports models from other frameworks and exports C
headers for microcontroller firmware.
"""
import os as _os

from .export import export_c
from .model import FORMAT_VERSION, GRUModel, load

__version__ = "0.1.0"

_HERE = _os.path.dirname(_os.path.abspath(__file__))


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


__all__ = ["GRUModel", "load", "export_c", "FORMAT_VERSION", "c_source_dir", "c_include_dir", "__version__"]
