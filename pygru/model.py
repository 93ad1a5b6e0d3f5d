"""GRUModel: GRU layers with optional Dense layers before and after, run by gru_c."""
import json

import numpy as np

from . import _core
from ._io import atomic_write, input_file, read_npz
from ._validate import float_array, lengths_array, rng
from .config import OUTPUT_ACTIVATIONS, GRU, ConfiguredModel, Dense, ModelConfig  # noqa: F401 (public names)

FORMAT_VERSION = 1


def batch_input(X, input_size, lengths=None):
    """predict's X as (B, T, input_size) float32, whether it came without the
    batch axis, and lengths (one int for 2-D X) as a list for the batch."""
    X = float_array("X", X, (2, 3), input_size)
    single = X.ndim == 2
    if single:
        X = X[None]
        if lengths is not None and np.ndim(lengths) == 0:
            lengths = [lengths]
    return X, single, lengths


def run_with_lengths(run, X, seq, lengths, output_dim, h0=None):
    """run(X, seq) on the whole batch, or with lengths (valid steps per
    sequence) once per distinct length on the sequences cut to it; with seq,
    the padding steps repeat the last valid output (the training forward holds
    the state there). With h0 (initial states [B, S]), run(X, seq, h0)."""
    if h0 is not None:
        inner = run
        def run(Xs, s, _idx=slice(None)):
            return inner(Xs, s, np.ascontiguousarray(h0[_idx]))
    if lengths is None:
        return run(X, seq)
    lengths = lengths_array("lengths", lengths, X.shape[0], X.shape[1])
    B, T = X.shape[:2]
    Y = np.empty((B, T, output_dim) if seq else (B, output_dim), np.float32)
    for L in np.unique(lengths):
        idx = np.flatnonzero(lengths == L)
        part = run(np.ascontiguousarray(X[idx, :L]), seq, idx) if h0 is not None else \
            run(np.ascontiguousarray(X[idx, :L]), seq)
        if seq:
            Y[idx, :L] = part
            Y[idx, L:] = part[:, L - 1:L]
        else:
            Y[idx] = part
    return Y


def state_array(name, value, hidden_sizes, batch, single):
    """initial_state (PyTorch's h0 [num_layers, batch, hidden], or a list of
    one [batch, hidden_l] array per layer; without the batch axis for 2-D X)
    as gru_c's [batch, sum(hidden)] float32 layout (layers concatenated)."""
    L = len(hidden_sizes)
    B = () if single else (batch,)
    same = len(set(hidden_sizes)) == 1
    want = (f"shape {(L,) + B + (hidden_sizes[0],)} (PyTorch h0: num_layers, batch, hidden) or " if same else "") + \
        f"a list of {L} arrays of shapes {[B + (H,) for H in hidden_sizes]}"
    if isinstance(value, (list, tuple)):
        parts = [float_array(f"{name}[{l}]", v, (len(B) + 1,)) for l, v in enumerate(value)]
        got = f"a list of arrays of shapes {[p.shape for p in parts]}"
        shapes_ok = [p.shape for p in parts] == [B + (H,) for H in hidden_sizes]
    else:
        arr = float_array(name, value, (len(B) + 2,))
        got = f"shape {arr.shape}"
        shapes_ok = same and arr.shape == (L,) + B + (hidden_sizes[0],)
        parts = list(arr)
    if not shapes_ok:
        raise ValueError(f"{name}: expected {want}, got {got}")
    parts = [p[None] if single else p for p in parts]
    return np.ascontiguousarray(np.concatenate(parts, axis=1), np.float32)


def split_state(flat, hidden_sizes, single):
    """Inverse of state_array: [num_layers, batch, hidden] when every layer has
    the same hidden size (PyTorch's h_n), else a list of [batch, hidden_l]."""
    parts = np.split(flat, np.cumsum(hidden_sizes)[:-1], axis=1)
    parts = [p[0] if single else p for p in parts]
    return np.stack(parts) if len(set(hidden_sizes)) == 1 else parts


def run_stateful(model, X, seq, lengths, h0):
    """(outputs, final states [B, S]) through gru_c's training forward, which
    takes h0 and lengths and returns each sequence's state after its last
    valid step; its outputs are gru_sequence's bit for bit. Batches are cut so
    the saved activations stay near 64 MB."""
    from .training import make_trainer

    B, T = X.shape[:2]
    S = sum(model.hidden_sizes)
    chunk = int(max(1, min(B, (1 << 24) // (T * 6 * S + 1))))
    if lengths is not None:
        lengths = np.ascontiguousarray(lengths_array("lengths", lengths, B, T), np.int32)
    trainer = make_trainer(model, chunk, T, seq)
    ys, hs = [], []
    for i in range(0, B, chunk):
        part = slice(i, min(B, i + chunk))
        y, h = trainer.forward(np.ascontiguousarray(X[part]), None if lengths is None else lengths[part],
                               None if h0 is None else np.ascontiguousarray(h0[part]), True)
        ys.append(y)
        hs.append(h)
    return np.concatenate(ys), np.concatenate(hs)


def run_streams(native, X, seq, lengths, h0):
    """(outputs, final states [B, S]) one sequence at a time through the
    streaming step (the kernel behind gru_sequence, so the same bits), for
    models the training forward cannot run (Dense pre-nets, deeper heads)."""
    B, T = X.shape[:2]
    lengths = np.full(B, T) if lengths is None else lengths_array("lengths", lengths, B, T)
    Y = np.empty((B, T, native.output_size) if seq else (B, native.output_size), np.float32)
    H = np.empty((B, native.state_size), np.float32)
    out = np.empty(native.output_size, np.float32)
    for b in range(B):
        s = _core.Stream(native)
        if h0 is not None:
            s.state = h0[b]
        for t in range(int(lengths[b])):
            s.step(X[b, t], out)
            if seq:
                Y[b, t] = out
        if seq:
            Y[b, int(lengths[b]):] = out
        else:
            Y[b] = out
        H[b] = s.state
    return Y, H


class GRUModel(ConfiguredModel):
    """A GRU network: `len(hidden_sizes)` stacked GRU layers, then (if
    `output_size` is given) a dense head ``y = activation(W h + b)``. Models
    with Dense layers before the GRUs or a deeper head: GRUModel.from_layers.

    Gate order is PyTorch's (r, z, n); `reset_after=True` is the PyTorch / Keras
    default, False the Cho 2014 / ONNX default. It may be a list, one per layer.
    The architecture is `model.spec`, a pygru.config.ModelConfig (also
    accepted as `GRUModel.from_config(spec)`).

    >>> model = GRUModel(input_size=3, hidden_sizes=[16], output_size=2, seed=0)
    >>> model.predict(np.zeros((4, 10, 3), np.float32)).shape
    (4, 2)
    """

    def __init__(self, input_size, hidden_sizes, output_size=None, reset_after=True,
                 output_activation=None, return_sequences=False, seed=None):
        self._init(ModelConfig.create(input_size, hidden_sizes, output_size, reset_after,
                                      output_activation, return_sequences), seed)

    @classmethod
    def from_layers(cls, input_size, layers, return_sequences=False, seed=None):
        """A model of any supported sequence of layers, with fresh weights:
        Dense pre-net layers, GRU layers, Dense head layers (pygru.Dense,
        pygru.GRU; see pygru.config for the limits and the weight names).

        >>> m = GRUModel.from_layers(3, [Dense(8, "tanh"), GRU(16), Dense(4, "relu"), Dense(2)], seed=0)
        >>> m.predict(np.zeros((1, 5, 3))).shape
        (1, 2)
        """
        return cls.from_config(ModelConfig(input_size, tuple(layers) if isinstance(layers, list) else layers,
                                           return_sequences), seed)

    @classmethod
    def from_config(cls, spec, seed=None):
        """A model of the architecture `spec` (a ModelConfig) with fresh weights."""
        if not isinstance(spec, ModelConfig):
            raise TypeError(f"spec: expected a pygru.config.ModelConfig, got {type(spec).__name__}")
        model = cls.__new__(cls)
        model._init(spec, seed)
        return model

    def _init(self, spec, seed):
        self.spec = spec
        self._native = None
        self._weights = self._initial_weights(rng("seed", seed))

    # ------------------------------------------------------------------ shapes and weights

    def weight_shapes(self):
        """Dict name -> shape of every parameter, in PyTorch's names and layouts."""
        return self.spec.weight_shapes()

    def _initial_weights(self, rng):
        # PyTorch's initialisation: U(-1/sqrt(H), 1/sqrt(H)) for GRU and Linear.
        weights = {}
        shapes = self.weight_shapes()
        for name, shape in shapes.items():
            dense = name.endswith((".weight", ".bias"))    # a Linear: fan_in = its input size
            fan = shapes[name.rsplit(".", 1)[0] + ".weight"][1] if dense else shape[0] // 3
            bound = 1.0 / np.sqrt(fan)
            weights[name] = rng.uniform(-bound, bound, size=shape).astype(np.float32)
        return weights

    def get_weights(self):
        """A copy of every parameter as float32 arrays named as PyTorch names them
        (weight_ih_l0 [3H, I], weight_hh_l0 [3H, H], bias_ih_l0, bias_hh_l0, ...,
        head.weight [O, H], head.bias [O]); gate order r, z, n."""
        return {name: w.copy() for name, w in self._weights.items()}

    def set_weights(self, weights):
        """Replace every parameter. `weights` must have exactly the names and shapes
        of get_weights(); values are converted to float32 and must be finite."""
        expected = self.weight_shapes()
        if not hasattr(weights, "keys"):
            raise TypeError(f"weights: expected a dict of arrays, got {type(weights).__name__}")
        missing = sorted(set(expected) - set(weights))
        extra = sorted(set(weights) - set(expected))
        if missing or extra:
            raise ValueError(f"weights: names do not match the model: expected its {len(expected)} parameter "
                             f"names, got missing {missing}, unexpected {extra}")
        new = {}
        for name, shape in expected.items():
            arr = float_array(f"weights[{name!r}]", weights[name], (len(shape),))
            if arr.shape != shape:
                raise ValueError(f"weights[{name!r}]: expected shape {shape}, got {arr.shape}")
            new[name] = arr.copy()
        # One assignment: a predict in another thread sees the old dict or the
        # new one, never a mix; the cache below is keyed by the dict itself.
        self._weights = new

    def _native_model(self):
        """The gru_c descriptor for the current weights (packed once, cached).

        The cache holds (weights dict, descriptor): a descriptor built from a
        dict that set_weights has since replaced is never used again, even if
        a predict in another thread stored it after the replacement."""
        w = self._weights
        cached = self._native
        if cached is None or cached[0] is not w:
            layers, dense = [], []
            for key, layer, _ in self.spec.named_layers():
                if isinstance(key, int):
                    for half, sfx in enumerate(layer.suffixes):
                        layers.append((layer.reset_after, w[f"weight_ih_l{key}{sfx}"], w[f"weight_hh_l{key}{sfx}"],
                                       w[f"bias_ih_l{key}{sfx}"], w[f"bias_hh_l{key}{sfx}"], layer.activation,
                                       layer.recurrent_activation, sfx == "_reverse", half == 1))
                else:
                    dense.append((layer.activation, w[f"{key}.weight"], w[f"{key}.bias"]))
            n_pre = len(self.spec.pre_layers)
            heads = dense[n_pre:]
            cached = (w, _core.NativeModel(layers, heads[0] if heads else None, dense[:n_pre], heads[1:]))
            self._native = cached
        return cached[1]

    # ------------------------------------------------------------------ inference

    def predict(self, X, return_sequences=None, lengths=None, initial_state=None, return_state=False):
        """Run the model on X of shape (B, T, input_size) or (T, input_size),
        float32 or float64. Returns float32 of shape (B, output_dim), or
        (B, T, output_dim) when return_sequences; without the batch axis for 2-D X.

        lengths: valid steps per sequence (B integers in 1..T; one int for 2-D X)
        for padded batches, as in fit/evaluate: sequence b's output is the one
        after its step lengths[b] - 1, and with return_sequences the padding
        steps repeat it (the state is held there, as in training).

        initial_state: the hidden state every sequence starts from (default
        zeros), as PyTorch's h0: shape [num_layers, B, hidden] (all layers of
        one hidden size), or a list of one [B, hidden_l] array per layer (any
        sizes, as Keras' initial_state); for 2-D X without the batch axis
        ([num_layers, hidden] / [hidden_l]). float32 or float64, finite.
        return_state: also return the final states, (Y, h_n): each sequence's
        state after its last valid step, in PyTorch's h_n layout
        [num_layers, B, hidden] when all layers have one hidden size, else a
        list of [B, hidden_l] arrays (initial_state's layout). The outputs are
        the same bits as without states."""
        X, single, lengths = batch_input(X, self.input_size, lengths)
        if X.shape[0] > 2**31 - 1 or X.shape[1] > 2**31 - 1:
            raise ValueError(f"X: batch and time axes must be below 2**31, got shape {X.shape}")
        seq = self.return_sequences if return_sequences is None else bool(return_sequences)
        if initial_state is None and not return_state:
            Y = run_with_lengths(self._native_model().sequence, X, seq, lengths, self.output_dim)
            return Y[0] if single else Y
        h0 = None if initial_state is None else state_array(
            "initial_state", initial_state, self.spec.state_sizes, X.shape[0], single)
        if return_state and not self.spec.streams:
            raise ValueError("return_state: not supported yet for a model with a reverse or bidirectional GRU "
                             "layer (gru_sequence does not return final states); predict without it")
        if not self.spec.plain:
            if not return_state:
                Y = run_with_lengths(self._native_model().sequence, X, seq, lengths, self.output_dim, h0)
                return Y[0] if single else Y
            Y, h = run_streams(self._native_model(), X, seq, lengths, h0)
        else:
            Y, h = run_stateful(self, X, seq, lengths, h0)
        Y = Y[0] if single else Y
        return (Y, split_state(h, self.spec.state_sizes, single)) if return_state else Y

    def stream(self, initial_state=None):
        """A batch-1 streaming state: `s.step(x)` for x of shape (input_size,)
        returns that step's output; `s.reset()` zeroes the state; `s.state` is
        the hidden state of all layers concatenated (layer 0 first), readable
        and assignable. initial_state: where it starts (default zeros), as
        predict's for 2-D X: [num_layers, hidden] or a list of [hidden_l]."""
        if not self.spec.streams:
            k = next(i for i, g in enumerate(self.spec.gru_layers) if g.direction != "forward")
            raise ValueError(f"stream: GRU layer {k} is {self.spec.gru_layers[k].direction}: it reads each sequence "
                             f"from its end, so the model cannot run one step at a time; use predict")
        s = _core.Stream(self._native_model())
        if initial_state is not None:
            s.state = state_array("initial_state", initial_state, self.spec.state_sizes, 1, True)[0]
        return s

    # ------------------------------------------------------------------ training

    def fit(self, X, y, loss="mse", epochs=10, batch_size=32, optimizer="adam", lr=1e-3,
            weight_decay=0.0, clip_norm=None, lengths=None, validation_data=None, shuffle=True,
            seed=None, early_stopping=None, progress=True, momentum=0.9, checkpoint=None,
            resume=False, bptt_steps=None, trainable="all", micro_batch=None):
        """Train in place (forward, BPTT and optimizer all in gru_c).

        X (N, T, input_size); y float (N, output_dim) / (N, T, output_dim) for
        loss="mse", int class labels (N,) / (N, T) for loss="cross_entropy"
        (softmax over the pre-activation outputs). optimizer "adam", "adamw" or
        "sgd" (with `momentum`); clip_norm: global gradient norm limit;
        lengths: valid steps per sequence; validation_data: (X_val, y_val[,
        lengths_val]); early_stopping: patience in epochs (monitors val loss,
        else train loss; keeps the best weights). Ctrl-C or a non-finite loss
        stops cleanly, restores the best weights and warns. checkpoint: an
        .npz path written atomically after every epoch (weights, optimizer
        state, RNG, best weights, history); resume=True continues from it
        (bit-identical to an uninterrupted run; starts fresh if the file does
        not exist yet). bptt_steps: truncated BPTT for sequence-to-sequence
        models: each batch runs in chunks of that many steps, each chunk starts
        from the state the previous one ended in, gradients stop at chunk
        boundaries and the weights update after every chunk (memory then grows
        with bptt_steps, not T). trainable: "all", "last" (the last GRU layer
        and the head) or "head"; the rest stays frozen and gets no backward
        pass (the same C step as on-device fine-tuning). micro_batch: sum the
        gradients of micro-batches of that many sequences into one update per
        batch, in C (as firmware does when a batch does not fit). Returns a History
        (dict of per-epoch lists: loss, accuracy, val_loss, val_accuracy; and
        .stopped, .best_epoch, .epochs_run)."""
        self.spec.require_plain("training (fit)")
        from . import training
        return training.fit(self, X, y, loss=loss, epochs=epochs, batch_size=batch_size,
                            optimizer=optimizer, lr=lr, weight_decay=weight_decay,
                            clip_norm=clip_norm, lengths=lengths, validation_data=validation_data,
                            shuffle=shuffle, seed=seed, early_stopping=early_stopping,
                            progress=progress, momentum=momentum, checkpoint=checkpoint,
                            resume=resume, bptt_steps=bptt_steps, trainable=trainable,
                            micro_batch=micro_batch)

    def evaluate(self, X, y, loss="mse", batch_size=256, lengths=None):
        """{"loss": mean loss, "accuracy": ... (cross_entropy)} on (X, y)."""
        self.spec.require_plain("evaluate (it runs the training forward)")
        from . import training
        return training.evaluate(self, X, y, loss=loss, batch_size=batch_size, lengths=lengths)

    # ------------------------------------------------------------------ persistence

    def save(self, path):
        """Write the model to `path` (.npz, no pickle, format version
        FORMAT_VERSION), atomically: the file appears whole or not at all."""
        arrays = {"__format_version__": np.array(FORMAT_VERSION, dtype=np.int64),
                  "__config__": np.array(json.dumps(self.config()))}
        arrays.update(self._weights)
        atomic_write(path, lambda f: np.savez(f, **arrays))

    # ------------------------------------------------------------------ interchange

    def to_onnx(self, path, opset=14, states=False):
        """Write the model as an ONNX graph (GRU nodes + MatMul/Add head) that
        ONNX Runtime runs; atomically. Needs the onnx package. states=True
        adds input "initial_h" and output "h_n" (PyTorch's h0 / h_n layout)."""
        from .interop.onnx import to_onnx
        to_onnx(self, path, opset, states)

    def to_torch(self):
        """An equivalent torch nn.Module (nn.GRU(batch_first=True), Linear,
        activation). Needs torch; refuses reset_after=False layers, which
        PyTorch cannot compute."""
        from .interop.torch import to_torch
        return to_torch(self)

    def __repr__(self):
        return f"GRUModel({self.spec.describe()})"


def load(path):
    """Load a model written by GRUModel.save. Never unpickles; a file that is not
    a pygru model raises ValueError saying what is wrong."""
    from ._load_checks import check_config, check_float_arrays, check_format
    path = input_file("path", path, "pygru .npz model")
    arrays = read_npz(path, "path", "pygru .npz model")
    check_format(f"path: {path!r}", arrays, "pygru model", "__config__", FORMAT_VERSION)
    config_arr = arrays.pop("__config__")
    try:
        if config_arr.shape != () or config_arr.dtype.kind != "U":
            raise ValueError(f"expected a JSON string, got {config_arr.dtype} {config_arr.shape}")
        # Checked before the model allocates weights of the size it claims.
        try:
            parsed = json.loads(str(config_arr[()]))
        except ValueError as exc:
            raise ValueError(f"config: expected a JSON object, got text that does not parse ({exc})") from None
        if isinstance(parsed, dict) and "layers" in parsed:
            spec = ModelConfig.from_dict(parsed)      # checks every field of the layer list
        else:
            spec = ModelConfig.from_dict(check_config("config", parsed, _core.MAX_DIM, _core.MAX_LAYERS))
    except (ValueError, TypeError) as exc:
        raise ValueError(f"path: {path!r} has an invalid model config ({exc})") from None
    try:
        check_float_arrays("weights", arrays, dict(spec.weight_shapes()))
        model = GRUModel.from_config(spec)
        model.set_weights(arrays)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"path: {path!r} has invalid weights ({exc})") from None
    return model
