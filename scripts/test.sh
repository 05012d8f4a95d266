#!/usr/bin/env bash
# Installs dependencies, builds, and runs every test: unit tests, then lab
# tests (root, network namespaces). Lab tests fail rather than skip without
# root.
set -eu
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure "$@"
