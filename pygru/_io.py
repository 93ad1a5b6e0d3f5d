"""Files in and out: path arguments, atomic writes, untrusting .npz reads.

Path arguments may be str, bytes or os.PathLike (anything else: TypeError
naming the argument). An input must be an existing regular file; a directory,
FIFO, socket or device is reported as what it is (reading a FIFO would block,
/dev/zero would never end).

atomic_write: the file appears whole or not at all. On Linux the data goes to
an unnamed O_TMPFILE inode in the target directory, which the kernel frees if
the process dies at any point before the final rename, so not even SIGKILL can
leave a half-written file under any name. It is linked under a short name
(".pygru-<pid>-<random>.tmp": at most 36 bytes, so targets up to NAME_MAX
work) only for the instant before os.replace. Where O_TMPFILE is not
available, the data is written to that named file directly. Either way, a
temporary left by a killed process (its pid no longer running) is recognised
by its name and removed by the next atomic_write into that directory. No
umask is read or changed: files are created with mode 0o666 and the kernel
applies the process umask, as for open()."""
import errno
import os
import re
import secrets
import stat
import time

STALE_SECONDS = 60
_TMP_RE = re.compile(r"^\.pygru-(\d+)-[0-9a-f]{16}\.tmp$")


def fspath(name, path):
    """`path` (str, bytes or os.PathLike) as a str; TypeError naming `name`."""
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"{name}: expected a file path (str, bytes or os.PathLike), got "
                        f"{type(path).__name__}") from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path:
        raise ValueError(f"{name}: expected a file path, got an empty string")
    if "\0" in path:
        raise ValueError(f"{name}: expected a file path, got a string with a NUL character: {path!r}")
    return path


def _kind(mode):
    for test, what in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return what
    return "not a regular file"


def input_file(name, path, what="file"):
    """An existing regular file to read, as a str path; otherwise
    FileNotFoundError / IsADirectoryError / ValueError naming `name`."""
    path = fspath(name, path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{name}: no such file {path!r} (expected an existing {what}, got no file "
                                f"at that path)") from None
    except OSError as exc:
        raise os_error(exc, f"{name}: cannot read {path!r}: expected a readable {what}, got "
                            f"{exc.strerror}") from None
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(f"{name}: expected a {what}, got {path!r}, which is a directory")
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{name}: expected a {what}, got {path!r}, which is {_kind(st.st_mode)}")
    return path


def output_target(name, path):
    """(path, directory) of a file to write, checked as far as it can be
    without writing: the directory exists, the path is not a directory."""
    path = fspath(name, path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{name}: directory {directory!r} does not exist (expected a file name in "
                                f"an existing directory, got {path!r})")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{name}: expected a file name, got {path!r}, which is a directory")
    return path, directory


def check_new_file(path, name="path"):
    """The directory of `path` if a file of that name can be written there (the
    directory exists, `path` is not a directory); else an error naming `name`."""
    return output_target(name, path)[1]


def _pid_alive(pid):
    if os.name == "nt":
        return True  # os.kill(pid, 0) would terminate the process there; never clean
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # exists, someone else's
    return True


def clean_stale_temporaries(directory):
    """Remove atomic_write temporaries of processes that no longer run;
    returns their names."""
    removed = []
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return removed
    for entry in entries:
        m = _TMP_RE.match(entry.name)
        if not m or int(m.group(1)) == os.getpid() or _pid_alive(int(m.group(1))):
            continue
        try:
            # A process of another pid namespace (a shared network folder) may
            # look dead from here: leave anything recent alone.
            young = time.time() - entry.stat(follow_symlinks=False).st_mtime < STALE_SECONDS
        except OSError:
            continue
        if not young:
            try:
                os.unlink(entry.path)
                removed.append(entry.name)
            except OSError:
                pass
    return removed


def probe_writable(name, path):
    """Create and remove a temporary in `path`'s directory, so a long run
    (training) fails before it starts, not when it saves. OSError naming `name`."""
    path, directory = output_target(name, path)
    tmp = os.path.join(directory, f".pygru-{os.getpid()}-{secrets.token_hex(8)}.tmp")
    try:
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            os.close(fd)
        finally:
            _unlink_quiet(tmp)
    except OSError as exc:
        raise _refused(name, path, directory, exc) from None
    return path


def check_free_space(name, path, nbytes):
    """OSError (ENOSPC) naming `name` when the file system of `path` has fewer
    than `nbytes` bytes free for this user: a long run (training) should not
    find out when it saves. Where statvfs is unavailable, nothing is checked."""
    path, directory = output_target(name, path)
    try:
        st = os.statvfs(directory)
    except (AttributeError, OSError):
        return path
    free = st.f_bavail * st.f_frsize
    if free < nbytes:
        exc = OSError(f"{name}: cannot write {path!r}: expected at least {nbytes} bytes free in "
                      f"{directory!r}, got {free}")
        exc.errno = errno.ENOSPC
        raise exc
    return path


def _unlink_quiet(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def _open_unnamed(directory):
    """An O_TMPFILE descriptor in `directory`, or None where unsupported."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):  # linking it needs /proc
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY, 0o666)
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL, errno.ENOENT):
            return None
        raise


def os_error(exc, message):
    """An OSError of exc's type and errno whose text is only `message`
    (argument first; OSError(errno, text) would print "[Errno N]" first)."""
    new = type(exc)(message)
    new.errno = exc.errno  # (setting strerror too would bring the prefix back)
    return new


def _refused(name, path, directory, exc):
    return os_error(exc, f"{name}: cannot write {path!r}: expected a directory that accepts new files, got "
                         f"{directory!r} ({exc.strerror or exc})")


def _link_unnamed(fd, target):
    """Give the O_TMPFILE inode `fd` the name `target`: linkat(2) with
    AT_SYMLINK_FOLLOW on /proc/self/fd/N (os.link uses linkat, and so follows
    the magic link, only when given a src_dir_fd)."""
    proc = os.open("/proc/self/fd", os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.link(str(fd), target, src_dir_fd=proc, follow_symlinks=True)
    finally:
        os.close(proc)


def atomic_write(path, write, binary=True, name="path"):
    """Call write(fileobj) on a temporary file in `path`'s directory, then
    rename it over `path`. On any error (also KeyboardInterrupt / SystemExit
    at any point) no temporary remains and `path` is untouched; OSErrors name
    `name` and the file."""
    path, directory = output_target(name, path)
    clean_stale_temporaries(directory)
    tmp = None
    fd = None
    try:
        try:
            fd = _open_unnamed(directory)
            if fd is None:
                tmp = os.path.join(directory, f".pygru-{os.getpid()}-{secrets.token_hex(8)}.tmp")
                fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except OSError as exc:
            # Name the argument, not the temporary file (an unwritable or read-only
            # directory: docs/bad_inputs.md).
            raise _refused(name, path, directory, exc) from None
        try:
            f = os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"}))
            fd = None  # the file object owns it now
            with f:
                write(f)
                f.flush()
                os.fsync(f.fileno())
                if tmp is None:
                    tmp = os.path.join(directory, f".pygru-{os.getpid()}-{secrets.token_hex(8)}.tmp")
                    _link_unnamed(f.fileno(), tmp)
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:
            # A full disk (ENOSPC), a quota, an I/O error: name the file, not
            # the temporary (np.savez's errors name nothing at all).
            code = errno.errorcode.get(exc.errno, "error") if exc.errno else type(exc).__name__
            raise os_error(exc, f"{name}: cannot write {path!r}: expected the data written, got {code} "
                                f"({exc.strerror or exc})") from None
    finally:
        if fd is not None:
            os.close(fd)
        if tmp is not None:
            _unlink_quiet(tmp)


def write_json(path, obj):
    """`obj` as indented, key-sorted JSON, written atomically."""
    import json
    atomic_write(path, lambda f: f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n"), binary=False)


def _npy_header(fmt, f, member):
    """(shape, fortran, dtype) of an .npy member. numpy's header parser lets a
    forged header escape as tokenize.TokenError or SyntaxError: those become a
    ValueError naming the member (found by the tools/fuzz qnpz harness)."""
    import tokenize
    version = fmt.read_magic(f)
    if version not in ((1, 0), (2, 0)):
        raise ValueError(f"member {member!r} has .npy format version {version}")
    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
    try:
        return read(f)
    except (tokenize.TokenError, SyntaxError) as exc:
        raise ValueError(f"member {member!r} has a malformed .npy header ({type(exc).__name__})") from None


def read_npz(path, name="path", what=".npz file"):
    """The arrays of an .npz file, as a dict, read without trusting the file.

    Unlike np.load, a malformed file can only raise ValueError naming `name`:
    object arrays (pickles) are refused before anything is unpickled, each
    member's header must describe no more bytes than the member holds (a
    forged shape cannot ask for terabytes), and every zip or .npy error
    (unsupported compression, encryption, bad CRC, truncation) is reported as
    "not a readable .npz file". Found by the tools/fuzz npz harness."""
    import struct
    import zipfile
    import zlib

    import numpy as np

    fmt = np.lib.format
    arrays = {}
    path = input_file(name, path, what)
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
                    shape, fortran, dtype = _npy_header(fmt, f, member)
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
        raise ValueError(f"{name}: {path!r} is not a readable {what}: expected a zip of .npy arrays, got "
                         f"{type(exc).__name__}: {exc}") from None
    return arrays
