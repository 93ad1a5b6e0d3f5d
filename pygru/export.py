"""C header export: a GRUModel as one stb-style header for firmware.

    pygru.export_c(model, "kws.h", name="kws")

writes a header that declares (in every file that includes it)

    KWS_INPUT_SIZE, KWS_OUTPUT_SIZE, KWS_NUM_LAYERS, KWS_STATE_SIZE,
    KWS_SCRATCH_SIZE, KWS_CHECKSUM, KWS_TEST_STEPS, ...
    extern const gru_model kws_model;
    int kws_check(void);
    int kws_selftest(float *state, size_t state_size, float *scratch, size_t scratch_size);

and defines them in the one C file that does `#define KWS_IMPLEMENTATION`
before the include: the packed weights as `const` arrays (exact float
literals), the descriptor, the CRC-32 check and a self-test whose expected
outputs were computed here through the same C kernel the firmware runs.
"""
import datetime
import os
import re
import zlib

import numpy as np

from . import _core
from ._io import atomic_write
from ._validate import float_array, positive_int
from .model import GRUModel

DEFAULT_TEST_STEPS = 8
MAX_TEST_VALUES = 1 << 20       # test input + expected output floats kept in flash
MAX_NAME_LENGTH = 32            # NAME_IMPLEMENTATION_DONE stays within 63 characters
FLOAT_FORMATS = ("hex", "decimal")
DEFAULT_ALIGNMENT = 64  # gru.h GRU_WEIGHT_ALIGN: a cache line (x86 vector loads never straddle two)

# Keywords of C99, C11 and C23 (the header's identifiers are built from `name`).
C_KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern float for goto
    if inline int long register restrict return short signed sizeof static struct switch
    typedef union unsigned void volatile while _Bool _Complex _Imaginary _Alignas _Alignof
    _Atomic _Generic _Noreturn _Static_assert _Thread_local alignas alignof bool constexpr
    false nullptr static_assert thread_local true typeof typeof_unqual _BitInt _Decimal32
    _Decimal64 _Decimal128""".split())

_ACTIVATION_C = {None: "GRU_ACT_NONE", "sigmoid": "GRU_ACT_SIGMOID", "tanh": "GRU_ACT_TANH",
                 "softmax": "GRU_ACT_SOFTMAX"}
_LAYER_ARRAYS = ("w_ih", "w_hh_rz", "w_hh_n", "b_ih", "b_hh")
_HEAD_ARRAYS = ("head_w", "head_b")


# ---------------------------------------------------------------------- validation

def check_name(name):
    """Return `name` if it can prefix the header's C identifiers, else raise."""
    if not isinstance(name, str):
        raise TypeError(f"name: expected a str (a C identifier), got {type(name).__name__} {name!r}")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"name: expected a C identifier (letters, digits, '_', not starting "
                         f"with a digit), got {name!r}")
    if name in C_KEYWORDS:
        raise ValueError(f"name: {name!r} is a C keyword; choose another model name")
    if name.startswith("_") or "__" in name:
        raise ValueError(f"name: {name!r} would make reserved identifiers (leading '_' or '__'); "
                         f"choose a name without them")
    if name.lower() == "gru" or name.lower().startswith("gru_"):
        raise ValueError(f"name: {name!r} clashes with the runtime's gru_/GRU_ names; "
                         f"choose another model name")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"name: expected at most {MAX_NAME_LENGTH} characters, "
                         f"got {len(name)} ({name!r})")
    return name


def _check_path(path):
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"path: expected a file name (str or os.PathLike), "
                        f"got {type(path).__name__} {path!r}") from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not path.lower().endswith(".h"):
        raise ValueError(f"path: expected a C header file name ending in '.h', got {path!r}")
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"path: directory {directory!r} does not exist (writing {path!r})")
    if os.path.isdir(path):
        raise IsADirectoryError(f"path: {path!r} is a directory, expected a file name")
    return path


def _test_input(model, self_test_steps, self_test_input):
    if self_test_input is None:
        steps = DEFAULT_TEST_STEPS if self_test_steps is None else positive_int(
            "self_test_steps", self_test_steps)
        x = np.random.default_rng(0).standard_normal((steps, model.input_size)).astype(np.float32)
    else:
        x = float_array("self_test_input", self_test_input, (2,), model.input_size)
        if self_test_steps is not None and positive_int("self_test_steps", self_test_steps) != len(x):
            raise ValueError(f"self_test_steps: expected None or the {len(x)} rows of "
                             f"self_test_input, got {self_test_steps}")
    values = x.shape[0] * (model.input_size + model.output_dim)
    if values > MAX_TEST_VALUES:
        raise ValueError(f"self_test_steps: the self-test would store {values} floats; expected at "
                         f"most {MAX_TEST_VALUES} (use fewer steps)")
    return x


# ---------------------------------------------------------------------- formatting

def float_literals(values, float_format="hex"):
    """Exact C float literals for float32 values: hex floats (`-0x1.8p+1f`) or
    the shortest decimals that round back to the same float32 (`0.1f`)."""
    values = np.asarray(values, dtype=np.float32).ravel()
    if not np.isfinite(values).all():
        bad = values[~np.isfinite(values)][0]
        raise ValueError(f"values: expected finite floats, got {bad}")
    if float_format == "hex":
        out = []
        for v in values.astype(np.float64).tolist():   # float32 -> float64 is exact
            mantissa, exponent = v.hex().split("p")
            out.append(f"{mantissa.rstrip('0').rstrip('.')}p{exponent}f")
        return out
    texts = (str(v) for v in values)                   # numpy's shortest round-trip repr
    return [t + "f" if ("." in t or "e" in t) else t + ".0f" for t in texts]


def float_literal(value, float_format="hex"):
    """float_literals for one value."""
    return float_literals([value], float_format)[0]


def _array_body(values, float_format, per_line):
    literals = float_literals(values, float_format)
    lines = [", ".join(literals[i:i + per_line]) for i in range(0, len(literals), per_line)]
    return "    " + ",\n    ".join(lines)


def model_checksum(model):
    """The CRC-32 gru_model_checksum computes for `model` (zlib.crc32 of the
    packed arrays as little-endian float32 bytes)."""
    crc = 0
    for arr in model._native_model().packed_arrays():
        crc = zlib.crc32(np.asarray(arr, dtype="<f4").tobytes(), crc)
    return crc & 0xFFFFFFFF


def _export_date():
    # SOURCE_DATE_EPOCH (reproducible-builds.org) pins the date for reproducible output.
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        moment = datetime.datetime.now(datetime.timezone.utc)
    else:
        try:
            moment = datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc)
        except (ValueError, OverflowError, OSError):
            raise ValueError(f"SOURCE_DATE_EPOCH: expected seconds since 1970 as an integer, "
                             f"got {epoch!r}") from None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _comment_safe(text):
    """`text` made safe inside a C comment or string literal: ASCII, one line,
    no comment delimiters, quotes, backslashes or trigraphs."""
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    text = re.sub(r"[\x00-\x1f\x7f]", " ", text.replace("\\", "/").replace('"', "'"))
    text = re.sub(r"\?(?=\?)", "? ", text)                 # no trigraphs (??/ is a backslash)
    return re.sub(r"\*(?=/)|/(?=\*)", lambda m: m.group() + " ", text)   # no /* or */


# ---------------------------------------------------------------------- the header

def render_header(model, name="model", self_test_steps=None, self_test_input=None,
                  float_format="hex", source=None, alignment=DEFAULT_ALIGNMENT, filename=None):
    """The header text export_c writes (validates everything but the path);
    `filename` is the header's file name shown in its comments (default NAME.h)."""
    if not isinstance(model, GRUModel):
        raise TypeError(f"model: expected a pygru.GRUModel, got {type(model).__name__}")
    name = check_name(name)
    if float_format not in FLOAT_FORMATS:
        raise ValueError(f"float_format: expected one of {FLOAT_FORMATS}, got {float_format!r}")
    alignment = positive_int("alignment", alignment, 4096)
    if alignment & (alignment - 1) or alignment < 4:
        raise ValueError(f"alignment: expected a power of two >= 4, got {alignment}")
    if source is not None and not isinstance(source, str):
        raise TypeError(f"source: expected a str or None, got {type(source).__name__}")
    x_test = _test_input(model, self_test_steps, self_test_input)

    native = model._native_model()
    arrays = native.packed_arrays()
    stream = model.stream()
    y_test = np.stack([stream.step(x) for x in x_test]).astype(np.float32)
    if not np.isfinite(y_test).all():
        raise ValueError("model: its outputs on the self-test input are not all finite "
                         "(overflow in the weights?); a header needs finite expected outputs")

    from . import __version__
    N = name.upper()
    fname = _comment_safe(filename if filename is not None else f"{name}.h")
    n_in, n_out, L = native.input_size, native.output_size, model.num_layers
    hidden = model.hidden_sizes
    has_head = model.output_size is not None
    scratch = native.scratch_size + n_out      # + the self-test's output vector
    n_weights = sum(int(a.size) for a in arrays)
    checksum = model_checksum(model)
    steps = int(x_test.shape[0])
    per_line = 4 if float_format == "hex" else 6
    source_text = _comment_safe(source if source is not None else repr(model))

    layer_lines = []
    for l in range(L):
        size_in = model.input_size if l == 0 else hidden[l - 1]
        variant = ("reset_after=1 (PyTorch: n = tanh(W_in x + b_in + r * (W_hn h + b_hn)))"
                   if model.reset_after[l] else
                   "reset_after=0 (Cho/ONNX: n = tanh(W_in x + b_in + W_hn (r * h) + b_hn))")
        layer_lines.append(f" *   layer {l}: {size_in} -> {hidden[l]}, {variant}")
    head_line = (f" *   head:    dense {hidden[-1]} -> {model.output_size}, activation "
                 f"{model.output_activation or 'none'}" if has_head else
                 " *   head:    none (the output is the last layer's h)")
    opts, tool_opts = "", f" --name {name}"
    if self_test_input is not None:
        opts += ", self_test_input=X_TEST"
        tool_opts += " --test-input X_TEST.npy"
    elif steps != DEFAULT_TEST_STEPS:
        opts += f", self_test_steps={steps}"
        tool_opts += f" --steps {steps}"
    if float_format != "hex":
        opts += f', float_format="{float_format}"'
        tool_opts += f" --float-format {float_format}"
    if alignment != DEFAULT_ALIGNMENT:
        opts += f", alignment={alignment}"
        tool_opts += f" --alignment {alignment}"

    out = []
    w = out.append
    w(f"""/*
 * {fname} - GRU model exported by pygru {__version__} (gru_c C API {_core.C_VERSION}).
 * Generated file: do not edit; regenerate it instead:
 *   pygru.export_c(model, "{fname}", name="{name}"{opts})
 *   python tools/export_header.py MODEL.npz {fname}{tool_opts}
 *
 * Source:     {source_text}
 * Exported:   {_export_date()}
 * dtype:      float32 (IEEE-754 binary32) weights, state and outputs
 * Gate order: r, z, n (PyTorch order; Keras/ONNX z, r, n were reordered on import)
{chr(10).join(layer_lines)}
{head_line}
 * Sizes:      input {n_in}, output {n_out}, state {native.state_size} floats,
 *             scratch {scratch} floats, weights {n_weights} floats ({4 * n_weights} bytes)
 * Layout:     packed for gru_c (GRU_PACK_ROWS 8, GRU_PACK_BLOCK 48; see gru.h "Weight layout")
 * Checksum:   CRC-32 0x{checksum:08X} of the packed weights (gru_model_checksum)
 * Self-test:  {steps} steps from a zero state; expected outputs computed by pygru
 *             through the same C kernel, compared bit for bit
 * Floats:     {"hex float literals (exact)" if float_format == "hex" else
                "shortest decimal literals that round back to the same float32"}
 *
 * Use (stb style): #include "{fname}" wherever the model is used, and in exactly
 * one C file (C99) define {N}_IMPLEMENTATION before including it:
 *
 *   #define {N}_IMPLEMENTATION
 *   #include "{fname}"
 *
 *   static float state[{N}_STATE_SIZE], scratch[{N}_SCRATCH_SIZE];
 *   if ({name}_check() != GRU_OK ||
 *       {name}_selftest(state, {N}_STATE_SIZE, scratch, {N}_SCRATCH_SIZE) != 0)
 *       fail();
 *   gru_stream s;
 *   gru_stream_init(&s, &{name}_model, state, {N}_STATE_SIZE, scratch, {N}_SCRATCH_SIZE);
 *   gru_stream_step(&s, x, y);    x: {N}_INPUT_SIZE floats, y: {N}_OUTPUT_SIZE floats
 *
 * Build with the gru_c/src sources and -ffp-contract=off (never -ffast-math) to get
 * the exact results pygru computed. Define before the include to override:
 *   {N}_ALIGNMENT: alignment of the weight arrays in bytes (default {alignment});
 *   GRU_ALIGN(n): how to align a definition (default: GCC/Clang attribute,
 *     MSVC __declspec, C11 _Alignas, else nothing);
 *   {N}_WEIGHT_SECTION: e.g. __attribute__((section(".flash_weights"))) to
 *     place the weight and self-test arrays in a given section (default: none).
 */
#ifndef {N}_H
#define {N}_H

#include <stddef.h>
#include <stdint.h>

#include "gru.h"

#define {N}_INPUT_SIZE {n_in}
#define {N}_OUTPUT_SIZE {n_out}
#define {N}_NUM_LAYERS {L}
#define {N}_MAX_HIDDEN_SIZE {max(hidden)}
#define {N}_STATE_SIZE {native.state_size} /* == gru_state_size(&{name}_model) */
#define {N}_SCRATCH_SIZE {scratch} /* gru_scratch_size(&{name}_model) + {N}_OUTPUT_SIZE (self-test) */
#define {N}_WEIGHT_COUNT {n_weights} /* floats in the packed weight arrays */
#define {N}_CHECKSUM 0x{checksum:08X}u /* gru_model_checksum(&{name}_model) */
#define {N}_TEST_STEPS {steps}
""")
    for l in range(L):
        w(f"#define {N}_HIDDEN_SIZE_{l} {hidden[l]}\n")
    w(f"""
#ifdef __cplusplus
extern "C" {{
#endif

/* Ready-to-use descriptor; its weights are const (flash). */
extern const gru_model {name}_model;

/* GRU_OK if the weights' CRC-32 equals {N}_CHECKSUM, GRU_ERR_CHECKSUM if not. */
int {name}_check(void);

/* Runs the embedded test sequence ({N}_TEST_STEPS steps from a zero state,
 * gru_stream API) and compares every output bit for bit with the output pygru
 * computed. Needs scratch_size >= {N}_SCRATCH_SIZE (gru_scratch_size + the
 * output vector). Returns 0 if all match, the number of mismatching values if
 * not, or a negative gru_status. Leaves `state` zeroed. */
int {name}_selftest(float *state, size_t state_size, float *scratch, size_t scratch_size);

#ifdef __cplusplus
}}
#endif

#endif /* {N}_H */

#if defined({N}_IMPLEMENTATION) && !defined({N}_IMPLEMENTATION_DONE)
#define {N}_IMPLEMENTATION_DONE

#include <string.h>

#if GRU_VERSION_MAJOR != {_core.C_VERSION.split('.')[0]} || GRU_PACK_ROWS != 8 || GRU_PACK_BLOCK != 48
#error "{fname} was exported for gru_c {_core.C_VERSION} (GRU_PACK_ROWS 8, GRU_PACK_BLOCK 48); re-export it for this gru.h"
#endif
#if GRU_MAX_LAYERS < {L}
#error "{fname} has {L} layers: build gru_c and this file with GRU_MAX_LAYERS >= {L}"
#endif

#ifndef {N}_ALIGNMENT
#define {N}_ALIGNMENT {alignment}
#endif
#ifndef GRU_ALIGN
#if defined(__GNUC__) || defined(__clang__)
#define GRU_ALIGN(n) __attribute__((aligned(n)))
#elif defined(_MSC_VER)
#define GRU_ALIGN(n) __declspec(align(n))
#elif defined(__STDC_VERSION__) && __STDC_VERSION__ >= 201112L
#define GRU_ALIGN(n) _Alignas(n)
#else
#define GRU_ALIGN(n)
#endif
#endif
#ifndef {N}_WEIGHT_SECTION
#define {N}_WEIGHT_SECTION
#endif
#define {N}_CONST_ARRAY GRU_ALIGN({N}_ALIGNMENT) {N}_WEIGHT_SECTION static const float
""")
    names = []
    for l in range(L):
        names += [f"{name}_l{l}_{a}" for a in _LAYER_ARRAYS]
    if has_head:
        names += [f"{name}_{a}" for a in _HEAD_ARRAYS]
    sizes = []
    for l in range(L):
        I, H = (model.input_size if l == 0 else hidden[l - 1]), hidden[l]
        sizes += [f"GRU_LAYER_W_IH_SIZE({I}, {H})", f"GRU_LAYER_W_HH_RZ_SIZE({H})",
                  f"GRU_LAYER_W_HH_N_SIZE({H})", f"3 * {H}", f"3 * {H}"]
    if has_head:
        sizes += [f"GRU_PACKED_SIZE({model.output_size}, {hidden[-1]})", f"{model.output_size}"]
    for arr_name, arr, size in zip(names, arrays, sizes):
        w(f"\n/* {size} floats */\n{N}_CONST_ARRAY {arr_name}[] = {{\n"
          f"{_array_body(arr, float_format, per_line)}\n}};\n")
    w(f"\n/* self-test: [{N}_TEST_STEPS][{N}_INPUT_SIZE] inputs, [{N}_TEST_STEPS][{N}_OUTPUT_SIZE] expected outputs */\n"
      f"{N}_CONST_ARRAY {name}_test_input[] = {{\n{_array_body(x_test, float_format, per_line)}\n}};\n"
      f"{N}_CONST_ARRAY {name}_test_output[] = {{\n{_array_body(y_test, float_format, per_line)}\n}};\n")

    # Compile-time checks: array lengths and size macros agree with this gru.h.
    conds = [f"sizeof {a} == ({s}) * sizeof(float)" for a, s in zip(names, sizes)]
    conds += [f"sizeof {name}_test_input == {N}_TEST_STEPS * {N}_INPUT_SIZE * sizeof(float)",
              f"sizeof {name}_test_output == {N}_TEST_STEPS * {N}_OUTPUT_SIZE * sizeof(float)",
              f"{N}_STATE_SIZE == GRU_STATE_SIZE({sum(hidden)})",
              f"{N}_SCRATCH_SIZE == GRU_SCRATCH_SIZE({max(hidden)}, {n_out}) + {N}_OUTPUT_SIZE"]
    w(f"\n/* Fails to compile (negative array size) if this gru.h sizes the model differently. */\n"
      f"typedef char {name}_sizes_match_gru_h[(\n    " + " &&\n    ".join(conds) + ") ? 1 : -1];\n")

    w(f"\nconst gru_model {name}_model = {{\n    {L}, /* num_layers */\n    {{\n")
    for l in range(L):
        I = model.input_size if l == 0 else hidden[l - 1]
        p = f"{name}_l{l}_"
        w(f"        {{{I}, {hidden[l]}, {int(model.reset_after[l])}, {p}w_ih, {p}w_hh_rz, {p}w_hh_n, "
          f"{p}b_ih, {p}b_hh}},\n")
    w("    },\n")
    if has_head:
        w(f"    1, /* has_head */\n    {{{hidden[-1]}, {model.output_size}, "
          f"{_ACTIVATION_C[model.output_activation]}, {name}_head_w, {name}_head_b}}\n}};\n")
    else:
        w("    0, /* has_head */\n    {0, 0, GRU_ACT_NONE, NULL, NULL}\n};\n")

    w(f"""
int {name}_check(void)
{{
    uint32_t crc = 0;
    const int status = gru_model_checksum(&{name}_model, &crc);
    if (status != GRU_OK)
        return status;
    return crc == (uint32_t){N}_CHECKSUM ? GRU_OK : GRU_ERR_CHECKSUM;
}}

int {name}_selftest(float *state, size_t state_size, float *scratch, size_t scratch_size)
{{
    gru_stream stream;
    size_t need, t, i;
    int status, mismatches = 0;
    float *y;
    if (!state || !scratch)
        return GRU_ERR_NULL;
    status = gru_model_check(&{name}_model);
    if (status != GRU_OK)
        return status;
    need = gru_scratch_size(&{name}_model);
    if (scratch_size < need + (size_t){N}_OUTPUT_SIZE)
        return GRU_ERR_BUFFER;
    status = gru_stream_init(&stream, &{name}_model, state, state_size, scratch, need);
    if (status != GRU_OK)
        return status;
    y = scratch + need;
    for (t = 0; t < (size_t){N}_TEST_STEPS; t++) {{
        gru_stream_step(&stream, {name}_test_input + t * (size_t){N}_INPUT_SIZE, y);
        for (i = 0; i < (size_t){N}_OUTPUT_SIZE; i++) {{
            uint32_t got, want;
            memcpy(&got, &y[i], sizeof got);
            memcpy(&want, &{name}_test_output[t * (size_t){N}_OUTPUT_SIZE + i], sizeof want);
            mismatches += got != want;
        }}
    }}
    gru_stream_reset(&stream);
    return mismatches;
}}

#endif /* {N}_IMPLEMENTATION */
""")
    return "".join(out)


def export_c(model, path, name="model", self_test_steps=None, self_test_input=None,
             float_format="hex", source=None, alignment=DEFAULT_ALIGNMENT):
    """Write `model` as a C header for firmware (see the module docstring).

    model:            a pygru.GRUModel (a QuantizedGRUModel is exported by
                      pygru/export_quant.py: name and self_test_steps apply)
    path:             the header file to write (ending in .h); written atomically,
                      so on any error no file (and no partial file) appears
    name:             prefix of every C identifier (kws -> kws_model, KWS_INPUT_SIZE);
                      a C identifier, not a keyword, no leading '_' or '__', not gru*
    self_test_steps:  steps of the embedded self-test (default 8) ...
    self_test_input:  ... or its input sequence, shape (steps, input_size);
                      default: a seeded standard-normal sequence
    float_format:     "hex" (exact hex-float literals, default) or "decimal"
                      (shortest literals that round back to the same float32)
    source:           text recorded in the metadata comment (default: the model's repr)
    alignment:        default byte alignment of the weight arrays (a power of two)

    Returns the path written.
    """
    from .quantize import QuantizedGRUModel
    if isinstance(model, QuantizedGRUModel):  # quantized models: pygru/export_quant.py
        return model.export_c(path, name, self_test_steps)
    path = _check_path(path)
    text = render_header(model, name, self_test_steps, self_test_input, float_format, source,
                         alignment, filename=os.path.basename(path))
    atomic_write(path, lambda f: f.write(text.encode("ascii")))
    return path
