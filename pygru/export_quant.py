"""C header export of a QuantizedGRUModel (both modes), in the same stb style
and with the same helpers as pygru.export (briefs/header_api.md):

    pygru.export_c(qmodel, "kws.h", name="kws")      # or qmodel.export_c(...)

    #define KWS_IMPLEMENTATION      (in exactly one C file)
    #include "kws.h"

declares KWS_INPUT_SIZE, KWS_OUTPUT_SIZE, KWS_NUM_LAYERS, KWS_STATE_SIZE,
KWS_SCRATCH_SIZE, KWS_CHECKSUM, KWS_TEST_STEPS, KWS_WEIGHT_BYTES,
`extern const gru_q8_model kws_model` (mode int8) or `gru_qi_model` (mode
integer, plus KWS_INPUT_SCALE and KWS_OUTPUT_FRAC_BITS), kws_check() and
kws_selftest(state, state_size, scratch, scratch_size). State and scratch are
float for int8 and int16 / int32 for integer. The checksum is the CRC-32
(gru_checksum) of every array's bytes in memory order, little-endian as on
every supported target.
"""
import os
import zlib

import numpy as np

from . import _core
from ._io import atomic_write
from .export import DEFAULT_TEST_STEPS, _array_body, _check_path, _export_date, check_name
from ._validate import positive_int

_ACT = {None: "GRU_ACT_NONE", "sigmoid": "GRU_ACT_SIGMOID", "tanh": "GRU_ACT_TANH",
        "softmax": "GRU_ACT_SOFTMAX"}
_CTYPE = {np.dtype(np.int8): "int8_t", np.dtype(np.int16): "int16_t", np.dtype(np.int32): "int32_t",
          np.dtype(np.float32): "float"}


def _int_body(values, per_line=16):
    vals = [str(int(v)) for v in np.asarray(values).ravel()]
    return "    " + ",\n    ".join(", ".join(vals[i:i + per_line]) for i in range(0, len(vals), per_line))


def _arrays(qmodel):
    """[(suffix, array)] in descriptor order, as the C descriptor points at them."""
    packed = qmodel._native_model().packed_arrays()
    if qmodel.mode == "int8":
        keys = ("w_ih", "w_hh_rz", "w_hh_n", "s_ih", "s_hh", "b_ih", "b_hh")
        head = ("w", "scale", "bias")
    else:
        keys = ("w_ih", "w_hh_rz", "w_hh_n", "m_ih", "sh_ih", "m_hh", "sh_hh", "b_ih", "b_hh")
        head = ("weight", "mult", "shift", "bias")
    out = []
    for l in range(qmodel.num_layers):
        out += [(f"l{l}_{k}", packed[len(keys) * l + i]) for i, k in enumerate(keys)]
    if qmodel.output_size is not None:
        out += [(f"head_{k}", a) for k, a in zip(head, packed[len(keys) * qmodel.num_layers:])]
    return out


def checksum(arrays):
    crc = 0
    for _, arr in arrays:
        a = np.asarray(arr)
        crc = zlib.crc32(a.astype(a.dtype.newbyteorder("<")).tobytes(), crc)
    return crc & 0xFFFFFFFF


def render_quantized_header(qmodel, name="model", self_test_steps=None, filename=None):
    from .quantize import QuantizedGRUModel
    if not isinstance(qmodel, QuantizedGRUModel):
        raise TypeError(f"qmodel: expected a pygru QuantizedGRUModel, got {type(qmodel).__name__}")
    name = check_name(name)
    steps = DEFAULT_TEST_STEPS if self_test_steps is None else positive_int("self_test_steps", self_test_steps, 4096)
    N = name.upper()
    fname = filename or f"{name}.h"
    native = qmodel._native_model()
    arrays = _arrays(qmodel)
    crc = checksum(arrays)
    L, hidden = qmodel.num_layers, qmodel.hidden_sizes
    n_in, n_out = qmodel.input_size, qmodel.output_dim
    integer = qmodel.mode == "integer"
    x_test = np.random.default_rng(0).standard_normal((steps, n_in)).astype(np.float32)
    x_test *= np.float32(qmodel.input_scale * 32767 / 3 if integer else 1.0)
    if integer:
        xq = qmodel.quantize_input(x_test)
        y_test = qmodel.predict_int(xq[None], return_sequences=True)[0]
    else:
        y_test = qmodel.predict(x_test, return_sequences=True)
    if integer:
        st_t, sc_t, io_in, io_out = "int16_t", "int32_t", "int16_t", "int32_t"
        model_t, stream_p = "gru_qi_model", "gru_qi"
        scratch_macro = f"GRU_QI_SCRATCH_SIZE({max(hidden)})"
    else:
        st_t = sc_t = io_in = io_out = "float"
        model_t, stream_p = "gru_q8_model", "gru_q8"
        scratch_macro = f"GRU_SCRATCH_SIZE({max(hidden)}, {n_out})"
    weight_bytes = sum(int(np.asarray(a).nbytes) for _, a in arrays)
    c_version = _core.C_VERSION
    c_major = c_version.split(".")[0]
    out = []
    w = out.append
    w(f"""/*
 * {fname} - quantized GRU model ({qmodel.mode} mode) exported by pygru.
 * Generated file: do not edit; regenerate with pygru.export_c(qmodel, "{fname}", name="{name}").
 * Exported: {_export_date()}
 * Model:    {qmodel!r}
 * Mode:     {"int8 weights, int16 Q0.15 state, int32 accumulators, no float in a step"
              if integer else "int8 weights with per-row float scales, float32 arithmetic"}
 *           (contract: gru_quant.h)
 * Layout:   {"matrices packed by gru_qi_pack_matrix: 16-row blocks, per column pair p"
              if integer else "matrices packed by gru_q8_pack_matrix (gru.h's block geometry,"}
 *           {"w[r][2p], w[r][2p+1] for r = 0..15 (rows padded to 16, columns to 2);"
              if integer else "int8 elements);"}
 *           W_hh split into its r,z rows and its n rows
 * Weights:  {weight_bytes} bytes; CRC-32 0x{crc:08X}
 *
 *   #define {N}_IMPLEMENTATION   (in exactly one C file)
 *   #include "{fname}"
 *   static {st_t} state[{N}_STATE_SIZE];
 *   static {sc_t} scratch[{N}_SCRATCH_SIZE];
 *   {stream_p}_stream s;
 *   {stream_p}_stream_init(&s, &{name}_model, state, {N}_STATE_SIZE, scratch, {N}_SCRATCH_SIZE);
 *   {stream_p}_stream_step(&s, x, y);   x: {N}_INPUT_SIZE {io_in}, y: {N}_OUTPUT_SIZE {io_out}
""")
    if integer:
        w(f""" *
 * Inputs: x_q = round(x / {N}_INPUT_SCALE), saturated to +-32767. Outputs: y / 2^{N}_OUTPUT_FRAC_BITS
 * ({"softmax NOT applied: logits" if qmodel.output_activation == "softmax" else "see gru_quant.h"}).
""")
    w(f""" */
#ifndef {N}_H
#define {N}_H

#include <stddef.h>
#include <stdint.h>

#include "gru_quant.h"

#if GRU_VERSION_MAJOR != {c_major} || GRU_PACK_ROWS != 8 || GRU_PACK_BLOCK != 48 || \\
    !defined(GRU_QI_BLOCK_ROWS) || GRU_QI_BLOCK_ROWS != 16
#error "{fname} was exported for gru_c {c_version} (packed layouts GRU_PACK_ROWS 8, GRU_PACK_BLOCK 48, GRU_QI_BLOCK_ROWS 16); re-export it for this gru_quant.h"
#endif

#define {N}_INPUT_SIZE {n_in}
#define {N}_OUTPUT_SIZE {n_out}
#define {N}_NUM_LAYERS {L}
#define {N}_STATE_SIZE GRU_STATE_SIZE({sum(hidden)})
#define {N}_SCRATCH_SIZE {scratch_macro}
#define {N}_WEIGHT_BYTES {weight_bytes}
#define {N}_CHECKSUM 0x{crc:08X}u
#define {N}_TEST_STEPS {steps}
""")
    if integer:
        w(f"#define {N}_INPUT_SCALE {float(np.float32(qmodel.input_scale))!r}f\n"
          f"#define {N}_OUTPUT_FRAC_BITS {qmodel.output_frac_bits}\n")
    w(f"""
#ifdef __cplusplus
extern "C" {{
#endif
extern const {model_t} {name}_model;
/* GRU_OK if the weights' CRC-32 equals {N}_CHECKSUM, else GRU_ERR_CHECKSUM. */
int {name}_check(void);
/* Runs the embedded {N}_TEST_STEPS-step test sequence from a zero state and
 * compares every output value exactly: 0 if all match, the number of
 * mismatching values, or
 * a negative gru_status. */
int {name}_selftest({st_t} *state, size_t state_size, {sc_t} *scratch, size_t scratch_size);
#ifdef __cplusplus
}}
#endif
#endif /* {N}_H */

#if defined({N}_IMPLEMENTATION) && !defined({N}_IMPLEMENTATION_DONE)
#define {N}_IMPLEMENTATION_DONE
#include <string.h>
""")
    for suffix, arr in arrays:
        arr = np.asarray(arr)
        ct = _CTYPE[arr.dtype]
        body = _array_body(arr, "hex", 4) if ct == "float" else _int_body(arr)
        w(f"static const {ct} {name}_{suffix}[{arr.size}] = {{\n{body}\n}};\n")
    tin = _int_body(xq) if integer else _array_body(x_test, "hex", 4)
    tout = _int_body(y_test) if integer else _array_body(y_test, "hex", 4)
    w(f"static const {io_in} {name}_test_input[{x_test.size}] = {{\n{tin}\n}};\n"
      f"static const {io_out} {name}_test_output[{y_test.size}] = {{\n{tout}\n}};\n")

    w(f"\nconst {model_t} {name}_model = {{\n    {L},\n    {{\n")
    for l in range(L):
        I = n_in if l == 0 else hidden[l - 1]
        names = ", ".join(f"{name}_{s}" for s, _ in arrays if s.startswith(f"l{l}_"))
        w(f"        {{{I}, {hidden[l]}, {int(qmodel.reset_after[l])}, {names}}},\n")
    w("    },\n")
    if qmodel.output_size is not None:
        names = ", ".join(f"{name}_{s}" for s, _ in arrays if s.startswith("head_"))
        w(f"    1,\n    {{{hidden[-1]}, {n_out}, {_ACT[qmodel.output_activation]}, {names}}}\n}};\n")
    else:
        w("    0,\n    {0, 0, GRU_ACT_NONE, NULL, NULL, NULL" + (", NULL" if integer else "") + "}\n};\n")

    crc_lines = "".join(f"    crc = {name}_crc_update(crc, {name}_{s}, sizeof {name}_{s});\n" for s, _ in arrays)
    w(f"""
/* CRC-32 continued over one more array (gru_checksum restarts at 0, so chain
 * through the bitwise definition: same polynomial and conditioning as zlib). */
static uint32_t {name}_crc_update(uint32_t crc, const void *data, size_t size)
{{
    const unsigned char *p = (const unsigned char *)data;
    crc = ~crc;
    while (size--) {{
        crc ^= *p++;
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }}
    return ~crc;
}}

int {name}_check(void)
{{
    uint32_t crc = 0;
{crc_lines}    return crc == (uint32_t){N}_CHECKSUM ? GRU_OK : GRU_ERR_CHECKSUM;
}}

int {name}_selftest({st_t} *state, size_t state_size, {sc_t} *scratch, size_t scratch_size)
{{
    {stream_p}_stream s;
    {io_out} y[{N}_OUTPUT_SIZE];
    int mismatches = 0;
    const int status = {stream_p}_stream_init(&s, &{name}_model, state, state_size, scratch, scratch_size);
    if (status != GRU_OK)
        return status;
    for (size_t t = 0; t < (size_t){N}_TEST_STEPS; t++) {{
        {stream_p}_stream_step(&s, {name}_test_input + t * (size_t){N}_INPUT_SIZE, y);
        for (size_t i = 0; i < (size_t){N}_OUTPUT_SIZE; i++)
            mismatches += memcmp(&y[i], &{name}_test_output[t * (size_t){N}_OUTPUT_SIZE + i], sizeof y[i]) != 0;
    }}
    {stream_p}_stream_reset(&s);
    return mismatches;
}}
#endif /* {N}_IMPLEMENTATION */
""")
    return "".join(out)


def export_quantized_c(qmodel, path, name="model", self_test_steps=None):
    """Write `qmodel` (a QuantizedGRUModel) as an stb-style C header; atomic.
    Returns the path written."""
    path = _check_path(path)
    text = render_quantized_header(qmodel, name, self_test_steps, filename=os.path.basename(path))
    atomic_write(path, lambda f: f.write(text.encode("ascii")))
    return path
