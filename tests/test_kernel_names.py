"""`pygru info` reports the kernels gru_c actually runs (gru_kernel_name), and
they are the ones this CPU's features call for."""
import os
import platform
import subprocess
import sys

import pytest

from conftest import cpu_flags, pygru_env
from pygru import _core

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KNOWN = {"portable", "portable-avx2", "portable-avx512f", "avx2", "avx512-vnni", "arm-vmla", "arm-dsp", "helium"}


def test_kernel_names_are_known_kernels():
    names = _core.kernel_names()
    assert set(names) == {"float", "int8", "integer"}
    assert set(names.values()) <= KNOWN, names


def test_info_line_is_the_extensions_own_answer():
    env = pygru_env()
    out = subprocess.run([sys.executable, "-m", "pygru", "info"], capture_output=True, text=True, env=env,
                         check=True, timeout=300).stdout
    line = next(line for line in out.splitlines() if line.startswith("SIMD level:"))
    names = _core.kernel_names()
    want = f"float {names['float']}, int8 {names['int8']}, integer {names['integer']} ("
    assert line.split(":", 1)[1].strip().startswith(want), (line, names)
    assert ("chosen at load time" in line) == _core.kernels_dispatched(), line


def test_dispatch_build_picks_what_the_cpu_supports():
    """An x86-64 extension built with GRU_DISPATCH_X86 runs the best kernels
    /proc/cpuinfo allows."""
    if platform.machine() != "x86_64" or not os.path.exists("/proc/cpuinfo"):
        pytest.skip("the dispatch build exists on x86-64 Linux only")
    if not _core.kernels_dispatched():
        pytest.skip("this extension was built without GRU_DISPATCH_X86 (PYGRU_NO_DISPATCH=1)")
    flags, names = cpu_flags(), _core.kernel_names()
    if "avx512f" in flags:
        assert names["float"] == "portable-avx512f", names
    elif "avx2" in flags:
        assert names["float"] == "portable-avx2", names
    else:
        assert names["float"] == "portable", names
    if {"avx512_vnni", "avx512bw", "avx512vl"} <= flags:
        assert names["integer"] == "avx512-vnni", names
    elif "avx2" in flags:
        assert names["integer"] == "avx2", names
    else:
        assert names["integer"] == "portable", names
    assert names["int8"] == ("avx2" if "avx2" in flags else "portable"), names
