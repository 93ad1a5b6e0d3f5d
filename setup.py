"""Build the pygru extension from the portable C core in gru_c/.

Flags (why each one, see README "Bit-identical results"):
  -O3                 the kernels are written for the auto-vectorizer
  -fno-wrapv          Python's sysconfig CFLAGS add -fwrapv, which blocks loop
                      optimisations (1.2-2.4x slower here); it must come after them
  -ffp-contract=off   no fused multiply-adds, so the host computes what Cortex-M
                      and RISC-V builds compute, bit for bit
  -g1                 minimal debug information: Python's sysconfig CFLAGS add
                      -g, which makes the wheel several times larger; -g1 keeps
                      the compiler's record of the flags that `pygru info`
                      reads (PYGRU_DEBUG=1 keeps full -g)
Never -march=native: wheels run anywhere. On x86-64 Linux the C core is built
with GRU_DISPATCH_X86, which compiles the step kernel for baseline x86-64 and
for AVX2 and lets the loader pick (same source, same results).
Set PYGRU_NO_DISPATCH=1 to build the baseline kernel only.

One extension module, pygru._core: _core.pyx includes the quantized and
training bindings (_quant.pxi, _train.pxi), so the wheel links the C core once.
"""
import os
import platform
import shutil
import sys
from glob import glob

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
C_SOURCES = sorted(glob("gru_c/src/**/*.c", recursive=True))

extra_compile_args = []
define_macros = [("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
if sys.platform != "win32":
    extra_compile_args = ["-O3", "-fno-wrapv", "-ffp-contract=off", "-fno-math-errno"]
    if os.environ.get("PYGRU_DEBUG", "") in ("", "0"):
        extra_compile_args.append("-g1")
    dispatch = (platform.machine().lower() in ("x86_64", "amd64")
                and sys.platform.startswith("linux")
                and os.environ.get("PYGRU_NO_DISPATCH", "") in ("", "0"))
    if dispatch:
        define_macros.append(("GRU_DISPATCH_X86", "1"))


extension = Extension(
    "pygru._core",
    sources=["pygru/_core.pyx"] + C_SOURCES,
    depends=sorted(glob("pygru/*.pxi") + glob("pygru/*.pxd")),
    include_dirs=["gru_c/include", "gru_c/src", np.get_include()],
    define_macros=define_macros,
    extra_compile_args=extra_compile_args,
)


class build_py_with_c_sources(build_py):
    """Ship gru_c/ inside the package (pygru/gru_c) so that firmware builds can
    use the installed copy: pygru.c_include_dir(), pygru.c_source_dir()."""

    def run(self):
        super().run()
        target = os.path.join(self.build_lib, "pygru", "gru_c")
        if os.path.isdir(target):
            shutil.rmtree(target)
        shutil.copytree(os.path.join(HERE, "gru_c"), target,
                        ignore=shutil.ignore_patterns("build*", "*.o", "*.a"))


setup(
    ext_modules=cythonize([extension], language_level=3,
                          compiler_directives={"embedsignature": True}),
    cmdclass={"build_py": build_py_with_c_sources},
)
