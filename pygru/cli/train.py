"""`pygru train DATA -o MODEL.npz`: train a GRU classifier or regressor."""
import time

import numpy as np

from ._common import (EXIT_OK, CLIError, interrupted_status, UsageError, evaluate, format_metrics, fraction, hidden_sizes,
                      load_data, non_negative_float, output_file, positive_float, positive_int, say, seed)

NAME = "train"
HELP = "train a GRU on sequence data"
SESSION = ("pygru train spoken_digits -o kws.npz", "train (bundled data set, .npz or .csv)")

DESCRIPTION = """\
Train a GRU on sequence data and save it as a pygru model (.npz).

DATA is one of:
  a bundled data set name    spoken_digits (see `pygru info`)
  FILE.npz   arrays X_train (N, T, I) float and y_train (N,): int class indices
             for classification, or (N,)/(N, O) float targets for regression;
             optionally X_test, y_test (else --test-split of the data is held
             out) and classes (names). Or just X and y. No pickles.
  FILE.csv   one row per time step with a header row: a `sequence` column (id;
             a sequence's rows are consecutive, in time order), a `label`
             column (integer class or class name), an optional `split` column
             (train/test), every other column a feature. All sequences have
             the same number of rows.

The model is GRU layer(s) + a dense head: class logits trained with softmax
cross-entropy for integer labels, linear outputs trained with MSE for float
targets. The test accuracy (or MSE) is printed at the end.
"""

EXAMPLES = """\
examples:
  pygru train spoken_digits -o kws.npz
  pygru train spoken_digits -o kws.npz --hidden 64 --epochs 30 --lr 0.005
  pygru train motion.csv -o motion.npz --hidden 32,32 --optimizer sgd --lr 0.05
  pygru train data.npz -o model.npz --val-split 0.1 --early-stopping 5 --history hist.json
  pygru train spoken_digits -o kws.npz --epochs 50 --checkpoint ckpt.npz --resume
      (after a Ctrl-C, the same command continues from the last finished epoch)
"""


def add_arguments(p):
    p.add_argument("data", metavar="DATA", help="bundled data set name, .npz or .csv (layouts above)")
    p.add_argument("-o", "--output", required=True, metavar="MODEL.npz", help="where to save the trained model")
    g = p.add_argument_group("model")
    g.add_argument("--hidden", type=hidden_sizes, default=[32], metavar="H[,H...]",
                   help="hidden size per GRU layer (default 32; 64,32 = two layers)")
    g.add_argument("--reset-before", action="store_true",
                   help="reset gate before the recurrent matmul (Cho 2014 / ONNX default); "
                        "default: after (PyTorch / Keras)")
    g = p.add_argument_group("training")
    g.add_argument("--epochs", type=positive_int, default=20, help="default 20")
    g.add_argument("--batch-size", type=positive_int, default=32, help="default 32")
    g.add_argument("--optimizer", choices=["adam", "sgd"], default="adam", help="default adam")
    g.add_argument("--lr", type=positive_float, default=1e-2, help="learning rate (default 0.01)")
    g.add_argument("--momentum", type=fraction, default=0.9, help="SGD momentum (default 0.9)")
    g.add_argument("--weight-decay", type=non_negative_float, default=0.0, help="default 0")
    g.add_argument("--clip-norm", type=positive_float, default=None, help="global gradient-norm clip")
    g.add_argument("--loss", choices=["auto", "cross_entropy", "mse"], default="auto",
                   help="default: cross_entropy for integer labels, mse for float targets")
    g.add_argument("--val-split", type=fraction, default=0.0,
                   help="fraction of the training data held out for validation (default 0)")
    g.add_argument("--early-stopping", type=positive_int, default=None, metavar="PATIENCE",
                   help="stop after PATIENCE epochs without validation improvement (needs --val-split)")
    g.add_argument("--test-split", type=fraction, default=0.2,
                   help="fraction held out as the test split when DATA has none (default 0.2)")
    g.add_argument("--seed", type=seed, default=0, help="seed for initialisation, shuffling and splits")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
    g.add_argument("--history", metavar="FILE.json", help="also write the per-epoch history as JSON")
    g.add_argument("--checkpoint", metavar="FILE.npz",
                   help="write a checkpoint after every epoch (atomically), to survive interruptions")
    g.add_argument("--resume", action="store_true",
                   help="continue from --checkpoint if it exists (rerun the same command after a Ctrl-C)")


def _check_outputs(args):
    output_file(args.output, (".npz",))
    if args.history:
        output_file(args.history, (".json",), "--history")
    if args.checkpoint:
        output_file(args.checkpoint, (".npz",), "--checkpoint")
    elif args.resume:
        raise UsageError("--resume needs --checkpoint FILE.npz")


def _split_validation(args, X, y):
    """(X, y, validation data or None) after holding out --val-split."""
    if args.val_split <= 0:
        return X, y, None
    n_val = int(round(len(X) * args.val_split))
    if n_val < 1 or n_val >= len(X):
        raise UsageError(f"--val-split {args.val_split} of {len(X)} training sequences leaves no "
                         f"training or no validation sequence")
    perm = np.random.default_rng(args.seed + 1).permutation(len(X))
    return X[perm[n_val:]], y[perm[n_val:]], (X[perm[:n_val]], y[perm[:n_val]])


def _fit_options(args, loss, validation):
    kwargs = dict(loss=loss, epochs=args.epochs, batch_size=args.batch_size, optimizer=args.optimizer,
                  lr=args.lr, weight_decay=args.weight_decay, validation_data=validation, seed=args.seed,
                  progress=not args.no_progress and not args.quiet)
    if args.clip_norm is not None:
        kwargs["clip_norm"] = args.clip_norm
    if args.checkpoint:
        kwargs.update(checkpoint=args.checkpoint, resume=args.resume)
    if args.optimizer == "sgd":
        kwargs["momentum"] = args.momentum
    if args.early_stopping is not None:
        if validation is None:
            raise UsageError("--early-stopping needs a validation split (--val-split > 0)")
        kwargs["early_stopping"] = args.early_stopping
    return kwargs


def run(args):
    from .. import GRUModel
    if not hasattr(GRUModel, "fit"):
        raise CLIError("this pygru has no training (GRUModel.fit); install a pygru with training support")
    _check_outputs(args)
    data = load_data(args.data, args.test_split, args.seed)
    loss = args.loss
    if loss == "auto":
        loss = "cross_entropy" if data.classification else "mse"
    if loss == "cross_entropy" and not data.classification:
        raise UsageError("--loss cross_entropy needs integer class labels; DATA has float targets")
    say(args, f"data: {data.describe()}")
    X, y, validation = _split_validation(args, data.X_train, data.y_train)
    try:
        model = GRUModel(input_size=data.input_size, hidden_sizes=args.hidden, output_size=data.output_size,
                         reset_after=not args.reset_before, seed=args.seed)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    say(args, f"model: {model}")
    _check_room(args, model)
    kwargs = _fit_options(args, loss, validation)
    t0 = time.perf_counter()
    history = model.fit(X, y, **kwargs)
    seconds = time.perf_counter() - t0
    stopped = getattr(history, "stopped", None)
    if stopped:
        best = getattr(history, "best_epoch", None)
        say(args, f"training stopped early ({stopped}); keeping the best weights"
                  + (f" (epoch {best})" if best else ""))
    model.save(args.output)
    result = evaluate(model, data.X_test, data.y_test, data.classification)
    say(args, f"trained in {seconds:.1f} s; test {format_metrics(result)}")
    say(args, f"wrote {args.output}")
    if args.history:
        from .._io import write_json
        from ..demo import history_series
        write_json(args.history, {"history": history_series(history), "test": result,
                                  "seconds": round(seconds, 3), "data": data.origin,
                                  "model": model.config()})
        say(args, f"wrote {args.history}")
    # Ctrl-C and SIGTERM (cli.stop_signals) end here too, after the best weights were
    # saved and evaluated: the conventional status 128 + the signal's number.
    return interrupted_status() if stopped == "interrupted" else EXIT_OK


def _check_room(args, model):
    """Refuse to start training when the disk cannot take what it will write:
    the model (its float32 parameters and the .npz around them) and, with
    --checkpoint, about four copies of them (parameters, best parameters,
    optimizer moments)."""
    from .._io import check_free_space
    n = sum(int(np.prod(s)) for s in model.weight_shapes().values()) * 4 + 65536
    try:
        check_free_space("--output", args.output, n)
        if args.checkpoint:
            check_free_space("--checkpoint", args.checkpoint, 4 * n)
    except OSError as exc:
        raise CLIError(str(exc)) from None
