"""Seed corpora for the fuzz harnesses, generated (never hand-edited):
small valid inputs plus a few mutations of them (truncated, bit-flipped, wrong
kind). `python tools/fuzz/run.py seeds` writes them to build/fuzz/corpus/NAME.
Python harness inputs start with one byte choosing the file suffix (see
pyharness.py)."""
import hashlib
import io
import json
import os
import random

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
GOLDEN = os.path.join(ROOT, "tests", "golden", "interop")


def _mutations(blob, rng, n=6):
    out = [blob, blob[: len(blob) // 2], blob[:64], b""]
    for _ in range(n):
        b = bytearray(blob)
        for _ in range(rng.randint(1, 8)):
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
        out.append(bytes(b))
    return out


def _c_seeds(rng):
    seeds = []
    for mode in (0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x41, 0x80, 0x81, 0xff):
        for size in (16, 200, 1500):
            seeds.append(bytes([mode]) + bytes(rng.randrange(256) for _ in range(size)))
    return seeds


def _models():
    import pygru
    return [pygru.GRUModel(2, [3], seed=0),
            pygru.GRUModel(3, [4, 2], output_size=2, output_activation="softmax", seed=1),
            pygru.GRUModel(1, [2], output_size=1, reset_after=False, return_sequences=True, seed=2)]


def _npz_bytes(model):
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "m.npz")
        model.save(p)
        with open(p, "rb") as f:
            return f.read()


def _savez(**arrays):
    import numpy as np
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def seeds_for(name, rng):
    if name in ("core", "quant", "train"):
        return _c_seeds(rng)
    import numpy as np
    if name == "npz":
        out = []
        for m in _models():
            out += _mutations(_npz_bytes(m), rng)
        out.append(_savez(__format_version__=np.array(1), __config__=np.array("{}")))
        out.append(_savez(__format_version__=np.array(99), __config__=np.array(json.dumps({"input_size": 2}))))
        return [b"\0" + b for b in out]
    if name == "qnpz":
        import tempfile
        import pygru
        X = np.random.default_rng(0).normal(size=(4, 3, 2)).astype(np.float32)
        out = []
        for m, mode in ((_models()[0], "int8"), (_models()[1], "integer")):
            with tempfile.TemporaryDirectory() as d:
                p = os.path.join(d, "q.npz")
                pygru.quantize(m, X if m.input_size == 2 else np.zeros((4, 3, 3), np.float32) + 0.5, mode=mode).save(p)
                with open(p, "rb") as f:
                    out += _mutations(f.read(), rng)
        return [b"\0" + b for b in out]
    if name == "data":
        X = np.random.default_rng(0).normal(size=(6, 4, 2)).astype(np.float32)
        npz = _savez(X_train=X, y_train=np.arange(6) % 2)
        csv = "sequence,label,f0,f1\n" + "".join(f"{s},{s % 2},{t * 0.5},{-t}\n" for s in range(4) for t in range(3))
        out = [b"\0" + b for b in _mutations(npz, rng)]
        out += [b"\1" + b for b in _mutations(csv.encode(), rng)]
        return out
    golden = {"torch": ((".pt", b"\0"), (".safetensors", b"\1")), "keras": ((".keras", b"\0"), (".h5", b"\1")),
              "onnx": ((".onnx", b"\0"),)}[name]
    out = []
    for fname in sorted(os.listdir(GOLDEN)):
        for ext, prefix in golden:
            if fname.endswith(ext):
                with open(os.path.join(GOLDEN, fname), "rb") as f:
                    out += [prefix + b for b in _mutations(f.read(), rng, n=3)]
    return out


def write_seeds(name, directory):
    """Write the seeds of harness `name` into `directory`; return how many."""
    os.makedirs(directory, exist_ok=True)
    rng = random.Random(f"pygru-fuzz-{name}")
    seeds = seeds_for(name, rng)
    for s in seeds:
        with open(os.path.join(directory, hashlib.sha1(s).hexdigest()), "wb") as f:
            f.write(s)
    return len(seeds)
