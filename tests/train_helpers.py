"""Shared pieces of the training tests: float64 references (numpy finite
differences over tests/reference.py, PyTorch autograd), a C build helper and a
trainer that Ctrl-C interrupts."""
import numpy as np

import reference

# The host build for the Python-vs-C comparison: baseline vector width, no
# run-time dispatch, while the extension (setup.py) runs the AVX2/AVX-512
# clones on this machine, so comparing the two also checks that results do not
# depend on the vector width.
HOST_FLAGS = ["-O2", "-fno-math-errno"]


# ---------------------------------------------------------------------- numpy float64

def ref_loss(weights, X, y, loss, lengths, num_layers, reset_after, activation, seq):
    """Mean loss in float64 from tests/reference.py, each sequence run alone
    up to its length (so padding cannot enter)."""
    N, T = X.shape[0], X.shape[1]
    lengths = np.full(N, T) if lengths is None else lengths
    total, count = 0.0, 0
    for b in range(N):
        L = int(lengths[b])
        act = None if loss == "cross_entropy" else activation
        out = reference.gru_model(X[b:b + 1, :L], weights, num_layers, list(reset_after), act, seq)[0]
        outs = out if seq else out[None]
        tgt = y[b, :L] if seq else y[b][None]
        for o, t in zip(outs, tgt):
            if loss == "mse":
                total += float(np.sum((o - t) ** 2)) / o.shape[-1]
            else:
                m = o.max()
                total += float(m + np.log(np.sum(np.exp(o - m))) - o[int(t)])
            count += 1
    return total / count


def finite_difference_grads(weights, X, y, loss, lengths, cfg, picks=12, eps=1e-6, seed=0):
    """Central differences of ref_loss for `picks` random entries of every
    parameter (float64). Returns {name: (flat indices, gradients)}."""
    rng = np.random.default_rng(seed)
    w64 = {k: np.array(v, np.float64) for k, v in weights.items()}
    out = {}
    for name, arr in w64.items():
        idx = rng.choice(arr.size, size=min(picks, arr.size), replace=False)
        g = []
        for i in idx:
            old = arr.flat[i]
            arr.flat[i] = old + eps
            up = ref_loss(w64, X, y, loss, lengths, *cfg)
            arr.flat[i] = old - eps
            down = ref_loss(w64, X, y, loss, lengths, *cfg)
            arr.flat[i] = old
            g.append((up - down) / (2 * eps))
        out[name] = (idx, np.array(g))
    return out


# ---------------------------------------------------------------------- torch float64

def torch_loss_and_grads(weights, X, y, loss, lengths, num_layers, reset_after, activation, seq,
                         h0=None):
    """Loss and gradients (weights, X, h0) by PyTorch autograd in float64. Layers
    with reset_after use torch.nn.GRU's own cell (run one step at a time so that
    lengths can hold the state); reset_before layers are written out."""
    import torch
    p = {k: torch.tensor(np.asarray(v, np.float64), requires_grad=True) for k, v in weights.items()}
    x = torch.tensor(np.asarray(X, np.float64), requires_grad=True)
    N, T = X.shape[0], X.shape[1]
    S = sum(weights[f"weight_hh_l{l}"].shape[1] for l in range(num_layers))
    h0t = torch.tensor(np.zeros((N, S)) if h0 is None else np.asarray(h0, np.float64), requires_grad=True)
    mask = torch.ones(N, T, dtype=torch.float64)
    if lengths is not None:
        mask = torch.tensor((np.arange(T)[None] < np.asarray(lengths)[:, None]).astype(np.float64))
    inp, off = x, 0
    for l in range(num_layers):
        Wi, Wh = p[f"weight_ih_l{l}"], p[f"weight_hh_l{l}"]
        bi, bh = p[f"bias_ih_l{l}"], p[f"bias_hh_l{l}"]
        H = Wh.shape[1]
        h = h0t[:, off:off + H]
        outs = []
        for t in range(T):
            if reset_after[l]:
                hn = torch.gru_cell(inp[:, t], h, Wi, Wh, bi, bh)
            else:
                gi = inp[:, t] @ Wi.T + bi
                r = torch.sigmoid(gi[:, :H] + h @ Wh[:H].T + bh[:H])
                z = torch.sigmoid(gi[:, H:2 * H] + h @ Wh[H:2 * H].T + bh[H:2 * H])
                n = torch.tanh(gi[:, 2 * H:] + (r * h) @ Wh[2 * H:].T + bh[2 * H:])
                hn = (1 - z) * n + z * h
            m = mask[:, t:t + 1]
            h = m * hn + (1 - m) * h
            outs.append(h)
        inp = torch.stack(outs, 1)
        off += H
    out = inp if seq else inp[:, -1]
    if "head.weight" in p:
        out = out @ p["head.weight"].T + p["head.bias"]
    if loss == "mse":
        if activation == "sigmoid":
            out = torch.sigmoid(out)
        elif activation == "tanh":
            out = torch.tanh(out)
        err = ((out - torch.tensor(np.asarray(y, np.float64))) ** 2).mean(-1)
    else:
        err = torch.nn.functional.cross_entropy(out.reshape(-1, out.shape[-1]),
                                                torch.tensor(np.asarray(y)).reshape(-1).long(),
                                                reduction="none").reshape(out.shape[:-1])
    value = (err * mask).sum() / mask.sum() if seq else err.mean()
    value.backward()
    grads = {k: v.grad.numpy().copy() for k, v in p.items()}
    return float(value.detach()), grads, x.grad.numpy().copy(), h0t.grad.numpy().copy()


def torch_optimizer_step(kind, params, grads, steps, **kw):
    """params after `steps` updates of torch.optim with fixed grads (list of
    arrays per step), float32 like pygru."""
    import torch
    ps = {k: torch.tensor(np.asarray(v, np.float32), requires_grad=True) for k, v in params.items()}
    cls = {"adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "sgd": torch.optim.SGD}[kind]
    opt = cls(list(ps.values()), foreach=False, **kw)
    for s in range(steps):
        for k, v in ps.items():
            v.grad = torch.tensor(np.asarray(grads[s][k], np.float32))
        opt.step()
    return {k: v.detach().numpy().copy() for k, v in ps.items()}


# ---------------------------------------------------------------------- interrupted training

class Interrupting:
    """Stands in for the C Trainer and raises KeyboardInterrupt (Ctrl-C) at
    the `at`-th training batch; everything else goes to the real trainer."""

    def __init__(self, trainer, at):
        object.__setattr__(self, "_t", trainer)
        object.__setattr__(self, "_left", at)

    def train_batch(self, *args):
        object.__setattr__(self, "_left", self._left - 1)
        if self._left == 0:
            raise KeyboardInterrupt
        return self._t.train_batch(*args)

    def __getattr__(self, name):
        return getattr(self._t, name)

    def __setattr__(self, name, value):
        setattr(self._t, name, value)


def interrupt_at(monkeypatch, at, cls=Interrupting):
    """From now on (until monkeypatch undoes it) every trainer pygru makes is
    wrapped in `cls`, counting down from `at` batches."""
    from pygru import training
    real = training.make_trainer
    monkeypatch.setattr(training, "make_trainer", lambda *a, **k: cls(real(*a, **k), at))
