#!/usr/bin/env bash
# Installs everything funnelkit needs into ./.venv and (re)builds the package there.
# Idempotent and quick when nothing changed: a stamp in .venv records a hash of the build
# inputs (every file under cpp/, cmake/, python/funnelkit/, tracked or not, plus pyproject.toml,
# CMakeLists.txt, README.md and this script) and the extras installed; the pip steps run only
# when that hash changed, the stamp is missing, the extras are new or funnelkit does not import.
# Every step that fails stops the script with a message naming that step.
# Usage: scripts/setup.sh [--tests] [--bench]     (PYTHON=python3.X picks the interpreter)
set -euo pipefail
cd "$(dirname "$0")/.."

want_tests=0
extras="plot"
for arg in "$@"; do
  case "$arg" in
    --tests) want_tests=1; extras="$extras,test" ;;
    --bench) extras="$extras,bench" ;;
    *) echo "setup.sh: unknown option $arg (expected --tests or --bench)" >&2; exit 2 ;;
  esac
done

die() { echo "funnelkit setup: $*" >&2; exit 1; }
say() { echo "funnelkit setup: $*"; }

apt_install() {
  # Debian packages, only for what PyPI does not provide (a compiler, GoogleTest, venv).
  command -v apt-get >/dev/null || die "need $* but apt-get is not available; install them by hand"
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  say "apt-get install $*"
  $sudo apt-get install -y -q "$@" >/dev/null 2>&1 ||
    { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q "$@" >/dev/null; } ||
    die "apt-get could not install: $*"
}

# -- prerequisites outside PyPI -------------------------------------------------------------
python=${PYTHON:-python3}
command -v "$python" >/dev/null || die "python3 (3.10 or newer) is required; '$python' was not found"
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
  die "python 3.10 or newer is required; '$python' is $("$python" -V 2>&1)"
command -v g++ >/dev/null || apt_install g++
g++ -std=c++20 -x c++ -fsyntax-only - <<<'#include <span>
int main() {}' 2>/dev/null || die "g++ with C++20 support (GCC 12 or newer) is required"
if [ "$want_tests" = 1 ] && [ ! -f /usr/include/gtest/gtest.h ]; then
  apt_install libgtest-dev
fi

# -- is the installed build current? --------------------------------------------------------
stamp=.venv/funnelkit-setup.stamp
fresh_venv=0
if [ -n "${PYTHON:-}" ] && [ -x .venv/bin/python ] && [ "$(.venv/bin/python -V 2>&1)" != "$("$python" -V 2>&1)" ]; then
  say ".venv has $(.venv/bin/python -V 2>&1) but PYTHON is $("$python" -V 2>&1): making .venv afresh"
  fresh_venv=1
  rm -f "$stamp"
fi
inputs_hash() {
  # Names and contents of every file the build reads, new untracked ones included.
  local listing
  listing=$(find pyproject.toml CMakeLists.txt README.md cmake cpp python/funnelkit \
    scripts/setup.sh scripts/build_requires.py \
    \( -name __pycache__ -o -name .ipynb_checkpoints -o -name '*.pyc' -o -name '*.so' \) -prune \
    -o -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) || return 1
  printf '%s\nFUNNELKIT_WERROR=%s\n' "$listing" "${FUNNELKIT_WERROR:-ON}" | sha256sum | cut -d' ' -f1
}
inputs=$(inputs_hash) || die "could not hash the build inputs (find or sha256sum failed, see above)"
stamped_inputs="" stamped_extras=""
if [ -f "$stamp" ]; then
  stamped_inputs=$(sed -n 's/^inputs //p' "$stamp")
  stamped_extras=$(sed -n 's/^extras //p' "$stamp")
fi
# The extras wanted now and those installed before (they stay installed across rebuilds).
union_extras() { printf '%s,%s' "$extras" "$stamped_extras" | tr , '\n' | sed '/^$/d' | LC_ALL=C sort -u | paste -sd, -; }
all_extras=$(union_extras)

funnelkit_version() { .venv/bin/python -c 'import funnelkit; print(funnelkit.__version__)'; }
if [ "$inputs" = "$stamped_inputs" ] && [ "$all_extras" = "$stamped_extras" ]; then
  if version=$(funnelkit_version 2>/dev/null); then
    say "ready (funnelkit $version, up to date)"
    exit 0
  fi
  say "funnelkit does not import from .venv; reinstalling"
fi

# -- virtual environment ---------------------------------------------------------------------
if [ "$fresh_venv" = 1 ] || ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  # Missing, or left half-made by an earlier failure (no pip): make it afresh.
  say "creating the virtual environment .venv"
  if ! "$python" -c 'import ensurepip' 2>/dev/null && [[ "$(command -v "$python")" == /usr/bin/* ]]; then
    apt_install "$("$python" -c 'import sys; print(f"python{sys.version_info[0]}.{sys.version_info[1]}-venv")')"
  fi
  "$python" -m venv --clear .venv || die "could not create the virtual environment .venv with $python (see above)"
  stamped_extras="" && all_extras=$(union_extras) # a new environment has no extras yet
fi

pip_quietly() {
  # Some machines point pip at local mirror folders that may not exist; that warning is noise.
  # pip's output goes through a file, so its exit status is the function's, whatever grep finds.
  local log status=0
  log=$(mktemp) || die "mktemp failed"
  .venv/bin/python -m pip --disable-pip-version-check -q "$@" >"$log" 2>&1 || status=$?
  grep -v "^WARNING: Location 'file:" "$log" >&2 || true
  rm -f "$log"
  return "$status"
}

# -- build requirements and the package ------------------------------------------------------
# From here on the installed build is not known to match the sources; the extras installed
# before stay installed whatever happens next.
printf 'inputs unknown\nextras %s\n' "$stamped_extras" >"$stamp" || die "could not write $stamp"
# One list to keep up to date (pyproject.toml), plus the tools scikit-build-core would
# otherwise fetch for an isolated build.
requires_text=$(.venv/bin/python scripts/build_requires.py pyproject.toml) ||
  die "could not read [build-system] requires from pyproject.toml (see above)"
mapfile -t build_requires <<<"$requires_text"
say "installing the build requirements: ${build_requires[*]} cmake ninja"
pip_quietly install "${build_requires[@]}" "cmake>=3.24" ninja || die "pip could not install the build requirements (see above)"
say "building and installing funnelkit[$extras] (incremental: seconds to a minute; a first build about two)"
# No build isolation: the build tree in build/ is reused, so rebuilds are incremental.
FUNNELKIT_WERROR=${FUNNELKIT_WERROR:-ON} pip_quietly install --no-build-isolation ".[${extras}]" ||
  die "pip could not build or install funnelkit[$extras] (compiler or pip output above)"
version=$(funnelkit_version) || die "funnelkit was installed but 'import funnelkit' fails in .venv"
{ printf 'inputs %s\nextras %s\n' "$inputs" "$all_extras" >"$stamp.tmp" && mv "$stamp.tmp" "$stamp"; } ||
  die "could not write $stamp"
say "ready (funnelkit $version)"
