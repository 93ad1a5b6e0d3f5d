"""`pygru bench`: inference (and training) time against torch.nn.GRU, same run."""
import json
import time

import numpy as np

from ._common import EXIT_OK, positive_int

NAME = "bench"
HELP = "time inference (and training) against torch.nn.GRU"
SESSION = ("pygru bench", "speed against torch.nn.GRU")
DESCRIPTION = None
EXAMPLES = """\
examples:
  pygru bench                                   # I=16, H=32, batch 32, T=50
  pygru bench --input 40 --hidden 128 --repeat 50
  pygru bench --train --json
Prints medians and pygru/torch ratios measured in the same run (torch, one
thread, when installed). Numbers vary with the machine and its load. The
training row is the step benchmarks/bench_training.py times (pygru._bench).
"""

TRAIN_ROW = "training: Adam step (MSE)"


def add_arguments(p):
    p.add_argument("--input", type=positive_int, default=16, help="input size (default 16)")
    p.add_argument("--hidden", type=positive_int, default=32, help="hidden size (default 32)")
    p.add_argument("--batch", type=positive_int, default=32, help="batch size (default 32)")
    p.add_argument("--steps", type=positive_int, default=50, help="sequence length (default 50)")
    p.add_argument("--repeat", type=positive_int, default=20, help="timed runs per measurement (default 20)")
    p.add_argument("--train", action="store_true", help="also time one Adam training step")
    p.add_argument("--json", action="store_true", help="print the results as JSON")


def median_seconds(fn, repeat, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def _pygru_rows(args, X):
    from .. import GRUModel
    B = args.batch
    model = GRUModel(input_size=args.input, hidden_sizes=[args.hidden], output_size=1, seed=0)
    stream, x0 = model.stream(), X[0, 0]

    def steps():
        for _ in range(100):
            stream.step(x0)
    rows = [("inference: batch sequence", median_seconds(lambda: model.predict(X), args.repeat)),
            ("inference: stream step", median_seconds(steps, args.repeat) / 100)]
    if args.train:
        from .._bench import pygru_training_step
        rows.append((TRAIN_ROW, pygru_training_step(args.input, args.hidden, B, args.steps, args.repeat)[0]))
    return rows


def _torch_rows(args, torch, X):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    gru = torch.nn.GRU(args.input, args.hidden, batch_first=True)
    head = torch.nn.Linear(args.hidden, 1)
    xt, x1 = torch.from_numpy(X), torch.from_numpy(X[:1, :1])

    def forward():
        with torch.no_grad():
            out, _ = gru(xt)
            head(out[:, -1])

    def steps():
        with torch.no_grad():
            h = None
            for _ in range(100):
                out, h = gru(x1, h)
                head(out[:, -1])
    rows = [("inference: batch sequence", median_seconds(forward, args.repeat)),
            ("inference: stream step", median_seconds(steps, args.repeat) / 100)]
    if args.train:
        from .._bench import torch_training_step
        rows.append((TRAIN_ROW, torch_training_step(args.input, args.hidden, args.batch, args.steps,
                                                    args.repeat)[0]))
    return rows


def _duration(s):
    if s is None:
        return "n/a"
    return f"{s * 1e3:.3f} ms" if s >= 1e-3 else f"{s * 1e6:.1f} us"


def _print_table(args, result):
    table = result["seconds"]
    print(f"GRU {args.input}->{args.hidden} + dense, batch {args.batch}, T={args.steps}; "
          f"median of {args.repeat} runs")
    print(f"{'':28}{'pygru':>12}{'torch':>12}{'torch/pygru':>13}")
    for what, v in table.items():
        ratio = result["ratio_torch_over_pygru"][what]
        print(f"{what:28}{_duration(v.get('pygru')):>12}{_duration(v.get('torch')):>12}"
              f"{(f'{ratio:.2f}x' if ratio else 'n/a'):>13}")
    if result["note"]:
        print(result["note"])


def run(args):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.batch, args.steps, args.input)).astype(np.float32)
    table = {}
    for what, sec in _pygru_rows(args, X):
        table.setdefault(what, {})["pygru"] = sec
    try:
        import torch
    except ImportError:
        note = "torch not installed: no peer measured (pip install torch)"
    else:
        note = None
        for what, sec in _torch_rows(args, torch, X):
            table.setdefault(what, {})["torch"] = sec
    result = {"input": args.input, "hidden": args.hidden, "batch": args.batch, "steps": args.steps,
              "repeat": args.repeat, "threads_torch": 1, "seconds": table, "note": note,
              "ratio_torch_over_pygru": {k: (v["torch"] / v["pygru"] if v.get("torch") and v.get("pygru") else None)
                                         for k, v in table.items()}}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        _print_table(args, result)
    return EXIT_OK
