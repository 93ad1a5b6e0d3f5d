"""What the layers around a GRU cost: whole-sequence predict time of a plain
GRU model beside the same GRU with a Dense pre-net and an MLP head, run
in reverse, and bidirectional, in one run, as ratios to the plain model,
next to their ratio of multiply-adds per step.

    python benchmarks/bench_layers.py [--batch 32] [--steps 100] [--input 40] [--hidden 64]

The MAC count is what gru_c computes per time step: 3H(I + H) per GRU
direction and in * out per Dense layer; the head runs on every step (the
model step is one kernel for streaming and sequences), so it counts at every
step. Times are the best of --repeats runs (wall clock; load shows as noise).
"""
import argparse
import time

import numpy as np

import pygru
from pygru import GRU, Dense


def macs_per_step(model):
    """Multiply-adds gru_c computes per time step of `model`."""
    total, size = 0, model.input_size
    for layer in model.spec.layers:
        if isinstance(layer, GRU):
            directions = 2 if layer.direction == "bidirectional" else 1
            total += directions * 3 * layer.hidden_size * (size + layer.hidden_size)
        else:
            total += size * layer.units
        size = layer.output_size
    return total


def models(I, H, out, seed=0):
    return {
        "GRU -> Dense": [GRU(H), Dense(out)],
        "Dense -> GRU -> MLP": [Dense(H, "tanh"), GRU(H), Dense(H, "relu"), Dense(out)],
        "reverse GRU -> Dense": [GRU(H, direction="reverse"), Dense(out)],
        "bidirectional GRU -> Dense": [GRU(H, direction="bidirectional"), Dense(out)],
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--input", type=int, default=40)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--output", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args(argv)
    X = np.random.default_rng(0).standard_normal((args.batch, args.steps, args.input)).astype(np.float32)
    built = {name: pygru.GRUModel.from_layers(args.input, layers, seed=0)
             for name, layers in models(args.input, args.hidden, args.output).items()}
    for m in built.values():
        m.predict(X[:2])  # warm up
    best = {}
    for _ in range(args.repeats):  # interleaved, so load drifts hit every model alike
        for name, m in built.items():
            t = time.perf_counter()
            m.predict(X)
            best[name] = min(best.get(name, float("inf")), time.perf_counter() - t)
    base = next(iter(built))
    print(f"predict on ({args.batch}, {args.steps}, {args.input}), GRU({args.hidden}), best of {args.repeats}")
    print("| model | MAC per step | ms | time / plain | MAC / plain |")
    print("|---|---|---|---|---|")
    for name, m in built.items():
        print(f"| {name} | {macs_per_step(m)} | {best[name] * 1e3:.2f} | {best[name] / best[base]:.2f} | "
              f"{macs_per_step(m) / macs_per_step(built[base]):.2f} |")


if __name__ == "__main__":
    main()
