"""The end of a pygru.tune study: Pareto front, chosen model, table, plot,
JSON report, saved model and C header. Private (pygru.tune calls finish)."""
import json
import os

import numpy as np

ASSUMPTION = ("time per step = instructions per step x cpi / MHz; instructions counted (or modelled) for "
              "the gru_c stream step at -O2; cpi is an assumption, not a measurement: QEMU models no "
              "pipeline, flash wait states or caches")


def trial_records(study):
    from optuna.trial import TrialState
    out = []
    for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        a = t.user_attrs
        fp = a["footprint"]
        out.append({"trial": t.number, "config": a["config"], "feasible": bool(a["feasible"]),
                    "trained": bool(a["feasible"]), "accuracy": a.get("accuracy"),
                    "loss": a.get("loss"), "epochs_run": a.get("epochs_run"), "seconds": a.get("seconds"),
                    "flash": fp["flash"], "ram": fp["ram"], "weight_bytes": fp["weight_bytes"],
                    "runtime_bytes": fp["runtime_bytes"], "insn_per_step": fp["insn_per_step"],
                    "latency_ms": fp["latency_ms"], "latency_source": fp["latency_source"]})
    return out


def _key(r, objective):
    """Sort key of a feasible record: best first."""
    quality = -r["accuracy"] if objective == "accuracy" else r["loss"]
    return (quality, r["flash"], r["ram"], r["latency_ms"], r["trial"])


_VALUE = {"accuracy": lambda r: -r["accuracy"], "loss": lambda r: r["loss"], "flash": lambda r: r["flash"],
          "ram": lambda r: r["ram"], "latency": lambda r: r["latency_ms"]}


def pareto_front(records, objectives):
    """The records no other record dominates (all objectives as minimised)."""
    vals = [[_VALUE[o](r) for o in objectives] for r in records]
    front = []
    for i, v in enumerate(vals):
        dominated = any(all(a <= b for a, b in zip(w, v)) and any(a < b for a, b in zip(w, v))
                        for j, w in enumerate(vals) if j != i)
        if not dominated:
            front.append(records[i])
    return front


def _fmt_config(c):
    ra = "after" if c["reset_after"] else "before"
    return f"{'x'.join(map(str, c['hidden'])):>9s} {c['precision']:7s} {ra:6s} {c['lr']:7.4f} {c['epochs']:3d}"


def table(front, chosen, objective):
    head = (f"{'':1s} {'trial':>5s} {'hidden':>9s} {'prec':7s} {'reset':6s} {'lr':>7s} {'ep':>3s} "
            f"{objective:>8s} {'flash B':>8s} {'RAM B':>6s} {'insn/step':>10s} {'ms/step':>8s}")
    lines = [head]
    for r in front:
        q = r["accuracy"] if objective == "accuracy" else r["loss"]
        mark = "*" if chosen is not None and r["trial"] == chosen["trial"] else " "
        lines.append(f"{mark} {r['trial']:5d} {_fmt_config(r['config'])} {q:8.4f} {r['flash']:8d} {r['ram']:6d} "
                     f"{r['insn_per_step']:10.0f} {r['latency_ms']:8.4f}")
    return "\n".join(lines)


def plot(path, records, front, chosen, limits, objective):
    """front.png: the quality objective against flash, RAM and latency.
    Returns None, or why no plot was written."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (pip install matplotlib)"
    q = (lambda r: r["accuracy"]) if objective == "accuracy" else (lambda r: r["loss"])
    fig, axes = plt.subplots(1, 3, figsize=(13, 4), sharey=True)
    trained = [r for r in records if r["trained"]]
    colors = {"float": "tab:blue", "int8": "tab:orange", "integer": "tab:green"}
    for ax, key, label, lim in zip(axes, ("flash", "ram", "latency_ms"), ("flash (bytes)", "RAM (bytes)",
                                                                         "time per step (ms)"),
                                   (limits["flash"], limits["ram"], limits["latency_ms"])):
        for prec, col in colors.items():
            pts = [r for r in trained if r["config"]["precision"] == prec]
            ax.scatter([r[key] for r in pts], [q(r) for r in pts], s=14, c=col, alpha=0.35, label=prec)
        ax.scatter([r[key] for r in front], [q(r) for r in front], s=40, facecolors="none",
                   edgecolors="black", label="Pareto front")
        if chosen is not None:
            ax.scatter([chosen[key]], [q(chosen)], s=160, marker="*", c="red", label="chosen")
        if lim is not None:
            ax.axvline(lim, color="red", linestyle="--", linewidth=1)
        ax.set_xlabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation " + objective)
    axes[0].legend(fontsize=8)
    fig.suptitle("pygru tune: trained trials (dashed: limits)")
    fig.tight_layout()
    from ._io import atomic_write
    atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=110))
    plt.close(fig)
    return None


def _chosen_weights(chosen, weights, output_dir):
    if chosen["trial"] in weights:
        return weights[chosen["trial"]]
    path = os.path.join(output_dir or "", "trials", f"trial_{chosen['trial']}.npz")
    from .model import load
    return load(path).get_weights()       # from an earlier, interrupted run


def finish(study, settings, objectives, cost, train, test, output_dir, header_name, wall, slots, weights,
           models):
    """The report of a finished study, and the chosen model saved and exported.
    models: tune's (build_model, final_model, describe), passed in so that this
    module does not import tune (which imports it). Returns TuneResult's fields."""
    build_model, final_model, describe = models
    X, y, Xv, yv, classification, output_size = train
    objective = "accuracy" if "accuracy" in objectives else "loss"
    records = trial_records(study)
    feasible = sorted((r for r in records if r["trained"]), key=lambda r: _key(r, objective))
    front = sorted(pareto_front(feasible, objectives), key=lambda r: _key(r, objective))
    chosen = feasible[0] if feasible else None
    files, model = {}, None
    report = {"settings": settings, "assumption": ASSUMPTION, "wall_seconds": wall, "parallel_slots": slots,
              "trials_complete": len(records), "trials_feasible": len(feasible),
              "chosen_rule": (f"the feasible trial with the best validation {objective}; ties: smaller flash, "
                              "RAM, latency, then the earlier trial"),
              "front": front, "chosen": chosen, "trials": records}
    if chosen is not None:
        config = chosen["config"]
        float_model = build_model(config, X.shape[2], output_size, 0)
        float_model.set_weights(_chosen_weights(chosen, weights, output_dir))
        model = final_model(float_model, config, X)
        chosen["description"] = describe(config)
        if test is not None and classification:
            chosen["test_accuracy"] = float(np.mean(model.predict(test[0]).argmax(axis=1) == test[1]))
        # The chosen model itself (trained weights), not its shape's seed-0 stand-in.
        m = cost.measure(config["precision"], model)
        chosen["header"] = {k: m[k] for k in ("flash", "ram", "weight_bytes", "runtime_bytes", "insn_per_step",
                                              "latency_ms", "latency_source")}
        if output_dir:
            files["model"] = os.path.join(output_dir, "model.npz")
            float_model.save(files["model"])
            if config["precision"] != "float":
                files["quantized_model"] = os.path.join(output_dir, f"model_{config['precision']}.npz")
                model.save(files["quantized_model"])
            files["header"] = os.path.join(output_dir, f"{header_name}.h")
            from .export import export_c
            export_c(model, files["header"], name=header_name)
    text = table(front, chosen, objective)
    if output_dir:
        files["plot"] = os.path.join(output_dir, "front.png")
        why = plot(files["plot"], records, front, chosen, settings["limits"], objective)
        if why:
            report["plot"] = f"not written: {why}"
            del files["plot"]
        files["report"] = os.path.join(output_dir, "report.json")
        report["files"] = {k: os.path.basename(v) for k, v in files.items()}
        from ._io import atomic_write
        atomic_write(files["report"], lambda f: f.write(json.dumps(report, indent=1) + "\n"), binary=False)
    return dict(front=front, chosen=chosen, model=model, report=report, table=text, files=files)
