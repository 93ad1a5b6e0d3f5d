# Cross toolchain for gru_c's firmware targets (bare metal, GCC), one file for
# all of them:
#
#   cmake -S app -B build -DGRU_TARGET=cortex-m4f \
#         -DCMAKE_TOOLCHAIN_FILE=/abs/path/to/gru_c/cmake/gru-toolchain.cmake
#
# (CMake looks for a relative CMAKE_TOOLCHAIN_FILE in the build directory and
# then in the source directory, not in the current one.) GRU_TARGET is one of
# the targets in ../targets.mk, the table that gru_c/Makefile and
# pygru/firmware/fwbuild.py read too: its CPU, FPU and ABI flags and C library
# specs go to C, C++ and assembly alike and so to the link (an RV32 .S
# assembled without them comes out ELF64, an Arm C++ object soft-float, an Arm
# .S ARMv4T code that faults on any Cortex-M).
#
# Also set, for applications that want them (the toolchain applies neither):
#   GRU_TARGET_LINK_FLAGS  link flags of a semihosted test image run under QEMU
#                          (-T cortexm.ld: add -L to pygru's firmware/ folder)
#   GRU_TARGET_QEMU        the QEMU program and machine for that image
#   GRU_TARGET_STARTUP     the startup source in pygru's firmware/ folder

set(GRU_TARGET "" CACHE STRING "gru_c cross target (see gru_c/targets.mk)")
# try_compile projects re-read this file: pass GRU_TARGET on to them.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES GRU_TARGET)

file(STRINGS "${CMAKE_CURRENT_LIST_DIR}/../targets.mk" _gru_table
     REGEX "^[A-Za-z0-9_.-]+ *=")
foreach(_gru_line IN LISTS _gru_table)
  string(REGEX MATCH "^([A-Za-z0-9_-]+)(\\.([a-z]+))? *= *(.*)$" _gru_match "${_gru_line}")
  string(STRIP "${CMAKE_MATCH_4}" _gru_value)
  set("_gru_${CMAKE_MATCH_1}.${CMAKE_MATCH_3}" "${_gru_value}")
endforeach()
separate_arguments(_gru_targets UNIX_COMMAND "${_gru_GRU_TARGETS.}")

if(NOT GRU_TARGET IN_LIST _gru_targets)
  message(FATAL_ERROR "GRU_TARGET='${GRU_TARGET}': expected one of ${_gru_GRU_TARGETS.}")
endif()
# The target's row `ARCH FPU | CPU | QEMU`: three columns.
string(REPLACE "|" ";" _gru_row "${_gru_${GRU_TARGET}.}")
list(GET _gru_row 0 _gru_arch)
list(GET _gru_row 1 _gru_cpu)
list(GET _gru_row 2 _gru_qemu)
separate_arguments(_gru_arch UNIX_COMMAND "${_gru_arch}")
list(GET _gru_arch 0 _gru_arch)
set(_gru_prefix "${_gru_${_gru_arch}.prefix}")

set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR ${_gru_arch})

set(CMAKE_C_COMPILER ${_gru_prefix}gcc)
set(CMAKE_CXX_COMPILER ${_gru_prefix}g++)
set(CMAKE_ASM_COMPILER ${_gru_prefix}gcc)
set(CMAKE_AR ${_gru_prefix}ar CACHE FILEPATH "")
set(CMAKE_OBJCOPY ${_gru_prefix}objcopy CACHE FILEPATH "")
set(CMAKE_SIZE ${_gru_prefix}size CACHE FILEPATH "")
# Bare metal: the compiler checks link no executable.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)

string(STRIP "${_gru_cpu}" _gru_cpu)
set(_gru_flags "${_gru_cpu} ${_gru_${_gru_arch}.specs}")
foreach(_gru_lang C CXX ASM)
  set(CMAKE_${_gru_lang}_FLAGS_INIT "${_gru_flags} -ffunction-sections -fdata-sections")
endforeach()
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--gc-sections")

set(GRU_TARGET_LINK_FLAGS "${_gru_${_gru_arch}.link}")
separate_arguments(GRU_TARGET_LINK_FLAGS UNIX_COMMAND "${GRU_TARGET_LINK_FLAGS}")
set(GRU_TARGET_QEMU "${_gru_qemu}")
separate_arguments(GRU_TARGET_QEMU UNIX_COMMAND "${GRU_TARGET_QEMU}")
set(GRU_TARGET_STARTUP "${_gru_${_gru_arch}.startup}")

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
