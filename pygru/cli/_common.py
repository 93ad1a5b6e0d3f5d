"""What every `pygru` subcommand shares: exit codes and errors, argument types,
input/output file checks, loading models and data, printing."""
import argparse
import os

import numpy as np

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

PROG = "pygru"


class CLIError(Exception):
    """A failure the user can fix; printed without a traceback (exit 1)."""
    code = EXIT_FAILURE


class UsageError(CLIError):
    """An invalid option value or combination (exit 2)."""
    code = EXIT_USAGE


# --------------------------------------------------------------------------- argument types

def _integer(minimum, expected):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value
    return parse


positive_int = _integer(1, "a positive integer")
seed = _integer(0, "an integer >= 0")


def non_negative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def positive_float(text):
    value = non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def fraction(text):
    value = non_negative_float(text)
    if not value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text}")
    return value


def hidden_sizes(text):
    try:
        sizes = [int(p) for p in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a size or comma-separated sizes per layer (e.g. 32 or 64,32), got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes, got {text!r}")
    return sizes


# --------------------------------------------------------------------------- files

def input_file(path, what):
    from .._io import input_file as checked
    try:
        return checked(what, path)  # a FIFO or device is named as such, not "no such file"
    except (OSError, ValueError) as exc:
        raise CLIError(str(exc)) from None


def output_file(path, extensions, what="--output"):
    """Check an output path before doing any work, so a long run never ends in
    'cannot write'."""
    from .._io import check_new_file
    ext = os.path.splitext(path)[1].lower()
    if ext not in extensions:
        raise UsageError(f"{what}: expected a file name ending in {' or '.join(extensions)}, got {path!r}")
    try:
        check_new_file(path, what)
    except OSError as exc:
        raise CLIError(str(exc)) from None
    # A real probe (create and remove a temporary), not os.access: root, ACLs,
    # read-only mounts and full disks all answer os.access wrongly.
    from .._io import probe_writable
    try:
        probe_writable(what, path)
    except OSError as exc:
        raise CLIError(str(exc)) from None
    return path


def _is_quantized(path):
    import zipfile
    try:
        with zipfile.ZipFile(path) as z:
            return "__quantized__.npy" in z.namelist()
    except (zipfile.BadZipFile, OSError, ValueError):
        return False


def load_model(path):
    """A float GRUModel or, for a file written by QuantizedGRUModel.save, the
    QuantizedGRUModel (eval and export run both)."""
    import pygru
    input_file(path, "MODEL")
    with open(path, "rb") as f:
        is_zip = f.read(4) == b"PK\x03\x04"
    if not is_zip:
        raise CLIError(f"MODEL: {path!r} is not a pygru model (expected an .npz file written by "
                       f"pygru train/import or GRUModel.save)")
    try:
        return pygru.load_quantized(path) if _is_quantized(path) else pygru.load(path)
    except ValueError as exc:
        raise CLIError(str(exc).replace("path:", "MODEL:", 1)) from None


def load_data(spec, test_split=0.2, seed=0):
    from .. import _datafile
    try:
        return _datafile.load(spec, test_split=test_split, seed=seed)
    except (_datafile.DataError, FileNotFoundError) as exc:
        raise CLIError(str(exc)) from None


# --------------------------------------------------------------------------- output

def say(args, text=""):
    if not getattr(args, "quiet", False):
        print(text, flush=True)


def evaluate(model, X, y, classification):
    out = model.predict(X)
    if classification:
        pred = out.argmax(axis=1)
        return {"accuracy": float(np.mean(pred == y)), "correct": int(np.sum(pred == y)), "count": int(len(y))}
    return {"mse": float(np.mean((out.astype(np.float64) - y) ** 2)), "count": int(len(y))}


def format_metrics(result):
    if "accuracy" in result:
        return f"accuracy {result['accuracy']:.2%} ({result['correct']}/{result['count']})"
    return f"MSE {result['mse']:.6g} ({result['count']} sequences)"


# --------------------------------------------------------------------------- signals and warnings

_SIGNAL = {"received": None}


def _on_stop_signal(signum, frame):
    """SIGINT and SIGTERM take one path: a KeyboardInterrupt, which fit turns
    into a clean stop with the best weights (then saved) and everything else
    into "interrupted"; the exit status is 128 + the signal's number. A repeat
    while shutting down is ignored, so the save in progress completes."""
    if _SIGNAL["received"] is not None:
        return
    _SIGNAL["received"] = signum
    raise KeyboardInterrupt


def interrupted_status():
    import signal
    return 128 + int(_SIGNAL["received"] or signal.SIGINT)


class stop_signals:
    """Install _on_stop_signal for SIGINT and SIGTERM for the duration of a
    command (main thread only: signal handlers cannot be set elsewhere)."""

    def __enter__(self):
        import signal
        import threading
        self.saved = {}
        _SIGNAL["received"] = None
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.saved[sig] = signal.signal(sig, _on_stop_signal)
        return self

    def __exit__(self, *exc):
        import signal
        for sig, handler in self.saved.items():
            signal.signal(sig, handler)
        return False


def format_warning(where):
    """warnings.formatwarning for the CLI: one line, no source line or path.
    (formatwarning, not showwarning: warnings.catch_warnings(record=True),
    as pytest.warns uses, still records what the CLI warns.)"""
    def fmt(message, category, filename, lineno, line=None):
        return f"{where}: warning: {' '.join(str(message).split())}\n"
    return fmt
