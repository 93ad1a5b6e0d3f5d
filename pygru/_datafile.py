"""Training data for the command line: a bundled data set name, an .npz or a .csv.

Layouts (also in `pygru train --help`):

.npz   X_train (N, T, I) float, y_train (N,) int class indices (classification) or
       (N, O) float targets (regression); optionally X_test, y_test (else a split of
       the training data is held out), optionally `classes` (str, one per class).
       Or just X and y (a test split is held out). Loaded with allow_pickle=False.

.csv   one row per time step, a header row naming the columns:
         sequence   id of the sequence the row belongs to (rows of one sequence are
                    consecutive, in time order)
         label      the class of the sequence (integer or a name; the same on every
                    row of the sequence)
         split      optional: "train" or "test" (the same on every row)
         every other column is an input feature (numbers).
       All sequences must have the same number of rows.
"""
import csv
import os

import numpy as np

from . import datasets
from ._io import input_file, read_npz


class DataError(ValueError):
    """The data file exists but is not in a layout pygru understands."""


class Data:
    """Train/test arrays plus what the CLI needs to describe them."""

    def __init__(self, X_train, y_train, X_test, y_test, classes, origin, held_out):
        self.X_train, self.y_train = X_train, y_train
        self.X_test, self.y_test = X_test, y_test
        self.classes = classes          # list of str for classification, None for regression
        self.origin = origin            # text for messages and summaries
        self.held_out = held_out        # True when the test split was cut from the training data

    @property
    def classification(self):
        return self.classes is not None

    @property
    def input_size(self):
        return int(self.X_train.shape[2])

    @property
    def output_size(self):
        return len(self.classes) if self.classification else int(self.y_train.shape[1])

    def describe(self):
        kind = f"{len(self.classes)} classes" if self.classification else f"{self.output_size} targets"
        test = "held out from the training data" if self.held_out else "given"
        return (f"{self.origin}: train {self.X_train.shape}, test {self.X_test.shape} ({test}), {kind}")


def load(spec, test_split=0.2, seed=0):
    """Data from a bundled data set name, an .npz path or a .csv path."""
    if spec in datasets.available():
        ds = datasets.load(spec)
        return Data(ds.X_train, ds.y_train, ds.X_test, ds.y_test, list(ds.classes),
                    f"bundled data set {spec!r}", False)
    if not os.path.exists(spec):
        raise FileNotFoundError(f"DATA: no such file {spec!r} and no bundled data set of that name "
                                f"(bundled: {', '.join(datasets.available())})")
    if os.path.isdir(spec):
        raise DataError(f"DATA: {spec!r} is a directory, expected an .npz or .csv file")
    try:
        spec = input_file("DATA", spec, "an .npz or .csv file")  # a FIFO would block open() forever
    except (OSError, ValueError) as exc:
        raise DataError(str(exc)) from None
    ext = os.path.splitext(spec)[1].lower()
    if ext == ".npz":
        arrays = _read_npz(spec)
    elif ext == ".csv":
        arrays = _read_csv(spec)
    else:
        raise DataError(f"DATA: {spec!r} has extension {ext or '(none)'!r}; expected .npz, .csv "
                        f"or a bundled data set name ({', '.join(datasets.available())})")
    return _assemble(arrays, spec, test_split, seed)


def _read_npz(path):
    with open(path, "rb") as f:
        if f.read(4) != b"PK\x03\x04":
            raise DataError(f"DATA: {path!r} is not an .npz file (not a zip archive of .npy arrays)")
    try:
        return read_npz(path, "DATA")
    except ValueError as exc:
        raise DataError(str(exc)) from None


def _read_csv(path):
    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"DATA: {path!r} is not a readable UTF-8 .csv file ({exc})") from None
    if not rows:
        raise DataError(f"DATA: {path!r} is empty; expected a header row and one row per time step")
    header = [h.strip() for h in rows[0]]
    for required in ("sequence", "label"):
        if required not in header:
            raise DataError(f"DATA: {path!r}: the header row must have a {required!r} column, got {header}")
    idx_seq, idx_label = header.index("sequence"), header.index("label")
    idx_split = header.index("split") if "split" in header else None
    features = [i for i, h in enumerate(header) if i not in (idx_seq, idx_label, idx_split)]
    if not features:
        raise DataError(f"DATA: {path!r}: no feature columns besides sequence/label/split")
    order, seqs = [], {}
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not c.strip() for c in row):
            continue
        if len(row) != len(header):
            raise DataError(f"DATA: {path!r} line {line}: expected {len(header)} columns, got {len(row)}")
        sid = row[idx_seq].strip()
        try:
            values = [float(row[i]) for i in features]
        except ValueError:
            raise DataError(f"DATA: {path!r} line {line}: feature values must be numbers, got "
                            f"{[row[i] for i in features]}") from None
        split = row[idx_split].strip().lower() if idx_split is not None else ""
        if split not in ("", "train", "test"):
            raise DataError(f"DATA: {path!r} line {line}: split must be 'train' or 'test', got {split!r}")
        if sid not in seqs:
            seqs[sid] = {"label": row[idx_label].strip(), "split": split, "rows": [], "line": line}
            order.append(sid)
        elif order[-1] != sid:
            raise DataError(f"DATA: {path!r} line {line}: rows of sequence {sid!r} are not consecutive")
        s = seqs[sid]
        if row[idx_label].strip() != s["label"] or split != s["split"]:
            raise DataError(f"DATA: {path!r} line {line}: sequence {sid!r} changes its label or split "
                            f"(first {s['label']!r}/{s['split']!r} on line {s['line']})")
        s["rows"].append(values)
    if not order:
        raise DataError(f"DATA: {path!r} has a header but no data rows")
    lengths = {len(seqs[s]["rows"]) for s in order}
    if len(lengths) != 1:
        first = seqs[order[0]]
        odd = next(s for s in order if len(seqs[s]["rows"]) != len(first["rows"]))
        raise DataError(f"DATA: {path!r}: every sequence must have the same number of rows; sequence "
                        f"{order[0]!r} has {len(first['rows'])}, sequence {odd!r} has {len(seqs[odd]['rows'])}")
    X = np.array([seqs[s]["rows"] for s in order], dtype=np.float32)
    labels = [seqs[s]["label"] for s in order]
    try:
        as_int = [int(v) for v in labels]
        classes = [str(c) for c in range(max(as_int) + 1)]
        y = np.array(as_int, dtype=np.int64)
        if y.min() < 0:
            raise DataError(f"DATA: {path!r}: integer labels must be >= 0, got {int(y.min())}")
    except ValueError:
        classes = sorted(set(labels))
        y = np.array([classes.index(v) for v in labels], dtype=np.int64)
    splits = [seqs[s]["split"] for s in order]
    arrays = {"classes": np.array(classes)}
    if idx_split is not None and "test" in splits and "train" in splits:
        tr = np.array([s != "test" for s in splits])
        arrays.update(X_train=X[tr], y_train=y[tr], X_test=X[~tr], y_test=y[~tr])
    else:
        arrays.update(X=X, y=y)
    return arrays


def _features(path, name, value):
    if value.dtype.kind not in "fiu" or value.ndim != 3 or 0 in value.shape:
        raise DataError(f"DATA: {path!r}: {name} must be a non-empty (N, T, I) numeric array, "
                        f"got {value.dtype} {value.shape}")
    value = np.ascontiguousarray(value, dtype=np.float32)
    if not np.isfinite(value).all():
        raise DataError(f"DATA: {path!r}: {name} has non-finite values")
    return value


def _assemble(arrays, path, test_split, seed):
    if "X_train" in arrays and "y_train" in arrays:
        X_train, y_train = arrays["X_train"], arrays["y_train"]
        X_test, y_test = arrays.get("X_test"), arrays.get("y_test")
        if (X_test is None) != (y_test is None):
            raise DataError(f"DATA: {path!r}: X_test and y_test must come together")
    elif "X" in arrays and "y" in arrays:
        X_train, y_train, X_test, y_test = arrays["X"], arrays["y"], None, None
    else:
        raise DataError(f"DATA: {path!r}: expected arrays X_train, y_train (and optionally X_test, y_test) "
                        f"or X, y; found {sorted(arrays)}")
    X_train = _features(path, "X_train" if "X_train" in arrays else "X", X_train)
    if X_test is not None:
        X_test = _features(path, "X_test", X_test)
        if X_test.shape[2] != X_train.shape[2]:
            raise DataError(f"DATA: {path!r}: X_test has {X_test.shape[2]} features, X_train {X_train.shape[2]}")
    classification = y_train.dtype.kind in "iu"
    ys = [y_train] + ([y_test] if y_test is not None else [])
    Xs = [X_train] + ([X_test] if X_test is not None else [])
    for Xa, ya in zip(Xs, ys):
        if ya.dtype.kind not in "fiu" or ya.ndim == 0 or len(ya) != len(Xa):   # 0-d: a fuzzed file
            raise DataError(f"DATA: {path!r}: labels must be numbers, one per sequence; got {ya.dtype} "
                            f"{ya.shape} for {len(Xa)} sequences")
        if classification and (ya.dtype.kind not in "iu" or ya.ndim != 1):
            raise DataError(f"DATA: {path!r}: class labels must be 1-D integers, got {ya.dtype} {ya.shape}")
        if not classification and ya.ndim not in (1, 2):
            raise DataError(f"DATA: {path!r}: regression targets must be (N,) or (N, O), got {ya.shape}")
    if classification:
        y_train = y_train.astype(np.int64)
        y_test = None if y_test is None else y_test.astype(np.int64)
        top = max(int(y.max()) for y in ([y_train] if y_test is None else [y_train, y_test]))
        low = min(int(y.min()) for y in ([y_train] if y_test is None else [y_train, y_test]))
        if low < 0:
            raise DataError(f"DATA: {path!r}: class labels must be >= 0, got {low}")
        if "classes" in arrays:
            classes = [str(c) for c in np.asarray(arrays["classes"]).reshape(-1)]
            if len(classes) <= top:
                raise DataError(f"DATA: {path!r}: {len(classes)} class names but label {top} appears")
        else:
            classes = [str(c) for c in range(top + 1)]
    else:
        classes = None
        y_train = np.ascontiguousarray(y_train.reshape(len(y_train), -1), dtype=np.float32)
        y_test = None if y_test is None else np.ascontiguousarray(y_test.reshape(len(y_test), -1), dtype=np.float32)
    held_out = X_test is None
    if held_out:
        n = len(X_train)
        n_test = int(round(n * test_split))
        if not 0.0 < test_split < 1.0 or n_test < 1 or n_test >= n:
            raise DataError(f"DATA: {path!r} has no test split and --test-split {test_split} of {n} "
                            f"sequences leaves no train or no test sequence")
        perm = np.random.default_rng(seed).permutation(n)
        te, tr = perm[:n_test], perm[n_test:]
        X_train, y_train, X_test, y_test = X_train[tr], y_train[tr], X_train[te], y_train[te]
    return Data(X_train, y_train, X_test, y_test, classes, os.path.basename(path), held_out)
