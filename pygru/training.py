"""Training GRUModel in gru_c: `fit` and `evaluate` (GRUModel.fit / .evaluate
delegate here).

The forward pass, backpropagation through time, the loss, gradient clipping and
the optimizer all run in C (pygru._train over gru_c/src/gru_train.c); this
module validates arguments, batches and shuffles the data, keeps the history
and the best weights, and talks to the user (progress bar, warnings).
"""
import json
import math
import numbers
import os
import sys
import warnings

import numpy as np

from . import _core, _core as _train
from ._io import atomic_write, fspath, read_npz
from ._validate import float_array, lengths_array, positive_int, refuse_masked
from ._validate import rng as _rng

LOSSES = ("mse", "cross_entropy")
OPTIMIZERS = ("adam", "adamw", "sgd")
# What fit(trainable=...) updates (gru_train.h's gru_trainable): every
# parameter, the last GRU layer and the head, or the head only.
TRAINABLE = ("all", "last", "head")
# fit(micro_batch=M): gru_c accumulates each batch's gradient over parts of M
# sequences into one update (gru_train_step), as a device whose RAM cannot hold
# a whole batch's activations does; the same bits as that device.


# ---------------------------------------------------------------------- parameter layout

def _packed_rows(rows):
    return -(-rows // _train.PACK_ROWS) * _train.PACK_ROWS


def _pieces(model):
    """(name, slice of the PyTorch array, rows, cols or None for a vector) of the
    flat parameter buffer, in gru_train.h's order."""
    spec = model.spec
    pieces = []
    for l, (size_in, H) in enumerate(zip(spec.layer_input_sizes, spec.hidden_sizes)):
        pieces += [(f"weight_ih_l{l}", slice(None), 3 * H, size_in),
                   (f"weight_hh_l{l}", slice(0, 2 * H), 2 * H, H),
                   (f"weight_hh_l{l}", slice(2 * H, 3 * H), H, H),
                   (f"bias_ih_l{l}", slice(None), 3 * H, None),
                   (f"bias_hh_l{l}", slice(None), 3 * H, None)]
    if spec.head is not None:
        pieces += [("head.weight", slice(None), spec.output_size, spec.hidden_sizes[-1]),
                   ("head.bias", slice(None), spec.output_size, None)]
    return pieces


def _piece_size(rows, cols):
    return rows if cols is None else _packed_rows(rows) * cols


def flatten_weights(model, weights=None):
    """The model's parameters (or `weights`, a get_weights() dict) as gru_c's flat
    packed float32 buffer."""
    weights = model._weights if weights is None else weights
    parts = []
    for name, sl, rows, cols in _pieces(model):
        arr = np.asarray(weights[name], np.float32)[sl]
        parts.append(arr if cols is None else _core.pack_matrix(arr))
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def unflatten_weights(model, flat):
    """Inverse of flatten_weights: a dict of PyTorch-layout float32 arrays."""
    out = {name: np.zeros(shape, np.float32) for name, shape in model.weight_shapes().items()}
    at = 0
    for name, sl, rows, cols in _pieces(model):
        n = _piece_size(rows, cols)
        chunk = flat[at:at + n]
        out[name][sl] = chunk if cols is None else _core.unpack_matrix(chunk, rows, cols)
        at += n
    return out


def c_training_layers(spec):
    """The model as the training binding describes it to gru_c: ([(input,
    hidden, reset_after)], None or (activation, hidden, output)). Refuses, by
    layer, what the C training path cannot train (pre-nets, further head
    layers, GRU options, reverse layers)."""
    spec.require_plain("the C training path")
    layers = list(zip(spec.layer_input_sizes, spec.hidden_sizes, spec.reset_after))
    head = None if spec.head is None else (spec.output_activation, spec.hidden_sizes[-1], spec.output_size)
    return layers, head


def make_trainer(model, max_batch, max_steps, return_sequences=None, params=None, trainable="all",
                 low_memory=False):
    """A pygru._train.Trainer over a copy of the model's parameters; trainable
    in TRAINABLE (the frozen parameters are never written), low_memory: no
    transposed weight copies in backward (same results)."""
    spec = model.spec
    seq = spec.return_sequences if return_sequences is None else bool(return_sequences)
    layers, head = c_training_layers(spec)
    flat = _core.aligned_copy(flatten_weights(model) if params is None else params)
    return _train.Trainer(layers, head, flat, int(max_batch), int(max_steps), seq, trainable,
                          bool(low_memory))


def check_trainable(model, trainable):
    """`trainable` checked against TRAINABLE and the model (head needs a head)."""
    _check_choice("trainable", trainable, TRAINABLE)
    if trainable == "head" and model.spec.head is None:
        raise ValueError("trainable: 'head' needs a model with a dense head (output_size); "
                         "this model has none")
    return trainable


# ---------------------------------------------------------------------- validation

def _check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name}: expected one of {choices}, got {value!r}")
    return value


def _positive_float(name, value, allow_zero=False, allow_none=False, below=None):
    """A hyper-parameter checked as the float32 the C optimizer stores: finite,
    > 0 (or >= 0), below `below` if given, and neither overflowing float32
    (lr=1e39 would be inf) nor flushing a non-zero value to 0 (lr=1e-50)."""
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not (ok and math.isfinite(value)) or (below is not None and not value < below):
        want = f"{'>= 0' if allow_zero else '> 0'}" + (f" and < {below}" if below is not None else "")
        raise ValueError(f"{name}: expected a finite number {want}, got {value}")
    with np.errstate(over="ignore", under="ignore"):
        f32 = np.float32(value)
    if not np.isfinite(f32):
        raise ValueError(f"{name}: expected a number within float32 range (at most "
                         f"{float(np.finfo(np.float32).max):.4g}), got {value}")
    if value != 0 and f32 == 0:
        raise ValueError(f"{name}: expected {'0 or ' if allow_zero else ''}a number float32 can hold "
                         f"(at least {float(np.finfo(np.float32).smallest_subnormal):.4g}), got {value}")
    return value


def _prepare(model, X, y, loss, lengths, name_x="X", name_y="y"):
    """Validated (X float32 [N,T,I], target float32 or None, labels int32 or
    None, lengths int32 or None)."""
    X = float_array(name_x, X, (3,), model.input_size)
    N, T = X.shape[0], X.shape[1]
    if N > 2**31 - 1 or T > 2**31 - 1:
        raise ValueError(f"{name_x}: batch and time axes must be below 2**31, got shape {X.shape}")
    seq = model.return_sequences
    O = model.output_dim
    target = labels = None
    if loss == "mse":
        want = (N, T, O) if seq else (N, O)
        target = float_array(name_y, y, (len(want),))
        if target.shape != want:
            raise ValueError(f"{name_y}: expected shape {want} for loss='mse', got {target.shape}")
    else:
        refuse_masked(name_y, y)
        arr = np.asarray(y)
        want = (N, T) if seq else (N,)
        if arr.dtype.kind not in "iu":
            raise TypeError(f"{name_y}: expected integer class labels for loss='cross_entropy', "
                            f"got dtype {arr.dtype}")
        if arr.shape != want:
            raise ValueError(f"{name_y}: expected shape {want} for loss='cross_entropy', got {arr.shape}")
        if arr.size and (arr.min() < 0 or arr.max() >= O):
            raise ValueError(f"{name_y}: expected labels in 0..{O - 1}, got values in "
                             f"{arr.min()}..{arr.max()}")
        labels = np.ascontiguousarray(arr, dtype=np.int32)
    if lengths is not None:
        lengths = lengths_array("lengths", lengths, N, T)
    return X, target, labels, lengths


def _check_loss_head(model, loss):
    act = model.output_activation
    if loss == "mse" and act == "softmax":
        raise ValueError("loss: 'mse' is not supported with output_activation='softmax'; "
                         "use loss='cross_entropy'")
    if loss == "cross_entropy" and act not in (None, "softmax"):
        raise ValueError(f"loss: 'cross_entropy' needs output_activation None or 'softmax' "
                         f"(it is applied to the pre-activation outputs), got {act!r}")


def _accuracy(Y, labels, lengths, seq):
    pred = np.argmax(Y, axis=-1)
    if not seq:
        return float(np.mean(pred == labels))
    T = labels.shape[1]
    mask = np.ones(labels.shape, bool) if lengths is None else np.arange(T)[None] < lengths[:, None]
    return float(np.sum((pred == labels) & mask) / np.sum(mask))


# ---------------------------------------------------------------------- evaluate

def _skipped(trainer, value, norm, skipped):
    """Count an update that gru_c refused although the loss was finite: a
    non-finite gradient norm (a float32 overflow in backward) or a non-finite
    updated weight or optimizer value."""
    if skipped is not None and math.isfinite(value) and (trainer.last_skipped or not math.isfinite(norm)):
        skipped[0] += 1


def _run_batch(trainer, x, loss, target, labels, lengths, y, clip_norm=None, skipped=None):
    """One batch through the trainer: forward and loss, plus backward and an
    update when clip_norm is not None (0.0: no clipping). Sequences longer than
    trainer.max_steps run in chunks of that many steps (truncated BPTT, only
    for sequence-to-sequence models): a chunk starts from the states the
    previous one ended in, no gradient flows back across chunks, and each
    chunk updates the weights. Returns the batch's mean loss over its loss
    terms, or the first non-finite chunk loss. skipped: a one-element list
    counting updates skipped for a non-finite gradient norm."""
    B, T, K = x.shape[0], x.shape[1], trainer.max_steps
    if T <= K:
        if clip_norm is None:
            return trainer.eval_batch(x, loss, target, labels, lengths, y)
        value, norm = trainer.train_batch(x, loss, target, labels, lengths, clip_norm, y)
        _skipped(trainer, value, norm, skipped)
        return value
    h = np.zeros((B, trainer.state_size), np.float32)
    total, terms = 0.0, 0
    for t0 in range(0, T, K):
        t1 = min(t0 + K, T)
        act = np.arange(B) if lengths is None else np.flatnonzero(lengths > t0)
        if act.size == 0:
            break
        part = (lambda a: None if a is None else np.ascontiguousarray(a[act, t0:t1]))
        ln = None if lengths is None else np.minimum(lengths[act] - t0, t1 - t0).astype(np.int32)
        yc = np.empty((act.size, t1 - t0, y.shape[2]), np.float32)
        h0 = np.ascontiguousarray(h[act])
        h_last = np.empty_like(h0)
        if clip_norm is None:
            value = trainer.eval_batch(part(x), loss, part(target), part(labels), ln, yc, h0, h_last)
        else:
            value, norm = trainer.train_batch(part(x), loss, part(target), part(labels), ln, clip_norm,
                                              yc, h0, h_last)
            _skipped(trainer, value, norm, skipped)
        if not math.isfinite(value):
            return value
        h[act] = h_last
        y[act, t0:t1] = yc
        n = act.size * (t1 - t0) if ln is None else int(ln.sum())
        total += float(value) * n
        terms += n
    if lengths is not None:  # padding steps repeat the last valid output (held state)
        for b in np.flatnonzero(lengths < T):
            y[b, lengths[b]:] = y[b, lengths[b] - 1]
    return total / terms


def _evaluate(trainer, X, target, labels, lengths, loss, batch_size):
    """Mean loss over the data set (weighted by each batch's loss terms) and
    accuracy for classification."""
    N, T = X.shape[0], X.shape[1]
    seq = bool(trainer.return_sequences)
    O = trainer.output_size
    Y = np.empty((N, T, O) if seq else (N, O), np.float32)
    total = 0.0
    count = 0
    batch_size = min(batch_size, trainer.max_batch)
    run = _run_batch if seq or T <= trainer.max_steps else _eval_last_chunked
    for start in range(0, N, batch_size):
        sl = slice(start, min(start + batch_size, N))
        yb = Y[sl]
        ln = None if lengths is None else lengths[sl]
        value = run(trainer, X[sl], loss, None if target is None else target[sl],
                    None if labels is None else labels[sl], ln, yb)
        terms = (yb.shape[0] if not seq else (T * yb.shape[0] if ln is None else int(ln.sum())))
        total += float(value) * terms
        count += terms
    result = {"loss": total / count}
    if loss == "cross_entropy":
        result["accuracy"] = _accuracy(Y, labels, lengths, seq)
    return result


# gru_train.c's gru__ws_fits: the saved activations of a batch (batch x steps x
# 5 x the summed hidden sizes) may not exceed this many floats.
WORKSPACE_TERMS = 2e9
# Work that crosses that limit runs in pieces of at most this many terms
# (a workspace of a few hundred MB), whatever the batch size asked for.
CHUNK_TERMS = 2**25


def _terms(model, batch, steps):
    return float(batch) * float(steps) * 5.0 * float(sum(model.hidden_sizes))


def _eval_plan(model, batch, steps):
    """(max_batch, max_steps) of an evaluation trainer: the whole request when
    gru_c accepts it (results as before), else pieces of CHUNK_TERMS: fewer
    sequences per batch and, if one sequence is still too long, time chunks
    that carry the state (forward only: exact, no truncated gradient)."""
    if _terms(model, batch, steps) <= WORKSPACE_TERMS:
        return batch, steps
    per_seq = _terms(model, 1, steps)
    if per_seq <= CHUNK_TERMS:
        return max(1, min(batch, int(CHUNK_TERMS // per_seq))), steps
    return 1, max(1, int(CHUNK_TERMS // _terms(model, 1, 1)))


def _eval_last_chunked(trainer, x, loss, target, labels, lengths, y):
    """A sequence-to-one batch longer than trainer.max_steps: the steps run in
    chunks from the state the previous chunk ended in (sequences whose
    lengths have ended drop out), and each sequence's loss comes from the
    chunk that holds its last valid step. Returns the batch's mean loss."""
    B, T, K = x.shape[0], x.shape[1], trainer.max_steps
    ends = np.full(B, T, np.int64) if lengths is None else lengths.astype(np.int64)
    h = np.zeros((B, trainer.state_size), np.float32)
    total = 0.0
    for t0 in range(0, T, K):
        t1 = min(t0 + K, T)
        for final in (False, True):
            act = np.flatnonzero((ends > t0) & ((ends <= t1) if final else (ends > t1)))
            if act.size == 0:
                continue
            xc = np.ascontiguousarray(x[act, t0:t1])
            ln = np.minimum(ends[act] - t0, t1 - t0).astype(np.int32)
            yc = np.empty((act.size, y.shape[1]), np.float32)
            h_last = np.empty((act.size, trainer.state_size), np.float32)
            tc = None if target is None else (np.ascontiguousarray(target[act]) if final
                                              else np.zeros((act.size, y.shape[1]), np.float32))
            lc = None if labels is None else (np.ascontiguousarray(labels[act]) if final
                                              else np.zeros(act.size, np.int32))
            value = trainer.eval_batch(xc, loss, tc, lc, ln, yc, np.ascontiguousarray(h[act]), h_last)
            h[act] = h_last
            if final:
                if not math.isfinite(value):
                    return value
                y[act] = yc
                total += float(value) * act.size
    return total / B


def evaluate(model, X, y, loss="mse", batch_size=256, lengths=None):
    """Loss (and accuracy for loss='cross_entropy') of `model` on (X, y)."""
    _check_choice("loss", loss, LOSSES)
    _check_loss_head(model, loss)
    batch_size = positive_int("batch_size", batch_size, 2**31 - 1)
    X, target, labels, lengths = _prepare(model, X, y, loss, lengths)
    B, K = _eval_plan(model, min(batch_size, X.shape[0]), X.shape[1])
    trainer = make_trainer(model, B, K)
    return _evaluate(trainer, X, target, labels, lengths, loss, B)


# ---------------------------------------------------------------------- fit

def _fit_plan(model, batch, steps, bptt_steps):
    """None when gru_c takes the whole batch at once (results as before), else
    the micro-batch size whose gradients _train_accumulated sums into one
    update (the same update as the whole batch, summed in another order)."""
    if _terms(model, batch, steps) <= WORKSPACE_TERMS:
        return None
    per_seq = _terms(model, 1, steps)
    if per_seq > WORKSPACE_TERMS:
        raise ValueError(f"{'bptt_steps' if bptt_steps else 'X'}: one sequence of {steps} steps needs "
                         f"{per_seq:.3g} saved activations, above gru_c's training limit of "
                         f"{WORKSPACE_TERMS:.3g}; expected shorter sequences"
                         + ("" if bptt_steps else " (or bptt_steps, for sequence-to-sequence models)"))
    if bptt_steps:
        raise ValueError(f"batch_size, bptt_steps: a batch of {batch} x {steps} steps needs "
                         f"{_terms(model, batch, steps):.3g} saved activations, above gru_c's training "
                         f"limit of {WORKSPACE_TERMS:.3g}; expected a smaller batch_size or bptt_steps")
    return max(1, min(batch, int(CHUNK_TERMS // per_seq)))


def _train_accumulated(trainer, x, loss, target, labels, lengths, y, clip_norm, skipped):
    """One update from a batch larger than the trainer's: forward, loss and
    backward per micro-batch, gradients weighted by each part's share of the
    loss terms and summed, then one clip and one optimizer step. Returns the
    batch's mean loss (or the first non-finite part loss, with no update)."""
    B, T, M = x.shape[0], x.shape[1], trainer.max_batch
    seq = bool(trainer.return_sequences)

    def n_terms(sl):
        if not seq:
            return sl.stop - sl.start
        return T * (sl.stop - sl.start) if lengths is None else int(lengths[sl].sum())
    total_terms = n_terms(slice(0, B))
    grad = np.zeros(trainer.n_trainable, np.float64)
    value = 0.0
    for start in range(0, B, M):
        sl = slice(start, min(start + M, B))
        part = (lambda a: None if a is None else np.ascontiguousarray(a[sl]))
        out, _ = trainer.forward(part(x), part(lengths))
        v = trainer.loss(loss, part(target), part(labels))
        if not math.isfinite(v):
            return v
        y[sl] = out
        trainer.backward()
        w = n_terms(sl) / total_terms
        grad += trainer.grad.astype(np.float64) * w
        value += float(v) * w
    with np.errstate(over="ignore", invalid="ignore"):
        trainer.grad[...] = grad.astype(np.float32)
    norm = trainer.clip(clip_norm)
    if math.isfinite(norm):
        trainer.step()
    else:
        trainer.last_skipped = True
    _skipped(trainer, value, norm, skipped)
    return value


class History(dict):
    """Per-epoch metrics: history["loss"], ["val_loss"], ["accuracy"],
    ["val_accuracy"] (lists), plus `stopped` (None, "interrupted",
    "non-finite loss", "non-finite gradient" (every update of an epoch
    skipped), "early stopping"), `best_epoch`, `epochs_run` and
    `skipped_steps` (updates skipped because the gradient norm was not finite
    while the loss was; fit warns when there are any)."""

    def __init__(self):
        super().__init__()
        self.skipped_steps = 0
        self.stopped = None
        self.best_epoch = None
        self.epochs_run = 0

    def add(self, key, value):
        self.setdefault(key, []).append(value)


class _LineProgress:
    """Progress for a log file or pipe: one plain line per finished epoch,
    where a tqdm bar would write a carriage-return frame per refresh."""

    def __init__(self, desc, stream):
        self.desc, self.stream = desc, stream
        self.last = None

    def update(self, n=1):
        pass

    def set_postfix(self, epoch, loss):
        if self.last is not None and epoch != self.last[0]:
            self._line(*self.last)
        self.last = (epoch, loss)

    def _line(self, epoch, loss):
        print(f"{self.desc}: epoch {epoch}, loss {loss}", file=self.stream, flush=True)

    def close(self):
        if self.last is not None:
            self._line(*self.last)
            self.last = None


def _progress(total, enabled, desc):
    """A tqdm bar on a terminal, plain lines elsewhere, None when disabled."""
    if not enabled:
        return None
    stream = sys.stderr
    if not (hasattr(stream, "isatty") and stream.isatty()):
        return _LineProgress(desc, stream)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, leave=False, unit="batch", file=stream)


CHECKPOINT_VERSION = 1


def _save_checkpoint(path, model, settings, trainer, rng, epochs_done, best, history):
    """Everything a resumed fit needs to continue exactly where this one is:
    parameters, optimizer moments and step, the shuffling RNG, the best
    weights and the history. Written atomically (the previous checkpoint stays
    whole until the new one is complete)."""
    hist = {"lists": {k: list(v) for k, v in history.items()}, "best_epoch": best[2],
            "skipped_steps": int(history.skipped_steps)}
    arrays = {
        "__checkpoint_version__": np.array(CHECKPOINT_VERSION, np.int64),
        "config": np.array(json.dumps(model.config())),
        "settings": np.array(json.dumps(settings, sort_keys=True)),
        "params": trainer.params, "opt_state": trainer.opt_state,
        "opt_progress": np.array(trainer.optimizer_progress, np.float64),
        "epochs_done": np.array(epochs_done, np.int64),
        "best_params": best[1], "best_monitor": np.array(best[0], np.float64),
        "history": np.array(json.dumps(hist)),
        "rng": np.array(json.dumps(rng.bit_generator.state)),
    }
    atomic_write(path, lambda f: np.savez(f, **arrays))


def _load_checkpoint(path, model, settings, trainer, rng, history):
    """Restore what _save_checkpoint wrote into trainer/rng/history; returns
    (epochs_done, best). Refuses a checkpoint of another model or other
    settings (ValueError naming `checkpoint`)."""
    arrays = read_npz(path, "checkpoint", "pygru training checkpoint")
    try:
        version, config, saved, hist, rng_state, epochs_done, best_monitor = checkpoint_header(arrays)
        params, opt_state = arrays["params"], arrays["opt_state"]
        best_params, progress = arrays["best_params"], arrays["opt_progress"]
    except (KeyError, ValueError, TypeError) as exc:
        raise ValueError(f"checkpoint: {path!r} is not a pygru training checkpoint ({type(exc).__name__}: "
                         f"{exc})") from None
    if version != CHECKPOINT_VERSION:
        raise ValueError(f"checkpoint: {path!r} has version {version}; this pygru reads {CHECKPOINT_VERSION}")
    if config != model.config():
        raise ValueError(f"checkpoint: {path!r} is for a model {config}, not {model.config()}")
    if saved != settings:
        diff = sorted(k for k in set(saved) | set(settings) if saved.get(k) != settings.get(k))
        raise ValueError(f"checkpoint: {path!r} was written by a fit with other settings ({', '.join(diff)}: "
                         f"{[saved.get(k) for k in diff]} there, {[settings.get(k) for k in diff]} here)")
    n = trainer.params.shape
    if trainer.opt_state.size == 0 and opt_state.shape == n and settings.get("momentum") == 0:
        # Written before SGD without momentum kept no state: its saved velocity
        # was always the last gradient, which such a step never reads.
        opt_state = opt_state[:0]
    for key, arr, shape in (("params", params, n), ("best_params", best_params, n),
                            ("opt_state", opt_state, trainer.opt_state.shape), ("opt_progress", progress, (3,))):
        if arr.dtype.kind != "f" or arr.shape != shape or not np.isfinite(arr).all():
            raise ValueError(f"checkpoint: {path!r}: expected {key} as finite floats of shape {shape}, got "
                             f"{arr.dtype} {arr.shape}{'' if arr.dtype.kind != 'f' or np.isfinite(arr).all() else ' with non-finite values'}")
    if not (progress[0] >= 0 and progress[0] == int(progress[0])):
        raise ValueError(f"checkpoint: {path!r}: expected a whole optimizer step count >= 0, got {progress[0]}")
    try:
        rng.bit_generator.state = rng_state
        lists = hist["lists"]
        if not isinstance(lists, dict) or not all(isinstance(v, list) for v in lists.values()):
            raise TypeError("history lists")
        best_epoch = int(hist["best_epoch"])
        history.skipped_steps = int(hist.get("skipped_steps", 0))  # absent in older checkpoints
    except (KeyError, ValueError, TypeError, AttributeError) as exc:
        raise ValueError(f"checkpoint: {path!r}: expected a shuffling RNG state and a history, got damaged ones "
                         f"({type(exc).__name__}: {exc})") from None
    if not 0 <= epochs_done <= 10**9 or not 0 <= best_epoch <= epochs_done:
        raise ValueError(f"checkpoint: {path!r}: expected 0 <= best epoch <= epochs done, got "
                         f"{best_epoch} and {epochs_done}")
    trainer.params[...] = params
    trainer.opt_state[...] = opt_state
    trainer.optimizer_progress = (int(progress[0]), float(progress[1]), float(progress[2]))
    for key, values in lists.items():
        history[key] = list(values)
    history.epochs_run = epochs_done
    return epochs_done, (best_monitor, best_params.astype(np.float32), best_epoch)


def checkpoint_header(arrays):
    """The scalar and JSON members of a checkpoint, each checked for its kind
    (KeyError / ValueError / TypeError otherwise)."""
    def scalar(key, kind):
        a = arrays[key]
        if a.shape != () or a.dtype.kind not in kind:
            raise TypeError(f"{key}: expected a scalar of kind {kind!r}, got {a.dtype} {a.shape}")
        return a[()]

    def js(key):
        return json.loads(str(scalar(key, "U")))
    return (int(scalar("__checkpoint_version__", "iu")), js("config"), js("settings"), js("history"), js("rng"),
            int(scalar("epochs_done", "iu")), float(scalar("best_monitor", "f")))


def _check_checkpoint(checkpoint, resume):
    if checkpoint is None:
        if resume:
            raise ValueError("resume: resume=True needs checkpoint=PATH")
        return None
    checkpoint = fspath("checkpoint", checkpoint)  # str, bytes or os.PathLike
    if not checkpoint.endswith(".npz"):
        raise ValueError(f"checkpoint: expected a file name ending in '.npz', got {checkpoint!r}")
    directory = os.path.dirname(os.path.abspath(checkpoint))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"checkpoint: directory {directory!r} does not exist")
    return checkpoint


def _check_bptt(model, bptt_steps):
    if bptt_steps is None:
        return None
    bptt_steps = positive_int("bptt_steps", bptt_steps, 2**31 - 1)
    if not model.return_sequences:
        raise ValueError("bptt_steps: truncated BPTT needs a sequence-to-sequence model "
                         "(return_sequences=True); with one output per sequence only the "
                         "last chunk would get a gradient")
    return bptt_steps


def _validation(model, validation_data, loss):
    if validation_data is None:
        return None
    if not isinstance(validation_data, (tuple, list)) or len(validation_data) not in (2, 3):
        raise TypeError("validation_data: expected a tuple (X_val, y_val) or "
                        f"(X_val, y_val, lengths_val), got {type(validation_data).__name__}")
    vl = validation_data[2] if len(validation_data) == 3 else None
    return _prepare(model, validation_data[0], validation_data[1], loss, vl,
                    "validation_data[0]", "validation_data[1]")


def _run_epoch(trainer, data, order, B, loss, clip_norm, Yb, bar, epoch, micro, skipped):
    """One pass over data = (X, target, labels, lengths) in batches of B, in
    `order` (None: as stored); micro: the micro-batch size of accumulated
    gradients (None: whole batches); skipped[0] counts updates skipped for a
    non-finite gradient norm. Returns (mean loss, accuracy or None, updates
    attempted), or None when a batch's loss is not finite."""
    X, target, labels, lengths = data
    N, T = X.shape[0], X.shape[1]
    seq = bool(trainer.return_sequences)
    total, terms, correct, updates = 0.0, 0, 0.0, 0
    for start in range(0, N, B):
        rows = slice(start, start + B) if order is None else order[start:start + B]
        xb = X[rows]
        tb, lb, nb = (None if a is None else a[rows] for a in (target, labels, lengths))
        yb = Yb[:len(xb)]
        if micro is None:
            value = _run_batch(trainer, xb, loss, tb, lb, nb, yb, clip_norm or 0.0, skipped)
        else:
            value = _train_accumulated(trainer, xb, loss, tb, lb, nb, yb, clip_norm or 0.0, skipped)
        updates += -(-T // trainer.max_steps)
        if not math.isfinite(value):
            return None
        n_terms = len(xb) if not seq else (T * len(xb) if nb is None else int(nb.sum()))
        total += float(value) * n_terms
        terms += n_terms
        if labels is not None:
            correct += _accuracy(yb, lb, nb, seq) * n_terms
        if bar is not None:
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{value:.4g}")
    return total / terms, (None if labels is None else correct / terms), updates


def _restore_best(model, trainer, history, best, patience, skipped):
    """Set the model's weights to the best seen (by validation loss when
    given, else training loss) when training stopped early or early stopping
    is on; else to the last. Warns of an abnormal stop and of `skipped`
    updates (a finite loss whose gradient norm overflowed float32)."""
    abnormal = ("interrupted", "non-finite loss", "non-finite gradient")
    use_best = history.stopped in abnormal or patience is not None
    final = best[1] if (use_best and best[2] > 0) else trainer.params
    history.skipped_steps = skipped
    if history.stopped in abnormal:
        if best[2] == 0:
            final = best[1]  # no epoch finished: the weights from before fit
        warnings.warn(f"fit stopped early ({history.stopped}) after {history.epochs_run} complete "
                      f"epoch(s); restored the best weights so far (epoch {best[2]})"
                      + (f"; {skipped} update(s) skipped for a non-finite gradient norm" if skipped else ""),
                      RuntimeWarning, stacklevel=4)
    elif skipped:
        warnings.warn(f"fit skipped {skipped} update(s): the gradient norm overflowed float32 (or an updated "
                      f"weight would not be finite) although the loss was finite (try a lower lr or "
                      f"clip_norm); history.skipped_steps counts them",
                      RuntimeWarning, stacklevel=4)
    history.best_epoch = best[2] or None
    model.set_weights(unflatten_weights(model, final))


def _check_hyper(epochs, batch_size, lr, weight_decay, momentum, clip_norm, early_stopping):
    """fit's numeric settings, checked (floats as the float32 the C optimizer stores)."""
    return (positive_int("epochs", epochs, 10**9), positive_int("batch_size", batch_size, 2**31 - 1),
            _positive_float("lr", lr), _positive_float("weight_decay", weight_decay, allow_zero=True),
            _positive_float("momentum", momentum, allow_zero=True, below=1.0),
            _positive_float("clip_norm", clip_norm, allow_none=True),
            None if early_stopping is None else positive_int("early_stopping", early_stopping))


def _check_choices(model, loss, optimizer, trainable, micro_batch):
    """fit's choices checked; returns micro_batch (None or a positive int)."""
    _check_choice("loss", loss, LOSSES)
    _check_loss_head(model, loss)
    _check_choice("optimizer", optimizer, OPTIMIZERS)
    check_trainable(model, trainable)
    return None if micro_batch is None else positive_int("micro_batch", micro_batch, 2**31 - 1)


def fit(model, X, y, loss="mse", epochs=10, batch_size=32, optimizer="adam", lr=1e-3,
        weight_decay=0.0, clip_norm=None, lengths=None, validation_data=None, shuffle=True,
        seed=None, early_stopping=None, progress=True, momentum=0.9, checkpoint=None, resume=False,
        bptt_steps=None, trainable="all", micro_batch=None):
    """Train `model` in place on (X, y); see GRUModel.fit (trainable, micro_batch: at TRAINABLE)."""
    micro_batch = _check_choices(model, loss, optimizer, trainable, micro_batch)
    epochs, batch_size, lr, weight_decay, momentum, clip_norm, patience = _check_hyper(
        epochs, batch_size, lr, weight_decay, momentum, clip_norm, early_stopping)
    bptt_steps = _check_bptt(model, bptt_steps)
    checkpoint = _check_checkpoint(checkpoint, resume)
    data = _prepare(model, X, y, loss, lengths)
    X = data[0]
    val = _validation(model, validation_data, loss)
    N, T = X.shape[0], X.shape[1]
    B = min(batch_size, N)
    max_steps = T if val is None else max(T, val[0].shape[1])
    if bptt_steps is not None:  # longer sequences run in chunks (_run_batch)
        max_steps = min(max_steps, bptt_steps)
    micro = _fit_plan(model, B, max_steps, bptt_steps) if micro_batch is None else None
    trainer = make_trainer(model, min(micro_batch or micro or B, B), max_steps, trainable=trainable)
    kw = {"momentum": momentum} if optimizer == "sgd" else {}
    trainer.set_optimizer(optimizer, lr, weight_decay=weight_decay, **kw)
    rng = _rng("seed", seed)

    history = History()
    skipped = [0]
    best = (math.inf, trainer.params.copy(), 0)
    start = 0
    settings = {"loss": loss, "optimizer": optimizer, "lr": lr, "weight_decay": weight_decay,
                "momentum": momentum if optimizer == "sgd" else None, "clip_norm": clip_norm,
                "batch_size": B, "shuffle": bool(shuffle), "data_shape": list(X.shape),
                "validation": val is not None, "early_stopping": patience}
    if bptt_steps is not None:  # (absent otherwise: older checkpoints stay resumable)
        settings["bptt_steps"] = max_steps
    settings.update({k: v for k, v in (("trainable", trainable), ("micro_batch", micro_batch))
                     if v not in ("all", None)})
    if resume and os.path.exists(checkpoint):
        start, best = _load_checkpoint(checkpoint, model, settings, trainer, rng, history)
        skipped[0] = history.skipped_steps
    Yb = np.empty((B, T, model.output_dim) if model.return_sequences else (B, model.output_dim), np.float32)
    bar = _progress(max(epochs - start, 0) * (-(-N // B)), progress, "fit")
    try:
        for epoch in range(start, epochs):
            order = rng.permutation(N) if shuffle else None
            skipped_before = skipped[0]
            result = _run_epoch(trainer, data, order, B, loss, clip_norm, Yb, bar, epoch, micro, skipped)
            history.skipped_steps = skipped[0]
            if result is None:
                history.stopped = "non-finite loss"
                break
            monitor, accuracy, updates = result
            if updates and skipped[0] - skipped_before >= updates:
                # No update of this epoch happened: the weights are where they
                # were, so every further epoch would skip the same way.
                history.stopped = "non-finite gradient"
                break
            history.add("loss", monitor)
            if accuracy is not None:
                history.add("accuracy", accuracy)
            if val is not None:
                metrics = _evaluate(trainer, *val, loss, B)
                history.add("val_loss", metrics["loss"])
                if "accuracy" in metrics:
                    history.add("val_accuracy", metrics["accuracy"])
                monitor = metrics["loss"]
            history.epochs_run = epoch + 1
            if monitor < best[0]:
                best = (monitor, trainer.params.copy(), epoch + 1)
            elif patience is not None and epoch + 1 - best[2] >= patience:
                history.stopped = "early stopping"
                break
            if checkpoint is not None:
                _save_checkpoint(checkpoint, model, settings, trainer, rng, epoch + 1, best, history)
    except KeyboardInterrupt:
        history.stopped = "interrupted"
    finally:
        if bar is not None:
            bar.close()
    _restore_best(model, trainer, history, best, patience, skipped[0])
    return history
