#!/usr/bin/env python3
"""The forged-quantized-file campaign (issue 14), for a sanitizer or valgrind.

Writes a valid int8 and integer model, then every forgery of each array of
each (a per-row array cut to 1 or 0 entries or one too many, dtype changed to
each of float32/float64/int64/int16/uint8, transposed, removed, renamed, an
extra array) and of the header (hidden_sizes, input_size, output_size,
input_scale NaN/0/-1/inf, mode, reset_after, activation), and loads each with
pygru.load_quantized. A forgery must be refused with a ValueError naming the
file; if one were accepted, its predictions would run (and the sanitizer would
see any read past an array). Then it calls the C checks directly through
pygru._quant with descriptors that bypass the Python checks (non-finite and
negative scales, shifts 0 and 63, negative multipliers): each must be refused
with gru_c's status code. Prints the counts; exit status 1 if any forgery was
accepted or any C check let a bad descriptor through.

    python tools/fuzz/forged_quantized.py                       # plain
    PYTHONPATH=build/fuzz/asan LD_PRELOAD="$(gcc -print-file-name=libasan.so) \\
        $(gcc -print-file-name=libubsan.so)" ASAN_OPTIONS=detect_leaks=0 \\
        python tools/fuzz/forged_quantized.py                   # ASan + UBSan extension
    PYTHONMALLOC=malloc valgrind --error-exitcode=3 python tools/fuzz/forged_quantized.py
"""
import json
import os
import sys
import tempfile

import numpy as np

import pygru  # the installed package (or the ASan build on PYTHONPATH)


def _forgeries(arrays):
    meta = json.loads(str(arrays["__quantized__"]))
    names = [k for k in arrays if not k.startswith("__")]
    for k in names:
        a = arrays[k]
        yield f"{k}[:1]", {k: a[:1]}
        yield f"{k}[:0]", {k: a[:0]}
        yield f"{k}+1", {k: np.concatenate([a, a[:1]])}
        for dt in (np.float32, np.float64, np.int64, np.int16, np.uint8, np.int8, np.int32):
            if a.dtype != dt:
                yield f"{k} as {np.dtype(dt)}", {k: a.astype(dt)}
        if a.ndim == 2:
            yield f"{k}.T", {k: np.ascontiguousarray(a.T)}
        yield f"{k} 0-d", {k: a.reshape(-1)[:1].reshape(())}
        yield f"-{k}", {k: None}
        yield f"{k} renamed", {k: None, k + "_": a}
    yield "extra array", {"extra": np.zeros(3, np.float32)}
    cfg = meta["config"]
    for key, values in (("hidden_sizes", ([99], [99, 8], [cfg["hidden_sizes"][0] + 1], [], [0], [-1], ["5"])),
                        ("input_size", (cfg["input_size"] + 1, 0, 10**9, "3", None)),
                        ("output_size", (None, 0, 99, cfg["output_size"] or 1)),
                        ("reset_after", ([], [True, True], [1], "yes")),
                        ("output_activation", ("relu", 5)),
                        ("return_sequences", ("no", 2))):
        for v in values:
            if v == cfg[key]:
                continue  # not a forgery
            yield f"config {key}={v!r}", {"__meta__": dict(meta, config=dict(cfg, **{key: v}))}
    for v in (float("nan"), 0.0, -1.0, float("inf"), "1", None, True):
        yield f"input_scale={v!r}", {"__meta__": dict(meta, input_scale=v)}
    for v in ("int4", None, 8):
        yield f"mode={v!r}", {"__meta__": dict(meta, mode=v)}
    yield "no config", {"__meta__": {k: v for k, v in meta.items() if k != "config"}}


def campaign(tmp):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3, 6, 3)).astype(np.float32)
    float_model = pygru.GRUModel(3, [17, 9], output_size=4, output_activation="softmax", seed=0)
    refused = accepted = 0
    problems = []
    for mode in ("int8", "integer"):
        q = pygru.quantize(float_model, X, mode)
        good = os.path.join(tmp, f"{mode}.npz")
        q.save(good)
        y_good = pygru.load_quantized(good).predict(X)
        with np.load(good, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        for label, change in _forgeries(arrays):
            forged = dict(arrays)
            for k, v in change.items():
                if k == "__meta__":
                    forged["__quantized__"] = np.array(json.dumps(v))
                elif v is None:
                    forged.pop(k)
                else:
                    forged[k] = v
            path = os.path.join(tmp, "forged.npz")
            np.savez(path, **forged)
            try:
                m = pygru.load_quantized(path)
            except ValueError as exc:
                if "forged.npz" not in str(exc):
                    problems.append(f"{mode} {label}: the error does not name the file: {exc}")
                refused += 1
                continue
            accepted += 1
            print(f"  accepted: {mode} {label}")
            y = m.predict(X)
            # Accepted only where the forgery changed nothing the model computes
            # (e.g. int32 multipliers stored as int32): outputs must then be the same.
            if y.shape != y_good.shape or not np.array_equal(y, y_good):
                problems.append(f"{mode} {label}: accepted and changes predictions")
    return refused, accepted, problems


def c_checks():
    """Descriptors the Python checks would refuse, given straight to C."""
    from pygru import _core as _quant
    H, I = 16, 4
    q_ih, q_hh = np.ones((3 * H, I), np.int8), np.ones((3 * H, H), np.int8)
    ones = np.ones(3 * H, np.float32)
    refused, problems = 0, []
    for label, s in (("NaN scale", np.where(np.arange(3 * H) == 5, np.nan, 1).astype(np.float32)),
                     ("inf scale", np.where(np.arange(3 * H) == 0, np.inf, 1).astype(np.float32)),
                     ("negative scale", -ones)):
        try:
            _quant.Q8Model([(True, q_ih, q_hh, s, ones, ones, ones)])
            problems.append(f"C q8 check accepted a {label}")
        except _quant.GRUQuantError:
            refused += 1
    m, sh, b = np.full(3 * H, 2**30, np.int32), np.full(3 * H, 20, np.int8), np.zeros(3 * H, np.int32)
    for label, mult, shift in (("shift 0", m, sh * 0), ("shift 63", m, sh * 0 + 63), ("shift -1", m, sh * 0 - 1),
                               ("negative multiplier", -m, sh)):
        try:
            _quant.QIModel([(True, q_ih, q_hh, mult, shift, m, sh, b, b)])
            problems.append(f"C qi check accepted a {label}")
        except _quant.GRUQuantError:
            refused += 1
    return refused, problems


def main():
    with tempfile.TemporaryDirectory() as tmp:
        refused, accepted, problems = campaign(tmp)
    c_refused, c_problems = c_checks()
    problems += c_problems
    print(f"forged files: {refused} refused, {accepted} accepted with unchanged predictions; "
          f"C checks: {c_refused} bad descriptors refused; problems: {len(problems)}")
    for p in problems:
        print("  " + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
