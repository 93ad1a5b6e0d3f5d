"""What a pip install ships: the firmware support files the demo's Cortex-M4F
step and pygru.firmware.fwbuild need, the target table, the LICENSE, one
extension module, one version. (A wheel built from pyproject.toml contains
what its patterns match; these tests check the patterns against the files, and
that the files found through the imported package work.)"""
import fnmatch
import glob
import os
import re

import pytest

import pygru
from conftest import ROOT, missing, require_target
from pygru import firmware
from pygru.firmware import cbuild, fwbuild


def _pyproject():
    try:
        import tomllib
    except ImportError:
        missing("Python >= 3.11 reads pyproject.toml with tomllib")
    with open(os.path.join(ROOT, "pyproject.toml"), "rb") as f:
        return tomllib.load(f)


def test_firmware_files_match_the_package_data_patterns():
    patterns = _pyproject()["tool"]["setuptools"]["package-data"]["pygru"]
    names = firmware.files()
    assert {"startup_cortexm.c", "cortexm.ld", "trap_riscv.c", "insn_count.c", "gru_infer.c"} <= set(names)
    for name in names:
        assert any(fnmatch.fnmatch(f"firmware/{name}", p) for p in patterns), (name, patterns)
    manifest = open(os.path.join(ROOT, "MANIFEST.in")).read()
    assert "include pygru/firmware/*.c pygru/firmware/*.ld" in manifest


def test_every_target_names_a_startup_file_that_ships():
    for t in fwbuild.TARGETS.values():
        assert os.path.dirname(fwbuild.startup_sources(t)[0]) == firmware.DIR
        assert t.startup in firmware.files(), t
    assert os.path.isfile(firmware.path("cortexm.ld"))
    with pytest.raises(FileNotFoundError, match="name: expected a file of pygru/firmware"):
        firmware.path("nope.ld")


def test_target_table_is_the_one_read_by_make_cmake_and_fwbuild():
    table = os.path.join(cbuild.GRU_C, "targets.mk")
    assert fwbuild.TABLE == table
    assert "include $(dir $(lastword $(MAKEFILE_LIST)))targets.mk" in open(
        os.path.join(cbuild.GRU_C, "Makefile")).read()
    assert '"${CMAKE_CURRENT_LIST_DIR}/../targets.mk"' in open(
        os.path.join(cbuild.GRU_C, "cmake", "gru-toolchain.cmake")).read()
    assert list(fwbuild.TARGETS) == ["cortex-m0", "cortex-m3", "cortex-m4f", "cortex-m7", "cortex-m55",
                                     "rv32imac", "rv32imafc", "rv64gc"]
    assert "*.mk" in open(os.path.join(ROOT, "MANIFEST.in")).read()


def test_bad_target_table_lines_are_named(tmp_path):
    bad = tmp_path / "targets.mk"
    bad.write_text("GRU_TARGETS = a\na = arm sp | q\n")
    with pytest.raises(ValueError, match=r"target a: expected a row NAME = ARCH FPU \| CPU \| QEMU, got a = arm sp \| q"):
        fwbuild.read_table(str(bad))
    bad.write_text("GRU_TARGETS = b\na = arm sp | -mthumb | q\n")
    with pytest.raises(ValueError, match=r"target b: expected a row .*, got b = $"):
        fwbuild.read_table(str(bad))
    bad.write_text("GRU_TARGETS = a\na = arm | -mthumb | q\n")
    with pytest.raises(ValueError, match=r"target a: expected a row"):
        fwbuild.read_table(str(bad))
    bad.write_text("GRU_TARGETS = a\na = arm sp | -mthumb | q\narm.libc = newlib\n")
    with pytest.raises(ValueError, match="architecture arm: expected fields .* missing prefix, specs"):
        fwbuild.read_table(str(bad))
    bad.write_text("GRU_TARGETS = a\nthis is not a line\n")
    with pytest.raises(ValueError, match=r"targets.mk:2: expected ARCH.FIELD = value or NAME = ARCH FPU"):
        fwbuild.read_table(str(bad))


def test_firmware_image_builds_and_runs_from_the_package_files(tmp_path):
    """The files found through the imported package (not a checkout's tools/)
    build an image that runs: the demo's Cortex-M4F step needs nothing more."""
    require_target("cortex-m4f")
    src = tmp_path / "hello.c"
    src.write_text('#include <stdio.h>\n#include "gru.h"\nint main(void)\n{\n'
                   '    printf("%d\\n", (int)(gru_tanh(10.0f) * 1000.0f));\n    return 0;\n}\n')
    res = fwbuild.build_and_run("cortex-m4f", [str(src)], timeout=30)
    assert (res.returncode, res.stdout, res.timed_out) == (0, "1000\n", False), res.stderr


def test_license_in_repository_and_distributions():
    text = open(os.path.join(ROOT, "LICENSE")).read()
    assert text.startswith("MIT License") and "pygru contributors" in text
    project = _pyproject()["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    assert re.search(r"^include .*\bLICENSE\b", open(os.path.join(ROOT, "MANIFEST.in")).read(), re.M)


def test_version_is_stated_once():
    config = _pyproject()
    assert "version" not in config["project"] and "version" in config["project"]["dynamic"]
    assert config["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "pygru._version.__version__"}
    from pygru import _version
    assert pygru.__version__ == _version.__version__


def test_one_extension_module_links_the_c_core():
    package = os.path.dirname(pygru.__file__)
    modules = sorted(os.path.basename(p) for p in glob.glob(os.path.join(package, "*.so"))
                     + glob.glob(os.path.join(package, "*.pyd")))
    assert len(modules) == 1 and modules[0].startswith("_core."), modules
    from pygru import _core
    assert _core.Q8Model and _core.QIModel and _core.Trainer and _core.NativeModel
