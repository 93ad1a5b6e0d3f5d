"""`pygru info`: version, build flags, SIMD level, optional packages and toolchains."""
import json
import os
import platform
import re
import shutil
import subprocess
import sys

from ._common import EXIT_OK

NAME = "info"
HELP = "version, build flags, SIMD level, optional packages and toolchains"
SESSION = ("pygru info", "version, build flags, SIMD level, toolchains")
DESCRIPTION = None
EXAMPLES = "examples:\n  pygru info\n  pygru info --json\n"


def add_arguments(p):
    p.add_argument("--json", action="store_true", help="print as JSON")


TOOLCHAINS = [("cc", "host C compiler"), ("gcc", "GCC"), ("clang", "Clang"),
              ("arm-none-eabi-gcc", "Cortex-M cross compiler"),
              ("riscv64-unknown-elf-gcc", "RISC-V cross compiler"),
              ("qemu-system-arm", "QEMU, Arm machines"), ("qemu-system-riscv32", "QEMU, RV32"),
              ("qemu-system-riscv64", "QEMU, RV64"), ("valgrind", "valgrind")]
OPTIONAL_PACKAGES = ["numpy", "torch", "onnx", "onnxruntime", "h5py", "keras", "tqdm", "matplotlib"]


def _tool_version(exe):
    try:
        proc = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = (proc.stdout or proc.stderr).strip().splitlines()
    return lines[0].strip() if lines else None


def _package_version(name):
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def build_info():
    """What the compiled extension was built with, read from the binary: the
    compiler's DWARF producer string (flags) and the step kernel's target clones."""
    from .. import _core
    path = _core.__file__
    with open(path, "rb") as f:
        blob = f.read()
    producers = sorted({m.decode("ascii", "replace") for m in re.findall(rb"GNU C[0-9]* [ -~]+", blob)})
    clones = sorted({m.decode() for m in re.findall(rb"gru__gemv_(avx512f|avx2|portable)\b", blob)})
    return {"extension": path, "compiler_flags": producers, "kernel_clones": clones}


def cpu_simd_flags():
    flags = set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    return [f for f in ("avx512f", "avx2", "fma", "sse4_2", "neon", "asimd") if f in flags]


def simd_level(build, cpu_flags):
    """The kernels the extension runs on this CPU, as gru_c itself reports them
    (gru_kernel_name: chosen once, by the build or by the loader)."""
    from .. import _core
    names = _core.kernel_names()
    how = "chosen at load time for this CPU" if _core.kernels_dispatched() else \
        "fixed at compile time (no run-time dispatch in this build)"
    return f"float {names['float']}, int8 {names['int8']}, integer {names['integer']} ({how})"


def collect():
    """Everything `pygru info` reports, as a JSON-able dict."""
    import pygru
    from .. import _core, datasets
    build = build_info()
    cpu = cpu_simd_flags()
    info = {
        "pygru": pygru.__version__,
        "gru_c_api": _core.C_VERSION,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": f"{platform.system()} {platform.machine()}",
        "package_dir": os.path.dirname(os.path.abspath(pygru.__file__)),
        "build": build,
        "cpu_simd_flags": cpu,
        "simd_level": simd_level(build, cpu),
        "limits": {"GRU_MAX_LAYERS": _core.MAX_LAYERS, "GRU_MAX_DIM": _core.MAX_DIM},
        "features": {
            "training (GRUModel.fit)": hasattr(pygru.GRUModel, "fit"),
            "C header export (pygru.export_c)": hasattr(pygru, "export_c"),
            "import PyTorch (pygru.from_torch)": hasattr(pygru, "from_torch"),
            "import Keras (pygru.from_keras)": hasattr(pygru, "from_keras"),
            "import ONNX (pygru.from_onnx)": hasattr(pygru, "from_onnx"),
            "quantization (pygru.quantize)": hasattr(pygru, "quantize"),
        },
        "datasets": {n: datasets.load(n).description for n in datasets.available()},
        "packages": {p: _package_version(p) for p in OPTIONAL_PACKAGES},
        "toolchains": {},
    }
    try:
        info["c_sources"] = pygru.c_source_dir()
    except FileNotFoundError:
        info["c_sources"] = None
    for exe, what in TOOLCHAINS:
        found = shutil.which(exe)
        info["toolchains"][exe] = {"what": what, "path": found, "version": _tool_version(found) if found else None}
    return info


def _print(info):
    build = info["build"]
    print(f"pygru {info['pygru']} (gru_c C API {info['gru_c_api']}), Python {info['python']}, {info['platform']}")
    print(f"package:      {info['package_dir']}")
    print(f"C sources:    {info['c_sources'] or 'not found'}")
    print(f"extension:    {build['extension']}")
    flags = "; ".join(build["compiler_flags"]) or "not recorded in the binary (stripped build)"
    print(f"build flags:  {flags}")
    print(f"SIMD level:   {info['simd_level']}")
    print(f"CPU flags:    {' '.join(info['cpu_simd_flags']) or 'none of avx512f/avx2/fma/sse4_2/neon/asimd'}")
    limits = info["limits"]
    print(f"limits:       GRU_MAX_LAYERS {limits['GRU_MAX_LAYERS']}, GRU_MAX_DIM {limits['GRU_MAX_DIM']}")
    sections = [
        ("features", info["features"], lambda k, v: f"{'yes' if v else 'no ':4} {k}"),
        ("bundled data sets", info["datasets"], lambda k, v: f"{k}: {v}"),
        ("optional packages", info["packages"], lambda k, v: f"{k:12} {v or 'not installed'}"),
        ("toolchains", info["toolchains"], lambda k, t: f"{k:24} " + (
            f"{t['version'] or '(version unknown)'}  [{t['path']}]" if t["path"] else "not found")),
    ]
    for title, entries, line in sections:
        print(f"{title}:")
        for k, v in entries.items():
            print("  " + line(k, v))


def run(args):
    info = collect()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        _print(info)
    return EXIT_OK
