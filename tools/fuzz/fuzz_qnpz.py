"""atheris harness: pygru.load_quantized on arbitrary .npz bytes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyharness  # noqa: E402

SUFFIXES = (".npz",)
ALLOWED = (ValueError, FileNotFoundError)
MUST_NAME = ("path",)


def loader():
    import pygru
    return pygru.load_quantized


if __name__ == "__main__":
    pyharness.main(loader, SUFFIXES, ALLOWED, MUST_NAME)
