"""The atheris harnesses: bytes -> a file -> a pygru loader.

    python tools/fuzz/pyharness.py NAME [libFuzzer arguments]   (NAME: a key of HARNESSES)

The first input byte picks the file suffix (from `suffixes`), the rest is the
file's content. The loader may raise only the documented clear errors
(`allowed`), each with a message naming what was wrong (`must_name`: one of
those words must appear); anything else (IndexError, KeyError, MemoryError, an
unexpected exception type, a crash, a hang) is a bug that atheris reports with
the input that caused it. The harness also asserts that the loader never
creates a file beside its input (no partial output). Mutations alternate
between structural ones (structure.py) and libFuzzer's byte mutations
(PYGRU_FUZZ_BYTES_ONLY=1: bytes only)."""
import os
import sys
import tempfile


def check(loader, data, suffixes, allowed, must_name=()):
    """Run one input; raise AssertionError or the unexpected exception on a bug."""
    if not data:
        return
    suffix = suffixes[data[0] % len(suffixes)]
    with tempfile.TemporaryDirectory(prefix="pygru-fuzz-") as d:
        path = os.path.join(d, "input" + suffix)
        with open(path, "wb") as f:
            f.write(data[1:])
        try:
            loader(path)
        except allowed as exc:
            msg = str(exc)
            if not msg.strip():
                raise AssertionError(f"{type(exc).__name__} without a message") from exc
            if must_name and not any(w in msg for w in must_name):
                raise AssertionError(f"{type(exc).__name__} message names none of {must_name}: {msg!r}") from exc
        left = sorted(set(os.listdir(d)) - {"input" + suffix})
        if left:
            raise AssertionError(f"loader left files behind: {left}")


def mutator(suffixes):
    """libFuzzer custom mutator: every other call a structural mutation
    (structure.py: dtypes, shapes, names, configuration values of a
    well-formed file), else libFuzzer's own byte mutation."""
    import atheris
    import structure

    def mutate(data, max_size, seed):
        if seed % 2 == 0:
            try:
                out = structure.mutate(data, suffixes, seed)
            except Exception:
                # The mutator itself tripped over a byte-mangled input (protobuf
                # refuses a non-UTF-8 node name, say): that says nothing about
                # the loader, so this call falls back to a byte mutation.
                out = None
            if out is not None and len(out) <= max_size:
                return out
        return atheris.Mutate(data, max_size)
    return mutate


def _pygru(attr, *needs):
    """A loader factory: imports the optional packages `needs` (their own code
    stays uninstrumented), then returns pygru's `attr`."""
    def factory():
        import importlib
        for module in needs:
            importlib.import_module(module)
        import pygru
        return getattr(pygru, attr)
    return factory


def _data_loader():
    from pygru import _datafile
    return lambda path: _datafile.load(path, test_split=0.2, seed=0)


def _data_errors():
    from pygru import _datafile
    return (_datafile.DataError,)


class Harness:
    """One Python harness: the file suffixes the first byte picks from, a
    loader factory, the documented errors (a tuple, or a function returning
    one) and the words one of which each error message must name."""

    def __init__(self, suffixes, loader, allowed, must_name=("path",)):
        self.suffixes, self.loader, self._allowed, self.must_name = suffixes, loader, allowed, must_name

    def allowed(self):
        return self._allowed() if callable(self._allowed) else self._allowed


# UnsupportedModelError (the importers' refusal) is a ValueError.
HARNESSES = {
    "npz": Harness((".npz",), _pygru("load"), (ValueError, FileNotFoundError)),
    "qnpz": Harness((".npz",), _pygru("load_quantized"), (ValueError, FileNotFoundError)),
    "torch": Harness((".pt", ".safetensors"), _pygru("from_torch", "torch"), (ValueError, TypeError)),
    "keras": Harness((".keras", ".h5"), _pygru("from_keras", "h5py"), (ValueError, TypeError)),
    "onnx": Harness((".onnx",), _pygru("from_onnx", "onnx"), (ValueError, TypeError)),
    # the CLI's data loader (.npz / .csv): DataError (a ValueError) naming DATA
    "data": Harness((".npz", ".csv"), _data_loader, _data_errors, ("DATA",)),
}


def main(name, argv):
    import atheris
    h = HARNESSES[name]
    with atheris.instrument_imports(include=["pygru"]):
        loader = h.loader()
    suffixes, allowed, must_name = h.suffixes, h.allowed(), h.must_name
    bytes_only = os.environ.get("PYGRU_FUZZ_BYTES_ONLY", "") not in ("", "0")
    atheris.Setup(argv, lambda data: check(loader, data, suffixes, allowed, must_name),
                  **({} if bytes_only else {"custom_mutator": mutator(suffixes)}))
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[:1] + sys.argv[2:])
