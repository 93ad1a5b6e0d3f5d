"""Quantized GRU benchmark: x86-64 step latency, weight flash, RAM, and
Cortex-M0 instructions per step (integer-only vs soft-float).

    python benchmarks/bench_quant.py                  # (40,128) and (16,64)
    python benchmarks/bench_quant.py --sizes 40x128 --no-m0

Latency: benchmarks/bench_quant.c built with the extension's flags (-O3
-ffp-contract=off, GRU_DISPATCH_X86 run-time AVX2/AVX-512 clones), medians of 15
runs, all three modes measured in the same run and reported as ratios to float.
Instruction counts: pygru/firmware/quant_infer.c built for cortex-m0 at -O2,
counted by the QEMU TCG plugin (pygru/firmware/insn_count.c) as the
difference between N and 2N steps, so start-up and printing cancel.
Never asserts anything about speed.
"""
import argparse
import os
import platform
import subprocess
import sys
import tempfile

import numpy as np

import pygru
from pygru import firmware
from pygru.firmware import cbuild, fwbuild
from pygru.firmware.quant_header import write_case_header

HERE = os.path.dirname(os.path.abspath(__file__))


def case(I, H, work, seed=0, T=50):
    model = pygru.GRUModel(I, [H], seed=seed)
    X = np.random.default_rng(seed + 1).standard_normal((1, T, I)).astype(np.float32)
    q8 = pygru.quantize(model, X, mode="int8")
    qi = pygru.quantize(model, X, mode="integer")
    write_case_header(os.path.join(work, "quant_case.h"), model, q8, qi, X)
    return model, q8, qi


def latency(work):
    flags = ["-std=c99", "-O3", "-fno-math-errno", "-I" + work]
    if platform.machine() in ("x86_64", "AMD64"):
        flags.append("-DGRU_DISPATCH_X86=1")
    exe = cbuild.build([os.path.join(HERE, "bench_quant.c")], os.path.join(work, "bench_quant"), flags,
                       warnings=False, with_runtime=True)
    out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
    return {line.split()[0]: float(line.split()[1]) for line in out.splitlines()}


def m0_instructions(work, plugin, mode, steps=4):
    counts = []
    for n in (steps, 2 * steps):
        elf = fwbuild.build_image("cortex-m0", [firmware.path("quant_infer.c")],
                                  os.path.join(work, f"m0-{mode}-{n}.elf"), include_dirs=[work],
                                  defines=[f"QH_RUN_STEPS={n}", f"QH_MODE={mode}"])
        count, res = fwbuild.count_instructions("cortex-m0", elf, plugin, timeout=600)
        if res.returncode != 0:
            raise RuntimeError(f"cortex-m0 mode {mode}: status {res.returncode}\n{res.stdout}{res.stderr}")
        counts.append(count)
    return (counts[1] - counts[0]) / steps


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["40x128", "16x64"], help="IxH pairs")
    ap.add_argument("--no-m0", action="store_true", help="skip the Cortex-M0 instruction counts")
    args = ap.parse_args(argv)
    m0_reason = None if not args.no_m0 else "--no-m0"
    if m0_reason is None:
        m0_reason = fwbuild.skip_reason("cortex-m0")
    print("x86-64 step latency (us, median of 21), weight flash and RAM; RNNoise's dense int8 GRU "
          "measured on this machine: about 1.0 us at (40,128)")
    with tempfile.TemporaryDirectory() as work:
        plugin = fwbuild.build_insn_plugin(work) if m0_reason is None else None
        for size in args.sizes:
            I, H = (int(v) for v in size.split("x"))
            model, q8, qi = case(I, H, work)
            t = latency(work)
            native = model._native_model()
            f_flash = 4 * sum(np.asarray(a).size for a in native.packed_arrays())
            q8_flash, qi_flash = q8.weight_bytes(), qi.weight_bytes()  # packed, with padding
            f_ram = 4 * (native.state_size + native.scratch_size)
            qi_native = qi._native_model()
            qi_ram = 2 * qi_native.state_size + 4 * qi_native.scratch_size
            print(f"\n(I, H) = ({I}, {H})")
            print(f"  {'mode':8s} {'us/step':>8s} {'vs float':>9s} {'weight flash B':>15s} {'vs float':>9s} "
                  f"{'RAM state+scratch B':>20s}")
            for mode, flash, ram in (("float", f_flash, f_ram), ("int8", q8_flash, f_ram),
                                     ("integer", qi_flash, qi_ram)):
                print(f"  {mode:8s} {t[mode]:8.3f} {t['float'] / t[mode]:8.2f}x {flash:15d} "
                      f"{flash / f_flash:9.3f} {ram:20d}")
            if m0_reason is None:
                soft = m0_instructions(work, plugin, 0)
                integer = m0_instructions(work, plugin, 2)
                print(f"  cortex-m0 instructions per step (-O2): soft-float {soft:.0f}, integer {integer:.0f}, "
                      f"ratio {soft / integer:.1f}x")
            else:
                print(f"  cortex-m0 instruction counts skipped: {m0_reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
