# Cross toolchain for gru_c's firmware targets (bare metal, GCC).
#
#   cmake -DCMAKE_TOOLCHAIN_FILE=gru_c/cmake/gru-toolchain.cmake -DGRU_TARGET=cortex-m4f ..
#
# GRU_TARGET       CPU flags                                              C library
# cortex-m0        -mcpu=cortex-m0 -mthumb -mfloat-abi=soft               newlib
# cortex-m3        -mcpu=cortex-m3 -mthumb -mfloat-abi=soft               newlib
# cortex-m4f       -mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16
# cortex-m7        -mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16
# cortex-m55       -mcpu=cortex-m55 -mthumb -mfloat-abi=hard (Helium/MVE)
# rv32imac         -march=rv32imac -mabi=ilp32                            picolibc
# rv32imafc        -march=rv32imafc -mabi=ilp32f                          picolibc
# rv64gc           -march=rv64imafdc -mabi=lp64d                          picolibc
# The same table drives tools/firmware/fwbuild.py and gru_c/Makefile.

set(GRU_TARGET "" CACHE STRING "gru_c cross target (see gru-toolchain.cmake)")
# try_compile projects re-read this file: pass GRU_TARGET on to them.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES GRU_TARGET)

set(_gru_arm_targets cortex-m0 cortex-m3 cortex-m4f cortex-m7 cortex-m55)
set(_gru_rv_targets rv32imac rv32imafc rv64gc)

if(GRU_TARGET STREQUAL "cortex-m0")
  set(_gru_flags "-mcpu=cortex-m0 -mthumb -mfloat-abi=soft")
elseif(GRU_TARGET STREQUAL "cortex-m3")
  set(_gru_flags "-mcpu=cortex-m3 -mthumb -mfloat-abi=soft")
elseif(GRU_TARGET STREQUAL "cortex-m4f")
  set(_gru_flags "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
elseif(GRU_TARGET STREQUAL "cortex-m7")
  set(_gru_flags "-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16")
elseif(GRU_TARGET STREQUAL "cortex-m55")
  set(_gru_flags "-mcpu=cortex-m55 -mthumb -mfloat-abi=hard")
elseif(GRU_TARGET STREQUAL "rv32imac")
  set(_gru_flags "-march=rv32imac -mabi=ilp32 -mcmodel=medany --specs=picolibc.specs")
elseif(GRU_TARGET STREQUAL "rv32imafc")
  set(_gru_flags "-march=rv32imafc -mabi=ilp32f -mcmodel=medany --specs=picolibc.specs")
elseif(GRU_TARGET STREQUAL "rv64gc")
  set(_gru_flags "-march=rv64imafdc -mabi=lp64d -mcmodel=medany --specs=picolibc.specs")
else()
  message(FATAL_ERROR "GRU_TARGET='${GRU_TARGET}': expected one of "
                      "${_gru_arm_targets} ${_gru_rv_targets}")
endif()

set(CMAKE_SYSTEM_NAME Generic)
if(GRU_TARGET IN_LIST _gru_arm_targets)
  set(CMAKE_SYSTEM_PROCESSOR arm)
  set(_gru_prefix arm-none-eabi-)
else()
  set(CMAKE_SYSTEM_PROCESSOR riscv)
  set(_gru_prefix riscv64-unknown-elf-)
endif()

set(CMAKE_C_COMPILER ${_gru_prefix}gcc)
set(CMAKE_AR ${_gru_prefix}ar CACHE FILEPATH "")
# Bare metal: the compiler check links no executable.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_C_FLAGS_INIT "${_gru_flags} -ffunction-sections -fdata-sections")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
