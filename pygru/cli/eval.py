"""`pygru eval MODEL DATA`: accuracy (or MSE) of a saved model."""
import json
import os

import numpy as np

from ._common import EXIT_OK, CLIError, evaluate, format_metrics, fraction, load_data, load_model, seed

NAME = "eval"
HELP = "evaluate a model on data"
SESSION = ("pygru eval kws.npz spoken_digits", "accuracy on the test split")
DESCRIPTION = None
EXAMPLES = """\
examples:
  pygru eval kws.npz spoken_digits
  pygru eval kws.npz spoken_digits --split train --confusion
  pygru eval model.npz data.npz --json
"""


def add_arguments(p):
    p.add_argument("model", metavar="MODEL", help="a pygru model (.npz)")
    p.add_argument("data", metavar="DATA", help="bundled data set name, .npz or .csv (see train --help)")
    p.add_argument("--split", choices=["test", "train", "all"], default="test", help="default test")
    p.add_argument("--test-split", type=fraction, default=0.2,
                   help="as in train: must match to evaluate the same held-out split")
    p.add_argument("--seed", type=seed, default=0, help="as in train (for the held-out split)")
    p.add_argument("--confusion", action="store_true", help="print the confusion matrix")
    p.add_argument("--json", action="store_true", help="print the results as JSON")


def _split(data, which):
    if which == "train":
        return data.X_train, data.y_train
    if which == "test":
        return data.X_test, data.y_test
    return np.concatenate([data.X_train, data.X_test]), np.concatenate([data.y_train, data.y_test])


def _confusion(model, X, y, classes):
    pred = model.predict(X).argmax(axis=1)
    C = len(classes)
    confusion = np.zeros((C, C), dtype=np.int64)
    np.add.at(confusion, (y, pred), 1)
    per_class = {c: (float(confusion[i, i] / confusion[i].sum()) if confusion[i].sum() else None)
                 for i, c in enumerate(classes)}
    return confusion, per_class


def _print_confusion(confusion, classes):
    width = max(5, max(len(c) for c in classes) + 1)
    print("confusion (rows: true class, columns: predicted)")
    print(" " * width + "".join(f"{c[:width - 1]:>{width}}" for c in classes))
    for i, c in enumerate(classes):
        print(f"{c:>{width}}" + "".join(f"{v:>{width}}" for v in confusion[i]))


def run(args):
    model = load_model(args.model)
    data = load_data(args.data, args.test_split, args.seed)
    if data.input_size != model.input_size:
        raise CLIError(f"DATA has {data.input_size} features per step, the model expects {model.input_size}")
    if model.output_dim != data.output_size:
        raise CLIError(f"DATA has {data.output_size} {'classes' if data.classification else 'targets'}, "
                       f"the model outputs {model.output_dim} values")
    X, y = _split(data, args.split)
    result = evaluate(model, X, y, data.classification)
    result.update(split=args.split, data=data.origin, model=os.path.basename(args.model))
    if data.classification:
        confusion, result["per_class_accuracy"] = _confusion(model, X, y, data.classes)
        result["confusion"] = confusion.tolist()
    if args.json:
        print(json.dumps(result, indent=2))
        return EXIT_OK
    print(f"{args.model} on {data.origin} ({args.split}): {format_metrics(result)}")
    if data.classification and args.confusion:
        _print_confusion(confusion, data.classes)
    return EXIT_OK
