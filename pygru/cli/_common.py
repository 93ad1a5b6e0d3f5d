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
    if not os.path.exists(path):
        raise CLIError(f"{what}: no such file {path!r}")
    if os.path.isdir(path):
        raise CLIError(f"{what}: {path!r} is a directory, expected a file")
    return path


def output_file(path, extensions, what="--output"):
    """Check an output path before doing any work, so a long run never ends in
    'cannot write'."""
    from .._io import check_new_file
    ext = os.path.splitext(path)[1].lower()
    if ext not in extensions:
        raise UsageError(f"{what}: expected a file name ending in {' or '.join(extensions)}, got {path!r}")
    try:
        directory = check_new_file(path, what)
    except OSError as exc:
        raise CLIError(str(exc)) from None
    if not os.access(directory, os.W_OK):
        raise CLIError(f"{what}: directory {directory!r} is not writable")
    return path


def load_model(path):
    import pygru
    input_file(path, "MODEL")
    with open(path, "rb") as f:
        is_zip = f.read(4) == b"PK\x03\x04"
    if not is_zip:
        raise CLIError(f"MODEL: {path!r} is not a pygru model (expected an .npz file written by "
                       f"pygru train/import or GRUModel.save)")
    try:
        return pygru.load(path)
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
