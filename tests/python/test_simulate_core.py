"""The engine's walk of leads through a funnel (the core of the coming simulation), from Python:
agreement with the exact analysis, thread-count independence, Ctrl-C."""

from __future__ import annotations

import math

import numpy as np
import pytest

import funnelkit as fk
from funnelkit import _core


def walk(funnel: fk.Funnel, arrivals: np.ndarray, threads: int = 0, horizon: float = math.inf,
         bin_width: float = math.inf, progress: object = None) -> dict[str, object]:
    return _core.simulate_journeys(funnel._compiled(), arrivals, horizon, bin_width, 5, 100_000, threads,
                                   progress)  # type: ignore[arg-type]


def test_simulated_conversion_and_revenue_agree_with_the_analysis() -> None:
    funnel = fk.examples.shop_funnel()
    analysis = funnel.analyze()
    n = 200_000
    totals = walk(funnel, np.zeros(n))
    p = analysis.success_probability
    share = totals["successes"] / n  # type: ignore[operator]
    assert abs(share - p) < 4 * math.sqrt(p * (1 - p) / n)  # 4 standard deviations
    per_lead = totals["total_value"] / n  # type: ignore[operator]
    # Revenue is one order value per purchase: its standard error is expected_value times the
    # relative standard error of the purchase share; 4 of them.
    assert abs(per_lead - analysis.expected_value) < 4 * analysis.expected_value * math.sqrt((1 - p) / (n * p))


def test_totals_do_not_depend_on_the_thread_count_and_bins_cover_the_horizon() -> None:
    funnel = fk.examples.shop_funnel()
    arrivals = np.linspace(0.0, 100.0, 20_001)
    one = walk(funnel, arrivals, threads=1, horizon=72.0, bin_width=24.0)
    two = walk(funnel, arrivals, threads=2, horizon=72.0, bin_width=24.0)
    for key in ("arrivals", "entries", "value"):
        np.testing.assert_array_equal(one[key], two[key])  # type: ignore[arg-type]
    assert one["entries"].shape == (3, len(funnel._compiled()))  # type: ignore[union-attr]
    assert int(one["arrivals"].sum()) == one["leads"] == int((arrivals < 72.0).sum())  # type: ignore[union-attr]


def test_ctrl_c_stops_the_walk() -> None:
    def interrupt(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        walk(fk.examples.shop_funnel(), np.zeros(50_000), progress=interrupt)
    with pytest.raises(ValueError, match="negative"):
        walk(fk.examples.shop_funnel(), np.array([1.0, -1.0]))
