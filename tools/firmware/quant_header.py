"""Write the C header that tools/firmware/quant_infer.c compiles: one GRUModel
as a float model, its int8-mode and integer-mode quantizations, and input
sequences, as static C arrays (float weights as exact hex literals). Used by
tests/test_quant.py (host and QEMU targets) and benchmarks/bench_quant.py.

The quantized weights are written row-major and packed by the C program itself
(gru_q8_pack_matrix, gru_qi_pack_matrix), so the test also covers the C packing."""
import glob
import os
import shlex
import subprocess
import sysconfig

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
C_SOURCES = sorted(glob.glob(os.path.join(ROOT, "gru_c", "src", "*.c")))
WARN = ["-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Wconversion", "-Wshadow", "-Werror"]


def _arr(ctype, name, values, const=True):
    values = np.asarray(values).reshape(-1)
    if ctype == "float":
        body = ", ".join(float(np.float32(v)).hex() + "f" for v in values)
    else:
        body = ", ".join(str(int(v)) for v in values)
    return f"static {'const ' if const else ''}{ctype} {name}[{len(values)}] = {{{body}}};\n"


def write_case_header(path, model, q8, qi, X):
    """model: the float GRUModel; q8, qi: its QuantizedGRUModel in modes int8 /
    integer; X: float32 (B, T, I) inputs."""
    B, T, I = X.shape
    Hs = q8.hidden_sizes
    O = q8.output_dim
    out = ["#include <string.h>\n#include \"gru_quant.h\"\n",
           f"#define CASE_B {B}\n#define CASE_T {T}\n#define CASE_I {I}\n#define CASE_O {O}\n",
           f"#define CASE_STATE GRU_STATE_SIZE({sum(Hs)})\n",
           f"#define CASE_Q8_SCRATCH GRU_SCRATCH_SIZE({max(Hs)}, {O})\n",
           f"#define CASE_QI_SCRATCH GRU_QI_SCRATCH_SIZE({max(Hs)})\n",
           _arr("float", "case_x", X), _arr("int16_t", "case_xq", qi.quantize_input(X))]
    p8, pi = q8.params, qi.params
    body = ["static int case_models(gru_q8_model *q8, gru_qi_model *qi)\n{\n    int st;\n",
            "    memset(q8, 0, sizeof *q8);\n    memset(qi, 0, sizeof *qi);\n",
            f"    q8->num_layers = qi->num_layers = {len(Hs)};\n"]

    def pack(name, q, rows, cols, mode="q8"):
        size = f"GRU_{mode.upper()}_PACKED_SIZE({rows}, {cols})"
        out.append(_arr("int8_t", name, q))
        out.append(f"static int8_t {name}_p[{size}];\n")
        body.append(f"    st = gru_{mode}_pack_matrix({name}, {rows}, {cols}, {name}_p, sizeof {name}_p);\n"
                    "    if (st != GRU_OK) return st;\n")
        return f"{name}_p"

    size_in = I
    for l, H in enumerate(Hs):
        ra = int(q8.reset_after[l])
        w_hh = p8[f"w_hh_l{l}"]
        a = pack(f"l{l}_ih", p8[f"w_ih_l{l}"], 3 * H, size_in)
        b = pack(f"l{l}_rz", w_hh[:2 * H], 2 * H, H)
        c = pack(f"l{l}_n", w_hh[2 * H:], H, H)
        for k in ("s_ih", "s_hh", "b_ih", "b_hh"):
            out.append(_arr("float", f"l{l}_{k}", p8[f"{k}_l{l}"]))
        body.append(f"    q8->layers[{l}] = (gru_q8_layer){{{size_in}, {H}, {ra}, {a}, {b}, {c}, "
                    f"l{l}_s_ih, l{l}_s_hh, l{l}_b_ih, l{l}_b_hh}};\n")
        qw_hh = pi[f"w_hh_l{l}"]
        qa = pack(f"l{l}_qi_ih", pi[f"w_ih_l{l}"], 3 * H, size_in, "qi")
        qb = pack(f"l{l}_qi_rz", qw_hh[:2 * H], 2 * H, H, "qi")
        qc = pack(f"l{l}_qi_n", qw_hh[2 * H:], H, H, "qi")
        for k, ct in (("m_ih", "int32_t"), ("sh_ih", "int8_t"), ("m_hh", "int32_t"), ("sh_hh", "int8_t"),
                      ("b_ih", "int32_t"), ("b_hh", "int32_t")):
            out.append(_arr(ct, f"l{l}_qi_{k}", pi[f"{k}_l{l}"]))
        body.append(f"    qi->layers[{l}] = (gru_qi_layer){{{size_in}, {H}, {ra}, {qa}, {qb}, {qc}, "
                    f"l{l}_qi_m_ih, l{l}_qi_sh_ih, l{l}_qi_m_hh, l{l}_qi_sh_hh, l{l}_qi_b_ih, l{l}_qi_b_hh}};\n")
        size_in = H
    if q8.output_size is not None:
        act = {None: 0, "sigmoid": 1, "tanh": 2, "softmax": 3}[q8.output_activation]
        h = pack("head_q8", p8["head.weight"], O, Hs[-1])
        out.append(_arr("float", "head_scale", p8["head.scale"]))
        out.append(_arr("float", "head_bias", p8["head.bias"]))
        hq = pack("head_qi", pi["head.weight"], O, Hs[-1], "qi")
        for k, ct in (("mult", "int32_t"), ("shift", "int8_t"), ("bias", "int32_t")):
            out.append(_arr(ct, f"head_qi_{k}", pi[f"head.{k}"]))
        body.append(f"    q8->has_head = qi->has_head = 1;\n"
                    f"    q8->head = (gru_q8_dense){{{Hs[-1]}, {O}, {act}, {h}, head_scale, head_bias}};\n"
                    f"    qi->head = (gru_qi_dense){{{Hs[-1]}, {O}, {act}, {hq}, head_qi_mult, "
                    "head_qi_shift, head_qi_bias};\n")
    body.append("    st = gru_q8_model_check(q8);\n    if (st != GRU_OK) return st;\n"
                "    return gru_qi_model_check(qi);\n}\n")
    # The float model, for comparisons (benchmarks), through pygru's own exporter.
    from pygru.export import export_c
    export_c(model, os.path.join(os.path.dirname(os.path.abspath(path)), "case_float.h"), name="case_float",
             self_test_steps=1)
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(out) + "".join(body) + '#define CASE_FLOAT_IMPLEMENTATION\n#include "case_float.h"\n')


def parse_output(text, B, T, O):
    """(q8 float32 (B, T, O), qi int64 (B, T, O)) from quant_infer's stdout."""
    q8, qi = [], []
    for line in text.splitlines():
        kind, *vals = line.split()
        if kind == "q8":
            q8.append(np.array([int(v, 16) for v in vals], np.uint32).view(np.float32))
        elif kind == "qi":
            qi.append(np.array([int(v) for v in vals], np.int64))
    return np.array(q8).reshape(B, T, O), np.array(qi).reshape(B, T, O)


def host_cc():
    cc = sysconfig.get_config_var("CC") or "cc"
    return shlex.split(cc)


_OBJECTS = {}


def runtime_objects(flags):
    """gru_c's sources compiled once per set of flags (cached for the process),
    so that tests linking several programs do not recompile the runtime."""
    key = tuple(flags)
    if key not in _OBJECTS:
        import atexit
        import shutil
        import tempfile
        work = tempfile.mkdtemp(prefix="pygru-quant-")
        atexit.register(shutil.rmtree, work, True)
        objs = []
        for src in C_SOURCES:
            obj = os.path.join(work, os.path.basename(src)[:-2] + ".o")
            subprocess.run(host_cc() + WARN + list(flags) + ["-ffp-contract=off", "-c", src, "-o", obj,
                                                             "-I", os.path.join(ROOT, "gru_c", "include"),
                                                             "-I", os.path.join(ROOT, "gru_c", "src")],
                           check=True, capture_output=True, text=True)
            objs.append(obj)
        _OBJECTS[key] = objs
    return _OBJECTS[key]


def build_host(main, include_dir, flags, exe):
    """Compile `main` (with -I include_dir) against the runtime objects for `flags`."""
    cmd = host_cc() + WARN + list(flags) + ["-ffp-contract=off", "-I", os.path.join(ROOT, "gru_c", "include"),
                                            "-I", os.path.join(ROOT, "gru_c", "src"), "-I", include_dir,
                                            main] + runtime_objects(flags) + ["-o", exe]
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return exe


def build_and_run_host(workdir, flags, name="quant_infer"):
    exe = build_host(os.path.join(HERE, "quant_infer.c"), workdir, flags, os.path.join(workdir, name))
    res = subprocess.run([exe], check=True, capture_output=True, text=True, timeout=60)
    return res.stdout
