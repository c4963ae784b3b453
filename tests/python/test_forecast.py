"""Forecasts: the expected path and the simulation's mean agree (no strategy), per day and per
week; economics follow the documented formulas."""

from __future__ import annotations

import numpy as np
import pytest

import funnelkit as fk
from funnelkit.forecasting.forecast import forecast


def test_expected_and_simulated_means_agree_without_a_strategy() -> None:
    plan = fk.TrafficPlan(1_500, channels=[fk.Channel("ads", share=0.5, cost_per_visitor=0.3), fk.Channel("seo")])
    f = forecast(fk.examples.shop_funnel(), plan, horizon="28D", freq="W", replicates=30, seed=2, progress=False,
                 economics=fk.Economics(margin=0.25))
    sim = f.simulation
    assert sim is not None
    for metric in ("arrivals", "purchases", "revenue", "profit"):
        weekly = sim.per_replicate(metric).resample("W-SUN").sum().to_numpy()  # weeks x replicates
        se = weekly.std(axis=1, ddof=1) / np.sqrt(weekly.shape[1])
        z = (weekly.mean(axis=1) - f.expected[metric].to_numpy()) / se
        assert np.abs(z).max() < 4.5, (metric, z)
    table = f.table
    assert table["margin_expected"].to_numpy() == pytest.approx(0.25 * table["revenue_expected"].to_numpy())
    assert table["traffic_cost_expected"].sum() == pytest.approx(0.3 * 0.5 * table["arrivals_expected"].sum())


def test_monthly_periods_and_bad_input() -> None:
    f = forecast(fk.examples.shop_funnel(), 500, horizon="60D", freq="M", replicates=0, progress=False)
    # calendar months from 2026-01-05: the rest of January, February, the start of March
    assert list(f.table["arrivals_expected"]) == pytest.approx([500 * 27, 500 * 28, 500 * 5])
    assert np.isnan(f.table["revenue_mean"]).all()
    assert f.table["arrivals_expected"].sum() == pytest.approx(500 * 60)
    with pytest.raises(ValueError, match="freq"):
        forecast(fk.examples.shop_funnel(), 500, freq="Y", replicates=0)
    with pytest.raises(ValueError, match="horizon"):
        forecast(fk.examples.shop_funnel(), 500, horizon=0, replicates=0)


def test_idle_move_triggers_are_in_the_path() -> None:
    cart = fk.Trigger("cart", fk.when.idle("cart"), [
        fk.Message(after="1h", effect=fk.MoveTo("checkout", 0.3)),
        fk.Message(after="24h", effect=fk.MoveTo("checkout", 0.5)),
    ], control_share=0.2)
    strategy = fk.Strategy([cart], exclude_stages=())
    f = forecast(fk.examples.shop_funnel(), 2_000, strategy, horizon="21D", freq="W", replicates=30, seed=5,
                 progress=False)
    assert f.expected.attrs["not_in_path"] == []
    sim = f.simulation
    assert sim is not None
    for metric in ("purchases", "revenue"):
        weekly = sim.per_replicate(metric).resample("W-SUN").sum().to_numpy()
        se = weekly.std(axis=1, ddof=1) / np.sqrt(weekly.shape[1])
        z = (weekly.mean(axis=1) - f.expected[metric].to_numpy()) / se
        assert np.abs(z).max() < 4.5, (metric, z)
    without = forecast(fk.examples.shop_funnel(), 2_000, None, horizon="21D", freq="W", replicates=0)
    assert f.expected["purchases"].sum() > 1.2 * without.expected["purchases"].sum()


def test_what_the_path_leaves_out_is_named() -> None:
    from funnelkit.forecasting.path import expected_path

    with pytest.warns(UserWarning, match="review request"):
        frame = expected_path(fk.examples.shop_funnel(), 100, strategy=fk.strategies.must_have(), horizon="5D")
    assert "trigger 'review request'" in frame.attrs["not_in_path"]
