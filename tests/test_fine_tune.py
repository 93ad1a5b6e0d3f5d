"""On-device fine-tuning (gru_train.h's trainable choices, gru_train_step,
pygru.export_train, examples/fine_tune/fine_tune.c):

* the gradients of the trainable part against PyTorch autograd, and the frozen
  part unchanged bit for bit by training;
* low_memory (no transposed weight copies) gives the same bits;
* a non-finite loss, gradient norm or updated weight changes nothing;
* the firmware example, built for the host and run under QEMU, ends with the
  bits of pygru.training.fit(..., trainable=...), and a power loss between
  (and in the middle of) commits resumes to the same bits.
"""
import copy
import subprocess

import numpy as np
import pytest

from conftest import require_module, require_target
from train_helpers import torch_loss_and_grads

import pygru
from pygru import GRUModel, export_train, training
from pygru.firmware import cbuild, finetune, fwbuild

REL = 2e-5


def make_model(reset_after=(True, False), seq=False, act="softmax", hidden=(7, 5), seed=3):
    return GRUModel(input_size=4, hidden_sizes=list(hidden), output_size=3, reset_after=list(reset_after),
                    output_activation=act, return_sequences=seq, seed=seed)


def make_batch(model, B=4, T=6, lengths=False, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(B, T, model.input_size)).astype(np.float32)
    y = rng.integers(0, 3, size=(B, T) if model.return_sequences else (B,)).astype(np.int32)
    ln = np.array([T, 3, 1, T - 1][:B], np.int32) if lengths else None
    return X, y, ln


def trainable_names(model, trainable):
    names = list(model.get_weights())
    if trainable == "head":
        return [n for n in names if n.startswith("head.")]
    if trainable == "last":
        L = model.num_layers - 1
        return [n for n in names if n.startswith("head.") or n.endswith(f"_l{L}")]
    return names


def c_trainable_grads(model, X, y, ln, trainable, low_memory=False):
    tr = training.make_trainer(model, X.shape[0], X.shape[1], trainable=trainable, low_memory=low_memory)
    tr.forward(X, ln)
    value = tr.loss("cross_entropy", None, y)
    tr.backward()
    full = np.zeros(tr.n_params, np.float32)
    full[tr.offset:] = tr.grad
    return value, training.unflatten_weights(model, full), tr


@pytest.mark.parametrize("trainable", ["last", "head"])
@pytest.mark.parametrize("seq,lengths", [(False, False), (True, True), (False, True)])
def test_trainable_gradients_match_torch(trainable, seq, lengths):
    torch = require_module("torch", "pip install torch==2.13.0")
    torch.set_num_threads(1)
    model = make_model(seq=seq, act=None)
    X, y, ln = make_batch(model, lengths=lengths)
    value, grads, tr = c_trainable_grads(model, X, y, ln, trainable)
    tv, tg, _, _ = torch_loss_and_grads(model.get_weights(), X, y, "cross_entropy", ln, model.num_layers,
                                        model.reset_after, None, seq)
    assert abs(value - tv) <= 1e-5 * max(1.0, abs(tv))
    names = trainable_names(model, trainable)
    assert tr.n_trainable == sum(training._piece_size(r, c) for n, _, r, c in training._pieces(model)
                                 if n in names)
    for name in names:
        scale = max(np.abs(tg[name]).max(), 1e-3)
        err = np.abs(grads[name] - tg[name]).max() / scale
        assert err <= REL, f"{trainable}: {name}: max error {err:.2e} relative to {scale:.3g}"


@pytest.mark.parametrize("trainable", ["all", "last", "head"])
@pytest.mark.parametrize("seq,lengths,optimizer", [(False, False, "sgd"), (True, True, "adam")])
def test_frozen_part_unchanged_and_low_memory_same_bits(trainable, seq, lengths, optimizer):
    model = make_model(seq=seq)
    X, y, ln = make_batch(model, B=4, lengths=lengths)
    before = training.flatten_weights(model)
    results = []
    for low_memory in (False, True):
        tr = training.make_trainer(model, 4, X.shape[1], trainable=trainable, low_memory=low_memory)
        tr.set_optimizer(optimizer, 0.05, momentum=0.9) if optimizer == "sgd" else tr.set_optimizer(optimizer, 0.01)
        Y = np.empty((4, X.shape[1], 3) if seq else (4, 3), np.float32)
        for _ in range(3):
            tr.train_batch(X, "cross_entropy", None, y, ln, 0.0, Y)
            assert not tr.last_skipped
        results.append(np.array(tr.params).view(np.uint32))
    assert np.array_equal(results[0], results[1]), "low_memory changed the trained bits"
    off = tr.offset
    assert np.array_equal(results[0][:off], before[:off].view(np.uint32)), "a frozen parameter changed"
    # Most trainable values moved (the packing's padding rows stay 0).
    assert np.count_nonzero(results[0][off:] != before[off:].view(np.uint32)) > np.count_nonzero(before[off:]) // 2
    # The C optimizer state covers the trainable floats only.
    assert tr.grad.size == before.size - off


def test_trainable_choices_need_less_and_head_only_no_history():
    model = make_model(hidden=(16, 12))
    sizes = {k: export_train._sizes(model, k, 8, 20, True)[2] for k in ("all", "last", "head")}
    assert sizes["head"] < sizes["last"] < sizes["all"]
    # Head only: no BPTT, so the workspace does not grow with the sequence length.
    assert export_train._sizes(model, "head", 8, 200, True)[2] == sizes["head"]
    assert export_train._sizes(model, "all", 8, 20, False)[2] > sizes["all"]   # transposed copies
    with pytest.raises(ValueError, match="trainable: 'head' needs a model with a dense head"):
        training.fit(GRUModel(4, [5]), np.zeros((2, 3, 4), np.float32), np.zeros((2, 5), np.float32),
                     trainable="head", progress=False)
    with pytest.raises(ValueError, match="trainable: expected one of"):
        training.fit(model, np.zeros((2, 3, 4), np.float32), np.zeros(2, np.int32), loss="cross_entropy",
                     trainable="first", progress=False)


def test_partial_trainer_refuses_input_gradients():
    model = make_model()
    X, y, _ = make_batch(model)
    tr = training.make_trainer(model, 4, 6, trainable="last")
    tr.forward(X)
    tr.loss("cross_entropy", None, y)
    with pytest.raises(RuntimeError, match="gru_c error -8"):
        tr.backward(want_dx=True, x_shape=X.shape)


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
@pytest.mark.parametrize("how", ["nan target", "overflowing weights"])
def test_non_finite_step_leaves_weights_and_optimizer_unchanged(optimizer, how):
    model = make_model(act=None)
    X, _, _ = make_batch(model)
    target = np.random.default_rng(2).normal(size=(4, 3)).astype(np.float32)
    tr = training.make_trainer(model, 4, 6, trainable="head")
    tr.set_optimizer(optimizer, 0.1, momentum=0.5) if optimizer == "sgd" else tr.set_optimizer(optimizer, 0.1)
    Y = np.empty((4, 3), np.float32)
    tr.train_batch(X, "mse", target, None, None, 0.0, Y)   # one good step: the state is not zero
    assert not tr.last_skipped
    params, state, progress = tr.params.copy(), tr.opt_state.copy(), tr.optimizer_progress
    if how == "nan target":
        bad = target.copy()
        bad[1, 2] = np.nan
        value, _ = tr.train_batch(X, "mse", bad, None, None, 0.0, Y)
        assert np.isnan(value)
    else:
        # Every gradient is finite, the updated weights are not (SGD: a huge
        # weight decay times lr; Adam: lr / (1 - beta1**2) overflows float32).
        if optimizer == "sgd":
            tr.set_optimizer(optimizer, 100.0, momentum=0.5, weight_decay=3e38)
        else:
            tr.set_optimizer(optimizer, 3e38)
        tr.opt_state[...] = state
        tr.optimizer_progress = progress
        value, norm = tr.train_batch(X, "mse", target, None, None, 0.0, Y)
        assert np.isfinite(value) and np.isfinite(norm)
    assert tr.last_skipped
    assert np.array_equal(tr.params.view(np.uint32), params.view(np.uint32))
    assert np.array_equal(tr.opt_state.view(np.uint32), state.view(np.uint32))
    assert tr.optimizer_progress == progress


@pytest.mark.parametrize("trainable", ["all", "head"])
@pytest.mark.parametrize("seq", [False, True])
def test_micro_batches_accumulate_the_batch_gradient(trainable, seq):
    """fit(micro_batch=M): one update per batch from gradients accumulated in
    gru_c over parts of M sequences: the whole batch's update up to rounding
    (the sums run in another order), and exactly it when M covers the batch."""
    model = make_model(seq=seq)
    X, y, _ = make_batch(model, B=4, seed=4)
    X = np.concatenate([X, X[::-1] * 0.5, X[:2]])
    y = np.concatenate([y, y[::-1], y[:2]])
    ln = np.array([6, 3, 1, 5, 2, 6, 4, 6, 1, 3], np.int32) if seq else None
    out = {}
    for micro in (None, 1, 3, 8):
        m = copy.deepcopy(model)
        training.fit(m, X, y, loss="cross_entropy", epochs=2, batch_size=8, optimizer="sgd", lr=0.5, lengths=ln,
                     shuffle=False, trainable=trainable, micro_batch=micro, progress=False)
        out[micro] = training.flatten_weights(m)
    assert np.array_equal(out[8], out[None])
    moved = np.abs(out[None] - training.flatten_weights(model)).max()
    for micro in (1, 3):
        assert np.abs(out[micro] - out[None]).max() <= 1e-5 * moved + 1e-7, micro


@pytest.mark.parametrize("trainable", ["all", "last", "head"])
def test_exported_size_macros_compile_against_gru_c(tmp_path, trainable):
    """The header's compile-time checks (trainable count and workspace macro
    against gru_c's size queries) hold for assorted shapes and choices."""
    rng = np.random.default_rng({"all": 0, "last": 1, "head": 2}[trainable])
    for i in range(6):
        hidden = [int(v) for v in rng.integers(1, 40, size=int(rng.integers(1, 4)))]
        model = GRUModel(int(rng.integers(1, 20)), hidden, output_size=int(rng.integers(1, 12)),
                         reset_after=[bool(v) for v in rng.integers(0, 2, len(hidden))],
                         return_sequences=bool(i % 2), seed=i)
        for low_memory in (False, True):
            h = tmp_path / f"m{i}_{int(low_memory)}.h"
            export_train.export_train_c(model, str(h), name="ft", trainable=trainable,
                                        max_batch=int(rng.integers(1, 9)), max_steps=int(rng.integers(1, 30)),
                                        low_memory=low_memory)
            src = tmp_path / f"m{i}_{int(low_memory)}.c"
            src.write_text(f'#include "{h.name}"\nint main(void) {{ gru_model m; '
                           f'return ft_wire(&m, ft_trainable_init) != GRU_OK; }}\n')
            exe = cbuild.build([src] + cbuild.runtime_objects(["-O1"]), tmp_path / f"m{i}_{int(low_memory)}",
                               ["-O1", "-I" + str(tmp_path)])
            assert subprocess.run([str(exe)]).returncode == 0


# ---------------------------------------------------------------------- the firmware example

# Batches of 3 accumulated over micro-batches of 2 (head) and 1 (the others).
SETTINGS = {"head": dict(epochs=2, batch=3, micro=2, optimizer="sgd", lr=0.2, momentum=0.9, clip=1.0),
            "all": dict(epochs=2, batch=3, micro=1, optimizer="adam", lr=0.01, momentum=0.0, clip=0.5)}


def example_case(trainable):
    model = make_model(hidden=(9, 6), act="softmax")
    rng = np.random.default_rng(7)
    X = rng.normal(size=(7, 5, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=7).astype(np.int32)
    return model, X, y, SETTINGS["head" if trainable == "head" else "all"]


def run_example(target, work, model, X, y, st, trainable, runtime_lib, power_loss_at=-1, nv=None, tag="a"):
    n = finetune.write_headers(str(work), model, X, y, st, trainable, power_loss_at, nv)
    lib = None if target == "host" else runtime_lib(target)
    exe = finetune.build(target, str(work), f"ft_{target}_{tag}.elf", opt="-O3", runtime_lib=lib)
    rc, out = finetune.run(target, exe)
    return rc, finetune.parse(out, n), out


@pytest.mark.parametrize("trainable", ["head", "last", "all"])
def test_host_example_matches_python_fit(tmp_path, trainable, runtime_lib):
    model, X, y, st = example_case(trainable)
    rc, res, out = run_example("host", tmp_path, model, X, y, st, trainable, runtime_lib)
    assert rc == 0, out
    _, python = finetune.python_fine_tune(model, X, y, st, trainable)
    assert len(res["steps"]) == st["epochs"] * 3 and res["skipped"] == 0
    assert np.array_equal(res["params"], python), f"{np.count_nonzero(res['params'] != python)} floats differ"
    init = training.flatten_weights(model)[-python.size:]
    assert np.count_nonzero(python != init.view(np.uint32)) > np.count_nonzero(init) // 2


@pytest.mark.parametrize("target", sorted(fwbuild.TARGETS))
def test_target_example_bit_identical(tmp_path, target, runtime_lib):
    """Head-only SGD and whole-model Adam fine-tunes on each target end with the bits of fit()."""
    require_target(target)
    for trainable in ("head", "all"):
        model, X, y, st = example_case(trainable)
        rc, res, out = run_example(target, tmp_path, model, X, y, st, trainable, runtime_lib, tag=trainable)
        assert rc == 0, f"{target}: {rc}\n{out[-2000:]}"
        _, python = finetune.python_fine_tune(model, X, y, st, trainable)
        assert np.array_equal(res["params"], python), \
            f"{target} {trainable}: {np.count_nonzero(res['params'] != python)} of {python.size} floats differ"


@pytest.mark.parametrize("target", ["host", "cortex-m4f"])
@pytest.mark.parametrize("trainable,power_loss_at", [("head", 2), ("all", 4), ("all", 0)])
def test_power_loss_resumes_to_the_same_bits(tmp_path, target, trainable, power_loss_at, runtime_lib):
    """A power loss while committing step k (the bank being written is torn)
    and a reboot from what the memory holds end with the bits of an
    uninterrupted run: the reboot resumes after step k - 1 and redoes step k."""
    if target != "host":
        require_target(target)
    model, X, y, st = example_case(trainable)
    rc, full, out = run_example(target, tmp_path, model, X, y, st, trainable, runtime_lib, tag="full")
    assert rc == 0, out
    rc, cut, out = run_example(target, tmp_path, model, X, y, st, trainable, runtime_lib, power_loss_at,
                               tag="cut")
    assert rc == 3 and cut["nv"] is not None and cut["params"] is None, out[-2000:]
    assert cut["steps"] == full["steps"][:power_loss_at + 1]
    rc, resumed, out = run_example(target, tmp_path, model, X, y, st, trainable, runtime_lib,
                                   nv=cut["nv"], tag="resumed")
    assert rc == 0, out[-2000:]
    assert resumed["resume"] == power_loss_at
    assert resumed["steps"] == full["steps"][power_loss_at:]
    assert np.array_equal(resumed["params"], full["params"])
    if power_loss_at > 0:
        # The other bank was torn by the power loss; flip a bit of the one
        # commit left: no valid commit, so the reboot starts from the
        # exported weights, and still ends with the same bits.
        nv = cut["nv"].copy()
        half = nv.size // 2
        valid = [b for b in (0, 1) if nv[b * half] == 0x46544E56]   # word 0 of a bank: its magic
        assert len(valid) == 1
        nv[valid[0] * half + 10] ^= 1
        rc, fresh, out = run_example(target, tmp_path, model, X, y, st, trainable, runtime_lib, nv=nv,
                                     tag="fresh")
        assert rc == 0 and fresh["resume"] == 0, out[-2000:]
        assert np.array_equal(fresh["params"], full["params"])


def test_export_for_training_refuses_layers_training_cannot_run(tmp_path):
    # A pre-net (or any layer beyond GRU stacks and one head) is refused by
    # name, not exported as the GRU part alone.
    model = GRUModel.from_layers(4, [pygru.Dense(8, "tanh"), pygru.GRU(6), pygru.Dense(3)])
    with pytest.raises(ValueError, match="Dense pre-net"):
        export_train.training_memory(model, "head")
    with pytest.raises(ValueError, match="Dense pre-net"):
        export_train.export_train_c(model, tmp_path / "m.h", trainable="head")
    assert not (tmp_path / "m.h").exists()
