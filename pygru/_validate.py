"""Argument checks shared by the Python API: every error names the argument,
what was expected and what came."""
import numbers

import numpy as np


def positive_int(name, value, maximum=None):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected a positive integer, got {type(value).__name__} {value!r}")
    value = int(value)
    if value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{name}: expected at most {maximum}, got {value}")
    return value


def refuse_masked(name, value):
    """Masked arrays are refused: np.asarray drops the mask and np.isfinite
    skips masked entries, so a hidden NaN would reach C unseen."""
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(f"{name}: expected a plain numpy array, got a masked array (numpy.ma); "
                        f"pass {name}.filled(value) or the unmasked data")


def float_array(name, value, ndims, last_dim=None, dtype=np.float32):
    """Return `value` as a C-contiguous array of `dtype` after checking it is a
    real float32/float64 array (not masked) with one of the allowed ranks, the
    expected last dimension, no empty axis and only finite values."""
    refuse_masked(name, value)
    if isinstance(value, np.ndarray):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError) as exc:
            raise TypeError(f"{name}: expected a numeric array, got {type(value).__name__} ({exc})") from None
    if arr.dtype not in (np.float32, np.float64):
        if arr.dtype.kind in "iu" and not isinstance(value, np.ndarray):
            arr = arr.astype(np.float64)  # a plain Python list of ints is fine
        else:
            raise TypeError(f"{name}: expected dtype float32 or float64, got {arr.dtype}")
    if arr.ndim not in ndims:
        want = " or ".join(f"{d}-D" for d in ndims)
        raise ValueError(f"{name}: expected a {want} array, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name}: expected a non-empty array, got shape {arr.shape}")
    if last_dim is not None and arr.shape[-1] != last_dim:
        raise ValueError(f"{name}: expected last dimension {last_dim}, got shape {arr.shape}")
    finite = np.isfinite(arr)
    if dtype == np.float32 and arr.dtype == np.float64:
        finite &= np.abs(arr) <= np.finfo(np.float32).max  # would overflow to inf
    if not finite.all():
        bad = tuple(int(i) for i in np.argwhere(~finite)[0])
        raise ValueError(f"{name}: expected finite values within float32 range, got {arr[bad]} at index {bad}")
    return np.ascontiguousarray(arr, dtype=dtype)


def lengths_array(name, value, batch, steps):
    """Valid steps per sequence: `batch` integers in 1..steps, as int32."""
    refuse_masked(name, value)
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" or arr.shape != (batch,):
        raise ValueError(f"{name}: expected {batch} integers (one per sequence), got "
                         f"dtype {arr.dtype} shape {arr.shape}")
    if arr.min() < 1 or arr.max() > steps:
        raise ValueError(f"{name}: expected values in 1..{steps}, got {arr.min()}..{arr.max()}")
    return np.ascontiguousarray(arr, dtype=np.int32)


def rng(name, seed):
    """np.random.default_rng(seed) for seed None, an integer >= 0 or a numpy
    Generator / SeedSequence / BitGenerator; anything else raises naming `name`
    (numpy's own messages name no argument)."""
    if seed is None or isinstance(seed, (np.random.Generator, np.random.SeedSequence, np.random.BitGenerator)):
        return np.random.default_rng(seed)
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"{name}: expected None or an integer >= 0, got {type(seed).__name__} {seed!r}")
    if int(seed) < 0:
        raise ValueError(f"{name}: expected None or an integer >= 0, got {int(seed)}")
    return np.random.default_rng(int(seed))
