"""Regenerate tests/golden/training_torch.npz: PyTorch (float64 autograd)
losses and gradients, and torch.optim updates, for the training tests on
machines without torch.

    python tools/gen_golden_training.py

Each case stores its inputs (weights in PyTorch layout, X, y, lengths, h0) and
PyTorch's results; the tests run pygru on the same inputs. Never hand-edit the
output: rerun this script.
"""
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from train_helpers import torch_loss_and_grads, torch_optimizer_step  # noqa: E402

# (name, input, hidden sizes, output size or None, reset_after per layer, activation,
#  return_sequences, loss, use lengths)
CASES = [
    ("ra_2layer_mse_lengths", 5, [7, 6], 3, [True, True], "tanh", False, "mse", True),
    ("rb_2layer_mse_lengths", 5, [7, 6], 3, [False, False], None, False, "mse", True),
    ("mixed_seq_ce_lengths", 4, [6, 5], 3, [True, False], None, True, "cross_entropy", True),
    ("rb_seq_mse_nohead", 3, [5], None, [False], None, True, "mse", False),
    ("ra_ce_sigmoidfree", 4, [9], 4, [True], None, False, "cross_entropy", False),
    ("ra_mse_sigmoid", 4, [6], 2, [True], "sigmoid", False, "mse", False),
]


def make_case(rng, I, hidden, O, ra, act, seq, loss, use_lengths, B=4, T=6):
    w = {}
    size_in = I
    for l, H in enumerate(hidden):
        s = 1 / np.sqrt(H)
        w[f"weight_ih_l{l}"] = rng.uniform(-s, s, (3 * H, size_in)).astype(np.float32)
        w[f"weight_hh_l{l}"] = rng.uniform(-s, s, (3 * H, H)).astype(np.float32)
        w[f"bias_ih_l{l}"] = rng.uniform(-s, s, 3 * H).astype(np.float32)
        w[f"bias_hh_l{l}"] = rng.uniform(-s, s, 3 * H).astype(np.float32)
        size_in = H
    if O is not None:
        s = 1 / np.sqrt(hidden[-1])
        w["head.weight"] = rng.uniform(-s, s, (O, hidden[-1])).astype(np.float32)
        w["head.bias"] = rng.uniform(-s, s, O).astype(np.float32)
    out = O if O is not None else hidden[-1]
    X = rng.normal(size=(B, T, I)).astype(np.float32)
    lengths = np.array([T, 3, 1, T - 1], np.int32) if use_lengths else None
    if loss == "mse":
        y = rng.normal(size=(B, T, out) if seq else (B, out)).astype(np.float32)
    else:
        y = rng.integers(0, out, size=(B, T) if seq else (B,)).astype(np.int32)
    h0 = (0.5 * rng.normal(size=(B, sum(hidden)))).astype(np.float32)
    return w, X, y, lengths, h0


def main():
    rng = np.random.default_rng(20261126)
    arrays = {}
    meta = []
    for name, I, hidden, O, ra, act, seq, loss, use_lengths in CASES:
        w, X, y, lengths, h0 = make_case(rng, I, hidden, O, ra, act, seq, loss, use_lengths)
        value, grads, gx, gh0 = torch_loss_and_grads(w, X, y, loss, lengths, len(hidden), ra, act,
                                                     seq, h0=h0)
        for k, v in w.items():
            arrays[f"{name}/w/{k}"] = v
        for k, v in grads.items():
            arrays[f"{name}/grad/{k}"] = v
        arrays[f"{name}/X"], arrays[f"{name}/y"], arrays[f"{name}/h0"] = X, y, h0
        if lengths is not None:
            arrays[f"{name}/lengths"] = lengths
        arrays[f"{name}/loss"] = np.array(value)
        arrays[f"{name}/grad_x"], arrays[f"{name}/grad_h0"] = gx, gh0
        meta.append({"name": name, "input_size": I, "hidden_sizes": hidden, "output_size": O,
                     "reset_after": ra, "output_activation": act, "return_sequences": seq,
                     "loss": loss})
    # Optimizers: a few steps from fixed gradients.
    params = {"a": rng.normal(size=(7, 5)).astype(np.float32), "b": rng.normal(size=11).astype(np.float32)}
    grads = [{k: rng.normal(size=v.shape).astype(np.float32) for k, v in params.items()} for _ in range(3)]
    for k, v in params.items():
        arrays[f"optim/params/{k}"] = v
        for s in range(3):
            arrays[f"optim/grads{s}/{k}"] = grads[s][k]
    optim = [("adam", {"lr": 1e-2}), ("adam", {"lr": 3e-3, "weight_decay": 0.1}),
             ("adamw", {"lr": 1e-2, "weight_decay": 0.05}),
             ("sgd", {"lr": 0.1, "momentum": 0.9}), ("sgd", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.01})]
    for i, (kind, kw) in enumerate(optim):
        for steps in (1, 3):
            out = torch_optimizer_step(kind, params, grads, steps, **kw)
            for k, v in out.items():
                arrays[f"optim/{i}/{steps}/{k}"] = v
    arrays["__meta__"] = np.array(json.dumps({"cases": meta, "optim": optim}))
    path = os.path.join(ROOT, "tests", "golden", "training_torch.npz")
    np.savez_compressed(path, **arrays)
    print(f"wrote {path}: {len(meta)} gradient cases, {len(optim)} optimizer settings")


if __name__ == "__main__":
    main()
