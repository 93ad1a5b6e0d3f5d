"""Real public GRU architectures, built in each framework that can express
them, saved as that framework writes them, imported with pygru's importers,
checked against the framework's own output, exported with pygru.export_c and
run on Cortex-M4F under QEMU bit for bit against GRUModel.predict.

    python benchmarks/bench_architectures.py            # full table -> docs/architectures.md
    python benchmarks/bench_architectures.py --quick    # Keras + torch only, fewer steps

Columns: max |diff| of pygru's output against the framework's (ONNX: against
ONNX Runtime), whether the M4F image printed exactly model.predict's bits (every
step, return_sequences=True; the header's checksum and self-test must pass),
parameters, weight flash (bytes of the exported packed arrays), RAM in bytes
(4 x (state + scratch floats): the native model's sizes for a streaming model;
the state of one sequence + the header's FW_SCRATCH_SIZE for T steps for one
that runs through gru_sequence), .text of the gru_* code linked into
gru_infer.c at -Os (the full layered runtime, not GRU_PLAIN_MODELS), and
instructions per step at -O2, (count(2N) - count(N)) / N. "same": the figure of
the architecture's first row (same shapes). An importer's refusal is reported
in the table, not worked around.
"""
import argparse
import os
import re
import sys
import tempfile
import time

os.environ.setdefault("KERAS_BACKEND", "torch")   # before keras is imported

import numpy as np

import pygru
from pygru import firmware
from pygru.firmware import fwbuild
from pygru.firmware.cbuild import BuildError

HERE = os.path.dirname(os.path.abspath(__file__))
DOC = os.path.join(HERE, "..", "docs", "architectures.md")
TARGET = "cortex-m4f"
TOL = 1e-5
GRU_INFER = firmware.path("gru_infer.c")

# name: input size, layer list, return_sequences, note. Layer tuples:
# ("dense", units, activation), ("gru", units, candidate activation), ("bigru", units).
ARCHS = {
    "Hello Edge KWS GRU": (10, [("gru", 64, "tanh"), ("dense", 12, "softmax")], False,
                           "ARM Hello Edge: 10 MFCC, GRU(64), Dense(12, softmax)"),
    "kws_streaming GRU": (40, [("gru", 256, "tanh"), ("dense", 128, None), ("dense", 256, "relu"),
                               ("dense", 12, None)], False,
                          "google-research kws_streaming gru: 40 mel, GRU(256), Dense(128), "
                          "Dense(256, relu), Dense(12)"),
    "kws_streaming GRU, GRU(64)": (40, [("gru", 64, "tanh"), ("dense", 128, None), ("dense", 256, "relu"),
                                        ("dense", 12, None)], False,
                                   "the same with the GRU scaled to 64 units, so that its image fits the "
                                   "M4F's 512 KiB flash"),
    "bidirectional GRU classifier": (16, [("bigru", 32), ("dense", 5, "softmax")], False,
                                     "Bidirectional(GRU(32)) -> Dense(5, softmax); cannot stream"),
    "RNNoise-style": (42, [("dense", 24, "tanh"), ("gru", 24, "relu"), ("gru", 48, "relu"),
                           ("dense", 22, "sigmoid")], True,
                      "42 features, Dense(24, tanh), GRU(24, relu), GRU(48, relu), Dense(22, sigmoid) "
                      "per frame (RNNoise's skip connections left out: pygru refuses them)"),
}


# ---------------------------------------------------------------------- frameworks

def scaled(rng, shape, fan_in):
    """Random weights at the scale trained layers have: uniform within
    1/sqrt(fan-in) for a matrix, +-0.2 for a bias."""
    a = 0.2 if len(shape) == 1 else 1 / np.sqrt(fan_in)
    return rng.uniform(-a, a, shape).astype(np.float32)


def keras_model(input_size, layers_, seq, rng):
    import keras
    from keras import layers
    out = [keras.Input((None, input_size))]
    grus = [i for i, l in enumerate(layers_) if l[0] != "dense"]
    for i, l in enumerate(layers_):
        if l[0] == "dense":
            out.append(layers.Dense(l[1], activation=l[2] or "linear"))
        else:
            rs = seq or i != grus[-1]
            if l[0] == "bigru":
                out.append(layers.Bidirectional(layers.GRU(l[1], return_sequences=rs)))
            else:
                out.append(layers.GRU(l[1], activation=l[2], return_sequences=rs))
    m = keras.Sequential(out)
    m.set_weights([scaled(rng, w.shape, w.shape[0]) for w in m.get_weights()])
    return m


def torch_modules(input_size, layers_, rng):
    """The torch modules of an architecture, or the reason torch cannot say it."""
    import torch
    mods, size = [], input_size
    acts = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid}
    for l in layers_:
        if l[0] == "dense":
            mods.append(torch.nn.Linear(size, l[1]))
            if l[2] == "softmax":
                mods.append(torch.nn.Softmax(dim=-1))
            elif l[2]:
                mods.append(acts[l[2]]())
            size = l[1]
        else:
            if l[0] == "gru" and l[2] != "tanh":
                return None, f"torch.nn.GRU has no {l[2]} candidate activation"
            bi = l[0] == "bigru"
            mods.append(torch.nn.GRU(size, l[1], batch_first=True, bidirectional=bi))
            size = l[1] * (2 if bi else 1)
    with torch.no_grad():
        for p in (p for m in mods for p in m.parameters()):
            p.copy_(torch.from_numpy(scaled(rng, tuple(p.shape), p.shape[-1])))
    return mods, None


def torch_stack(mods, seq):
    """An nn.Module running `mods` in order; after the last GRU, without
    return_sequences, the head sees the last step (bidirectional: torch's h_n
    halves, [forward h at the last step, reverse h after the first], the
    convention pygru.from_torch documents)."""
    import torch

    class Stack(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.mods = torch.nn.ModuleList(mods)
            self.last = max(i for i, m in enumerate(mods) if isinstance(m, torch.nn.GRU))

        def forward(self, x):
            for i, m in enumerate(self.mods):
                if isinstance(m, torch.nn.GRU):
                    x, h = m(x)
                    if i == self.last and not seq:
                        x = torch.cat([h[-2], h[-1]], -1) if m.bidirectional else x[:, -1]
                else:
                    x = m(x)
            return x
    return Stack().eval()


# ---------------------------------------------------------------------- rows

def slug(name):
    return re.sub(r"\W+", "_", name)


def imported(load, want_fn, x):
    """(model, max |diff|) or (None, refusal message)."""
    try:
        model = load()
    except (ValueError, TypeError, NotImplementedError) as exc:
        msg = re.sub(r"'/\S+/([^/']+)'", r"'\1'", str(exc).splitlines()[0])   # the file's name, not its folder
        return None, f"refused: {type(exc).__name__}: {msg[:300]}"
    got = model.predict(x)
    want = np.asarray(want_fn(), np.float32)
    if got.shape != want.shape:
        return model, f"shape {got.shape} vs {want.shape}"
    return model, float(np.abs(got - want).max())


def keras_rows(name, spec, work, x, rng):
    input_size, layers_, seq, _ = spec
    m = keras_model(input_size, layers_, seq, rng)
    want = lambda: m.predict(x, verbose=0)
    rows = []
    for ext in (".keras", ".h5"):
        path = os.path.join(work, slug(name) + ext)
        m.save(path)
        rows.append(("Keras 3", ext) + imported(lambda: pygru.from_keras(path), want, x))
    return rows


def torch_rows(name, spec, work, x, rng, with_onnx):
    import torch
    input_size, layers_, seq, _ = spec
    mods, why = torch_modules(input_size, layers_, rng)
    rows = []
    if mods is None:
        # What torch can say instead: the same stack with tanh candidates.
        rows.append(("PyTorch", "nn modules", None, f"not expressible: {why}"))
        layers_ = [l[:2] + ("tanh",) if l[0] == "gru" else l for l in layers_]
        mods, _ = torch_modules(input_size, layers_, rng)
    tag = " (tanh GRUs)" if rows else ""
    stack = torch_stack(mods, seq)
    with torch.no_grad():
        want = stack(torch.from_numpy(x)).numpy()
    rows += [("PyTorch", "list of nn modules" + tag) +
            imported(lambda: pygru.from_torch(mods, return_sequences=seq), lambda: want, x)]
    if len(mods) == 3 and isinstance(mods[0], torch.nn.GRU) and not mods[0].bidirectional:
        path = os.path.join(work, "state.pt")
        torch.save({"gru." + k: v for k, v in mods[0].state_dict().items()}
                   | {"fc." + k: v for k, v in mods[1].state_dict().items()}, path)
        rows.append(("PyTorch", "state dict .pt") + imported(
            lambda: pygru.from_torch(path, head="fc", output_activation="softmax"), lambda: want, x))
    if with_onnx:
        import onnxruntime
        for dynamo in (False, True):
            path = os.path.join(work, f"{slug(name)}_{dynamo}.onnx")
            torch.onnx.export(stack, (torch.from_numpy(x),), path, input_names=["x"],
                              output_names=["y"], dynamo=dynamo, **({} if dynamo else {"opset_version": 17}))
            sess = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
            ort = lambda: sess.run(None, {sess.get_inputs()[0].name: x})[0]
            form = (".onnx (dynamo)" if dynamo else ".onnx (legacy)") + tag
            rows.append(("ONNX Runtime", form) + imported(lambda: pygru.from_onnx(path), ort, x))
    return rows


# ---------------------------------------------------------------------- firmware

def header_sizes(path):
    text = open(path).read()
    get = lambda n: int(re.search(rf"#define FW_{n}\s+\(?(\d+)", text).group(1))
    return get("STATE_SIZE"), get("SCRATCH_SIZE")


def export_pair(model, work, steps):
    """fw_model.h of `model` with N and 2N self-test steps: {n: folder}, and
    whether the model streams."""
    x = np.random.default_rng(5).standard_normal((2 * steps, model.input_size)).astype(np.float32)
    dirs = {}
    for n in (steps, 2 * steps):
        d = dirs[n] = os.path.join(work, f"fw{n}")
        os.makedirs(d, exist_ok=True)
        pygru.export_c(model, os.path.join(d, "fw_model.h"), name="fw", self_test_input=x[:n])
    return x[:steps], dirs, "FW_STREAMS 1" in open(os.path.join(dirs[steps], "fw_model.h")).read()


def bits_equal(model, work, lib, steps):
    """Whether gru_infer.c on the M4F printed model.predict's bits for every
    step, after the header's checksum and self-test passed."""
    x, dirs, _ = export_pair(model, work, steps)
    d = dirs[steps]
    elf = fwbuild.build_image(TARGET, [GRU_INFER], os.path.join(d, "run.elf"), include_dirs=[d],
                              opt="-O2", runtime_lib=lib)
    res = fwbuild.run_image(TARGET, elf, timeout=300)
    lines = res.stdout.strip().splitlines()
    want = model.predict(x, return_sequences=True).view(np.uint32)
    try:
        bits = np.array([[int(v, 16) for v in r.split()] for r in lines[1:]], dtype=np.uint32)
    except ValueError:
        return "NO: " + res.stdout[:80]
    ok = (res.returncode == 0 and lines[:1] == ["check 0 selftest 0"]
          and bits.shape == want.shape and np.array_equal(bits, want))
    return "yes" if ok else f"NO (status {res.returncode}, {lines[:1]})"


def figures(model, work, lib, plugin, steps):
    """(flash, RAM, text, insn/step) of `model` on the M4F."""
    import footprint
    t = fwbuild.get_target(TARGET)
    _, dirs, streams = export_pair(model, work, steps)
    native = model._native_model()
    flash = 4 * sum(np.asarray(a).size for a in native.packed_arrays())
    if streams:
        ram = f"{4 * (native.state_size + native.scratch_size)}"
    else:
        text = open(os.path.join(dirs[steps], "fw_model.h")).read()
        scratch = int(re.search(r"#define FW_SCRATCH_SIZE (\d+)", text).group(1))
        ram = f"{4 * (native.state_size + scratch)} (T={steps})"
    d = dirs[steps]
    elf = fwbuild.build_image(TARGET, [GRU_INFER], os.path.join(d, "size.elf"), include_dirs=[d],
                              opt="-Os", defines=["FW_RUN_STEPS=1"])
    code = footprint.text_sizes(t, elf, footprint.support_symbols(t))[0]
    counts = []
    for n in (steps, 2 * steps):
        # A streaming model runs n steps of the N-step header; one that cannot
        # stream runs its whole n-step test input through gru_sequence.
        hd = d if streams else dirs[n]
        elf = fwbuild.build_image(TARGET, [GRU_INFER], os.path.join(work, f"count{n}.elf"),
                                  include_dirs=[hd], opt="-O2", defines=[f"FW_RUN_STEPS={n}"],
                                  runtime_lib=lib)
        count, r = fwbuild.count_instructions(TARGET, elf, plugin, timeout=600)
        if r.returncode:
            raise RuntimeError(f"count run failed: {r.returncode}\n{r.stdout[-500:]}")
        counts.append(count)
    return flash, ram, code, (counts[1] - counts[0]) / steps


def fmt_diff(d):
    return f"{d:.2e}" if isinstance(d, float) else str(d).replace("|", "\\|")


def main(argv=None):
    ap = argparse.ArgumentParser(description="Real public GRU architectures: imported from Keras, "
                                             "PyTorch and ONNX, checked, and run on Cortex-M4F under "
                                             "QEMU (bits, flash, RAM, .text, instructions per step).")
    ap.add_argument("--quick", action="store_true", help="Keras .keras and torch only (no .h5, "
                    "no ONNX), 4 timed steps, the kws_streaming GRU at 64 units only")
    ap.add_argument("--steps", type=int, default=None, help="N for (count(2N) - count(N)) / N (default 10)")
    ap.add_argument("--out", default=DOC, help="Markdown file written (default docs/architectures.md)")
    args = ap.parse_args(argv)
    steps = args.steps or (4 if args.quick else 10)
    reason = fwbuild.skip_reason(TARGET)
    if reason:
        print(f"{TARGET} unavailable: {reason}")
        return 1
    sys.path.insert(0, os.path.join(HERE, "..", "tools"))   # footprint.text_sizes
    archs = {k: v for k, v in ARCHS.items() if not (args.quick and k == "kws_streaming GRU")}
    head = ("| architecture | framework | file form | max \\|diff\\| | M4F bits equal | params | flash B "
            "| RAM B | text B | insn/step |\n|---|---|---|---|---|---|---|---|---|---|")
    out = [head]
    print(head, flush=True)
    t0 = time.time()
    with tempfile.TemporaryDirectory() as work:
        plugin = fwbuild.build_insn_plugin(work)
        os.makedirs(os.path.join(work, "lib"))
        lib = fwbuild.build_runtime_library(TARGET, os.path.join(work, "lib"), opt="-O2")
        for k, (name, spec) in enumerate(archs.items()):
            rng = np.random.default_rng(100 + k)
            x = rng.standard_normal((1, 12, spec[0])).astype(np.float32)
            rows = keras_rows(name, spec, work, x, rng)
            if args.quick:
                rows = rows[:1]
            rows += torch_rows(name, spec, work, x, rng, not args.quick)
            sizes = None
            for fw, form, model, diff in rows:
                cells = [name, fw, form, fmt_diff(diff)]
                if model is None or not isinstance(diff, float) or diff > TOL:
                    cells += ["-"] * 6
                else:
                    d = os.path.join(work, f"a{k}_{len(out)}")
                    os.makedirs(d)
                    params = str(sum(np.asarray(w).size for w in model.get_weights().values()))
                    try:
                        cells += [bits_equal(model, d, lib, steps), params]
                        if sizes is None:
                            flash, ram, code, ips = figures(model, d, lib, plugin, steps)
                            sizes = [str(flash), ram, str(code), f"{ips:.0f}"]
                            cells += sizes
                        else:
                            cells += ["same"] * 4
                    except BuildError as exc:
                        why = re.search(r"region .FLASH. overflowed by \d+ bytes", str(exc))
                        cells = cells[:4] + ["image does not link: " + (why.group(0) if why else str(exc)[:100]),
                                             params, str(4 * sum(np.asarray(a).size for a in
                                                                 model._native_model().packed_arrays())),
                                             "-", "-", "-"]
                line = "| " + " | ".join(cells) + " |"
                out.append(line)
                print(line, flush=True)
    notes = "\n".join(f"- **{n}**: {s[3]}" for n, s in archs.items())
    cmd = "python benchmarks/bench_architectures.py" + (" " + " ".join(argv if argv is not None else sys.argv[1:])
                                                        ).rstrip()
    doc = (f"# Real GRU architectures in pygru\n\nMeasured with `{cmd}` ({time.time() - t0:.0f} s; "
           f"target {TARGET} under QEMU, {steps} and {2 * steps} steps). Every framework's model has its "
           "own random weights (uniform within 1/sqrt(fan-in), biases +-0.2); the input is 12 random steps.\n\n" + "\n".join(out)
           + "\n\n" + notes + "\n\n" + __doc__.split("\n\n", 2)[2])
    with open(args.out, "w") as f:
        f.write(doc)
    print(f"\nwritten to {os.path.relpath(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
