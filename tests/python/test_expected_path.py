"""The expected-value path against the simulation's mean (no strategy) and its bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest
from reference import dense_chain, fundamental, random_funnel, shaped_funnel

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


@pytest.mark.parametrize("shape", ["random", "expander", "hub"])
def test_a_cohorts_entries_are_the_chains_expected_visits_on_any_shape(shape: str) -> None:
    # One cohort, a horizon long enough for every journey to end: the path's entries into each
    # stage sum to the expected visits e (I - Q)^-1 of a NumPy inverse (loops across the whole
    # funnel on the page-level shapes, edge delays and instant moves mixed).
    rng = np.random.default_rng({"random": 1, "expander": 2, "hub": 3}[shape])
    funnel = random_funnel(rng, 25) if shape == "random" else shaped_funnel(rng, 80, shape)
    chain = dense_chain(funnel)
    path = expected_path(funnel, fk.TrafficPlan.cohort(1_000), horizon="120D", substeps=4)
    transient = chain.transient
    visits = chain.entry[transient] @ fundamental(chain)
    names = [n for n, t in zip(chain.names, transient, strict=True) if t]
    entered = path[[f"entered_{n}" for n in names]].sum().to_numpy() / 1_000
    assert entered == pytest.approx(visits, rel=1e-6, abs=1e-9)
    ended = path[[f"in_{n}" for n, t in zip(chain.names, transient, strict=True) if not t]].iloc[-1].sum()
    assert ended == pytest.approx(1_000, rel=1e-9)
