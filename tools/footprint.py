"""Firmware footprint of the gru_c runtime, per target.

    python tools/footprint.py                      # (I=16, H=64), all targets
    python tools/footprint.py --input 13 --hidden 32 32 --output 5 --targets cortex-m4f

For each target (gru_c/targets.mk, built by pygru.firmware.fwbuild) it prints:
  text     .text bytes of the runtime linked for inference (gru_stream_init /
           step and what they pull from gru_c, literal pools included) at -Os
  +supp    support code that comes with it: libgcc (soft-float on M0/M3/RV32IMAC,
           soft-double) and libc's memcpy/memset/memmove
  train    .text of the runtime linked for inference and training (forward,
           MSE loss, BPTT, clipping, Adam), and its +supp
  ram      state + scratch bytes for the model (gru_state_size + gru_scratch_size)
  weights  flash bytes of the model's packed weights and biases
  insn/step, insn/MAC
           guest instructions per GRU step (the whole model) counted by the
           QEMU TCG plugin pygru/firmware/insn_count.c, as the difference
           between runs of N and 2N steps (so start-up and printing cancel),
           and divided by the multiply-accumulates of one step
           (3H(I+H) per layer, plus O*H for a head). At --opt (default -O2).
Instructions are not cycles: QEMU does not model pipelines or memory waits.
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

import pygru
from pygru import GRUModel, firmware, training
from pygru.firmware import fwbuild

SIZE_MAIN = r"""
#define FW_IMPLEMENTATION
#include "fw_model.h"
static float state[FW_STATE_SIZE], scratch[FW_SCRATCH_SIZE], y[FW_OUTPUT_SIZE];
int main(void)
{
    gru_stream s;
    if (gru_stream_init(&s, &fw_model, state, FW_STATE_SIZE, scratch, FW_SCRATCH_SIZE) != GRU_OK)
        return 2;
    gru_stream_step(&s, fw_test_input, y);
    return y[0] > 0.0f;
}
"""

TRAIN_MAIN = r"""
#include "gru_train.h"
#define FW_IMPLEMENTATION
#include "fw_model.h"
#define T 4
#define WS GRU_TRAIN_WORKSPACE_SIZE(1, T, SUM_HIDDEN, FW_MAX_HIDDEN_SIZE, FW_INPUT_SIZE, FW_OUTPUT_SIZE, 0)
static float params[PARAM_SIZE], grad[PARAM_SIZE], opt_state[GRU_OPTIMIZER_STATE_SIZE(PARAM_SIZE)];
static float ws[WS], y[FW_OUTPUT_SIZE], state[FW_STATE_SIZE], scratch[FW_SCRATCH_SIZE];
int main(void)
{
    gru_model m = fw_model;
    gru_train tr;
    gru_optimizer opt;
    gru_stream s;
    float loss = 0.0f, norm = 0.0f;
    if (gru_train_wire(&m, params, PARAM_SIZE) != GRU_OK ||
        gru_train_init(&tr, &m, 1, T, 0, ws, WS) != GRU_OK ||
        gru_optimizer_init(&opt, GRU_OPT_ADAM, 1e-3f) != GRU_OK ||
        gru_train_forward(&tr, fw_test_input, 1, T, NULL, NULL, y, NULL) != GRU_OK ||
        gru_train_loss(&tr, GRU_LOSS_MSE, fw_test_output, NULL, &loss) != GRU_OK ||
        gru_train_backward(&tr, grad, PARAM_SIZE, NULL, NULL) != GRU_OK ||
        gru_clip_grad_norm(grad, PARAM_SIZE, 1.0f, &norm) != GRU_OK ||
        gru_optimizer_step(&opt, params, grad, opt_state, PARAM_SIZE) != GRU_OK ||
        gru_stream_init(&s, &m, state, FW_STATE_SIZE, scratch, FW_SCRATCH_SIZE) != GRU_OK)
        return 2;
    gru_stream_step(&s, fw_test_input, y);
    return y[0] > 0.0f;
}
"""

LIBC_HELPERS = ("memcpy", "memset", "memmove")


def support_symbols(target):
    """Names of the compiler-support routines (libgcc: soft-float, soft-double,
    64-bit division) and the libc memory helpers the runtime may pull in."""
    path = subprocess.run([target.cc] + list(target.cflags) + ["-print-libgcc-file-name"],
                          capture_output=True, text=True, check=True).stdout.strip()
    out = subprocess.run([target.tool("nm"), "--defined-only", path],
                         capture_output=True, text=True).stdout
    names = {line.split()[-1] for line in out.splitlines() if len(line.split()) == 3}
    return names | set(LIBC_HELPERS)


def macs_per_step(input_size, hidden_sizes, output_size):
    macs, size_in = 0, input_size
    for H in hidden_sizes:
        macs += 3 * H * (size_in + H)
        size_in = H
    if output_size:
        macs += output_size * hidden_sizes[-1]
    return macs


def text_sizes(target, elf, support):
    """(bytes of gru_* functions, bytes of support routines) in a linked ELF;
    symbols sharing an address (libgcc's __aeabi_* aliases) count once."""
    out = subprocess.run([target.tool("nm"), "-S", "--size-sort", "-t", "d", elf],
                         capture_output=True, text=True, check=True).stdout
    runtime, helpers = {}, {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 4 or parts[2] not in "tTwW":
            continue
        addr, size, name = parts[0], int(parts[1]), parts[3]
        if name.startswith("gru_"):
            runtime[addr] = size
        elif name in support:
            helpers[addr] = size
    return sum(runtime.values()), sum(helpers.values())


def measure(target_name, work, plugin, opt, defines, steps=10):
    t = fwbuild.get_target(target_name)
    support = support_symbols(t)
    sizes = []
    # "plain": the same inference image from a GRU_PLAIN_MODELS runtime (gru.h).
    for kind, extra in (("size", []), ("train", []), ("plain", ["GRU_PLAIN_MODELS=1"])):
        main = "size" if kind == "plain" else kind
        elf = fwbuild.build_image(target_name, [os.path.join(work, f"{main}_main.c")],
                                  os.path.join(work, f"{target_name}-{kind}.elf"),
                                  include_dirs=[work], opt="-Os", defines=defines + extra)
        sizes.append(text_sizes(t, elf, support))
    counts = []
    for n in (steps, 2 * steps):
        elf = fwbuild.build_image(target_name, [firmware.path("gru_infer.c")],
                                  os.path.join(work, f"{target_name}-{n}.elf"), include_dirs=[work],
                                  opt=opt, defines=[f"FW_RUN_STEPS={n}"])
        count, res = fwbuild.count_instructions(target_name, elf, plugin)
        if res.returncode != 0:
            raise RuntimeError(f"{target_name}: exit status {res.returncode}\n{res.stdout}{res.stderr}")
        counts.append(count)
    return sizes, (counts[1] - counts[0]) / steps


def main(argv=None):
    ap = argparse.ArgumentParser(description="Per-target footprint of the gru_c runtime "
                                             "(code size, RAM, weight flash, instructions per step).")
    ap.add_argument("--input", type=int, default=16)
    ap.add_argument("--hidden", type=int, nargs="+", default=[64])
    ap.add_argument("--output", type=int, default=0, help="dense head size (0: none)")
    ap.add_argument("--targets", nargs="+", default=list(fwbuild.TARGETS),
                    choices=list(fwbuild.TARGETS))
    ap.add_argument("--opt", default="-O2", help="optimisation for the instruction counts")
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args(argv)

    model = GRUModel(args.input, args.hidden, output_size=args.output or None, seed=0)
    native = model._native_model()
    ram = 4 * (native.state_size + native.scratch_size)
    weights = 4 * sum(np.asarray(a).size for a in native.packed_arrays())
    macs = macs_per_step(args.input, model.hidden_sizes, args.output)
    print(f"model: input {args.input}, hidden {list(model.hidden_sizes)}, head {args.output or 'none'}; "
          f"{macs} MAC/step; RAM (state + scratch) {ram} B; weights {weights} B flash; "
          f"text at -Os, instructions at {args.opt}")
    print(f"{'target':11s} {'text':>6s} {'+supp':>6s} {'plain':>6s} {'train':>6s} {'+supp':>6s} {'ram':>6s} "
          f"{'weights':>8s} {'insn/step':>10s} {'insn/MAC':>8s}")
    status = 0
    with tempfile.TemporaryDirectory() as work:
        x = np.random.default_rng(1).standard_normal((4, args.input)).astype(np.float32)
        pygru.export_c(model, os.path.join(work, "fw_model.h"), name="fw", self_test_input=x)
        for fname, text in (("size_main.c", SIZE_MAIN), ("train_main.c", TRAIN_MAIN)):
            with open(os.path.join(work, fname), "w") as f:
                f.write(text)
        defines = [f"PARAM_SIZE={training.flatten_weights(model).size}",
                   f"SUM_HIDDEN={sum(model.hidden_sizes)}"]
        plugin = fwbuild.build_insn_plugin(work)
        for name in args.targets:
            reason = fwbuild.skip_reason(name)
            if reason:
                print(f"{name:11s} skipped: {reason}")
                status = 1
                continue
            sizes, per_step = measure(name, work, plugin, args.opt, defines, args.steps)
            (text, supp), (train, train_supp), (plain, _) = sizes
            print(f"{name:11s} {text:6d} {supp:6d} {plain:6d} {train:6d} {train_supp:6d} {ram:6d} {weights:8d} "
                  f"{per_step:10.0f} {per_step / macs:8.2f}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
