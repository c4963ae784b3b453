"""Learned scorer: fk.LogisticRegression against scikit-learn's LogisticRegression, same data.

Purchase-like data (1-3% positives) with correlated features; each contender fits the same
L2 model (C=1). Prints fit times, the ratio contender / funnelkit and the largest coefficient
difference from a tightly converged reference (scikit-learn newton-cholesky, tol 1e-10).

    .venv/bin/python benchmarks/bench_logistic.py [--rows 1000000] [--features 30]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--features", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    from scipy.special import expit
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression as SkLogisticRegression

    import funnelkit as fk

    rng = np.random.default_rng(args.seed)
    n, p = args.rows, args.features
    x = np.asfortranarray(0.6 * rng.normal(size=(n, 1)) + rng.normal(size=(n, p)))
    beta = rng.normal(scale=0.3, size=p)
    y = (rng.random(n) < expit(-4.5 + x @ beta)).astype(np.int64)
    print(f"{n:,} rows x {p} features, {y.mean():.2%} positives, {os.cpu_count()} cores")

    def timed(label: str, make: object) -> tuple[float, np.ndarray]:
        model = make()  # type: ignore[operator]
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(x, y)
            seconds = time.perf_counter() - start
        note = " (did not converge)" if any(issubclass(w.category, ConvergenceWarning) for w in caught) else ""
        print(f"  {label:<44} {seconds:8.2f} s  n_iter={int(np.ravel(model.n_iter_)[0])}{note}")
        return seconds, np.concatenate([model.coef_.ravel(), model.intercept_])

    print("fits:")
    fk_time, fk_coef = timed("funnelkit newton (tol 1e-8, all cores)", lambda: fk.LogisticRegression())
    fk1_time, fk1_coef = timed("funnelkit newton (tol 1e-8, 1 thread)", lambda: fk.LogisticRegression(threads=1))
    sk_time, sk_coef = timed("scikit-learn lbfgs (defaults, max_iter=1000)",
                             lambda: SkLogisticRegression(max_iter=1000))
    ref_time, ref_coef = timed("scikit-learn newton-cholesky (tol 1e-10)",
                               lambda: SkLogisticRegression(solver="newton-cholesky", tol=1e-10, max_iter=1000))
    print("ratios (contender time / funnelkit all-cores time):")
    print(f"  scikit-learn lbfgs           {sk_time / fk_time:6.1f}x")
    print(f"  scikit-learn newton-cholesky {ref_time / fk_time:6.1f}x")
    print("largest |coefficient - reference| (reference: newton-cholesky tol 1e-10):")
    print(f"  funnelkit                    {np.max(np.abs(fk_coef - ref_coef)):.2e}")
    print(f"  funnelkit, 1 thread == all   {bool(np.array_equal(fk_coef, fk1_coef))}")
    print(f"  scikit-learn lbfgs           {np.max(np.abs(sk_coef - ref_coef)):.2e}")


if __name__ == "__main__":
    main()
