"""Print the include directories of the header-only C++ dependencies installed from PyPI.

CMake runs this with the build's Python so that `pip install .` needs nothing but pip:
Eigen comes from the ``cmeel-eigen`` wheel, Boost from ``boost-headers`` and nlohmann/json from
``nlohmann-json``. A package that is missing prints nothing; CMake then falls back to the
system (Debian) headers. Output: one ``name=path`` line per package found.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path


def _eigen() -> Path | None:
    # cmeel wheels unpack into <site-packages>/cmeel.prefix and ship no importable module.
    for entry in sys.path:
        candidate = Path(entry) / "cmeel.prefix" / "include" / "eigen3"
        if (candidate / "Eigen" / "Sparse").is_file():
            return candidate
    return None


def _package_include(module: str, probe: str) -> Path | None:
    # find_spec locates the package without importing it (nlohmann_json's __init__ has
    # runtime dependencies that a build environment does not need).
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / "include"
        if (candidate / probe).is_file():
            return candidate
    return None


def main() -> None:
    found = {
        "eigen": _eigen(),
        "boost": _package_include("boost_headers", "boost/graph/adjacency_list.hpp"),
        "nlohmann_json": _package_include("nlohmann_json", "nlohmann/json.hpp"),
    }
    for name, path in found.items():
        if path is not None:
            print(f"{name}={path.as_posix()}")


if __name__ == "__main__":
    main()
