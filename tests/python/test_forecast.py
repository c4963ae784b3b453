"""Forecasts: the expected path and the simulation's mean agree (no strategy), per day and per
week; economics follow the documented formulas."""

from __future__ import annotations

import numpy as np
import pandas as pd
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


def _weekly_z(visitors: float, strategy: fk.Strategy, horizon: str, replicates: int, seed: int,
              metrics: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Per metric and week: (simulated mean - expected path) / standard error of the mean."""
    funnel = fk.examples.shop_funnel()
    path = fk.expected_path(funnel, visitors, strategy=strategy, horizon=horizon)
    assert path.attrs["not_in_path"] == []
    sim = fk.simulate(funnel, visitors, strategy, horizon=horizon, replicates=replicates, seed=seed, progress=False)
    out = {}
    for metric in metrics:
        weekly = sim.per_replicate(metric).resample("W-SUN").sum().to_numpy()
        se = weekly.std(axis=1, ddof=1) / np.sqrt(weekly.shape[1])
        expected = path[metric].resample("W-SUN").sum().to_numpy()
        out[metric] = (weekly.mean(axis=1) - expected) / np.maximum(se, 1e-9)
    return out


def test_the_must_have_strategy_is_in_the_path_and_agrees() -> None:
    # Idle moves (browse, cart), purchase triggers bringing buyers back (review, reactivation,
    # recommendations: a loop through the end stage); a quarter, weekly.
    z = _weekly_z(1_500, fk.strategies.must_have(), "91D", 24, 11,
                  ("purchases", "revenue", "entered_interest", "entered_checkout"))
    for metric, values in z.items():
        assert np.abs(values).max() < 4.5, (metric, values)


def test_odds_effects_and_control_groups_are_in_the_path() -> None:
    browse = fk.Trigger("browse", fk.when.idle("interest"), [
        fk.Message(after="2h", effect=fk.OddsMultiplier(3.0, toward=["cart"])),
        fk.Message(after="24h", channel="sms", effect=fk.OddsMultiplier(2.0)),
    ], control_share=0.25)
    strategy = fk.Strategy([browse], exclude_stages=())
    z = _weekly_z(2_000, strategy, "28D", 24, 3, ("entered_cart", "purchases"))
    for metric, values in z.items():
        assert np.abs(values).max() < 4.5, (metric, values)
    tilted = fk.expected_path(fk.examples.shop_funnel(), 2_000, strategy=strategy, horizon="28D")
    plain = fk.expected_path(fk.examples.shop_funnel(), 2_000, horizon="28D")
    assert tilted["entered_cart"].sum() > 1.05 * plain["entered_cart"].sum()


def test_stage_campaigns_are_in_the_path() -> None:
    # A weekly newsletter to subscribed leads (mid-stay: their pending moves are cancelled) and
    # a one-off recall of buyers with a control group, beside the must-have triggers.
    newsletter = fk.Campaign("newsletter", "2026-01-07 10:00", fk.Audience(stages=["lead"]),
                             fk.Message(after=0, effect=fk.MoveTo("interest", 0.2)), every="7D")
    strategy = fk.Strategy(fk.strategies.must_have().triggers, campaigns=[newsletter],
                           exclude_stages=("unsubscribed",))
    z = _weekly_z(1_500, strategy, "35D", 24, 8, ("entered_interest", "purchases", "in_lead"))
    for metric, values in z.items():
        assert np.abs(values).max() < 4.5, (metric, values)
    plain = fk.expected_path(fk.examples.shop_funnel(), 1_500, strategy=fk.strategies.must_have(), horizon="35D")
    mailed = fk.expected_path(fk.examples.shop_funnel(), 1_500, strategy=strategy, horizon="35D")
    assert mailed["entered_interest"].sum() > 1.02 * plain["entered_interest"].sum()


def test_what_the_path_leaves_out_is_named() -> None:
    from funnelkit.forecasting.path import expected_path

    welcome = fk.Trigger("welcome", fk.when.enter("lead"), [fk.Message(after="1h", effect=fk.MoveTo("interest", 0.1))])
    friday = fk.Campaign("friday", "2026-01-09", fk.Audience(stages=["lead"]),
                         fk.Message(after=0, effect=fk.MoveTo("interest", 0.05)), every="7D", control_share=0.1)
    buyers = fk.Campaign("buyers", "2026-01-09", fk.Audience(stages=["paid"]),
                         fk.Message(after=0, effect=fk.MoveTo("interest", 0.05)))
    strategy = fk.Strategy([welcome, *fk.strategies.must_have().triggers], campaigns=[friday, buyers],
                           quiet_hours=(22, 8), exclude_stages=())
    with pytest.warns(UserWarning, match="welcome"):
        frame = expected_path(fk.examples.shop_funnel(), 100, strategy=strategy, horizon="15D")
    # A recurring control group; buyers awaiting the purchase triggers' letters.
    assert frame.attrs["not_in_path"] == ["quiet hours", "trigger 'welcome'", "campaign 'friday'", "campaign 'buyers'"]


def test_campaigns_beside_idle_steps_are_left_out_not_refused() -> None:
    # Leads who left the cart wait (in the drop stage) for the cart letters, which a campaign
    # moving the cart's leads cannot cancel: the campaign stays with the simulation. A
    # newsletter that only costs moves no one and is counted anywhere, everyone included.
    tilt = fk.Trigger("cart tilt", fk.when.idle("cart"), [fk.Message(after="1h", effect=fk.OddsMultiplier(2.0))])
    nudge = fk.Campaign("cart nudge", "2026-01-08", fk.Audience(stages=["cart"]),
                        fk.Message(after=0, effect=fk.MoveTo("checkout", 0.1)))
    news = fk.Campaign("newsletter", "2026-01-08", fk.Audience(everyone=True), fk.Message(after=0, cost=0.001))
    strategy = fk.Strategy([tilt, *fk.strategies.must_have().triggers], campaigns=[nudge, news], exclude_stages=())
    with pytest.warns(UserWarning, match="cart nudge"):
        frame = fk.expected_path(fk.examples.shop_funnel(), 1_000, strategy=strategy, horizon="7D")
    assert frame.attrs["not_in_path"] == ["campaign 'cart nudge'"]
    plain = fk.expected_path(fk.examples.shop_funnel(), 1_000, strategy=fk.Strategy([tilt, *strategy.triggers[1:]],
                                                                                  exclude_stages=()), horizon="7D")
    day = frame.index.get_loc(pd.Timestamp("2026-01-08"))
    extra = frame["messages"].iloc[day] - plain["messages"].iloc[day]
    everyone = plain[[c for c in plain.columns if c.startswith("in_")]].iloc[day - 1].sum()
    assert extra == pytest.approx(everyone, rel=0.02)  # everyone present at the send (midnight)


def test_a_cohort_arrives_at_the_start_of_its_day_as_simulated() -> None:
    plan = fk.TrafficPlan.cohort(20_000)
    path = fk.expected_path(fk.examples.shop_funnel(), plan, horizon="3D")
    sim = fk.simulate(fk.examples.shop_funnel(), plan, None, horizon="3D", replicates=20, seed=2, progress=False)
    for metric in ("entered_lead", "entered_interest", "in_lead"):
        runs = sim.per_replicate(metric).to_numpy()
        se = runs.std(axis=1, ddof=1) / np.sqrt(runs.shape[1])
        z = (runs.mean(axis=1) - path[metric].to_numpy()) / np.maximum(se, 1e-9)
        assert np.abs(z).max() < 4.5, (metric, z)


def test_the_paths_messages_agree_with_the_simulation() -> None:
    # The 20-minute letters fall within a step of the moves they race at 24 substeps (an hour):
    # 96 substeps (15 minutes) bring the grid's share below the simulation's noise.
    funnel, strategy = fk.examples.shop_funnel(), fk.strategies.must_have()
    path = fk.expected_path(funnel, 1_500, strategy=strategy, horizon="91D", substeps=96)
    sim = fk.simulate(funnel, 1_500, strategy, horizon="91D", replicates=30, seed=13, progress=False)
    for metric in ("messages", "message_cost"):
        totals = sim.per_replicate(metric).sum().to_numpy()
        se = totals.std(ddof=1) / np.sqrt(totals.size)
        assert abs(totals.mean() - path[metric].sum()) < 4.5 * se, metric
    coarse = fk.expected_path(funnel, 1_500, strategy=strategy, horizon="91D")
    assert coarse["messages"].sum() == pytest.approx(path["messages"].sum(), rel=0.01)
