#!/usr/bin/env bash
# The C++ tests again under AddressSanitizer and UndefinedBehaviorSanitizer (CI runs this).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
.venv/bin/cmake -S . -B build/sanitize -G Ninja -DCMAKE_MAKE_PROGRAM="$PWD/.venv/bin/ninja" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFUNNELKIT_BUILD_TESTS=ON -DFUNNELKIT_SANITIZE=ON -DFUNNELKIT_WERROR=ON \
  -DPython_EXECUTABLE="$PWD/.venv/bin/python" >/dev/null
.venv/bin/cmake --build build/sanitize
(cd build/sanitize && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 ../../.venv/bin/ctest --output-on-failure)
