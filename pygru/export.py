"""C header export: a model as one stb-style header for firmware.

    pygru.export_c(model, "kws.h", name="kws")      # GRUModel or QuantizedGRUModel

writes a header that declares (in every file that includes it)

    KWS_INPUT_SIZE, KWS_OUTPUT_SIZE, KWS_NUM_LAYERS, KWS_STATE_SIZE,
    KWS_SCRATCH_SIZE, KWS_WEIGHT_BYTES, KWS_CHECKSUM, KWS_TEST_STEPS, ...
    extern const gru_model kws_model;     (gru_q8_model / gru_qi_model when quantized)
    int kws_check(void);
    int kws_selftest(state, state_size, scratch, scratch_size);

and defines them in the one C file that does `#define KWS_IMPLEMENTATION`
before the include: the packed weights as aligned `const` arrays (exact
literals), compile-time checks that the runtime sizes and packs the model as
exported, the descriptor, the CRC-32 check and a self-test whose expected
outputs were computed here through the same C kernel the firmware runs.

One writer serves every format; what differs between float, int8 and
integer headers is a `Format` below (types, API prefix, arrays, layout).
The C text itself comes from the primitives in pygru/_cgen.py.
"""
import os

import numpy as np

from . import _cgen, _core
from ._cgen import (C_KEYWORDS, FLOAT_FORMATS, MAX_NAME_LENGTH,  # noqa: F401 (public names)
                    check_name, float_literal, float_literals)
from ._io import atomic_write, check_new_file, fspath
from ._validate import float_array, positive_int
from .config import GRU, ConfiguredModel

DEFAULT_TEST_STEPS = 8
MAX_TEST_VALUES = 1 << 20       # test input + expected output values kept in flash
DEFAULT_ALIGNMENT = 64  # gru.h GRU_WEIGHT_ALIGN: a cache line (x86 vector loads never straddle two)

ACTIVATION_C = {None: "GRU_ACT_NONE", "sigmoid": "GRU_ACT_SIGMOID", "tanh": "GRU_ACT_TANH",
                "softmax": "GRU_ACT_SOFTMAX", "relu": "GRU_ACT_RELU", "hard_sigmoid": "GRU_ACT_HARD_SIGMOID",
                "hard_sigmoid_keras3": "GRU_ACT_HARD_SIGMOID_KERAS3"}


# ---------------------------------------------------------------------- the formats

class Format:
    """The float32 header (gru.h); the quantized formats below override what
    differs. Arrays are in descriptor order: per layer the three packed
    matrices (W_ih, W_hh's r,z rows, its n rows) then `layer_vectors`
    (3H each); the head's packed matrix then `head_vectors` (O each)."""
    kind = "float"
    header = "gru.h"
    api = "gru"                         # gru_model, gru_stream_init, gru_model_check, ...
    state_t = scratch_t = input_t = output_t = "float"
    layer_vectors = ("b_ih", "b_hh")
    head_arrays = ("w", "b")
    packed_size = "GRU_PACKED_SIZE"
    state_macro = "GRU_STATE_SIZE({total})"
    scratch_macro = "GRU_MODEL_SCRATCH_SIZE({hidden}, {outputs}, {dense})"
    layout = (("GRU_PACK_ROWS", 8), ("GRU_PACK_BLOCK", 48))
    arithmetic = ("float32 (IEEE-754 binary32) weights, state and outputs",)
    layout_text = 'packed for gru_c (GRU_PACK_ROWS 8, GRU_PACK_BLOCK 48; see gru.h "Weight layout")'
    checksum_text = "gru_model_checksum"

    @property
    def model_t(self):
        return f"{self.api}_model"

    def regenerate(self, fname, opts):
        return [f'pygru.export_c(model, "{fname}"{opts.api})',
                f"python tools/export_header.py MODEL.npz {fname}{opts.tool}"]

    def default_test_input(self, model, steps):
        return np.random.default_rng(0).standard_normal((steps, model.input_size)).astype(np.float32)

    def test_data(self, model, x):
        """(embedded input, expected outputs) for the float input sequence x."""
        if not model.spec.streams:                  # gru_sequence over the whole input
            return x, model.predict(x, return_sequences=True).astype(np.float32)
        stream = model.stream()
        return x, np.stack([stream.step(v) for v in x]).astype(np.float32)

    def extra_defines(self, model, N):
        return ""

    def check_function(self, name, N, array_names):
        return f"""
int {name}_check(void)
{{
    uint32_t crc = 0;
    const int status = {self.api}_model_checksum(&{name}_model, &crc);
    if (status != GRU_OK)
        return status;
    return crc == (uint32_t){N}_CHECKSUM ? GRU_OK : GRU_ERR_CHECKSUM;
}}
"""


class _Quantized(Format):
    header = "gru_quant.h"

    def regenerate(self, fname, opts):
        return [f'pygru.export_c(qmodel, "{fname}"{opts.api})',
                f"pygru export MODEL.npz -o {fname} --dtype {self.kind} --calibration DATA{opts.tool}"]


class _Int8(_Quantized):
    kind = "int8"
    api = "gru_q8"
    layer_vectors = ("s_ih", "s_hh", "b_ih", "b_hh")
    head_arrays = ("w", "scale", "bias")
    packed_size = "GRU_Q8_PACKED_SIZE"
    arithmetic = ("int8 weights with per-row float scales, float32 arithmetic (contract: gru_quant.h)",)
    layout_text = ("matrices packed by gru_q8_pack_matrix (GRU_PACK_ROWS 8, GRU_PACK_BLOCK 48; "
                   "int8 elements)")
    checksum_text = "gru_q8_model_checksum"

    def test_data(self, model, x):
        return x, model.predict(x, return_sequences=True)


class _Integer(_Quantized):
    kind = "integer"
    api = "gru_qi"
    state_t, scratch_t, input_t, output_t = "int16_t", "int32_t", "int16_t", "int32_t"
    layer_vectors = ("m_ih", "sh_ih", "m_hh", "sh_hh", "b_ih", "b_hh")
    head_arrays = ("weight", "mult", "shift", "bias")
    packed_size = "GRU_QI_PACKED_SIZE"
    state_macro = "GRU_QI_STATE_SIZE({total})"
    scratch_macro = "GRU_QI_SCRATCH_SIZE({hidden})"
    layout = (("GRU_QI_BLOCK_ROWS", 16), ("GRU_QI_GROUP_COLS", 8))
    arithmetic = ("int8 weights, int16 Q0.15 state, int32 accumulators, no float in a step",
                  "(contract: gru_quant.h)")
    layout_text = ("matrices packed by gru_qi_pack_matrix: 16-row blocks, per group g of 8 columns "
                   "each row's w[r][8g..8g+7]")
    checksum_text = "gru_qi_model_checksum"

    def default_test_input(self, model, steps):
        x = super().default_test_input(model, steps)
        return x * np.float32(model.input_scale * 32767 / 3)

    def test_data(self, model, x):
        xq = model.quantize_input(x)
        return xq, model.predict_int(xq[None], return_sequences=True)[0]

    def extra_defines(self, model, N):
        return (_cgen.define(f"{N}_INPUT_SCALE", f"{float(np.float32(model.input_scale))!r}f",
                             f"x_q = round(x / {N}_INPUT_SCALE), saturated to +-32767")
                + _cgen.define(f"{N}_OUTPUT_FRAC_BITS", model.output_frac_bits,
                               "y = y_q / 2^bits" + (" (softmax NOT applied: logits)"
                                                     if model.output_activation == "softmax" else "")))


FORMATS = {f.kind: f for f in (Format(), _Int8(), _Integer())}


def format_of(model):
    """The Format of a GRUModel (float) or a QuantizedGRUModel (its mode)."""
    kind = getattr(model, "mode", "float") if isinstance(model, ConfiguredModel) else None
    if kind not in FORMATS:
        raise TypeError(f"model: expected a pygru.GRUModel or QuantizedGRUModel, got {type(model).__name__}")
    return FORMATS[kind]


# ---------------------------------------------------------------------- arguments

def _check_path(path):
    path = fspath("path", path)
    if not path.lower().endswith(".h"):
        raise ValueError(f"path: expected a C header file name ending in '.h', got {path!r}")
    check_new_file(path)
    return path


def _test_input(fmt, model, self_test_steps, self_test_input):
    if self_test_input is None:
        steps = DEFAULT_TEST_STEPS if self_test_steps is None else positive_int(
            "self_test_steps", self_test_steps)
        x = None
    else:
        x = float_array("self_test_input", self_test_input, (2,), model.input_size)
        if self_test_steps is not None and positive_int("self_test_steps", self_test_steps) != len(x):
            raise ValueError(f"self_test_steps: expected None or the {len(x)} rows of "
                             f"self_test_input, got {self_test_steps}")
        steps = len(x)
    values = steps * (model.input_size + model.output_dim)
    if values > MAX_TEST_VALUES:
        raise ValueError(f"self_test_steps: the self-test would store {values} values; expected at "
                         f"most {MAX_TEST_VALUES} (use fewer steps)")
    return fmt.default_test_input(model, steps) if x is None else x


class _Options:
    """How to call export_c / the tools again for the same header."""

    def __init__(self, name, steps, given_input, float_format, alignment):
        self.api, self.tool = f', name="{name}"', f" --name {name}"
        if given_input:
            self.api += ", self_test_input=X_TEST"
            self.tool += " --test-input X_TEST.npy"
        elif steps != DEFAULT_TEST_STEPS:
            self.api += f", self_test_steps={steps}"
            self.tool += f" --steps {steps}"
        if float_format != "hex":
            self.api += f', float_format="{float_format}"'
            self.tool += f" --float-format {float_format}"
        if alignment != DEFAULT_ALIGNMENT:
            self.api += f", alignment={alignment}"
            self.tool += f" --alignment {alignment}"


class _Header:
    """Everything the header's sections read, computed once."""

    def __init__(self, model, name, x_test, given_input, float_format, source, alignment, filename):
        self.fmt = fmt = format_of(model)
        self.model, self.spec, self.name, self.N = model, model.spec, name, name.upper()
        self.float_format, self.alignment = float_format, alignment
        self.native = native = model._native_model()
        self.x_test, self.y_test = fmt.test_data(model, x_test)
        if self.y_test.dtype.kind == "f" and not np.isfinite(self.y_test).all():
            raise ValueError("model: its outputs on the self-test input are not all finite "
                             "(overflow in the weights?); a header needs finite expected outputs")
        self.steps = int(x_test.shape[0])
        self.fname = _cgen.comment_safe(filename if filename is not None else f"{name}.h")
        self.source = _cgen.comment_safe(source if source is not None else repr(model))
        self.arrays = _arrays(fmt, self.spec, native.packed_arrays(), name)
        self.checksum = _cgen.crc32(a for _, a, _ in self.arrays)
        self.weight_count = sum(int(a.size) for _, a, _ in self.arrays)
        self.weight_bytes = sum(int(a.nbytes) for _, a, _ in self.arrays)
        self.streams = self.spec.streams
        if self.streams:
            self.scratch = native.scratch_size + native.output_size   # + the self-test's output vector
        else:   # gru_sequence's scratch for the self-test's steps, + its outputs
            self.scratch = native.scratch_size + 2 * self.steps * _pass_width(self.spec) + \
                self.steps * native.output_size
        self.options = _Options(name, self.steps, given_input, float_format, alignment)


def _arrays(fmt, spec, packed, name):
    """[(C name, packed array, its length as a C expression)], in the order
    the model runs them (NativeModel.packed_arrays)."""
    P = fmt.packed_size
    out = []
    for key, layer, I in spec.named_layers():
        if isinstance(layer, GRU):
            H = layer.hidden_size
            for sfx in layer.suffixes:      # a bidirectional layer: forward, then reverse (l{k}r)
                l = f"{key}{'r' if sfx else ''}"
                out += [(f"{name}_l{l}_w_ih", f"{P}(3 * {H}, {I})"),
                        (f"{name}_l{l}_w_hh_rz", f"{P}(2 * {H}, {H})"), (f"{name}_l{l}_w_hh_n", f"{P}({H}, {H})")]
                out += [(f"{name}_l{l}_{v}", f"3 * {H}") for v in fmt.layer_vectors]
        else:                       # a Dense layer: "pre.i", "head" or "head.i"
            O, c = layer.units, key.replace(".", "")
            out.append((f"{name}_{c}_{fmt.head_arrays[0]}", f"{P}({O}, {I})"))
            out += [(f"{name}_{c}_{v}", f"{O}") for v in fmt.head_arrays[1:]]
    if len(out) != len(packed):
        raise RuntimeError(f"{fmt.kind} export: {len(packed)} packed arrays, expected {len(out)}")
    return [(c_name, np.asarray(arr), size) for (c_name, size), arr in zip(out, packed)]


def _pass_width(spec):
    """W of gru_sequence_scratch_size_for: the widest GRU input or output."""
    return max((spec.layer_input_sizes[0],) + tuple(g.output_size for g in spec.gru_layers))


def _max_dense(spec):
    """gru__max_dense: the largest Dense output size when there are pre or
    post layers (the dense scratch of GRU_MODEL_SCRATCH_SIZE), else 0."""
    if not spec.pre_layers and len(spec.head_layers) <= 1:
        return 0
    return max(d.units for d in spec.pre_layers + spec.head_layers)


# ---------------------------------------------------------------------- the header's sections

def _comment(h):
    from . import __version__
    fmt, spec, N, name = h.fmt, h.spec, h.N, h.name
    lines = [f"{h.fname} - GRU model ({fmt.kind}) exported by pygru {__version__} "
             f"(gru_c C API {_core.C_VERSION}).",
             "Generated file: do not edit; regenerate it instead:"]
    lines += ["  " + line for line in fmt.regenerate(h.fname, h.options)]
    lines += ["", f"Source:     {h.source}", f"Exported:   {_cgen.export_date()}"]
    lines += [("Arithmetic: " if i == 0 else " " * 12) + text for i, text in enumerate(fmt.arithmetic)]
    lines.append("Gate order: r, z, n (PyTorch order; Keras/ONNX z, r, n were reordered on import)")
    for key, layer, I in spec.named_layers():
        if isinstance(layer, GRU):
            variant = ("reset_after=1 (PyTorch: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)))"
                       if layer.reset_after else
                       "reset_after=0 (Cho/ONNX: n = tanh(W_in x + b_in + W_hn (r * h) + b_hn))")
            lines.append(f"  layer {key}: {I} -> {layer.hidden_size}, {variant}")
            if not layer.default:
                lines.append(f"           n: {layer.activation} instead of tanh, r and z: "
                             f"{layer.recurrent_activation}")
        else:
            lines.append(f"  {key + ':':8} dense {I} -> {layer.units}, activation {layer.activation or 'none'}")
    if not spec.head_layers:
        lines.append("  head:    none (the output is the last layer's h)")
    lines += [f"Sizes:      input {spec.input_size}, output {spec.output_dim}, state {h.native.state_size} "
              f"x {fmt.state_t}, scratch {h.scratch} x {fmt.scratch_t},",
              f"            weights {h.weight_count} values ({h.weight_bytes} bytes)",
              f"Layout:     {fmt.layout_text}",
              f"Checksum:   CRC-32 0x{h.checksum:08X} of the packed weights ({fmt.checksum_text})",
              f"Self-test:  {h.steps} steps from a zero state; expected outputs computed by pygru",
              "            through the same C kernel, compared bit for bit",
              "Floats:     " + ("hex float literals (exact)" if h.float_format == "hex" else
                                "shortest decimal literals that round back to the same float32"),
              "", f'Use (stb style): #include "{h.fname}" wherever the model is used, and in exactly',
              f"one C file (C99) define {N}_IMPLEMENTATION before including it:", "",
              f"  #define {N}_IMPLEMENTATION", f'  #include "{h.fname}"', "",
              f"  static {fmt.state_t} state[{N}_STATE_SIZE];",
              f"  static {fmt.scratch_t} scratch[{N}_SCRATCH_SIZE];",
              f"  if ({name}_check() != GRU_OK ||",
              f"      {name}_selftest(state, {N}_STATE_SIZE, scratch, {N}_SCRATCH_SIZE) != 0)",
              "      fail();"] + (_stream_use(h) if h.streams else _sequence_use(h)) + [
              "",
              "Build with the gru_c/src sources and -ffp-contract=off (never -ffast-math) to get",
              "the exact results pygru computed. Define before the include to override:",
              f"  {N}_ALIGNMENT: alignment of the weight arrays in bytes (default {h.alignment});",
              "  GRU_ALIGN(n): how to align a definition (default: GCC/Clang attribute,",
              "    MSVC __declspec, C11 _Alignas, else nothing);",
              f"  {N}_WEIGHT_SECTION: e.g. __attribute__((section(\".flash_weights\"))) to",
              "    place the weight and self-test arrays in a given section (default: none)."]
    return _cgen.comment(lines)


def _stream_use(h):
    fmt, N, name = h.fmt, h.N, h.name
    return [f"  {fmt.api}_stream s;",
            f"  {fmt.api}_stream_init(&s, &{name}_model, state, {N}_STATE_SIZE, scratch, {N}_SCRATCH_SIZE);",
            f"  {fmt.api}_stream_step(&s, x, y);    x: {N}_INPUT_SIZE {fmt.input_t}, "
            f"y: {N}_OUTPUT_SIZE {fmt.output_t}"]


def _sequence_use(h):
    N, name = h.N, h.name
    return ["  A GRU layer reads its sequences backwards: the model cannot stream; run whole",
            f"  sequences (scratch for {N}_TEST_STEPS steps; gru_sequence_scratch_size_for(&{name}_model,",
            "  steps) for others):",
            f"  gru_sequence(&{name}_model, x, batch, steps, return_sequences, NULL, state, {N}_STATE_SIZE,",
            f"               scratch, gru_sequence_scratch_size_for(&{name}_model, steps), y);"]


def _declarations(h):
    fmt, spec, N, name, native = h.fmt, h.spec, h.N, h.name, h.native
    d = _cgen.define
    defines = (d(f"{N}_INPUT_SIZE", spec.input_size) + d(f"{N}_OUTPUT_SIZE", spec.output_dim)
               + d(f"{N}_NUM_LAYERS", len(spec.state_sizes), "gru_model layers[] (a bidirectional layer: 2)")
               + d(f"{N}_MAX_HIDDEN_SIZE", max(spec.hidden_sizes))
               + (d(f"{N}_STATE_SIZE", native.state_size, f"== {fmt.api}_state_size(&{name}_model)")
                  if h.streams else
                  d(f"{N}_STATE_SIZE", f"GRU_SEQUENCE_STATE_SIZE({sum(spec.state_sizes)})",
                    f"== {fmt.api}_sequence_state_size(&{name}_model)"))
               + d(f"{N}_STREAMS", int(h.streams),
                   "1: gru_stream_* runs it; 0: a GRU layer runs backwards, use gru_sequence")
               + d(f"{N}_SCRATCH_SIZE", h.scratch,
                   f"{fmt.api}_scratch_size(&{name}_model) + {N}_OUTPUT_SIZE (self-test)")
               + d(f"{N}_WEIGHT_COUNT", h.weight_count, "values in the packed weight arrays")
               + d(f"{N}_WEIGHT_BYTES", h.weight_bytes)
               + d(f"{N}_CHECKSUM", f"0x{h.checksum:08X}u", f"{fmt.checksum_text}")
               + d(f"{N}_TEST_STEPS", h.steps) + fmt.extra_defines(h.model, N)
               + "".join(d(f"{N}_HIDDEN_SIZE_{l}", H) for l, H in enumerate(spec.hidden_sizes)))
    return f"""#ifndef {N}_H
#define {N}_H

#include <stddef.h>
#include <stdint.h>

#include "{fmt.header}"

{defines}
#ifdef __cplusplus
extern "C" {{
#endif

/* Ready-to-use descriptor; its weights are const (flash). */
extern const {fmt.model_t} {name}_model;

/* GRU_OK if the weights' CRC-32 equals {N}_CHECKSUM, GRU_ERR_CHECKSUM if not. */
int {name}_check(void);

/* Runs the embedded test sequence ({N}_TEST_STEPS steps from a zero state,
 * {fmt.api}_stream API) and compares every output bit for bit with the output pygru
 * computed. Needs scratch_size >= {N}_SCRATCH_SIZE ({fmt.api}_scratch_size + the
 * output vector). Returns 0 if all match, the number of mismatching values if
 * not, or a negative gru_status. Leaves `state` zeroed. */
int {name}_selftest({fmt.state_t} *state, size_t state_size, {fmt.scratch_t} *scratch, size_t scratch_size);

#ifdef __cplusplus
}}
#endif

#endif /* {N}_H */
"""


def _layout_checks(h):
    fmt, fname, L = h.fmt, h.fname, len(h.spec.state_sizes)
    D = max(1, len(h.spec.pre_layers), len(h.spec.head_layers) - 1)
    major = _core.C_VERSION.split(".")[0]
    layout = [f"GRU_VERSION_MAJOR != {major}"]
    layout += [f"!defined({macro}) || {macro} != {value}" for macro, value in fmt.layout]
    text = ", ".join(f"{macro} {value}" for macro, value in fmt.layout)
    return (_cgen.error_if(" || ".join(layout), f"{fname} was exported for gru_c {_core.C_VERSION} "
                                               f"({text}); re-export it for this {fmt.header}")
            + _cgen.error_if(f"GRU_MAX_LAYERS < {L}",
                             f"{fname} has {L} layers: build gru_c and this file with GRU_MAX_LAYERS >= {L}")
            + (_cgen.error_if(f"!defined(GRU_MAX_DENSE) || GRU_MAX_DENSE < {D}",
                              f"{fname} has {D} pre or post dense layers: build gru_c (0.3 or later) and "
                              f"this file with GRU_MAX_DENSE >= {D}") if fmt.kind == "float" else "")
            + (_cgen.error_if("GRU_PLAIN_MODELS", f"{fname} has layers beyond GRU stacks with one head: build gru_c "
                                                  f"and this file without GRU_PLAIN_MODELS")
               if fmt.kind == "float" and not _c_plain(h.spec) else ""))


def _c_plain(spec):
    """What a GRU_PLAIN_MODELS runtime runs (gru_internal.h's gru__plain)."""
    return not spec.pre_layers and len(spec.head_layers) <= 1 and all(g.default for g in spec.gru_layers)


def _data(h):
    """The weight and self-test arrays and the compile-time size checks."""
    N, name, fmt, ff = h.N, h.name, h.fmt, h.float_format
    out = []
    for c_name, arr, size in h.arrays:
        ct = _cgen.c_type(arr)
        out.append(f"\n/* {ct}[{size}] */\n" + _cgen.array(f"{N}_CONST_ARRAY {ct} {c_name}", arr, ff))
    out.append(f"\n/* self-test: [{N}_TEST_STEPS][{N}_INPUT_SIZE] inputs, "
               f"[{N}_TEST_STEPS][{N}_OUTPUT_SIZE] expected outputs */\n"
               + _cgen.array(f"{N}_CONST_ARRAY {fmt.input_t} {name}_test_input", h.x_test, ff)
               + _cgen.array(f"{N}_CONST_ARRAY {fmt.output_t} {name}_test_output", h.y_test, ff))
    conds = [f"sizeof {c} == ({s}) * sizeof({_cgen.c_type(a)})" for c, a, s in h.arrays]
    conds += [f"sizeof {name}_test_input == {N}_TEST_STEPS * {N}_INPUT_SIZE * sizeof({fmt.input_t})",
              f"sizeof {name}_test_output == {N}_TEST_STEPS * {N}_OUTPUT_SIZE * sizeof({fmt.output_t})",
              f"{N}_STATE_SIZE == " + (fmt.state_macro if h.streams else "GRU_SEQUENCE_STATE_SIZE({total})")
              .format(total=sum(h.spec.state_sizes))]
    if h.streams:
        conds.append(f"{N}_SCRATCH_SIZE == " + fmt.scratch_macro.format(
            hidden=max(h.spec.hidden_sizes), outputs=h.spec.output_dim, dense=_max_dense(h.spec))
            + f" + {N}_OUTPUT_SIZE")
    else:
        conds.append(f"{N}_SCRATCH_SIZE == GRU_SEQUENCE_REVERSE_SCRATCH_SIZE({max(h.spec.hidden_sizes)}, "
                     f"{h.spec.output_dim}, {_max_dense(h.spec)}, {N}_TEST_STEPS, {_pass_width(h.spec)})"
                     f" + {N}_TEST_STEPS * {N}_OUTPUT_SIZE")
    out.append(_cgen.size_checks(f"{name}_sizes_match_{fmt.header[:-2]}_h", conds,
                                 f"this {fmt.header} sizes the model differently"))
    return "".join(out)


def _dense_init(names, layer, I):
    return f"{{{I}, {layer.units}, {ACTIVATION_C[layer.activation]}, {', '.join(names)}}}"


def _descriptor(h):
    spec, name, fmt = h.spec, h.name, h.fmt
    per_layer, per_dense = 3 + len(fmt.layer_vectors), len(fmt.head_arrays)
    names, inits = [c for c, _, _ in h.arrays], {"pre": [], "gru": [], "head": []}
    at = 0
    for key, layer, I in spec.named_layers():
        n = per_layer * len(layer.suffixes) if isinstance(layer, GRU) else per_dense
        mine, at = names[at:at + n], at + n
        if isinstance(layer, GRU):
            for half, sfx in enumerate(layer.suffixes):
                acts = (f", {ACTIVATION_C[layer.activation]}, {ACTIVATION_C[layer.recurrent_activation]}, "
                        f"{int(bool(sfx))}, {half}" if fmt.kind == "float" else "")
                arrays = ", ".join(mine[half * per_layer:(half + 1) * per_layer])
                inits["gru"].append(f"{{{I}, {layer.hidden_size}, {int(layer.reset_after)}, {arrays}{acts}}}")
        else:
            inits["pre" if key.startswith("pre") else "head"].append(_dense_init(mine, layer, I))
    nulls = "{0, 0, GRU_ACT_NONE, " + ", ".join(["NULL"] * per_dense) + "}"
    heads = inits["head"] or [nulls]
    out = [f"\nconst {fmt.model_t} {name}_model = {{\n    {len(spec.state_sizes)}, /* num_layers */\n    {{\n"]
    out += [f"        {init},\n" for init in inits["gru"]]
    out.append(f"    }},\n    {int(bool(inits['head']))}, /* has_head */\n    {heads[0]}")
    if fmt.kind == "float":
        for count, layers in ((len(inits["pre"]), inits["pre"]), (len(heads) - 1, heads[1:])):
            items = "".join(f"        {init},\n" for init in layers) or f"        {nulls},\n"
            out.append(f",\n    {count},\n    {{\n{items}    }}")
    out.append("\n};\n")
    return "".join(out)


def _selftest(h):
    fmt, name, N, api = h.fmt, h.name, h.N, h.fmt.api
    if not h.streams:
        return _sequence_selftest(h)
    return f"""
int {name}_selftest({fmt.state_t} *state, size_t state_size, {fmt.scratch_t} *scratch, size_t scratch_size)
{{
    {api}_stream stream;
    size_t need, t, i;
    int status, mismatches = 0;
    {fmt.output_t} *y;
    if (!state || !scratch)
        return GRU_ERR_NULL;
    status = {api}_model_check(&{name}_model);
    if (status != GRU_OK)
        return status;
    need = {api}_scratch_size(&{name}_model);
    if (scratch_size < need + (size_t){N}_OUTPUT_SIZE)
        return GRU_ERR_BUFFER;
    status = {api}_stream_init(&stream, &{name}_model, state, state_size, scratch, need);
    if (status != GRU_OK)
        return status;
    y = scratch + need;
    for (t = 0; t < (size_t){N}_TEST_STEPS; t++) {{
        {api}_stream_step(&stream, {name}_test_input + t * (size_t){N}_INPUT_SIZE, y);
        for (i = 0; i < (size_t){N}_OUTPUT_SIZE; i++) {{
            uint32_t got, want;
            memcpy(&got, &y[i], sizeof got);
            memcpy(&want, &{name}_test_output[t * (size_t){N}_OUTPUT_SIZE + i], sizeof want);
            mismatches += got != want;
        }}
    }}
    {api}_stream_reset(&stream);
    return mismatches;
}}
"""


def _sequence_selftest(h):
    """The self-test of a model with a reverse layer: one gru_sequence call."""
    name, N = h.name, h.N
    return f"""
int {name}_selftest(float *state, size_t state_size, float *scratch, size_t scratch_size)
{{
    size_t need, i;
    int status, mismatches = 0;
    float *y;
    if (!state || !scratch)
        return GRU_ERR_NULL;
    status = gru_model_check(&{name}_model);
    if (status != GRU_OK)
        return status;
    need = gru_sequence_scratch_size_for(&{name}_model, {N}_TEST_STEPS);
    if (scratch_size < need + (size_t){N}_TEST_STEPS * {N}_OUTPUT_SIZE)
        return GRU_ERR_BUFFER;
    y = scratch + need;
    status = gru_sequence(&{name}_model, {name}_test_input, 1, {N}_TEST_STEPS, 1, NULL, state, state_size,
                          scratch, need, y);
    if (status != GRU_OK)
        return status;
    for (i = 0; i < (size_t){N}_TEST_STEPS * {N}_OUTPUT_SIZE; i++) {{
        uint32_t got, want;
        memcpy(&got, &y[i], sizeof got);
        memcpy(&want, &{name}_test_output[i], sizeof want);
        mismatches += got != want;
    }}
    memset(state, 0, state_size * sizeof *state);
    return mismatches;
}}
"""


def _implementation(h):
    N = h.N
    return (f"\n#if defined({N}_IMPLEMENTATION) && !defined({N}_IMPLEMENTATION_DONE)\n"
            f"#define {N}_IMPLEMENTATION_DONE\n\n#include <string.h>\n\n"
            + _layout_checks(h) + _cgen.alignment_macros(N, h.alignment) + _data(h) + _descriptor(h)
            + h.fmt.check_function(h.name, N, [c for c, _, _ in h.arrays]) + _selftest(h)
            + f"\n#endif /* {N}_IMPLEMENTATION */\n")


# ---------------------------------------------------------------------- the entry points

def render_header(model, name="model", self_test_steps=None, self_test_input=None,
                  float_format="hex", source=None, alignment=DEFAULT_ALIGNMENT, filename=None):
    """The header text export_c writes (validates everything but the path);
    `filename` is the header's file name shown in its comments (default NAME.h)."""
    fmt = format_of(model)
    name = check_name(name)
    if float_format not in FLOAT_FORMATS:
        raise ValueError(f"float_format: expected one of {FLOAT_FORMATS}, got {float_format!r}")
    alignment = positive_int("alignment", alignment, 4096)
    if alignment & (alignment - 1) or alignment < 4:
        raise ValueError(f"alignment: expected a power of two >= 4, got {alignment}")
    if source is not None and not isinstance(source, str):
        raise TypeError(f"source: expected a str or None, got {type(source).__name__}")
    x_test = _test_input(fmt, model, self_test_steps, self_test_input)
    h = _Header(model, name, x_test, self_test_input is not None, float_format, source, alignment, filename)
    return _comment(h) + _declarations(h) + _implementation(h)


def export_c(model, path, name="model", self_test_steps=None, self_test_input=None,
             float_format="hex", source=None, alignment=DEFAULT_ALIGNMENT):
    """Write `model` as a C header for firmware (see the module docstring).

    model:            a pygru.GRUModel, or a QuantizedGRUModel (pygru.quantize;
                      mode int8 or integer): every option applies to all three
    path:             the header file to write (ending in .h); written atomically,
                      so on any error no file (and no partial file) appears
    name:             prefix of every C identifier (kws -> kws_model, KWS_INPUT_SIZE);
                      a C identifier, not a keyword, no leading '_' or '__', not gru*
    self_test_steps:  steps of the embedded self-test (default 8) ...
    self_test_input:  ... or its float input sequence, shape (steps, input_size);
                      default: a seeded standard-normal sequence
    float_format:     "hex" (exact hex-float literals, default) or "decimal"
                      (shortest literals that round back to the same float32)
    source:           text recorded in the metadata comment (default: the model's repr)
    alignment:        default byte alignment of the weight arrays (a power of two)

    Returns the path written.
    """
    path = _check_path(path)
    text = render_header(model, name, self_test_steps, self_test_input, float_format, source,
                         alignment, filename=os.path.basename(path))
    atomic_write(path, lambda f: f.write(text.encode("ascii")))
    return path


def model_checksum(model):
    """The CRC-32 the header's NAME_check verifies (for a GRUModel, what
    gru_model_checksum computes): zlib.crc32 of the packed arrays' bytes."""
    format_of(model)
    return _cgen.crc32(model._native_model().packed_arrays())
