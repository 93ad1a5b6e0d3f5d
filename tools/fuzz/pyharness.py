"""Shared driver of the atheris harnesses: bytes -> a file -> a pygru loader.

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


def main(loader_factory, suffixes, allowed, must_name=()):
    import atheris
    with atheris.instrument_imports(include=["pygru"]):
        loader = loader_factory()
    bytes_only = os.environ.get("PYGRU_FUZZ_BYTES_ONLY", "") not in ("", "0")
    atheris.Setup(sys.argv, lambda data: check(loader, data, suffixes, allowed, must_name),
                  **({} if bytes_only else {"custom_mutator": mutator(suffixes)}))
    atheris.Fuzz()
