"""Post-training quantization of a GRUModel, run by gru_c's quantized kernels.

    qmodel = pygru.quantize(model, calibration_X, mode="int8")     # or "integer"
    qmodel.predict(X);  s = qmodel.stream();  s.step(x)

Modes (the C contract, with every formula, is in gru_c/include/gru_quant.h):

- ``"int8"``: int8 weights with one float scale per output row (symmetric,
  scale = max|row| / 127), float32 arithmetic. 1/4 of the weight flash.
- ``"integer"``: int8 weights, int16 inputs and Q0.15 state, int32
  accumulators, fixed-point sigmoid/tanh; no float in a step (for cores without
  an FPU). The input scale comes from the calibration data (max |x| maps to
  32767; inputs beyond it saturate); everything else has a fixed format:
  gate pre-activations Q.12 (saturating at +-4096), h and gates Q0.15.

`emulate_integer` is a numpy model of the integer kernel, bit-exact with the C
code (int64 numpy arithmetic on the same integers). `params` and saved files
hold the weight matrices row-major; the binding packs them for C (mode int8:
gru_q8_pack_matrix, integer: gru_qi_pack_matrix's 16-row blocks of 8-column groups).

Measured (tests/test_quant.py, tools/quant_accuracy.py): fixed-point tanh /
sigmoid within 4.7e-5 / 3.9e-5 of float64; on random PyTorch-initialised
models with N(0, 1) inputs both modes stay within 0.01 of the float64
reference over 20 steps; on the bundled spoken_digits set, test accuracy of
both modes is within 0.2 percentage points of float (GRU(32), seeds 0-4).
"""
import json
import os

import numpy as np

from ._io import atomic_write, input_file, read_npz
from ._validate import float_array, refuse_masked
from .config import ConfiguredModel, ModelConfig
from .model import GRUModel, batch_input, run_with_lengths, state_array

MODES = ("int8", "integer")
FORMAT_VERSION = 1

PRE_FRAC = 12                # gate pre-activations: Q.12
STATE_FRAC = 15              # h, gates: Q0.15
PRE_MAX = 1 << 24            # |pre-activation| saturation (Q.12 units)
MAX_DIM = 511                # GRU_QI_MAX_DIM: int32 accumulators cannot overflow
TABLE_STEP_BITS = 6          # table step 1/64 on [0, 8]
TABLE_SIZE = 8 * (1 << TABLE_STEP_BITS) + 1


def tanh_table():
    """tanh(k/64) for k = 0..512 in Q0.15 (rounded, capped at 32767): the table
    gru_c/src/gru_quant_table.c holds (written by tools/gen_quant_tables.py)."""
    k = np.arange(TABLE_SIZE, dtype=np.float64)
    return np.minimum(np.round(np.tanh(k / (1 << TABLE_STEP_BITS)) * 32768.0), 32767).astype(np.int16)


_TABLE = tanh_table().astype(np.int64)

# ------------------------------------------------------------------ fixed-point arithmetic (numpy, int64)


def _rshift(v, s):
    """v / 2^s rounded half away from zero (the C gru__qi_rshift / rshift64)."""
    v = np.asarray(v, dtype=np.int64)
    s = np.asarray(s, dtype=np.int64)
    mag = (np.abs(v) + (np.int64(1) << (s - 1))) >> s
    return np.where(v < 0, -mag, mag)


def _mul_rshift(a, m, s):
    """rnd(a * m, s) exactly, for |a| < 2^31, 0 <= m < 2^31 (the product can
    exceed int64's exact range only beyond 2^62, which these bounds exclude;
    numpy int64 is then exact)."""
    a = np.asarray(a, dtype=np.int64)
    return _rshift(a * np.asarray(m, dtype=np.int64), s)


def _requant(acc, mult, shift, bias):
    shift = np.clip(np.asarray(shift, np.int64), 1, 62)
    return np.clip(_mul_rshift(acc, mult, shift) + bias, -PRE_MAX, PRE_MAX)


def _tanh_mag(a, frac):
    seg = frac - TABLE_STEP_BITS
    sat = a >= (8 << frac)
    i = np.minimum(a >> seg, TABLE_SIZE - 2)
    f = a & ((1 << seg) - 1)
    t0, t1 = _TABLE[i], _TABLE[i + 1]
    t = t0 + (((t1 - t0) * f + (1 << (seg - 1))) >> seg)
    return np.where(sat, _TABLE[-1], t)


def qi_tanh(x):
    """Fixed-point tanh, Q.12 int in, Q0.15 out (gru_qi_tanh)."""
    x = np.asarray(x, dtype=np.int64)
    t = _tanh_mag(np.abs(x), PRE_FRAC)
    return np.where(x < 0, -t, t)


def qi_sigmoid(x):
    """Fixed-point sigmoid, Q.12 int in, Q0.15 out (gru_qi_sigmoid)."""
    x = np.asarray(x, dtype=np.int64)
    t = _tanh_mag(np.abs(x), PRE_FRAC + 1)
    return (32768 + np.where(x < 0, -t, t)) >> 1


def _qi_gemv(w, x, mult, shift, bias):
    """requant(W x) for x of shape (B, cols), W int8 (rows, cols)."""
    acc = x.astype(np.int64) @ w.astype(np.int64).T
    return _requant(acc, mult, shift, bias)


def emulate_integer(qmodel, Xq, return_sequences=False, initial_state=None):
    """Run the integer kernel in numpy on already-quantized int16 inputs
    Xq (B, T, I). Returns the int64 outputs (B, O) or (B, T, O), equal to what
    gru_qi_sequence writes (its fractional bits: qmodel.output_frac_bits)."""
    if qmodel.mode != "integer":
        raise ValueError(f"qmodel: expected an 'integer' mode model, got mode {qmodel.mode!r}")
    refuse_masked("Xq", Xq)
    Xq = np.asarray(Xq)
    if Xq.ndim != 3 or Xq.shape[-1] != qmodel.input_size:
        raise ValueError(f"Xq: expected shape (B, T, {qmodel.input_size}), got {Xq.shape}")
    p = qmodel.params
    B, T, _ = Xq.shape
    hs = []
    offset = 0
    for H in qmodel.hidden_sizes:
        h0 = np.zeros((B, H), np.int64) if initial_state is None else \
            np.asarray(initial_state, np.int64)[:, offset:offset + H]
        hs.append(h0.copy())
        offset += H
    outs = []
    for t in range(T):
        inp = Xq[:, t].astype(np.int64)
        for l, H in enumerate(qmodel.hidden_sizes):
            h = hs[l]
            w_hh = p[f"w_hh_l{l}"]
            gi = _qi_gemv(p[f"w_ih_l{l}"], inp, p[f"m_ih_l{l}"], p[f"sh_ih_l{l}"], p[f"b_ih_l{l}"])
            m_hh, sh_hh, b_hh = p[f"m_hh_l{l}"], p[f"sh_hh_l{l}"], p[f"b_hh_l{l}"]
            gh = _qi_gemv(w_hh[:2 * H], h, m_hh[:2 * H], sh_hh[:2 * H], b_hh[:2 * H])
            r = qi_sigmoid(gi[:, :H] + gh[:, :H])
            z = qi_sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
            if qmodel.reset_after[l]:
                ghn = _qi_gemv(w_hh[2 * H:], h, m_hh[2 * H:], sh_hh[2 * H:], b_hh[2 * H:])
                n = qi_tanh(gi[:, 2 * H:] + _rshift(r * ghn, 15))
            else:
                rh = _rshift(r * h, 15)
                ghn = _qi_gemv(w_hh[2 * H:], rh, m_hh[2 * H:], sh_hh[2 * H:], b_hh[2 * H:])
                n = qi_tanh(gi[:, 2 * H:] + ghn)
            hs[l] = n + _rshift(z * (h - n), 15)
            inp = hs[l]
        if qmodel.output_size is not None:
            y = _qi_gemv(p["head.weight"], inp, p["head.mult"], p["head.shift"], p["head.bias"])
            if qmodel.output_activation == "sigmoid":
                y = qi_sigmoid(y)
            elif qmodel.output_activation == "tanh":
                y = qi_tanh(y)
        else:
            y = inp
        outs.append(y)
    return np.stack(outs, axis=1) if return_sequences else outs[-1]


# ------------------------------------------------------------------ quantizers


def _quantize_rows(w):
    """Symmetric int8 per output row: (q int8, scale float64); an all-zero row
    gets scale 0 and zero weights."""
    w = np.asarray(w, np.float64)
    amax = np.abs(w).max(axis=1)
    scale = amax / 127.0
    safe = np.where(scale > 0, scale, 1.0)
    q = np.clip(np.round(w / safe[:, None]), -127, 127).astype(np.int8)
    return q, scale


def _multiplier(M):
    """Real multipliers M >= 0 as (mult int32 in [2^30, 2^31) or 0, shift 1..62)
    with M ~= mult / 2^shift."""
    M = np.asarray(M, np.float64)
    mult = np.zeros(M.shape, np.int64)
    shift = np.ones(M.shape, np.int64)
    for idx in np.ndindex(M.shape):
        v = float(M[idx])
        if v <= 0.0:
            continue
        f, e = np.frexp(v)            # v = f * 2^e, f in [0.5, 1)
        m = int(round(f * 2.0**31))
        if m == 2**31:
            m, e = 2**30, e + 1
        s = 31 - int(e)
        if s < 1:
            raise ValueError(f"multiplier {v!r} is too large for the integer path "
                             "(input scale or weights out of range)")
        if s > 62:                    # tiny multiplier: fewer significant bits
            m = int(round(v * 2.0**62))
            s = 62
        mult[idx], shift[idx] = m, s
    return mult.astype(np.int32), shift.astype(np.int8)


def _bias_q12(b):
    return np.clip(np.round(np.asarray(b, np.float64) * (1 << PRE_FRAC)), -PRE_MAX, PRE_MAX).astype(np.int32)


def quantize(model, calibration_X, mode="int8"):
    """Post-training quantization of a trained GRUModel.

    calibration_X: representative inputs (B, T, input_size) or (T, input_size);
    the integer mode maps their largest |x| to the int16 input range (all-zero
    data falls back to scale 1/32767). mode: "int8" or "integer".
    Returns a QuantizedGRUModel."""
    if not isinstance(model, GRUModel):
        raise TypeError(f"model: expected a pygru.GRUModel, got {type(model).__name__}")
    model.spec.require_plain("quantization (pygru.quantize)")
    if mode not in MODES:
        raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
    X = float_array("calibration_X", calibration_X, (2, 3), model.input_size)
    if mode == "integer":
        sizes = (model.input_size,) + model.hidden_sizes
        if max(sizes) > MAX_DIM:
            raise ValueError(f"model: the integer mode supports input and hidden sizes up to "
                             f"{MAX_DIM}, got {max(sizes)}")
    amax = float(np.abs(X).max())
    input_scale = amax / 32767.0 if amax > 0 else 1.0 / 32767.0
    w = model.get_weights()
    params = {}
    for l in range(model.num_layers):
        for kind in ("ih", "hh"):
            q, s = _quantize_rows(w[f"weight_{kind}_l{l}"])
            params[f"w_{kind}_l{l}"] = q
            if mode == "int8":
                params[f"s_{kind}_l{l}"] = s.astype(np.float32)
                params[f"b_{kind}_l{l}"] = w[f"bias_{kind}_l{l}"].astype(np.float32)
            else:
                x_scale = input_scale if (kind == "ih" and l == 0) else 2.0**-STATE_FRAC
                params[f"m_{kind}_l{l}"], params[f"sh_{kind}_l{l}"] = _multiplier(s * x_scale * 2.0**PRE_FRAC)
                params[f"b_{kind}_l{l}"] = _bias_q12(w[f"bias_{kind}_l{l}"])
    if model.output_size is not None:
        q, s = _quantize_rows(w["head.weight"])
        params["head.weight"] = q
        if mode == "int8":
            params["head.scale"] = s.astype(np.float32)
            params["head.bias"] = w["head.bias"].astype(np.float32)
        else:
            params["head.mult"], params["head.shift"] = _multiplier(s * 2.0**(PRE_FRAC - STATE_FRAC))
            params["head.bias"] = _bias_q12(w["head.bias"])
    return QuantizedGRUModel(mode, model.spec, params, input_scale)


# ------------------------------------------------------------------ the quantized model


def _softmax(y):
    e = np.exp(y - y.max(axis=-1, keepdims=True))
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


class QuantizedGRUModel(ConfiguredModel):
    """A quantized GRU model with GRUModel's `predict` / `stream` surface.

    mode "int8" runs gru_q8_* (float in and out); mode "integer" quantizes the
    inputs with `input_scale`, runs gru_qi_* and dequantizes the outputs
    (softmax heads: softmax applied in float to the dequantized logits).
    `config` is the float model's ModelConfig (or its dict form)."""

    def __init__(self, mode, config, params, input_scale):
        if mode not in MODES:
            raise ValueError(f"mode: expected one of {MODES}, got {mode!r}")
        spec = config if isinstance(config, ModelConfig) else None
        if spec is not None:
            spec.require_plain("QuantizedGRUModel")
        config, input_scale = _check_parts("params", mode, config.to_dict() if spec else config, params,
                                           input_scale)
        self.mode = mode
        self.spec = spec or ModelConfig.from_dict(dict(config))
        self.params = {k: np.ascontiguousarray(v) for k, v in params.items()}
        self.input_scale = float(input_scale)
        self._native = None

    @property
    def output_frac_bits(self):
        """Fractional bits of the integer outputs (12: Q.12 logits, 15: Q0.15)."""
        if self.output_size is not None and self.output_activation in (None, "softmax"):
            return PRE_FRAC
        return STATE_FRAC

    def weight_bytes(self):
        """Bytes of every weight, scale, multiplier and bias array as the C
        runtime holds them (matrices packed, with their zero padding): the
        flash of an exported header (its NAME_WEIGHT_BYTES)."""
        return int(sum(a.nbytes for a in self._native_model().packed_arrays()))

    def _native_model(self):
        if self._native is None:  # params never change: two racing builds are equal
            from . import _core as _quant
            p = self.params
            if self.mode == "int8":
                layers = [(self.reset_after[l], p[f"w_ih_l{l}"], p[f"w_hh_l{l}"], p[f"s_ih_l{l}"],
                           p[f"s_hh_l{l}"], p[f"b_ih_l{l}"], p[f"b_hh_l{l}"])
                          for l in range(self.num_layers)]
                head = None if self.output_size is None else \
                    (self.output_activation, p["head.weight"], p["head.scale"], p["head.bias"])
                self._native = _quant.Q8Model(layers, head)
            else:
                layers = [(self.reset_after[l], p[f"w_ih_l{l}"], p[f"w_hh_l{l}"], p[f"m_ih_l{l}"],
                           p[f"sh_ih_l{l}"], p[f"m_hh_l{l}"], p[f"sh_hh_l{l}"], p[f"b_ih_l{l}"],
                           p[f"b_hh_l{l}"]) for l in range(self.num_layers)]
                head = None if self.output_size is None else \
                    (self.output_activation, p["head.weight"], p["head.mult"], p["head.shift"],
                     p["head.bias"])
                self._native = _quant.QIModel(layers, head)
        return self._native

    def quantize_input(self, X):
        """float inputs -> int16, round half away from zero, saturating."""
        v = np.asarray(X, np.float64) / self.input_scale
        v = np.sign(v) * np.floor(np.abs(v) + 0.5)
        return np.clip(v, -32767, 32767).astype(np.int16)

    def dequantize_output(self, Y):
        y = np.asarray(Y, np.float64) / float(1 << self.output_frac_bits)
        if self.output_size is not None and self.output_activation == "softmax":
            return _softmax(y)
        return y.astype(np.float32)

    def predict_int(self, Xq, return_sequences=None):
        """Integer mode: run gru_qi_sequence on int16 inputs (B, T, I); int32 out."""
        if self.mode != "integer":
            raise ValueError(f"predict_int: needs an 'integer' mode model, this one is {self.mode!r}")
        refuse_masked("Xq", Xq)
        Xq = np.asarray(Xq)
        if Xq.dtype != np.int16 or Xq.ndim != 3 or Xq.shape[-1] != self.input_size:
            raise ValueError(f"Xq: expected int16 of shape (B, T, {self.input_size}), "
                             f"got {Xq.dtype} {Xq.shape}")
        seq = self.return_sequences if return_sequences is None else bool(return_sequences)
        return self._native_model().sequence(np.ascontiguousarray(Xq), seq)

    def predict(self, X, return_sequences=None, lengths=None, initial_state=None, return_state=False):
        """As GRUModel.predict (lengths: valid steps per sequence;
        initial_state: float hidden states in GRUModel.predict's layouts; in
        integer mode they are rounded to the Q0.15 state). return_state is
        not available: the quantized C sequence functions return no final
        state (step model.stream() and read .state instead)."""
        if return_state:
            raise NotImplementedError(f"return_state: expected False for a quantized model (the quantized "
                                      f"sequence API, gru_q8_sequence / gru_qi_sequence, returns no final "
                                      f"state; step model.stream() and read .state, or use the float "
                                      f"GRUModel), got {return_state!r}")
        X, single, lengths = batch_input(X, self.input_size, lengths)
        seq = self.return_sequences if return_sequences is None else bool(return_sequences)
        h0 = None if initial_state is None else state_array(
            "initial_state", initial_state, self.hidden_sizes, X.shape[0], single)
        if self.mode == "int8":
            run = self._native_model().sequence
        else:
            if h0 is not None:
                v = h0.astype(np.float64) * 32768  # rounded as quantize_input rounds
                h0 = np.clip(np.sign(v) * np.floor(np.abs(v) + 0.5), -32767, 32767).astype(np.int16)

            def run(Xs, s, h=None):
                Y = self._native_model().sequence(np.ascontiguousarray(self.quantize_input(Xs)), s, h)
                return self.dequantize_output(Y)
        Y = run_with_lengths(run, X, seq, lengths, self.output_dim, h0)
        return Y[0] if single else Y

    def stream(self):
        """A batch-1 stream: step(x) -> float output, reset()."""
        from . import _core as _quant
        if self.mode == "int8":
            return _quant.Q8Stream(self._native_model())
        return _IntegerStream(self)

    def export_c(self, path, name="model", self_test_steps=None, **options):
        """Write an stb-style C header (pygru.export_c); returns the path."""
        from .export import export_c
        return export_c(self, path, name, self_test_steps, **options)

    # ------------------------------------------------------------------ persistence

    def save(self, path):
        """Write to `path` (.npz without pickle, atomically)."""
        meta = {"mode": self.mode, "config": self.config(), "input_scale": self.input_scale}
        arrays = {"__format_version__": np.array(FORMAT_VERSION, np.int64),
                  "__quantized__": np.array(json.dumps(meta))}
        arrays.update(self.params)
        atomic_write(path, lambda f: np.savez(f, **arrays))

    def __repr__(self):
        return f"QuantizedGRUModel(mode={self.mode!r}, {self.spec.describe()})"


class _IntegerStream:
    """Integer-mode stream: quantize x, one gru_qi step, dequantize y."""

    def __init__(self, qmodel):
        from . import _core as _quant
        self._q = qmodel
        self._s = _quant.QIStream(qmodel._native_model())

    def reset(self):
        self._s.reset()

    @property
    def state(self):
        """The int16 Q0.15 state (all layers)."""
        return self._s.state

    def step(self, x):
        x = float_array("x", x, (1,), self._q.input_size)
        return self._q.dequantize_output(self._s.step(self._q.quantize_input(x)))


def load_quantized(path):
    """Load a QuantizedGRUModel written by QuantizedGRUModel.save (no pickle)."""
    from ._load_checks import check_format
    path = input_file("path", path, "pygru quantized model")
    arrays = read_npz(path, "path", "pygru quantized model")
    where = f"path: {path!r}"
    check_format(where, arrays, "pygru quantized model", "__quantized__", FORMAT_VERSION)
    meta_arr = arrays.pop("__quantized__")
    try:
        meta = json.loads(str(meta_arr[()])) if meta_arr.shape == () and meta_arr.dtype.kind == "U" else None
    except ValueError:
        meta = None
    if not isinstance(meta, dict) or set(meta) != {"mode", "config", "input_scale"}:
        raise ValueError(f"{where} is not a valid pygru quantized model (expected a JSON header with "
                         f"mode, config, input_scale; got {str(meta_arr)[:80]!r})")
    # Every array is checked against the header here, before any C call
    # (forged files: tests/test_untrusted_load.py, the tools/fuzz qnpz harness).
    try:
        _check_parts(where, meta["mode"], meta["config"], arrays, meta["input_scale"])
    except TypeError as exc:  # a wrong dtype inside the file: the file is bad, not the argument
        raise ValueError(str(exc)) from None
    return QuantizedGRUModel(meta["mode"], meta["config"], arrays, meta["input_scale"])


def _check_parts(name, mode, config, params, input_scale):
    from . import _core
    from ._load_checks import check_quantized
    return check_quantized(name, mode, config, params, input_scale, MODES, _core.MAX_DIM, MAX_DIM,
                           _core.MAX_LAYERS)


class _CallableModule(type(os)):
    """Lets `pygru.quantize(model, X, mode=...)` call quantize() while
    `pygru.quantize.emulate_integer` etc. stay reachable on the module."""

    def __call__(self, model, calibration_X, mode="int8"):
        return quantize(model, calibration_X, mode)


import sys as _sys  # noqa: E402

_sys.modules[__name__].__class__ = _CallableModule
