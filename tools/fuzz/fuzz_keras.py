"""atheris harness: pygru.from_keras on arbitrary .keras / .h5 bytes."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyharness  # noqa: E402

SUFFIXES = (".keras", ".h5")
ALLOWED = (ValueError, TypeError)
MUST_NAME = ("path",)


def loader():
    import h5py  # noqa: F401
    import pygru
    return pygru.from_keras


if __name__ == "__main__":
    pyharness.main(loader, SUFFIXES, ALLOWED, MUST_NAME)
