"""An oracle for the quantized paths that is not pygru's own emulation.

Written from the documented contract (gru_c/include/gru_quant.h, the module
docstring of pygru/quantize.py) without calling pygru.quantize.emulate_integer,
qi_tanh / qi_sigmoid or the private quantizer helpers:

- mode "int8": a float64 GRU over the dequantized weights (q[j][k] * scale[j]),
  run one step at a time from the C state (teacher forcing, so no error
  compounds), with a first-order forward error bound of the float32 arithmetic
  the C code does, carried beside every value. The C result must lie within
  that bound (a few 1e-7 here), where the older check allowed 0.01.
- mode "integer": the integer arithmetic itself, in float64 wherever that is
  exact (every product and sum of a matrix row stays below 2^31 < 2^53) and in
  Python integers for the one product that is not (acc * mult, up to 2^62).
  The C results must be equal, bit for bit: every operation of the contract is
  computed exactly here, so any difference is a bug on one side.
- the quantizer itself: round to nearest (within half a step of the true
  value), the largest |weight| of a row at +-127, multipliers and shifts with
  the documented range and rounding, biases in Q.12, the input scale from the
  calibration data.

Teeth, checked by running this file with pygru.quantize's helpers replaced
(monkeypatched, never committed): a row quantizer that floors instead of
rounding fails both test_row_quantization_* tests; one that scales by
amax/128 also fails the multiplier tests; a truncated multiplier or a
floored bias fails test_integer_multipliers_shifts_and_biases_as_specified.
test_quant.py (its QEMU, exhaustive, accuracy and forced-kernel tests not
run) passed with each of those four.
"""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pygru
from pygru import _core as _quant

U32 = 2.0 ** -24            # unit roundoff of float32
PRE_FRAC, STATE_FRAC = 12, 15
PRE_MAX = 1 << 24
# gru__sigmoid / gru__tanh (gru_c/src/gru_internal.h): exp within about 1 ulp,
# then an add, a divide (and for tanh a doubling and 1 - q): a few roundings,
# each at most U32 relative; sigmoid <= 1, |tanh| <= 1, so absolute errors are
# bounded by a small multiple of U32. 8 of them leaves room for exp's 1-2 ulp.
ACT_ERR = 8 * U32
ACTIVATIONS = [None, "sigmoid", "tanh", "softmax"]

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------ random models


def _random_case(seed, I, hidden, out, act, ra, w_gain, x_gain, T=8, B=2):
    model = pygru.GRUModel(I, hidden, output_size=out, output_activation=act, reset_after=ra, seed=seed)
    rng = np.random.default_rng(seed + 7)
    w = model.get_weights()
    for k in w:
        w[k] = (w[k] * w_gain).astype(np.float32)
    if rng.random() < 0.5:               # an all-zero row somewhere: scale 0
        w["weight_ih_l0"][rng.integers(w["weight_ih_l0"].shape[0])] = 0.0
    model.set_weights(w)
    X = (rng.standard_normal((B, T, I)) * x_gain).astype(np.float32)
    return model, X


case_strategy = st.builds(
    dict,
    seed=st.integers(0, 10_000),
    I=st.integers(1, 40),
    hidden=st.lists(st.integers(1, 40), min_size=1, max_size=2),
    head=st.sampled_from(["none"] + ACTIVATIONS),
    ra=st.lists(st.booleans(), min_size=2, max_size=2),
    w_gain=st.sampled_from([0.3, 1.0, 3.0, 8.0]),
    x_gain=st.sampled_from([0.1, 1.0, 4.0]),
)


def _build(c):
    hidden = c["hidden"]
    out = None if c["head"] == "none" else 3
    act = None if c["head"] == "none" else c["head"]
    ra = c["ra"][:len(hidden)]
    return _random_case(c["seed"], c["I"], hidden, out, act, ra, c["w_gain"], c["x_gain"])


# ------------------------------------------------------------------ mode int8: float64 model + error bound


def _deq(q, scale):
    return np.asarray(q, np.float64) * np.asarray(scale, np.float64)[:, None]


def _q8_affine(q, scale, bias, x, ex=None):
    """bias + scale * (q . x) in float64 and the bound of |C - exact| for the
    float32 evaluation: (n + 2) roundings in the column-order sum, the scale
    product and the bias add (gru_quant.h), each at most U32 relative to the
    magnitudes involved; ex bounds the error already in x (propagated
    linearly)."""
    q = np.asarray(q, np.float64)
    s = np.asarray(scale, np.float64)
    b = np.asarray(bias, np.float64)
    x = np.asarray(x, np.float64)
    n = q.shape[1]
    mag = np.abs(q) @ np.abs(x)
    val = b + _deq(q, s) @ x
    err = (n + 3) * U32 * (np.abs(b) + np.abs(s) * mag)
    if ex is not None:
        err = err + np.abs(s) * (np.abs(q) @ ex)
    return val, err


def _sig(v):
    return 1.0 / (1.0 + np.exp(-v))


def _dsig(a, e):
    """The largest sigmoid' on [a - e, a + e] (mean value theorem; sigmoid'
    falls with |a|), so that error bound times it bounds the error after."""
    s = _sig(np.maximum(np.abs(a) - e, 0.0))
    return s * (1.0 - s)


def _dtanh(a, e):
    return 1.0 - np.tanh(np.maximum(np.abs(a) - e, 0.0)) ** 2


def _q8_layer(p, l, H, ra, x, h):
    """One int8-mode layer step in float64 from (x, h), both exact floats of the
    C run. Returns (h', bound on |h'_C - h'|)."""
    w_hh, s_hh, b_hh = p[f"w_hh_l{l}"], p[f"s_hh_l{l}"], p[f"b_hh_l{l}"]
    gi, e_gi = _q8_affine(p[f"w_ih_l{l}"], p[f"s_ih_l{l}"], p[f"b_ih_l{l}"], x)
    gh, e_gh = _q8_affine(w_hh[:2 * H], s_hh[:2 * H], b_hh[:2 * H], h)
    a_r, a_z = gi[:H] + gh[:H], gi[H:2 * H] + gh[H:2 * H]
    r, z = _sig(a_r), _sig(a_z)
    # The sum of the two products adds one rounding.
    e_ar = e_gi[:H] + e_gh[:H] + U32 * np.abs(a_r)
    e_az = e_gi[H:2 * H] + e_gh[H:2 * H] + U32 * np.abs(a_z)
    e_r = _dsig(a_r, e_ar) * e_ar + ACT_ERR
    e_z = _dsig(a_z, e_az) * e_az + ACT_ERR
    if ra:
        ghn, e_ghn = _q8_affine(w_hh[2 * H:], s_hh[2 * H:], b_hh[2 * H:], h)
        prod = r * ghn
        a_n = gi[2 * H:] + prod
        e_a = e_gi[2 * H:] + np.abs(r) * e_ghn + np.abs(ghn) * e_r + U32 * (np.abs(prod) + np.abs(a_n))
    else:
        rh = r * h
        e_rh = np.abs(h) * e_r + U32 * np.abs(rh)
        ghn, e_ghn = _q8_affine(w_hh[2 * H:], s_hh[2 * H:], b_hh[2 * H:], rh, e_rh)
        a_n = gi[2 * H:] + ghn
        e_a = e_gi[2 * H:] + e_ghn + U32 * np.abs(a_n)
    n = np.tanh(a_n)
    e_n = _dtanh(a_n, e_a) * e_a + ACT_ERR
    hn = (1.0 - z) * n + z * h
    # (1 - z) * n + z * h: four roundings (1 - z, two products, the sum).
    e_h = (np.abs(n) + np.abs(h)) * e_z + np.abs(1.0 - z) * e_n \
        + U32 * (np.abs(1.0 - z) * (1 + np.abs(n)) + 2 * np.abs(z * h) + np.abs(hn)) + 1e-12
    return hn, e_h


def _q8_head(p, act, x):
    y, e = _q8_affine(p["head.weight"], p["head.scale"], p["head.bias"], x)
    if act == "sigmoid":
        return _sig(y), _dsig(y, e) * e + ACT_ERR
    if act == "tanh":
        return np.tanh(y), _dtanh(y, e) * e + ACT_ERR
    if act == "softmax":
        ex = np.exp(y - y.max())
        prob = ex / ex.sum()
        # The softmax Jacobian's rows sum (in absolute value) to 2 p (1 - p) <= 1/2;
        # the float32 evaluation: exp (about 2 ulp), the n-term sum, the divide.
        return prob, 0.5 * e.max() + (len(y) + 4) * U32 * prob + ACT_ERR
    return y, e


def _q8_excess(q8, X, p=None):
    """Run q8's C stream over X and, at every step, the oracle (over params p,
    default q8's own) from the C state before it. Returns (max over every
    value of |C - oracle| / bound, max bound)."""
    p = q8.params if p is None else p
    Hs = q8.hidden_sizes
    excess, worst = 0.0, 0.0
    for b in range(X.shape[0]):
        s = q8.stream()
        state = s.state.astype(np.float64)
        for t in range(X.shape[1]):
            x = X[b, t]
            y = s.step(x).astype(np.float64)
            new = s.state.astype(np.float64)
            inp, off = x.astype(np.float64), 0
            for l, H in enumerate(Hs):
                h_or, e = _q8_layer(p, l, H, q8.reset_after[l], inp, state[off:off + H])
                got = new[off:off + H]
                excess = max(excess, float((np.abs(got - h_or) / e).max()))
                worst = max(worst, float(e.max()))
                inp, off = got, off + H
            if q8.output_size is not None:
                y_or, e = _q8_head(p, q8.output_activation, inp)
                excess = max(excess, float((np.abs(y - y_or) / e).max()))
            else:
                np.testing.assert_array_equal(y, inp)
            state = new
    return excess, worst


@SETTINGS
@given(case_strategy)
def test_int8_step_within_float32_error_bound_of_float64_model(c):
    model, X = _build(c)
    excess, worst = _q8_excess(pygru.quantize(model, X, mode="int8"), X)
    assert excess <= 1.0, f"|C - oracle| is {excess:.3g} times the float32 error bound"
    # The bound itself: float32's n u |sums|, so it grows with the gains; at
    # PyTorch's initialisation and unit inputs it stays below 2e-5.
    assert worst < (2e-5 if c["w_gain"] <= 1 and c["x_gain"] <= 1 else 1e-3), worst


def test_int8_bound_is_tight_enough_to_see_a_one_step_weight_change():
    """The bound is not vacuous: an oracle whose weights differ from the C
    model's by one int8 step in one place no longer agrees with C."""
    model, X = _random_case(3, 12, [24], 3, "softmax", True, 1.0, 1.0)
    q8 = pygru.quantize(model, X, mode="int8")
    assert _q8_excess(q8, X)[0] <= 1.0
    p = dict(q8.params)
    for key, (j, k) in (("w_ih_l0", (5, 3)), ("w_hh_l0", (60, 7)), ("head.weight", (1, 20))):
        p_bad = dict(p)
        p_bad[key] = p[key].copy()
        p_bad[key][j, k] += 1 if p[key][j, k] < 127 else -1
        assert _q8_excess(q8, X, p_bad)[0] > 10.0, key


# ------------------------------------------------------------------ mode integer: exact model


def _tanh_table():
    """tanh(k/64), k = 0..512, in Q0.15: round to nearest, capped at 32767
    (gru_quant.h: 513 entries on [0, 8], step 1/64)."""
    return np.array([min(math.floor(math.tanh(k / 64.0) * 32768.0 + 0.5), 32767) for k in range(513)],
                    np.float64)


TABLE = _tanh_table()


def _rnd(v, s):
    """v / 2^s rounded half away from zero, on the magnitude (float64 exact for
    |v| < 2^53, which every caller keeps to)."""
    v = np.asarray(v, np.float64)
    return np.sign(v) * np.floor((np.abs(v) + 2.0 ** (s - 1)) / 2.0 ** s)


def _tanh_mag(a, frac):
    """tanh of magnitudes a with `frac` fractional bits, Q0.15: the table entry
    below and linear interpolation to the next, the fraction's product
    rounded to nearest (halves up: it is non-negative); 8.0 and beyond
    saturate at the last entry."""
    a = np.asarray(a, np.float64)
    seg = frac - 6
    i = np.minimum(np.floor(a / 2.0 ** seg), 511).astype(np.int64)
    f = a - i * 2.0 ** seg
    t0, t1 = TABLE[i], TABLE[i + 1]
    t = t0 + np.floor(((t1 - t0) * f + 2.0 ** (seg - 1)) / 2.0 ** seg)
    return np.where(a >= 8 * 2.0 ** frac, TABLE[-1], t)


def qi_tanh_oracle(x):
    """Q.12 -> Q0.15, odd."""
    x = np.asarray(x, np.float64)
    return np.sign(x) * _tanh_mag(np.abs(x), PRE_FRAC)


def qi_sigmoid_oracle(x):
    """(1 + tanh(x / 2)) / 2 with x / 2 read as Q.13, floored to Q0.15."""
    x = np.asarray(x, np.float64)
    return np.floor((32768.0 + np.sign(x) * _tanh_mag(np.abs(x), PRE_FRAC + 1)) / 2.0)


def _requant(q, mult, shift, bias, v):
    """clamp(rnd(acc * mult, shift) + bias, +-2^24), acc = q . v. The dot
    product in float64 is exact (|acc| <= 511 * 128 * 32768 < 2^31); the
    product with mult (< 2^62) is taken in Python integers."""
    acc = np.asarray(q, np.float64) @ np.asarray(v, np.float64)
    assert np.all(np.abs(acc) < 2.0 ** 31)
    out = np.empty(len(acc))
    for j, a in enumerate(acc):
        s = min(max(int(shift[j]), 1), 62)
        prod = int(a) * int(mult[j])
        mag = (abs(prod) + (1 << (s - 1))) >> s
        out[j] = (mag if prod >= 0 else -mag) + int(bias[j])
    return np.clip(out, -PRE_MAX, PRE_MAX)


def _qi_layer(p, l, H, ra, x, h):
    w_hh, m_hh, sh_hh, b_hh = p[f"w_hh_l{l}"], p[f"m_hh_l{l}"], p[f"sh_hh_l{l}"], p[f"b_hh_l{l}"]
    gi = _requant(p[f"w_ih_l{l}"], p[f"m_ih_l{l}"], p[f"sh_ih_l{l}"], p[f"b_ih_l{l}"], x)
    gh = _requant(w_hh[:2 * H], m_hh[:2 * H], sh_hh[:2 * H], b_hh[:2 * H], h)
    r = qi_sigmoid_oracle(gi[:H] + gh[:H])
    z = qi_sigmoid_oracle(gi[H:2 * H] + gh[H:2 * H])
    if ra:
        ghn = _requant(w_hh[2 * H:], m_hh[2 * H:], sh_hh[2 * H:], b_hh[2 * H:], h)
        n = qi_tanh_oracle(gi[2 * H:] + _rnd(r * ghn, 15))   # |r * ghn| < 2^40: exact
    else:
        ghn = _requant(w_hh[2 * H:], m_hh[2 * H:], sh_hh[2 * H:], b_hh[2 * H:], _rnd(r * h, 15))
        n = qi_tanh_oracle(gi[2 * H:] + ghn)
    return n + _rnd(z * (h - n), 15)


# The head's activation on its integer accumulators; None and softmax leave
# them as they are (softmax is applied to the dequantized outputs).
HEAD_ACTIVATIONS = {"sigmoid": qi_sigmoid_oracle, "tanh": qi_tanh_oracle}


def _qi_head(qmodel, h):
    """The model's output for the top layer's state h: the dense head, or h."""
    if qmodel.output_size is None:
        return h
    p = qmodel.params
    y = _requant(p["head.weight"], p["head.mult"], p["head.shift"], p["head.bias"], h)
    act = HEAD_ACTIVATIONS.get(qmodel.output_activation)
    return y if act is None else act(y)


def qi_oracle(qmodel, Xq):
    """(B, T, O) integer outputs of the whole model, float64 holding integers."""
    p = qmodel.params
    Hs = qmodel.hidden_sizes
    B, T, _ = Xq.shape
    Y = []
    for b in range(B):
        hs = [np.zeros(H) for H in Hs]
        ys = []
        for t in range(T):
            inp = Xq[b, t].astype(np.float64)
            for l, H in enumerate(Hs):
                hs[l] = _qi_layer(p, l, H, qmodel.reset_after[l], inp, hs[l])
                assert np.all(np.abs(hs[l]) <= 32767)
                inp = hs[l]
            ys.append(_qi_head(qmodel, inp))
        Y.append(ys)
    return np.array(Y)


def _quantize_input_oracle(X, scale):
    v = np.asarray(X, np.float64) / scale
    return np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5), -32767, 32767)


def test_tanh_table_is_rounded_tanh():
    np.testing.assert_array_equal(_quant.qi_table().astype(np.float64), TABLE)


def test_fixed_point_activations_equal_the_documented_interpolation_everywhere():
    x = np.concatenate([np.arange(-2 ** 16, 2 ** 16 + 1), [-2 ** 24, -40000, 40000, 2 ** 24],
                        np.random.default_rng(0).integers(-2 ** 24, 2 ** 24, 5000)])
    np.testing.assert_array_equal(_quant.qi_activation(x, "tanh").astype(np.float64), qi_tanh_oracle(x))
    np.testing.assert_array_equal(_quant.qi_activation(x, "sigmoid").astype(np.float64), qi_sigmoid_oracle(x))


def _check_qi(model, X, calib=None):
    qi = pygru.quantize(model, X if calib is None else calib, mode="integer")
    Xq = qi.quantize_input(X)
    np.testing.assert_array_equal(Xq.astype(np.float64), _quantize_input_oracle(X, qi.input_scale))
    want = qi_oracle(qi, Xq)
    np.testing.assert_array_equal(qi.predict_int(Xq, return_sequences=True).astype(np.float64), want)
    s = qi._native_model()
    stream = _quant.QIStream(s)
    for t in range(X.shape[1]):
        np.testing.assert_array_equal(stream.step(Xq[0, t]).astype(np.float64), want[0, t])
    # The float surface: outputs / 2^frac (softmax applied in float).
    y = want[:, -1] / float(1 << qi.output_frac_bits)
    if qi.output_size is not None and qi.output_activation == "softmax":
        e = np.exp(y - y.max(axis=-1, keepdims=True))
        y = e / e.sum(axis=-1, keepdims=True)
    np.testing.assert_allclose(qi.predict(X), y, rtol=2 * U32, atol=2 * U32)
    return qi, want


@SETTINGS
@given(case_strategy, st.booleans())
def test_integer_path_equals_exact_model(c, narrow_calibration):
    model, X = _build(c)
    # A calibration set smaller than the inputs makes some inputs saturate.
    _check_qi(model, X, X[:, :2] * 0.5 if narrow_calibration else None)


@pytest.mark.parametrize("I,H", [(511, 17), (64, 511)])
def test_integer_path_equals_exact_model_at_the_size_limit(I, H):
    """GRU_QI_MAX_DIM columns, where the accumulator bound is tightest."""
    model, X = _random_case(5, I, [H], 4, "tanh", False, 3.0, 2.0, T=3, B=1)
    _check_qi(model, X)


def test_integer_path_saturates_exactly():
    """Pre-activations beyond the table (|x| >= 8) and the Q.12 clamp."""
    model, X = _random_case(9, 6, [20], 2, "sigmoid", True, 1.0, 1.0)
    w = model.get_weights()
    w["bias_ih_l0"][:10] = 5000.0
    w["bias_hh_l0"][20:30] = -5000.0
    w["weight_hh_l0"] *= 40.0
    model.set_weights(w)
    qi, want = _check_qi(model, X * 30)
    assert np.abs(qi.params["b_ih_l0"]).max() == PRE_MAX      # the bias alone is clamped
    gi = _requant(qi.params["w_ih_l0"], qi.params["m_ih_l0"], qi.params["sh_ih_l0"], qi.params["b_ih_l0"],
                  qi.quantize_input(X * 30)[0, 0])
    assert np.abs(gi).max() == PRE_MAX and np.abs(gi).min() < PRE_MAX


# ------------------------------------------------------------------ the quantizer


def _row_check(w, q, what):
    """Symmetric per-row int8 as documented: scale = max|row| / 127, q =
    w / scale rounded to nearest (so within half a step), the largest |w| of
    every non-zero row at +-127, zero rows all zero."""
    w = np.asarray(w, np.float64)
    q = np.asarray(q)
    assert q.dtype == np.int8, what
    amax = np.abs(w).max(axis=1)
    scale = amax / 127.0
    nz = amax > 0
    assert np.all(q[~nz] == 0), what
    ratio = w[nz] / scale[nz, None]
    # Half a step, plus the rounding of the float64 division itself.
    err = np.abs(ratio - q[nz])
    assert np.all(err <= 0.5 + 1e-9), (what, float(err.max()))
    top = np.abs(q[nz]).max(axis=1)
    assert np.all(top == 127), (what, top.min())
    arg = np.abs(w[nz]).argmax(axis=1)
    assert np.all(np.abs(q[nz][np.arange(nz.sum()), arg]) == 127), what
    return scale


def _matrices(model):
    w = model.get_weights()
    names = [f"{k}_l{l}" for l in range(model.num_layers) for k in ("ih", "hh")]
    out = [(f"w_{n}", w[f"weight_{n}"]) for n in names]
    if model.output_size is not None:
        out.append(("head.weight", w["head.weight"]))
    return out


@SETTINGS
@given(case_strategy)
def test_row_quantization_rounds_to_nearest_and_uses_127(c):
    model, X = _build(c)
    q8 = pygru.quantize(model, X, mode="int8")
    qi = pygru.quantize(model, X, mode="integer")
    for name, w in _matrices(model):
        scale = _row_check(w, q8.params[name], name)
        np.testing.assert_array_equal(qi.params[name], q8.params[name])
        skey = "head.scale" if name == "head.weight" else "s_" + name[2:]
        # The stored float32 scale is amax / 127 rounded once to float32.
        np.testing.assert_array_equal(q8.params[skey], scale.astype(np.float32))


def test_row_quantization_of_a_known_matrix():
    """Hand-computed: row max 1.27 gives scale 0.01, so 0.004 -> 0 and 0.006
    -> 1 (to nearest, not floor), -0.62 -> -62, 1.27 -> 127; an all-zero row
    gives scale 0; row max 2.0 gives 127/2 per unit: 0.9 -> 57.15 -> 57,
    0.51 -> 32.4 -> 32, -0.49 -> -31.1 -> -31."""
    model = pygru.GRUModel(4, [1], seed=0)
    w = model.get_weights()
    w["weight_ih_l0"] = np.array([[0.004, 0.006, -0.62, 1.27],
                                  [0.0, 0.0, 0.0, 0.0],
                                  [-2.0, 0.9, 0.51, -0.49]], np.float32)
    model.set_weights(w)
    q = pygru.quantize(model, np.ones((1, 2, 4), np.float32), mode="int8")
    np.testing.assert_array_equal(q.params["w_ih_l0"], [[0, 1, -62, 127], [0, 0, 0, 0], [-127, 57, 32, -31]])
    amax = np.array([np.float32(1.27), 0.0, 2.0], np.float64)
    np.testing.assert_array_equal(q.params["s_ih_l0"], (amax / 127.0).astype(np.float32))


def _mult_check(mult, shift, M, what):
    """mult / 2^shift ~= M: mult in [2^30, 2^31) with M's leading bit at bit
    30 (31 significant bits), rounded to nearest (error <= half a unit of
    mult), shift in 1..62; multipliers too small for that get shift 62 and
    fewer bits; M = 0 gives mult 0."""
    mult = np.asarray(mult)
    shift = np.asarray(shift)
    assert mult.dtype == np.int32 and shift.dtype == np.int8, what
    for m, s, v in zip(mult.tolist(), shift.tolist(), np.asarray(M, np.float64).tolist()):
        if v == 0.0:
            assert m == 0, what
            continue
        assert 1 <= s <= 62, (what, s)
        if s < 62:
            assert 2 ** 30 <= m < 2 ** 31, (what, m)
        exact = v * 2.0 ** s               # a power-of-two scaling: exact
        assert abs(m - exact) <= 0.5, (what, m, exact)


@SETTINGS
@given(case_strategy)
def test_integer_multipliers_shifts_and_biases_as_specified(c):
    model, X = _build(c)
    qi = pygru.quantize(model, X, mode="integer")
    w = model.get_weights()
    amax_x = float(np.abs(X).max())
    x_scale0 = amax_x / 32767.0 if amax_x > 0 else 1.0 / 32767.0
    assert qi.input_scale == x_scale0
    for l in range(model.num_layers):
        for k in ("ih", "hh"):
            s_row = np.abs(np.asarray(w[f"weight_{k}_l{l}"], np.float64)).max(axis=1) / 127.0
            xs = x_scale0 if (k == "ih" and l == 0) else 2.0 ** -STATE_FRAC
            # acc * mult / 2^shift must be the pre-activation in Q.12: row
            # scale * input scale * 2^12.
            _mult_check(qi.params[f"m_{k}_l{l}"], qi.params[f"sh_{k}_l{l}"], s_row * xs * 2.0 ** PRE_FRAC,
                        f"{k}_l{l}")
            _bias_check(w[f"bias_{k}_l{l}"], qi.params[f"b_{k}_l{l}"], f"b_{k}_l{l}")
    if model.output_size is not None:
        s_row = np.abs(np.asarray(w["head.weight"], np.float64)).max(axis=1) / 127.0
        _mult_check(qi.params["head.mult"], qi.params["head.shift"], s_row * 2.0 ** (PRE_FRAC - STATE_FRAC),
                    "head")
        _bias_check(w["head.bias"], qi.params["head.bias"], "head.bias")


def _bias_check(b, bq, what):
    b = np.asarray(b, np.float64) * 2.0 ** PRE_FRAC
    bq = np.asarray(bq)
    assert bq.dtype == np.int32, what
    inside = np.abs(b) <= PRE_MAX
    assert np.all(np.abs(b[inside] - bq[inside]) <= 0.5), what
    assert np.all(bq[~inside] == np.sign(b[~inside]) * PRE_MAX), what


def test_multiplier_of_known_values():
    """A row whose scale makes M = 0.75 exactly: mult = 0.75 * 2^31 =
    3 * 2^29 at shift 31; M = 2^-40 (tiny): shift 62, mult 2^22."""
    model = pygru.GRUModel(1, [1], seed=0)
    w = model.get_weights()
    x_scale = 1.0 / 32767.0                      # calibration max |x| = 1
    target = np.array([0.75, 2.0 ** -40, 1.0])   # M per row
    w["weight_ih_l0"] = (target / (x_scale * 4096) * 127).astype(np.float64).reshape(3, 1)
    model.set_weights({k: np.asarray(v, np.float32) for k, v in w.items()})
    qi = pygru.quantize(model, np.ones((1, 1, 1), np.float32), mode="integer")
    s_row = np.abs(model.get_weights()["weight_ih_l0"].astype(np.float64)).max(axis=1) / 127.0
    M = s_row * x_scale * 4096
    _mult_check(qi.params["m_ih_l0"], qi.params["sh_ih_l0"], M, "known")
    assert int(qi.params["sh_ih_l0"][1]) == 62


def test_calibration_range_maps_to_int16_and_saturates_beyond():
    model = pygru.GRUModel(3, [4], seed=1)
    calib = np.array([[[0.5, -2.0, 1.0], [0.25, 0.0, -1.5]]], np.float32)
    q = pygru.quantize(model, calib, mode="integer")
    assert q.input_scale == 2.0 / 32767.0
    np.testing.assert_array_equal(q.quantize_input(calib).ravel()[[1]], [-32767])
    big = np.array([[[5.0, -5.0, 2.0]]], np.float32)
    np.testing.assert_array_equal(q.quantize_input(big), [[[32767, -32767, 32767]]])
    # Half a step rounds away from zero.
    half = np.array([[[0.5, -0.5, 1.5]]]) * q.input_scale
    np.testing.assert_array_equal(q.quantize_input(half), _quantize_input_oracle(half, q.input_scale))
    assert pygru.quantize(model, np.zeros((1, 2, 3)), mode="integer").input_scale == 1.0 / 32767.0
