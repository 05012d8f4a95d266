# CMake toolchain file: cross-build for 64-bit Arm Linux (aarch64) with
# Debian's cross compiler (g++-aarch64-linux-gnu) against the sysroot that
# scripts/arm64/sysroot.sh makes (Debian 12's arm64 -dev packages of our
# dependencies, unpacked). scripts/arm64/build.sh uses it:
#
#   cmake -S . -B build-arm64 \
#     -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake \
#     -DPASTA_ARM64_SYSROOT=/srv/arm64/sysroot
#
# The test binaries cannot run on the build machine, so gtest_discover_tests
# lists their tests when ctest runs (on the arm64 machine), not after the
# build (its default).

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(PASTA_ARM64_SYSROOT "/srv/arm64/sysroot" CACHE PATH
    "arm64 sysroot made by scripts/arm64/sysroot.sh")
# try_compile projects get it too.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES PASTA_ARM64_SYSROOT)
if(NOT EXISTS "${PASTA_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu")
  message(FATAL_ERROR "no arm64 sysroot at ${PASTA_ARM64_SYSROOT}: "
                      "run scripts/arm64/sysroot.sh")
endif()

set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
set(CMAKE_SYSROOT "${PASTA_ARM64_SYSROOT}")
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)

# Libraries, headers and CMake packages come from the sysroot only; programs
# (pkg-config, the compiler) from the build machine.
set(CMAKE_FIND_ROOT_PATH "${PASTA_ARM64_SYSROOT}")
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config (libmnl, libpcap) reads the sysroot's .pc files and prefixes
# their paths with the sysroot.
set(ENV{PKG_CONFIG_LIBDIR}
    "${PASTA_ARM64_SYSROOT}/usr/lib/aarch64-linux-gnu/pkgconfig:${PASTA_ARM64_SYSROOT}/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_SYSROOT_DIR} "${PASTA_ARM64_SYSROOT}")
set(ENV{PKG_CONFIG_PATH} "")

set(CMAKE_GTEST_DISCOVER_TESTS_DISCOVERY_MODE PRE_TEST)
