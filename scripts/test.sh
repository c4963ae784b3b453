#!/usr/bin/env bash
# The whole test suite: the C++ engine under GoogleTest (ctest), then pytest (API, numbers
# against NumPy/SciPy, doctests, notebooks), then mypy on the typed package.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests

echo "== C++ engine tests (GoogleTest) =="
.venv/bin/cmake -S . -B build/cpp-tests -G Ninja -DCMAKE_MAKE_PROGRAM="$PWD/.venv/bin/ninja" \
  -DFUNNELKIT_BUILD_TESTS=ON -DFUNNELKIT_WERROR=ON -DPython_EXECUTABLE="$PWD/.venv/bin/python" >/dev/null
.venv/bin/cmake --build build/cpp-tests
(cd build/cpp-tests && ../../.venv/bin/ctest --output-on-failure)

echo "== Python tests (pytest) =="
.venv/bin/python -m pytest

echo "== Type check (mypy --strict) =="
.venv/bin/python -m mypy
