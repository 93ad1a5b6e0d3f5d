"""Fit the instruction-count model that pygru.tune uses when no cross toolchain
or QEMU is installed, and write it to pygru/_tune_cost.json.

    python tools/calibrate_tune_cost.py                 # all 8 targets, 3 precisions
    python tools/calibrate_tune_cost.py --targets cortex-m4f rv32imafc

For each (target, precision) it counts the exact instructions per step of a
grid of model shapes under QEMU (pygru/_tune_cost.py: QemuCounter, the same
count pygru.tune makes), fits instructions = coef . features(shape) by least
squares on the relative error (features: 1, layers, input and recurrent MACs, row blocks, units, reset-before
units, head MACs, head outputs), and checks the fit on held-out shapes. The
JSON records the coefficients, the runtime's flash bytes, and the largest
relative error on the fitted and on the held-out shapes; docs/tune.md quotes
them. Deterministic: the shapes' weights are seed 0.
"""
import argparse
import json
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
from pygru import _tune_cost as tc

# (input, hidden sizes, head outputs, reset_after per layer)
FIT_SHAPES = [
    (13, (8,), 10, (True,)), (13, (16,), 10, (True,)), (13, (32,), 10, (True,)),
    (13, (64,), 10, (True,)), (13, (128,), 10, (True,)), (4, (24,), 2, (True,)),
    (32, (48,), 2, (True,)), (13, (32,), 10, (False,)), (13, (96,), 10, (False,)),
    (13, (32, 16), 10, (True, True)), (8, (64, 64), 4, (True, False)), (13, (16, 48), 10, (False, False)),
    (13, (24, 24, 24), 10, (True, True, True)), (20, (40,), 5, (False,)), (13, (8,), 10, (False,)),
    (3, (20,), 10, (False,)),
]
HOLDOUT_SHAPES = [
    (13, (48,), 10, (True,)), (13, (24, 32), 10, (True, True)), (6, (100,), 3, (False,)),
    (13, (12,), 10, (False,)),
]


def measure(counter, target, precision, shapes):
    rows, counts, code = [], [], []
    for I, H, O, ra in shapes:
        model = tc.shape_model(precision, I, H, O, ra)
        insn, rt = counter.count(target, precision, model)
        rows.append(tc.features(precision, I, H, O, ra))
        counts.append(insn)
        code.append(rt)
    return np.array(rows, np.float64), np.array(counts, np.float64), code


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--targets", nargs="+", default=list(tc.TARGETS), choices=list(tc.TARGETS))
    ap.add_argument("--output", default=tc.COEFF_FILE)
    args = ap.parse_args(argv)
    old = {}
    if os.path.isfile(args.output):
        with open(args.output, encoding="utf-8") as f:
            old = json.load(f).get("targets", {})
    counter = tc.QemuCounter()
    result = dict(old)
    try:
        for target in args.targets:
            reason = counter.why_not(target) if not counter.available(target) else None
            if reason:
                print(f"{target}: skipped: {reason}", file=sys.stderr)
                continue
            result[target] = {}
            for precision in tc.PRECISIONS:
                t0 = time.perf_counter()
                X, y, code = measure(counter, target, precision, FIT_SHAPES)
                # Rows scaled by 1/count: least squares on the relative error, so small
                # models are fitted as well as large ones.
                coef, *_ = np.linalg.lstsq(X / y[:, None], np.ones_like(y), rcond=None)
                Xh, yh, code_h = measure(counter, target, precision, HOLDOUT_SHAPES)
                fit_err = float(np.max(np.abs(X @ coef - y) / y))
                hold_err = float(np.max(np.abs(Xh @ coef - yh) / yh))
                worst = HOLDOUT_SHAPES[int(np.argmax(np.abs(Xh @ coef - yh) / yh))]
                result[target][precision] = {
                    "coef": [float(c) for c in coef],
                    "runtime_bytes": int(max(code + code_h)),
                    "max_rel_error_fit": round(fit_err, 5),
                    "max_rel_error_holdout": round(hold_err, 5),
                }
                print(f"{target:11s} {precision:8s} runtime {max(code + code_h):6d} B  "
                      f"max rel error fit {fit_err:.2%} holdout {hold_err:.2%} (worst {worst})  "
                      f"({time.perf_counter() - t0:.0f} s)", flush=True)
    finally:
        counter.close()
    doc = {"about": "pygru.tune instruction-count model; written by tools/calibrate_tune_cost.py "
                    "from exact QEMU counts (-O2, seed-0 weights). Do not edit by hand.",
           "features": list(tc.FEATURE_NAMES),
           "targets": {t: result[t] for t in tc.TARGETS if t in result}}
    with open(args.output, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=True)
        f.write("\n")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
