"""gru_c's CMake support used the way firmware projects use it.

- tests/cmake_app: an application with a startup file in assembly, C and C++
  sources and gru_c (copied into its tree) pulled in with add_subdirectory,
  configured with a relative toolchain path and no CMAKE_BUILD_TYPE, built for
  Cortex-M4F and RV32IMAFC and run under QEMU; its outputs equal Python's bit
  for bit.
- the Zephyr module (gru_c/zephyr) and the ESP-IDF component branch of
  gru_c/CMakeLists.txt, driven by stand-ins for the few Zephyr / ESP-IDF
  functions they call, with the Debian cross toolchains (no SDK here).
"""
import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from conftest import TESTS, require_target, require_tool
from pygru import _core, firmware
from pygru.firmware import cbuild, fwbuild

GRU_C = cbuild.GRU_C
APP = os.path.join(TESTS, "cmake_app")
TOOLCHAIN = os.path.join(GRU_C, "cmake", "gru-toolchain.cmake")
APP_INPUTS = np.array([-3.0, -0.75, 0.0, 0.3125, 2.5], np.float32)   # as in cmake_app/main.c


def cmake(args, cwd=None):
    proc = subprocess.run(["cmake"] + args, cwd=cwd, capture_output=True, text=True)
    assert proc.returncode == 0, f"$ cmake {' '.join(args)}\n{proc.stdout}\n{proc.stderr}"
    return proc


def copy_gru_c(dest):
    shutil.copytree(GRU_C, dest, ignore=shutil.ignore_patterns("build*", "*.o", "*.a"))


@pytest.mark.parametrize("target", ["cortex-m4f", "rv32imafc"])
def test_application_with_asm_startup_and_cxx_runs_under_qemu(target, tmp_path):
    require_target(target)
    require_tool("cmake")
    require_tool("make")
    t = fwbuild.get_target(target)
    require_tool(t.tool("g++"), t.install)
    app = tmp_path / "app"
    shutil.copytree(APP, app)
    copy_gru_c(app / "gru_c")
    # As a firmware project runs it: from the application, the toolchain path
    # relative to it (found in the source directory), no build type.
    cmake(["-S", ".", "-B", "build", "-DCMAKE_TOOLCHAIN_FILE=gru_c/cmake/gru-toolchain.cmake",
           f"-DGRU_TARGET={target}", "-DGRU_WERROR=ON", "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON",
           f"-DAPP_FIRMWARE_DIR={firmware.DIR}"], cwd=app)
    commands = json.loads((app / "build" / "compile_commands.json").read_text())
    by_file = {os.path.basename(c["file"]): c["command"] for c in commands}
    startup = "startup_cortexm.S" if t.arch == "arm" else "trap_riscv.S"
    for name in (startup, "activation.cpp", "main.c"):   # every language gets the CPU flags
        assert all(f in by_file[name].split() for f in t.cflags + t.specs), (name, by_file[name])
    runtime = [c["command"] for c in commands if os.sep + "src" + os.sep in c["file"]]
    assert runtime and all("-Os" in c.split() for c in runtime), runtime   # not -O0
    cmake(["--build", "build", "-j2"], cwd=app)
    res = fwbuild.run_image(target, str(app / "build" / "app"), timeout=30)
    assert not res.timed_out and res.returncode == 0, f"{target}: {res.returncode}\n{res.stdout}{res.stderr}"
    got = np.array([int(v, 16) for v in res.stdout.split()], np.uint32)
    want = (_core.activations(APP_INPUTS, "tanh") + _core.activations(APP_INPUTS, "sigmoid")).astype(np.float32)
    assert np.array_equal(got, want.view(np.uint32)), (got, want.view(np.uint32))


def test_toolchain_names_the_targets_on_a_bad_one(tmp_path):
    require_tool("cmake")
    proc = subprocess.run(["cmake", "-S", GRU_C, "-B", str(tmp_path), f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}",
                           "-DGRU_TARGET=cortex-m99"], capture_output=True, text=True)
    assert proc.returncode != 0
    message = " ".join(proc.stderr.split())
    assert ("GRU_TARGET='cortex-m99': expected one of " + " ".join(fwbuild.TARGETS)) in message, proc.stderr


ZEPHYR_STUBS = """\
# Stand-ins for the Zephyr build-system functions gru_c/zephyr/CMakeLists.txt
# calls, as Zephyr defines them (cmake/modules/extensions.cmake): every
# library links zephyr_interface, which carries zephyr_include_directories.
add_library(zephyr_interface INTERFACE)
macro(zephyr_library_named name)
  set(ZEPHYR_CURRENT_LIBRARY ${name})
  add_library(${name} STATIC "")
  target_link_libraries(${name} PUBLIC zephyr_interface)
endmacro()
macro(zephyr_library_sources)
  target_sources(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endmacro()
macro(zephyr_library_include_directories)
  target_include_directories(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endmacro()
macro(zephyr_library_compile_options)
  target_compile_options(${ZEPHYR_CURRENT_LIBRARY} PRIVATE ${ARGN})
endmacro()
function(zephyr_include_directories)
  target_include_directories(zephyr_interface INTERFACE ${ARGN})
endfunction()
"""

ESP_IDF_STUBS = """\
# Stand-in for ESP-IDF's idf_component_register as gru_c/CMakeLists.txt calls it.
function(idf_component_register)
  cmake_parse_arguments(C "" "" "SRCS;INCLUDE_DIRS;PRIV_INCLUDE_DIRS" ${ARGN})
  set(lib __idf_gru)
  add_library(${lib} STATIC ${C_SRCS})
  foreach(d ${C_INCLUDE_DIRS})
    target_include_directories(${lib} PUBLIC ${CMAKE_CURRENT_LIST_DIR}/${d})
  endforeach()
  foreach(d ${C_PRIV_INCLUDE_DIRS})
    target_include_directories(${lib} PRIVATE ${CMAKE_CURRENT_LIST_DIR}/${d})
  endforeach()
  set(COMPONENT_LIB ${lib} PARENT_SCOPE)
endfunction()
"""


def build_glue(tmp_path, target, body, library):
    """Configure and build a project whose CMakeLists.txt is `body` with the
    toolchain for `target`; returns the compile commands and the members of
    the static library `library`."""
    require_target(target)
    require_tool("cmake")
    require_tool("make")
    project = tmp_path / "project"
    project.mkdir()
    (project / "CMakeLists.txt").write_text(body)
    build = tmp_path / "build"
    cmake(["-S", str(project), "-B", str(build), f"-DCMAKE_TOOLCHAIN_FILE={TOOLCHAIN}",
           f"-DGRU_TARGET={target}", "-DCMAKE_EXPORT_COMPILE_COMMANDS=ON", "-DCMAKE_BUILD_TYPE=MinSizeRel"])
    cmake(["--build", str(build), "-j2"])
    commands = json.loads((build / "compile_commands.json").read_text())
    archives = [os.path.join(d, f) for d, _, fs in os.walk(build) for f in fs if f == library]
    assert len(archives) == 1, archives
    members = subprocess.run([fwbuild.get_target(target).tool("ar"), "t", archives[0]],
                             capture_output=True, text=True, check=True).stdout.split()
    return commands, members


def expected_members():
    return sorted(os.path.basename(s)[:-2] + ".c.obj" for s in cbuild.runtime_sources())


def test_zephyr_module_builds_gru_for_cortex_m4f(tmp_path):
    """gru_c/zephyr/CMakeLists.txt with CONFIG_GRU=y compiles every runtime
    source for the board's CPU with the bit-exactness flags and exports gru.h."""
    body = ("cmake_minimum_required(VERSION 3.13)\nproject(zephyr_app C)\n" + ZEPHYR_STUBS
            + "set(CONFIG_GRU y)\n"
            + f"add_subdirectory({os.path.join(GRU_C, 'zephyr')} gru)\n"
            + "get_target_property(incs zephyr_interface INTERFACE_INCLUDE_DIRECTORIES)\n"
            + 'file(WRITE ${CMAKE_BINARY_DIR}/includes.txt "${incs}")\n')
    commands, members = build_glue(tmp_path, "cortex-m4f", body, "libgru.a")
    assert sorted(members) == expected_members(), members
    for c in commands:
        flags = c["command"].split()
        assert "-mcpu=cortex-m4" in flags and "-mfpu=fpv4-sp-d16" in flags, c["command"]
        assert "-ffp-contract=off" in flags, c["command"]
    includes = (tmp_path / "build" / "includes.txt").read_text()
    assert os.path.isfile(os.path.join(includes.split(";")[0], "gru.h")), includes


def test_zephyr_module_files_name_the_cmake_and_kconfig():
    zephyr = os.path.join(GRU_C, "zephyr")
    text = open(os.path.join(zephyr, "module.yml")).read()
    assert "cmake: zephyr" in text and "kconfig: zephyr/Kconfig" in text, text
    assert "config GRU\n" in open(os.path.join(zephyr, "Kconfig")).read()
    assert "if(CONFIG_GRU)" in open(os.path.join(zephyr, "CMakeLists.txt")).read()


def test_esp_idf_component_builds_gru_for_riscv(tmp_path):
    """The ESP_PLATFORM branch of gru_c/CMakeLists.txt registers every runtime
    source as a component compiled with -std=c99 -ffp-contract=off (ESP32-C3
    class RISC-V, here with the RV32IMAC toolchain)."""
    body = ("cmake_minimum_required(VERSION 3.13)\nproject(idf_app C)\n" + ESP_IDF_STUBS
            + "set(ESP_PLATFORM 1)\n" + f"add_subdirectory({GRU_C} gru)\n")
    commands, members = build_glue(tmp_path, "rv32imac", body, "lib__idf_gru.a")
    assert sorted(members) == expected_members(), members
    for c in commands:
        flags = c["command"].split()
        assert {"-std=c99", "-ffp-contract=off", "-march=rv32imac"} <= set(flags), c["command"]
