"""README.md runs as written: every fenced code block, in order.

- ```python blocks run in one namespace, in a scratch directory, in the order
  they appear (a later block may use names and files an earlier one made);
- ```c blocks are compiled with gru_c's sources (and the headers the Python
  blocks exported into the scratch directory) and run; they must exit 0;
- ```sh blocks: each command line runs in the scratch directory, with the
  checkout's gru_c/, benchmarks/, examples/ and tools/ copied in beside it,
  and must exit 0. Two kinds of line are checked instead of run, because
  running them here would install into this very environment: `pip install`
  lines (their extras must exist in pyproject.toml) and the CI lines
  (`bash .ci/run` and the test command, which must be the one .ci/run runs).

A README block therefore cannot drift from the API: an undefined name, a
renamed argument or a C snippet that no longer compiles fails this test.
"""
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib

import pytest

from pygru.firmware.cbuild import C_SOURCES, build, run

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")
FENCE = re.compile(r"^```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)^```[ \t]*$", re.S | re.M)
KINDS = ("python", "c", "sh")


def readme_blocks(text=None):
    """[(kind, first line number, code)] of README's fenced blocks."""
    if text is None:
        with open(README, encoding="utf-8") as f:
            text = f.read()
    blocks = []
    for m in FENCE.finditer(text):
        line = text.count("\n", 0, m.start()) + 1
        blocks.append((m.group(1), line, m.group(2)))
    return blocks


def test_every_block_has_a_known_kind():
    blocks = readme_blocks()
    assert len(blocks) >= 10, "README.md lost its code blocks"
    unknown = [(line, kind) for kind, line, _ in blocks if kind not in KINDS]
    assert not unknown, f"README blocks without a runnable kind ({', '.join(KINDS)}): {unknown}"
    with open(README, encoding="utf-8") as f:
        text = f.read()
    # An indented (unfenced) code block would escape this test.
    outside = FENCE.sub(lambda m: "\n" * m.group(0).count("\n"), text)   # keep line numbers
    indented = [i + 1 for i, l in enumerate(outside.splitlines()) if l.startswith("    ") and l.strip()
                and not l.lstrip().startswith(("-", "*", "|"))]
    assert not indented, f"README lines indented as code outside a fenced block: {indented[:5]}"


def _ci_test_command():
    """The pytest line .ci/run ends with."""
    with open(os.path.join(ROOT, ".ci", "run"), encoding="utf-8") as f:
        lines = [l.strip() for l in f if l.strip() and not l.lstrip().startswith("#")]
    return lines[-1]


def _check_pip_line(words):
    """`pip install [-e] .[extras]`: every extra must be declared."""
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        extras = set(tomllib.load(f)["project"].get("optional-dependencies", {}))
    targets = [w for w in words[2:] if not w.startswith("-")]
    assert targets, f"pip line installs nothing: {words}"
    for t in targets:
        m = re.fullmatch(r"\.(?:\[([a-z,_-]+)\])?", t)
        if m is None:
            continue  # a third-party package: pip resolves it
        for extra in filter(None, (m.group(1) or "").split(",")):
            assert extra in extras, f"README installs extra {extra!r}, pyproject.toml has {sorted(extras)}"


def _commands(code):
    """Shell lines of a block, continuation lines joined, comments dropped."""
    joined = code.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip() if not line.strip().startswith("#") else ""
        if line:
            out.append(line)
    return out


def _run_sh_line(line, cwd, env):
    for part in [p.strip() for p in line.split("&&")]:
        words = shlex.split(part)
        if words[:2] == ["pip", "install"]:
            _check_pip_line(words)
            continue
        if words == ["bash", ".ci/run"]:
            assert os.path.isfile(os.path.join(ROOT, ".ci", "run"))
            continue
        if words[:3] == ["python", "-m", "pytest"]:
            assert part == _ci_test_command(), f"README's test command {part!r} is not .ci/run's"
            continue
        if words[0] == "python":
            words[0] = sys.executable
        proc = subprocess.run(words, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
        assert proc.returncode == 0, (f"README command failed ({proc.returncode}): {part}\n"
                                      f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    d = tmp_path_factory.mktemp("readme")
    for folder in ("gru_c", "benchmarks", "examples", "tools"):
        shutil.copytree(os.path.join(ROOT, folder), d / folder,
                        ignore=shutil.ignore_patterns("build*", "__pycache__", "*.o", "*.a"))
    return d


def test_readme_runs_as_written(scratch, monkeypatch):
    monkeypatch.chdir(scratch)
    env = dict(os.environ, PYGRU_README_TEST="1", MPLBACKEND="Agg")
    namespace = {"__name__": "__readme__"}
    for kind, line, code in readme_blocks():
        where = f"README.md line {line}"
        if kind == "python":
            exec(compile(code, where, "exec"), namespace)
        elif kind == "c":
            source = scratch / f"readme_{line}.c"
            source.write_text(code)
            exe = build([source] + C_SOURCES, scratch / f"readme_{line}", flags=["-I" + str(scratch), "-O1"])
            run([exe])  # asserts exit status 0 and shows the program's output if not
        else:
            for command in _commands(code):
                _run_sh_line(command, str(scratch), env)


def test_scripts_named_in_the_text_exist_and_start():
    """Inline mentions like `python benchmarks/bench_quant.py` or
    `python tools/footprint.py`: the script exists and its --help runs (it
    imports the installed package and parses its arguments)."""
    with open(README, encoding="utf-8") as f:
        text = f.read()
    scripts = sorted(set(re.findall(r"python ((?:benchmarks|tools)/[\w/]+\.py)", text)))
    assert len(scripts) >= 5, scripts
    for script in scripts:
        path = os.path.join(ROOT, script)
        assert os.path.isfile(path), f"README names {script}, which does not exist"
        proc = subprocess.run([sys.executable, path, "--help"], capture_output=True, text=True, timeout=120)
        assert proc.returncode == 0 and "usage" in proc.stdout.lower(), (script, proc.stdout, proc.stderr)
