"""Forecasts from a Base, and from a running shop (``warm_up``): the first week as full as a
later one, the traffic plan kept on its calendar, path and simulation still agreeing; the
command line's ``--warm-up``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.forecasting.forecast import forecast


def test_a_base_gives_funnel_traffic_strategy_and_economics() -> None:
    plan = fk.TrafficPlan(800, channels=[fk.Channel("ads", share=0.5, cost_per_visitor=0.2), fk.Channel("seo")])
    strategy = fk.Strategy([fk.strategies.abandoned_cart()])
    economics = fk.Economics(margin=0.4)
    base = fk.Base(fk.examples.shop_funnel(), plan, strategy, economics)
    from_base = forecast(base, horizon="14D", freq="W", replicates=3, seed=4, progress=False)
    by_hand = forecast(base.funnel, plan, strategy, economics=economics, horizon="14D", freq="W", replicates=3,
                       seed=4, progress=False)
    assert from_base.table.equals(by_hand.table)
    for name, value in (("traffic", plan), ("strategy", strategy), ("economics", economics)):
        with pytest.raises(TypeError, match=f"{name} is given twice"):
            forecast(base, **{name: value}, replicates=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="traffic and economics are given twice"):
        forecast(base, plan, economics=economics, replicates=0)
    with pytest.raises(TypeError, match="traffic is required"):
        forecast(base.funnel, replicates=0)
    with pytest.raises(TypeError, match="Funnel or Base"):
        forecast("shop", 100, replicates=0)  # type: ignore[arg-type]


def test_a_warm_start_removes_the_empty_shop_ramp() -> None:
    base = fk.Base(fk.examples.shop_funnel(), fk.TrafficPlan(1_000))
    cold = forecast(base, horizon="35D", freq="W", replicates=0, start="2026-03-02")
    warm = forecast(base, horizon="35D", freq="W", replicates=0, start="2026-03-02", warm_up="60D")
    cold_p, warm_p = cold.expected["purchases"].to_numpy(), warm.expected["purchases"].to_numpy()
    assert cold_p[0] < 0.8 * cold_p[-1]                               # an empty shop: the first week is low
    assert warm_p[0] == pytest.approx(warm_p[-1], rel=0.02)           # a running shop: flat from the start
    assert warm_p[-1] == pytest.approx(cold_p[-1], rel=0.01)          # the same steady state
    assert list(warm.expected.index) == list(cold.expected.index)     # the warm-up days are cut
    assert warm.expected["arrivals"].to_numpy() == pytest.approx(cold.expected["arrivals"].to_numpy())
    assert (warm.start, warm.warm_up_days) == (pd.Timestamp("2026-03-02"), 60)
    with pytest.raises(ValueError, match="whole number of days"):
        forecast(base, horizon="7D", replicates=0, warm_up="36h")
    with pytest.raises(ValueError, match="cohort"):
        forecast(base.replace(traffic=fk.TrafficPlan.cohort(100)), horizon="7D", replicates=0, warm_up="7D")


def test_a_warm_start_keeps_the_traffic_plan_on_its_calendar() -> None:
    # Growth counts from ``start``; weekly and yearly factors follow the calendar: the forecast
    # days get exactly the traffic (and traffic cost) they get without a warm-up.
    plan = fk.TrafficPlan(600, channels=[fk.Channel("ads", share=0.5, cost_per_visitor=0.3), fk.Channel("seo")],
                          weekly=[1, 1, 1, 1, 1.1, 1.3, 1.2], growth=0.05, yearly=[1.0] * 11 + [1.5])
    plain = forecast(fk.examples.shop_funnel(), plan, horizon="40D", start="2025-11-20", replicates=0)
    warm = forecast(fk.examples.shop_funnel(), plan, horizon="40D", start="2025-11-20", replicates=0, warm_up="45D")
    for metric in ("arrivals", "traffic_cost"):
        assert warm.expected[metric].to_numpy() == pytest.approx(plain.expected[metric].to_numpy(), rel=1e-12)
    own = fk.TrafficPlan(None, channels=[fk.Channel("a", visitors_per_day=100), fk.Channel("b", visitors_per_day=50)],
                         growth=0.1)
    plain = forecast(fk.examples.shop_funnel(), own, horizon="10D", replicates=0)
    warm = forecast(fk.examples.shop_funnel(), own, horizon="10D", replicates=0, warm_up="30D")
    assert warm.expected["arrivals"].to_numpy() == pytest.approx(plain.expected["arrivals"].to_numpy(), rel=1e-12)


def test_with_a_warm_start_path_and_simulation_agree() -> None:
    f = forecast(fk.examples.shop_funnel(), 1_500, fk.strategies.must_have(), horizon="28D", freq="W",
                 replicates=24, seed=7, warm_up="60D", progress=False)
    sim = f.simulation
    assert sim is not None and sim.days == 60 + 28 and sim.start == f.start - pd.Timedelta(days=60)
    assert len(f.table) == 4 and f.table.index[0] >= f.start
    for metric in ("arrivals", "purchases", "revenue"):
        weekly = sim.per_replicate(metric).iloc[60:].resample("W-SUN").sum().to_numpy()
        se = weekly.std(axis=1, ddof=1) / np.sqrt(weekly.shape[1])
        z = (weekly.mean(axis=1) - f.expected[metric].to_numpy()) / se
        assert np.abs(z).max() < 4.5, (metric, z)
        assert f.simulated[f"{metric}_mean"].to_numpy() == pytest.approx(weekly.mean(axis=1))


def test_the_command_line_warm_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from funnelkit.cli import EXIT_OK, EXIT_USAGE, main

    funnel_file = tmp_path / "shop.json"
    fk.examples.shop_funnel().to_json(funnel_file)
    output = tmp_path / "forecast.csv"
    arguments = ["forecast", str(funnel_file), "--visitors-per-day", "300", "--horizon", "14D", "--freq", "W",
                 "--replicates", "0", "--start", "2026-03-02", "--output", str(output), "--quiet"]
    assert main([*arguments, "--warm-up", "60D"]) == EXIT_OK
    table = pd.read_csv(output)
    direct = forecast(fk.examples.shop_funnel(), 300, horizon="14D", freq="W", replicates=0, start="2026-03-02",
                      warm_up="60D")
    assert table["purchases_expected"].to_numpy() == pytest.approx(direct.expected["purchases"].to_numpy())
    for bad in ("36h", "60", "-2D", "soon"):
        assert main([*arguments, "--warm-up", bad]) == EXIT_USAGE
        assert "--warm-up" in capsys.readouterr().err
