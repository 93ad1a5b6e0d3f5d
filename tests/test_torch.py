"""pygru against PyTorch: committed golden vectors (tools/gen_golden_torch.py)
always, and a live torch.nn.GRU comparison whenever torch is importable."""
import os

import numpy as np
import pytest

import pygru
from conftest import require_module

GOLDEN = os.path.join(os.path.dirname(__file__), "golden", "torch_gru.npz")
TOL = 1e-5


def model_from_state(arrays, num_layers, head=True, activation=None, return_sequences=False):
    hidden = arrays["gru.weight_hh_l0"].shape[1]
    input_size = arrays["gru.weight_ih_l0"].shape[1]
    out = arrays["head.weight"].shape[0] if head else None
    model = pygru.GRUModel(input_size, [hidden] * num_layers, output_size=out, output_activation=activation,
                           return_sequences=return_sequences)
    weights = {k[len("gru."):]: v for k, v in arrays.items() if k.startswith("gru.")}
    if head:
        weights.update({k: arrays[k] for k in ("head.weight", "head.bias")})
    model.set_weights(weights)
    return model


def test_golden_sequence_and_head():
    with np.load(GOLDEN, allow_pickle=False) as data:
        g = {k: data[k] for k in data.files}
    seq_model = model_from_state(g, 2, head=False, return_sequences=True)
    np.testing.assert_allclose(seq_model.predict(g["x"]), g["sequence"], atol=TOL, rtol=0)
    np.testing.assert_allclose(model_from_state(g, 2).predict(g["x"]), g["logits"], atol=TOL, rtol=0)
    probs = model_from_state(g, 2, activation="softmax").predict(g["x"])
    np.testing.assert_allclose(probs, g["probs"], atol=TOL, rtol=0)


@pytest.mark.parametrize("input_size, hidden, layers, batch, steps", [(13, 37, 2, 5, 57), (1, 1, 1, 1, 1),
                                                                      (8, 64, 3, 3, 40), (40, 128, 1, 2, 30)])
def test_live_torch(input_size, hidden, layers, batch, steps):
    torch = require_module("torch", "pip install torch==2.13.0")
    torch.manual_seed(input_size * 1000 + hidden)
    gru = torch.nn.GRU(input_size, hidden, num_layers=layers, batch_first=True)
    head = torch.nn.Linear(hidden, 3)
    x = torch.randn(batch, steps, input_size) * 2
    with torch.no_grad():
        seq, h_n = gru(x)
        sig = torch.sigmoid(head(seq))
    arrays = {f"gru.{k}": v.numpy() for k, v in gru.state_dict().items()}
    arrays.update({f"head.{k}": v.numpy() for k, v in head.state_dict().items()})
    model = model_from_state(arrays, layers, head=False, return_sequences=True)
    np.testing.assert_allclose(model.predict(x.numpy()), seq.numpy(), atol=TOL, rtol=0)
    with_head = model_from_state(arrays, layers, activation="sigmoid", return_sequences=True)
    np.testing.assert_allclose(with_head.predict(x.numpy()), sig.numpy(), atol=TOL, rtol=0)
    # the stream's state after the sequence is torch's h_n, layer by layer
    s = model.stream()
    for t in range(steps):
        s.step(x.numpy()[-1, t])
    np.testing.assert_allclose(s.state, h_n[:, -1].reshape(-1).numpy(), atol=TOL, rtol=0)
