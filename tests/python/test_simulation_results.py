"""The simulation's result objects, built from a small hand-made engine result whose every
number is known: daily means and bands, totals, the money formulas, the per-trigger uplift
table, the kept tables, and the paired comparison of strategies (checked against SciPy)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from funnelkit.simulation.economics import Economics
from funnelkit.simulation.results import LEAD_ID_STRIDE, Simulation, StrategyComparison, _Run, t_quantile

SERIES = ["purchases", "buyers", "revenue", "discounts", "messages", "delivered", "opened", "message_cost"]
SENDER_COLUMNS = ["starts", "control_starts", "starts_converted", "control_converted", "starts_revenue",
                  "control_revenue", "sent", "delivered", "opened", "capped", "postponed", "cost", "discounts",
                  "attributed", "attributed_revenue"]
STAGES = ("visit", "cart", "paid", "dropped")
R, B, C, S = 3, 4, 2, 4


def run_info(economics: Economics | None = None, population: pd.Index | None = None) -> _Run:
    return _Run(start=pd.Timestamp("2026-01-05"), time_unit="hours", ns_per_unit=3600e9, day_length=24.0,
                horizon=96.0, stage_names=STAGES, drop_state=3, channel_names=("ads", "organic"),
                cost_per_visitor=np.array([0.5, 0.0]), sender_names=("cart", "promo"), trigger_count=1,
                economics=economics or Economics(margin=0.4), seed=0, strategy_name="test",
                population_ids=population)


def fake_raw(shift: float = 0.0, seed: int = 0, keep: bool = False) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    arrivals = rng.integers(0, 50, size=(R, B, C)).astype(np.int64)
    series = rng.uniform(0, 10, size=(R, B, len(SERIES)))
    series[:, :, SERIES.index("revenue")] += shift
    senders = np.zeros((R, 2, len(SENDER_COLUMNS)))
    col = SENDER_COLUMNS.index
    # trigger "cart": 1,000 treated starts (200 converted) and 1,000 control starts (150) in all
    for r, (starts, converted, control, control_converted) in enumerate(
            [(300, 70, 350, 50), (300, 60, 300, 45), (400, 70, 350, 55)]):
        senders[r, 0, [col("starts"), col("starts_converted"), col("control_starts"), col("control_converted")]] = (
            starts, converted, control, control_converted)
        senders[r, 0, col("starts_revenue")] = 60.0 * converted
        senders[r, 0, col("control_revenue")] = 60.0 * control_converted
        senders[r, 0, [col("sent"), col("delivered"), col("opened"), col("cost"), col("discounts")]] = (
            starts, starts * 0.9, starts * 0.36, starts * 0.01, 30.0)
    senders[:, 1, col("sent")] = 10  # a campaign without a control group
    raw: dict[str, Any] = {
        "arrivals": arrivals, "entries": rng.integers(0, 9, size=(R, B, S)),
        "occupancy": rng.integers(0, 9, size=(R, B, S)), "series": series, "series_columns": SERIES,
        "senders": senders, "sender_columns": SENDER_COLUMNS, "sender_names": ["cart", "promo"],
        "leads": int(arrivals.sum()), "transitions": 12_345, "messages": 1_010, "stopped": 0,
        "leads_table": None, "stage_events": None, "message_events": None,
    }
    if keep:
        raw["leads_table"] = {
            "replicate": np.array([0, 0, 1]), "lead": np.array([0, 1, 0]), "channel": np.array([-1, 1, 0]),
            "arrival": np.array([0.0, 5.5, 30.0]), "final_state": np.array([2, 3, 1]),
            "purchases": np.array([1, 0, 0]), "revenue": np.array([60.0, 0, 0]), "discounts": np.array([6.0, 0, 0]),
            "first_purchase": np.array([12.0, np.nan, np.nan]), "messages": np.array([2, 0, 1]),
            "last_touch": np.array([0, -1, -1]), "control": np.array([0, 1, 2])}
        raw["stage_events"] = {
            "replicate": np.array([0, 0, 0, 1]), "lead": np.array([0, 0, 1, 0]),
            "time": np.array([0.0, 12.0, 5.5, 30.0]), "state": np.array([1, 2, 3, 0]),
            "value": np.array([np.nan, 61.5, np.nan, np.nan])}
        raw["message_events"] = {
            "replicate": np.array([0, 1]), "lead": np.array([0, 0]), "time": np.array([2.0, 31.0]),
            "sender": np.array([0, 1]), "step": np.array([0, 0]), "outcome": np.array([4, 0])}
    return raw


def test_daily_series_are_means_over_replicates_with_money_derived_per_replicate() -> None:
    raw = fake_raw()
    sim = Simulation(raw, run_info())
    daily = sim.daily
    assert list(daily.index) == list(pd.date_range("2026-01-05", periods=B, freq="D"))
    np.testing.assert_allclose(daily["arrivals"], raw["arrivals"].sum(axis=2).mean(axis=0))
    np.testing.assert_allclose(daily["arrivals_ads"], raw["arrivals"][:, :, 0].mean(axis=0))
    np.testing.assert_allclose(daily["entered_cart"], raw["entries"][:, :, 1].mean(axis=0))
    np.testing.assert_allclose(daily["in_paid"], raw["occupancy"][:, :, 2].mean(axis=0))
    revenue = raw["series"][:, :, 2]
    discounts = raw["series"][:, :, 3]
    traffic_cost = raw["arrivals"][:, :, 0] * 0.5
    profit = 0.4 * revenue - discounts - traffic_cost - raw["series"][:, :, 7]
    np.testing.assert_allclose(daily["traffic_cost"], traffic_cost.mean(axis=0))
    np.testing.assert_allclose(daily["margin"], (0.4 * revenue - discounts).mean(axis=0))
    np.testing.assert_allclose(daily["profit"], profit.mean(axis=0))
    band = sim.band("profit", q=(0.1, 0.9))
    np.testing.assert_allclose(band["low"], np.quantile(profit, 0.1, axis=0))
    np.testing.assert_allclose(band["high"], np.quantile(profit, 0.9, axis=0))
    assert sim.per_replicate("profit").shape == (B, R)
    with pytest.raises(KeyError, match="no daily metric"):
        sim.band("happiness")
    with pytest.raises(ValueError, match="quantiles"):
        sim.band("profit", q=(0.9, 0.1))


def test_totals_have_percentile_intervals_and_report_the_work_done() -> None:
    raw = fake_raw()
    sim = Simulation(raw, run_info(population=pd.Index(["a", "b"])))
    totals = sim.totals
    per_replicate = raw["series"][:, :, 2].sum(axis=1)
    row = totals.loc["revenue"]
    assert row["mean"] == pytest.approx(per_replicate.mean())
    assert row["low"] == pytest.approx(np.quantile(per_replicate, 0.05))
    assert row["high"] == pytest.approx(np.quantile(per_replicate, 0.95))
    assert row["sd"] == pytest.approx(per_replicate.std(ddof=1))
    leads = raw["arrivals"].sum(axis=(1, 2)) + 2  # arrivals and the population of two
    assert totals.loc["leads", "mean"] == pytest.approx(leads.mean())
    assert totals.loc["conversion", "mean"] == pytest.approx((raw["series"][:, :, 1].sum(axis=1) / leads).mean())
    # stage occupancy is a state, not a flow: its total is the count at the end
    assert totals.loc["in_cart", "mean"] == pytest.approx(raw["occupancy"][:, -1, 1].mean())
    assert totals.loc["transitions", "mean"] == pytest.approx(12_345 / R)
    assert math.isnan(totals.loc["transitions", "low"])
    assert sim.counts == {"replicates": R, "leads": raw["leads"], "transitions": 12_345, "messages": 1_010,
                          "stopped": 0}
    assert "12,345 transitions" in repr(sim)
    assert "<strong>" in sim._repr_html_() and "roi" in sim._repr_html_()


def test_trigger_table_uplift_interval_and_roi() -> None:
    sim = Simulation(fake_raw(), run_info())
    table = sim.triggers
    cart = table.loc["cart"]
    p1, p0 = 200 / 1000, 150 / 1000
    se = math.sqrt(p1 * (1 - p1) / 1000 + p0 * (1 - p0) / 1000)
    assert cart["kind"] == "trigger" and table.loc["promo", "kind"] == "campaign"
    assert cart["conversion_treated"] == pytest.approx(p1)
    assert cart["conversion_control"] == pytest.approx(p0)
    assert cart["uplift"] == pytest.approx(0.05)
    assert cart["uplift_low"] == pytest.approx(0.05 - stats.norm.ppf(0.975) * se)
    assert cart["uplift_high"] == pytest.approx(0.05 + stats.norm.ppf(0.975) * se)
    starts = 1000 / R
    assert cart["starts"] == pytest.approx(starts)
    assert cart["incremental_purchases"] == pytest.approx(0.05 * starts)
    assert cart["incremental_revenue"] == pytest.approx(60.0 * 0.05 * starts)
    assert cart["open_rate"] == pytest.approx(0.4)
    spend = (1000 * 0.01 + 90.0) / R
    assert cart["roi"] == pytest.approx((0.4 * 60.0 * 0.05 * starts - spend) / spend)
    promo = table.loc["promo"]
    assert promo["sent"] == 10 and math.isnan(promo["uplift"]) and math.isnan(promo["roi"])


def test_kept_tables_follow_the_event_log_format() -> None:
    sim = Simulation(fake_raw(keep=True), run_info(population=pd.Index(["vip"])))
    events = sim.events
    assert list(events.columns) == ["lead_id", "timestamp", "event", "value"]
    assert events["lead_id"].dtype == np.int64
    # the virtual drop stage is left out; lead ids are unique across replicates
    assert events["event"].astype(str).tolist() == ["cart", "paid", "visit"]
    assert events["lead_id"].tolist() == [0, 0, LEAD_ID_STRIDE]
    assert events["timestamp"].tolist() == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-05 12:00"),
                                            pd.Timestamp("2026-01-06 06:00")]
    assert events["value"].iloc[1] == 61.5 and events["value"].isna().sum() == 2
    leads = sim.leads
    assert leads.index.tolist() == [0, 1, LEAD_ID_STRIDE]
    assert leads["channel"].astype(str).tolist() == ["population", "organic", "ads"]
    population_id = leads["population_id"]
    assert population_id.iloc[0] == population_id.iloc[2] == "vip" and pd.isna(population_id.iloc[1])
    assert leads["final_stage"].astype(str).tolist() == ["paid", "dropped", "cart"]
    assert leads["time_to_purchase"].iloc[0] == 12.0 and pd.isna(leads["first_purchase"].iloc[1])
    assert leads["last_touch"].iloc[0] == "cart" and pd.isna(leads["last_touch"].iloc[1])
    assert leads["control_cart"].tolist() == [False, True, False]
    assert leads["control_promo"].tolist() == [False, False, True]
    messages = sim.messages
    assert messages["outcome"].astype(str).tolist() == ["opened", "control"]
    assert messages["sender"].astype(str).tolist() == ["cart", "promo"]
    bare = Simulation(fake_raw(), run_info())
    for attribute, option in (("leads", "keep_leads"), ("events", "keep_events"), ("messages", "keep_events")):
        with pytest.raises(ValueError, match=option):
            getattr(bare, attribute)


def test_comparison_reports_paired_t_intervals() -> None:
    base = Simulation(fake_raw(), run_info())
    better = Simulation(fake_raw(shift=5.0), run_info())  # the same noise, revenue +5 a day, +20 a replicate
    comparison = StrategyComparison({"none": base, "more": better}, baseline="none")
    deltas = comparison.deltas
    revenue = deltas.loc[("more", "revenue")]
    assert revenue["mean"] == pytest.approx(20.0) and revenue["sd"] == pytest.approx(0.0, abs=1e-9)
    profit = better.replicate_totals["profit"] - base.replicate_totals["profit"]
    half = stats.t.ppf(0.975, R - 1) * profit.std(ddof=1) / math.sqrt(R)
    assert deltas.loc[("more", "profit"), "low"] == pytest.approx(profit.mean() - half)
    table = comparison.table
    assert table.loc["more", "incremental_revenue"] == pytest.approx(20.0)
    assert table.loc["more", "incremental_profit"] == pytest.approx(0.4 * 20.0)
    assert table.loc["none", "incremental_revenue"] == 0.0
    assert math.isnan(table.loc["more", "roi"])  # no extra spending
    assert "common random numbers" in repr(comparison) and "<table" in comparison._repr_html_()
    with pytest.raises(KeyError, match="baseline"):
        StrategyComparison({"none": base}, baseline="other")


@pytest.mark.parametrize("df", [1, 2, 5, 19, 200])
def test_t_quantile_matches_scipy(df: int) -> None:
    assert t_quantile(0.975, df) == pytest.approx(stats.t.ppf(0.975, df), rel=1e-9)


def test_economics_formulas_and_order_value_law() -> None:
    economics = Economics(margin=0.25, order_value_cv=0.5)
    law = economics.order_value()
    assert law is not None
    assert law.mean() == pytest.approx(1.0)
    assert math.sqrt(law.variance()) == pytest.approx(0.5)
    assert economics.profit_of(1000.0, 30.0, 100.0, 20.0) == pytest.approx(250 - 30 - 100 - 20)
    for bad in ({"margin": 1.5}, {"margin": -0.1}, {"order_value_cv": -1.0}, {"order_value_cv": math.inf}):
        with pytest.raises(ValueError, match="Economics"):
            Economics(**bad)  # type: ignore[arg-type]


def test_plots_draw_the_band_and_the_deltas() -> None:
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sim = Simulation(fake_raw(), run_info())
    ax = sim.plot("revenue")
    assert ax.get_ylabel() == "revenue" and len(ax.collections) == 1
    comparison = StrategyComparison({"none": sim, "more": Simulation(fake_raw(shift=5.0), run_info())}, "none")
    ax = comparison.plot("revenue")
    assert len(ax.patches) == 1
    plt.close("all")
