"""Float32 inference through the Python API, checked against the independent
float64 numpy GRU in reference.py (hypothesis explores shapes and lengths)."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import pygru
import reference as ref

TOL = 1e-5


def random_model(rng, input_size, hidden_sizes, output_size=None, activation=None, reset_after=True,
                 scale=1.0):
    model = pygru.GRUModel(input_size, hidden_sizes, output_size=output_size, reset_after=reset_after,
                           output_activation=activation, seed=int(rng.integers(1 << 30)))
    if scale != 1.0:
        model.set_weights({k: v * scale for k, v in model.get_weights().items()})
    return model


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), input_size=st.integers(1, 20),
       hidden=st.lists(st.integers(1, 70), min_size=1, max_size=3), batch=st.integers(1, 4),
       steps=st.integers(1, 40), reset_after=st.booleans(), head=st.sampled_from(
           [None, ("none", 3), ("sigmoid", 1), ("tanh", 4), ("softmax", 6)]),
       return_sequences=st.booleans())
def test_matches_numpy_reference(seed, input_size, hidden, batch, steps, reset_after, head, return_sequences):
    rng = np.random.default_rng(seed)
    out, act = (None, None) if head is None else (head[1], None if head[0] == "none" else head[0])
    model = random_model(rng, input_size, hidden, out, act, reset_after, scale=float(rng.uniform(0.5, 2.5)))
    X = rng.standard_normal((batch, steps, input_size)) * 2
    got = model.predict(X, return_sequences=return_sequences)
    want = ref.gru_model(X, model.get_weights(), len(hidden), reset_after, act, return_sequences)
    assert got.dtype == np.float32 and got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=TOL, rtol=0)


def test_mixed_reset_variants_per_layer():
    rng = np.random.default_rng(3)
    model = pygru.GRUModel(5, [9, 11, 4], reset_after=[True, False, True], seed=3)
    X = rng.standard_normal((3, 20, 5))
    want = ref.gru_model(X, model.get_weights(), 3, [True, False, True])
    np.testing.assert_allclose(model.predict(X), want, atol=TOL, rtol=0)


@pytest.mark.parametrize("reset_after", [True, False])
def test_stream_equals_predict_bit_for_bit(reset_after):
    rng = np.random.default_rng(1)
    model = random_model(rng, 7, [33, 18], 4, "softmax", reset_after)
    X = rng.standard_normal((2, 25, 7)).astype(np.float32)
    Y = model.predict(X, return_sequences=True)
    s = model.stream()
    for b in range(2):
        s.reset()
        for t in range(25):
            y = s.step(X[b, t])
            assert y.dtype == np.float32 and y.shape == (4,)
            assert np.array_equal(y.view(np.uint32), Y[b, t].view(np.uint32))
    # float64 and list inputs take the slow path and give the same answer
    s.reset()
    assert np.array_equal(s.step(X[0, 0].astype(np.float64)), Y[0, 0])
    s.reset()
    assert np.array_equal(s.step(list(map(float, X[0, 0]))), Y[0, 0])


def test_stream_state_roundtrip():
    model = pygru.GRUModel(3, [5, 6], seed=0)
    s = model.stream()
    x = np.ones(3, np.float32)
    s.step(x)
    saved = s.state
    assert saved.shape == (11,)
    a = s.step(x)
    s.state = saved
    assert np.array_equal(s.step(x), a)
    s.reset()
    assert not s.state.any()


def test_predict_2d_and_3d_agree_and_float64_input():
    model = pygru.GRUModel(4, 8, output_size=2, seed=5)
    X = np.random.default_rng(0).standard_normal((10, 4))
    assert np.array_equal(model.predict(X), model.predict(X[None])[0])
    assert np.array_equal(model.predict(X), model.predict(X.astype(np.float32)))
    assert model.predict(X).shape == (2,)
    seq = pygru.GRUModel(4, 8, output_size=2, return_sequences=True, seed=5)
    assert seq.predict(X).shape == (10, 2)


def test_non_contiguous_input_is_accepted():
    model = pygru.GRUModel(4, 8, seed=5)
    X = np.random.default_rng(0).standard_normal((6, 10, 8))[:, ::2, ::2]
    assert not X.flags.c_contiguous
    assert np.array_equal(model.predict(X), model.predict(np.ascontiguousarray(X)))


def test_weights_roundtrip_and_names():
    model = pygru.GRUModel(3, [4, 5], output_size=2, seed=1)
    w = model.get_weights()
    assert sorted(w) == sorted(["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                                "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1",
                                "head.weight", "head.bias"])
    assert w["weight_ih_l0"].shape == (12, 3) and w["weight_hh_l1"].shape == (15, 5)
    other = pygru.GRUModel(3, [4, 5], output_size=2, seed=2)
    X = np.random.default_rng(0).standard_normal((2, 6, 3))
    assert not np.array_equal(other.predict(X), model.predict(X))
    other.set_weights(w)
    assert np.array_equal(other.predict(X), model.predict(X))
    w["weight_ih_l0"][:] = 0  # get_weights returns copies
    assert model.get_weights()["weight_ih_l0"].any()


def test_seed_is_deterministic():
    a = pygru.GRUModel(3, 7, output_size=2, seed=11).get_weights()
    b = pygru.GRUModel(3, 7, output_size=2, seed=11).get_weights()
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_save_load_roundtrip(tmp_path):
    model = pygru.GRUModel(3, [6, 4], output_size=3, reset_after=[False, True], output_activation="softmax",
                           return_sequences=True, seed=4)
    path = tmp_path / "m.npz"
    model.save(path)
    loaded = pygru.load(path)
    assert loaded.config() == model.config()
    X = np.random.default_rng(1).standard_normal((2, 9, 3))
    assert np.array_equal(loaded.predict(X), model.predict(X))
    assert [p.name for p in tmp_path.iterdir()] == ["m.npz"]  # no temporary left behind
    with np.load(path, allow_pickle=False) as data:  # readable without pickle
        assert int(data["__format_version__"]) == pygru.FORMAT_VERSION


def test_c_include_dir_has_the_sources():
    import os
    assert os.path.isfile(os.path.join(pygru.c_include_dir(), "gru.h"))
    assert os.path.isfile(os.path.join(pygru.c_source_dir(), "src", "gru_forward.c"))


def test_packed_weights_and_stream_buffers_are_cache_line_aligned():
    # gru.h recommends GRU_WEIGHT_ALIGN (64-byte) placement: numpy alone gives
    # 16 bytes, and misaligned weights made a (16, 32) step ~15% slower.
    from pygru import _core
    model = pygru.GRUModel(13, [37, 24], output_size=5, seed=3)
    native = model._native_model()
    arrays = native.packed_arrays()
    assert len(arrays) == 2 * 5 + 2
    assert all(a.ctypes.data % 64 == 0 for a in arrays)
    for n in (1, 7, 100, 1001):
        a = _core.aligned_zeros(n)
        assert a.ctypes.data % 64 == 0 and a.shape == (n,) and a.dtype == np.float32
        assert not a.any()
    # Alignment changes no result: the stream still equals predict bit for bit.
    X = np.random.default_rng(0).standard_normal((9, 13)).astype(np.float32)
    s = model.stream()
    np.testing.assert_array_equal(np.stack([s.step(x) for x in X]), model.predict(X, return_sequences=True))


def test_stream_step_out_writes_the_same_values_into_the_callers_array():
    model = pygru.GRUModel(7, [11], output_size=3, output_activation="softmax", seed=4)
    X = np.random.default_rng(1).standard_normal((6, 7)).astype(np.float32)
    a, b = model.stream(), model.stream()
    out = np.full(3, np.nan, np.float32)
    for x in X:
        want = a.step(x)
        got = b.step(x, out)
        assert got is out
        np.testing.assert_array_equal(out, want)


@pytest.mark.parametrize("return_sequences", [False, True])
def test_predict_with_lengths_equals_each_sequence_cut_to_its_length(return_sequences):
    model = pygru.GRUModel(5, [9, 6], output_size=3, output_activation="tanh", seed=2)
    X = np.random.default_rng(3).standard_normal((7, 12, 5)).astype(np.float32)
    lengths = np.array([12, 1, 5, 12, 7, 5, 2])
    Y = model.predict(X, return_sequences=return_sequences, lengths=lengths)
    for b, L in enumerate(lengths):
        own = model.predict(X[b, :L], return_sequences=return_sequences)
        if return_sequences:
            np.testing.assert_array_equal(Y[b, :L], own)
            np.testing.assert_array_equal(Y[b, L:], np.repeat(own[-1:], 12 - L, axis=0))
        else:
            np.testing.assert_array_equal(Y[b], own)
        # and the independent float64 reference on the cut sequence
        want = ref.gru_model(X[b:b + 1, :L].astype(np.float64), model.get_weights(), 2, True, "tanh",
                             return_sequences)[0]
        np.testing.assert_allclose(Y[b, :L] if return_sequences else Y[b], want, atol=1e-5)
    # The training forward holds the state at padding steps: same outputs, bit for bit.
    from pygru import training
    trainer = training.make_trainer(model, 7, 12, return_sequences=return_sequences)
    y_train, _ = trainer.forward(X, np.ascontiguousarray(lengths, np.int32))
    np.testing.assert_array_equal(Y, y_train)
    # 2-D input takes one int; bad lengths name the argument
    np.testing.assert_array_equal(model.predict(X[2], return_sequences=return_sequences, lengths=5), Y[2])
    with pytest.raises(ValueError, match=r"^lengths: expected values in 1\.\.12, got 0\.\.12"):
        model.predict(X, lengths=[0, 1, 5, 12, 7, 5, 2])
    with pytest.raises(ValueError, match=r"^lengths: expected 7 integers"):
        model.predict(X, lengths=[3.0] * 7)
