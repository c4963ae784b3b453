"""The NumPy propagation of benchmarks/bench_forecast.py (``_numpy_path``) computes the same
expected-value path as funnelkit, so the benchmark compares equal work: its kernels against the
exponential law's closed form, its entries against hand-computed sums and the chain's expected
visits, and its daily entries against ``expected_path`` within 1e-9."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import funnelkit as fk
from funnelkit.forecasting.path import expected_path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import _numpy_path as npth


def test_exponential_kernel_is_the_closed_form() -> None:
    mean, p, h, n = 5.0, 0.4, 1.5, 40
    funnel = (fk.Funnel("f").add_stage("a", holding=fk.Exponential(mean=mean))
              .add_stage("paid", "success").add_edge("a", "paid", p))
    arrays = npth.path_arrays(funnel)
    k = npth.kernels(arrays, h, n)
    to_paid = int(np.flatnonzero(arrays.target == arrays.names.index("paid"))[0])
    edges = np.maximum((np.arange(n) - 0.5) * h, 0.0)
    expected = p * (np.exp(-edges / mean) - np.exp(-(np.arange(n) + 0.5) * h / mean))
    assert k[:, to_paid] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert k.sum() == pytest.approx(1.0 - math.exp(-(n - 0.5) * h / mean), rel=1e-12)  # the drop-out included


def test_instant_moves_and_an_instant_loop() -> None:
    # a -> a (0.5, instant: a loop within the step), a -> paid (0.3), the rest drops out:
    # every arrival enters a 1 / (1 - 0.5) = 2 times, paid 0.3 x 2 = 0.6 times, the same day.
    funnel = (fk.Funnel("f").add_stage("a").add_stage("paid", "success")
              .add_edge("a", "a", 0.5).add_edge("a", "paid", 0.3))
    arrays = npth.path_arrays(funnel)
    arrivals = np.array([10.0, 0.0, 4.0])
    daily = npth.daily_entries(arrays, arrivals, substeps=3)
    assert daily[:, arrays.names.index("a")] == pytest.approx(2.0 * arrivals, rel=1e-14)
    assert daily[:, arrays.names.index("paid")] == pytest.approx(0.6 * arrivals, rel=1e-14)


def test_a_delay_is_a_convolution() -> None:
    # a -> paid after an exponential stay: paid's fine entries are the arrivals convolved with
    # the kernel (np.convolve, written independently of the stepping).
    funnel = (fk.Funnel("f").add_stage("a", holding=fk.Exponential(mean=7.0))
              .add_stage("paid", "success").add_edge("a", "paid", 0.6))
    arrays = npth.path_arrays(funnel)
    substeps, arrivals = 4, np.array([3.0, 1.0, 0.0, 5.0, 2.0])
    fine = npth.propagate(arrays, arrivals, substeps)
    n, h = arrivals.size * substeps, 24.0 / substeps
    x = np.repeat(arrivals / substeps, substeps)
    cdf = 1.0 - np.exp(-(np.arange(n) + 0.5) * h / 7.0)
    kernel = 0.6 * np.diff(cdf, prepend=0.0)
    assert fine[:, arrays.names.index("a")] == pytest.approx(x, rel=1e-14)
    assert fine[:, arrays.names.index("paid")] == pytest.approx(np.convolve(x, kernel)[:n], rel=1e-12, abs=1e-15)


def test_a_cohort_makes_the_chains_expected_visits() -> None:
    # One cohort on day 0, followed until (nearly) everyone has left: total entries per stage
    # are the expected visits of the absorbing chain, (e^T (I - Q)^-1), and absorptions.
    funnel = npth.looped_funnel(5)
    arrays = npth.path_arrays(funnel)
    days = 60  # delays of hours: after 60 days what is left is far below 1e-9
    total = npth.daily_entries(arrays, np.r_[1.0, np.zeros(days - 1)], substeps=2).sum(axis=0)
    size = len(arrays.names)
    rows = np.zeros((size, size))
    np.add.at(rows, (arrays.source, arrays.target), arrays.probability)
    transient = np.array([kind == "transient" for kind in funnel._compiled().kinds])
    q = rows[np.ix_(transient, transient)]
    visits = np.linalg.solve(np.eye(q.shape[0]) - q.T, arrays.entry[transient])
    assert total[transient] == pytest.approx(visits, rel=1e-9)
    absorbed = visits @ rows[np.ix_(transient, ~transient)]
    assert total[~transient] == pytest.approx(absorbed, rel=1e-9)


@pytest.mark.parametrize("make", [fk.examples.shop_funnel, lambda: npth.looped_funnel(8)], ids=["shop", "loop"])
def test_numpy_and_funnelkit_paths_agree(make: object) -> None:
    funnel = make()  # type: ignore[operator]
    plan = fk.TrafficPlan(500.0, weekly=[1, 1, 1, 1, 1, 1.3, 1.3], growth=0.05)
    path = expected_path(funnel, plan, horizon="20D", substeps=6)
    arrays = npth.path_arrays(funnel)
    ours = path[[f"entered_{name}" for name in arrays.names]].to_numpy()
    theirs = npth.daily_entries(arrays, path["arrivals"].to_numpy(), substeps=6)
    peak = theirs.max(axis=0)
    assert (np.abs(ours - theirs).max(axis=0) <= 1e-9 * np.maximum(peak, 1e-300)).all()
    counted = theirs >= 1e-6 * peak
    assert (np.abs(ours - theirs)[counted] / theirs[counted]).max() <= 1e-9
