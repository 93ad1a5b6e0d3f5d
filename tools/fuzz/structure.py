"""Structure-aware mutations for the Python loader harnesses.

Byte mutations rarely get past a zip CRC, a protobuf parser or an HDF5
superblock, so they almost never produce what a forged file looks like: a
well-formed container whose arrays have the wrong dtype, shape or name, or
whose configuration holds the wrong values. These mutators parse the input
(.npz, .safetensors, .onnx, .h5/.keras), change one or a few structural
things, and write a well-formed file again; pyharness.py alternates them with
libFuzzer's byte mutations. Every mutation is a pure function of (data, seed).
"""
import io
import json
import random
import struct

import numpy as np

DTYPES = (np.int8, np.uint8, np.int16, np.int32, np.int64, np.float16, np.float32, np.float64, np.bool_)
ODD_NUMBERS = (0, -1, 1, 2, 3, 7, 8, 9, 16, 17, 62, 63, 64, 127, 128, 255, 511, 512, 65536, 65537,
               2**31 - 1, 2**31, -2**31, 2**63 - 1, 1e-300, 1e300, 0.5, -0.0)
ODD_VALUES = ODD_NUMBERS + (float("nan"), float("inf"), -float("inf"), None, True, False, "", "x",
                            "softmax", "relu", [], [1], [99, 8], [True], {}, [None])


def _odd_array(rng, arr):
    """arr with its dtype, shape or values changed in one way."""
    kind = rng.randrange(9)
    if kind == 0:
        return arr.astype(rng.choice(DTYPES)) if arr.dtype.kind in "biuf" else arr
    if kind == 1 and arr.ndim:
        axis = rng.randrange(arr.ndim)
        n = arr.shape[axis]
        return np.take(arr, range(rng.choice((0, 1, max(n - 1, 0), n + 1 if n else 1))), axis=axis, mode="wrap") \
            if n else arr
    if kind == 2:
        return arr.reshape(-1)
    if kind == 3:
        return arr.reshape(arr.shape + (1,))
    if kind == 4 and arr.ndim >= 2:
        return np.ascontiguousarray(arr.T)
    if kind == 5 and arr.size and arr.dtype.kind == "f":
        out = arr.copy()
        out.flat[rng.randrange(out.size)] = rng.choice((np.nan, np.inf, -np.inf, 1e38, -1e38, 0.0, -1.0))
        return out
    if kind == 6 and arr.size and arr.dtype.kind in "iu":
        out = arr.copy()
        info = np.iinfo(arr.dtype)
        out.flat[rng.randrange(out.size)] = rng.choice((info.min, info.max, 0, -1 if info.min < 0 else 1, 63))
        return out
    if kind == 7:
        return np.zeros((), arr.dtype) if arr.dtype.kind in "biuf" else arr
    return arr[:0] if arr.ndim else arr


def _odd_json(rng, text):
    try:
        obj = json.loads(text)
    except ValueError:
        return text
    targets = []

    def walk(o):
        if isinstance(o, dict):
            targets.append(o)
            for v in o.values():
                walk(v)
        elif isinstance(o, list):
            targets.append(o)
            for v in o:
                walk(v)
    walk(obj)
    for _ in range(rng.randint(1, 3)):
        if not targets:
            break
        t = rng.choice(targets)
        if isinstance(t, dict) and t:
            key = rng.choice(sorted(t))
            choice = rng.randrange(4)
            if choice == 0:
                del t[key]
            elif choice == 1:
                t[key + "_x"] = t[key]
            else:
                t[key] = rng.choice(ODD_VALUES)
        elif isinstance(t, list):
            if t and rng.random() < 0.5:
                t[rng.randrange(len(t))] = rng.choice(ODD_VALUES)
            else:
                t.append(rng.choice(ODD_VALUES))
    return json.dumps(obj)


def mutate_npz(data, rng):
    """An .npz (zip of .npy) with one or more arrays or JSON strings changed,
    removed, renamed or added. None if `data` is not a readable .npz."""
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception:  # noqa: BLE001 - any unreadable input: fall back to bytes
        return None
    if not arrays:
        return None
    for _ in range(rng.randint(1, 3)):
        key = rng.choice(sorted(arrays))
        arr = arrays[key]
        op = rng.randrange(8)
        if arr.dtype.kind == "U" and arr.shape == () and op < 5:
            arrays[key] = np.array(_odd_json(rng, str(arr[()])))
        elif op == 5:
            del arrays[key]
            if not arrays:
                arrays["x"] = np.zeros(1)
        elif op == 6:
            arrays[key + rng.choice(("_", "1", ".weight"))] = arrays.pop(key)
        else:
            arrays[key] = _odd_array(rng, arr)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def mutate_safetensors(data, rng):
    """A .safetensors file with its JSON header's dtypes, shapes, offsets or
    names changed (the payload kept)."""
    if len(data) < 8:
        return None
    n = struct.unpack("<Q", data[:8])[0]
    if n > len(data) - 8:
        return None
    try:
        header = json.loads(data[8:8 + n])
    except ValueError:
        return None
    if not isinstance(header, dict) or not header:
        return None
    key = rng.choice(sorted(header))
    entry = header[key]
    if isinstance(entry, dict) and key != "__metadata__":
        field = rng.choice(("dtype", "shape", "data_offsets", "name"))
        if field == "dtype":
            entry["dtype"] = rng.choice(("F16", "BF16", "F32", "F64", "I8", "I32", "I64", "U8", "BOOL", "X"))
        elif field == "shape":
            entry["shape"] = rng.choice(([], [0], [1], [2**40], [-1], [3, 3, 3], list(reversed(entry.get("shape", [])))))
        elif field == "data_offsets":
            entry["data_offsets"] = rng.choice(([0, 0], [0, 2**40], [8, 4], [0, len(data)]))
        else:
            header[key + "_x"] = header.pop(key)
    else:
        header.pop(key)
    blob = json.dumps(header).encode()
    return struct.pack("<Q", len(blob)) + blob + data[8 + n:]


def mutate_onnx(data, rng):
    """An .onnx model with an initializer's dims, data type or data, or a
    node attribute, changed."""
    try:
        import onnx
        model = onnx.load_from_string(data)
    except Exception:  # noqa: BLE001
        return None
    g = model.graph
    op = rng.randrange(4)
    if op < 2 and g.initializer:
        t = rng.choice(g.initializer)
        if op == 0 and t.dims:
            t.dims[rng.randrange(len(t.dims))] = rng.choice((0, 1, 2, 7, 2**31))
        else:
            t.data_type = rng.choice((1, 2, 3, 6, 7, 10, 11, 16))
    elif op == 2 and g.node:
        node = rng.choice(g.node)
        if node.attribute:
            a = rng.choice(node.attribute)
            if a.type == onnx.AttributeProto.INT:
                a.i = rng.choice((0, -1, 2, 3, 2**31))
            elif a.type == onnx.AttributeProto.STRING:
                a.s = rng.choice((b"", b"reverse", b"bidirectional", b"x"))
            elif a.type == onnx.AttributeProto.FLOATS:
                a.floats[:] = [rng.choice((float("nan"), 0.0, 1e30))]
    elif g.node:
        node = rng.choice(g.node)
        if node.input:
            node.input[rng.randrange(len(node.input))] = rng.choice(("", "missing", node.input[0]))
    try:
        return model.SerializeToString()
    except Exception:  # noqa: BLE001
        return None


def mutate_h5(data, rng):
    """A Keras .h5/.keras weights file (HDF5) with one dataset's dtype,
    shape or values changed, or removed; attributes (config JSON) edited."""
    try:
        import h5py
    except ImportError:
        return None
    if data[:4] == b"PK\x03\x04":
        return None  # .keras zips: byte mutations only
    try:
        src = h5py.File(io.BytesIO(data), "r")
    except Exception:  # noqa: BLE001
        return None
    out = io.BytesIO()
    try:
        with src, h5py.File(out, "w") as dst:
            names = []
            src.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
            victim = rng.choice(names) if names else None
            for k, v in src.attrs.items():
                if isinstance(v, (str, bytes)) and rng.random() < 0.5:
                    v = _odd_json(rng, v.decode() if isinstance(v, bytes) else v)
                dst.attrs[k] = v

            def copy(name, obj):
                if isinstance(obj, h5py.Group):
                    grp = dst.require_group(name)
                    for k, v in obj.attrs.items():
                        grp.attrs[k] = v
                elif name == victim:
                    if rng.random() < 0.2:
                        return
                    dst.create_dataset(name, data=_odd_array(rng, obj[()]) if obj.shape != () else obj[()])
                else:
                    dst.create_dataset(name, data=obj[()])
            src.visititems(copy)
    except Exception:  # noqa: BLE001
        return None
    return out.getvalue()


MUTATORS = {".npz": mutate_npz, ".safetensors": mutate_safetensors, ".onnx": mutate_onnx,
            ".h5": mutate_h5, ".keras": mutate_h5, ".pt": None, ".csv": None}


def mutate(data, suffixes, seed):
    """A structural mutation of a harness input (first byte: suffix index), or
    None when the input's format has no structural mutator or does not parse."""
    if not data:
        return None
    rng = random.Random(seed)
    suffix = suffixes[data[0] % len(suffixes)]
    fn = MUTATORS.get(suffix)
    if fn is None:
        return None
    body = fn(data[1:], rng)
    return None if body is None else data[:1] + body
