"""pygru beside the peers it is measured against, in the same run.

    python benchmarks/bench_peers.py                       # everything
    python benchmarks/bench_peers.py --no-x86 --targets cortex-m4f --json out.json

Microcontrollers: instructions per multiply-accumulate of one whole step, -O2,
counted exactly under QEMU by the project's TCG plugin as
(count(2N steps) - count(N steps)) / N, so start-up, initialisation and
printing cancel. MACs per step: 3 H (I + H) (the six matrix products).
  pygru integer, pygru float   tools/firmware/quant_infer.c (gru_qi_ / gru_stream
                               step, gates and all)
  CMSIS-NN s8, s16             benchmarks/peers/cmsis_fc_step.c: the six products
                               of a GRU step through arm_nn_vec_mat_mult_t_s8 /
                               _s16 (the kernels of arm_fully_connected_s8 / _s16),
                               CMSIS-NN built unmodified from ../shared/peers/cmsis-nn
                               with the same target flags; products only, no gates
x86-64: median us per streaming step (batch 1) of pygru's integer and float
steps (benchmarks/bench_quant.c, the extension's flags) beside RNNoise's
compute_generic_gru (benchmarks/peers/rnnoise_gru_step.c: dense int8, block-
sparse int8 recurrent matrix, float), built from ../shared/peers/rnnoise/src
with the ISA flags of this CPU (RNNoise picks its kernels at compile time).
The two programs run in alternation, --rounds times; the table gives medians
over rounds and the ratio pygru / RNNoise (below 1: pygru faster).

The peers are never linked into pygru. Never asserts anything about speed.
"""
import argparse
import glob
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

import pygru  # noqa: E402  (the installed package)

# The peers' unmodified sources: shared/peers beside the checkout, or PYGRU_PEERS.
PEERS = os.environ.get("PYGRU_PEERS", os.path.join(os.path.dirname(ROOT), "shared", "peers"))
CMSIS = os.path.join(PEERS, "cmsis-nn")
RNNOISE = os.path.join(PEERS, "rnnoise", "src")
TARGETS = ["cortex-m0", "cortex-m4f", "cortex-m7", "cortex-m55", "rv32imac"]
SIZES = [(16, 64), (40, 128)]
X86_SIZES = [(16, 64), (40, 128), (64, 256)]


def firmware(name="fwbuild"):
    """The installed package's firmware build helpers (fwbuild, quant_header)."""
    return importlib.import_module(f"pygru.firmware.{name}")


def macs(I, H):
    return 3 * H * (I + H)


def write_case(work, I, H, seed=0, T=8):
    """The header quant_infer.c / bench_quant.c compile: GRU(I, H), no head."""
    model = pygru.GRUModel(I, [H], seed=seed)
    X = np.random.default_rng(seed + 1).standard_normal((1, T, I)).astype(np.float32)
    q8 = pygru.quantize(model, X, mode="int8")
    qi = pygru.quantize(model, X, mode="integer")
    os.makedirs(work, exist_ok=True)
    firmware("quant_header").write_case_header(os.path.join(work, "quant_case.h"), model, q8, qi, X)
    return work


def per_step(fw, target, plugin, build, steps):
    """(count(2N) - count(N)) / N for the images build(n) returns."""
    counts = []
    for n in (steps, 2 * steps):
        elf = build(n)
        count, res = fw.count_instructions(target, elf, plugin, timeout=900)
        if res.returncode != 0:
            raise RuntimeError(f"{target} {os.path.basename(elf)}: status {res.returncode}\n"
                               f"{res.stdout}{res.stderr}")
        counts.append(count)
    return (counts[1] - counts[0]) / steps


def cmsis_library(fw, target, work):
    """CMSIS-NN's sources compiled once for `target` (its -mcpu flags and the
    project's -O2 / FP flags; CMSIS-NN's own warnings are not ours to fix)."""
    t = fw.get_target(target)
    objs = []
    for src in sorted(glob.glob(os.path.join(CMSIS, "Source", "**", "*.c"), recursive=True)):
        obj = os.path.join(work, os.path.basename(src)[:-2] + ".o")
        subprocess.run([t.cc] + fw.compile_flags(t) + ["-Wno-error", "-w", "-isystem",
                                                        os.path.join(CMSIS, "Include"), "-c", src, "-o", obj],
                       check=True, capture_output=True, text=True)
        objs.append(obj)
    lib = os.path.join(work, "libcmsisnn.a")
    subprocess.run([t.tool("ar"), "rcs", lib] + objs, check=True, capture_output=True, text=True)
    return lib


def target_libraries(fw, targets, work, log):
    """{target: (pygru's libgru.a, libcmsisnn.a, its work dir)} for the
    targets whose tools are installed (the others are logged as skipped)."""
    libs = {}
    for target in targets:
        reason = fw.skip_reason(target)
        if reason:
            log(f"{target}: skipped ({reason})")
            continue
        tdir = os.path.join(work, target)
        os.makedirs(tdir, exist_ok=True)
        libs[target] = (fw.build_runtime_library(target, tdir), cmsis_library(fw, target, tdir), tdir)
    return libs


def mcu_table(targets, sizes, steps, work, log):
    fw = firmware()
    plugin = fw.build_insn_plugin(work)
    rows = []
    for target, (runtime, cmsis, tdir) in target_libraries(fw, targets, work, log).items():
        for I, H in sizes:
            case = write_case(os.path.join(work, f"case{I}x{H}"), I, H)
            row = {"target": target, "I": I, "H": H, "macs": macs(I, H)}

            def pygru_image(mode):
                def build(n):
                    return fw.build_image(target, [os.path.join(fw.HERE, "quant_infer.c")],
                                          os.path.join(tdir, f"pygru-{I}x{H}-m{mode}-{n}.elf"),
                                          include_dirs=[case], defines=[f"QH_RUN_STEPS={n}", f"QH_MODE={mode}"],
                                          runtime_lib=runtime)
                return build

            def cmsis_image(bits):
                def build(n):
                    return fw.build_image(target, [os.path.join(HERE, "peers", "cmsis_fc_step.c"), cmsis],
                                          os.path.join(tdir, f"cmsis-{I}x{H}-s{bits}-{n}.elf"),
                                          defines=[f"PEER_I={I}", f"PEER_H={H}", f"PEER_STEPS={n}",
                                                   f"PEER_BITS={bits}"],
                                          extra_cflags=["-isystem", os.path.join(CMSIS, "Include")],
                                          with_runtime=False)
                return build

            for key, build in (("pygru_integer", pygru_image(2)), ("pygru_float", pygru_image(0)),
                               ("cmsis_s8", cmsis_image(8)), ("cmsis_s16", cmsis_image(16))):
                row[key] = per_step(fw, target, plugin, build, steps) / row["macs"]
            log(f"{target} ({I},{H}): " + ", ".join(f"{k} {row[k]:.2f}" for k in
                                                     ("pygru_integer", "pygru_float", "cmsis_s8", "cmsis_s16")))
            rows.append(row)
    return rows


def x86_isa_flags():
    """The flags RNNoise's vec_avx.h wants on this CPU: AVX2 + FMA, and VNNI's
    dpbusds when the CPU has it (AVX-512 VNNI with VL, or AVX-VNNI)."""
    with open("/proc/cpuinfo") as f:
        flags = next((set(line.split(":")[1].split()) for line in f if line.startswith("flags")), set())
    out = ["-mavx2", "-mfma"] if {"avx2", "fma"} <= flags else []
    if {"avx512_vnni", "avx512vl"} <= flags:
        out += ["-mavx512vnni", "-mavx512vl"]
    elif "avx_vnni" in flags:
        out += ["-mavxvnni"]
    return out


def x86_table(sizes, rounds, work, log):
    bench_quant = importlib.import_module("bench_quant")   # pygru's C-only step timer
    cc = os.environ.get("CC", "cc")
    rows = []
    for I, H in sizes:
        case = write_case(os.path.join(work, f"x86-{I}x{H}"), I, H)
        exe = os.path.join(case, "rnnoise_gru_step")
        subprocess.run([cc, "-std=c99", "-O3"] + x86_isa_flags() + ["-I" + RNNOISE, f"-DPEER_I={I}",
                        f"-DPEER_H={H}", os.path.join(HERE, "peers", "rnnoise_gru_step.c"),
                        os.path.join(RNNOISE, "nnet.c"), os.path.join(RNNOISE, "nnet_default.c"),
                        "-o", exe, "-lm"], check=True, capture_output=True, text=True)
        samples = {}
        for _ in range(rounds):
            for k, v in bench_quant.latency(case).items():
                samples.setdefault("pygru_" + k, []).append(v)
            out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
            for line in out.splitlines():
                k, v = line.split()
                samples.setdefault("rnnoise_" + k, []).append(float(v))
        row = {"I": I, "H": H, **{k: statistics.median(v) for k, v in samples.items()}}
        row["ratio_integer_vs_dense_int8"] = row["pygru_integer"] / row["rnnoise_dense_int8"]
        row["ratio_integer_vs_sparse_int8"] = row["pygru_integer"] / row["rnnoise_sparse_int8"]
        row["ratio_float_vs_float"] = row["pygru_float"] / row["rnnoise_float"]
        log(f"x86 ({I},{H}): " + ", ".join(f"{k} {v:.3f}" for k, v in row.items() if k not in ("I", "H")))
        rows.append(row)
    return rows


def parse_sizes(sizes):
    """["16x64", ...] -> [(16, 64), ...]"""
    return [tuple(int(v) for v in s.lower().split("x")) for s in sizes]


def log(msg):
    """Progress to stderr, so that stdout holds only the tables."""
    print(msg, file=sys.stderr, flush=True)


def write_json(path, result):
    if path:
        with open(path, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)


def print_mcu(rows):
    print("\nInstructions per MAC, whole step, -O2, exact QEMU counts ((count(2N) - count(N)) / N)")
    sizes = sorted({(r["I"], r["H"]) for r in rows}, key=lambda s: s[1])
    cols = ["pygru integer", "pygru float", "CMSIS-NN s8 products", "CMSIS-NN s16 products"]
    keys = ["pygru_integer", "pygru_float", "cmsis_s8", "cmsis_s16"]
    sz = " / ".join(f"({I},{H})" for I, H in sizes)
    print(f"| core, {sz} | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for target in dict.fromkeys(r["target"] for r in rows):
        by = {(r["I"], r["H"]): r for r in rows if r["target"] == target}
        cells = [" / ".join(f"{by[s][k]:.2f}" if s in by else "-" for s in sizes) for k in keys]
        print(f"| {target} | " + " | ".join(cells) + " |")


def print_x86(rows):
    print(f"\nx86-64 step latency, us (median over rounds of medians of 21), batch 1, "
          f"{platform.processor() or platform.machine()}")
    print("| (I,H) | pygru integer | pygru float | RNNoise dense int8 | RNNoise sparse int8 | RNNoise float "
          "| integer / dense int8 | integer / sparse int8 | float / float |")
    print("|---" * 9 + "|")
    for r in rows:
        print(f"| ({r['I']},{r['H']}) | {r['pygru_integer']:.3f} | {r['pygru_float']:.3f} | "
              f"{r['rnnoise_dense_int8']:.3f} | {r['rnnoise_sparse_int8']:.3f} | {r['rnnoise_float']:.3f} | "
              f"{r['ratio_integer_vs_dense_int8']:.2f} | {r['ratio_integer_vs_sparse_int8']:.2f} | "
              f"{r['ratio_float_vs_float']:.2f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", nargs="*", default=TARGETS, help="QEMU targets (none: skip)")
    ap.add_argument("--sizes", nargs="+", default=[f"{I}x{H}" for I, H in SIZES], help="IxH for the targets")
    ap.add_argument("--x86-sizes", nargs="+", default=[f"{I}x{H}" for I, H in X86_SIZES])
    ap.add_argument("--steps", type=int, default=4, help="N of (count(2N) - count(N)) / N")
    ap.add_argument("--rounds", type=int, default=3, help="x86: alternations of pygru and RNNoise")
    ap.add_argument("--no-x86", action="store_true")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args(argv)
    parse = parse_sizes
    result = {}
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as work:
        if args.targets:
            result["mcu"] = mcu_table(args.targets, parse(args.sizes), args.steps, work, log)
        if not args.no_x86 and platform.machine() in ("x86_64", "AMD64"):
            result["x86"] = x86_table(parse(args.x86_sizes), args.rounds, work, log)
    if result.get("mcu"):
        print_mcu(result["mcu"])
    if result.get("x86"):
        print_x86(result["x86"])
    write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
