"""The float path gives the same bits everywhere on the host: the Python
binding (with its run-time AVX2/AVX-512 dispatch) and plain C programs built
from the same sources with other compilers, optimisation levels and vector
widths. Cross targets are checked under QEMU in test_targets.py."""
import struct

import numpy as np
import pytest

import pygru
from conftest import C_TESTS, require_cpu, require_tool
from pygru.firmware.cbuild import C_SOURCES, build, run

RUN_MODEL = f"{C_TESTS}/run_model.c"
ACTIVATION_CODES = {None: 0, "sigmoid": 1, "tanh": 2, "softmax": 3}


def encode(model, X, return_sequences):
    """run_model.c's stdin: header ints, PyTorch-layout weights, inputs."""
    w = model.get_weights()
    ints = [model.num_layers, model.input_size, *model.hidden_sizes, *map(int, model.reset_after),
            int(model.output_size is not None), model.output_size or 0,
            ACTIVATION_CODES[model.output_activation], X.shape[0], X.shape[1], int(return_sequences)]
    parts = [struct.pack(f"<{len(ints)}i", *ints)]
    for l in range(model.num_layers):
        parts += [w[f"{k}_l{l}"].astype("<f4").tobytes() for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    if model.output_size is not None:
        parts += [w["head.weight"].astype("<f4").tobytes(), w["head.bias"].astype("<f4").tobytes()]
    parts.append(X.astype("<f4").tobytes())
    return b"".join(parts)


VARIANTS = {
    "gcc-O0-scalar": ("gcc", ["-O0"]),
    "gcc-O2-novec": ("gcc", ["-O2", "-fno-tree-vectorize"]),
    "gcc-O3-baseline": ("gcc", ["-O3", "-fno-wrapv"]),
    "gcc-O3-dispatch": ("gcc", ["-O3", "-DGRU_DISPATCH_X86"]),
    "gcc-O3-avx2": ("gcc", ["-O3", "-mavx2", "-mfma"]),  # FMA available but contraction off
    "gcc-O3-avx512": ("gcc", ["-O3", "-mavx512f", "-mfma"]),
    "clang-O3": ("clang", ["-O3"]),
    "clang-O3-avx2": ("clang", ["-O3", "-mavx2", "-mfma"]),
    "clang-O3-dispatch": ("clang", ["-O3", "-DGRU_DISPATCH_X86"]),  # the build CC=clang pip install makes
}


@pytest.fixture(scope="module")
def case():
    rng = np.random.default_rng(7)
    model = pygru.GRUModel(11, [45, 29], output_size=6, reset_after=[True, False], output_activation="softmax",
                           return_sequences=True, seed=7)
    model.set_weights({k: v * 1.7 for k, v in model.get_weights().items()})
    X = (rng.standard_normal((3, 100, 11)) * 2).astype(np.float32)
    return model, X, model.predict(X)


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_c_builds_match_binding_bit_for_bit(tmp_path, case, variant):
    cc, flags = VARIANTS[variant]
    require_tool(cc)
    needs = {"-mavx2": "avx2", "-mavx512f": "avx512f", "-mfma": "fma"}
    require_cpu(*[needs[f] for f in flags if f in needs])
    model, X, want = case
    exe = build([RUN_MODEL] + C_SOURCES, tmp_path / "run_model", flags, cc=[cc])
    got = np.frombuffer(run([exe], stdin=encode(model, X, True)), dtype="<f4").reshape(want.shape)
    mismatches = int((got.view(np.uint32) != want.view(np.uint32)).sum())
    assert mismatches == 0, f"{mismatches} of {want.size} outputs differ in their bits"
