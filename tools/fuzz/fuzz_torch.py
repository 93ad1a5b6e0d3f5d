"""atheris harness: pygru.from_torch on arbitrary .pt / .safetensors bytes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyharness  # noqa: E402

SUFFIXES = (".pt", ".safetensors")
ALLOWED = (ValueError, TypeError)   # UnsupportedModelError is a ValueError
MUST_NAME = ("path",)


def loader():
    import torch  # noqa: F401  (imported once, outside the instrumented code)
    import pygru
    return pygru.from_torch


if __name__ == "__main__":
    pyharness.main(loader, SUFFIXES, ALLOWED, MUST_NAME)
