"""The expected-value path against the simulation's mean (no strategy) and its bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest

import funnelkit as fk
from funnelkit.forecasting.path import expected_path


def test_the_simulations_mean_converges_to_the_path() -> None:
    funnel = fk.examples.shop_funnel()
    path = expected_path(funnel, 2_000, horizon="20D")
    sim = fk.simulate(funnel, 2_000, None, horizon="20D", replicates=30, seed=4, progress=False)
    for metric in ("entered_cart", "purchases", "revenue", "in_interest"):
        simulated = sim.per_replicate(metric).to_numpy().T  # replicates x days
        mean = simulated.mean(axis=0)
        se = simulated.std(axis=0, ddof=1) / np.sqrt(simulated.shape[0])
        z = (mean - path[metric].to_numpy()) / np.maximum(se, 1e-9)
        assert np.abs(z).max() < 4.5, (metric, np.abs(z).max())


def test_everyone_who_arrived_is_somewhere() -> None:
    path = expected_path(fk.examples.shop_funnel(), 500, horizon="10D", substeps=12)
    present = path[[c for c in path.columns if c.startswith("in_")]].sum(axis=1)
    assert present.to_numpy() == pytest.approx(path["arrivals"].cumsum().to_numpy(), rel=1e-9)
    assert path["revenue"].sum() == pytest.approx(60.0 * path["purchases"].sum())


def test_bad_input() -> None:
    with pytest.raises(ValueError, match="horizon"):
        expected_path(fk.examples.shop_funnel(), 100, horizon=0)
    with pytest.raises(ValueError, match="substeps"):
        expected_path(fk.examples.shop_funnel(), 100, substeps=0)
