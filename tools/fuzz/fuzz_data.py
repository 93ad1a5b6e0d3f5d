"""atheris harness: the CLI's data loader (pygru._datafile.load) on arbitrary
.npz / .csv bytes. Documented errors: DataError (a ValueError) naming DATA."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyharness  # noqa: E402

SUFFIXES = (".npz", ".csv")
MUST_NAME = ("DATA",)


def loader():
    from pygru import _datafile
    return lambda path: _datafile.load(path, test_split=0.2, seed=0)


def allowed():
    from pygru import _datafile
    return (_datafile.DataError,)


if __name__ == "__main__":
    pyharness.main(loader, SUFFIXES, allowed(), MUST_NAME)
