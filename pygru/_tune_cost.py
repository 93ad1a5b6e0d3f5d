"""Flash, RAM and time per step of a model shape on a firmware target, for
pygru.tune. Private: the public surface is pygru.tune and `pygru tune`.

Flash = the model's weight arrays exactly as an exported header holds them
(NAME_WEIGHT_BYTES, packed and padded) + the runtime's code and read-only data
for that precision (gru_* symbols and the compiler-support / libc routines
they pull in, from a linked -O2 image). RAM = the stream's state + scratch
(NAME_STATE_SIZE / NAME_SCRATCH_SIZE times their element size); stack and
the caller's input/output buffers are not counted.

Instructions per step come from one of two sources, and every result says
which:
  "qemu"   the exact count: the shape's header (seed-0 weights) is built into
           a step loop for the target, run under QEMU with the counting plugin
           for N and 2N steps, and the difference divided by N (start-up,
           self-check and printing cancel). Needs the cross toolchain + QEMU.
  "model"  a linear model in the shape's multiply-accumulates and units whose
           coefficients per (target, precision) were fitted on such counts by
           tools/calibrate_tune_cost.py and are stored in _tune_cost.json.
Time per step = instructions * cpi / MHz (cpi 1 by default: see docs/tune.md).
"""
import json
import os
import tempfile
import threading

import numpy as np

PRECISIONS = ("float", "int8", "integer")
TARGETS = ("cortex-m0", "cortex-m3", "cortex-m4f", "cortex-m7", "cortex-m55",
           "rv32imac", "rv32imafc", "rv64gc")
COEFF_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_tune_cost.json")
COUNT_STEPS = 8               # N of the N / 2N runs (the header's self-test input cycles)

# One step loop for all three precisions; the header is pygru.export_c's (name "fw").
STEP_MAIN = r"""
#define FW_IMPLEMENTATION
#include "fw_model.h"
#if TUNE_MODE == 0
#define STREAM gru_stream
#define INIT gru_stream_init
#define STEP gru_stream_step
typedef float st_t; typedef float sc_t; typedef float out_t;
#elif TUNE_MODE == 1
#define STREAM gru_q8_stream
#define INIT gru_q8_stream_init
#define STEP gru_q8_stream_step
typedef float st_t; typedef float sc_t; typedef float out_t;
#else
#define STREAM gru_qi_stream
#define INIT gru_qi_stream_init
#define STEP gru_qi_stream_step
typedef int16_t st_t; typedef int32_t sc_t; typedef int32_t out_t;
#endif
static st_t state[FW_STATE_SIZE];
static sc_t scratch[FW_SCRATCH_SIZE];
static out_t y[FW_OUTPUT_SIZE];
int main(void)
{
    STREAM s;
    if (INIT(&s, &fw_model, state, FW_STATE_SIZE, scratch, FW_SCRATCH_SIZE) != GRU_OK)
        return 2;
    for (long t = 0; t < TUNE_STEPS; t++)
        STEP(&s, fw_test_input + (t % FW_TEST_STEPS) * FW_INPUT_SIZE, y);
    return y[0] == (out_t)12345;
}
"""
LIBC_HELPERS = ("memcpy", "memset", "memmove")


def fwbuild():
    """The firmware build helpers (cross builds, QEMU runs, instruction counts)."""
    from .firmware import fwbuild as fw
    return fw


# --------------------------------------------------------------------------- shapes

def shape_key(target, precision, input_size, hidden_sizes, output_size, reset_after):
    ra = "".join("a" if r else "b" for r in reset_after)
    return (f"{target}|{precision}|I{input_size}|H{'x'.join(map(str, hidden_sizes))}"
            f"|O{output_size or 0}|{ra}")


def shape_model(precision, input_size, hidden_sizes, output_size, reset_after):
    """A model of this shape with seed-0 weights (what sizes and counts are
    taken from): a GRUModel for "float", else its QuantizedGRUModel."""
    from .model import GRUModel
    from .quantize import quantize
    m = GRUModel(input_size, list(hidden_sizes), output_size=output_size,
                 reset_after=list(reset_after), seed=0)
    if precision == "float":
        return m
    calib = np.random.default_rng(0).standard_normal((4, 8, input_size)).astype(np.float32)
    return quantize(m, calib, mode=precision)


def model_sizes(model):
    """(weight bytes, RAM bytes) of a GRUModel or QuantizedGRUModel, as its
    exported header declares them."""
    native = model._native_model()
    weights = int(sum(np.asarray(a).nbytes for a in native.packed_arrays()))
    if getattr(model, "mode", "float") == "integer":
        ram = 2 * native.state_size + 4 * native.scratch_size      # int16 state, int32 scratch
    else:
        ram = 4 * (native.state_size + native.scratch_size)
    return weights, int(ram)


def _matrix(precision, rows, cols):
    # (multiply-accumulates, row blocks): the kernels run over whole packed row
    # blocks (gru.h GRU_PACKED_SIZE, gru_quant.h GRU_QI_PACKED_SIZE), padding
    # included, with a fixed cost per block.
    if precision == "integer":
        blocks = -(-rows // 16)
        return blocks * 16 * (-(-cols // 8) * 8), blocks
    blocks = -(-rows // 8)
    return blocks * 8 * cols, blocks


def features(precision, input_size, hidden_sizes, output_size, reset_after):
    """What the instruction-count model is linear in: 1, layers, input and
    recurrent multiply-accumulates (over the packed, padded matrices), packed
    row blocks, units, reset-before units, head MACs, head outputs."""
    macs_ih = macs_hh = blocks = 0
    size_in = input_size
    for H in hidden_sizes:
        for rows, cols, kind in ((3 * H, size_in, "ih"), (2 * H, H, "hh"), (H, H, "hh")):
            m, b = _matrix(precision, rows, cols)
            blocks += b
            if kind == "ih":
                macs_ih += m
            else:
                macs_hh += m
        size_in = H
    O = output_size or 0
    rb = sum(H for H, r in zip(hidden_sizes, reset_after) if not r)
    head = _matrix(precision, O, hidden_sizes[-1])[0] if O else 0
    return [1.0, len(hidden_sizes), macs_ih, macs_hh, blocks, sum(hidden_sizes), rb, head, O]


FEATURE_NAMES = ("step", "layer", "mac_ih", "mac_hh", "row_block", "unit", "unit_reset_before", "head_mac", "head_out")


# --------------------------------------------------------------------------- exact counts

class QemuCounter:
    """Builds and counts step images; the runtime library is compiled once per
    (target, precision) and reused. Thread-safe (one build at a time)."""

    def __init__(self, workdir=None):
        self.fw = fwbuild()
        self._tmp = tempfile.TemporaryDirectory(prefix="pygru-tune-", dir=workdir)
        self.work = self._tmp.name
        self._libs, self._support, self._code = {}, {}, {}
        self._plugin = None
        self._lock = threading.Lock()

    def available(self, target):
        return self.fw.skip_reason(target) is None

    def why_not(self, target):
        return self.fw.skip_reason(target)

    def _lib(self, target):
        if target not in self._libs:
            d = os.path.join(self.work, target)
            os.makedirs(d, exist_ok=True)
            self._libs[target] = self.fw.build_runtime_library(target, d, opt="-O2")
        return self._libs[target]

    def _support_symbols(self, t):
        import subprocess
        if t.name not in self._support:
            path = subprocess.run([t.cc] + list(t.cflags) + ["-print-libgcc-file-name"],
                                  capture_output=True, text=True, check=True).stdout.strip()
            out = subprocess.run([t.tool("nm"), "--defined-only", path],
                                 capture_output=True, text=True).stdout
            names = {ln.split()[-1] for ln in out.splitlines() if len(ln.split()) == 3}
            self._support[t.name] = names | set(LIBC_HELPERS)
        return self._support[t.name]

    def runtime_bytes(self, target, elf):
        """Code + read-only data of the runtime (gru_* symbols) and of the
        support routines it pulls in; aliases at one address count once."""
        import subprocess
        t = self.fw.get_target(target)
        support = self._support_symbols(t)
        out = subprocess.run([t.tool("nm"), "-S", "-t", "d", elf], capture_output=True, text=True,
                             check=True).stdout
        seen = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) != 4 or parts[2] not in "tTwWrR":
                continue
            name = parts[3]
            if name.startswith("gru_") or (parts[2] in "tTwW" and name in support):
                seen[parts[0]] = int(parts[1])
        return sum(seen.values())

    def count(self, target, precision, model):
        """(instructions per step, runtime flash bytes) of `model` (a GRUModel
        or QuantizedGRUModel) on `target`, exactly."""
        from .export import export_c
        with self._lock:
            if self._plugin is None:
                self._plugin = self.fw.build_insn_plugin(self.work)
            lib = self._lib(target)
            with tempfile.TemporaryDirectory(dir=self.work) as d:
                export_c(model, os.path.join(d, "fw_model.h"), name="fw")
                main = os.path.join(d, "step_main.c")
                with open(main, "w") as f:
                    f.write(STEP_MAIN)
                counts = []
                for n in (COUNT_STEPS, 2 * COUNT_STEPS):
                    elf = self.fw.build_image(target, [main], os.path.join(d, f"s{n}.elf"), include_dirs=[d],
                                              defines=[f"TUNE_STEPS={n}",
                                                       f"TUNE_MODE={PRECISIONS.index(precision)}"],
                                              runtime_lib=lib)
                    c, res = self.fw.count_instructions(target, elf, self._plugin)
                    if res.returncode != 0:
                        raise RuntimeError(f"{target}: the step image exited with status {res.returncode}"
                                           f"\n{res.stdout}{res.stderr}")
                    counts.append(c)
                # The runtime's symbols are the same for every shape of a
                # precision: read them from the first image only.
                if (target, precision) not in self._code:
                    self._code[target, precision] = self.runtime_bytes(target, elf)
        return (counts[1] - counts[0]) / COUNT_STEPS, self._code[target, precision]

    def close(self):
        self._tmp.cleanup()


# --------------------------------------------------------------------------- the calibrated model

_COEFFS = None


def coefficients():
    """{target: {precision: {"coef": [...], "runtime_bytes": int, ...}}} from
    _tune_cost.json (tools/calibrate_tune_cost.py writes it)."""
    global _COEFFS
    if _COEFFS is None:
        with open(COEFF_FILE, encoding="utf-8") as f:
            _COEFFS = json.load(f)
    return _COEFFS


def modelled(target, precision, input_size, hidden_sizes, output_size, reset_after):
    """(instructions per step, runtime flash bytes) from the calibrated model."""
    entry = coefficients()["targets"][target][precision]
    x = features(precision, input_size, hidden_sizes, output_size, reset_after)
    return max(0.0, float(np.dot(entry["coef"], x))), int(entry["runtime_bytes"])


# --------------------------------------------------------------------------- the estimator

class CostEstimator:
    """Footprint of shapes on one target. method "auto" (exact QEMU counts when
    the toolchain and QEMU are installed, else the calibrated model), "qemu"
    or "model". Results are cached in memory and, with cache_path, in a JSON
    file (so a resumed study rebuilds nothing)."""

    def __init__(self, target, mhz, cpi=1.0, method="auto", cache_path=None):
        if target not in TARGETS:
            raise ValueError(f"target: expected one of {list(TARGETS)}, got {target!r}")
        self.target, self.mhz, self.cpi = target, float(mhz), float(cpi)
        self._counter = None
        if method == "auto":
            counter = QemuCounter()
            method = "qemu" if counter.available(target) else "model"
            if method == "qemu":
                self._counter = counter
            else:
                self.why_model = counter.why_not(target)
                counter.close()
        elif method == "qemu":
            self._counter = QemuCounter()
            if not self._counter.available(target):
                reason = self._counter.why_not(target)
                self._counter.close()
                raise RuntimeError(f"latency='qemu': cannot count on {target} here: {reason}")
        elif method != "model":
            raise ValueError(f"latency: expected 'auto', 'qemu' or 'model', got {method!r}")
        self.method = method
        self.cache_path = cache_path
        self._cache = {}
        if cache_path and os.path.isfile(cache_path):
            try:
                with open(cache_path, encoding="utf-8") as f:
                    self._cache = json.load(f)
            except (OSError, ValueError):
                self._cache = {}       # a damaged cache only costs recounting

    def _save(self):
        if not self.cache_path:
            return
        from ._io import atomic_write
        text = json.dumps(self._cache, indent=1, sort_keys=True)
        atomic_write(self.cache_path, lambda f: f.write(text), binary=False)

    def _key(self, precision, input_size, hidden_sizes, output_size, reset_after):
        return shape_key(self.target, precision, input_size, hidden_sizes, output_size, reset_after)

    def _footprint(self, model, insn, code, source):
        weights, ram = model_sizes(model)
        return {"flash": weights + code, "ram": ram, "weight_bytes": weights, "runtime_bytes": code,
                "insn_per_step": insn, "latency_ms": insn * self.cpi / (self.mhz * 1e3),
                "latency_source": source}

    def cached(self, precision, input_size, hidden_sizes, output_size, reset_after):
        """The footprint if this shape's instructions are known, else None."""
        hit = self._cache.get(self._key(precision, input_size, hidden_sizes, output_size, reset_after))
        if self.method == "model" or (hit and hit["source"] == self.method):
            return self.footprint(precision, input_size, hidden_sizes, output_size, reset_after)
        return None

    def remember(self, precision, input_size, hidden_sizes, output_size, reset_after, fp):
        """Store a footprint computed elsewhere (a Dask worker's count)."""
        key = self._key(precision, input_size, hidden_sizes, output_size, reset_after)
        if fp["latency_source"] == self.method and key not in self._cache:
            self._cache[key] = {"insn": fp["insn_per_step"], "runtime_bytes": fp["runtime_bytes"],
                                "source": fp["latency_source"]}
            self._save()

    def footprint(self, precision, input_size, hidden_sizes, output_size, reset_after):
        """{"flash", "ram", "weight_bytes", "runtime_bytes", "insn_per_step",
        "latency_ms", "latency_source"} of a shape."""
        hidden_sizes, reset_after = tuple(hidden_sizes), tuple(bool(r) for r in reset_after)
        model = shape_model(precision, input_size, hidden_sizes, output_size, reset_after)
        key = self._key(precision, input_size, hidden_sizes, output_size, reset_after)
        hit = self._cache.get(key)
        if hit and hit["source"] == self.method:
            return self._footprint(model, hit["insn"], hit["runtime_bytes"], self.method)
        if self.method == "qemu":
            insn, code = self._counter.count(self.target, precision, model)
            self._cache[key] = {"insn": insn, "runtime_bytes": code, "source": "qemu"}
            self._save()
        else:
            insn, code = modelled(self.target, precision, input_size, hidden_sizes, output_size, reset_after)
        return self._footprint(model, insn, code, self.method)

    def measure(self, precision, model):
        """The footprint of a trained model itself (its own header counted
        when the method is "qemu"; the shape's otherwise)."""
        if self.method != "qemu":
            return self.footprint(precision, model.input_size, model.hidden_sizes, model.output_size,
                                  model.reset_after)
        insn, code = self._counter.count(self.target, precision, model)
        return self._footprint(model, insn, code, "qemu")

    def close(self):
        if self._counter is not None:
            self._counter.close()
            self._counter = None
