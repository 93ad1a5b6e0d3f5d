"""Issue 14 regressions beyond the bad-input matrix (tests/bad_input_cases.py):
threads, pickling through a spawn pool, interrupted and killed atomic writes,
SIGTERM in the CLI, long sequences, skipped training updates."""
import copy
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest

import pygru
from pygru import _io, training

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env():
    return dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _process_umask():
    """The umask read without changing it (os.umask can only set it)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    raise AssertionError("no Umask line in /proc/self/status")


# ---------------------------------------------------------------------- threads (docs/threads.md)

def test_set_weights_while_predicting_in_threads():
    """What docs/threads.md promises: predict may run in any number of threads
    while another thread calls set_weights; each predict uses one complete
    set of weights (old or new), and once set_weights has returned every
    later predict uses the new ones (the race of issue 14 left the model on
    the old weights for good in 3 of 5 runs)."""
    X = np.random.default_rng(0).normal(size=(8, 30, 3)).astype(np.float32)
    base = pygru.GRUModel(3, [16], output_size=2, seed=0)
    sets = [{k: v * (1 + 0.1 * i) for k, v in base.get_weights().items()} for i in range(12)]
    expected = []
    for w in sets:
        m = pygru.GRUModel(3, [16], output_size=2, seed=0)
        m.set_weights(w)
        expected.append(m.predict(X))
    for run in range(5):
        model = pygru.GRUModel(3, [16], output_size=2, seed=0)
        model.set_weights(sets[0])
        stop = threading.Event()
        seen, errors = [], []

        def worker():
            try:
                while not stop.is_set():
                    y = model.predict(X)
                    seen.append(next(i for i, e in enumerate(expected) if np.array_equal(y, e)))
            except StopIteration:
                errors.append("a predict used a mix of weights")
            except Exception as exc:  # noqa: BLE001 - reported below
                errors.append(repr(exc))
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for w in sets[1:]:
            model.set_weights(w)
            time.sleep(0.002)
        final = model.predict(X)
        stop.set()
        for t in threads:
            t.join()
        assert not errors, errors
        assert seen, "no predict ran in the threads"
        np.testing.assert_array_equal(final, expected[-1])
        np.testing.assert_array_equal(model.predict(X), expected[-1])
        np.testing.assert_array_equal(model.get_weights()["weight_ih_l0"], sets[-1]["weight_ih_l0"])


def test_threads_saving_at_once_leave_the_umask_alone(tmp_path):
    """atomic_write no longer probes the umask by setting it (a race when
    threads save at once); files get 0o666 & ~umask from the kernel."""
    before = _process_umask()
    model = pygru.GRUModel(3, [4], seed=0)
    errors = []

    def save(i):
        try:
            for j in range(20):
                model.save(tmp_path / f"m{i}_{j}.npz")
                assert _process_umask() == before
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
    threads = [threading.Thread(target=save, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert _process_umask() == before
    modes = {os.stat(p).st_mode & 0o777 for p in tmp_path.iterdir()}
    assert modes == {0o666 & ~before}
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


# ---------------------------------------------------------------------- pickling

def _spawn_predict(args):
    model, X = args
    return model.predict(X), pickle.dumps(model)


def _models(X):
    m = pygru.GRUModel(3, [6, 5], output_size=2, output_activation="softmax", seed=3)
    return [m, pygru.quantize(m, X, "int8"), pygru.quantize(m, X, "integer")]


def test_models_pickle_at_any_time_and_through_a_spawn_pool():
    X = np.random.default_rng(1).normal(size=(4, 7, 3)).astype(np.float32)
    models = _models(X)
    for m in models:
        y = m.predict(X)                 # a native descriptor now exists
        s = m.stream()
        s.step(X[0, 0])
        blob = pickle.dumps(m)
        assert b"Native" not in blob and b"Q8Model" not in blob and b"QIModel" not in blob
        for clone in (pickle.loads(blob), copy.deepcopy(m), copy.copy(m)):
            np.testing.assert_array_equal(clone.predict(X), y)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        results = pool.map(_spawn_predict, [(m, X) for m in models])
    for m, (y, blob) in zip(models, results):
        np.testing.assert_array_equal(y, m.predict(X))
        np.testing.assert_array_equal(pickle.loads(blob).predict(X), m.predict(X))


def test_streams_do_not_pickle():
    """A stream holds native state in buffers of this process (docs/threads.md)."""
    with pytest.raises(TypeError):
        pickle.dumps(pygru.GRUModel(3, [4], seed=0).stream())


# ---------------------------------------------------------------------- atomic writes

def _files(d):
    return sorted(p.name for p in d.iterdir())


POINTS = [(u, w) for u in (True, False) for w in ("created", "fdopen", "write", "link", "replace")
          if u or w != "link"]


@pytest.mark.parametrize("unnamed, where", POINTS,
                         ids=[f"{'O_TMPFILE' if u else 'named'}-{w}" for u, w in POINTS])
def test_interrupt_anywhere_leaves_nothing(tmp_path, monkeypatch, unnamed, where):
    """KeyboardInterrupt at each step of atomic_write (also between creating
    the temporary and guarding it): the target is untouched and no temporary
    remains, with O_TMPFILE and with the named fallback."""
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    if not unnamed:
        monkeypatch.setattr(_io, "_open_unnamed", lambda d: None)

    def boom(*a, **k):
        raise KeyboardInterrupt
    write = (lambda f: f.write(b"new"))
    if where == "write":
        write = boom
    elif where == "link":
        real = _io._link_unnamed

        def link_then_interrupt(fd, name):
            real(fd, name)
            raise KeyboardInterrupt
        monkeypatch.setattr(_io, "_link_unnamed", link_then_interrupt)
    elif where == "replace":
        monkeypatch.setattr(_io.os, "replace", boom)
    elif where == "fdopen":
        monkeypatch.setattr(_io.os, "fdopen", boom)
    elif unnamed:  # created: the interrupt lands just after the descriptor exists
        real_unnamed = _io._open_unnamed

        def created(d):
            real_unnamed(d)
            raise KeyboardInterrupt
        monkeypatch.setattr(_io, "_open_unnamed", created)
    else:
        real_open = _io.os.open

        def created(path, flags, *a, **k):
            real_open(path, flags, *a, **k)
            raise KeyboardInterrupt
        monkeypatch.setattr(_io.os, "open", created)
    with pytest.raises(KeyboardInterrupt):
        _io.atomic_write(target, write)
    assert _files(tmp_path) == ["out.bin"]
    assert target.read_bytes() == b"old"


KILLED_WRITER = r"""
import os, sys, time
from pygru import _io
if sys.argv[2] == "named":
    _io._open_unnamed = lambda d: None
def slow(f):
    f.write(b"x" * 1000)
    f.flush()
    print("writing", flush=True)
    time.sleep(60)
_io.atomic_write(sys.argv[1], slow)
"""


@pytest.mark.parametrize("mode", ["unnamed", "named"])
def test_sigkill_while_writing(tmp_path, mode):
    """SIGKILL in the middle of a write: with O_TMPFILE nothing is left at
    all; with the named fallback the temporary is recognisable by its name
    (.pygru-<pid>-<hex>.tmp) and the next atomic_write into the directory
    removes it once it is older than STALE_SECONDS and its process is gone."""
    target = tmp_path / "m.npz"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(target), mode], env=_env(),
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = _files(tmp_path)
    if mode == "unnamed":
        assert left == []
        return
    assert len(left) == 1 and left[0].startswith(f".pygru-{proc.pid}-") and left[0].endswith(".tmp"), left
    pygru.GRUModel(3, [4], seed=0).save(target)       # too young: kept
    assert left[0] in _files(tmp_path)
    old = time.time() - 2 * _io.STALE_SECONDS
    os.utime(tmp_path / left[0], (old, old))
    pygru.GRUModel(3, [4], seed=0).save(target)
    assert _files(tmp_path) == ["m.npz"]


def test_name_max_and_beyond(tmp_path):
    """255 bytes (NAME_MAX) work; 256 give an OSError naming the argument."""
    m = pygru.GRUModel(3, [4], seed=0)
    ok = tmp_path / ("a" * 251 + ".npz")
    m.save(ok)
    assert pygru.load(ok).config() == m.config()
    with pytest.raises(OSError, match=r"^path: cannot write '.*': expected .*, got ENAMETOOLONG"):
        m.save(tmp_path / ("a" * 252 + ".npz"))
    assert _files(tmp_path) == [ok.name]


def test_os_pathlike_and_bytes_everywhere(tmp_path):
    m = pygru.GRUModel(3, [4], output_size=2, seed=0)
    X = np.zeros((2, 3, 3), np.float32)
    q = pygru.quantize(m, X + 0.5, "integer")
    for path in (tmp_path / "a.npz", os.fsencode(tmp_path / "b.npz")):
        m.save(path)
        np.testing.assert_array_equal(pygru.load(path).predict(X), m.predict(X))
    for path in (tmp_path / "qa.npz", os.fsencode(tmp_path / "qb.npz")):
        q.save(path)
        np.testing.assert_array_equal(pygru.load_quantized(path).predict(X), q.predict(X))
    ckpt = os.fsencode(tmp_path / "ckpt.npz")
    m.fit(X, np.zeros((2, 2), np.float32), epochs=1, progress=False, checkpoint=ckpt)
    assert os.path.exists(ckpt)
    golden = os.path.join(ROOT, "tests", "golden", "interop")
    for load, name, needs in ((pygru.from_onnx, "onnx_lbr0.onnx", "onnx"), (pygru.from_keras, "keras_mixed_seq.h5", "h5py"),
                              (pygru.from_torch, "torch_seq_nobias.safetensors", None)):
        if needs:
            pytest.importorskip(needs)
        as_str, as_bytes = load(os.path.join(golden, name)), load(os.fsencode(os.path.join(golden, name)))
        assert as_str.config() == as_bytes.config()


# ---------------------------------------------------------------------- command line

def _small_data(tmp_path, n=64, steps=6):
    rng = np.random.default_rng(0)
    p = tmp_path / "d.npz"
    np.savez(p, X_train=rng.normal(size=(n, steps, 3)).astype(np.float32), y_train=np.arange(n) % 2)
    return str(p)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_cli_train_stops_on_signal_and_saves(tmp_path, sig):
    """SIGTERM takes Ctrl-C's path: fit stops cleanly, the best weights are
    saved, the exit status is 128 + the signal number."""
    out = tmp_path / "m.npz"
    proc = subprocess.Popen([sys.executable, "-m", "pygru", "train", _small_data(tmp_path), "-o", str(out),
                             "--epochs", "100000", "--no-progress", "--hidden", "8"],
                            env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if line.startswith("model:"):
            break
    time.sleep(1.0)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, (proc.returncode, stdout, stderr)
    assert "Traceback" not in stderr
    model = pygru.load(out)
    assert model.hidden_sizes == (8,)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_cli_refuses_an_unwritable_output_before_training(tmp_path, monkeypatch):
    """The output, --history and --checkpoint locations are probed by
    creating a file, before any data is loaded or any epoch runs (os.access
    says yes to root, on read-only mounts and on full disks). The refusal is
    simulated with EROFS for one directory."""
    import errno

    from pygru import cli
    ro = tmp_path / "ro"
    ro.mkdir()
    real_open = _io.os.open

    def open_(path, flags, *a, **k):
        if str(path).startswith(str(ro)) and flags & os.O_CREAT:
            raise OSError(errno.EROFS, "Read-only file system")
        return real_open(path, flags, *a, **k)
    monkeypatch.setattr(_io.os, "open", open_)
    fits = []
    monkeypatch.setattr(pygru.GRUModel, "fit", lambda self, *a, **k: fits.append(1))
    data = _small_data(tmp_path)
    for extra in (["-o", str(ro / "m.npz")], ["-o", str(tmp_path / "m.npz"), "--history", str(ro / "h.json")],
                  ["-o", str(tmp_path / "m.npz"), "--checkpoint", str(ro / "c.npz")]):
        assert cli.main(["train", data, "-q"] + extra) == 1
    assert fits == [] and not (tmp_path / "m.npz").exists() and _files(ro) == []


NOISY_TRAIN = r"""
import sys, warnings
import pygru
from pygru import cli, training
def noisy(self, *a, **k):
    warnings.warn("something\n   went   wrong", RuntimeWarning)
    return training.History()
pygru.GRUModel.fit = noisy
sys.exit(cli.main(["train", sys.argv[1], "-o", sys.argv[2], "-q"]))
"""


def test_cli_refuses_a_full_disk_before_training(tmp_path, monkeypatch, capsys):
    """statvfs says the disk is full (simulated): pygru train stops before the
    first epoch with an error naming --output, not after training with a bare OSError."""
    from pygru import cli

    class Full:
        f_bavail, f_frsize = 3, 4096
    monkeypatch.setattr(_io.os, "statvfs", lambda d: Full())
    fits = []
    monkeypatch.setattr(pygru.GRUModel, "fit", lambda self, *a, **k: fits.append(1))
    assert cli.main(["train", _small_data(tmp_path), "-o", str(tmp_path / "m.npz"), "-q"]) == 1
    err = capsys.readouterr().err
    assert "--output: cannot write" in err and "bytes free" in err and "got 12288" in err, err
    assert fits == [] and not (tmp_path / "m.npz").exists()


def test_cli_prints_warnings_as_one_line(tmp_path):
    """No raw Python warning (path, line number, source line) on the CLI's stderr."""
    proc = subprocess.run([sys.executable, "-c", NOISY_TRAIN, _small_data(tmp_path), str(tmp_path / "m.npz")],
                          env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines() == ["pygru train: warning: something went wrong"], proc.stderr


# ---------------------------------------------------------------------- training

def test_long_sequences_evaluate_with_the_default_batch_size():
    """(128, 100000, 1) with H=32 is beyond gru_c's training workspace limit
    (128 x 100000 x 5 x 32 > 2e9 saved activations); evaluate runs it in
    pieces and agrees with predict's outputs."""
    model = pygru.GRUModel(1, [32], output_size=1, seed=0)
    X = np.random.default_rng(0).normal(size=(128, 100000, 1)).astype(np.float32)
    y = np.zeros((128, 1), np.float32)
    assert training._terms(model, 128, 100000) > training.WORKSPACE_TERMS
    loss = model.evaluate(X, y)["loss"]
    ref = float(np.mean(model.predict(X).astype(np.float64) ** 2))
    assert abs(loss - ref) <= 1e-5 * ref


class _SkippingTrainer:
    """A real trainer whose first update reports a non-finite gradient norm."""

    def __init__(self, trainer):
        self._t, self.calls = trainer, 0

    def __getattr__(self, name):
        return getattr(self._t, name)

    def train_batch(self, *a, **k):
        self.calls += 1
        value, norm = self._t.train_batch(*a, **k)
        return value, (float("inf") if self.calls == 1 else norm)


def test_a_skipped_update_is_counted_and_reported(monkeypatch):
    real = training.make_trainer
    monkeypatch.setattr(training, "make_trainer", lambda *a, **k: _SkippingTrainer(real(*a, **k)))
    m = pygru.GRUModel(3, [4], output_size=1, seed=0)
    X = np.random.default_rng(0).normal(size=(8, 5, 3)).astype(np.float32)
    with pytest.warns(RuntimeWarning, match=r"fit skipped 1 update\(s\): the gradient norm overflowed"):
        h = m.fit(X, np.zeros((8, 1), np.float32), epochs=2, batch_size=4, progress=False)
    assert h.skipped_steps == 1 and h.stopped is None and h.epochs_run == 2


def test_every_update_skipped_stops_training():
    m = pygru.GRUModel(2, [3], output_size=1, seed=0)
    w = {k: np.zeros_like(v) for k, v in m.get_weights().items()}
    w["head.weight"][:] = 1e38
    m.set_weights(w)
    with pytest.warns(RuntimeWarning, match=r"non-finite gradient"):
        h = m.fit(np.zeros((4, 5, 2), np.float32), np.ones((4, 1), np.float32), epochs=5, progress=False)
    assert h.stopped == "non-finite gradient" and h.skipped_steps == 1 and h.epochs_run == 0
    np.testing.assert_array_equal(m.get_weights()["head.weight"], w["head.weight"])


def test_accumulated_micro_batches_match_the_whole_batch(monkeypatch):
    """Past the workspace limit a batch trains as micro-batches whose
    gradients sum to the whole batch's (up to summation order)."""
    X = np.random.default_rng(0).normal(size=(6, 50, 1)).astype(np.float32)
    y = np.random.default_rng(1).normal(size=(6, 1)).astype(np.float32)
    a = pygru.GRUModel(1, [4], output_size=1, seed=0)
    ha = a.fit(X, y, epochs=3, batch_size=6, shuffle=False, progress=False)
    monkeypatch.setattr(training, "WORKSPACE_TERMS", 1500.0)
    monkeypatch.setattr(training, "CHUNK_TERMS", 2000)
    b = pygru.GRUModel(1, [4], output_size=1, seed=0)
    hb = b.fit(X, y, epochs=3, batch_size=6, shuffle=False, progress=False)
    np.testing.assert_allclose(ha["loss"], hb["loss"], rtol=1e-6)
    for k, v in a.get_weights().items():
        np.testing.assert_allclose(b.get_weights()[k], v, atol=1e-6)
