"""Export a model for fine-tuning on the device (gru_train.h's trainable
choices): a C header with the frozen part of the flat parameter layout as a
`const` array (flash), the trainable part as the initial values a firmware
copies into its RAM buffer, the sizes of every training buffer as macros (so
each is a `static` array) and a wiring function. The firmware's fine-tuning
steps (gru_train_step) then compute what pygru.training.fit(...,
trainable=...) computes, bit for bit: the same C code on the same floats.

    >>> from pygru import export_train
    >>> export_train.export_train_c(model, "ft_model.h", name="ft", trainable="head",
    ...                             max_batch=8)                      # doctest: +SKIP
    >>> export_train.training_memory(model, "head", "sgd", momentum=0.9, max_batch=8)
    ...                                                               # doctest: +SKIP

examples/fine_tune/fine_tune.c uses such a header; tools/fine_tune_demo.py
runs the whole demo under QEMU.
"""
import numpy as np

from . import _cgen, _core, export, training
from ._io import atomic_write
from ._validate import positive_int

FLOAT_BYTES = 4


def _sizes(model, trainable, max_batch, max_steps, low_memory):
    spec = model.spec
    layers, head = training.c_training_layers(spec)
    offset, n, ws = _core.training_sizes(layers, head, trainable, max_batch, max_steps,
                                         bool(spec.return_sequences), bool(low_memory))
    if n == 0 or ws == 0:
        raise ValueError(f"max_batch, max_steps: gru_c refuses ({max_batch}, {max_steps}) for this model")
    return offset, n, ws


def _check(model, trainable, max_batch, max_steps):
    training.check_trainable(model, trainable)
    max_batch = positive_int("max_batch", max_batch, 2**31 - 1)
    max_steps = positive_int("max_steps", max_steps, 2**31 - 1)
    return max_batch, max_steps


def training_memory(model, trainable="all", optimizer="sgd", momentum=0.9, max_batch=1, max_steps=16,
                    low_memory=True):
    """Bytes of RAM fine-tuning needs on the device for a trainable choice:
    the trainable parameters (RAM copy), their gradients, the optimizer
    state, the training workspace, and (for reference) inference's state and
    scratch; `beyond_inference` is what training adds to an inference build
    that keeps all weights in flash. Sizes from gru_c's own size queries."""
    max_batch, max_steps = _check(model, trainable, max_batch, max_steps)
    training._check_choice("optimizer", optimizer, training.OPTIMIZERS)
    _, n, ws = _sizes(model, trainable, max_batch, max_steps, low_memory)
    state_floats = (n if momentum else 0) if optimizer == "sgd" else 2 * n
    native = model._native_model()
    infer = native.state_size + native.scratch_size  # gru_c's own queries
    out = {"trainable_params": n, "grad": n, "optimizer_state": state_floats, "workspace": ws}
    out = {k: v * FLOAT_BYTES for k, v in out.items()}
    out["beyond_inference"] = sum(out.values())
    out["inference"] = infer * FLOAT_BYTES
    return out


def _describe_lines(model):
    spec = model.spec
    lines = [f"    m->num_layers = {spec.num_layers};"]
    for l, (size_in, h, ra) in enumerate(zip(spec.layer_input_sizes, spec.hidden_sizes, spec.reset_after)):
        lines += [f"    m->layers[{l}].input_size = {size_in};", f"    m->layers[{l}].hidden_size = {h};",
                  f"    m->layers[{l}].reset_after = {int(ra)};"]
    if spec.head is not None:
        act = {None: "NONE"}.get(spec.output_activation, str(spec.output_activation).upper())
        lines += ["    m->has_head = 1;", f"    m->head.input_size = {spec.hidden_sizes[-1]};",
                  f"    m->head.output_size = {spec.output_size};", f"    m->head.activation = GRU_ACT_{act};"]
    return lines


def _macros(model, P, trainable, max_batch, max_steps, low_memory, offset, n, ws):
    spec = model.spec
    S, H, I, O = sum(spec.hidden_sizes), max(spec.hidden_sizes), spec.input_size, spec.output_dim
    HL, IL = spec.hidden_sizes[-1], spec.layer_input_sizes[-1]
    K = f"GRU_TRAIN_{trainable.upper()}"
    RS = int(bool(spec.return_sequences))
    param = {"head": f"GRU_TRAIN_HEAD_PARAM_SIZE({HL}, {O})",
             "last": f"GRU_TRAIN_LAST_PARAM_SIZE({IL}, {HL}, {O}, {int(spec.head is not None)})",
             "all": str(offset + n)}[trainable]
    d = _cgen.define
    text = "".join([
        d(f"{P}_INPUT_SIZE", I), d(f"{P}_OUTPUT_SIZE", O), d(f"{P}_STATE_SIZE", f"GRU_STATE_SIZE({S})"),
        d(f"{P}_SCRATCH_SIZE", f"GRU_SCRATCH_SIZE({H}, {O})"),
        d(f"{P}_TRAINABLE", K, trainable), d(f"{P}_LOW_MEMORY", int(bool(low_memory))),
        d(f"{P}_MAX_BATCH", max_batch), d(f"{P}_MAX_STEPS", max_steps), d(f"{P}_RETURN_SEQUENCES", RS),
        d(f"{P}_PARAM_SIZE", offset + n, "floats of the whole parameter layout"),
        d(f"{P}_FROZEN_SIZE", offset, "params[0 .. offset): const, flash"),
        d(f"{P}_TRAINABLE_SIZE", param, "params[offset .. total): RAM"),
        d(f"{P}_GRAD_SIZE", f"{P}_TRAINABLE_SIZE"),
        d(f"{P}_OPT_STATE_SIZE", f"GRU_OPTIMIZER_STATE_SIZE({P}_TRAINABLE_SIZE)", "Adam; SGD needs half, none without momentum"),
        d(f"{P}_WORKSPACE_SIZE",
          f"GRU_TRAIN_WORKSPACE_SIZE_FOR({K}, {int(bool(low_memory))}, {max_batch}, {max_steps}, {S}, {H}, {I}, {O}, {RS}, {HL}, {IL})"),
        d(f"{P}_WORKSPACE_EXACT", ws, "gru_train_workspace_size_config for this configuration"),
    ])
    checks = _cgen.size_checks(f"{P.lower()}_size_checks", [
        f"{P}_TRAINABLE_SIZE == {n}", f"{P}_WORKSPACE_SIZE >= {P}_WORKSPACE_EXACT"],
        "gru_train.h's size macros disagree with the exporter's gru_c size queries")
    return text + checks


def render_train_header(model, name="ft", trainable="head", max_batch=1, max_steps=None, low_memory=True,
                        float_format="hex"):
    """The header text of export_train_c."""
    name = _cgen.check_name(name)
    max_steps = 16 if max_steps is None else max_steps
    max_batch, max_steps = _check(model, trainable, max_batch, max_steps)
    offset, n, ws = _sizes(model, trainable, max_batch, max_steps, low_memory)
    flat = training.flatten_weights(model)
    if not np.isfinite(flat).all():
        raise ValueError("model: expected finite weights, got non-finite values")
    P = name.upper()
    frozen = flat[:offset] if offset else np.zeros(1, np.float32)
    out = [_cgen.comment([f"{name}: a pygru model exported for on-device fine-tuning (pygru.export_train).",
                          f"Trainable: {trainable} ({n} floats in RAM); frozen: {offset} floats in flash.",
                          "Buffers: static float params[P_TRAINABLE_SIZE] (copy of P_trainable_init),",
                          "grad[P_GRAD_SIZE], state[P_OPT_STATE_SIZE], workspace[P_WORKSPACE_SIZE]."]),
           f"#ifndef {P}_TRAIN_H\n#define {P}_TRAIN_H\n\n#include <string.h>\n\n#include \"gru_train.h\"\n\n",
           _macros(model, P, trainable, max_batch, max_steps, low_memory, offset, n, ws),
           _cgen.alignment_macros(P, 16), "\n",
           _cgen.array(f"{P}_CONST_ARRAY float {name}_frozen", frozen, float_format), "\n",
           _cgen.array(f"{P}_CONST_ARRAY float {name}_trainable_init", flat[offset:], float_format), "\n",
           f"/* Describe the model and wire it: frozen part from {name}_frozen, trainable\n"
           f" * part from `trainable` ({P}_TRAINABLE_SIZE floats). Returns a gru_status. */\n",
           f"static inline int {name}_wire(gru_model *m, const float *trainable)\n{{\n",
           "    memset(m, 0, sizeof *m);\n", "\n".join(_describe_lines(model)), "\n",
           f"    return gru_train_wire_split(m, {name}_frozen, {P}_FROZEN_SIZE, trainable, "
           f"{P}_TRAINABLE_SIZE, {P}_TRAINABLE);\n}}\n\n",
           f"/* The training configuration the size macros were computed for. */\n",
           f"static inline gru_train_config {name}_config(void)\n{{\n    gru_train_config c;\n",
           f"    c.max_batch = {P}_MAX_BATCH;\n    c.max_steps = {P}_MAX_STEPS;\n",
           f"    c.return_sequences = {P}_RETURN_SEQUENCES;\n    c.trainable = {P}_TRAINABLE;\n",
           f"    c.low_memory = {P}_LOW_MEMORY;\n    return c;\n}}\n\n#endif /* {P}_TRAIN_H */\n"]
    return "".join(out)


def export_train_c(model, path, name="ft", trainable="head", max_batch=1, max_steps=None, low_memory=True,
                   float_format="hex"):
    """Write render_train_header(...) to `path` (atomically). max_steps
    defaults to 16; low_memory (default) drops backward's transposed weight
    copies (same results). Returns the path."""
    path = export._check_path(path)
    text = render_train_header(model, name, trainable, max_batch, max_steps, low_memory, float_format)
    atomic_write(path, lambda f: f.write(text), binary=False)
    return path
