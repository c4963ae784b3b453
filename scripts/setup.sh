#!/usr/bin/env bash
# Installs everything funnelkit needs into ./.venv and (re)builds the package there.
# Idempotent: a second run only rebuilds what changed. Fails loudly when something cannot be
# installed. Usage: scripts/setup.sh [--tests] [--bench]
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
extras="plot"
for arg in "$@"; do
  case "$arg" in
    --tests) want_tests=1; extras="plot,test" ;;
    --bench) extras="plot,bench" ;;
    *) echo "setup.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

die() { echo "funnelkit setup: $*" >&2; exit 1; }

apt_install() {
  # Debian packages, only for what PyPI does not provide (a compiler, GoogleTest).
  command -v apt-get >/dev/null || die "need $* but apt-get is not available; install them by hand"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "funnelkit setup: apt-get install $*"
  $sudo apt-get install -y -q "$@" >/dev/null 2>&1 ||
    { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q "$@" >/dev/null; } ||
    die "apt-get could not install: $*"
}

python=${PYTHON:-python3}
command -v "$python" >/dev/null || die "python3 (3.10 or newer) is required"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' || die "python 3.10 or newer is required"
command -v g++ >/dev/null || apt_install g++
g++ -std=c++20 -x c++ -fsyntax-only - <<<'#include <span>
int main() {}' 2>/dev/null || die "g++ with C++20 support (GCC 12 or newer) is required"
if [ "$want_tests" = 1 ] && [ ! -f /usr/include/gtest/gtest.h ]; then
  apt_install libgtest-dev
fi

if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv || die "could not create the virtual environment .venv (apt-get install python3-venv?)"
fi
pip_quietly() {
  # Some machines point pip at local mirror folders that may not exist; that warning is noise.
  .venv/bin/python -m pip --disable-pip-version-check -q "$@" 2>&1 | grep -v "^WARNING: Location 'file:"
  return "${PIPESTATUS[0]}"
}
# Build requirements come from pyproject.toml (one list to keep up to date), plus the tools
# scikit-build-core would otherwise fetch for an isolated build.
mapfile -t build_requires < <(.venv/bin/python - <<'PY'
import tomllib
with open("pyproject.toml", "rb") as f:
    print("\n".join(tomllib.load(f)["build-system"]["requires"]))
PY
)
pip_quietly install "${build_requires[@]}" "cmake>=3.24" ninja || die "pip could not install the build requirements"
# No build isolation: the build tree in build/ is reused, so rebuilds are incremental.
FUNNELKIT_WERROR=${FUNNELKIT_WERROR:-ON} pip_quietly install --no-build-isolation ".[${extras}]" ||
  die "building or installing funnelkit failed (see the compiler output above)"
echo "funnelkit setup: ready ($(.venv/bin/python -c 'import funnelkit; print("funnelkit", funnelkit.__version__)'))"
