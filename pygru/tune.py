"""pygru.tune: the most accurate GRU that fits a microcontroller's budget.

    >>> result = pygru.tune("spoken_digits", target="cortex-m4f", mhz=64,
    ...                     flash=32 * 1024, ram=8 * 1024, latency_ms=1.0,
    ...                     n_trials=30, output_dir="tune_out")
    >>> result.chosen["config"], result.chosen["flash"]

Searches SPACE (GRU layers, hidden sizes, reset convention, precision, learning
rate, epochs) with Optuna's multi-objective TPE sampler. Objectives: validation
accuracy (or loss) and the model's flash, RAM and time per step on the target;
the limits are hard constraints (Optuna's constraints_func), and a sampled
model over budget is never trained (its footprint is known from its shape).
Every trial trains with pygru's C code. The result is the Pareto front of the
feasible trials and the chosen model: the most accurate feasible one (lowest
loss with objective "loss"); ties go to the smaller flash, RAM, latency, then
the earlier trial.

Footprint (pygru/_tune_cost.py): flash = weight arrays as the exported header
holds them + runtime code and read-only data; RAM = state + scratch; time per
step = instructions per step (exact QEMU count when the cross toolchain and
QEMU are installed, else a model calibrated on such counts) * cpi / MHz.

In-process by default, the study in an SQLite file in output_dir so an
interrupted search resumes where it stopped (n_trials is the total). With
`workers=N` (a local Dask cluster of N worker processes) or `address=` (an
existing Dask scheduler) trials train in parallel; sampling and the study stay
in this process. Needs optuna (and dask[distributed] to scale out): pip install
"pygru[tune]". docs/tune.md has the details.
"""
import dataclasses
import json
import math
import os
import sys
import time
import warnings

import numpy as np

from ._tune_cost import PRECISIONS, TARGETS, CostEstimator

OBJECTIVES = {"accuracy": "maximize", "loss": "minimize", "flash": "minimize", "ram": "minimize",
              "latency": "minimize"}
DEFAULT_OBJECTIVES = ("accuracy", "flash", "ram", "latency")
STUDY_NAME = "pygru-tune"
CALIBRATION_SEQUENCES = 256      # training sequences the quantizers calibrate on
EARLY_STOP_PATIENCE = 3          # epochs without validation improvement before a trial stops


# --------------------------------------------------------------------------- the search space

@dataclasses.dataclass(frozen=True)
class Param:
    """One dimension of the search. kind "choice" (values: the choices) or
    "log" (values: (low, high), sampled log-uniformly). per_layer: sampled once
    per GRU layer, as name_l0, name_l1, ... (needs "layers" before it)."""
    name: str
    kind: str
    values: tuple
    help: str
    per_layer: bool = False


# A new kind of layer or option (issue 13: Dense pre-nets, MLP heads,
# bidirectional) is one row here and one line in build_model.
SPACE = (
    Param("layers", "choice", (1, 2), "stacked GRU layers"),
    Param("hidden", "choice", (8, 12, 16, 24, 32, 48, 64, 96, 128), "hidden size of each GRU layer",
          per_layer=True),
    Param("reset_after", "choice", (True, False),
          "reset gate after the recurrent matmul (PyTorch) or before it (Cho 2014 / ONNX)"),
    Param("precision", "choice", PRECISIONS, "float32 weights, int8 weights, or integer-only"),
    Param("lr", "log", (1e-3, 3e-2), "Adam learning rate"),
    Param("epochs", "choice", (10, 20, 30), "training epochs (fewer if validation stops improving)"),
)


def make_space(overrides=None):
    """SPACE with some dimensions replaced: {name: values}. A list/tuple of
    choices for "choice" dimensions, a (low, high) pair for "log" ones, or a
    single value to fix a dimension. Returns {name: Param}."""
    space = {p.name: p for p in SPACE}
    for name, values in (overrides or {}).items():
        if name not in space:
            raise ValueError(f"space: unknown dimension {name!r}; expected some of {list(space)}")
        p = space[name]
        vals = tuple(values) if isinstance(values, (list, tuple)) else (values,)
        if not vals:
            raise ValueError(f"space[{name!r}]: expected at least one value, got none")
        if p.kind == "log":
            if len(vals) == 1:
                vals = (vals[0], vals[0])
            if len(vals) != 2 or not all(isinstance(v, (int, float)) and v > 0 for v in vals) \
                    or vals[0] > vals[1]:
                raise ValueError(f"space[{name!r}]: expected (low, high) with 0 < low <= high, got {values!r}")
            vals = (float(vals[0]), float(vals[1]))
        else:
            bad = [v for v in vals if not _valid_choice(name, v)]
            if bad:
                raise ValueError(f"space[{name!r}]: invalid value(s) {bad}; expected {_choice_help(p)}")
            vals = tuple(dict.fromkeys(vals))
        space[name] = dataclasses.replace(p, values=vals)
    return space


def _valid_choice(name, v):
    if name == "precision":
        return v in PRECISIONS
    if name == "reset_after":
        return isinstance(v, (bool, np.bool_))
    if name in ("layers", "hidden", "epochs"):
        top = {"layers": 8, "hidden": 511, "epochs": 100000}[name]
        return isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 1 <= v <= top
    return True


def _choice_help(p):
    return {"precision": f"some of {list(PRECISIONS)}", "reset_after": "True and/or False",
            "layers": "integers in 1..8", "hidden": "integers in 1..511",
            "epochs": "positive integers"}.get(p.name, "values")


def _suggest(trial, p, name):
    if p.kind == "log":
        lo, hi = p.values
        return lo if lo == hi else trial.suggest_float(name, lo, hi, log=True)
    return trial.suggest_categorical(name, list(p.values))


def sample(trial, space):
    """A trial's configuration {name: value}, per-layer dimensions as lists."""
    config = {}
    for p in space.values():
        if p.per_layer:
            config[p.name] = [_suggest(trial, p, f"{p.name}_l{l}") for l in range(config["layers"])]
        else:
            config[p.name] = _suggest(trial, p, p.name)
    return config


def _smallest(space, precision):
    """The configuration with the smallest footprint for one precision (the
    dimensions that do not change the footprint in the middle of their range)."""
    config = {}
    for p in space.values():
        if p.kind == "log":
            value = math.sqrt(p.values[0] * p.values[1])
        elif p.name == "reset_after":
            value = True in p.values
        elif p.name in ("layers", "hidden"):
            value = min(p.values)
        else:
            value = sorted(p.values)[len(p.values) // 2]
        config[p.name] = [value] * config["layers"] if p.per_layer else value
    config["precision"] = precision
    return config


def build_model(config, input_size, output_size, seed):
    from .model import GRUModel
    return GRUModel(input_size, list(config["hidden"]), output_size=output_size,
                    reset_after=bool(config["reset_after"]), seed=seed)


def describe(config):
    ra = "after" if config["reset_after"] else "before"
    return f"{'x'.join(map(str, config['hidden']))} {config['precision']} reset-{ra}"


# --------------------------------------------------------------------------- one trial (any process)

def _metrics(out, y, classification):
    out = np.asarray(out, np.float64)
    if classification:
        z = out - out.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return {"accuracy": float(np.mean(out.argmax(axis=1) == y)),
                "loss": float(-np.mean(logp[np.arange(len(y)), y]))}
    return {"accuracy": None, "loss": float(np.mean((out - y.reshape(out.shape)) ** 2))}


def final_model(model, config, X_train):
    """The model as deployed: the float model, or its quantization."""
    if config["precision"] == "float":
        return model
    from .quantize import quantize
    return quantize(model, X_train[:CALIBRATION_SEQUENCES], mode=config["precision"])


def run_trial(config, data, seed, train=True):
    """Train (unless train=False: over budget) and validate one configuration.
    `data` = (X, y, X_val, y_val, classification, output_size). Returns the
    validation metrics, the float weights and the seconds taken. Pure function
    of its arguments: runs the same on a Dask worker."""
    t0 = time.perf_counter()
    X, y, Xv, yv, classification, output_size = data
    model = build_model(config, X.shape[2], output_size, seed)
    stopped_at = 0
    if train:
        hist = model.fit(X, y, loss="cross_entropy" if classification else "mse", epochs=config["epochs"],
                         lr=config["lr"], batch_size=32, seed=seed, validation_data=(Xv, yv),
                         early_stopping=EARLY_STOP_PATIENCE, progress=False)
        stopped_at = int(hist.epochs_run)
    deployed = final_model(model, config, X)
    result = _metrics(deployed.predict(Xv), yv, classification)
    result.update(weights=model.get_weights(), epochs_run=stopped_at, seconds=time.perf_counter() - t0)
    return result


def _shape(config, input_size, output_size):
    """(precision, input size, hidden sizes, head size, reset_after per layer)."""
    return (config["precision"], input_size, tuple(config["hidden"]), output_size,
            (bool(config["reset_after"]),) * config["layers"])


def _fits(fp, limits):
    return all(v <= 0 for v in _violations(fp, limits).values())


_ESTIMATORS = {}     # per worker process: (target, mhz, cpi, method) -> CostEstimator


def evaluate(config, data, seed, limits, cost, fp=None):
    """One trial where it runs: the footprint (unless known), then run_trial,
    training only if the footprint is within `limits`. `cost` is a
    CostEstimator, or its (target, mhz, cpi, method) on a Dask worker."""
    if fp is None:
        if isinstance(cost, tuple):
            if cost not in _ESTIMATORS:
                _ESTIMATORS[cost] = CostEstimator(*cost)
            cost = _ESTIMATORS[cost]
        fp = cost.footprint(*_shape(config, data[0].shape[2], data[5]))
    feasible = _fits(fp, limits)
    res = run_trial(config, data, seed, train=feasible)
    res.update(footprint=fp, trained=feasible)
    return res


# --------------------------------------------------------------------------- executors

class _Done:
    """A finished in-process trial (hashable, unlike its result dict)."""

    def __init__(self, value, error):
        self.value, self.error = value, error


class _InProcess:
    """Runs each trial when submitted (the default)."""
    slots = 1

    def __init__(self, data, cost):
        self.data, self.cost = data, cost

    def submit(self, config, seed, limits, fp):
        try:
            return _Done(evaluate(config, self.data, seed, limits, self.cost, fp), None)
        except Exception as exc:    # reported like a failed Dask task
            return _Done(None, exc)

    def wait(self, pending):
        return list(pending)

    def result(self, handle):
        if handle.error is not None:
            raise handle.error
        return handle.value

    def close(self):
        pass


class _Dask:
    """Trials as tasks on a Dask cluster: a local one with `workers` processes,
    or the scheduler at `address`. The data goes to every worker once."""

    def __init__(self, data, cost, workers=0, address=None):
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            raise ImportError("scaling out needs Dask: pip install 'dask[distributed]' "
                              "(or pip install 'pygru[tune]')") from None
        self._cluster = None
        if address is not None:
            self.client = address if hasattr(address, "submit") else Client(address)
            self._own_client = not hasattr(address, "submit")
        else:
            # One thread per worker process: a trial's Python parts (batching,
            # metrics) never wait for another trial's GIL.
            self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            self.client = Client(self._cluster)
            self._own_client = True
        self.slots = max(1, sum(self.client.nthreads().values()))
        self._data = self.client.scatter(data, broadcast=True)
        self._cost = (cost.target, cost.mhz, cost.cpi, cost.method)

    def submit(self, config, seed, limits, fp):
        return self.client.submit(evaluate, config, self._data, seed, limits, self._cost, fp, pure=False)

    def wait(self, pending):
        from distributed import wait
        return list(wait(list(pending), return_when="FIRST_COMPLETED").done)

    def result(self, handle):
        return handle.result()

    def close(self):
        if self._own_client:
            self.client.close()
        if self._cluster is not None:
            self._cluster.close()


# --------------------------------------------------------------------------- data

def _prepare_data(data, validation, val_fraction, seed):
    """(train tuple for run_trial, test (X, y) or None, description)."""
    from . import _datafile
    from ._validate import float_array
    test = None
    if isinstance(data, (str, os.PathLike)):
        d = _datafile.load(os.fspath(data), seed=0)
        X, y, classification = d.X_train, d.y_train, d.classification
        test, origin = (d.X_test, d.y_test), d.origin
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        X = float_array("data[0] (X)", data[0], (3,))
        y = np.asarray(data[1])
        classification = y.dtype.kind in "iu"
        origin = "arrays"
    else:
        raise TypeError(f"data: expected a data set name / file path or (X, y), got {type(data).__name__}")
    y = _labels("data[1] (y)", y, len(X), classification)
    if validation is None:
        if not 0 < val_fraction < 1:
            raise ValueError(f"val_fraction: expected a number in (0, 1), got {val_fraction!r}")
        # The validation split depends on `seed`, so that different seeds are
        # different experiments; the test split (if any) is never seen.
        idx = np.random.default_rng(seed).permutation(len(X))
        n_val = max(1, int(round(val_fraction * len(X))))
        if n_val >= len(X):
            raise ValueError(f"data: {len(X)} sequences are too few to hold out a validation split")
        Xv, yv, X, y = X[idx[:n_val]], y[idx[:n_val]], X[idx[n_val:]], y[idx[n_val:]]
    else:
        if not (isinstance(validation, (tuple, list)) and len(validation) == 2):
            raise TypeError(f"validation: expected (X_val, y_val), got {type(validation).__name__}")
        Xv = float_array("validation[0] (X_val)", validation[0], (3,), X.shape[2])
        yv = _labels("validation[1] (y_val)", np.asarray(validation[1]), len(Xv), classification)
    if classification:
        output_size = int(max(y.max(), yv.max())) + 1
    else:
        output_size = int(y.shape[1])
    return (np.ascontiguousarray(X), y, np.ascontiguousarray(Xv), yv, classification, output_size), test, origin


def _crc(arrays):
    """CRC-32 of the arrays' bytes: a resumed study must see the same data."""
    import zlib
    crc = 0
    for a in arrays:
        crc = zlib.crc32(np.ascontiguousarray(a).tobytes(), crc)
    return crc


def _labels(name, y, n, classification):
    if len(y) != n:
        raise ValueError(f"{name}: expected {n} labels (one per sequence), got {len(y)}")
    if classification:
        if y.ndim != 1 or y.min() < 0:
            raise ValueError(f"{name}: class labels must be 1-D integers >= 0, got shape {y.shape}")
        return y.astype(np.int64)
    y = np.asarray(y, np.float32)
    return y.reshape(n, -1)


# --------------------------------------------------------------------------- the study

@dataclasses.dataclass
class TuneResult:
    """front: the Pareto-optimal feasible trials (dicts, best first); chosen:
    the chosen trial (None if no trial fitted the budget); model: its deployed
    model (GRUModel or QuantizedGRUModel); report: everything, as written to
    report.json; table: the front as printed."""
    front: list
    chosen: dict
    model: object
    report: dict
    table: str
    files: dict


class ImpossibleBudget(ValueError):
    """Nothing in the search space fits the limits."""


def _parse_limit(name, value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or not math.isfinite(value):
        raise ValueError(f"{name}: expected a positive number or None, got {value!r}")
    return float(value)


def _violations(fp, limits):
    """Constraint values for Optuna (<= 0 is within the limit), one per set
    limit, relative to the limit: TPE ranks infeasible trials by the sum of
    their violations, which must not weigh bytes against milliseconds."""
    return {key: float(fp[key] / lim - 1.0) for key, lim in limits.items() if lim is not None}


def _impossible(space, cost, input_size, output_size, limits, target, mhz):
    needs, fits = [], False
    for precision in space["precision"].values:
        c = _smallest(space, precision)
        fp = cost.footprint(precision, input_size, c["hidden"], output_size, [c["reset_after"]] * c["layers"])
        if _fits(fp, limits):
            fits = True
        needs.append(f"{describe(c)}: flash {fp['flash']} B, RAM {fp['ram']} B, "
                     f"{fp['latency_ms']:.4g} ms/step")
    if fits:
        return None
    lim = ", ".join(f"{k} {v:g}{u}" for k, v, u in (("flash", limits["flash"], " B"), ("RAM", limits["ram"], " B"),
                                                    ("latency", limits["latency_ms"], " ms/step")) if v is not None)
    return (f"nothing in the search space fits {target} at {mhz:g} MHz within {lim}; the smallest "
            f"model of each precision needs: " + "; ".join(needs))


def _progress(enabled, total, initial):
    if not enabled:
        return None
    if sys.stderr.isatty():
        try:
            from tqdm.auto import tqdm
            return tqdm(total=total, initial=initial, desc="pygru tune", unit="trial")
        except ImportError:
            pass
    return "lines"


def _check_arguments(target, mhz, flash, ram, latency_ms, cpi, objectives, n_trials, workers, seed):
    """tune()'s scalar arguments checked; returns (mhz, limits, cpi, objectives)."""
    if target not in TARGETS:
        raise ValueError(f"target: expected one of {list(TARGETS)}, got {target!r}")
    mhz = _parse_limit("mhz", mhz)
    if mhz is None:
        raise ValueError("mhz: expected the target's clock in MHz (a positive number), got None")
    limits = {"flash": _parse_limit("flash", flash), "ram": _parse_limit("ram", ram),
              "latency_ms": _parse_limit("latency_ms", latency_ms)}
    cpi = _parse_limit("cpi", cpi)
    if isinstance(objectives, str):
        objectives = (objectives,)
    objectives = tuple(objectives)
    bad = [o for o in objectives if o not in OBJECTIVES]
    if bad or not objectives or len(set(objectives)) != len(objectives) or \
            not ({"accuracy", "loss"} & set(objectives)):
        raise ValueError(f"objectives: expected distinct names from {list(OBJECTIVES)} including "
                         f"'accuracy' or 'loss', got {list(objectives)}")
    if isinstance(n_trials, bool) or not isinstance(n_trials, (int, np.integer)) or n_trials < 1:
        raise ValueError(f"n_trials: expected a positive integer, got {n_trials!r}")
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 0:
        raise ValueError(f"workers: expected a non-negative integer, got {workers!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed: expected a non-negative integer, got {seed!r}")
    return mhz, limits, cpi, objectives


def _enqueue_baseline(study, space, cost, input_size, output_size, limits):
    """A feasible baseline first: the smallest model of the first precision that fits."""
    for precision in space["precision"].values:
        c = _smallest(space, precision)
        fp = cost.footprint(precision, input_size, c["hidden"], output_size, [c["reset_after"]] * c["layers"])
        if _fits(fp, limits):
            study.enqueue_trial(_params(c, space))
            return


def _output_and_storage(output_dir, storage):
    """The output folder (created) and the study's storage: output_dir/tune.db by default."""
    if output_dir is None:
        return None, storage
    output_dir = os.fspath(output_dir)
    os.makedirs(output_dir, exist_ok=True)
    if storage is None:
        storage = "sqlite:///" + os.path.abspath(os.path.join(output_dir, "tune.db"))
    return output_dir, storage


def tune(data, validation=None, *, target, mhz, flash=None, ram=None, latency_ms=None, n_trials=30,
         objectives=DEFAULT_OBJECTIVES, space=None, seed=0, output_dir=None, storage=None,
         study_name=STUDY_NAME, workers=0, address=None, latency="auto", cpi=1.0, val_fraction=0.2,
         header_name="model", progress=True):
    """Search for the best GRU within a target's budget; see the module doc.

    data: a bundled data set name or a data file (.npz / .csv as `pygru train`
    reads them), or (X, y) arrays: X float (N, T, I), y int class labels (N,)
    or float targets (N, O). validation: (X_val, y_val); default: val_fraction
    of the training data, drawn with `seed` (a data set's test split is never
    used for the search). target: one of the 8 cross targets; mhz: its clock.
    flash, ram (bytes), latency_ms (per step): limits, None for no limit.
    objectives: some of "accuracy" (classification) or "loss", "flash", "ram",
    "latency". space: {dimension: values} overrides of SPACE (make_space).
    output_dir: where the study (tune.db), report.json, front.png, model.npz
    and the C header go (None: an in-memory study, nothing written). storage:
    an Optuna storage URL instead of output_dir/tune.db. workers: N > 0 runs
    trials on a local Dask cluster of N processes; address: an existing Dask
    scheduler (or distributed.Client). latency: "auto", "qemu" (exact counts,
    needs the toolchain + QEMU) or "model" (calibrated); cpi: cycles per
    instruction. Returns a TuneResult."""
    try:
        import optuna
    except ImportError:
        raise ImportError("pygru.tune needs Optuna: pip install optuna (or pip install 'pygru[tune]')") from None
    from . import _tune_report as rep

    mhz, limits, cpi, objectives = _check_arguments(target, mhz, flash, ram, latency_ms, cpi, objectives,
                                                    n_trials, workers, seed)
    from .export import check_name
    header_name = check_name(header_name)
    space = make_space(space)
    train, test, origin = _prepare_data(data, validation, val_fraction, seed)
    classification = train[4]
    if "accuracy" in objectives and not classification:
        raise ValueError("objectives: 'accuracy' needs class labels (integer y); use 'loss' for regression")
    input_size, output_size = train[0].shape[2], train[5]
    output_dir, storage = _output_and_storage(output_dir, storage)

    cost = CostEstimator(target, mhz, cpi, latency,
                         cache_path=os.path.join(output_dir, "counts.json") if output_dir else None)
    executor = None
    bar = None
    try:
        msg = _impossible(space, cost, input_size, output_size, limits, target, mhz)
        if msg:
            raise ImpossibleBudget(msg)

        settings = {"target": target, "mhz": mhz, "cpi": cpi, "limits": limits, "objectives": list(objectives),
                    "space": {p.name: list(p.values) for p in space.values()}, "seed": int(seed),
                    "data": origin, "train_shape": list(train[0].shape), "val_shape": list(train[2].shape),
                    "data_crc32": _crc(train[:4]),
                    "latency_source": cost.method}
        study, n_done = _open_study(optuna, storage, study_name, objectives, settings, seed, limits)
        if n_done == 0 and not study.trials:
            _enqueue_baseline(study, space, cost, input_size, output_size, limits)
        t0 = time.perf_counter()      # the search's wall time includes starting a cluster
        executor = _Dask(train, cost, workers, address) if (workers or address is not None) \
            else _InProcess(train, cost)
        bar = _progress(progress, n_trials, min(n_done, n_trials))
        weights = _search(study, space, cost, executor, train, limits, objectives, seed, n_trials, n_done,
                          input_size, output_size, bar, output_dir)
        wall = time.perf_counter() - t0
    except BaseException:
        if bar not in (None, "lines"):
            bar.close()
        if executor is not None:
            executor.close()
        cost.close()
        raise
    if bar not in (None, "lines"):
        bar.close()
    executor.close()
    try:
        found = rep.finish(study, settings, objectives, cost, train, test, output_dir, header_name, wall,
                           executor.slots, weights, (build_model, final_model, describe))
        return TuneResult(**found)
    finally:
        cost.close()


def _params(config, space):
    """Optuna parameter names and values of a configuration (enqueue_trial)."""
    out = {}
    for p in space.values():
        if p.kind == "log" and p.values[0] == p.values[1]:
            continue
        if p.per_layer:
            out.update({f"{p.name}_l{l}": v for l, v in enumerate(config[p.name])})
        else:
            out[p.name] = config[p.name]
    return out


def _open_study(optuna, storage, study_name, objectives, settings, seed, limits):
    from optuna.trial import TrialState
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    keys = [key for key, lim in limits.items() if lim is not None]

    def constraints(trial):
        c = trial.user_attrs.get("constraints", {})
        return [c.get(key, 1.0) for key in keys]

    def sampler(n_existing):
        # A resumed study gets its own sampler seed, so it does not replay the
        # first run's random start-up draws. Optuna 5 reads constraints set on
        # the trial (Trial.set_constraint); Optuna 4 asks constraints_func.
        extra = {} if hasattr(optuna.trial.Trial, "set_constraint") else {"constraints_func": constraints}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            # multivariate + group: TPE models the per-layer sizes jointly with
            # the number of layers they depend on.
            return optuna.samplers.TPESampler(seed=int(seed) + n_existing, multivariate=True, group=True,
                                              n_startup_trials=8, **extra)

    directions = [OBJECTIVES[o] for o in objectives]
    if storage is None:
        study = optuna.create_study(sampler=sampler(0), directions=directions)
    else:
        if isinstance(storage, str):
            storage = optuna.storages.RDBStorage(storage)
        probe = optuna.create_study(storage=storage, study_name=study_name, load_if_exists=True,
                                    directions=directions)
        study = optuna.load_study(storage=storage, study_name=study_name, sampler=sampler(len(probe.trials)))
    if [d.name.lower() for d in study.directions] != directions:
        raise ValueError(f"storage: study {study_name!r} optimises {len(study.directions)} other objectives; "
                         "use another output directory")
    wanted = json.loads(json.dumps(settings))
    old = study.user_attrs.get("settings")
    if old is None:
        study.set_user_attr("settings", wanted)
    elif old != wanted:
        diff = sorted(key for key in set(old) | set(wanted) if old.get(key) != wanted.get(key))
        raise ValueError(f"storage: study {study_name!r} was made with other settings (differs in: "
                         f"{', '.join(diff)}); use another output directory, or the same settings to resume it")
    # A trial left running belongs to a run that was interrupted: this process
    # owns the study, so nothing else will finish it.
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(t.number, state=TrialState.FAIL)
    n_done = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    return study, n_done


def _search(study, space, cost, executor, train, limits, objectives, seed, n_trials, n_done,
            input_size, output_size, bar, output_dir):
    from optuna.trial import TrialState
    pending, weights = {}, {}
    finished, failures = n_done, 0

    def tell(trial, config, res):
        nonlocal finished
        fp = res["footprint"]
        violations = _violations(fp, limits)
        for key, value in (("footprint", fp), ("constraints", violations), ("feasible", res["trained"]),
                           ("accuracy", res["accuracy"]), ("loss", res["loss"]),
                           ("epochs_run", res["epochs_run"]), ("seconds", res["seconds"])):
            trial.set_user_attr(key, value)
        if hasattr(trial, "set_constraint"):
            for key, v in violations.items():
                trial.set_constraint(key, v)
        if res["trained"]:
            weights[trial.number] = res["weights"]
            if output_dir:
                m = build_model(config, input_size, output_size, 0)
                m.set_weights(res["weights"])
                os.makedirs(os.path.join(output_dir, "trials"), exist_ok=True)
                m.save(os.path.join(output_dir, "trials", f"trial_{trial.number}.npz"))
        values = {"accuracy": res["accuracy"], "loss": res["loss"], "flash": fp["flash"], "ram": fp["ram"],
                  "latency": fp["latency_ms"]}
        study.tell(trial, [float(values[o]) for o in objectives])
        finished += 1
        if bar == "lines":
            acc = f"accuracy {res['accuracy']:.3f}" if res["accuracy"] is not None else f"loss {res['loss']:.4g}"
            print(f"pygru tune: trial {finished}/{n_trials} ({describe(config)}): {acc}, flash {fp['flash']} B, "
                  f"RAM {fp['ram']} B, {fp['latency_ms']:.3g} ms/step"
                  f"{'' if res['trained'] else ' (over budget: not trained)'}", file=sys.stderr, flush=True)
        elif bar is not None:
            bar.update(1)

    try:
        while finished + len(pending) < n_trials or pending:
            while len(pending) < executor.slots and finished + len(pending) < n_trials:
                trial = study.ask()
                config = sample(trial, space)
                trial.set_user_attr("config", config)
                tseed = int(seed) * 100003 + trial.number
                fp = cost.cached(*_shape(config, input_size, output_size))
                if fp is not None and not _fits(fp, limits):
                    # Over budget whatever it learns: validated untrained, for the sampler.
                    tell(trial, config, evaluate(config, train, tseed, limits, cost, fp))
                    continue
                # Shapes not counted yet are counted where the trial runs
                # (a Dask worker counts while another trains).
                try:
                    handle = executor.submit(config, tseed, limits, fp)
                except BaseException:       # Ctrl-C during an in-process trial
                    study.tell(trial, state=TrialState.FAIL)
                    raise
                pending[handle] = (trial, config)
            if not pending:
                continue
            for handle in executor.wait(pending):
                trial, config = pending.pop(handle)
                try:
                    res = executor.result(handle)
                except Exception as exc:   # a trial that fails is recorded, the search goes on
                    trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
                    study.tell(trial, state=TrialState.FAIL)
                    failures += 1
                    if failures >= max(3, n_trials):
                        raise RuntimeError(f"{failures} trials failed in this run, the last one "
                                           f"({describe(config)}) with {type(exc).__name__}: {exc}") from exc
                    if bar == "lines":
                        print(f"pygru tune: trial {trial.number} failed: {exc}", file=sys.stderr)
                    continue
                cost.remember(*_shape(config, input_size, output_size), res["footprint"])
                tell(trial, config, res)
    except BaseException:
        for trial, _ in pending.values():
            study.tell(trial, state=TrialState.FAIL)
        raise
    return weights


class _CallableModule(type(sys)):
    """Lets `pygru.tune(data, ...)` call tune() while pygru.tune.SPACE etc.
    stay reachable on the module (as pygru.quantize does)."""

    def __call__(self, *args, **kwargs):
        return tune(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
