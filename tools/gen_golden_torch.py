#!/usr/bin/env python3
"""Regenerate tests/golden/torch_gru.npz: outputs of torch.nn.GRU + nn.Linear.

The committed file lets the inference tests compare pygru with PyTorch on
machines without torch; tests/test_torch.py also compares live when torch is
importable. Never edit the .npz by hand: rerun this script.

    python tools/gen_golden_torch.py [--out tests/golden/torch_gru.npz]
"""
import argparse
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Odd sizes on purpose: nothing lines up with the kernels' 8-row packing.
INPUT, HIDDEN, LAYERS, OUTPUT, BATCH, STEPS = 13, 37, 2, 5, 5, 57


def make(seed=2024):
    import torch
    torch.manual_seed(seed)
    gru = torch.nn.GRU(INPUT, HIDDEN, num_layers=LAYERS, batch_first=True)
    head = torch.nn.Linear(HIDDEN, OUTPUT)
    x = torch.randn(BATCH, STEPS, INPUT)
    with torch.no_grad():
        seq, _ = gru(x)
        logits = head(seq[:, -1])
        probs = torch.softmax(logits, dim=-1)
    arrays = {f"gru.{k}": v.numpy() for k, v in gru.state_dict().items()}
    arrays.update({f"head.{k}": v.numpy() for k, v in head.state_dict().items()})
    arrays.update(x=x.numpy(), sequence=seq.numpy(), logits=logits.numpy(), probs=probs.numpy(),
                  torch_version=np.array(torch.__version__))
    return {k: np.asarray(v) for k, v in arrays.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "golden", "torch_gru.npz"))
    args = parser.parse_args()
    arrays = make()
    np.savez_compressed(args.out, **arrays)
    print(f"wrote {args.out} ({os.path.getsize(args.out)} bytes), torch {arrays['torch_version']}")


if __name__ == "__main__":
    main()
