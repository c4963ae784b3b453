"""The bare C++ loop of ``yardstick/bare_loop.cpp``: compiled at run time with the system's
``g++ -O2`` into the benchmark cache, fed the funnel's chain on stdin (see the file's header)."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
from _numpy_shop import Outcome, ShopArrays

__all__ = ["compile_bare_loop", "run_bare_loop"]

SOURCE = Path(__file__).resolve().parent / "yardstick" / "bare_loop.cpp"


def compile_bare_loop(cache: Path, compiler: str = "g++") -> Path | str:
    """Path of the compiled loop (reused while the source is unchanged), or why there is none."""
    found = shutil.which(compiler)
    if found is None:
        return f"no {compiler} on PATH"
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    binary = cache / f"bare_loop-{digest}"
    if binary.exists():
        return binary
    cache.mkdir(parents=True, exist_ok=True)
    partial = binary.with_suffix(".partial")
    done = subprocess.run([found, "-O2", "-std=c++17", "-o", str(partial), str(SOURCE)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return f"{compiler} failed: {done.stderr.strip()[:500]}"
    partial.rename(binary)
    return binary


def _chain_text(arrays: ShopArrays) -> str:
    if not arrays.exponential:
        raise ValueError("the bare loop draws exponential holding times: use an exponential funnel")
    lines = []
    for state in range(len(arrays.names)):
        if not arrays.transient[state]:
            lines.append(f"{1 if arrays.success[state] else 2} 0 0")
            continue
        row = np.diff(np.concatenate([[0.0], arrays.cumulative[state]]))
        to = np.flatnonzero(row > 0)
        cumulative = np.cumsum(row[to])
        cumulative[-1] = 1.0
        pairs = " ".join(f"{t} {c!r}" for t, c in zip(to.tolist(), cumulative.tolist(), strict=True))
        lines.append(f"0 {float(arrays.mean[state])!r} {len(to)} {pairs}")
    return "\n".join(lines)


def run_bare_loop(binary: Path, arrays: ShopArrays, leads: int, span: float, horizon: float,
                  seed: int = 0) -> Outcome:
    """Runs the loop: ``leads`` arriving evenly over [0, span), simulated until ``horizon``.
    ``seconds`` is the loop's own time (measured inside, without start-up and input)."""
    header = f"{len(arrays.names)} {arrays.entry} {leads} {float(span)!r} {float(horizon)!r} {seed}\n"
    done = subprocess.run([str(binary.resolve())], input=header + _chain_text(arrays) + "\n", capture_output=True,
                          text=True, check=True)
    result = json.loads(done.stdout)
    return Outcome(leads=result["leads"], transitions=result["transitions"], purchases=result["purchases"],
                   time_to_purchase=result["time_to_purchase"], seconds=result["seconds"])
