"""Accuracy of post-training quantization on the bundled data set.

    python tools/quant_accuracy.py [--hidden 32] [--epochs 10] [--seed 0] [--trainer pygru|torch] [--save model.npz]

Trains a GRU classifier (13 MFCC -> GRU(H) -> dense softmax over the 10
digits) on pygru.datasets' spoken_digits, with pygru's own trainer
(GRUModel.fit: Adam, lr 1e-2, batch 32) or with PyTorch (torch.nn.GRU +
Linear, Adam lr 3e-3, batch 64, weights copied into a pygru.GRUModel: same
names and layouts), quantizes it with
pygru.quantize(model, X_train, mode=...) for both modes and prints test
accuracy of float, int8 and integer inference, and the differences in
percentage points (one line per mode, read by tests/test_quant.py).
"""
import argparse
import sys

import numpy as np


def train_model(ds, hidden=32, epochs=10, seed=0):
    """A pygru.GRUModel trained by pygru (GRUModel.fit) on ds."""
    import pygru
    model = pygru.GRUModel(ds.input_size, [hidden], output_size=ds.num_classes,
                           output_activation="softmax", seed=seed)
    model.fit(ds.X_train, ds.y_train, loss="cross_entropy", epochs=epochs, batch_size=32,
              optimizer="adam", lr=1e-2, seed=seed, progress=False)
    return model


def train_model_torch(ds, hidden=64, epochs=60, seed=0, lr=3e-3, batch=64):
    """A pygru.GRUModel trained with torch on ds (float32 X, int labels):
    torch.nn.GRU + Linear (pygru._bench.torch_classifier), weights copied."""
    import pygru
    from pygru._bench import torch_classifier
    net = torch_classifier(ds, "GRU", hidden, epochs, batch, lr, seed)
    model = pygru.GRUModel(ds.input_size, [hidden], output_size=ds.num_classes, output_activation="softmax",
                           seed=seed)
    state = {k: v.detach().numpy().astype(np.float32) for k, v in net.state_dict().items()}
    model.set_weights({k.replace("rnn.", ""): v for k, v in state.items()})
    return model


def accuracies(model, ds):
    """{'float': acc, 'int8': acc, 'integer': acc} on the test set, in percent."""
    import pygru
    out = {"float": 100.0 * np.mean(model.predict(ds.X_test).argmax(1) == ds.y_test)}
    for mode in ("int8", "integer"):
        q = pygru.quantize(model, ds.X_train, mode=mode)
        out[mode] = 100.0 * np.mean(q.predict(ds.X_test).argmax(1) == ds.y_test)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--trainer", choices=("pygru", "torch"), default="pygru")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--save", help="also save the trained float model here (.npz)")
    args = ap.parse_args(argv)
    from pygru import datasets
    ds = datasets.load_default()
    train = train_model if args.trainer == "pygru" else train_model_torch
    model = train(ds, args.hidden, args.epochs, args.seed)
    if args.save:
        model.save(args.save)
    acc = accuracies(model, ds)
    print(f"{ds.name}: {len(ds.y_train)} train / {len(ds.y_test)} test sequences, T={ds.steps}, "
          f"I={ds.input_size}, GRU({args.hidden}) + softmax({ds.num_classes}), {args.epochs} epochs, "
          f"seed {args.seed}, trained by {args.trainer}")
    for mode in ("float", "int8", "integer"):
        diff = "" if mode == "float" else f"   ({acc[mode] - acc['float']:+.1f} pp vs float)"
        print(f"  {mode:8s} test accuracy {acc[mode]:5.1f} %{diff}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
