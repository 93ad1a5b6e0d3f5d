#!/usr/bin/env python3
"""Build and run pygru's fuzz harnesses; keep every crash input.

    python tools/fuzz/run.py seeds                  # (re)write the seed corpora
    python tools/fuzz/run.py build                  # libFuzzer harnesses (clang)
    python tools/fuzz/run.py run --time 120         # every harness for 120 s each
    python tools/fuzz/run.py run --time 3600 core npz
    python tools/fuzz/run.py replay core FILE...    # run inputs once (regressions)
    python tools/fuzz/run.py check npz FILE...      # Python loaders in-process, no atheris
    python tools/fuzz/run.py build --check          # exit 1 with the reason if clang cannot
    python tools/fuzz/run.py build-asan             # pygru's extension with ASan + UBSan
    python tools/fuzz/run.py run --asan --time 3600 qnpz   # Python harness, sanitized C

Harnesses (`list` prints them):
  C, libFuzzer + ASan + UBSan (clang -fsanitize=fuzzer,address,undefined):
    core   gru_model_check, stream init/step, gru_sequence, pack/unpack (fuzz_core.c)
    quant  gru_q8_/gru_qi_ check, stream, sequence (fuzz_quant.c)
    train  training sizes, wire, workspace, forward/loss/backward/optimizer (fuzz_train.c)
  Python, atheris (pip install atheris; the table in pyharness.py):
    npz    pygru.load            qnpz   pygru.load_quantized
    torch  pygru.from_torch (.pt, .safetensors)
    keras  pygru.from_keras      onnx   pygru.from_onnx
    data   the CLI's data loader (pygru._datafile.load: .npz, .csv)

Corpora live in build/fuzz/corpus/NAME (seeded from tools/fuzz/seeds.py, grown by
the fuzzer); crash inputs are written to build/fuzz/crashes/NAME/. Once a crash
is fixed, copy its input to tests/fuzz_regressions/NAME/ so that
tests/test_fuzz_smoke.py replays it on every test run. Each harness runs alone
(one process) under `nice`, for --time seconds; the summary prints executions
and crashes per harness. The harnesses use the installed pygru and compile
that pygru's gru_c (pygru.firmware.cbuild).
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time

from pygru.firmware import cbuild
from pyharness import HARNESSES as PY_HARNESSES   # beside this script (sys.path[0])

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BUILD = os.path.join(ROOT, "build", "fuzz")

C_HARNESSES = {"core": "fuzz_core.c", "quant": "fuzz_quant.c", "train": "fuzz_train.c"}
ALL = list(C_HARNESSES) + list(PY_HARNESSES)

CLANG = os.environ.get("FUZZ_CC", "clang")
SAN = ["-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-fno-omit-frame-pointer"]
CFLAGS = ["-std=c99", "-g", "-O1", "-ffp-contract=off"] + cbuild.include_flags()


def c_binary(name):
    return os.path.join(BUILD, "bin", "fuzz_" + name)


def can_build_c():
    """None if clang can link a libFuzzer binary here, else the reason."""
    if shutil.which(CLANG) is None:
        return f"{CLANG} not installed (apt-get install clang libclang-rt-14-dev)"
    os.makedirs(BUILD, exist_ok=True)
    probe = os.path.join(BUILD, "probe.c")
    with open(probe, "w") as f:
        f.write("#include <stdint.h>\n#include <stddef.h>\n"
                "int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n")
    proc = subprocess.run([CLANG, "-fsanitize=fuzzer,address,undefined", probe, "-o", probe[:-2]],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return ("clang cannot link -fsanitize=fuzzer (apt-get install libclang-rt-14-dev): "
                + proc.stderr.strip().splitlines()[-1][:200])
    return None


def _objects(sources, deps):
    """Compile gru_c sources once (sanitizers + fuzzer coverage) into build/fuzz/obj."""
    objdir = os.path.join(BUILD, "obj")
    os.makedirs(objdir, exist_ok=True)
    objs = []
    for src in sources:
        obj = os.path.join(objdir, os.path.basename(src)[:-2] + ".o")
        newest = max(os.path.getmtime(d) for d in deps + [src])
        if not os.path.exists(obj) or os.path.getmtime(obj) < newest:
            cmd = ["nice", "-n", "19", CLANG] + CFLAGS + ["-fsanitize=fuzzer-no-link"] + SAN + ["-c", src, "-o", obj]
            cbuild.run_checked(cmd, f"compiling {os.path.basename(src)}")
        objs.append(obj)
    return objs


def build(names=None, quiet=False):
    """Compile each C harness (sources rebuilt only when newer than their objects)."""
    names = [n for n in (names or C_HARNESSES) if n in C_HARNESSES]
    os.makedirs(os.path.join(BUILD, "bin"), exist_ok=True)
    headers = [os.path.join(d, f) for d in cbuild.INCLUDE_DIRS for f in os.listdir(d) if f.endswith(".h")]
    for name in names:
        harness = C_HARNESSES[name]
        objs = _objects(cbuild.runtime_sources(), headers)
        src = os.path.join(HERE, harness)
        deps = objs + headers + [src, os.path.join(HERE, "fuzz_common.h")]
        out = c_binary(name)
        if os.path.exists(out) and os.path.getmtime(out) >= max(os.path.getmtime(d) for d in deps):
            continue
        cmd = ["nice", "-n", "19", CLANG] + CFLAGS + ["-fsanitize=fuzzer"] + SAN + [src] + objs + ["-o", out, "-lm"]
        if not quiet:
            print("build", name, flush=True)
        cbuild.run_checked(cmd, f"building harness {name}")


ASAN_DIR = os.path.join(BUILD, "asan")


def asan_runtime():
    """gcc's libasan and libubsan (the runtimes the ASan extension links
    against), to LD_PRELOAD into the unsanitized Python interpreter."""
    libs = []
    for lib in ("libasan.so", "libubsan.so"):
        out = subprocess.run(["gcc", f"-print-file-name={lib}"], capture_output=True, text=True).stdout.strip()
        if not os.path.isabs(out) or not os.path.exists(out):
            raise SystemExit(f"gcc has no {lib} (apt-get install gcc); needed for the ASan extension")
        libs.append(os.path.realpath(out))
    return libs


def build_asan(quiet=False):
    """Build pygru's extensions with -fsanitize=address,undefined (gcc) into
    build/fuzz/asan/pygru, beside symlinks to this tree's Python sources, so
    PYTHONPATH=build/fuzz/asan runs this pygru with sanitized C."""
    pkg = os.path.join(ASAN_DIR, "pygru")
    os.makedirs(pkg, exist_ok=True)
    src = os.path.join(ROOT, "pygru")
    for entry in os.listdir(src):
        if entry.endswith((".so", ".c", ".pyd")) or entry == "__pycache__":
            continue
        link = os.path.join(pkg, entry)
        if not os.path.lexists(link):
            os.symlink(os.path.join(src, entry), link)
    flags = "-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -g"
    e = dict(os.environ, CC="gcc", CFLAGS=flags, LDFLAGS=flags)
    cmd = ["nice", "-n", "19", sys.executable, "setup.py", "build_ext", "-b", ASAN_DIR,
           "-t", os.path.join(BUILD, "asan-tmp"), "-j", "2"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=e)
    if proc.returncode != 0:
        raise SystemExit(f"ASan build failed:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    if not quiet:
        print(f"ASan extension in {pkg} (LD_PRELOAD={':'.join(asan_runtime())})")


def command(name, args):
    """The command line that runs harness `name` with libFuzzer arguments `args`."""
    if name in C_HARNESSES:
        return ["nice", "-n", "19", c_binary(name)] + args
    return ["nice", "-n", "19", sys.executable, os.path.join(HERE, "pyharness.py"), name] + args


def env(asan=False):
    """The harnesses' environment; asan=True: the Python harnesses load the
    ASan extension (build_asan) with gcc's runtimes preloaded, so an invalid
    read or write in C aborts the run with a report and the input is kept."""
    e = dict(os.environ)
    e.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
    if asan:
        # CPython's own allocations are not leaks worth reporting here.
        e.setdefault("ASAN_OPTIONS", "abort_on_error=1:detect_leaks=0:allocator_may_return_null=1")
        e["LD_PRELOAD"] = " ".join(asan_runtime())
        e["PYTHONPATH"] = ASAN_DIR + os.pathsep + os.path.join(ROOT, "tools", "fuzz")
    else:
        e.setdefault("ASAN_OPTIONS", "abort_on_error=1:detect_leaks=1:allocator_may_return_null=1")
    return e


def run_one(name, seconds, max_len=8192, corpus_dir=None, crash_dir=None, also=(), asan=False):
    """Fuzz `name` for `seconds` (corpus seeded if empty, plus the inputs
    `also`; asan: the Python harnesses against the ASan extension); return
    (executions, crash files, output tail, exit status)."""
    corpus = corpus_dir or os.path.join(BUILD, "corpus", name)
    crashes = crash_dir or os.path.join(BUILD, "crashes", name)
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(crashes, exist_ok=True)
    if not os.listdir(corpus):
        from seeds import write_seeds
        write_seeds(name, corpus)
    for path in also:
        shutil.copy(path, corpus)
    before = set(os.listdir(crashes))
    args = [f"-max_total_time={int(seconds)}", f"-max_len={max_len}", "-timeout=30",
            "-rss_limit_mb=3072", "-print_final_stats=1", f"-artifact_prefix={crashes}/", corpus]
    proc = subprocess.run(command(name, args), capture_output=True, text=True,
                          env=env(asan and name in PY_HARNESSES), timeout=seconds + 300)
    out = proc.stdout + proc.stderr
    logs = os.path.join(BUILD, "logs")
    os.makedirs(logs, exist_ok=True)
    with open(os.path.join(logs, f"{name}-{int(time.time())}.log"), "w") as f:
        f.write(out)  # the whole libFuzzer output (coverage over time, final stats)
    m = re.search(r"Done (\d+) runs", out) or re.search(r"stat::number_of_executed_units:\s*(\d+)", out)
    execs = int(m.group(1)) if m else None
    if execs is None:
        last = re.findall(r"^#(\d+)\s", out, re.M)
        execs = int(last[-1]) if last else 0
    new = sorted(set(os.listdir(crashes)) - before)
    cov = re.findall(r"cov: (\d+) ft: (\d+)", out)
    if cov:
        out += f"\ncoverage: cov {cov[-1][0]} ft {cov[-1][1]} (libFuzzer edges / features)"
    return execs, [os.path.join(crashes, n) for n in new], out[-3000:], proc.returncode


def replay(name, files, asan=False):
    """Run harness `name` once over `files`; returns the CompletedProcess."""
    return subprocess.run(command(name, ["-runs=1"] + list(files)), capture_output=True, text=True,
                          env=env(asan and name in PY_HARNESSES), timeout=600)


def check(name, files):
    """Python harness `name` over `files` in this process, without atheris: the
    loader raises only its documented errors. Raises on the first bug."""
    from pyharness import check as check_one
    h = PY_HARNESSES[name]
    allowed, loader = h.allowed(), h.loader()
    for path in files:
        with open(path, "rb") as f:
            check_one(loader, f.read(), h.suffixes, allowed, h.must_name)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list").add_argument("--json", action="store_true", help="C and Python harness names")
    sub.add_parser("seeds")
    b = sub.add_parser("build")
    b.add_argument("names", nargs="*")
    b.add_argument("--check", action="store_true", help="only check that clang can build them")
    sub.add_parser("build-asan", help="the pygru extension with ASan + UBSan, for the Python harnesses")
    r = sub.add_parser("run")
    r.add_argument("names", nargs="*", help=f"harnesses (default all): {', '.join(ALL)}")
    r.add_argument("--time", type=float, default=60, help="seconds per harness (default 60)")
    r.add_argument("--max-len", type=int, default=8192)
    r.add_argument("--corpus", help="corpus folder (one harness; default build/fuzz/corpus/NAME)")
    r.add_argument("--crashes", help="crash folder (one harness; default build/fuzz/crashes/NAME)")
    r.add_argument("--also", nargs="*", default=[], help="inputs added to the corpus")
    r.add_argument("--asan", action="store_true",
                   help="Python harnesses against the ASan + UBSan extension (builds it first)")
    p = sub.add_parser("replay")
    p.add_argument("--asan", action="store_true")
    p.add_argument("name", choices=ALL)
    p.add_argument("files", nargs="+")
    c = sub.add_parser("check")
    c.add_argument("name", choices=list(PY_HARNESSES))
    c.add_argument("files", nargs="+")
    a = ap.parse_args(argv)
    if a.cmd == "list":
        print(json.dumps({"c": list(C_HARNESSES), "python": list(PY_HARNESSES)}) if a.json else "\n".join(ALL))
    elif a.cmd == "check":
        check(a.name, a.files)
    elif a.cmd == "seeds":
        from seeds import write_seeds
        for name in ALL:
            n = write_seeds(name, os.path.join(BUILD, "corpus", name))
            print(f"{name}: {n} seeds")
    elif a.cmd == "build":
        reason = can_build_c()
        if reason:
            raise SystemExit(reason)
        if not a.check:
            build(a.names or None)
    elif a.cmd == "build-asan":
        build_asan()
    elif a.cmd == "replay":
        if a.name in C_HARNESSES:
            build([a.name])
        elif a.asan:
            build_asan(quiet=True)
        proc = replay(a.name, a.files, a.asan)
        sys.stdout.write(proc.stdout + proc.stderr)
        return proc.returncode
    else:
        names = a.names or ALL
        if any(n in C_HARNESSES for n in names):
            reason = can_build_c()
            if reason:
                raise SystemExit(reason)
            build(names)
        if a.asan and any(n in PY_HARNESSES for n in names):
            build_asan(quiet=True)
        rows = []
        for name in names:
            t0 = time.time()
            execs, crashes, tail, rc = run_one(name, a.time, a.max_len, a.corpus, a.crashes, a.also,
                                               asan=a.asan)
            rows.append((name, time.time() - t0, execs, crashes, rc))
            cov = re.findall(r"coverage: .*", tail)
            print(f"{name:6s} {time.time() - t0:7.0f} s {execs:10d} execs  {len(crashes)} crash(es)"
                  + (f"  {cov[-1]}" if cov else "") + (f"  status {rc}" if rc and not crashes else "")
                  + "".join(f"\n       {c}" for c in crashes), flush=True)
            if crashes or rc:
                print(tail)
        return 1 if any(r[3] or r[4] for r in rows) else 0   # a crash, or a harness that failed
    return 0


if __name__ == "__main__":
    sys.exit(main())
