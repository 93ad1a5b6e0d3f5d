"""Firmware footprint of the gru_c runtime, per target.

    python tools/footprint.py                      # (I=16, H=64), all targets
    python tools/footprint.py --input 13 --hidden 32 32 --output 5 --targets cortex-m4f

For each target (tools/firmware/fwbuild.py) it prints:
  text     .text bytes of the runtime linked for inference (gru_stream_init /
           step and what they pull from gru_c, literal pools included) at -Os;
           the C library's memcpy/memset are listed apart as "libc"
  train    the same with training (n/a until gru_c has a training API)
  ram      state + scratch bytes for the model (gru_state_size + gru_scratch_size)
  weights  flash bytes of the model's packed weights and biases
  insn/step, insn/MAC
           guest instructions per GRU step (the whole model) counted by the
           QEMU TCG plugin tools/firmware/insn_count.c, as the difference
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "firmware"))
import fwbuild  # noqa: E402

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

LIBC_HELPERS = ("memcpy", "memset", "memmove")


def macs_per_step(input_size, hidden_sizes, output_size):
    macs, size_in = 0, input_size
    for H in hidden_sizes:
        macs += 3 * H * (size_in + H)
        size_in = H
    if output_size:
        macs += output_size * hidden_sizes[-1]
    return macs


def text_sizes(target, elf):
    """(bytes of gru_* functions, bytes of libc helpers) in a linked ELF."""
    out = subprocess.run([target.tool("nm"), "-S", "--size-sort", "-t", "d", elf],
                         capture_output=True, text=True, check=True).stdout
    runtime = libc = 0
    for line in out.splitlines():
        parts = line.split()
        if len(parts) != 4 or parts[2] not in "tT":
            continue
        size, name = int(parts[1]), parts[3]
        if name.startswith("gru_"):
            runtime += size
        elif name in LIBC_HELPERS:
            libc += size
    return runtime, libc


def measure(target_name, work, plugin, opt, steps=10):
    t = fwbuild.get_target(target_name)
    size_src = os.path.join(work, "size_main.c")
    elf = fwbuild.build_image(target_name, [size_src], os.path.join(work, f"{target_name}-size.elf"),
                              include_dirs=[work], opt="-Os")
    text, libc = text_sizes(t, elf)
    counts = []
    for n in (steps, 2 * steps):
        elf = fwbuild.build_image(target_name, [os.path.join(HERE, "firmware", "gru_infer.c")],
                                  os.path.join(work, f"{target_name}-{n}.elf"), include_dirs=[work],
                                  opt=opt, defines=[f"FW_RUN_STEPS={n}"])
        count, res = fwbuild.count_instructions(target_name, elf, plugin)
        if res.returncode != 0:
            raise RuntimeError(f"{target_name}: exit status {res.returncode}\n{res.stdout}{res.stderr}")
        counts.append(count)
    return text, libc, (counts[1] - counts[0]) / steps


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

    sys.path.insert(0, os.path.dirname(HERE))
    import pygru
    from pygru import GRUModel
    model = GRUModel(args.input, args.hidden, output_size=args.output or None, seed=0)
    native = model._native_model()
    ram = 4 * (native.state_size + native.scratch_size)
    weights = 4 * sum(np.asarray(a).size for a in native.packed_arrays())
    macs = macs_per_step(args.input, model.hidden_sizes, args.output)
    print(f"model: input {args.input}, hidden {list(model.hidden_sizes)}, head {args.output or 'none'}; "
          f"{macs} MAC/step; RAM (state + scratch) {ram} B; weights {weights} B flash; "
          f"text at -Os, instructions at {args.opt}")
    print(f"{'target':11s} {'text':>6s} {'libc':>5s} {'train':>6s} {'ram':>6s} {'weights':>8s} "
          f"{'insn/step':>10s} {'insn/MAC':>8s}")
    status = 0
    with tempfile.TemporaryDirectory() as work:
        x = np.random.default_rng(1).standard_normal((4, args.input)).astype(np.float32)
        pygru.export_c(model, os.path.join(work, "fw_model.h"), name="fw", self_test_input=x)
        with open(os.path.join(work, "size_main.c"), "w") as f:
            f.write(SIZE_MAIN)
        plugin = fwbuild.build_insn_plugin(work)
        for name in args.targets:
            reason = fwbuild.skip_reason(name)
            if reason:
                print(f"{name:11s} skipped: {reason}")
                status = 1
                continue
            text, libc, per_step = measure(name, work, plugin, args.opt, args.steps)
            print(f"{name:11s} {text:6d} {libc:5d} {'n/a':>6s} {ram:6d} {weights:8d} "
                  f"{per_step:10.0f} {per_step / macs:8.2f}", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
