"""Cross-compiled firmware builds run under QEMU must compute exactly what the
host computes: same C program (pygru/firmware/gru_infer.c) and same weights,
exported with pygru.export_c, built with the system cc and with each target's
cross GCC, outputs compared bit for bit, and both compared with the Python
binding (GRUModel.predict) and with the float64 reference. Each image also runs
the header's own checksum check and bit-exact self-test.

Needs the cross toolchains and QEMU (EMBEDDED.md; `.ci/run` installs them). A
missing tool skips its target with the apt-get line that installs it, and fails
it in CI (conftest.require_target).
"""
import os
import subprocess

import numpy as np
import pytest

import reference
import pygru
from conftest import require_target, require_tool
from pygru import GRUModel
from pygru import firmware
from pygru.firmware import cbuild, fwbuild

GRU_C = cbuild.GRU_C
GRU_INFER = firmware.path("gru_infer.c")
GRU_TRAIN_STEPS = firmware.path("gru_train_steps.c")
STEPS = 25


def parse_bits(stdout, steps, width):
    """The hex output lines after gru_infer.c's "check 0 selftest 0" line."""
    lines = stdout.strip().splitlines()
    assert lines and lines[0] == "check 0 selftest 0", \
        f"the header's checksum or self-test failed:\n{stdout[:2000]}"
    rows = [line.split() for line in lines[1:]]
    assert len(rows) == steps and all(len(r) == width for r in rows), \
        f"expected {steps} lines of {width} hex words, got:\n{stdout[:2000]}"
    return np.array([[int(v, 16) for v in r] for r in rows], dtype=np.uint32)


def build_host(sources, include_dirs, output):
    """The same program for the host, with the system cc (pygru.firmware.cbuild)."""
    flags = ["-O2", "-fno-math-errno"] + ["-I" + str(d) for d in include_dirs]
    return cbuild.build(list(sources), output, flags, with_runtime=True)


def run_on_target(target, program, work, runtime_lib):
    """The stdout of `program` built at -O3 for `target` (headers from `work`,
    the image written there) and run under QEMU, which must end with status 0."""
    require_target(target)
    elf = fwbuild.build_image(target, [program], str(work / f"{target}.elf"),
                              include_dirs=[str(work)], opt="-O3", runtime_lib=runtime_lib(target))
    res = fwbuild.run_image(target, elf, timeout=60)
    assert not res.timed_out, f"{target}: QEMU timed out; output so far:\n{res.stdout[-2000:]}"
    assert res.returncode == 0, f"{target}: exit status {res.returncode}\n{res.stdout[-2000:]}\n{res.stderr}"
    return res.stdout


def describe_mismatch(got, want):
    bad = np.argwhere(got != want)
    t, j = bad[0]
    ulps = np.abs(got.view(np.int32).astype(np.int64) - want.view(np.int32).astype(np.int64))
    return (f"{len(bad)} of {got.size} values differ (max {ulps.max()} ulp); first at step {t}, "
            f"output {j}: {got[t, j]:08x} vs {want[t, j]:08x}")


def firmware_case(tmp_path_factory, model, folder):
    """The model exported as fw_model.h; the host C program's output lines and Python's."""
    x = (np.random.default_rng(5).standard_normal((STEPS, model.input_size)) * 1.5).astype(np.float32)
    work = tmp_path_factory.mktemp(folder)
    pygru.export_c(model, str(work / "fw_model.h"), name="fw", self_test_input=x)
    exe = build_host([GRU_INFER], [work], work / "host_infer")
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    host = parse_bits(proc.stdout, STEPS, model.output_dim)
    python = model.predict(x).view(np.uint32)
    return dict(model=model, x=x, work=work, host=host, python=python)


@pytest.fixture(scope="module")
def inference_case(tmp_path_factory):
    """Two layers (reset_after 1 then 0, sizes not multiples of the packing
    width), a softmax head."""
    model = GRUModel(input_size=7, hidden_sizes=[33, 16], output_size=5, reset_after=[True, False],
                     output_activation="softmax", return_sequences=True, seed=20261126)
    return firmware_case(tmp_path_factory, model, "firmware")


@pytest.fixture(scope="module")
def layered_case(tmp_path_factory):
    """A Dense pre-net (tanh, relu), two GRU layers, an MLP head (relu, sigmoid, softmax)."""
    model = GRUModel.from_layers(7, [pygru.Dense(20, "tanh"), pygru.Dense(9, "relu"), pygru.GRU(33),
                                     pygru.GRU(16, reset_after=False), pygru.Dense(24, "relu"),
                                     pygru.Dense(10, "sigmoid"), pygru.Dense(5, "softmax")],
                                 return_sequences=True, seed=20261207)
    return firmware_case(tmp_path_factory, model, "firmware_layers")


def test_host_program_matches_python_and_reference(inference_case):
    c = inference_case
    assert c["host"].shape == c["python"].shape
    assert np.array_equal(c["host"], c["python"]), describe_mismatch(c["host"], c["python"])
    model = c["model"]
    ref = reference.gru_model(c["x"][None], model.get_weights(), model.num_layers,
                              list(model.reset_after), "softmax", return_sequences=True)[0]
    np.testing.assert_allclose(c["host"].view(np.float32), ref, rtol=0, atol=2e-6)


@pytest.fixture(scope="module")
def bidir_case(tmp_path_factory):
    """Dense -> GRU (relu, Keras 2's hard_sigmoid) -> bidirectional GRU -> MLP:
    gru_sequence on the target (the model cannot stream)."""
    model = GRUModel.from_layers(7, [pygru.Dense(12, "tanh"),
                                     pygru.GRU(17, activation="relu", recurrent_activation="hard_sigmoid"),
                                     pygru.GRU(9, direction="bidirectional", recurrent_activation="hard_sigmoid_keras3"),
                                     pygru.Dense(11, "relu"),
                                     pygru.Dense(4, "softmax")], return_sequences=True, seed=20261208)
    return firmware_case(tmp_path_factory, model, "firmware_bidir")


@pytest.mark.parametrize("case", ["layered_case", "bidir_case"])
def test_layered_host_program_matches_python_and_reference(case, request):
    c = request.getfixturevalue(case)
    assert np.array_equal(c["host"], c["python"]), describe_mismatch(c["host"], c["python"])
    model = c["model"]
    ref = reference.layered_model(c["x"][None], model.get_weights(), reference.reference_layers(model.spec),
                                  return_sequences=True)[0]
    np.testing.assert_allclose(c["host"].view(np.float32), ref, rtol=0, atol=1e-5)


@pytest.mark.parametrize("target", sorted(fwbuild.TARGETS))
@pytest.mark.parametrize("case", ["inference_case", "layered_case", "bidir_case"])
def test_target_inference_bit_identical(target, case, runtime_lib, request):
    c = request.getfixturevalue(case)
    got = parse_bits(run_on_target(target, GRU_INFER, c["work"], runtime_lib), STEPS, c["model"].output_dim)
    assert np.array_equal(got, c["host"]), f"{target} vs host: " + describe_mismatch(got, c["host"])
    assert np.array_equal(got, c["python"]), f"{target} vs Python: " + describe_mismatch(got, c["python"])


@pytest.mark.parametrize("target", ["cortex-m4f", "rv32imac"])
def test_fault_exits_with_status_1(target, tmp_path):
    """The startup's fault handler (Cortex-M) and trap vector (RISC-V) end the
    run with status 1 instead of a QEMU lockup or a hang."""
    require_target(target)
    src = tmp_path / "fault.c"
    src.write_text("#include <stdio.h>\nint main(void)\n{\n    puts(\"before\");\n"
                   "    fflush(stdout);\n    __builtin_trap();\n    return 0;\n}\n")
    res = fwbuild.build_and_run(target, [str(src)], timeout=20, with_runtime=False)
    assert not res.timed_out
    assert (res.returncode, res.stdout) == (1, "before\n")


@pytest.mark.parametrize("target", sorted(fwbuild.TARGETS))
def test_static_library_make(target, tmp_path):
    """gru_c/Makefile builds libgru.a for every target at -Os with -Werror."""
    require_target(target)
    require_tool("make")
    proc = subprocess.run(["make", "-s", "-C", GRU_C, f"TARGET={target}",
                           "OPT=-Os", "WERROR=-Werror", f"BUILD={tmp_path}"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stderr == "", proc.stderr   # warning-free
    members = subprocess.run([fwbuild.get_target(target).tool("ar"), "t", str(tmp_path / "libgru.a")],
                             capture_output=True, text=True, check=True).stdout.split()
    assert sorted(members) == sorted(os.path.basename(s)[:-2] + ".o"
                                     for s in fwbuild.runtime_sources())


# ---------------------------------------------------------------------- training on the device

TRAIN_STEPS = 3


def c_float(v):
    return float(np.float32(v)).hex() + "f"


def c_floats(name, values):
    body = ",\n    ".join(", ".join(c_float(v) for v in values[i:i + 6])
                          for i in range(0, len(values), 6))
    return f"static const float {name}[{len(values)}] = {{\n    {body}\n}};\n"


def training_header(model, params, x, labels, lr, clip):
    """fw_train.h for gru_train_steps.c: the model's sizes, its flat parameters,
    one batch (x, class labels) and the optimizer settings."""
    B, T, I = x.shape
    S, H, O = sum(model.hidden_sizes), max(model.hidden_sizes), model.output_size
    describe = [f"    m->num_layers = {model.num_layers};"]
    size_in = I
    for l, h in enumerate(model.hidden_sizes):
        describe += [f"    m->layers[{l}].input_size = {size_in};",
                     f"    m->layers[{l}].hidden_size = {h};",
                     f"    m->layers[{l}].reset_after = {int(model.reset_after[l])};"]
        size_in = h
    describe += ["    m->has_head = 1;", f"    m->head.input_size = {size_in};",
                 f"    m->head.output_size = {O};", "    m->head.activation = GRU_ACT_SOFTMAX;"]
    return "\n".join([
        "/* Generated by tests/test_targets.py; do not edit. */",
        f"#define TR_PARAM_SIZE {params.size}",
        f"#define TR_BATCH {B}", f"#define TR_STEPS {T}", f"#define TR_OUTPUT_SIZE {O}",
        f"#define TR_TRAIN_STEPS {TRAIN_STEPS}",
        f"#define TR_WORKSPACE_SIZE GRU_TRAIN_WORKSPACE_SIZE({B}, {T}, {S}, {H}, {I}, {O}, 0)",
        "#define TR_OPTIMIZER GRU_OPT_ADAM", f"#define TR_LR {c_float(lr)}",
        f"#define TR_CLIP {c_float(clip)}",
        "#define TR_LOSS GRU_LOSS_CROSS_ENTROPY", "#define TR_TARGET NULL",
        "#define TR_LABELS tr_labels", "",
        c_floats("tr_params", params.reshape(-1)), c_floats("tr_x", x.reshape(-1)),
        f"static const int32_t tr_labels[{B}] = {{{', '.join(str(int(v)) for v in labels)}}};",
        "", "static void tr_describe(gru_model *m)", "{", *describe, "}", ""])


def parse_training(stdout, n_params):
    lines = stdout.strip().splitlines()
    steps = [line.split() for line in lines[:TRAIN_STEPS]]
    assert [s[:2] for s in steps] == [["step", str(i)] for i in range(TRAIN_STEPS)], stdout[:2000]
    losses = np.array([int(s[3], 16) for s in steps], np.uint32)
    norms = np.array([int(s[5], 16) for s in steps], np.uint32)
    params = np.array([int(v, 16) for line in lines[TRAIN_STEPS:] for v in line.split()], np.uint32)
    assert params.size == n_params, f"expected {n_params} parameters, got {params.size}"
    return losses, norms, params


@pytest.fixture(scope="module")
def training_case(tmp_path_factory):
    """Three Adam steps with clipping and a cross-entropy loss on a 2-layer model
    (reset_after 1 then 0) with a softmax head: the host C program's updated
    parameters, and pygru's Trainer running the same steps."""
    from pygru import training
    model = GRUModel(input_size=5, hidden_sizes=[12, 8], output_size=3, reset_after=[True, False],
                     output_activation="softmax", seed=7)
    rng = np.random.default_rng(11)
    x = rng.standard_normal((4, 6, 5)).astype(np.float32)
    labels = rng.integers(0, 3, size=4).astype(np.int32)
    lr, clip = 0.01, 0.5
    params = training.flatten_weights(model)
    work = tmp_path_factory.mktemp("training")
    (work / "fw_train.h").write_text(training_header(model, params, x, labels, lr, clip))
    exe = build_host([GRU_TRAIN_STEPS], [work], work / "host_train")
    proc = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    host = parse_training(proc.stdout, params.size)

    trainer = training.make_trainer(model, 4, 6, return_sequences=False)
    trainer.set_optimizer("adam", lr)
    y = np.empty((4, 3), np.float32)
    losses, norms = [], []
    for _ in range(TRAIN_STEPS):
        loss, norm = trainer.train_batch(x, "cross_entropy", None, labels, None, clip, y)
        losses.append(loss)
        norms.append(norm)
    python = (np.array(losses, np.float32).view(np.uint32), np.array(norms, np.float32).view(np.uint32),
              np.asarray(trainer.params, np.float32).view(np.uint32))
    return dict(work=work, host=host, python=python, initial=params, n=params.size)


def test_host_training_matches_python(training_case):
    c = training_case
    host, python = c["host"], c["python"]
    assert np.array_equal(host[0], python[0]) and np.array_equal(host[1], python[1]), \
        f"loss/norm bits: host {host[0]}, {host[1]}; Python {python[0]}, {python[1]}"
    assert np.array_equal(host[2], python[2]), \
        f"{np.count_nonzero(host[2] != python[2])} of {c['n']} updated parameters differ"
    # The steps did something: most parameters moved.
    assert np.count_nonzero(host[2] != c["initial"].view(np.uint32)) > c["n"] // 2


@pytest.mark.parametrize("target", sorted(fwbuild.TARGETS))
def test_target_training_bit_identical(target, training_case, runtime_lib):
    """A few training steps on the device give the host's updated weights."""
    c = training_case
    losses, norms, params = parse_training(run_on_target(target, GRU_TRAIN_STEPS, c["work"], runtime_lib), c["n"])
    assert np.array_equal(losses, c["host"][0]), f"loss bits {losses} vs host {c['host'][0]}"
    assert np.array_equal(norms, c["host"][1]), f"gradient norm bits {norms} vs host {c['host'][1]}"
    assert np.array_equal(params, c["host"][2]), \
        f"{np.count_nonzero(params != c['host'][2])} of {c['n']} updated parameters differ from the host"
