"""atheris harness: pygru.from_onnx on arbitrary .onnx bytes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyharness  # noqa: E402

SUFFIXES = (".onnx",)
ALLOWED = (ValueError, TypeError)
MUST_NAME = ("path",)


def loader():
    import onnx  # noqa: F401
    import pygru
    return pygru.from_onnx


if __name__ == "__main__":
    pyharness.main(loader, SUFFIXES, ALLOWED, MUST_NAME)
