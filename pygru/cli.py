"""The `pygru` command line (also `python -m pygru`).

    pygru demo                                  train, export, run as firmware, compare
    pygru train spoken_digits -o model.npz      train a GRU classifier
    pygru eval model.npz spoken_digits          accuracy on the test split
    pygru export model.npz -o kws.h --name kws  C header for firmware
    pygru import model.onnx -o model.npz        from ONNX / PyTorch / Keras
    pygru bench                                 speed against torch.nn.GRU
    pygru info                                  version, build, SIMD level, toolchains

Exit codes: 0 success, 1 failure (bad or missing file, wrong format, a failed
build or check), 2 bad command line (unknown option, invalid value). Output
files are written atomically: on failure no partial file is left behind.
Set PYGRU_DEBUG=1 to see Python tracebacks.
"""
import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time

import numpy as np

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2

PROG = "pygru"


class CLIError(Exception):
    """A failure the user can fix; printed without a traceback (exit 1)."""
    code = EXIT_FAILURE


class UsageError(CLIError):
    """An invalid option value or combination (exit 2)."""
    code = EXIT_USAGE


# --------------------------------------------------------------------------- argument helpers

def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def _non_negative_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text}")
    return value


def _positive_float(text):
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def _fraction(text):
    value = _non_negative_float(text)
    if not value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text}")
    return value


def _hidden_sizes(text):
    try:
        sizes = [int(p) for p in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a size or comma-separated sizes per layer (e.g. 32 or 64,32), got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"expected positive sizes, got {text!r}")
    return sizes


def _input_file(path, what):
    if not os.path.exists(path):
        raise CLIError(f"{what}: no such file {path!r}")
    if os.path.isdir(path):
        raise CLIError(f"{what}: {path!r} is a directory, expected a file")
    return path


def _output_file(path, extensions, what="--output"):
    """Check an output path before doing any work, so a long run never ends in
    'cannot write'."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in extensions:
        raise UsageError(f"{what}: expected a file name ending in {' or '.join(extensions)}, got {path!r}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise CLIError(f"{what}: directory {directory!r} does not exist")
    if os.path.isdir(path):
        raise CLIError(f"{what}: {path!r} is a directory, expected a file name")
    if not os.access(directory, os.W_OK):
        raise CLIError(f"{what}: directory {directory!r} is not writable")
    return path


def _is_zip(path):
    with open(path, "rb") as f:
        return f.read(4) == b"PK\x03\x04"


def _load_model(path):
    import pygru
    _input_file(path, "MODEL")
    if not _is_zip(path):
        raise CLIError(f"MODEL: {path!r} is not a pygru model (expected an .npz file written by "
                       f"pygru train/import or GRUModel.save)")
    try:
        return pygru.load(path)
    except ValueError as exc:
        raise CLIError(str(exc).replace("path:", "MODEL:", 1)) from None


def _load_data(spec, test_split=0.2, seed=0):
    from . import _datafile
    try:
        return _datafile.load(spec, test_split=test_split, seed=seed)
    except _datafile.DataError as exc:
        raise CLIError(str(exc)) from None
    except FileNotFoundError as exc:
        raise CLIError(str(exc)) from None


def _say(args, text=""):
    if not getattr(args, "quiet", False):
        print(text, flush=True)


def _write_json(path, obj):
    from ._io import atomic_write
    atomic_write(path, lambda f: f.write(json.dumps(obj, indent=2, sort_keys=True) + "\n"), binary=False)


# --------------------------------------------------------------------------- train

TRAIN_HELP = """\
Train a GRU on sequence data and save it as a pygru model (.npz).

DATA is one of:
  a bundled data set name    spoken_digits (see `pygru info`)
  FILE.npz   arrays X_train (N, T, I) float and y_train (N,): int class indices
             for classification, or (N,)/(N, O) float targets for regression;
             optionally X_test, y_test (else --test-split of the data is held
             out) and classes (names). Or just X and y. No pickles.
  FILE.csv   one row per time step with a header row: a `sequence` column (id;
             a sequence's rows are consecutive, in time order), a `label`
             column (integer class or class name), an optional `split` column
             (train/test), every other column a feature. All sequences have
             the same number of rows.

The model is GRU layer(s) + a dense head: class logits trained with softmax
cross-entropy for integer labels, linear outputs trained with MSE for float
targets. The test accuracy (or MSE) is printed at the end.
"""

TRAIN_EXAMPLES = """\
examples:
  pygru train spoken_digits -o kws.npz
  pygru train spoken_digits -o kws.npz --hidden 64 --epochs 30 --lr 0.005
  pygru train motion.csv -o motion.npz --hidden 32,32 --optimizer sgd --lr 0.05
  pygru train data.npz -o model.npz --val-split 0.1 --early-stopping 5 --history hist.json
  pygru train spoken_digits -o kws.npz --epochs 50 --checkpoint ckpt.npz --resume
      (after a Ctrl-C, the same command continues from the last finished epoch)
"""


def cmd_train(args):
    from . import GRUModel
    if not hasattr(GRUModel, "fit"):
        raise CLIError("this pygru has no training (GRUModel.fit); install a pygru with training support")
    _output_file(args.output, (".npz",))
    if args.history:
        _output_file(args.history, (".json",), "--history")
    if args.checkpoint:
        _output_file(args.checkpoint, (".npz",), "--checkpoint")
    elif args.resume:
        raise UsageError("--resume needs --checkpoint FILE.npz")
    data = _load_data(args.data, args.test_split, args.seed)
    loss = args.loss
    if loss == "auto":
        loss = "cross_entropy" if data.classification else "mse"
    if loss == "cross_entropy" and not data.classification:
        raise UsageError("--loss cross_entropy needs integer class labels; DATA has float targets")
    _say(args, f"data: {data.describe()}")
    X, y = data.X_train, data.y_train
    validation = None
    if args.val_split > 0:
        n_val = int(round(len(X) * args.val_split))
        if n_val < 1 or n_val >= len(X):
            raise UsageError(f"--val-split {args.val_split} of {len(X)} training sequences leaves no "
                             f"training or no validation sequence")
        perm = np.random.default_rng(args.seed + 1).permutation(len(X))
        validation = (X[perm[:n_val]], y[perm[:n_val]])
        X, y = X[perm[n_val:]], y[perm[n_val:]]
    try:
        model = GRUModel(input_size=data.input_size, hidden_sizes=args.hidden, output_size=data.output_size,
                         reset_after=not args.reset_before, seed=args.seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    _say(args, f"model: {model}")
    kwargs = dict(loss=loss, epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer,
                  lr=args.lr, weight_decay=args.weight_decay, validation_data=validation, seed=args.seed,
                  progress=not args.no_progress and not args.quiet)
    if args.clip_norm is not None:
        kwargs["clip_norm"] = args.clip_norm
    if args.checkpoint:
        kwargs.update(checkpoint=args.checkpoint, resume=args.resume)
    if args.optimizer == "sgd":
        kwargs["momentum"] = args.momentum
    if args.early_stopping is not None:
        if validation is None:
            raise UsageError("--early-stopping needs a validation split (--val-split > 0)")
        kwargs["early_stopping"] = args.early_stopping
    t0 = time.perf_counter()
    history = model.fit(X, y, **kwargs)
    seconds = time.perf_counter() - t0
    stopped = getattr(history, "stopped", None)
    if stopped:
        best = getattr(history, "best_epoch", None)
        _say(args, f"training stopped early ({stopped}); keeping the best weights"
                   + (f" (epoch {best})" if best else ""))
    model.save(args.output)
    result = _evaluate(model, data.X_test, data.y_test, data.classification)
    _say(args, f"trained in {seconds:.1f} s; test {_format_metrics(result)}")
    _say(args, f"wrote {args.output}")
    if args.history:
        from .demo import history_series
        _write_json(args.history, {"history": history_series(history), "test": result,
                                   "seconds": round(seconds, 3), "data": data.origin,
                                   "model": model.config()})
        _say(args, f"wrote {args.history}")
    return EXIT_OK


def _evaluate(model, X, y, classification):
    out = model.predict(X)
    if classification:
        pred = out.argmax(axis=1)
        return {"accuracy": float(np.mean(pred == y)), "correct": int(np.sum(pred == y)), "count": int(len(y))}
    return {"mse": float(np.mean((out.astype(np.float64) - y) ** 2)), "count": int(len(y))}


def _format_metrics(result):
    if "accuracy" in result:
        return f"accuracy {result['accuracy']:.2%} ({result['correct']}/{result['count']})"
    return f"MSE {result['mse']:.6g} ({result['count']} sequences)"


# --------------------------------------------------------------------------- eval

EVAL_EXAMPLES = """\
examples:
  pygru eval kws.npz spoken_digits
  pygru eval kws.npz spoken_digits --split train --confusion
  pygru eval model.npz data.npz --json
"""


def cmd_eval(args):
    model = _load_model(args.model)
    data = _load_data(args.data, args.test_split, args.seed)
    if data.input_size != model.input_size:
        raise CLIError(f"DATA has {data.input_size} features per step, the model expects {model.input_size}")
    if model.output_dim != data.output_size:
        raise CLIError(f"DATA has {data.output_size} {'classes' if data.classification else 'targets'}, "
                       f"the model outputs {model.output_dim} values")
    if args.split == "train":
        X, y = data.X_train, data.y_train
    elif args.split == "test":
        X, y = data.X_test, data.y_test
    else:
        X, y = np.concatenate([data.X_train, data.X_test]), np.concatenate([data.y_train, data.y_test])
    result = _evaluate(model, X, y, data.classification)
    result.update(split=args.split, data=data.origin, model=os.path.basename(args.model))
    if data.classification:
        pred = model.predict(X).argmax(axis=1)
        C = len(data.classes)
        confusion = np.zeros((C, C), dtype=np.int64)
        np.add.at(confusion, (y, pred), 1)
        result["per_class_accuracy"] = {c: (float(confusion[i, i] / confusion[i].sum()) if confusion[i].sum() else None)
                                        for i, c in enumerate(data.classes)}
        result["confusion"] = confusion.tolist()
    if args.json:
        print(json.dumps(result, indent=2))
        return EXIT_OK
    print(f"{args.model} on {data.origin} ({args.split}): {_format_metrics(result)}")
    if data.classification and args.confusion:
        width = max(5, max(len(c) for c in data.classes) + 1)
        print("confusion (rows: true class, columns: predicted)")
        print(" " * width + "".join(f"{c[:width - 1]:>{width}}" for c in data.classes))
        for i, c in enumerate(data.classes):
            print(f"{c:>{width}}" + "".join(f"{v:>{width}}" for v in confusion[i]))
    return EXIT_OK


# --------------------------------------------------------------------------- export

EXPORT_EXAMPLES = """\
examples:
  pygru export kws.npz -o kws.h                 # C names kws_model, KWS_INPUT_SIZE, ...
  pygru export kws.npz -o model.h --name kws --float-format decimal
  pygru export kws.npz -o kws_int8.h --dtype int8 --calibration spoken_digits

In one C file:  #define KWS_IMPLEMENTATION  then  #include "kws.h"
Build with gru_c/src/*.c (pygru.c_source_dir()) and -ffp-contract=off.
"""


def _default_name(path):
    stem = re.sub(r"[^A-Za-z0-9_]", "_", os.path.splitext(os.path.basename(path))[0]).strip("_")
    stem = re.sub(r"_+", "_", stem).lower()
    if not stem or stem[0].isdigit():
        stem = "model_" + stem if stem else "model"
    if stem == "gru" or stem.startswith("gru_"):
        stem = "model_" + stem
    return stem[:32]


def cmd_export(args):
    import pygru
    from .export import check_name
    if not hasattr(pygru, "export_c"):
        raise CLIError("this pygru has no C header export (pygru.export_c)")
    _output_file(args.output, (".h",))
    name = args.name if args.name is not None else _default_name(args.output)
    try:
        check_name(name)
    except (TypeError, ValueError) as exc:
        raise UsageError(str(exc).replace("name:", "--name:", 1)) from None
    model = _load_model(args.model)
    if args.dtype != "float32":
        if not hasattr(pygru, "quantize"):
            raise CLIError(f"--dtype {args.dtype}: this pygru has no quantization (pygru.quantize)")
        if not args.calibration:
            raise UsageError(f"--dtype {args.dtype} needs --calibration DATA (representative inputs)")
        data = _load_data(args.calibration)
        model = pygru.quantize(model, data.X_train, mode=args.dtype)
    kwargs = {"name": name, "float_format": args.float_format,
              "source": f"pygru export {os.path.basename(args.model)}"}
    if args.self_test_steps is not None:
        kwargs["self_test_steps"] = args.self_test_steps
    try:
        pygru.export_c(model, args.output, **kwargs)
    except TypeError as exc:
        raise CLIError(f"export failed: {exc}") from None
    upper = name.upper()
    outputs = model.output_size if model.output_size is not None else model.hidden_sizes[-1]
    _say(args, f"wrote {args.output} ({args.dtype}): {name}_model, {upper}_INPUT_SIZE {model.input_size}, "
               f"{upper}_OUTPUT_SIZE {outputs}")
    _say(args, f"use: #define {upper}_IMPLEMENTATION (in one .c file), #include \"{os.path.basename(args.output)}\"; "
               f"compile with -I{pygru.c_include_dir()} and {os.path.join(pygru.c_source_dir(), 'src')}/*.c")
    return EXIT_OK


# --------------------------------------------------------------------------- import

IMPORT_EXAMPLES = """\
examples:
  pygru import gru.onnx -o model.npz
  pygru import gru_state_dict.pt -o model.npz          # PyTorch: loaded with weights_only=True
  pygru import net.pt -o model.npz --head fc           # GRU + nn.Linear saved as net.state_dict()
  pygru import model.safetensors -o model.npz
  pygru import model.keras -o model.npz                # Keras 3 / legacy .h5, read with h5py
  pygru import weights.bin -o model.npz --format onnx  # when the extension says nothing
"""

IMPORT_FORMATS = {".onnx": "onnx", ".pt": "torch", ".pth": "torch", ".safetensors": "torch",
                  ".keras": "keras", ".h5": "keras", ".hdf5": "keras"}


def cmd_import(args):
    import pygru
    _input_file(args.file, "FILE")
    _output_file(args.output, (".npz",))
    fmt = args.format or IMPORT_FORMATS.get(os.path.splitext(args.file)[1].lower())
    if fmt is None:
        raise UsageError(f"FILE: cannot tell the format of {args.file!r} from its extension "
                         f"(known: {', '.join(sorted(IMPORT_FORMATS))}); pass --format onnx|torch|keras")
    function = {"onnx": "from_onnx", "torch": "from_torch", "keras": "from_keras"}[fmt]
    if not hasattr(pygru, function):
        raise CLIError(f"this pygru has no {fmt} importer (pygru.{function})")
    if fmt != "torch" and (args.head or args.output_activation):
        raise UsageError("--head and --output-activation apply to PyTorch files only "
                         "(ONNX and Keras files record their head)")
    kwargs = {}
    if fmt == "torch":
        kwargs = {"head": args.head, "output_activation": args.output_activation}
    try:
        model = getattr(pygru, function)(args.file, **kwargs)
    except ImportError as exc:
        raise CLIError(f"importing {fmt} needs a package that is not installed: {exc}") from None
    except (ValueError, TypeError, KeyError, OSError) as exc:
        raise CLIError(f"FILE: {args.file!r} could not be imported as {fmt}: {exc}") from None
    model.save(args.output)
    _say(args, f"imported {args.file} ({fmt}): {model}")
    _say(args, f"wrote {args.output}")
    return EXIT_OK


# --------------------------------------------------------------------------- bench

BENCH_EXAMPLES = """\
examples:
  pygru bench                                   # I=16, H=32, batch 32, T=50
  pygru bench --input 40 --hidden 128 --repeat 50
  pygru bench --train --json
Prints medians and pygru/torch ratios measured in the same run (torch, one
thread, when installed). Numbers vary with the machine and its load.
"""


def _median_seconds(fn, repeat, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def cmd_bench(args):
    from . import GRUModel
    I, H, B, T = args.input, args.hidden, args.batch, args.steps
    rng = np.random.default_rng(0)
    X = rng.standard_normal((B, T, I)).astype(np.float32)
    Y = rng.standard_normal((B, 1)).astype(np.float32)
    model = GRUModel(input_size=I, hidden_sizes=[H], output_size=1, seed=0)
    rows = []
    rows.append(("inference: batch sequence", "pygru", _median_seconds(lambda: model.predict(X), args.repeat)))
    stream = model.stream()
    x0 = X[0, 0]

    def steps():
        for _ in range(100):
            stream.step(x0)
    rows.append(("inference: stream step", "pygru", _median_seconds(steps, args.repeat) / 100))
    if args.train:
        if hasattr(GRUModel, "fit"):
            rows.append(("training: Adam step (MSE)", "pygru", _median_seconds(
                lambda: model.fit(X, Y, loss="mse", epochs=1, batch_size=B, optimizer="adam", lr=1e-3,
                                  shuffle=False, progress=False), args.repeat)))
        else:
            rows.append(("training: Adam step (MSE)", "pygru", None))
    torch_note = None
    try:
        import torch
    except ImportError:
        torch = None
        torch_note = "torch not installed: no peer measured (pip install torch)"
    if torch is not None:
        torch.set_num_threads(1)
        torch.manual_seed(0)
        gru = torch.nn.GRU(I, H, batch_first=True)
        head = torch.nn.Linear(H, 1)
        xt, yt = torch.from_numpy(X), torch.from_numpy(Y)

        def forward():
            with torch.no_grad():
                out, _ = gru(xt)
                head(out[:, -1])
        rows.append(("inference: batch sequence", "torch", _median_seconds(forward, args.repeat)))
        x1 = torch.from_numpy(X[:1, :1])

        def tsteps():
            with torch.no_grad():
                h = None
                for _ in range(100):
                    out, h = gru(x1, h)
                    head(out[:, -1])
        rows.append(("inference: stream step", "torch", _median_seconds(tsteps, args.repeat) / 100))
        if args.train:
            opt = torch.optim.Adam(list(gru.parameters()) + list(head.parameters()), lr=1e-3)

            def tstep():
                out, _ = gru(xt)
                loss = torch.nn.functional.mse_loss(head(out[:, -1]), yt)
                opt.zero_grad()
                loss.backward()
                opt.step()
            rows.append(("training: Adam step (MSE)", "torch", _median_seconds(tstep, args.repeat)))
    table = {}
    for what, who, sec in rows:
        table.setdefault(what, {})[who] = sec
    result = {"input": I, "hidden": H, "batch": B, "steps": T, "repeat": args.repeat, "threads_torch": 1,
              "seconds": table, "note": torch_note,
              "ratio_torch_over_pygru": {k: (v["torch"] / v["pygru"] if v.get("torch") and v.get("pygru") else None)
                                         for k, v in table.items()}}
    if args.json:
        print(json.dumps(result, indent=2))
        return EXIT_OK
    print(f"GRU {I}->{H} + dense, batch {B}, T={T}; median of {args.repeat} runs")
    print(f"{'':28}{'pygru':>12}{'torch':>12}{'torch/pygru':>13}")
    for what, v in table.items():
        def fmt(s):
            if s is None:
                return "n/a"
            return f"{s * 1e3:.3f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} us"
        ratio = result["ratio_torch_over_pygru"][what]
        print(f"{what:28}{fmt(v.get('pygru')):>12}{fmt(v.get('torch')):>12}"
              f"{(f'{ratio:.2f}x' if ratio else 'n/a'):>13}")
    if args.train and table["training: Adam step (MSE)"].get("pygru") is None:
        print("training: this pygru has no GRUModel.fit")
    if torch_note:
        print(torch_note)
    return EXIT_OK


# --------------------------------------------------------------------------- info

TOOLCHAINS = [("cc", "host C compiler"), ("gcc", "GCC"), ("clang", "Clang"),
              ("arm-none-eabi-gcc", "Cortex-M cross compiler"),
              ("riscv64-unknown-elf-gcc", "RISC-V cross compiler"),
              ("qemu-system-arm", "QEMU, Arm machines"), ("qemu-system-riscv32", "QEMU, RV32"),
              ("qemu-system-riscv64", "QEMU, RV64"), ("valgrind", "valgrind")]
OPTIONAL_PACKAGES = ["numpy", "torch", "onnx", "onnxruntime", "h5py", "keras", "tqdm", "matplotlib"]


def _tool_version(exe):
    try:
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0].strip() if lines else None


def _package_version(name):
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def build_info():
    """What the compiled extension was built with, read from the binary: the
    compiler's DWARF producer string (flags) and the step kernel's target clones."""
    from . import _core
    path = _core.__file__
    with open(path, "rb") as f:
        blob = f.read()
    producers = sorted({m.decode("ascii", "replace") for m in re.findall(rb"GNU C[0-9]* [ -~]+", blob)})
    clones = sorted({m.decode() for m in re.findall(rb"gru__gemv_(avx512f|avx2|portable)\b", blob)})
    return {"extension": path, "compiler_flags": producers, "kernel_clones": clones}


def cpu_simd_flags():
    flags = set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    return [f for f in ("avx512f", "avx2", "fma", "sse4_2", "neon", "asimd") if f in flags]


def simd_level(build, cpu_flags):
    """The kernels the extension runs on this CPU, as gru_c itself reports them
    (gru_kernel_name: chosen once, by the build or by the loader)."""
    from . import _core
    names = _core.kernel_names()
    how = "chosen at load time for this CPU" if _core.kernels_dispatched() else \
        "fixed at compile time (no run-time dispatch in this build)"
    return f"float {names['float']}, int8 {names['int8']}, integer {names['integer']} ({how})"


def cmd_info(args):
    import pygru
    from . import _core, datasets
    build = build_info()
    cpu = cpu_simd_flags()
    info = {
        "pygru": pygru.__version__,
        "gru_c_api": _core.C_VERSION,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": f"{platform.system()} {platform.machine()}",
        "package_dir": os.path.dirname(os.path.abspath(pygru.__file__)),
        "build": build,
        "cpu_simd_flags": cpu,
        "simd_level": simd_level(build, cpu),
        "limits": {"GRU_MAX_LAYERS": _core.MAX_LAYERS, "GRU_MAX_DIM": _core.MAX_DIM},
        "features": {
            "training (GRUModel.fit)": hasattr(pygru.GRUModel, "fit"),
            "C header export (pygru.export_c)": hasattr(pygru, "export_c"),
            "import PyTorch (pygru.from_torch)": hasattr(pygru, "from_torch"),
            "import Keras (pygru.from_keras)": hasattr(pygru, "from_keras"),
            "import ONNX (pygru.from_onnx)": hasattr(pygru, "from_onnx"),
            "quantization (pygru.quantize)": hasattr(pygru, "quantize"),
        },
        "datasets": {n: datasets.load(n).description for n in datasets.available()},
        "packages": {p: _package_version(p) for p in OPTIONAL_PACKAGES},
        "toolchains": {},
    }
    try:
        info["c_sources"] = pygru.c_source_dir()
    except FileNotFoundError:
        info["c_sources"] = None
    for exe, what in TOOLCHAINS:
        found = shutil.which(exe)
        info["toolchains"][exe] = {"what": what, "path": found, "version": _tool_version(found) if found else None}
    if args.json:
        print(json.dumps(info, indent=2))
        return EXIT_OK
    print(f"pygru {info['pygru']} (gru_c C API {info['gru_c_api']}), Python {info['python']}, {info['platform']}")
    print(f"package:      {info['package_dir']}")
    print(f"C sources:    {info['c_sources'] or 'not found'}")
    print(f"extension:    {build['extension']}")
    flags = "; ".join(build["compiler_flags"]) or "not recorded in the binary (stripped build)"
    print(f"build flags:  {flags}")
    print(f"SIMD level:   {info['simd_level']}")
    print(f"CPU flags:    {' '.join(cpu) or 'none of avx512f/avx2/fma/sse4_2/neon/asimd'}")
    print(f"limits:       GRU_MAX_LAYERS {_core.MAX_LAYERS}, GRU_MAX_DIM {_core.MAX_DIM}")
    print("features:")
    for k, v in info["features"].items():
        print(f"  {'yes' if v else 'no ':4} {k}")
    print("bundled data sets:")
    for k, v in info["datasets"].items():
        print(f"  {k}: {v}")
    print("optional packages:")
    for k, v in info["packages"].items():
        print(f"  {k:12} {v or 'not installed'}")
    print("toolchains:")
    for exe, t in info["toolchains"].items():
        status = f"{t['version'] or '(version unknown)'}  [{t['path']}]" if t["path"] else "not found"
        print(f"  {exe:24} {status}")
    return EXIT_OK


# --------------------------------------------------------------------------- demo

DEMO_HELP = """\
The whole promise in one command: train a GRU classifier on the bundled real
data set (spoken digits 0-9 as MFCC sequences, from the Free Spoken Digit
Dataset), print its test accuracy, export it as a C header, compile a
firmware-style C program (static buffers only) against it with the system C
compiler, run it on every test sequence and check that its predictions (and
every output bit) equal Python's. Where arm-none-eabi-gcc, qemu-system-arm and
pygru's source checkout (tools/firmware) are present, repeat that on a
Cortex-M4F under QEMU.

Writes into --out: model.npz, kws.h, main.c, demo_data.h, the host program,
training.png (with matplotlib), history.json and summary.json (written last).
"""

DEMO_EXAMPLES = """\
examples:
  pygru demo
  pygru demo --out /tmp/kws_demo --epochs 30 --hidden 64
  pygru demo --no-cortex-m --no-progress
"""


def cmd_demo(args):
    from . import demo
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise CLIError(f"--out: {args.out!r} exists and is not a directory")
    parent = os.path.dirname(os.path.abspath(args.out))
    if not os.path.isdir(parent):
        raise CLIError(f"--out: parent directory {parent!r} does not exist")
    try:
        demo.run(out_dir=args.out, epochs=args.epochs, hidden=args.hidden, lr=args.lr,
                 batch_size=args.batch_size, seed=args.seed, progress=not (args.no_progress or args.quiet),
                 cortex_m=not args.no_cortex_m, log=lambda text: _say(args, text))
    except demo.DemoError as exc:
        raise CLIError(str(exc)) from None
    return EXIT_OK


# --------------------------------------------------------------------------- parser

def build_parser():
    from . import __version__
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog=PROG, formatter_class=fmt,
        description="pygru: train, run and export GRU models for microcontrollers.",
        epilog="""\
commands in order of a typical session:
  pygru demo                                   everything below on bundled data, in one go
  pygru train spoken_digits -o kws.npz         train (bundled data set, .npz or .csv)
  pygru eval kws.npz spoken_digits             accuracy on the test split
  pygru export kws.npz -o kws.h                C header for firmware
  pygru import model.onnx -o model.npz         from ONNX, PyTorch or Keras
  pygru bench                                  speed against torch.nn.GRU
  pygru info                                   version, build flags, SIMD level, toolchains

`pygru COMMAND --help` shows each command's options and examples.
exit codes: 0 success, 1 failure (files, formats, builds), 2 bad command line.""")
    parser.add_argument("--version", action="version", version=f"pygru {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def add(name, help, description=None, examples=""):
        p = sub.add_parser(name, help=help, description=description or help, epilog=examples,
                           formatter_class=fmt)
        p.add_argument("-q", "--quiet", action="store_true", help="print only errors")
        return p

    p = add("train", "train a GRU on sequence data", TRAIN_HELP, TRAIN_EXAMPLES)
    p.add_argument("data", metavar="DATA", help="bundled data set name, .npz or .csv (layouts above)")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.npz", help="where to save the trained model")
    g = p.add_argument_group("model")
    g.add_argument("--hidden", type=_hidden_sizes, default=[32], metavar="H[,H...]",
                   help="hidden size per GRU layer (default 32; 64,32 = two layers)")
    g.add_argument("--reset-before", action="store_true",
                   help="reset gate before the recurrent matmul (Cho 2014 / ONNX default); "
                        "default: after (PyTorch / Keras)")
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=_positive_int, default=20, help="default 20")
    g.add_argument("--batch-size", type=_positive_int, default=32, help="default 32")
    g.add_argument("--optimizer", choices=["adam", "sgd"], default="adam", help="default adam")
    g.add_argument("--lr", type=_positive_float, default=1e-2, help="learning rate (default 0.01)")
    g.add_argument("--momentum", type=_fraction, default=0.9, help="SGD momentum (default 0.9)")
    g.add_argument("--weight-decay", type=_non_negative_float, default=0.0, help="default 0")
    g.add_argument("--clip-norm", type=_positive_float, default=None, help="global gradient-norm clip")
    g.add_argument("--loss", choices=["auto", "cross_entropy", "mse"], default="auto",
                   help="default: cross_entropy for integer labels, mse for float targets")
    g.add_argument("--val-split", type=_fraction, default=0.0,
                   help="fraction of the training data held out for validation (default 0)")
    g.add_argument("--early-stopping", type=_positive_int, default=None, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without validation improvement (needs --val-split)")
    g.add_argument("--test-split", type=_fraction, default=0.2,
                   help="fraction held out as the test split when DATA has none (default 0.2)")
    g.add_argument("--seed", type=_seed, default=0, help="seed for initialisation, shuffling and splits")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--history", metavar="FILE.json", help="also write the per-epoch history as JSON")
    g.add_argument("--checkpoint", metavar="FILE.npz",
                   help="write a checkpoint after every epoch (atomically), to survive interruptions")
    g.add_argument("--resume", action="store_true",
                   help="continue from --checkpoint if it exists (rerun the same command after a Ctrl-C)")
    p.set_defaults(func=cmd_train)

    p = add("eval", "evaluate a model on data", examples=EVAL_EXAMPLES)
    p.add_argument("model", metavar="MODEL", help="a pygru model (.npz)")
    p.add_argument("data", metavar="DATA", help="bundled data set name, .npz or .csv (see train --help)")
    p.add_argument("--split", choices=["test", "train", "all"], default="test", help="default test")
    p.add_argument("--test-split", type=_fraction, default=0.2,
                   help="as in train: must match to evaluate the same held-out split")
    p.add_argument("--seed", type=_seed, default=0, help="as in train (for the held-out split)")
    p.add_argument("--confusion", action="store_true", help="print the confusion matrix")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_eval)

    p = add("export", "write a model as a C header for firmware", examples=EXPORT_EXAMPLES)
    p.add_argument("model", metavar="MODEL", help="a pygru model (.npz)")
    p.add_argument("-o", "--output", required=True, metavar="FILE.h", help="header to write")
    p.add_argument("--name", help="C name prefix (default: from the output file name)")
    p.add_argument("--dtype", choices=["float32", "int8", "integer"], default="float32",
                   help="float32 (default); int8 weights or integer-only need pygru.quantize")
    p.add_argument("--calibration", metavar="DATA", help="representative data for --dtype int8/integer")
    p.add_argument("--float-format", choices=["hex", "decimal"], default="hex",
                   help="float literals: exact hex (default) or shortest round-trip decimal")
    p.add_argument("--self-test-steps", type=_positive_int, default=None,
                   help="steps of the embedded self-test sequence")
    p.set_defaults(func=cmd_export)

    p = add("import", "convert an ONNX, PyTorch or Keras GRU to a pygru model", examples=IMPORT_EXAMPLES)
    p.add_argument("file", metavar="FILE", help=".onnx, .pt/.pth/.safetensors or .keras/.h5")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.npz", help="pygru model to write")
    p.add_argument("--format", choices=["onnx", "torch", "keras"], help="override the extension")
    p.add_argument("--head", metavar="PREFIX",
                   help="PyTorch: key prefix of the nn.Linear head in the state dict (e.g. fc)")
    p.add_argument("--output-activation", choices=["sigmoid", "tanh", "softmax"],
                   help="PyTorch: activation after the head (a state dict does not record it)")
    p.set_defaults(func=cmd_import)

    p = add("bench", "time inference (and training) against torch.nn.GRU", examples=BENCH_EXAMPLES)
    p.add_argument("--input", type=_positive_int, default=16, help="input size (default 16)")
    p.add_argument("--hidden", type=_positive_int, default=32, help="hidden size (default 32)")
    p.add_argument("--batch", type=_positive_int, default=32, help="batch size (default 32)")
    p.add_argument("--steps", type=_positive_int, default=50, help="sequence length (default 50)")
    p.add_argument("--repeat", type=_positive_int, default=20, help="timed runs per measurement (default 20)")
    p.add_argument("--train", action="store_true", help="also time one Adam training step")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=cmd_bench)

    p = add("info", "version, build flags, SIMD level, optional packages and toolchains",
            examples="examples:\n  pygru info\n  pygru info --json\n")
    p.add_argument("--json", action="store_true", help="print as JSON")
    p.set_defaults(func=cmd_info)

    p = add("demo", "train, export and run as firmware on bundled data, in one command",
            DEMO_HELP, DEMO_EXAMPLES)
    p.add_argument("--out", default="demo_out", metavar="DIR", help="output folder (default ./demo_out)")
    p.add_argument("--epochs", type=_positive_int, default=20, help="default 20")
    p.add_argument("--hidden", type=_positive_int, default=32, help="GRU hidden size (default 32)")
    p.add_argument("--lr", type=_positive_float, default=1e-2, help="Adam learning rate (default 0.01)")
    p.add_argument("--batch-size", type=_positive_int, default=32, help="default 32")
    p.add_argument("--seed", type=_seed, default=0, help="default 0")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-cortex-m", action="store_true", help="skip the Cortex-M4F / QEMU step")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv=None):
    """Run the command line; returns the exit code (0, 1 or 2)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:          # --help, --version, or a usage error (2)
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    debug = os.environ.get("PYGRU_DEBUG", "") not in ("", "0")
    where = f"{PROG} {args.command}"
    try:
        return args.func(args)
    except CLIError as exc:
        if debug:
            raise
        print(f"{where}: error: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print(f"{where}: interrupted", file=sys.stderr)
        return 130
    except (OSError, ValueError, TypeError, RuntimeError, ImportError) as exc:
        if debug:
            raise
        print(f"{where}: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
