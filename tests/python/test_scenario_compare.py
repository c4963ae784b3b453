"""Scenarios side by side (expected totals, deltas, paired simulated intervals) and the
bootstrap interval of an edge change on a fitted funnel."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import funnelkit as fk
from funnelkit.forecasting.base import Base
from funnelkit.forecasting.changes import (
    ChannelCost,
    ChannelTraffic,
    EdgeProbability,
    Margin,
    OrderValue,
    RemoveEdge,
    Reroute,
    ScaleHolding,
)
from funnelkit.forecasting.compare import compare_scenarios
from funnelkit.forecasting.edge_interval import edge_change_interval
from funnelkit.forecasting.forecast import forecast
from funnelkit.forecasting.scenario import Scenario, grid


def instant_funnel() -> fk.Funnel:
    """Moves take no time: a day's visitors buy that day."""
    return (fk.Funnel("shop").add_stage("visit").add_stage("cart").add_stage("paid", kind="success", value=50.0)
            .add_edge("visit", "cart", 0.2).add_edge("cart", "paid", 0.3))


def shop_base() -> Base:
    plan = fk.TrafficPlan(channels=[fk.Channel("search", share=0.6, cost_per_visitor=0.4),
                                    fk.Channel("social", share=0.4, cost_per_visitor=0.1)], visitors_per_day=800)
    return Base(fk.examples.shop_funnel(), plan, economics=fk.Economics(margin=0.35))


def expected_totals(base: Base, horizon: str) -> pd.Series:
    """forecast()'s expected path, summed: an independent computation (no shared path)."""
    return forecast(base.funnel, base.traffic, base.strategy, horizon=horizon, economics=base.economics,
                    replicates=0, progress=False).expected.sum()


# -- analytic totals ---------------------------------------------------------------------------
def test_deltas_match_the_closed_form_on_an_instant_funnel():
    base = Base(instant_funnel(), fk.TrafficPlan(channels=[fk.Channel("web", share=1.0, cost_per_visitor=0.05)],
                                                 visitors_per_day=1_000))
    scenarios = [Scenario("cart +10%", [EdgeProbability("cart", "paid", factor=1.1)]),
                 Scenario("aov 60", [OrderValue("paid", value=60.0)]),
                 Scenario("traffic x2", [ChannelTraffic(factor=2.0)])]
    result = compare_scenarios(base, scenarios, horizon="30D", metrics=("purchases", "revenue", "profit"))
    visitors = 1_000 * 30
    buyers = visitors * 0.2 * 0.3
    base_profit = 0.3 * 50 * buyers - 0.05 * visitors
    t = result.table
    assert t.loc[("cart +10%", "purchases"), "base"] == pytest.approx(buyers, rel=1e-9)
    assert t.loc[("cart +10%", "purchases"), "delta"] == pytest.approx(0.1 * buyers, rel=1e-9)
    assert t.loc[("cart +10%", "revenue"), "delta_pct"] == pytest.approx(10.0, rel=1e-9)
    assert t.loc[("aov 60", "purchases"), "delta"] == pytest.approx(0.0, abs=1e-6)
    assert t.loc[("aov 60", "profit"), "delta"] == pytest.approx(0.3 * 10 * buyers, rel=1e-9)
    assert t.loc[("traffic x2", "profit"), "value"] == pytest.approx(2 * base_profit, rel=1e-9)
    assert t.loc[("traffic x2", "profit"), "delta"] == pytest.approx(base_profit, rel=1e-9)
    assert t[["simulated_delta", "low", "high"]].isna().all().all()  # no replicates
    assert list(result.totals.index) == ["base", "cart +10%", "aov 60", "traffic x2"]


def test_totals_equal_the_forecast_of_each_applied_scenario_shared_paths_included():
    base = shop_base()
    scenarios = grid("shop",
                     cart=[None, EdgeProbability("cart", "checkout", factor=1.1)],
                     aov=[None, OrderValue(factor=1.2)],
                     traffic=[None, ChannelTraffic("search", factor=1.5), ChannelTraffic(factor=0.5)],
                     cost=[None, ChannelCost("search", factor=2.0)])
    scenarios.append(Scenario("slow cart", [ScaleHolding("cart", 2.0)]))
    metrics = ("arrivals", "purchases", "revenue", "margin", "traffic_cost", "profit")
    result = compare_scenarios(base, scenarios, horizon="21D", metrics=metrics)
    # three funnel structures (base, cart edit, slow cart); values, traffic levels and costs share
    # their paths (every channel has the same daily shape): 3 paths for 49 bases
    assert result.timing["paths"] == 3
    reference = expected_totals(base, "21D")
    for scenario in scenarios[::7] + scenarios[-3:]:
        expected = expected_totals(scenario.apply(base), "21D")
        for metric in metrics:
            row = result.table.loc[(scenario.name, metric)]
            # a shared path is scaled: equal to the solver's precision
            assert row["value"] == pytest.approx(expected[metric], rel=1e-7, abs=1e-9), (scenario.name, metric)
            assert row["base"] == pytest.approx(reference[metric], rel=1e-7, abs=1e-9)
            assert row["delta"] == pytest.approx(expected[metric] - reference[metric], rel=1e-6, abs=1e-4)


def test_the_expected_path_is_linear_in_the_arrivals():
    from funnelkit.forecasting.path import expected_path

    funnel = fk.examples.shop_funnel()
    one = expected_path(funnel, fk.TrafficPlan(300, weekly=[1.2, 1, 1, 1, 1, 0.9, 0.9]), horizon="20D")
    three = expected_path(funnel, fk.TrafficPlan(900, weekly=[1.2, 1, 1, 1, 1, 0.9, 0.9]), horizon="20D")
    # to the solver's precision (the frequency-domain Gauss-Seidel stops near 1e-9 relative)
    np.testing.assert_allclose(three.to_numpy(), 3 * one.to_numpy(), rtol=1e-7, atol=1e-9)


def test_wide_table_keeps_the_grid_axes_and_best_sorts_by_delta():
    base = Base(instant_funnel(), fk.TrafficPlan(1_000))
    scenarios = grid("s", margin=[Margin(m) for m in (0.2, 0.4)], aov=[None, OrderValue(factor=1.5)])
    result = compare_scenarios(base, scenarios, horizon="7D", metrics=["profit"])
    wide = result.wide("delta")
    assert list(wide.columns) == ["margin", "aov", "profit"]
    assert result.best("profit", 1).index[0] == "s [margin: margin = 0.4; aov: order value x1.5]"
    assert "<table" in result._repr_html_() and "4 scenarios" in repr(result)
    assert result.plot("profit") is not None


# -- simulated paired intervals -----------------------------------------------------------------
def test_common_random_numbers_and_paired_t_intervals():
    base = Base(fk.examples.shop_funnel(), fk.TrafficPlan(400))
    scenarios = [Scenario("margin", [Margin(0.4)]), Scenario("checkout", [EdgeProbability("checkout", "paid", factor=1.2)])]
    result = compare_scenarios(base, scenarios, horizon="28D", replicates=12, seed=3)
    runs = result.replicate_totals
    # a margin change leaves every replicate's journeys as they were: zero revenue difference
    margin_revenue = result.table.loc[("margin", "revenue")]
    assert margin_revenue["simulated_delta"] == 0.0 and margin_revenue["sd"] == 0.0
    # the paired interval, by hand
    d = (runs["checkout"]["profit"] - runs["base"]["profit"]).to_numpy()
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    row = result.table.loc[("checkout", "profit")]
    assert row["simulated_delta"] == pytest.approx(d.mean(), rel=1e-12)
    assert (row["low"], row["high"]) == pytest.approx((d.mean() - half, d.mean() + half), rel=1e-9)
    # the analytic delta lies in the simulated interval, and pairing makes it narrower than unpaired
    purchases = result.table.loc[("checkout", "purchases")]
    assert purchases["low"] <= purchases["delta"] <= purchases["high"]
    unpaired_sd = math.sqrt(runs["checkout"]["purchases"].var() + runs["base"]["purchases"].var())
    assert purchases["sd"] < unpaired_sd


# -- errors -----------------------------------------------------------------------------------
def test_bad_input_names_the_problem():
    base = Base(instant_funnel(), fk.TrafficPlan(100))
    with pytest.raises(ValueError, match="distinct"):
        compare_scenarios(base, [Scenario("a"), Scenario("a")])
    with pytest.raises(ValueError, match="metrics"):
        compare_scenarios(base, [Scenario("a")], metrics=["buyers"])
    with pytest.raises(ValueError, match="horizon"):
        compare_scenarios(base, [Scenario("a")], horizon=0)
    with pytest.raises(fk.UnknownStageError, match="basket"):
        compare_scenarios(base, [Scenario("a", [EdgeProbability("basket", "paid", factor=1.1)])])
    with pytest.raises(ValueError, match="replicates"):
        compare_scenarios(base, [Scenario("a")], replicates=-1)


# -- the bootstrap of an edge change ------------------------------------------------------------
def linear_log(entered: tuple[int, ...]) -> pd.DataFrame:
    """``entered[k]`` leads reach stage k of a -> b -> c -> paid, an hour apart."""
    events, stages = [], ["ev_a", "ev_b", "ev_c", "ev_paid"]
    for lead in range(entered[0]):
        for k, count in enumerate(entered):
            if lead < count:
                events.append((lead, pd.Timestamp("2026-01-01") + pd.Timedelta(hours=k + lead * 0.01), stages[k]))
    return pd.DataFrame(events, columns=["lead_id", "timestamp", "event"])


LINEAR = {"a": "ev_a", "b": "ev_b", "c": "ev_c", "paid": "ev_paid"}


def test_removing_or_rerouting_an_edge_of_a_linear_funnel_changes_conversion_by_the_hand_computed_amount():
    fit = fk.fit_funnel(linear_log((1_000, 400, 200, 50)), LINEAR, window="2D", success=["paid"],
                        observed_until="2026-03-01", progress=False)
    p_ab, p_bc, p_cp = 400 / 1000, 200 / 400, 50 / 200
    removed = edge_change_interval(fit, RemoveEdge("b", "c"), draws=200)
    assert removed.before == pytest.approx(p_ab * p_bc * p_cp, rel=1e-12)
    assert removed.estimate == pytest.approx(0.0, abs=1e-15)
    assert removed.delta == pytest.approx(-p_ab * p_bc * p_cp, rel=1e-12)
    assert removed.delta_low <= removed.delta <= removed.delta_high
    rerouted = edge_change_interval(fit, Reroute("a", "b", "c"), draws=200)   # skip b: a -> c with 0.4
    assert rerouted.estimate == pytest.approx(p_ab * p_cp, rel=1e-12)
    assert rerouted.delta == pytest.approx(p_ab * p_cp * (1 - p_bc), rel=1e-12)
    # the draws: the conversion of a chain is the product of independent Beta(x + 1/2, n - x + 1/2)
    # edges (Dirichlet over {next, left}): its mean is the product of the Beta means
    mean = (400.5 / 1001) * (200.5 / 401) * (50.5 / 201)
    sd = rerouted.samples["before"].std() / math.sqrt(200)
    assert rerouted.samples["before"].mean() == pytest.approx(mean, abs=4 * sd)


def test_bootstrap_interval_on_the_shop_contains_the_estimate_and_halves_with_four_times_the_data():
    widths = []
    for leads in (3_000, 12_000):
        log = fk.datasets.shop_events(leads, seed=7)
        fit = fk.fit_funnel(log.events, log.mapping, window="14D", progress=False)
        # without interest -> cart, carts come from visit -> cart only
        result = edge_change_interval(fit, RemoveEdge("interest", "cart"), draws=300, seed=1)
        assert result.low <= result.estimate <= result.high
        assert result.before_low <= result.before <= result.before_high
        assert result.delta_high < 0 < result.low
        widths.append(result.high - result.low)
    assert 0.35 < widths[1] / widths[0] < 0.7
    assert set(result.to_pandas().index) == {"before", "after", "delta"}
    assert "bootstrap" in result._repr_html_()


def test_edge_change_interval_checks_its_arguments():
    fit = fk.fit_funnel(linear_log((100, 40, 20, 5)), LINEAR, window="2D", success=["paid"],
                        observed_until="2026-03-01", progress=False)
    with pytest.raises(ValueError, match="metric"):
        edge_change_interval(fit, RemoveEdge("b", "c"), metric="revenue")
    with pytest.raises(ValueError, match="draws"):
        edge_change_interval(fit, RemoveEdge("b", "c"), draws=1)
    with pytest.raises(fk.UnknownStageError):
        edge_change_interval(fit, RemoveEdge("b", "nowhere"), draws=2)


def test_a_warm_up_counts_from_the_start_like_forecast() -> None:
    base = fk.Base(fk.examples.shop_funnel(), fk.TrafficPlan(1_000, growth=0.05), fk.strategies.must_have())
    scenarios = [fk.Scenario("better checkout", [fk.changes.EdgeProbability("checkout", "paid", factor=1.1)])]
    comparison = fk.compare_scenarios(base, scenarios, horizon="21D", warm_up="30D", replicates=4,
                                      metrics=["arrivals", "purchases", "message_cost", "profit"])
    expected = fk.forecast(base, horizon="21D", warm_up="30D", replicates=0).expected.sum()
    for metric in ("arrivals", "purchases", "message_cost", "profit"):
        assert comparison.totals.iloc[0][metric] == pytest.approx(expected[metric], rel=1e-9), metric
    cold = fk.compare_scenarios(base, scenarios, horizon="21D").totals.iloc[0]
    assert comparison.totals.iloc[0]["purchases"] > 1.1 * cold["purchases"]  # the running shop
    goal = fk.goal_seek(base, "purchases", 1.05 * expected["purchases"],
                        lambda x: fk.changes.EdgeProbability("checkout", "paid", probability=x),
                        bounds=(0.45, 0.6), horizon="21D", warm_up="30D")
    assert goal.base_value == pytest.approx(expected["purchases"], rel=1e-9)
    assert goal.x == pytest.approx(0.45 * 1.05, rel=1e-3)  # purchases are proportional to checkout -> paid


def test_scenarios_differing_only_in_message_cost_share_a_path_but_not_its_cost() -> None:
    base = fk.Base(fk.examples.shop_funnel(), fk.TrafficPlan(1_000), fk.strategies.must_have())
    dear = fk.Scenario("dear letters", [fk.changes.MessageChannel("abandoned cart", "email", cost=0.5)])
    comparison = fk.compare_scenarios(base, [dear], horizon="21D", metrics=["messages", "message_cost", "profit"])
    assert comparison.timing["cached"] == 1.0  # one path for both
    expected = fk.forecast(dear.apply(base), horizon="21D", replicates=0).expected.sum()
    for metric in ("messages", "message_cost", "profit"):
        assert comparison.totals.loc["dear letters", metric] == pytest.approx(expected[metric], rel=1e-9), metric
    assert comparison.totals.loc["dear letters", "message_cost"] > 10 * comparison.totals.loc["base", "message_cost"]
