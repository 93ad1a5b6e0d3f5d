"""A small, strict reader of the safetensors format (numpy only).

Why our own reader rather than the `safetensors` package: the format is an
8-byte little-endian header length, a JSON header {name: {dtype, shape,
data_offsets}} and raw little-endian arrays, so a reader is 60 lines; with it
`from_torch("x.safetensors")` needs neither torch nor safetensors, there is one
code path to test instead of two, and every malformed file gets an error
naming what is wrong. The tests check it against the `safetensors` package on
files that package wrote.
"""
import json
import math
import os

import numpy as np

_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2",
           "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1",
           "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
_MAX_HEADER = 100 * 1024 * 1024


def read_safetensors(path):
    """Every tensor of the safetensors file `path` as a dict name -> numpy
    array (BF16 widened exactly to float32). Raises ValueError naming the file
    and the problem for anything that is not a well-formed safetensors file."""
    from .._io import input_file
    path = input_file("path", path, "safetensors file")
    with open(path, "rb") as f:
        blob = f.read()

    def bad(why):
        return ValueError(f"path: {path!r} is not a valid safetensors file: expected an 8-byte length, a JSON "
                          f"header and the arrays it describes, got {why}")

    if len(blob) < 8:
        raise bad("shorter than the 8-byte header length")
    n = int.from_bytes(blob[:8], "little")
    if n > min(_MAX_HEADER, len(blob) - 8):
        raise bad(f"header length {n} exceeds the file size {len(blob)}")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise bad(f"header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise bad("header is not a JSON object")
    data = memoryview(blob)[8 + n:]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = info["dtype"], [int(s) for s in info["shape"]], info["data_offsets"]
        except (TypeError, KeyError, ValueError) as exc:
            raise bad(f"tensor {name!r} has a malformed entry ({exc!r})") from None
        if dtype not in _DTYPES:
            raise bad(f"tensor {name!r} has unsupported dtype {dtype!r}")
        np_dtype = np.dtype(_DTYPES[dtype])
        count = math.prod(shape)  # exact: an int64 product of a forged shape can wrap to 0
        if (not isinstance(begin, int) or not isinstance(end, int) or min(shape, default=0) < 0
                or not 0 <= begin <= end <= len(data) or end - begin != count * np_dtype.itemsize):
            raise bad(f"tensor {name!r}: offsets {[begin, end]} do not fit shape {shape}, dtype {dtype} "
                      f"and {len(data)} data bytes")
        arr = np.frombuffer(data[begin:end], dtype=np_dtype).reshape(shape)
        if dtype == "BF16":
            arr = (arr.astype(np.uint32) << 16).view(np.float32)
        out[name] = arr.astype(arr.dtype.newbyteorder("="))
    return out
