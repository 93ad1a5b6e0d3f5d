"""The runtime's own tanh and sigmoid against float64 numpy: the maximum
absolute errors stated in gru.h are measured here."""
import numpy as np

from pygru import _core

TANH_MAX_ERROR = 2e-7     # documented in gru_c/include/gru.h
SIGMOID_MAX_ERROR = 1e-7


def sweep():
    """Every 61st float32 bit pattern in [0, 20] (about 18 million values), both
    signs, plus the region beyond where the functions saturate."""
    top = np.float32(20.0).view(np.uint32)
    pos = np.arange(0, top, 61, dtype=np.uint32).view(np.float32)
    far = np.linspace(20, 1e4, 1000, dtype=np.float32)
    x = np.concatenate([pos, far])
    return np.concatenate([x, -x])


def test_tanh_error_bound():
    x = sweep()
    err = np.abs(_core.activations(x, "tanh").astype(np.float64) - np.tanh(x.astype(np.float64)))
    assert err.max() <= TANH_MAX_ERROR, f"max error {err.max():.3g} at x={x[err.argmax()]!r}"


def test_sigmoid_error_bound():
    x = sweep()
    x64 = x.astype(np.float64)
    with np.errstate(over="ignore"):  # exp(1e4) is inf in float64 too; 1/(1+inf) = 0 is right
        want = 1.0 / (1.0 + np.exp(-x64))
    err = np.abs(_core.activations(x, "sigmoid").astype(np.float64) - want)
    assert err.max() <= SIGMOID_MAX_ERROR, f"max error {err.max():.3g} at x={x[err.argmax()]!r}"


def test_small_arguments_keep_relative_accuracy_of_the_bound():
    x = np.float32(2.0) ** -np.arange(1, 60, dtype=np.float32)
    t = _core.activations(x, "tanh")
    assert np.all(np.abs(t - np.tanh(x.astype(np.float64))) <= TANH_MAX_ERROR)
    assert np.all(t >= 0)
