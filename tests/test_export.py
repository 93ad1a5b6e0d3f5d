"""C header export: pygru.export_c, tools/export_header.py, examples/firmware_host.

Every generated header is compiled with gcc and clang under
-std=c99 -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Werror, linked with
gru_c, and run: the host program must reproduce GRUModel.predict bit for bit,
hold the exact packed weights, pass its own self-test and checksum, and fail
both when a weight byte is flipped. The checksum is checked against zlib.crc32.
"""
import os
import re
import subprocess
import sys
import zlib
from dataclasses import dataclass, field

import numpy as np
import pytest

import pygru
from conftest import C_TESTS, ROOT, require_tool
from pygru.firmware.cbuild import C_SOURCES, GRU_C, WARNINGS
from pygru import export as export_mod

INCLUDES = ["-I", os.path.join(GRU_C, "include"), "-I", os.path.join(GRU_C, "src")]
HOST_SRC = os.path.join(C_TESTS, "export_host.c")
STRICT = WARNINGS + ["-ffp-contract=off"]
COMPILERS = ["gcc", "clang"]

# Status codes from gru_c/include/gru.h.
GRU_OK, GRU_ERR_LAYERS, GRU_ERR_BUFFER, GRU_ERR_CHECKSUM = 0, -3, -5, -7


# ---------------------------------------------------------------------- helpers

def need_tool(tool):
    require_tool(tool)
    return tool


def run(cmd, **kwargs):
    res = subprocess.run(cmd, capture_output=True, text=True, **kwargs)
    if res.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {res.returncode}:\n"
                             f"{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
    return res


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float32).view(np.uint32)


@pytest.fixture(scope="session")
def gru_objects(tmp_path_factory):
    """gru_c/src/*.c compiled once per (compiler, optimisation) with the strict flags."""
    cache = {}

    def build(cc, opt="-O2"):
        if (cc, opt) not in cache:
            out = tmp_path_factory.mktemp(f"gru_c_{cc}")
            objs = []
            for src in C_SOURCES:
                obj = str(out / (os.path.basename(src)[:-2] + ".o"))
                run([cc, *STRICT, *opt.split(), *INCLUDES, "-c", src, "-o", obj])
                objs.append(obj)
            cache[cc, opt] = objs
        return cache[cc, opt]

    return build


def build_host(cc, header, name, objects, opt="-O2"):
    """Compile tests/c/export_host.c against `header` (through a shim mapping
    the NAME-prefixed API onto M_*) and link it with gru_c."""
    directory = os.path.dirname(str(header))
    N = name.upper()
    shim = f'#define {N}_IMPLEMENTATION\n#include "{os.path.basename(str(header))}"\n'
    shim += "".join(f"#define M_{m} {N}_{m}\n"
                    for m in ("INPUT_SIZE", "OUTPUT_SIZE", "STATE_SIZE", "SCRATCH_SIZE", "CHECKSUM", "STREAMS"))
    shim += "".join(f"#define M_{f} {name}_{f}\n" for f in ("model", "check", "selftest"))
    with open(os.path.join(directory, "model_shim.h"), "w") as f:
        f.write(shim)
    exe = os.path.join(directory, f"host_{cc}")
    run([cc, *STRICT, *opt.split(), "-I", directory, *INCLUDES, HOST_SRC, *objects, "-o", exe, "-lm"])
    return exe


@dataclass
class HostRun:
    status: dict = field(default_factory=dict)
    checksum: tuple = ()
    sizes: tuple = ()
    weights: list = field(default_factory=list)
    y: list = field(default_factory=list)


def run_host(exe, X):
    """Run the host program on X [B, T, I]; parse its output."""
    res = subprocess.run([exe, str(X.shape[0]), str(X.shape[1])],
                         input=np.ascontiguousarray(X, np.float32).tobytes(), capture_output=True)
    assert res.returncode == 0, res.stdout.decode() + res.stderr.decode()
    out = HostRun()
    for line in res.stdout.decode().splitlines():
        tag, *rest = line.split()
        if tag in ("check", "selftest", "selftest_small_scratch", "checksum_status"):
            out.status[tag] = int(rest[0])
        elif tag == "checksum":
            out.checksum = tuple(int(v, 16) for v in rest)
        elif tag == "sizes":
            out.sizes = tuple(int(v) for v in rest)
        elif tag == "weights":
            out.weights.append(np.array([int(v, 16) for v in rest], dtype=np.uint32))
        elif tag == "y":
            out.y.append([int(v, 16) for v in rest])
    out.y = np.array(out.y, dtype=np.uint32)
    return out


def expected_checksum(model):
    """CRC-32 computed by zlib (independent of gru_c) over the packed arrays."""
    crc = 0
    for arr in model._native_model().packed_arrays():
        crc = zlib.crc32(np.asarray(arr, "<f4").tobytes(), crc)
    return crc


# ---------------------------------------------------------------------- models

@dataclass
class Case:
    name: str
    make: object
    kwargs: dict = field(default_factory=dict)


CASES = [
    Case("kws", lambda: pygru.GRUModel(13, [32, 17], 5, reset_after=[True, False],
                                       output_activation="softmax", seed=1)),
    Case("tiny", lambda: pygru.GRUModel(5, [7], seed=2), {"float_format": "decimal"}),
    Case("deep3", lambda: pygru.GRUModel(3, [9, 50, 11], 1, reset_after=False,
                                         output_activation="sigmoid", seed=3),
         {"self_test_steps": 3}),
    Case("Mixed_Case2", lambda: pygru.GRUModel(1, [1], 2, output_activation="tanh", seed=4),
         {"self_test_input": np.linspace(-3, 3, 5, dtype=np.float32)[:, None]}),
    Case("lin", lambda: pygru.GRUModel(6, [64, 64], 3, reset_after=[False, True], seed=5),
         {"float_format": "decimal", "alignment": 64}),
    # Dense layers around the GRUs: a pre-net, a relu head, an MLP head.
    Case("prenet", lambda: pygru.GRUModel.from_layers(
        7, [pygru.Dense(12, "tanh"), pygru.Dense(5, "relu"), pygru.GRU(9), pygru.Dense(3, "softmax")], seed=6)),
    Case("mlp", lambda: pygru.GRUModel.from_layers(
        4, [pygru.GRU(10), pygru.GRU(6, reset_after=False), pygru.Dense(20, "relu"), pygru.Dense(13),
            pygru.Dense(2, "sigmoid")], seed=7), {"float_format": "decimal"}),
    Case("relu1", lambda: pygru.GRUModel(3, [5], 4, output_activation="relu", seed=8)),
    Case("bidir", lambda: pygru.GRUModel.from_layers(
        5, [pygru.Dense(8, "tanh"), pygru.GRU(6), pygru.GRU(7, direction="bidirectional"),
            pygru.GRU(4, reset_after=False, direction="reverse"), pygru.Dense(9, "relu"), pygru.Dense(3, "softmax")],
        seed=10)),
    Case("acts", lambda: pygru.GRUModel.from_layers(
        3, [pygru.GRU(6, activation="relu", recurrent_activation="hard_sigmoid"),
            pygru.GRU(5, reset_after=False, recurrent_activation="hard_sigmoid_keras3"), pygru.Dense(2)], seed=9)),
]


def check_host_run(model, out, X):
    assert out.status == {"check": GRU_OK, "selftest": 0, "selftest_small_scratch": GRU_ERR_BUFFER,
                          "checksum_status": GRU_OK}
    crc = expected_checksum(model)
    assert out.checksum == (crc, crc)
    native = model._native_model()
    if model.spec.streams:
        assert out.sizes == (native.state_size, native.state_size, native.scratch_size,
                             native.scratch_size + native.output_size, model.input_size, model.output_dim)
    else:   # the header's buffers are gru_sequence's (for its self-test's steps)
        assert out.sizes[:3] == (native.state_size, native.sequence_state_size, native.scratch_size)
        assert out.sizes[3] > native.scratch_size and out.sizes[4:] == (model.input_size, model.output_dim)
    packed = native.packed_arrays()
    assert len(out.weights) == len(packed)
    for got, want in zip(out.weights, packed):
        np.testing.assert_array_equal(got, bits(want))
    want_y = bits(model.predict(X, return_sequences=True)).reshape(-1, model.output_dim)
    np.testing.assert_array_equal(out.y, want_y)


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_header_reproduces_predict_bit_for_bit(case, cc, tmp_path, gru_objects):
    need_tool(cc)
    model = case.make()
    header = tmp_path / f"{case.name}.h"
    assert pygru.export_c(model, header, name=case.name, **case.kwargs) == str(header)
    exe = build_host(cc, header, case.name, gru_objects(cc))
    X = (2 * np.random.default_rng(7).standard_normal((3, 6, model.input_size))).astype(np.float32)
    check_host_run(model, run_host(exe, X), X)


@pytest.mark.parametrize("opt", ["-O0", "-O3 -march=native"])
def test_bit_identical_across_optimisation_levels(opt, tmp_path, gru_objects):
    cc = need_tool("gcc")
    model = CASES[0].make()
    header = tmp_path / "kws.h"
    pygru.export_c(model, header, name="kws")
    exe = build_host(cc, header, "kws", gru_objects(cc, opt), opt)
    X = np.random.default_rng(8).standard_normal((2, 20, model.input_size)).astype(np.float32)
    check_host_run(model, run_host(exe, X), X)


@pytest.mark.parametrize("case", [CASES[0], CASES[2], CASES[5], CASES[6]], ids=["kws", "deep3", "prenet", "mlp"])
def test_header_under_asan_ubsan(case, tmp_path, gru_objects):
    """The exported arrays, descriptor, check and self-test read only inside their buffers."""
    cc = need_tool("gcc")
    opt = "-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
    model = case.make()
    header = tmp_path / f"{case.name}.h"
    pygru.export_c(model, header, name=case.name, **case.kwargs)
    exe = build_host(cc, header, case.name, gru_objects(cc, opt), opt)
    X = np.random.default_rng(12).standard_normal((2, 4, model.input_size)).astype(np.float32)
    check_host_run(model, run_host(exe, X), X)


# ---------------------------------------------------------------------- float literals

def _special_floats():
    specials = np.array([0.0, -0.0, 1e-45, -1e-45, 1.1754942e-38, 1.17549435e-38, 3.4028235e38,
                         -3.4028235e38, 0.1, 1 / 3, -2.5, 16777217.0, 1e-7, 0.5, 1.0],
                        dtype=np.float32)
    rand = np.random.default_rng(9).integers(0, 2**32, 3000, dtype=np.uint64).astype(np.uint32)
    rand = rand.view(np.float32)
    return np.concatenate([specials, rand[np.isfinite(rand)]])


def test_hex_literals_parse_back_exactly_in_python():
    values = _special_floats()
    for v in values:
        lit = export_mod.float_literal(v, "hex")
        assert lit.endswith("f")
        assert bits(np.float32(float.fromhex(lit[:-1]))) == bits(v), lit


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("fmt", export_mod.FLOAT_FORMATS)
def test_float_literals_round_trip_through_c(fmt, cc, tmp_path):
    need_tool(cc)
    values = _special_floats()
    body = ",\n".join(export_mod.float_literal(v, fmt) for v in values)
    src = tmp_path / "lits.c"
    src.write_text(f"""#include <stdio.h>
#include <stdint.h>
#include <string.h>
static const float v[] = {{\n{body}\n}};
int main(void)
{{
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {{
        uint32_t u;
        memcpy(&u, &v[i], sizeof u);
        printf("%08lx\\n", (unsigned long)u);
    }}
    return 0;
}}
""")
    exe = str(tmp_path / "lits")
    run([cc, *STRICT, str(src), "-o", exe])
    got = np.array([int(s, 16) for s in run([exe]).stdout.split()], dtype=np.uint32)
    np.testing.assert_array_equal(got, bits(values))


def test_float_literal_rejects_non_finite():
    for bad in (np.inf, -np.inf, np.nan):
        with pytest.raises(ValueError, match="finite"):
            export_mod.float_literal(bad)


# ---------------------------------------------------------------------- linking and tampering

TU_IMPL = """#define KWS_IMPLEMENTATION
#include "kws.h"
#include "kws.h" /* a second include must change nothing */
int use_impl(void) { return kws_check(); }
"""
TU_OTHER = """#include "kws.h"
int use_other(void) { return kws_model.num_layers == KWS_NUM_LAYERS ? kws_check() : -100; }
"""
TU_MAIN = """%s#include "kws.h"
#include <stdio.h>
int use_impl(void);
int use_other(void);
static float state[KWS_STATE_SIZE];
static float scratch[KWS_SCRATCH_SIZE];
int main(void)
{
    printf("%%d %%d %%d\\n", use_impl(), use_other(),
           kws_selftest(state, KWS_STATE_SIZE, scratch, KWS_SCRATCH_SIZE));
    return 0;
}
"""


@pytest.mark.parametrize("cc", COMPILERS)
def test_header_in_several_translation_units(cc, tmp_path, gru_objects):
    need_tool(cc)
    pygru.export_c(CASES[0].make(), tmp_path / "kws.h", name="kws")
    (tmp_path / "impl.c").write_text(TU_IMPL)
    (tmp_path / "other.c").write_text(TU_OTHER)
    (tmp_path / "main.c").write_text(TU_MAIN % "")
    sources = [str(tmp_path / f) for f in ("impl.c", "other.c", "main.c")]
    exe = str(tmp_path / "prog")
    run([cc, *STRICT, "-O2", *INCLUDES, *sources, *gru_objects(cc), "-o", exe, "-lm"])
    assert run([exe]).stdout.split() == ["0", "0", "0"]
    # Control: the same program with the implementation in two files must not link.
    (tmp_path / "main.c").write_text(TU_MAIN % "#define KWS_IMPLEMENTATION\n")
    res = subprocess.run([cc, *STRICT, "-O2", *INCLUDES, *sources, *gru_objects(cc), "-o", exe, "-lm"],
                         capture_output=True, text=True)
    assert res.returncode != 0 and ("multiple definition" in res.stderr or "duplicate" in res.stderr)


@pytest.mark.parametrize("fmt", export_mod.FLOAT_FORMATS)
def test_flipped_weight_byte_fails_check_and_selftest(fmt, tmp_path, gru_objects):
    cc = need_tool("gcc")
    model = CASES[0].make()
    header = tmp_path / "kws.h"
    pygru.export_c(model, header, name="kws", float_format=fmt)
    text = header.read_text()
    start = text.index("kws_l0_w_ih[] = {\n    ") + len("kws_l0_w_ih[] = {\n    ")
    end = text.index(",", start)
    original = np.float32(model._native_model().packed_arrays()[0][0])
    assert text[start:end] == export_mod.float_literal(original, fmt)
    flipped = (bits(original) ^ np.uint32(0xFF00)).view(np.float32)[0]  # one byte of the mantissa
    header.write_text(text[:start] + export_mod.float_literal(flipped, fmt) + text[end:])
    X = np.zeros((1, 1, model.input_size), np.float32)
    out = run_host(build_host(cc, header, "kws", gru_objects(cc)), X)
    assert out.status["check"] == GRU_ERR_CHECKSUM
    assert out.status["selftest"] > 0
    assert out.checksum[1] == expected_checksum(model) and out.checksum[0] != out.checksum[1]


@pytest.mark.parametrize("cc", COMPILERS)
def test_alignment_and_section_overrides(cc, tmp_path, gru_objects):
    need_tool(cc)
    pygru.export_c(CASES[2].make(), tmp_path / "deep3.h", name="deep3")
    src = tmp_path / "aligned.c"
    src.write_text("""#define DEEP3_ALIGNMENT 64
#define DEEP3_WEIGHT_SECTION __attribute__((section(".gru_weights")))
#define DEEP3_IMPLEMENTATION
#include "deep3.h"
#include <stdio.h>
static unsigned misaligned(const float *p) { return (unsigned)((uintptr_t)p % 64u != 0u); }
int main(void)
{
    unsigned bad = 0;
    for (int l = 0; l < deep3_model.num_layers; l++) {
        const gru_layer *L = &deep3_model.layers[l];
        bad += misaligned(L->w_ih) + misaligned(L->w_hh_rz) + misaligned(L->w_hh_n) +
               misaligned(L->b_ih) + misaligned(L->b_hh);
    }
    bad += misaligned(deep3_model.head.weight) + misaligned(deep3_model.head.bias);
    printf("%u %d\\n", bad, deep3_check());
    return 0;
}
""")
    obj, exe = str(tmp_path / "aligned.o"), str(tmp_path / "aligned")
    run([cc, *STRICT, "-O2", "-I", str(tmp_path), *INCLUDES, "-c", str(src), "-o", obj])
    run([cc, obj, *gru_objects(cc), "-o", exe, "-lm"])
    assert run([exe]).stdout.split() == ["0", "0"]
    readelf = require_tool("readelf", "apt-get install binutils")
    assert ".gru_weights" in run([readelf, "-S", obj]).stdout


QUANT_PROGRAM = """#define QM_ALIGNMENT 64
#define QM_WEIGHT_SECTION __attribute__((section(".gru_weights")))
#define QM_IMPLEMENTATION
#include "qm.h"
#include <stdio.h>
static QM_STATE_T state[QM_STATE_SIZE];
static QM_SCRATCH_T scratch[QM_SCRATCH_SIZE];
static unsigned misaligned(const void *p) { return (unsigned)((uintptr_t)p % 64u != 0u); }
int main(void)
{
    unsigned bad = 0;
    for (int l = 0; l < qm_model.num_layers; l++) {
        bad += misaligned(qm_model.layers[l].w_ih) + misaligned(qm_model.layers[l].w_hh_rz) +
               misaligned(qm_model.layers[l].w_hh_n) + misaligned(qm_model.layers[l].b_ih);
    }
    bad += misaligned(qm_model.head.weight) + misaligned(qm_model.head.bias);
    printf("%u %d %d %d\\n", bad, qm_check(), qm_selftest(state, QM_STATE_SIZE, scratch, QM_SCRATCH_SIZE),
           qm_selftest(state, QM_STATE_SIZE, scratch, QM_SCRATCH_SIZE - 1));
    return 0;
}
"""


@pytest.mark.parametrize("cc", COMPILERS)
@pytest.mark.parametrize("mode", ["int8", "integer"])
def test_quantized_headers_have_every_header_feature(mode, cc, tmp_path, gru_objects):
    """The one exporter gives quantized headers what float headers have:
    overridable alignment and section, compile-time size checks, the
    GRU_MAX_LAYERS check, the CRC check and a self-test that refuses a short
    scratch buffer; with the options of export_c (here self_test_input,
    float_format, alignment) applied as for float models."""
    need_tool(cc)
    model = pygru.GRUModel(5, [9, 6], 3, reset_after=[True, False], output_activation="sigmoid", seed=3)
    q = pygru.quantize(model, np.random.default_rng(1).standard_normal((4, 7, 5)), mode=mode)
    x = np.random.default_rng(2).standard_normal((5, 5)).astype(np.float32)
    pygru.export_c(q, tmp_path / "qm.h", name="qm", self_test_input=x, float_format="decimal", alignment=16)
    text = (tmp_path / "qm.h").read_text()
    assert "typedef char qm_sizes_match_gru_quant_h[" in text and "#if GRU_MAX_LAYERS < 2" in text
    assert re.search(r"^#define QM_TEST_STEPS 5$", text, re.M) and "#define QM_ALIGNMENT 16" in text
    types = ("int16_t", "int32_t") if mode == "integer" else ("float", "float")
    src = tmp_path / "main.c"
    src.write_text(f"#define QM_STATE_T {types[0]}\n#define QM_SCRATCH_T {types[1]}\n" + QUANT_PROGRAM)
    obj, exe = str(tmp_path / "main.o"), str(tmp_path / "main")
    run([cc, *STRICT, "-O2", "-I", str(tmp_path), *INCLUDES, "-c", str(src), "-o", obj])
    run([cc, obj, *gru_objects(cc), "-o", exe, "-lm"])
    assert run([exe]).stdout.split() == ["0", str(GRU_OK), "0", str(GRU_ERR_BUFFER)]
    assert ".gru_weights" in run([need_tool("readelf"), "-S", obj]).stdout
    # The expected outputs are those of the Python model on the given input.
    if mode == "int8":
        want = export_mod.float_literals(q.predict(x, return_sequences=True), "decimal")
    else:
        want = [str(int(v)) for v in q.predict_int(q.quantize_input(x)[None], return_sequences=True).ravel()]
    body = text[text.index("qm_test_output[] = {") + len("qm_test_output[] = {"):]
    assert [v.strip() for v in body[:body.index("}")].split(",")] == want


@pytest.mark.parametrize("cc", COMPILERS)
def test_two_models_in_one_program_with_hostile_metadata(cc, tmp_path, gru_objects):
    """Two exported models side by side; sources and file names that contain
    comment delimiters, quotes, backslashes, trigraphs and newlines."""
    need_tool(cc)
    nasty = 'C:\\m*/x/*y "q" ??/ \n#error z \u00e9\\'
    pygru.export_c(CASES[0].make(), tmp_path / "kws.h", name="kws", source=nasty)
    pygru.export_c(CASES[1].make(), tmp_path / "v*a'd??.h", name="vad", source=nasty)
    src = tmp_path / "two.c"
    src.write_text("""#define KWS_IMPLEMENTATION
#define VAD_IMPLEMENTATION
#include "kws.h"
#include "v*a'd??.h"
#include <stdio.h>
static float state[KWS_STATE_SIZE + VAD_STATE_SIZE];
static float scratch[KWS_SCRATCH_SIZE + VAD_SCRATCH_SIZE];
int main(void)
{
    printf("%d %d %d %d\\n", kws_check(), vad_check(),
           kws_selftest(state, KWS_STATE_SIZE, scratch, KWS_SCRATCH_SIZE),
           vad_selftest(state, VAD_STATE_SIZE, scratch, VAD_SCRATCH_SIZE));
    return 0;
}
""")
    exe = str(tmp_path / "two")
    run([cc, *STRICT, "-Wtrigraphs", "-O2", "-I", str(tmp_path), *INCLUDES, str(src),
         *gru_objects(cc), "-o", exe, "-lm"])
    assert run([exe]).stdout.split() == ["0", "0", "0", "0"]


@pytest.mark.parametrize("cc", COMPILERS)
def test_gru_checksum_is_zlib_crc32(cc, tmp_path, gru_objects):
    need_tool(cc)
    data = np.random.default_rng(10).integers(0, 256, 1001, dtype=np.uint8)
    src = tmp_path / "crc.c"
    src.write_text("""#include <stdio.h>
#include "gru.h"
static const unsigned char data[] = {%s};
int main(void)
{
    uint32_t crc = 1;
    printf("%%08lx %%08lx %%08lx %%08lx\\n", (unsigned long)gru_checksum("123456789", 9),
           (unsigned long)gru_checksum(data, sizeof data), (unsigned long)gru_checksum(data, 0),
           (unsigned long)gru_checksum(NULL, 5));
    printf("%%d %%d %%lu\\n", gru_model_checksum(NULL, &crc), gru_model_checksum(NULL, NULL),
           (unsigned long)crc);
    return 0;
}
""" % ", ".join(map(str, data.tolist())))
    exe = str(tmp_path / "crc")
    run([cc, *STRICT, *INCLUDES, str(src), *gru_objects(cc), "-o", exe, "-lm"])
    lines = run([exe]).stdout.splitlines()
    assert [int(v, 16) for v in lines[0].split()] == [
        zlib.crc32(b"123456789"), zlib.crc32(data.tobytes()), 0, 0]
    assert lines[0].split()[0] == "cbf43926"  # the published CRC-32 check value
    assert lines[1].split() == ["-1", "-1", "1"]  # GRU_ERR_NULL, *out untouched


# ---------------------------------------------------------------------- content and determinism

def test_header_contents_and_reproducibility(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    model = CASES[0].make()
    a, b = tmp_path / "a" / "kws.h", tmp_path / "b" / "kws.h"
    a.parent.mkdir()
    b.parent.mkdir()
    pygru.export_c(model, a, name="kws")
    pygru.export_c(model, b, name="kws")
    text = a.read_text()
    assert text == b.read_text()  # seeded self-test input, pinned date
    assert "2023-11-14T22:13:20Z" in text and f"pygru {pygru.__version__}" in text
    assert "Gate order: r, z, n" in text and "layer 1: 32 -> 17, reset_after=0" in text
    assert re.search(r"^#define KWS_CHECKSUM 0x%08Xu" % expected_checksum(model), text, re.M)
    for macro in ("INPUT_SIZE 13", "OUTPUT_SIZE 5", "NUM_LAYERS 2", "STATE_SIZE 49", "TEST_STEPS 8"):
        assert re.search(rf"^#define KWS_{macro}\b", text, re.M), macro
    assert text.isascii() and "extern const gru_model kws_model;" in text
    # The implementation block is guarded so the declarations alone are all most files see.
    decl = text[:text.index("#if defined(KWS_IMPLEMENTATION)")]
    assert "kws_l0_w_ih" not in decl and "int kws_selftest(" in decl
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(ValueError, match="^SOURCE_DATE_EPOCH: "):
        pygru.export_c(model, a, name="kws")
    assert a.read_text() == text


def test_self_test_input_is_embedded(tmp_path):
    model = pygru.GRUModel(2, [3], seed=6)
    x = np.array([[0.5, -1.25], [3.0, 0.0], [-0.0, 1e-3]], np.float32)
    header = tmp_path / "m.h"
    pygru.export_c(model, header, name="m", self_test_input=x, float_format="hex")
    text = header.read_text()
    body = text[text.index("m_test_input[] = {") + len("m_test_input[] = {"):]
    body = body[:body.index("}")]
    got = np.array([float.fromhex(s.strip()[:-1]) for s in body.split(",")], np.float32)
    np.testing.assert_array_equal(bits(got), bits(x.ravel()))
    assert re.search(r"^#define M_TEST_STEPS 3$", text, re.M)


# ---------------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("name, error, match", [
    ("", ValueError, "C identifier"),
    ("1kws", ValueError, "C identifier"),
    ("kws-v2", ValueError, "C identifier"),
    ("kws model", ValueError, "C identifier"),
    ("ké", ValueError, "C identifier"),
    ("int", ValueError, "keyword"),
    ("while", ValueError, "keyword"),
    ("_kws", ValueError, "reserved"),
    ("kws__v2", ValueError, "reserved"),
    ("gru", ValueError, "gru_"),
    ("GRU_kws", ValueError, "gru_"),
    ("k" * 33, ValueError, "at most 32"),
    (None, TypeError, "str"),
    (b"kws", TypeError, "str"),
])
def test_bad_name_raises_and_writes_nothing(name, error, match, tmp_path):
    existing = tmp_path / "model.h"
    existing.write_text("old")
    with pytest.raises(error, match=r"^name: .*" + match):
        pygru.export_c(pygru.GRUModel(2, [3], seed=0), existing, name=name)
    assert existing.read_text() == "old" and os.listdir(tmp_path) == ["model.h"]


def test_bad_path_raises(tmp_path):
    model = pygru.GRUModel(2, [3], seed=0)
    with pytest.raises(ValueError, match=r"^path: .*'\.h'"):
        pygru.export_c(model, tmp_path / "model.txt", name="m")
    with pytest.raises(FileNotFoundError, match=r"^path: .*does not exist"):
        pygru.export_c(model, tmp_path / "missing" / "model.h", name="m")
    (tmp_path / "dir.h").mkdir()
    with pytest.raises(IsADirectoryError, match=r"^path: "):
        pygru.export_c(model, tmp_path / "dir.h", name="m")
    with pytest.raises(TypeError, match=r"^path: "):
        pygru.export_c(model, 42, name="m")
    assert os.listdir(tmp_path) == ["dir.h"]


@pytest.mark.parametrize("kwargs, error, match", [
    ({"model": None}, TypeError, r"^model: expected a pygru.GRUModel"),
    ({"model": {"weight_ih_l0": np.zeros((3, 2))}}, TypeError, r"^model: "),
    ({"self_test_steps": 0}, ValueError, r"^self_test_steps: "),
    ({"self_test_steps": True}, TypeError, r"^self_test_steps: "),
    ({"self_test_steps": 10**7}, ValueError, r"^self_test_steps: .*at most"),
    ({"self_test_input": np.zeros((4, 3), np.float32)}, ValueError, r"^self_test_input: .*last dimension 2"),
    ({"self_test_input": np.zeros(2, np.float32)}, ValueError, r"^self_test_input: .*2-D"),
    ({"self_test_input": np.array([[0.0, np.nan]])}, ValueError, r"^self_test_input: .*finite"),
    ({"self_test_input": np.zeros((4, 2)), "self_test_steps": 5}, ValueError, r"^self_test_steps: "),
    ({"float_format": "oct"}, ValueError, r"^float_format: "),
    ({"alignment": 24}, ValueError, r"^alignment: "),
    ({"source": 5}, TypeError, r"^source: "),
])
def test_bad_arguments_raise_and_leave_no_file(kwargs, error, match, tmp_path):
    args = {"model": pygru.GRUModel(2, [3], seed=0), "path": tmp_path / "m.h", "name": "m"}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        pygru.export_c(**args)
    assert os.listdir(tmp_path) == []


def test_non_finite_outputs_are_refused(tmp_path):
    model = pygru.GRUModel(2, [1], 1, seed=0)
    weights = model.get_weights()
    weights["head.weight"][:] = 3.4e38
    weights["head.bias"][:] = 3.4e38
    model.set_weights(weights)
    assert not np.isfinite(model.predict(np.ones((2, 2)), return_sequences=True)).all()  # y = w h + b overflows
    with pytest.raises(ValueError, match=r"^model: .*not all finite"):
        pygru.export_c(model, tmp_path / "m.h", name="m", self_test_input=np.ones((2, 2)))
    assert os.listdir(tmp_path) == []


def test_error_while_writing_leaves_no_partial_file(tmp_path, monkeypatch):
    existing = tmp_path / "m.h"
    existing.write_text("old")

    def failing_write(path, write, binary=True):
        # run the real atomic writer with a writer that fails half way
        def half(f):
            f.write(b"/* partial")
            raise OSError("disk full")
        return real(path, half, binary)

    real = export_mod.atomic_write
    monkeypatch.setattr(export_mod, "atomic_write", failing_write)
    with pytest.raises(OSError, match="disk full"):
        pygru.export_c(pygru.GRUModel(2, [3], seed=0), existing, name="m")
    assert existing.read_text() == "old" and os.listdir(tmp_path) == ["m.h"]


# ---------------------------------------------------------------------- tool and example

def test_export_header_tool_matches_export_c(tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    model = CASES[1].make()
    npz = str(tmp_path / "tiny.npz")
    model.save(npz)
    tool = os.path.join(ROOT, "tools", "export_header.py")
    (tmp_path / "tool").mkdir()
    (tmp_path / "api").mkdir()
    res = run([sys.executable, tool, npz, str(tmp_path / "tool" / "tiny.h"), "--name", "tiny",
               "--steps", "3", "--float-format", "decimal"])
    assert "wrote" in res.stdout
    pygru.export_c(model, tmp_path / "api" / "tiny.h", name="tiny", self_test_steps=3,
                   float_format="decimal", source=npz)
    assert (tmp_path / "tool" / "tiny.h").read_text() == (tmp_path / "api" / "tiny.h").read_text()
    x = np.random.default_rng(11).standard_normal((4, model.input_size)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    run([sys.executable, tool, npz, str(tmp_path / "tool" / "tiny.h"), "--name", "tiny",
         "--test-input", str(tmp_path / "x.npy"), "--alignment", "32"])
    pygru.export_c(model, tmp_path / "api" / "tiny.h", name="tiny", self_test_input=x, alignment=32,
                   source=npz)
    assert (tmp_path / "tool" / "tiny.h").read_text() == (tmp_path / "api" / "tiny.h").read_text()
    bad = subprocess.run([sys.executable, tool, npz, str(tmp_path / "bad.h"), "--name", "static"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "name: 'static' is a C keyword" in bad.stderr
    assert not (tmp_path / "bad.h").exists()


def lcg_frames(frames, size, seed=1):
    """The frames examples/firmware_host/main.c feeds the model (same LCG)."""
    out = np.empty((frames, size), np.float32)
    for t in range(frames):
        for i in range(size):
            seed = (seed * 1664525 + 1013904223) & 0xFFFFFFFF
            out[t, i] = ((seed >> 8) - 8388608) / 8388608.0
    return out


@pytest.mark.parametrize("cc", COMPILERS)
def test_firmware_example_builds_and_matches_python(cc, tmp_path):
    need_tool(cc)
    need_tool("make")
    example = os.path.join(ROOT, "examples", "firmware_host")
    res = run(["make", "-s", "-C", example, f"OUT={tmp_path}", f"CC={cc}", f"PYTHON={sys.executable}"])
    lines = res.stdout.splitlines()
    assert any(line.startswith("boot: ok") for line in lines), res.stdout
    scores = next(line.split()[1:] for line in lines if line.startswith("scores"))
    model = pygru.load(str(tmp_path / "demo.npz"))
    want = model.predict(lcg_frames(50, model.input_size))
    assert [int(s, 16) for s in scores] == bits(want).tolist()
    assert f"class {int(np.argmax(want))}" in lines


@pytest.mark.parametrize("kind, macro, value", [
    ("float", "GRU_PACK_BLOCK", "40"),
    ("integer", "GRU_QI_BLOCK_ROWS", "8"),
    ("integer", "GRU_QI_GROUP_COLS", "2"),
    ("int8", "GRU_PACK_ROWS", "4"),
])
def test_header_refuses_a_runtime_with_another_packed_layout(kind, macro, value, tmp_path):
    # An exported header holds weights in the packed layout of the gru_c it was
    # made for; a runtime that packs differently would read them wrong, so the
    # header stops the build instead (here: a copy of gru_c's headers with one
    # layout constant changed).
    cc = need_tool("gcc")
    model = pygru.GRUModel(3, [16], output_size=2, seed=0)
    if kind == "float":
        target = model
    else:
        target = pygru.quantize(model, np.random.default_rng(0).standard_normal((2, 5, 3)), mode=kind)
    pygru.export_c(target, tmp_path / "m.h", name="m")
    main = tmp_path / "main.c"
    main.write_text('#define M_IMPLEMENTATION\n#include "m.h"\nint main(void) { return 0; }\n')
    ok = run([cc, "-std=c99", "-fsyntax-only", *INCLUDES, "-I", str(tmp_path), str(main)])
    assert ok.returncode == 0
    other = tmp_path / "other_include"
    other.mkdir()
    for name in os.listdir(os.path.join(GRU_C, "include")):
        text = open(os.path.join(GRU_C, "include", name)).read()
        text, n = re.subn(rf"#define {macro} \d+", f"#define {macro} {value}", text)
        (other / name).write_text(text)
    res = subprocess.run([cc, "-std=c99", "-fsyntax-only", "-I", str(other), "-I",
                          os.path.join(GRU_C, "src"), "-I", str(tmp_path), str(main)],
                         capture_output=True, text=True)
    assert res.returncode != 0
    assert "m.h was exported for gru_c" in res.stderr and "re-export it" in res.stderr


def test_plain_models_runtime(tmp_path):
    """A GRU_PLAIN_MODELS runtime (gru.h) runs the plain family bit for bit
    like the full one, refuses the rest in gru_model_check, and the header of
    a model beyond it stops the build."""
    cc = need_tool("gcc")
    out = tmp_path / "plain_objs"
    out.mkdir()
    objs = []
    for src in C_SOURCES:
        objs.append(str(out / (os.path.basename(src)[:-2] + ".o")))
        run([cc, *STRICT, "-O2", "-DGRU_PLAIN_MODELS=1", *INCLUDES, "-c", src, "-o", objs[-1]])
    plain = CASES[0]
    header = tmp_path / f"{plain.name}.h"
    pygru.export_c(plain.make(), header, name=plain.name, **plain.kwargs)
    model = plain.make()
    X = (2 * np.random.default_rng(7).standard_normal((3, 6, model.input_size))).astype(np.float32)
    check_host_run(model, run_host(build_host(cc, header, plain.name, objs), X), X)
    layered = next(c for c in CASES if c.name == "prenet")
    header = tmp_path / "prenet.h"
    pygru.export_c(layered.make(), header, name="prenet")
    main = tmp_path / "main.c"
    main.write_text('#define PRENET_IMPLEMENTATION\n#include "prenet.h"\nint main(void) { return 0; }\n')
    res = subprocess.run([cc, "-std=c99", "-fsyntax-only", "-DGRU_PLAIN_MODELS=1", *INCLUDES, "-I",
                          str(tmp_path), str(main)], capture_output=True, text=True)
    assert res.returncode != 0 and "build gru_c and this file without GRU_PLAIN_MODELS" in res.stderr
    # The same model described by hand to a plain runtime: refused by the check.
    check = tmp_path / "check.c"
    check.write_text('#include "prenet.h"\n#include <stdio.h>\n'
                     'int main(void) { printf("%d\\n", gru_model_check(&prenet_model)); return 0; }\n')
    exe = str(tmp_path / "check")
    run([cc, "-std=c99", *INCLUDES, "-I", str(tmp_path), "-DPRENET_IMPLEMENTATION", str(check), *objs,
         "-o", exe, "-lm"])
    assert subprocess.run([exe], capture_output=True, text=True).stdout.strip() == str(GRU_ERR_LAYERS)
