"""Full funnel analysis: funnelkit against the plain NumPy and SciPy way, in one run.

For each size a random sparse funnel with loops is built; every contender computes the same
quantities from the same transition matrix: absorption probabilities, success probability,
expected steps, expected time, stage values and the probability of ever reaching each stage
(the last needs diag((I - Q)^-1)). Times are the best of several runs; ratios are
contender / funnelkit (higher means funnelkit is faster).

    python benchmarks/bench_analytics.py            # 10 ... 10,000 stages, a minute or two
    python benchmarks/bench_analytics.py --large    # adds 30,000 stages
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from tqdm import tqdm

import funnelkit as fk

DENSE_LIMIT = 2_000  # dense inversion is O(n^3): minutes and gigabytes beyond this


def random_funnel(n: int, seed: int = 0) -> fk.Funnel:
    """A product-level funnel: each stage leads to a few later ones, some back (loops)."""
    rng = np.random.default_rng(seed)
    f = fk.Funnel(f"random {n}")
    for i in range(n):
        f.add_stage(f"s{i}", holding=fk.Exponential(mean=float(rng.uniform(0.5, 5))), value=float(rng.uniform(0, 5)))
    f.add_stage("paid", "success", value=50.0)
    f.add_stage("lost", "failure")
    for i in range(n):
        targets = {int(t) for t in rng.integers(i + 1, i + 20, size=3) if t < n}
        if i > 5 and rng.random() < 0.2:
            targets.add(int(rng.integers(max(0, i - 50), i)))
        weights = rng.dirichlet(np.ones(len(targets) + 3))
        for target, w in zip(sorted(targets), weights, strict=False):
            f.add_edge(f"s{i}", f"s{target}", float(w) * 0.9)
        f.add_edge(f"s{i}", "paid", float(weights[-1]) * 0.1)
        f.add_edge(f"s{i}", "lost", float(weights[-2]) * 0.1)
    return f


def matrices(f: fk.Funnel) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray, int]:
    """Q (transient block), R (to absorbing), mean holding times and entry values."""
    p = f.transition_matrix()
    kinds = [s.kind for s in f.stages] + ["failure"] * (len(p) - len(f))
    transient = np.array([k == "transient" for k in kinds])
    dense = p.to_numpy()
    q = sp.csr_matrix(dense[np.ix_(transient, transient)])
    r = dense[np.ix_(transient, ~transient)]
    holding = np.array([s.holding.mean() for s in f.stages if s.kind == "transient"])
    values = np.array([s.value for s in f.stages] + [0.0] * (len(p) - len(f)))
    success_col = next(i for i, k in enumerate(k for k in kinds if k != "transient") if k == "success")
    return q, r, holding, dense[transient] @ values, success_col


def numpy_dense(q: sp.csr_matrix, r: np.ndarray, h: np.ndarray, immediate: np.ndarray, win: int) -> np.ndarray:
    n = np.linalg.inv(np.eye(q.shape[0]) - q.toarray())
    b = n @ r
    steps, time_, value = n @ np.ones(q.shape[0]), n @ h, n @ immediate
    reach = n[0] / np.diag(n)
    return np.concatenate([b[:, win], steps, time_, value, reach])


def scipy_sparse(q: sp.csr_matrix, r: np.ndarray, h: np.ndarray, immediate: np.ndarray, win: int) -> np.ndarray:
    lu = spla.splu(sp.identity(q.shape[0], format="csc") - q.tocsc())
    b = lu.solve(r)
    steps, time_, value = lu.solve(np.ones(q.shape[0])), lu.solve(h), lu.solve(immediate)
    visits = lu.solve(np.eye(q.shape[0], 1).ravel(), trans="T")
    diagonal = np.empty(q.shape[0])
    unit = np.zeros(q.shape[0])
    for k in range(q.shape[0]):  # diag(N) column by column: the plain way to get reach
        unit[k] = 1.0
        diagonal[k] = lu.solve(unit)[k]
        unit[k] = 0.0
    return np.concatenate([b[:, win], steps, time_, value, visits / diagonal])


def funnelkit_result(f: fk.Funnel) -> np.ndarray:
    table = f.analyze().stages().to_pandas()
    t = table[table["kind"] == "transient"]
    return np.concatenate(
        [t["success_probability"], t["expected_steps"], t["expected_time"], t["expected_value"], t["reached"]]
    )


def best_time(run: Callable[[], object], budget: float = 2.0, max_repeats: int = 20) -> float:
    best, spent, repeats = float("inf"), 0.0, 0
    while repeats < max_repeats and (repeats < 2 or spent < budget):
        start = time.perf_counter()
        run()
        elapsed = time.perf_counter() - start
        best, spent, repeats = min(best, elapsed), spent + elapsed, repeats + 1
    return best


def measure(n: int) -> tuple[int, float, float, float, float, float]:
    f = random_funnel(n)
    inputs = matrices(f)
    ours = funnelkit_result(f)
    t_ours = best_time(lambda: f.copy().analyze())  # copy: no cached compilation
    t_scipy = best_time(lambda: scipy_sparse(*inputs), max_repeats=5)
    err_scipy = float(np.max(np.abs(scipy_sparse(*inputs) - ours)))
    t_numpy = err_numpy = float("nan")
    if n <= DENSE_LIMIT:
        t_numpy = best_time(lambda: numpy_dense(*inputs), max_repeats=5)
        err_numpy = float(np.max(np.abs(numpy_dense(*inputs) - ours)))
    return n, t_ours, t_numpy, t_scipy, err_numpy, err_scipy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--large", action="store_true", help="also run 30,000 stages")
    args = parser.parse_args()
    sizes = [10, 100, 1_000, 10_000] + ([30_000] if args.large else [])
    rows = [measure(n) for n in tqdm(sizes, desc="funnel sizes", unit="size")]
    print(
        f"\n{'stages':>7} {'funnelkit':>11} {'numpy dense':>12} {'ratio':>7} {'scipy sparse':>13} {'ratio':>7}"
        f" {'max |diff|':>11}"
    )
    for n, ours, dense, sparse, e1, e2 in rows:
        skipped = f"{'(skipped)':>12} {'':>7}"
        dense_text = f"{dense * 1e3:10.2f}ms {dense / ours:6.1f}x" if np.isfinite(dense) else skipped
        print(
            f"{n:>7} {ours * 1e3:9.2f}ms {dense_text} {sparse * 1e3:11.2f}ms {sparse / ours:6.1f}x"
            f" {np.nanmax([e1, e2]):11.1e}"
        )
    print("\nfunnelkit: Funnel.analyze() end to end (validation, compilation, all analytics, tables).")
    print(f"numpy dense: np.linalg.inv of I - Q (skipped above {DENSE_LIMIT:,} stages: O(n^3) time, O(n^2) memory).")
    print("scipy sparse: splu of I - Q, then solves; diag((I - Q)^-1) column by column for the reach.")


if __name__ == "__main__":
    main()
