"""`pygru demo`: the whole promise in one command.

Trains a GRU classifier on the bundled real data set (spoken digits, MFCCs),
prints its test accuracy, exports the model as a C header, compiles a
firmware-style C program (main.c beside this file: static buffers only) against
it with the system C compiler, runs it on the test sequences and checks that
its predictions, and every output bit, equal Python's. Where the Cortex-M
toolchain and QEMU are installed it repeats that on a Cortex-M4F under QEMU
(startup code and linker script ship in pygru/firmware).

Writes into the output folder: model.npz, kws.h (the exported model),
demo_data.h + main.c (the firmware program and its test data), training.png
(with matplotlib), history.json and summary.json. Every file is written
atomically; summary.json is written last, so its presence means the demo ran
to the end.
"""
import os
import platform
import shutil
import subprocess
import tempfile
import time

import numpy as np

from .._cgen import float_literal
from .._io import atomic_write, write_json
from ..firmware import cbuild, fwbuild

HERE = os.path.dirname(os.path.abspath(__file__))
MAIN_C = os.path.join(HERE, "main.c")
NAME = "kws"                    # main.c includes kws.h
CORTEX_M_TARGET = "cortex-m4f"
CORTEX_M_SEQUENCES = 200        # test sequences run under QEMU (flash and time budget)
# The project's warnings, not as errors: the demo should not break on another
# compiler version (the tests keep gru_c -Werror clean).
HOST_CFLAGS = ["-std=c99", "-O2", "-ffp-contract=off", "-fno-math-errno",
               "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow"]


class DemoError(RuntimeError):
    """A demo step failed; the message says which and why."""


# --------------------------------------------------------------------------- C side

host_compiler = cbuild.host_compiler


def _c_initializer(values, depth=0):
    """Nested brace initializer for a float32 array of any rank >= 1."""
    values = np.asarray(values, dtype=np.float32)
    if values.ndim == 1:
        return "{" + ", ".join(float_literal(v) for v in values) + "}"
    pad = "    " * (depth + 1)
    return ("{\n" + ",\n".join(pad + _c_initializer(v, depth + 1) for v in values)
            + "\n" + "    " * depth + "}")


def data_header_text(X, expected):
    """demo_data.h: the test sequences and Python's outputs for them, as exact
    hex-float literals (static const: flash on a microcontroller)."""
    n, steps, features = X.shape
    return f"""/* demo_data.h - written by `pygru demo`: {n} test sequences and the outputs
 * pygru computed for them (hex float literals, exact). Include after kws.h. */
#ifndef DEMO_DATA_H
#define DEMO_DATA_H

#define DEMO_COUNT {n}
#define DEMO_STEPS {steps}

#if KWS_INPUT_SIZE != {features} || KWS_OUTPUT_SIZE != {expected.shape[1]}
#error "demo_data.h does not match kws.h"
#endif

static const float demo_x[DEMO_COUNT][DEMO_STEPS][KWS_INPUT_SIZE] = {_c_initializer(X)};

static const float demo_expected[DEMO_COUNT][KWS_OUTPUT_SIZE] = {_c_initializer(expected)};

#endif /* DEMO_DATA_H */
"""


def parse_program_output(text):
    """(selftest status, predictions list, mismatches, done) from main.c's output."""
    selftest = mismatches = done = None
    preds = {}
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if parts[0] == "selftest" and len(parts) == 2:
            selftest = int(parts[1])
        elif parts[0] == "pred" and len(parts) >= 2:
            start = int(parts[1].rstrip(":"))
            for i, p in enumerate(parts[2:]):
                preds[start + i] = int(p)
        elif parts[0] == "mismatches" and len(parts) == 2:
            mismatches = int(parts[1])
        elif parts[0] == "done" and len(parts) == 2:
            done = int(parts[1])
    ordered = [preds[i] for i in range(len(preds))] if sorted(preds) == list(range(len(preds))) else None
    return selftest, ordered, mismatches, done


def _first_lines(text, count=25):
    lines = text.splitlines()
    more = f"\n... ({len(lines) - count} more lines)" if len(lines) > count else ""
    return "\n".join(lines[:count]) + more


def build_host_program(workdir, output):
    """Compile main.c + kws.h + demo_data.h in `workdir` with gru_c's sources."""
    cc = host_compiler()
    if cc is None:
        raise DemoError("no C compiler found (cc, gcc or clang); install one, e.g. apt-get install gcc")
    try:
        cbuild.build([os.path.join(workdir, "main.c")], output, HOST_CFLAGS + ["-I" + workdir], cc=cc,
                     warnings=False, with_runtime=True)
    except cbuild.BuildError as exc:
        raise DemoError(f"compiling the firmware-style program failed:\n{_first_lines(str(exc))}") from None
    return " ".join(cc + HOST_CFLAGS)


def cortex_m_skip_reason():
    """None if the Cortex-M4F step can run here, else why not."""
    return fwbuild.skip_reason(CORTEX_M_TARGET)


def check_against_python(stdout, returncode, python_pred, where):
    selftest, preds, mismatches, done = parse_program_output(stdout)
    result = {"selftest": selftest, "mismatching_values": mismatches, "sequences": done,
              "returncode": returncode}
    if selftest != 0:
        raise DemoError(f"{where}: the header's self-test failed (selftest {selftest}, exit {returncode}):\n{stdout}")
    if preds is None or done != len(python_pred) or len(preds) != len(python_pred):
        raise DemoError(f"{where}: unexpected program output (exit {returncode}):\n{stdout[-2000:]}")
    same = int(np.sum(np.asarray(preds) == python_pred))
    result["predictions_equal"] = same
    result["all_equal"] = bool(same == len(python_pred) and mismatches == 0)
    if not result["all_equal"]:
        raise DemoError(f"{where}: {len(python_pred) - same} of {len(python_pred)} predictions and "
                        f"{mismatches} output values differ from Python's")
    return result


# --------------------------------------------------------------------------- Python side

def history_series(history):
    """Per-epoch series {name: [floats]} from what fit() returned: an object
    with a `.history` dict, a dict of lists, or a list of per-epoch dicts."""
    if history is None:
        return {}
    if hasattr(history, "history") and isinstance(history.history, dict):
        history = history.history
    if isinstance(history, dict):
        items = history.items()
    elif isinstance(history, (list, tuple)) and all(isinstance(e, dict) for e in history):
        keys = [k for k in history[0]] if history else []
        items = ((k, [e.get(k) for e in history]) for k in keys)
    else:
        return {}
    series = {}
    for key, values in items:
        try:
            arr = [None if v is None else float(v) for v in values]
        except (TypeError, ValueError):
            continue
        series[str(key)] = arr
    return series


def plot_history(series, path, title):
    """Training curve PNG (matplotlib, Agg canvas, no global backend change).
    Returns the path, or None when matplotlib is not installed."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    losses = {k: v for k, v in series.items() if "loss" in k.lower()}
    accs = {k: v for k, v in series.items() if "acc" in k.lower()}
    panels = [(n, d) for n, d in (("loss", losses), ("accuracy", accs)) if d]
    if not panels:
        return None
    fig = Figure(figsize=(5 * len(panels), 3.6), dpi=100)
    FigureCanvasAgg(fig)
    for i, (label, data) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        for key, values in sorted(data.items()):
            xs = [e + 1 for e, v in enumerate(values) if v is not None]
            ax.plot(xs, [v for v in values if v is not None], marker="o", markersize=3, label=key)
        ax.set_xlabel("epoch")
        ax.set_ylabel(label)
        ax.grid(True, alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    atomic_write(path, lambda f: fig.savefig(f, format="png"))
    return path


def _train(ds, hidden, epochs, lr, batch_size, seed, progress, log):
    """Step 2: a GRU classifier trained on the data set's training split (a
    tenth held out for validation). Returns (model, history, seconds, test outputs)."""
    from .. import GRUModel
    n_val = len(ds.X_train) // 10
    model = GRUModel(input_size=ds.input_size, hidden_sizes=[hidden], output_size=ds.num_classes, seed=seed)
    log(f"[2/5] training {model} for {epochs} epochs (Adam, lr {lr}, batch {batch_size})")
    t0 = time.perf_counter()
    history = model.fit(ds.X_train[n_val:], ds.y_train[n_val:], loss="cross_entropy", epochs=epochs,
                        batch_size=batch_size, optimizer="adam", lr=lr,
                        validation_data=(ds.X_train[:n_val], ds.y_train[:n_val]), shuffle=True,
                        seed=seed, progress=progress)
    return model, history, time.perf_counter() - t0, model.predict(ds.X_test)


def _write_files(out_dir, model, series, ds, hidden, accuracy, outputs, log):
    """Steps 2-3: model.npz, history.json, training.png, kws.h, demo_data.h, main.c."""
    import pygru
    files = {"model": os.path.join(out_dir, "model.npz"), "history": os.path.join(out_dir, "history.json")}
    model.save(files["model"])
    write_json(files["history"], series)
    png = plot_history(series, os.path.join(out_dir, "training.png"),
                       f"GRU({hidden}) on {ds.name}: test accuracy {accuracy:.1%}")
    if png:
        files["plot"] = png
    else:
        log("      (no training.png: matplotlib is not installed; pip install matplotlib)")
    log(f"[3/5] exporting the C header {NAME}.h")
    files["header"] = os.path.join(out_dir, f"{NAME}.h")
    pygru.export_c(model, files["header"], name=NAME, source=f"pygru demo: GRU({hidden}) trained on {ds.name}")
    files["data_header"] = os.path.join(out_dir, "demo_data.h")
    data_text = data_header_text(ds.X_test, outputs)
    atomic_write(files["data_header"], lambda f: f.write(data_text), binary=False)
    files["program"] = os.path.join(out_dir, "main.c")
    with open(MAIN_C, "rb") as f:
        program = f.read()
    atomic_write(files["program"], lambda f: f.write(program))
    return files


def _run_host(out_dir, python_pred, files, log):
    """Step 4: the firmware-style program built for and run on this machine."""
    log("[4/5] compiling the firmware-style program (main.c + kws.h + gru_c) with the system C "
        "compiler and running it on the test sequences")
    host = {}
    exe = os.path.join(out_dir, "kws_host" + (".exe" if os.name == "nt" else ""))
    t0 = time.perf_counter()
    host["compiler"] = build_host_program(out_dir, exe)
    proc = subprocess.run([exe], capture_output=True, text=True, timeout=120)
    host.update(check_against_python(proc.stdout, proc.returncode, python_pred, "host program"))
    files["host_program"] = exe
    host["seconds"] = round(time.perf_counter() - t0, 3)
    log(f"      host C: {host['predictions_equal']}/{len(python_pred)} predictions equal Python's, "
        f"{host['mismatching_values']} output values differ (bit for bit), self-test passed")
    return host


def _run_cortex_m(header, X_test, outputs, python_pred, enabled, log):
    """Step 5: the same program on a Cortex-M4F under QEMU, where possible."""
    cm = {"target": CORTEX_M_TARGET}
    reason = cortex_m_skip_reason() if enabled else "disabled (--no-cortex-m)"
    if reason is not None:
        cm.update(ran=False, skipped=reason)
        log(f"[5/5] Cortex-M4F step skipped: {reason}")
        return cm
    n = min(CORTEX_M_SEQUENCES, len(X_test))
    log(f"[5/5] cross-compiling for Cortex-M4F and running under QEMU (first {n} test sequences)")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copyfile(header, os.path.join(tmp, f"{NAME}.h"))
        with open(os.path.join(tmp, "demo_data.h"), "w", encoding="utf-8") as f:
            f.write(data_header_text(X_test[:n], outputs[:n]))
        try:
            # Warnings stay visible but not fatal here: the demo should not break on
            # another compiler version (tests/test_targets.py keeps gru_c -Werror clean).
            elf = fwbuild.build_image(CORTEX_M_TARGET, [MAIN_C], os.path.join(tmp, "kws.elf"),
                                      include_dirs=[tmp], opt="-O2", extra_cflags=["-Wno-error"])
        except RuntimeError as exc:
            raise DemoError(f"Cortex-M4F build failed: {_first_lines(str(exc))}") from None
        res = fwbuild.run_image(CORTEX_M_TARGET, elf, timeout=120)
    if res.timed_out:
        raise DemoError("Cortex-M4F run under QEMU timed out")
    cm.update(check_against_python(res.stdout, res.returncode, python_pred[:n], "Cortex-M4F under QEMU"))
    cm["ran"] = True
    cm["seconds"] = round(time.perf_counter() - t0, 3)
    log(f"      Cortex-M4F: {cm['predictions_equal']}/{n} predictions equal Python's, "
        f"{cm['mismatching_values']} output values differ (bit for bit)")
    return cm


def run(out_dir="demo_out", epochs=20, hidden=32, lr=1e-2, batch_size=32, seed=0, progress=True,
        cortex_m=True, log=print):
    """Run the demo, writing into `out_dir` (created if missing). Returns the
    summary dict (also written as summary.json). Raises DemoError on failure."""
    from .. import __version__, datasets

    t_start = time.perf_counter()
    os.makedirs(out_dir, exist_ok=True)
    ds = datasets.load_default()
    n_val = len(ds.X_train) // 10
    log(f"[1/5] data: {ds.name} ({ds.description})")
    log(f"      train {ds.X_train[n_val:].shape}, validation {ds.X_train[:n_val].shape}, "
        f"test {ds.X_test.shape}; license {ds.license}")
    model, history, train_seconds, outputs = _train(ds, hidden, epochs, lr, batch_size, seed, progress, log)
    python_pred = outputs.argmax(axis=1)
    accuracy = float(np.mean(python_pred == ds.y_test))
    log(f"      trained in {train_seconds:.1f} s; test accuracy {accuracy:.1%} "
        f"({int(np.sum(python_pred == ds.y_test))}/{len(ds.y_test)}, chance {1 / ds.num_classes:.0%})")
    series = history_series(history)
    files = _write_files(out_dir, model, series, ds, hidden, accuracy, outputs, log)
    host = _run_host(out_dir, python_pred, files, log)
    cm = _run_cortex_m(files["header"], ds.X_test, outputs, python_pred, cortex_m, log)
    summary = {
        "pygru_version": __version__,
        "python": platform.python_version(),
        "dataset": {"name": ds.name, "source": ds.source, "license": ds.license,
                    "train": len(ds.X_train) - n_val, "validation": n_val, "test": len(ds.X_test),
                    "steps": ds.steps, "features": ds.input_size, "classes": ds.classes},
        "model": model.config(),
        "training": {"epochs": epochs, "optimizer": "adam", "lr": lr, "batch_size": batch_size,
                     "seed": seed, "seconds": round(train_seconds, 3),
                     "stopped": getattr(history, "stopped", None),
                     "final": {k: v[-1] for k, v in series.items() if v}},
        "test_accuracy": accuracy,
        "host_c": host,
        "cortex_m4f": cm,
        "files": {k: os.path.basename(v) for k, v in files.items()},
        "seconds": round(time.perf_counter() - t_start, 3),
    }
    files["summary"] = os.path.join(out_dir, "summary.json")
    summary["files"]["summary"] = "summary.json"
    write_json(files["summary"], summary)
    log(f"done in {summary['seconds']:.1f} s; wrote {', '.join(sorted(summary['files'].values()))} "
        f"to {out_dir}")
    return summary


__all__ = ["run", "DemoError", "host_compiler", "parse_program_output", "history_series",
           "plot_history", "data_header_text", "cortex_m_skip_reason"]
