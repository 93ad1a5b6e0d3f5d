"""Quantized inference (pygru.quantize, gru_c/include/gru_quant.h).

Integer mode: numpy emulation == Python binding == host C program, bit for bit.
int8 mode: binding == host C program bit for bit, and close to the float64
reference (tests/reference.py). Fixed-point activations against float64.
"""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

import pygru
from pygru import _core as _quant
from pygru.quantize import emulate_integer, qi_sigmoid, qi_tanh, tanh_table

import reference
from conftest import C_TESTS, ROOT, cpu_flags, require_cpu, require_target, require_tool
from pygru.firmware import cbuild, fwbuild
from pygru.firmware import quant_header as quant_case

# Documented bounds (measured here, with margin):
TANH_MAX_ERR = 4.7e-5        # gru_quant.h
SIGMOID_MAX_ERR = 3.9e-5
# Random PyTorch-initialised models, N(0, 1) inputs, T = 20: max |output - float64|.
INT8_MAX_ERR = 0.01
INTEGER_MAX_ERR = 0.01

CONFIGS = [  # (hidden_sizes, output_size, activation, reset_after)
    ([16], None, None, True),
    ([16, 12], 3, "softmax", True),
    ([12], 4, "sigmoid", False),
    ([8, 8], 2, "tanh", [False, True]),
    ([20], 5, None, False),
]


def _model(hidden, out, act, ra, I=5, seed=0):
    return pygru.GRUModel(I, hidden, output_size=out, output_activation=act, reset_after=ra, seed=seed)


def _data(B=3, T=20, I=5, seed=1):
    return np.random.default_rng(seed).normal(size=(B, T, I)).astype(np.float32)


def _ref(model, X, seq=False):
    return reference.gru_model(X, model.get_weights(), model.num_layers, list(model.reset_after),
                               model.output_activation, seq)


# ------------------------------------------------------------------ activations


def test_tanh_table_matches_generator():
    assert np.array_equal(_quant.qi_table(), tanh_table())


def test_fixed_point_activation_error_bounds():
    x = np.concatenate([np.arange(-2**17, 2**17 + 1), [-2**24, -2**20, 2**20, 2**24]])
    t = _quant.qi_activation(x, "tanh").astype(np.int64)
    s = _quant.qi_activation(x, "sigmoid").astype(np.int64)
    xf = x / 4096.0
    err_t = np.abs(t / 32768.0 - np.tanh(xf)).max()
    with np.errstate(over="ignore"):  # exp(4096) = inf gives sigmoid 0, as it should
        err_s = np.abs(s / 32768.0 - 1.0 / (1.0 + np.exp(-xf))).max()
    assert err_t <= TANH_MAX_ERR, err_t
    assert err_s <= SIGMOID_MAX_ERR, err_s
    # The emulation computes the same integers; shapes of the functions hold.
    assert np.array_equal(t, qi_tanh(x)) and np.array_equal(s, qi_sigmoid(x))
    order = np.argsort(x, kind="stable")
    assert np.all(np.diff(t[order]) >= 0) and np.all(np.diff(s[order]) >= 0)
    assert np.array_equal(t, -_quant.qi_activation(-x, "tanh"))
    assert t.max() == 32767 and s.min() >= 0 and s.max() == 32767


# ------------------------------------------------------------------ integer mode: emulation == binding


@pytest.mark.parametrize("hidden,out,act,ra", CONFIGS)
def test_integer_binding_matches_emulation(hidden, out, act, ra):
    model = _model(hidden, out, act, ra)
    X = _data()
    q = pygru.quantize(model, X, mode="integer")
    Xq = q.quantize_input(X)
    for seq in (False, True):
        y_c = q.predict_int(Xq, return_sequences=seq)
        y_np = emulate_integer(q, Xq, return_sequences=seq)
        assert y_c.dtype == np.int32
        np.testing.assert_array_equal(y_c, y_np)
    err = np.abs(q.predict(X, return_sequences=True) - _ref(model, X, True)).max()
    assert err <= INTEGER_MAX_ERR, err


@pytest.mark.parametrize("hidden,out,act,ra", CONFIGS)
def test_int8_close_to_float(hidden, out, act, ra):
    model = _model(hidden, out, act, ra)
    X = _data()
    q = pygru.quantize(model, X, mode="int8")
    y = q.predict(X, return_sequences=True)
    err = np.abs(y - _ref(model, X, True)).max()
    assert err <= INT8_MAX_ERR, err
    # ... and not identical to float (the weights really are int8).
    assert not np.array_equal(y, model.predict(X, return_sequences=True))


@pytest.mark.parametrize("mode", ["int8", "integer"])
def test_stream_matches_predict(mode):
    model = _model([12, 8], 3, "softmax", True)
    X = _data(B=1)
    q = pygru.quantize(model, X, mode=mode)
    s = q.stream()
    ys = np.stack([s.step(x) for x in X[0]])
    np.testing.assert_array_equal(ys, q.predict(X[0], return_sequences=True))
    s.reset()
    np.testing.assert_array_equal(s.step(X[0, 0]), ys[0])


# ------------------------------------------------------------------ host C program


def _host_case(tmp_path, hidden, out, act, ra, B=2, T=12):
    model = _model(hidden, out, act, ra, seed=3)
    X = _data(B=B, T=T, seed=4)
    q8 = pygru.quantize(model, X, mode="int8")
    qi = pygru.quantize(model, X, mode="integer")
    quant_case.write_case_header(str(tmp_path / "quant_case.h"), model, q8, qi, X)
    return q8, qi, X


@pytest.mark.parametrize("cfg,flags", [
    (CONFIGS[1], [["-O0"], ["-O3"]] + ([["-O3", "-mavx2"]] if os.uname().machine == "x86_64" else [])),
    (CONFIGS[2], [["-O2"]]),
])
def test_host_c_bit_exact(tmp_path, cfg, flags):
    require_tool(quant_case.host_cc()[0], "apt-get install gcc")
    q8, qi, X = _host_case(tmp_path, *cfg)
    B, T, _ = X.shape
    want8 = q8.predict(X, return_sequences=True)
    wanti = qi.predict_int(qi.quantize_input(X), return_sequences=True)
    np.testing.assert_array_equal(wanti, emulate_integer(qi, qi.quantize_input(X), True))
    for f in flags:
        y8, yi = quant_case.parse_output(quant_case.build_and_run_host(str(tmp_path), f), B, T, q8.output_dim)
        assert np.array_equal(y8.view(np.uint32), want8.view(np.uint32)), f
        np.testing.assert_array_equal(yi, wanti)


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86-64 kernels (gru_c/src/gru_quant_x86.h) "
                    "are only built for x86-64")
def test_x86_activation_kernels_match_scalar_exhaustively(tmp_path):
    """The AVX2 (8 lanes, gathers) and AVX-512 (32 lanes, table in registers
    read with vpermt2w) integer tanh / sigmoid against the portable functions
    for every input in [-2^26, 2^26] (tests/c/quant_act_x86.c)."""
    require_cpu("avx2")
    src = os.path.join(C_TESTS, "quant_act_x86.c")
    others = [c for c in cbuild.C_SOURCES if not c.endswith("gru_quant.c")]
    exe = cbuild.build([src] + others, str(tmp_path / "quant_act_x86"), ["-O2"])
    res = subprocess.run([exe], capture_output=True, text=True, timeout=120)
    lines = dict(line.split(None, 1) for line in res.stdout.splitlines() if not line.startswith(" "))
    assert "avx2" in lines, res.stdout
    avx512 = {"avx512_vnni", "avx512bw", "avx512vl"} <= cpu_flags()
    assert ("avx512" in lines) == avx512, res.stdout
    for name, counts in lines.items():
        checked, bad = (int(v) for v in counts.split())
        assert checked == 2 * (2 ** 27) and bad == 0, (name, res.stdout)
    assert res.returncode == 0, res.stdout
    require_cpu("avx512_vnni", "avx512bw", "avx512vl")   # the AVX-512 kernels were checked too


# Every x86 kernel in the build it ships in, whatever this CPU would pick:
# (build name, macros, the kernel it must dispatch to, CPU flags it needs).
X86_BUILDS = [
    ("portable", ["-DGRU_PORTABLE_KERNEL"], "portable", set()),
    ("avx2", ["-DGRU_DISPATCH_X86", "-DGRU_NO_AVX512_KERNEL"], "avx2", {"avx2"}),
    ("avx512vnni", ["-DGRU_DISPATCH_X86"], "avx512-vnni", {"avx2", "avx512_vnni", "avx512bw", "avx512vl"}),
]



def _kernel_cases():
    """Models covering the kernels' code paths: odd and even column counts,
    passes of 8 (VNNI) / 4 (AVX2) 16-row blocks and shorter last passes, last
    blocks with fewer than 8 rows, both cell variants, every head, and
    pre-activations beyond the table and the Q.12 clamp."""
    big = pygru.GRUModel(37, [45, 24], output_size=7, output_activation="tanh", reset_after=[False, True],
                         seed=11)
    w = big.get_weights()
    w["weight_hh_l0"] *= 6.0
    w["bias_ih_l1"][:9] = 3000.0
    big.set_weights(w)
    rng = np.random.default_rng(21)
    return [
        ("sat", big, rng.normal(size=(2, 9, 37)).astype(np.float32) * 3),
        ("40x128", pygru.GRUModel(40, [128], output_size=5, output_activation="softmax", seed=12),
         rng.normal(size=(1, 6, 40)).astype(np.float32)),
        ("16x33", pygru.GRUModel(16, [33, 16], output_size=3, output_activation="sigmoid",
                                 reset_after=[True, False], seed=13),
         rng.normal(size=(2, 7, 16)).astype(np.float32)),
        ("1x1", pygru.GRUModel(1, [1], seed=14), rng.normal(size=(1, 4, 1)).astype(np.float32)),
    ]


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86-64 kernels (gru_c/src/gru_quant_x86.h) "
                    "are only built for x86-64")
@pytest.mark.parametrize("build,macros,kernel,needs", X86_BUILDS, ids=[b[0] for b in X86_BUILDS])
def test_each_x86_kernel_forced_and_bit_exact(tmp_path, build, macros, kernel, needs):
    """Each x86 build (tests/cbuild.py, -O2 and the build's macros) reports
    the kernel it dispatches to (tests/c/quant_kernels.c), and its outputs
    equal, bit for bit, the binding's (int8 mode: float32 patterns) and the
    numpy emulation's (integer mode), on every case."""
    require_cpu(*sorted(needs))
    others = list(cbuild.C_SOURCES)
    for name, model, X in _kernel_cases():
        work = tmp_path / name
        work.mkdir()
        q8 = pygru.quantize(model, X, mode="int8")
        qi = pygru.quantize(model, X, mode="integer")
        quant_case.write_case_header(str(work / "quant_case.h"), model, q8, qi, X)
        exe = cbuild.build([os.path.join(C_TESTS, "quant_kernels.c")] + others, str(work / "prog"),
                           ["-O2", "-I" + str(work), "-I" + quant_case.HERE] + macros)
        out = cbuild.run([exe]).decode()
        first, rest = out.split("\n", 1)
        assert first == f"kernel {kernel}", (build, first)
        y8, yi = quant_case.parse_output(rest, *X.shape[:2], q8.output_dim)
        want8 = q8.predict(X, return_sequences=True)
        assert np.array_equal(y8.view(np.uint32), want8.view(np.uint32)), (build, name)
        np.testing.assert_array_equal(yi, emulate_integer(qi, qi.quantize_input(X), True),
                                      err_msg=f"{build} {name}")


@pytest.mark.skipif(os.uname().machine != "x86_64", reason="x86-64 kernels are only built for x86-64")
@pytest.mark.parametrize("build,macros,kernel,needs", X86_BUILDS, ids=[b[0] for b in X86_BUILDS])
def test_each_x86_integer_product_against_the_contract(tmp_path, build, macros, kernel, needs):
    """tests/c/qi_gemv_check.c: the integer product of each x86 build against
    a scalar model of gru_quant.h's contract, random shapes, weights, inputs,
    multipliers, every shift, extreme biases."""
    require_cpu(*sorted(needs))
    exe = cbuild.build([os.path.join(C_TESTS, "qi_gemv_check.c")] + list(cbuild.C_SOURCES),
                       str(tmp_path / "prog"), ["-O2"] + macros)
    out = cbuild.run([exe]).decode().split("\n")
    assert out[0] == f"kernel {kernel}" and out[1].startswith("checked "), out


@pytest.mark.parametrize("target", list(fwbuild.TARGETS))
def test_target_integer_product_against_the_contract(tmp_path, target):
    """The same check cross-built for each QEMU target: the Arm DSP and Helium
    kernels and the portable one on M0, M3, RV32, RV64."""
    require_target(target)
    elf = fwbuild.build_image(target, [os.path.join(C_TESTS, "qi_gemv_check.c")], str(tmp_path / "prog.elf"))
    res = fwbuild.run_image(target, elf)
    assert res.returncode == 0, res.stdout + res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == f"kernel {TARGET_INTEGER_KERNEL.get(target, 'portable')}", lines
    assert lines[1].startswith("checked "), lines


# ------------------------------------------------------------------ integer weight layout


def _qi_pack_reference(w):
    """gru_quant.h's packed layout built with numpy: zero-pad to (16k, 8m),
    then blocks of 16 rows, within a block groups of 8 columns, within a group
    the 16 rows' 8 weights each."""
    R, C = w.shape
    P = np.zeros((-(-R // 16) * 16, -(-C // 8) * 8), np.int8)
    P[:R, :C] = w
    return P.reshape(-1, 16, P.shape[1] // 8, 8).transpose(0, 2, 1, 3).ravel()


@pytest.mark.parametrize("rows,cols", [(1, 1), (16, 2), (17, 3), (45, 37), (384, 40), (7, 511)])
def test_qi_pack_matrix_layout(rows, cols):
    w = np.random.default_rng(rows * 1000 + cols).integers(-128, 128, size=(rows, cols), dtype=np.int8)
    packed = _quant.pack_matrix_qi(w)
    np.testing.assert_array_equal(packed, _qi_pack_reference(w))
    with pytest.raises(_quant.GRUQuantError, match="dimension"):
        _quant.pack_matrix_qi(np.zeros((2, _quant.QI_MAX_DIM + 1), np.int8))


# ------------------------------------------------------------------ saturation and edge cases


def test_extreme_inputs_saturate_bit_exact():
    model = _model([12], 3, None, True)
    w = model.get_weights()
    w["weight_hh_l0"] *= 40.0          # pre-activations far beyond the table range
    w["bias_ih_l0"][:5] = 5000.0       # beyond the Q.12 clamp (4096)
    model.set_weights(w)
    X = _data(B=2, T=10)
    q = pygru.quantize(model, X, mode="integer")
    X_big = X * 1e4                    # far outside the calibration range: saturate
    Xq = q.quantize_input(X_big)
    assert np.abs(Xq).max() == 32767
    y = q.predict_int(Xq, return_sequences=True)
    np.testing.assert_array_equal(y, emulate_integer(q, Xq, True))
    y8 = pygru.quantize(model, X, mode="int8").predict(X_big)
    assert np.isfinite(y8).all()
    s = q.stream()
    for x in X_big[0]:
        s.step(x)
    assert np.abs(s.state.astype(np.int64)).max() <= 32767


def test_zero_range_calibration_and_zero_rows():
    model = _model([8], 2, "sigmoid", False)
    w = model.get_weights()
    w["weight_ih_l0"][3] = 0.0         # an all-zero row: scale 0, multiplier 0
    model.set_weights(w)
    zeros = np.zeros((2, 5, 5), np.float32)
    q = pygru.quantize(model, zeros, mode="integer")
    assert q.input_scale == pytest.approx(1.0 / 32767)
    assert q.params["m_ih_l0"][3] == 0
    X = _data(B=2, T=5) * 1e-3
    Xq = q.quantize_input(X)
    np.testing.assert_array_equal(q.predict_int(Xq), emulate_integer(q, Xq))
    err = np.abs(q.predict(X) - _ref(model, X)).max()
    assert err <= INTEGER_MAX_ERR, err
    # With zero input the output is exactly what the biases alone give.
    np.testing.assert_array_equal(q.predict(zeros), pygru.quantize(model, X, mode="integer").predict(zeros))


def test_c_checks_size_limit():
    H = _quant.QI_MAX_DIM + 1
    z8 = np.zeros((3 * H, 1), np.int8)
    layer = (True, z8, np.zeros((3 * H, H), np.int8), np.zeros(3 * H, np.int32), np.ones(3 * H, np.int8),
             np.zeros(3 * H, np.int32), np.ones(3 * H, np.int8), np.zeros(3 * H, np.int32),
             np.zeros(3 * H, np.int32))
    with pytest.raises(_quant.GRUQuantError, match="GRU_MAX_DIM|dimension"):
        _quant.QIModel([layer])


def test_argument_errors():
    model = _model([8], None, None, True)
    X = _data()
    with pytest.raises(ValueError, match="mode"):
        pygru.quantize(model, X, mode="int4")
    with pytest.raises(TypeError, match="model"):
        pygru.quantize("not a model", X)
    with pytest.raises(ValueError, match="calibration_X"):
        pygru.quantize(model, X[..., :2])
    with pytest.raises(ValueError, match="integer mode supports"):
        pygru.quantize(pygru.GRUModel(3, [600], seed=0), np.zeros((1, 2, 3)), mode="integer")
    q = pygru.quantize(model, X, mode="integer")
    with pytest.raises(ValueError, match="Xq"):
        q.predict_int(X)
    with pytest.raises(ValueError, match="X"):
        q.predict(X[..., :3])


@pytest.mark.parametrize("mode", ["int8", "integer"])
def test_save_load_roundtrip(tmp_path, mode):
    model = _model([8], 2, "softmax", True)
    X = _data()
    q = pygru.quantize(model, X, mode=mode)
    path = tmp_path / "q.npz"
    q.save(path)
    q2 = pygru.load_quantized(path)
    assert q2.mode == mode
    np.testing.assert_array_equal(q2.predict(X), q.predict(X))
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(ValueError, match="not a pygru quantized"):
        pygru.load_quantized(tmp_path / "other.npz")


def test_weight_flash_quarter_of_float():
    model = pygru.GRUModel(40, [128], output_size=10, seed=0)
    float_bytes = sum(w.nbytes for w in model.get_weights().values())
    for mode in ("int8", "integer"):
        q = pygru.quantize(model, _data(I=40), mode=mode)
        assert q.weight_bytes() < 0.3 * float_bytes, (mode, q.weight_bytes(), float_bytes)


# ------------------------------------------------------------------ QEMU targets

TARGET_INTEGER_KERNEL = {"cortex-m4f": "arm-dsp", "cortex-m7": "arm-dsp", "cortex-m55": "helium"}


@pytest.mark.parametrize("target", list(fwbuild.TARGETS))
def test_targets_bit_exact(tmp_path, target):
    """The same program cross-built for each firmware target and run under QEMU
    prints exactly what the Python binding computes: int8 mode bit for bit
    (float32 patterns), integer mode equal to the numpy emulation."""
    require_target(target)
    q8, qi, X = _host_case(tmp_path, *CONFIGS[3], B=1, T=10)
    B, T, _ = X.shape
    elf = fwbuild.build_image(target, [os.path.join(fwbuild.HERE, "quant_infer.c")],
                              str(tmp_path / "prog.elf"), include_dirs=[str(tmp_path)])
    res = fwbuild.run_image(target, elf)
    assert res.returncode == 0, res.stdout + res.stderr
    # each target runs the integer kernel written for its core (and says so)
    assert res.stdout.splitlines()[0].split() == ["kernels", "portable", TARGET_INTEGER_KERNEL.get(target, "portable")]
    y8, yi = quant_case.parse_output(res.stdout, B, T, q8.output_dim)
    want8 = q8.predict(X, return_sequences=True)
    assert np.array_equal(y8.view(np.uint32), want8.view(np.uint32))
    np.testing.assert_array_equal(yi, emulate_integer(qi, qi.quantize_input(X), True))


# ------------------------------------------------------------------ C header export


@pytest.mark.parametrize("mode", ["int8", "integer"])
def test_export_header_selftest_and_checksum(tmp_path, mode):
    require_tool(quant_case.host_cc()[0], "apt-get install gcc")
    model = _model([12, 8], 3, "softmax", [True, False])
    q = pygru.quantize(model, _data(), mode=mode)
    header = tmp_path / "qm.h"
    assert pygru.export_c(q, header, name="qm") == str(header)
    text = header.read_text()
    assert "QM_CHECKSUM" in text and ("QM_INPUT_SCALE" in text) == (mode == "integer")
    main = os.path.join(C_TESTS, "quant_export_main.c")

    def run(hdr_dir):
        flags = ["-O2"] + (["-DQM_INTEGER"] if mode == "integer" else [])
        exe = quant_case.build_host(main, str(hdr_dir), flags, str(hdr_dir / "prog"))
        return subprocess.run([exe], check=True, capture_output=True, text=True).stdout.split()

    assert run(tmp_path) == ["0", "0"]
    # The flash reported is that of the packed arrays (padding included).
    assert f"#define QM_WEIGHT_BYTES {q.weight_bytes()}\n" in text
    assert q.weight_bytes() >= sum(a.nbytes for a in q.params.values())
    # A changed weight is caught by the checksum and by the self-test.
    start = text.index("qm_l0_w_ih[] = {")
    body = text.index("{", start) + 1
    first = text[body:text.index(",", body)].strip()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "qm.h").write_text(text[:body] + "\n    " + str(int(first) ^ 1) + text[text.index(",", body):])
    check, selftest = run(bad)
    assert int(check) == -7 and int(selftest) > 0


# ------------------------------------------------------------------ accuracy on the bundled data set


@pytest.mark.parametrize("seed", [0, 1])
def test_accuracy_within_one_point_on_spoken_digits(seed):
    """Post-training quantization of a GRU(32) classifier trained by pygru on
    the bundled spoken_digits set: test accuracy of both modes within 1
    percentage point of float (python tools/quant_accuracy.py prints them)."""
    proc = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "quant_accuracy.py"), "--hidden", "32",
                           "--epochs", "10", "--seed", str(seed)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    acc = {m.group(1): float(m.group(2)) for m in
           re.finditer(r"^  (float|int8|integer)\s+test accuracy\s+([0-9.]+) %", proc.stdout, re.M)}
    assert set(acc) == {"float", "int8", "integer"}, proc.stdout
    assert acc["float"] > 90.0, acc          # the model did learn the task
    assert abs(acc["int8"] - acc["float"]) <= 1.0, acc
    assert abs(acc["integer"] - acc["float"]) <= 1.0, acc


@pytest.mark.parametrize("mode", ["int8", "integer"])
def test_quantized_predict_with_lengths_equals_each_sequence_cut_to_its_length(mode):
    model = pygru.GRUModel(4, [8], output_size=3, return_sequences=True, seed=1)
    X = np.random.default_rng(2).standard_normal((5, 9, 4)).astype(np.float32)
    q = pygru.quantize(model, X, mode=mode)
    lengths = np.array([9, 2, 5, 9, 1])
    Y = q.predict(X, lengths=lengths)
    for b, L in enumerate(lengths):
        own = q.predict(X[b, :L])
        np.testing.assert_array_equal(Y[b, :L], own)
        np.testing.assert_array_equal(Y[b, L:], np.repeat(own[-1:], 9 - L, axis=0))
    last = q.predict(X, return_sequences=False, lengths=lengths)
    np.testing.assert_array_equal(last, Y[np.arange(5), lengths - 1])
    with pytest.raises(ValueError, match=r"^lengths: expected values in 1\.\.9"):
        q.predict(X, lengths=[10, 1, 1, 1, 1])
