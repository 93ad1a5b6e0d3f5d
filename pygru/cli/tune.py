"""`pygru tune`: the command-line side of pygru.tune."""
import argparse
import os
import re
import sys

from ._common import EXIT_FAILURE, EXIT_OK

NAME = "tune"
HELP = "find the best GRU that fits a microcontroller's budget"
SESSION = ("pygru tune spoken_digits --target cortex-m4f ...", "search models within flash/RAM/latency")

DESCRIPTION = """\
Search for the most accurate GRU that fits a microcontroller: flash, RAM and
time per step on TARGET at --mhz are hard limits; validation accuracy, flash,
RAM and latency are the objectives (Optuna, multi-objective TPE). Trials
train with pygru's C code; an over-budget shape is never trained.

Writes into --output: tune.db (the Optuna study: rerun the same command after
an interruption and it resumes; --trials is the total), counts.json (cached
instruction counts), report.json (settings, every trial, the Pareto front, the
chosen model), front.png (needs matplotlib), model.npz (the chosen model's
float weights; model_int8.npz / model_integer.npz too if it is quantized) and
NAME.h (its C header). The chosen model is the feasible trial with the best
validation accuracy (ties: smaller flash, RAM, latency, earlier trial).

Time per step = instructions per step x --cpi / --mhz, the instructions
counted exactly under QEMU when the cross toolchain and QEMU are installed,
else taken from a model calibrated on such counts (the report says which).

DATA: a bundled data set name (spoken_digits), .npz or .csv as in `pygru
train --help`; the search validates on --val-split of the training data and
never sees the test split. Needs: pip install "pygru[tune]".
"""

EXAMPLES = """\
examples:
  pygru tune spoken_digits --target cortex-m4f --mhz 64 --flash 32K --ram 8K --latency-ms 1 -o tune_out
  pygru tune spoken_digits --target cortex-m0 --mhz 48 --flash 16K --ram 4K --trials 60 -o m0 \\
      --space precision=integer --space hidden=8,16,24,32
  pygru tune data.npz --target rv32imac --mhz 100 --flash 64K --workers 2 -o out
  pygru tune data.npz --target cortex-m7 --mhz 216 --ram 32K --address tcp://10.0.0.5:8786 -o out
"""

_UNITS = {"": 1, "b": 1, "k": 1024, "kb": 1024, "kib": 1024, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20}


def _bytes(text):
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-zA-Z]*)\s*", text)
    if not m or m.group(2).lower() not in _UNITS or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive size in bytes such as 32768, 32K or 1M "
                                         f"(K = 1024), got {text!r}")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _positive(kind):
    def parse(text):
        try:
            v = kind(text)
        except ValueError:
            v = None
        if v is None or not v > 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return v
    return parse


def _nonneg_int(text):
    try:
        v = int(text)
    except ValueError:
        v = -1
    if v < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return v


def _space_item(text):
    """NAME=V1,V2 (choices) or lr=LOW:HIGH."""
    from ..tune import SPACE
    names = [p.name for p in SPACE]
    name, sep, values = text.partition("=")
    if not sep or name not in names or not values:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUES with NAME one of {names}, got {text!r}")
    p = next(p for p in SPACE if p.name == name)
    try:
        if p.kind == "log":
            return name, tuple(float(v) for v in values.split(":"))
        if name == "precision":
            return name, tuple(values.split(","))
        if name == "reset_after":
            table = {"after": True, "true": True, "before": False, "false": False}
            return name, tuple(table[v.lower()] for v in values.split(","))
        return name, tuple(int(v) for v in values.split(","))
    except (ValueError, KeyError):
        raise argparse.ArgumentTypeError(f"{name}: cannot read {values!r} (expected "
                                         f"{'LOW:HIGH' if p.kind == 'log' else 'comma-separated values'}; "
                                         f"reset_after takes after/before)") from None


def add_arguments(p):
    from .._tune_cost import TARGETS
    from ..tune import DEFAULT_OBJECTIVES, OBJECTIVES
    p.add_argument("data", metavar="DATA", help="bundled data set name, .npz or .csv")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="output folder (created if missing)")
    g = p.add_argument_group("target and limits")
    g.add_argument("--target", required=True, choices=list(TARGETS))
    g.add_argument("--mhz", required=True, type=_positive(float), help="the target's clock in MHz")
    g.add_argument("--flash", type=_bytes, help="flash limit (bytes; K/M suffixes are 1024-based)")
    g.add_argument("--ram", type=_bytes, help="RAM limit (bytes)")
    g.add_argument("--latency-ms", type=_positive(float), help="limit on the time per step (ms)")
    g.add_argument("--cpi", type=_positive(float), default=1.0,
                   help="cycles per instruction for the time per step (default 1)")
    g.add_argument("--latency-source", choices=["auto", "qemu", "model"], default="auto",
                   help="instructions per step: exact QEMU counts, the calibrated model, or auto "
                        "(QEMU when installed; default)")
    g = p.add_argument_group("search")
    g.add_argument("--trials", type=_positive(int), default=30, help="total trials of the study (default 30)")
    g.add_argument("--objectives", default=",".join(DEFAULT_OBJECTIVES),
                   help=f"comma-separated, from {', '.join(OBJECTIVES)} (default: %(default)s)")
    g.add_argument("--space", type=_space_item, action="append", default=[], metavar="NAME=VALUES",
                   help="restrict a dimension: layers=1,2 hidden=16,32,64 reset_after=after,before "
                        "precision=int8,integer lr=0.001:0.03 epochs=10,20 (repeatable)")
    g.add_argument("--seed", type=_nonneg_int, default=0, help="sampler, validation split and training seed")
    g.add_argument("--val-split", type=float, default=0.2,
                   help="fraction of the training data used for validation (default 0.2)")
    g = p.add_argument_group("scale-out (Dask)")
    g.add_argument("--workers", type=_nonneg_int, default=0,
                   help="train trials on a local Dask cluster of N worker processes (default 0: in-process)")
    g.add_argument("--address", help="the scheduler of an existing Dask cluster (tcp://host:8786)")
    g = p.add_argument_group("output")
    g.add_argument("--name", default="model", help="C name prefix of the header (default model: model.h)")
    g.add_argument("--no-progress", action="store_true", help="no progress bar or per-trial lines")


def run(args):
    """Run `pygru tune` from parsed arguments; returns the exit code."""
    from .. import tune as tune_module
    if args.workers and args.address:
        raise ValueError("--workers and --address: give one (a local cluster, or an existing one)")
    objectives = tuple(o.strip() for o in args.objectives.split(",") if o.strip())
    quiet = args.quiet
    try:
        result = tune_module.tune(
            args.data, target=args.target, mhz=args.mhz, flash=args.flash, ram=args.ram,
            latency_ms=args.latency_ms, n_trials=args.trials, objectives=objectives, space=dict(args.space),
            seed=args.seed, output_dir=args.output, workers=args.workers, address=args.address,
            latency=args.latency_source, cpi=args.cpi, val_fraction=args.val_split, header_name=args.name,
            progress=not (args.no_progress or quiet))
    except KeyboardInterrupt:
        print(f"pygru tune: interrupted; rerun the same command to resume the study in "
              f"{os.path.join(args.output, 'tune.db')}", file=sys.stderr)
        raise
    if quiet:
        return EXIT_OK if result.chosen else EXIT_FAILURE
    rep = result.report
    s = rep["settings"]
    print(f"{s['target']} at {s['mhz']:g} MHz, instructions per step from "
          f"{'exact QEMU counts' if s['latency_source'] == 'qemu' else 'the calibrated model'}, "
          f"cpi {s['cpi']:g}; {rep['trials_complete']} trials ({rep['trials_feasible']} within the limits), "
          f"{rep['wall_seconds']:.1f} s")
    if result.chosen is None:
        print("no trial fitted the limits: run more trials or relax a limit", file=sys.stderr)
        return EXIT_FAILURE
    print("Pareto front (* = chosen):")
    print(result.table)
    c = result.chosen
    acc = f", test accuracy {c['test_accuracy']:.2%}" if "test_accuracy" in c else ""
    print(f"chosen: trial {c['trial']}, {c['description']}, validation accuracy "
          f"{c['accuracy']:.2%}{acc}" if c["accuracy"] is not None else
          f"chosen: trial {c['trial']}, {c['description']}, validation loss {c['loss']:.4g}")
    for key, path in result.files.items():
        print(f"  {key:16s} {path}")
    return EXIT_OK
