"""GRU or LSTM for the same hidden size: cost on a microcontroller and accuracy.

    python benchmarks/bench_gru_vs_lstm.py                  # (16,32) (16,64) (40,128), 3 seeds
    python benchmarks/bench_gru_vs_lstm.py --sizes 16x32 --seeds 1 --json out.json

Cost, per (input, hidden) size, one recurrent layer, no head:
  parameters     PyTorch's count: GRU 3H(I+H) + 6H, LSTM 4H(I+H) + 8H
  weight flash   bytes of every constant array the integer kernel reads:
                 pygru: QuantizedGRUModel.weight_bytes() (packed int8 matrices with
                 their padding, per-row multipliers and shifts, int32 biases);
                 CMSIS-NN: 8 int8 matrices and 8 effective-bias vectors (int32 for
                 s8, int64 for s16) as arm_lstm_unidirectional_s8 / _s16 read them
                 (the scalar quantization parameters, ~100 bytes, not counted,
                 nor pygru's descriptor)
  RAM            pygru: state (H int16) + scratch (gru_qi_scratch_size int32);
                 CMSIS-NN: hidden state and output (H act_t each), cell state and
                 two gate buffers (H int16 each), act_t = int8 / int16
  instructions   per streaming step, -O2, exact QEMU counts (count(2N) - count(N)) / N
                 on Cortex-M4F and M55: pygru's integer step (tools/firmware/
                 quant_infer.c) and one arm_lstm_unidirectional_s8 / _s16 call of one
                 time step (benchmarks/peers/cmsis_lstm_step.c), CMSIS-NN built
                 unmodified from ../shared/peers/cmsis-nn with the same flags
Accuracy: test accuracy on the bundled data (pygru.datasets.load_spoken_digits:
13 MFCCs, 10 digits) of a pygru GRU(H) + softmax head trained with GRUModel.fit,
and of torch.nn.LSTM(13, H) + Linear trained the same way: cross-entropy on the
last step's output, Adam (lr, betas 0.9/0.999, eps 1e-8), same epochs, batch
size and seeds; also the GRU after pygru.quantize(mode="integer"). Mean (and
range) over the seeds.

The peers are never linked into pygru. Never asserts anything.
"""
import argparse
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))

import bench_peers  # the script beside this one: firmware helpers, CMSIS-NN build, exact counts
import pygru

SIZES = [(16, 32), (16, 64), (40, 128)]
TARGETS = ["cortex-m4f", "cortex-m55"]


def params_gru(I, H):
    return 3 * H * (I + H) + 6 * H


def params_lstm(I, H):
    return 4 * H * (I + H) + 8 * H


def cost_rows(sizes, targets, steps, work, log):
    fw = bench_peers.firmware()
    plugin = fw.build_insn_plugin(work)
    rows = []
    libs = bench_peers.target_libraries(fw, targets, work, log)
    for I, H in sizes:
        case = bench_peers.write_case(os.path.join(work, f"case{I}x{H}"), I, H)
        model = pygru.GRUModel(I, [H], seed=0)
        qi = pygru.quantize(model, np.random.default_rng(1).standard_normal((1, 8, I)), mode="integer")
        native = qi._native_model()
        gru = {"I": I, "H": H, "model": "pygru GRU integer", "params": params_gru(I, H),
               "flash": qi.weight_bytes(), "ram": 2 * native.state_size + 4 * native.scratch_size}
        lstm = {}
        for bits, bias_bytes in ((8, 4), (16, 8)):
            act = bits // 8
            lstm[bits] = {"I": I, "H": H, "model": f"CMSIS-NN LSTM s{bits}", "params": params_lstm(I, H),
                          "flash": 4 * H * (I + H) + 8 * H * bias_bytes, "ram": 2 * act * H + 3 * 2 * H}
        for target, (runtime, cmsis, tdir) in libs.items():
            def pygru_build(n):
                return fw.build_image(target, [os.path.join(fw.HERE, "quant_infer.c")],
                                      os.path.join(tdir, f"gru-{I}x{H}-{n}.elf"), include_dirs=[case],
                                      defines=[f"QH_RUN_STEPS={n}", "QH_MODE=2"], runtime_lib=runtime)
            gru[target] = bench_peers.per_step(fw, target, plugin, pygru_build, steps)
            for bits in (8, 16):
                def lstm_build(n, bits=bits):
                    return fw.build_image(target, [os.path.join(HERE, "peers", "cmsis_lstm_step.c"), cmsis],
                                          os.path.join(tdir, f"lstm-{I}x{H}-s{bits}-{n}.elf"),
                                          defines=[f"PEER_I={I}", f"PEER_H={H}", f"PEER_STEPS={n}",
                                                   f"PEER_BITS={bits}"],
                                          extra_cflags=["-isystem", os.path.join(bench_peers.CMSIS, "Include")],
                                          with_runtime=False)
                lstm[bits][target] = bench_peers.per_step(fw, target, plugin, lstm_build, steps)
            log(f"{target} ({I},{H}): GRU {gru[target]:.0f}, LSTM s8 {lstm[8][target]:.0f}, "
                f"s16 {lstm[16][target]:.0f} instructions per step")
        rows += [gru, lstm[8], lstm[16]]
    return rows


def train_lstm(ds, H, epochs, batch, lr, seed):
    """Test accuracy (percent) of torch.nn.LSTM(I, H) + Linear(H, classes) on
    the last step, trained as GRUModel.fit trains (pygru._bench.torch_classifier)."""
    import torch
    from pygru._bench import torch_classifier
    net = torch_classifier(ds, "LSTM", H, epochs, batch, lr, seed)
    with torch.no_grad():
        pred = net(torch.from_numpy(ds.X_test)).argmax(1).numpy()
    return 100.0 * float(np.mean(pred == ds.y_test))


def accuracy_rows(hidden, seeds, epochs, batch, lr, log):
    from pygru.datasets import load_spoken_digits
    ds = load_spoken_digits()
    rows = []
    for H in hidden:
        acc = {"gru_float": [], "gru_integer": [], "lstm_float": []}
        for seed in seeds:
            model = pygru.GRUModel(ds.input_size, [H], output_size=ds.num_classes, output_activation="softmax",
                                   seed=seed)
            model.fit(ds.X_train, ds.y_train, loss="cross_entropy", epochs=epochs, batch_size=batch,
                      optimizer="adam", lr=lr, seed=seed, progress=False)
            acc["gru_float"].append(100.0 * float(np.mean(model.predict(ds.X_test).argmax(1) == ds.y_test)))
            qi = pygru.quantize(model, ds.X_train, mode="integer")
            acc["gru_integer"].append(100.0 * float(np.mean(qi.predict(ds.X_test).argmax(1) == ds.y_test)))
            acc["lstm_float"].append(train_lstm(ds, H, epochs, batch, lr, seed))
            log(f"H={H} seed {seed}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in acc.items()))
        rows.append({"H": H, "input_size": ds.input_size, "seeds": list(seeds), **acc})
    return rows


def _mean_range(v):
    return f"{np.mean(v):.1f} ({min(v):.1f}-{max(v):.1f})"


def print_cost(rows, targets):
    print("\nGRU vs LSTM, one layer, no head: parameters, weight flash and RAM (bytes), "
          "instructions per step (-O2, exact QEMU counts)")
    print("| (I,H) | model | parameters | weight flash | RAM | " + " | ".join(f"insns/step {t}" for t in targets)
          + " |")
    print("|---" * (5 + len(targets)) + "|")
    for r in rows:
        cells = [f"{r[t]:.0f}" if t in r else "-" for t in targets]
        print(f"| ({r['I']},{r['H']}) | {r['model']} | {r['params']} | {r['flash']} | {r['ram']} | "
              + " | ".join(cells) + " |")


def print_accuracy(rows, epochs, batch, lr):
    print(f"\nTest accuracy on spoken_digits, %, mean (range) over seeds {rows[0]['seeds']}; "
          f"{epochs} epochs, batch {batch}, Adam lr {lr}")
    print("| H | pygru GRU float | pygru GRU integer | torch LSTM float | GRU - LSTM (points) |")
    print("|---|---|---|---|---|")
    for r in rows:
        diff = np.mean(r["gru_float"]) - np.mean(r["lstm_float"])
        print(f"| {r['H']} | {_mean_range(r['gru_float'])} | {_mean_range(r['gru_integer'])} | "
              f"{_mean_range(r['lstm_float'])} | {diff:+.1f} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", default=[f"{I}x{H}" for I, H in SIZES], help="IxH pairs")
    ap.add_argument("--targets", nargs="*", default=TARGETS)
    ap.add_argument("--steps", type=int, default=4, help="N of (count(2N) - count(N)) / N")
    ap.add_argument("--seeds", type=int, default=3, help="training seeds 0..n-1")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--no-accuracy", action="store_true")
    ap.add_argument("--json", help="also write the rows to this file")
    args = ap.parse_args(argv)
    sizes = bench_peers.parse_sizes(args.sizes)
    log = bench_peers.log
    result = {}
    with tempfile.TemporaryDirectory(prefix="bench-gru-lstm-") as work:
        result["cost"] = cost_rows(sizes, args.targets, args.steps, work, log)
    if not args.no_accuracy:
        hidden = list(dict.fromkeys(H for _, H in sizes))
        result["accuracy"] = accuracy_rows(hidden, range(args.seeds), args.epochs, args.batch, args.lr, log)
    print_cost(result["cost"], args.targets)
    if "accuracy" in result:
        print_accuracy(result["accuracy"], args.epochs, args.batch, args.lr)
    bench_peers.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
