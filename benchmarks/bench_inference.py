#!/usr/bin/env python3
"""Inference speed of pygru beside its peers, measured in one run.

Streaming (batch 1, one step per call) at (I, H) = (16,32), (16,64), (40,128),
(64,256):
  - pygru C only: benchmarks/bench_step.c built with the extension's flags
  - pygru from Python: Stream.step(x) (a new output array per step), and
    Stream.step(x, out) (writes into a caller's array); ratios use step(x)
  - torch.nn.GRUCell, one thread (if torch is installed)
  - ONNX Runtime, a single GRU node, one step per call, one thread (if installed)
Whole sequences (batch 32, T=100): pygru predict vs torch.nn.GRU (one thread)
and ONNX Runtime's fused GRU.

Prints medians (us) and ratios peer / pygru (> 1 means pygru is faster). The
machines are shared and noisy: compare ratios from the same run, not absolute
numbers across runs. Never used by the tests.

    python benchmarks/bench_inference.py [--quick]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import timeit

import numpy as np

import pygru
from pygru.firmware import cbuild

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = [(16, 32), (16, 64), (40, 128), (64, 256)]


def median_us(fn, number, repeat):
    return float(np.median([timeit.timeit(fn, number=number) / number * 1e6 for _ in range(repeat)]))


def c_only_step_us(I, H, exe):
    out = subprocess.run([exe, str(I), str(H), "15"], capture_output=True, text=True, check=True).stdout
    return float(out.split()[2])


def build_c_bench(tmp):
    """bench_step.c + gru_c with the flags setup.py gives the extension."""
    flags = ["-O3", "-fno-wrapv", "-ffp-contract=off", "-fno-math-errno", "-std=c99"]
    if sys.platform.startswith("linux") and os.uname().machine == "x86_64":
        flags.append("-DGRU_DISPATCH_X86")
    return cbuild.build([os.path.join(HERE, "bench_step.c")], os.path.join(tmp, "bench_step"), flags,
                        warnings=False, with_runtime=True)


def torch_cell(I, H):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    cell = torch.nn.GRUCell(I, H).eval()
    x = torch.randn(1, I)
    h = torch.zeros(1, H)

    def step():
        with torch.no_grad():
            return cell(x, h)
    return step


def onnx_gru_session(I, H, T, B):
    try:
        import onnx
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.uniform(-0.1, 0.1, (1, 3 * H, I)).astype(np.float32), "W"),
             numpy_helper.from_array(rng.uniform(-0.1, 0.1, (1, 3 * H, H)).astype(np.float32), "R"),
             numpy_helper.from_array(rng.uniform(-0.1, 0.1, (1, 6 * H)).astype(np.float32), "B")]
    node = helper.make_node("GRU", ["X", "W", "R", "B", "", "h0"], ["Y", "Y_h"], hidden_size=H,
                            linear_before_reset=1)
    graph = helper.make_graph([node], "gru", [
        helper.make_tensor_value_info("X", TensorProto.FLOAT, [T, B, I]),
        helper.make_tensor_value_info("h0", TensorProto.FLOAT, [1, B, H])],
        [helper.make_tensor_value_info("Y_h", TensorProto.FLOAT, [1, B, H])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 14)])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    sess = ort.InferenceSession(model.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    feeds = {"X": rng.standard_normal((T, B, I)).astype(np.float32), "h0": np.zeros((1, B, H), np.float32)}
    return lambda: sess.run(["Y_h"], feeds)


def fmt(v):
    return "   n/a" if v is None else f"{v:7.3f}" if v < 100 else f"{v:7.1f}"


def ratio(peer, ours):
    return "   n/a" if peer is None else f"{peer / ours:6.1f}x"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeat = 5 if args.quick else 11
    scale = 0.3 if args.quick else 1.0

    with tempfile.TemporaryDirectory() as tmp:
        exe = build_c_bench(tmp)
        print("Streaming, batch 1, us per step (median of %d):" % repeat)
        print(f"{'(I, H)':>10} {'C only':>8} {'Python':>8} {'Py out=':>8} {'GRUCell':>8} {'ORT/step':>8}"
              f" | {'GRUCell/py':>10} {'ORT/py':>8}")
        for I, H in SIZES:
            n = max(200, int(scale * 2e6 / (3 * H * (I + H))))
            model = pygru.GRUModel(I, H, seed=0)
            s = model.stream()
            x = np.random.default_rng(0).standard_normal(I).astype(np.float32)
            c_us = c_only_step_us(I, H, exe)
            py_us = median_us(lambda: s.step(x), n, repeat)
            out = np.empty(s.model.output_size, np.float32)
            py_out_us = median_us(lambda: s.step(x, out), n, repeat)
            cell = torch_cell(I, H)
            torch_us = median_us(cell, max(50, n // 20), repeat) if cell else None
            ort = onnx_gru_session(I, H, 1, 1)
            ort_us = median_us(ort, max(50, n // 20), repeat) if ort else None
            print(f"{str((I, H)):>10} {fmt(c_us)} {fmt(py_us)} {fmt(py_out_us)} {fmt(torch_us)} {fmt(ort_us)}"
                  f" | {ratio(torch_us, py_us):>10} {ratio(ort_us, py_us):>8}")

    B, T = 32, 100
    print(f"\nWhole sequences, batch {B}, T={T}, ms per batch (median of {repeat}), one thread:")
    print(f"{'(I, H)':>10} {'pygru':>8} {'torch':>8} {'ORT':>8} | {'torch/pygru':>11} {'ORT/pygru':>9}")
    for I, H in SIZES:
        model = pygru.GRUModel(I, H, seed=0)
        X = np.random.default_rng(0).standard_normal((B, T, I)).astype(np.float32)
        ours = median_us(lambda: model.predict(X), 3, repeat) / 1e3
        torch_ms = None
        try:
            import torch
            torch.set_num_threads(1)
            gru = torch.nn.GRU(I, H, batch_first=True).eval()
            xt = torch.from_numpy(X)

            def run_torch():
                with torch.no_grad():
                    return gru(xt)
            torch_ms = median_us(run_torch, 3, repeat) / 1e3
        except ImportError:
            pass
        ort = onnx_gru_session(I, H, T, B)
        ort_ms = median_us(ort, 3, repeat) / 1e3 if ort else None
        print(f"{str((I, H)):>10} {fmt(ours)} {fmt(torch_ms)} {fmt(ort_ms)} | {ratio(torch_ms, ours):>11}"
              f" {ratio(ort_ms, ours):>9}")


if __name__ == "__main__":
    main()
