"""Initial and final states: predict(initial_state=, return_state=) and
stream(initial_state=) against torch.nn.GRU(x, h0) -> (out, h_n) (float32,
<= 1e-5) and the float64 numpy reference, with padded batches, stacked layers
and both reset conventions."""
import numpy as np
import pytest

import pygru
import reference
from conftest import require_module


def _model(sizes, reset_after=True, head=None, seq=False, seed=0):
    return pygru.GRUModel(3, sizes, output_size=head, reset_after=reset_after, return_sequences=seq, seed=seed)


def _ref_states(model, X, h0, lengths):
    """float64 reference: per layer, run each sequence over its valid steps."""
    w = model.get_weights()
    B = X.shape[0]
    finals = []
    x = np.asarray(X, np.float64)
    for l in range(model.num_layers):
        out = np.zeros(x.shape[:2] + (model.hidden_sizes[l],))
        hl = np.zeros((B, model.hidden_sizes[l]))
        for b in range(B):
            L = X.shape[1] if lengths is None else lengths[b]
            o = reference.gru_layer(x[b:b + 1, :L], w[f"weight_ih_l{l}"], w[f"weight_hh_l{l}"], w[f"bias_ih_l{l}"],
                                    w[f"bias_hh_l{l}"], model.reset_after[l], None if h0 is None else h0[l][b:b + 1])
            out[b, :L] = o[0]
            out[b, L:] = o[0, -1]
            hl[b] = o[0, -1]
        finals.append(hl)
        x = out
    return x, finals


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("padded", [False, True])
def test_states_match_reference(reset_after, padded):
    rng = np.random.default_rng(1)
    model = _model([5, 4], reset_after, seq=True)
    X = rng.standard_normal((6, 7, 3)).astype(np.float32)
    h0 = [rng.standard_normal((6, 5)).astype(np.float32), rng.standard_normal((6, 4)).astype(np.float32)]
    lengths = [7, 3, 1, 5, 7, 2] if padded else None
    Y, hn = model.predict(X, lengths=lengths, initial_state=h0, return_state=True)
    seq_ref, finals = _ref_states(model, X, h0, lengths)
    assert isinstance(hn, list) and [h.shape for h in hn] == [(6, 5), (6, 4)]
    for got, want in zip(hn, finals):
        assert np.abs(got - want).max() <= 1e-5
    assert np.abs(Y - seq_ref).max() <= 1e-5


@pytest.mark.parametrize("head", [None, 2])
@pytest.mark.parametrize("seq", [False, True])
def test_outputs_same_bits_with_and_without_states(head, seq):
    rng = np.random.default_rng(2)
    model = _model([6, 6], head=head, seq=seq)
    X = rng.standard_normal((9, 5, 3)).astype(np.float32)
    lengths = rng.integers(1, 6, 9)
    Y0 = model.predict(X, lengths=lengths)
    Y1, hn = model.predict(X, lengths=lengths, return_state=True)
    assert np.array_equal(Y0, Y1)
    # a zero initial state is the default one, bit for bit
    Y2, hn2 = model.predict(X, lengths=lengths, initial_state=np.zeros((2, 9, 6)), return_state=True)
    assert np.array_equal(Y0, Y2) and np.array_equal(hn, hn2)
    assert hn.shape == (2, 9, 6)


def _torch_case(seed, hidden, num_layers, batch, steps, batch_first=True):
    """A seeded torch.nn.GRU(3, hidden, num_layers), pygru's import of it, and
    random inputs (batch, steps, 3) and initial state (num_layers, batch, hidden)."""
    torch = require_module("torch")
    torch.manual_seed(seed)
    gru = torch.nn.GRU(3, hidden, num_layers=num_layers, batch_first=batch_first)
    model = pygru.from_torch(gru)
    return torch, gru, model, torch.randn(batch, steps, 3), torch.randn(num_layers, batch, hidden)


@pytest.mark.parametrize("batch_first", [True, False])
def test_matches_torch_h0_and_h_n(batch_first):
    torch, gru, model, x, h0 = _torch_case(0, 5, 2, 4, 8, batch_first)
    with torch.no_grad():
        out, h_n = gru(x if batch_first else x.transpose(0, 1), h0)
    out = out if batch_first else out.transpose(0, 1)
    Y, hn = model.predict(x.numpy(), return_sequences=True, initial_state=h0.numpy(), return_state=True)
    assert np.abs(Y - out.numpy()).max() <= 1e-5
    assert np.abs(hn - h_n.numpy()).max() <= 1e-5


def test_matches_torch_packed_sequences():
    torch, gru, model, x, h0 = _torch_case(3, 4, 3, 5, 6)
    lengths = [6, 2, 4, 1, 5]
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    with torch.no_grad():
        _, h_n = gru(packed, h0)
    _, hn = model.predict(x.numpy(), lengths=lengths, initial_state=h0.numpy(), return_state=True)
    assert np.abs(hn - h_n.numpy()).max() <= 1e-5


def test_unbatched_and_stream_from_state():
    rng = np.random.default_rng(4)
    model = _model([4, 4], head=2, seq=True)
    X = rng.standard_normal((6, 3)).astype(np.float32)
    h0 = rng.standard_normal((2, 4)).astype(np.float32)
    Y, hn = model.predict(X, initial_state=h0, return_state=True)
    assert Y.shape == (6, 2) and hn.shape == (2, 4)
    s = model.stream(initial_state=h0)
    steps = np.stack([s.step(x) for x in X])
    # streaming is gru_sequence's arithmetic step by step: the same bits
    assert np.array_equal(steps, Y)
    assert np.array_equal(s.state, hn.reshape(-1))
    # continuing a stream from a returned state = running the whole sequence
    Y1, h1 = model.predict(X[:3], initial_state=h0, return_state=True)
    Y2, h2 = model.predict(X[3:], initial_state=h1, return_state=True)
    assert np.array_equal(np.concatenate([Y1, Y2]), Y) and np.array_equal(h2, hn)


@pytest.mark.parametrize("mode", ["int8", "integer"])
def test_quantized_initial_state(mode):
    rng = np.random.default_rng(5)
    model = _model([6, 6], head=2, seq=True)
    X = rng.standard_normal((5, 7, 3)).astype(np.float32)
    h0 = (0.5 * rng.standard_normal((2, 5, 6))).clip(-0.9, 0.9).astype(np.float32)
    lengths = [7, 2, 5, 7, 1]
    q = pygru.quantize(model, X, mode=mode)
    Y = q.predict(X, lengths=lengths, initial_state=h0)
    # the C path takes the state: it changes the result, towards the float model's
    assert not np.array_equal(Y, q.predict(X, lengths=lengths))
    assert np.abs(Y - model.predict(X, lengths=lengths, initial_state=h0)).max() < 0.1
    if mode == "integer":
        hq = np.clip(np.sign(h0) * np.floor(np.abs(h0 * 32768.0) + 0.5), -32767, 32767)
        hq = np.concatenate(list(hq), axis=1)
        from pygru.quantize import emulate_integer
        Yi = q.dequantize_output(emulate_integer(q, q.quantize_input(X), True, hq))
        full = q.predict(X, initial_state=h0)
        assert np.array_equal(full, Yi)  # bit-exact emulation of gru_qi_sequence from a state
    with pytest.raises(NotImplementedError, match="return_state: expected False for a quantized model .* no final state"):
        q.predict(X, return_state=True)
