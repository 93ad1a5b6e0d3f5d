"""Shared helpers and fixtures of the test suite.

Tests that need a tool, a package or a CPU feature call require_tool,
require_module, require_target or require_cpu: on a developer's machine a
missing need skips the test with the command that installs it; in CI (CI=true,
or PYGRU_REQUIRE_TARGETS=1 as .ci/run sets) it fails, so that a suite that
stopped testing something cannot pass quietly.
"""
import importlib
import importlib.util
import os
import shutil

import pytest

import pygru
from pygru.firmware import fwbuild

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TESTS = os.path.join(ROOT, "tests")
C_TESTS = os.path.join(TESTS, "c")          # the C test drivers


def pygru_env(**extra):
    """os.environ for a subprocess that must import the pygru these tests
    import (the checkout's in-place build, or an installed one), plus `extra`."""
    site = os.path.dirname(os.path.dirname(os.path.abspath(pygru.__file__)))
    return dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (site, os.environ.get("PYTHONPATH")) if p),
                **extra)


def _flag(name):
    return os.environ.get(name, "").strip().lower() not in ("", "0", "false", "no")


def strict():
    """True where a missing need must fail the test (CI) instead of skipping it."""
    return _flag("CI") or _flag("PYGRU_REQUIRE_TARGETS")


def missing(reason):
    """Skip (developer machine) or fail (CI) with `reason`, which should say
    how to install what is missing."""
    if strict():
        pytest.fail(f"{reason} [CI: a missing tool, package or CPU feature fails instead of skipping]")
    pytest.skip(reason)


def require_tool(name, install=None):
    """The path of program `name`, or missing() with its install command."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} not installed (install with: {install or 'apt-get install ' + name}; "
                ".ci/run installs it)")
    return path


def require_module(name, install=None):
    """The imported module `name` (as pytest.importorskip), or missing()."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing(f"{name} not importable ({exc}); install with: {install or 'pip install ' + name}")


def require_package(name, install=None):
    """missing() unless package `name` is installed; not imported here (Keras,
    for one, must see KERAS_BACKEND first, so its tests import it in a subprocess)."""
    if importlib.util.find_spec(name) is None:
        missing(f"{name} not installed; install with: {install or 'pip install ' + name}")


def require_target(target):
    """The firmware target's cross toolchain and QEMU, or missing()."""
    reason = fwbuild.skip_reason(target)
    if reason is not None:
        missing(reason)


def cpu_flags():
    """The feature flags of this CPU (/proc/cpuinfo), empty where unreadable."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def require_cpu(*features):
    """missing() unless this CPU has every one of `features` (e.g. "avx2")."""
    lacking = [f for f in features if f not in cpu_flags()]
    if lacking:
        missing(f"this CPU lacks {', '.join(lacking)}")


@pytest.fixture(scope="session")
def runtime_lib(tmp_path_factory):
    """runtime_lib(target): gru_c built once per target (-O3) for the session."""
    libs = {}

    def get(target):
        if target not in libs:
            out = tmp_path_factory.mktemp(f"lib-{target}")
            libs[target] = fwbuild.build_runtime_library(target, str(out), opt="-O3")
        return libs[target]
    return get
