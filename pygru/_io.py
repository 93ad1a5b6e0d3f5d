"""Atomic file writing: a file either appears whole or not at all."""
import os
import tempfile


def _umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def check_new_file(path, name="path"):
    """The directory of `path` if a file of that name can be written there (the
    directory exists, `path` is not a directory); else an error naming `name`."""
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{name}: directory {directory!r} does not exist (writing {path!r})")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{name}: {path!r} is a directory, expected a file name")
    return directory


def atomic_write(path, write, binary=True):
    """Call write(fileobj) on a temporary file beside `path`, then rename it over
    `path`. On any error the temporary file is removed and `path` is untouched."""
    path = os.fspath(path)
    directory = check_new_file(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    except OSError as exc:
        # Name the argument, not the temporary file (an unwritable or read-only
        # directory: docs/bad_inputs.md).
        raise type(exc)(exc.errno, f"path: cannot write {path!r}: directory {directory!r} does not accept "
                                   f"new files ({exc.strerror})") from None
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp creates the file as 0600; give it the mode a plain open() would.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_json(path, obj):
    """`obj` as indented, key-sorted JSON, written atomically."""
    import json
    atomic_write(path, lambda f: f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n"), binary=False)


def read_npz(path, name="path", what=".npz file"):
    """The arrays of an .npz file, as a dict, read without trusting the file.

    Unlike np.load, a malformed file can only raise ValueError naming `name`:
    object arrays (pickles) are refused before anything is unpickled, each
    member's header must describe no more bytes than the member holds (a
    forged shape cannot ask for terabytes), and every zip or .npy error
    (unsupported compression, encryption, bad CRC, truncation) is reported as
    "not a readable .npz file". Found by tools/fuzz/fuzz_npz.py."""
    import struct
    import zipfile
    import zlib

    import numpy as np

    fmt = np.lib.format
    arrays = {}
    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                member = info.filename
                if not member.endswith(".npy"):
                    raise ValueError(f"member {member!r} is not an .npy array")
                if info.flag_bits & 0x1:
                    raise ValueError(f"member {member!r} is encrypted")
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise ValueError(f"member {member!r} uses compression method {info.compress_type} "
                                     f"(expected stored or deflated)")
                with zf.open(info) as f:
                    version = fmt.read_magic(f)
                    if version == (1, 0):
                        shape, fortran, dtype = fmt.read_array_header_1_0(f)
                    elif version == (2, 0):
                        shape, fortran, dtype = fmt.read_array_header_2_0(f)
                    else:
                        raise ValueError(f"member {member!r} has .npy format version {version}")
                    if dtype.hasobject:
                        raise ValueError(f"member {member!r} is an object array (a pickle); refused")
                    if dtype.itemsize == 0:
                        raise ValueError(f"member {member!r} has dtype {dtype} of size 0")
                    count = 1
                    for n in shape:
                        count *= int(n)
                    nbytes = count * dtype.itemsize
                    if nbytes > info.file_size:
                        raise ValueError(f"member {member!r} claims shape {shape} of {dtype} ({nbytes} bytes) "
                                         f"but holds {info.file_size} bytes")
                    data = f.read(nbytes)
                    if len(data) != nbytes:
                        raise ValueError(f"member {member!r} is truncated")
                arr = np.frombuffer(data, dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")
                arrays[member[:-4]] = arr.copy()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, KeyError,
            NotImplementedError, RuntimeError, zlib.error, struct.error, TypeError) as exc:
        raise ValueError(f"{name}: {path!r} is not a readable {what} ({type(exc).__name__}: {exc})") from None
    return arrays
