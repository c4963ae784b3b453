"""Unit economics and the sales-volume decomposition: every metric against a hand computation or
NumPy on the simulation's replicate totals; the Shapley parts against a brute-force average over
all orders of the factors; bad input raises ForecastError naming the field."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funnelkit as fk
from funnelkit.errors import ForecastError, FunnelError
from funnelkit.forecasting.unit_economics import FACTORS, UnitEconomics, decompose, unit_economics

TOTALS: dict[str, Any] = {"visitors": 20_000, "leads": 4_000, "buyers": 300, "orders": 390, "revenue": 23_400.0,
                          "discounts": 600.0, "traffic_cost": 5_000.0, "message_cost": 400.0, "margin_rate": 0.35,
                          "days": 30, "stages": {"visit": 20_000, "cart": 1_500, "paid": 390}}


def test_totals_every_metric_by_hand() -> None:
    ue = unit_economics(TOTALS)
    gross_profit = 0.35 * 23_400 - 600            # 7590
    marketing = 5_000 + 400                       # 5400
    profit = gross_profit - marketing             # 2190
    cac = marketing / 300                         # 18
    expected = {
        "visitors": 20_000, "leads": 4_000, "buyers": 300, "orders": 390,
        "reach[cart]": 1_500 / 20_000, "step[visit->cart]": 1_500 / 20_000, "step[cart->paid]": 390 / 1_500,
        "conversion": 0.015, "average_order_value": 60.0, "orders_per_buyer": 1.3, "revenue": 23_400,
        "revenue_per_visitor": 1.17, "margin_rate": 0.35, "discounts": 600, "discount_rate": 600 / 23_400,
        "gross_profit": gross_profit, "gross_margin": gross_profit / 23_400, "traffic_cost": 5_000,
        "message_cost": 400, "marketing_cost": marketing, "profit": profit, "cost_per_visitor": 0.25,
        "cac": cac, "cpa_lead": marketing / 4_000, "cpa_order": marketing / 390,
        "gross_profit_per_buyer": gross_profit / 300, "romi": profit / marketing,
        "roi": profit / (0.65 * 23_400 + marketing), "payback_orders": cac / (gross_profit / 390),
        "payback_days": cac / (gross_profit / 300 / 30),
    }
    for metric, value in expected.items():
        assert ue[metric] == pytest.approx(value, rel=1e-12), metric
    assert math.prod(ue.factors.values()) == pytest.approx(ue["revenue"], rel=1e-14)
    assert ue.table[["low", "high"]].isna().all().all()
    assert set(ue.table.columns) == {"value", "low", "high", "formula", "unit"}
    assert (ue.table["formula"].str.len() > 0).all()


def test_per_period_scales_amounts_not_rates() -> None:
    total = unit_economics(TOTALS)
    for per, length in (("day", 1.0), ("week", 7.0), ("month", 365.25 / 12)):
        ue = unit_economics(TOTALS, per=per)
        for metric in ("visitors", "buyers", "revenue", "gross_profit", "profit", "traffic_cost"):
            assert ue[metric] == pytest.approx(total[metric] * length / 30, rel=1e-12)
            assert ue.table.at[metric, "unit"].endswith(f"/{per}")
        for metric in ("conversion", "average_order_value", "cac", "romi", "roi", "payback_orders", "payback_days"):
            assert ue[metric] == pytest.approx(total[metric], rel=1e-12)
    with pytest.raises(ForecastError) as error:
        unit_economics({k: v for k, v in TOTALS.items() if k != "days"}, per="day")
    assert error.value.subject == "days"


def test_payback_never_and_economics_default() -> None:
    ue = unit_economics({"visitors": 100, "buyers": 2, "orders": 2, "revenue": 100.0, "discounts": 40.0,
                         "traffic_cost": 10.0, "margin_rate": 0.3})
    assert ue["gross_profit"] == pytest.approx(-10.0)
    assert ue["payback_orders"] == math.inf
    assert "payback_days" not in ue.metrics and "leads" not in ue.metrics
    default = unit_economics({"visitors": 100, "buyers": 2, "orders": 2, "revenue": 100.0})
    assert default.margin_rate == fk.Economics().margin
    assert math.isnan(default["romi"])            # no marketing cost: no return on it
    assert unit_economics({"visitors": 100, "buyers": 2, "orders": 2, "revenue": 100.0},
                          economics=fk.Economics(margin=0.5))["gross_profit"] == 50.0


@pytest.mark.parametrize(("change", "subject"), [
    ({"buyers": -1}, "buyers"),
    ({"traffic_cost": -5.0}, "traffic_cost"),
    ({"revenue": math.nan}, "revenue"),
    ({"orders": "many"}, "orders"),
    ({"visitors": 0}, "visitors"),
    ({"buyers": 30_000}, "buyers"),
    ({"orders": 10}, "orders"),
    ({"margin_rate": 1.5}, "margin_rate"),
    ({"basket": 3}, "basket"),
    ({"stages": {"visit": -1}}, "stages[visit]"),
])
def test_bad_totals_name_the_field(change: dict[str, Any], subject: str) -> None:
    with pytest.raises(ForecastError) as error:
        unit_economics({**TOTALS, **change})
    assert isinstance(error.value, FunnelError) and isinstance(error.value, ValueError)
    assert error.value.subject == subject


def test_bad_arguments() -> None:
    with pytest.raises(ForecastError) as error:
        unit_economics({k: v for k, v in TOTALS.items() if k != "revenue"})
    assert error.value.subject == "revenue"
    with pytest.raises(ForecastError) as error:
        unit_economics(TOTALS, economics=fk.Economics(margin=0.2))   # the totals say 0.35
    assert error.value.subject == "margin_rate"
    assert unit_economics(TOTALS, economics=fk.Economics(margin=0.35)).margin_rate == 0.35
    with pytest.raises(ForecastError) as error:
        unit_economics(TOTALS, per="year")
    assert error.value.subject == "per"
    with pytest.raises(ForecastError) as error:
        unit_economics(TOTALS, steps=["visit", "checkout"])
    assert error.value.subject == "checkout"
    with pytest.raises(ForecastError) as error:
        unit_economics(TOTALS, lead_stage="lead")
    assert error.value.subject == "lead"
    with pytest.raises(TypeError):
        unit_economics([1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        unit_economics(TOTALS, economics={"margin": 0.3})  # type: ignore[arg-type]


def test_display() -> None:
    ue = unit_economics(TOTALS)
    frame = ue.to_pandas()
    assert list(frame.columns) == ["metric", "value", "low", "high", "formula", "unit"]
    assert "buyers / visitors" in ue._repr_html_() and "cac" in repr(ue)
    assert ue.to_dict()["cac"] == ue["cac"]
    with pytest.raises(KeyError):
        ue["ltv"]


# -- from a simulation ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim() -> fk.Simulation:
    plan = fk.TrafficPlan(400, channels=[fk.Channel("search", share=0.6, cost_per_visitor=0.4),
                                         fk.Channel("social", share=0.4, cost_per_visitor=0.1)])
    return fk.simulate(fk.examples.shop_funnel(), plan, fk.strategies.must_have(), horizon="21D", replicates=12,
                       seed=3, economics=fk.Economics(margin=0.3), progress=False)


def test_simulation_values_and_intervals_against_numpy(sim: fk.Simulation) -> None:
    ue = unit_economics(sim)
    rt = sim.replicate_totals
    mean = rt.mean()
    assert ue.replicates == 12 and ue.days == 21
    assert ue["visitors"] == pytest.approx(mean["leads"])
    assert ue["revenue"] == pytest.approx(mean["revenue"])
    assert ue["gross_profit"] == pytest.approx(mean["margin"])          # Economics.margin_of
    assert ue["profit"] == pytest.approx(mean["profit"])
    assert ue["traffic_cost"] == pytest.approx(mean["traffic_cost"])
    assert ue["conversion"] == pytest.approx(mean["buyers"] / mean["leads"])
    assert ue["average_order_value"] == pytest.approx(mean["revenue"] / mean["purchases"])
    assert ue["leads"] == pytest.approx(mean["entered_lead"])
    assert ue["step[cart->checkout]"] == pytest.approx(mean["entered_checkout"] / mean["entered_cart"])
    assert math.prod(ue.factors.values()) == pytest.approx(ue["revenue"], rel=1e-12)
    # intervals: the 5% and 95% percentiles of the metric computed replicate by replicate
    cac = (rt["traffic_cost"] + rt["message_cost"]) / rt["buyers"]
    assert ue.table.at["cac", "low"] == pytest.approx(np.quantile(cac, 0.05))
    assert ue.table.at["cac", "high"] == pytest.approx(np.quantile(cac, 0.95))
    assert ue.table.at["revenue", "low"] == pytest.approx(sim.totals.at["revenue", "low"])
    assert ue.table.at["revenue", "high"] == pytest.approx(sim.totals.at["revenue", "high"])
    romi = rt["profit"] / (rt["traffic_cost"] + rt["message_cost"])
    assert ue.table.at["romi", "low"] == pytest.approx(np.quantile(romi, 0.05))
    # the breakdowns add up: channels to the traffic cost, senders to the message cost
    channels = [m for m in ue.metrics if m.startswith("traffic_cost[")]
    senders = [m for m in ue.metrics if m.startswith("message_cost[")]
    assert len(channels) == 2 and len(senders) == len(sim.triggers)
    assert sum(ue[m] for m in channels) == pytest.approx(ue["traffic_cost"], rel=1e-12)
    assert sum(ue[m] for m in senders) == pytest.approx(ue["message_cost"], rel=1e-9)
    assert ue.table.at["traffic_cost[search]", "value"] == pytest.approx(0.4 * mean["arrivals_search"])
    assert "5%-95%" in ue._repr_html_()


def test_simulation_economics_and_periods(sim: fk.Simulation) -> None:
    repriced = unit_economics(sim, economics=fk.Economics(margin=0.5))
    mean = sim.replicate_totals.mean()
    assert repriced["gross_profit"] == pytest.approx(0.5 * mean["revenue"] - mean["discounts"])
    with pytest.raises(ForecastError) as error:
        unit_economics(sim, economics=fk.Economics(margin=0.3, order_value_cv=0.5))
    assert error.value.subject == "economics.order_value_cv"
    daily = unit_economics(sim, per="day")
    assert daily["revenue"] == pytest.approx(mean["revenue"] / 21)
    assert daily.table.at["revenue", "high"] == pytest.approx(sim.totals.at["revenue", "high"] / 21)
    assert daily["cac"] == pytest.approx(unit_economics(sim)["cac"])
    with pytest.raises(ForecastError) as error:
        unit_economics(sim, lead_stage="subscriber")
    assert error.value.subject == "subscriber"
    path = fk.examples.shop_funnel().most_likely_path()
    along = unit_economics(sim, steps=path)
    assert [m for m in along.metrics if m.startswith("step[")] == [
        f"step[{a}->{b}]" for a, b in itertools.pairwise(path.stages)]
    assert "step[paid->unsubscribed]" in unit_economics(sim).metrics   # a simulation's default: every stage
    steps = unit_economics(sim, steps=["visit", "cart", "checkout", "paid"])
    assert [m for m in steps.metrics if m.startswith("step[")] == [
        "step[visit->cart]", "step[cart->checkout]", "step[checkout->paid]"]


def test_a_forecast_is_its_simulation_over_the_forecast_days() -> None:
    shop = fk.examples.shop_funnel()
    plan = fk.TrafficPlan(400, channels=[fk.Channel("search", share=0.6, cost_per_visitor=0.4), fk.Channel("social")])
    base = fk.Base(shop, plan, fk.strategies.must_have(), fk.Economics(margin=0.3))
    cold = fk.forecast(base, horizon="21D", replicates=6, seed=3, progress=False)
    assert cold.simulation is not None
    from_forecast = unit_economics(cold)
    from_simulation = unit_economics(cold.simulation, steps=shop.most_likely_path())
    assert from_forecast.table.equals(from_simulation.table)
    # the default steps follow the funnel's most likely path when the funnel is known
    path = shop.most_likely_path()
    assert [m for m in from_forecast.metrics if m.startswith("step[")] == [
        f"step[{a}->{b}]" for a, b in itertools.pairwise(path.stages)]
    # with a warm-up, only the forecast's days count
    warm = fk.forecast(base, horizon="21D", replicates=6, seed=3, warm_up="30D", progress=False)
    sim = warm.simulation
    assert sim is not None and sim.days == 51
    ue = unit_economics(warm, per="day")
    window = {m: sim.per_replicate(m).iloc[30:].sum().mean() for m in
              ("arrivals", "buyers", "purchases", "revenue", "discounts", "traffic_cost", "message_cost", "margin",
               "entered_lead")}
    assert ue.days == 21 and ue.replicates == 6
    assert ue["visitors"] == pytest.approx(window["arrivals"] / 21)
    assert ue["buyers"] == pytest.approx(window["buyers"] / 21)
    assert ue["orders"] == pytest.approx(window["purchases"] / 21)
    assert ue["revenue"] == pytest.approx(window["revenue"] / 21)
    assert ue["gross_profit"] == pytest.approx(window["margin"] / 21)
    assert ue["message_cost"] == pytest.approx(window["message_cost"] / 21)
    assert ue["leads"] == pytest.approx(window["entered_lead"] / 21)
    assert not [m for m in ue.metrics if m.startswith("message_cost[")]  # known only over the whole run
    assert len([m for m in ue.metrics if m.startswith("traffic_cost[")]) == 2
    # a running shop converts more of the period's visitors than an empty one
    assert ue["conversion"] > unit_economics(cold)["conversion"]
    with pytest.raises(ForecastError, match="replicates=0") as error:
        unit_economics(fk.forecast(base, horizon="7D", replicates=0))
    assert error.value.subject == "replicates"


# -- decomposition -------------------------------------------------------------------------------
def _ue(visitors: float, buyers: float, orders: float, revenue: float, **more: Any) -> UnitEconomics:
    return unit_economics({"visitors": visitors, "buyers": buyers, "orders": orders, "revenue": revenue, **more})


def test_two_factor_example_by_hand() -> None:
    # 1000 visitors at 2% -> 1200 at 2.5%; AOV 50, one order each: revenue 1000 -> 1500.
    # Midpoint (Shapley) rule: visitors' part = 200 * (0.02 + 0.025) / 2 * 50 = 225,
    # conversion's part = 0.005 * (1000 + 1200) / 2 * 50 = 275; 225 + 275 = 500.
    parts = decompose(_ue(1000, 20, 20, 1000.0), _ue(1200, 30, 30, 1500.0))
    assert parts.loc["visitors", "contribution"] == pytest.approx(225.0, rel=1e-12)
    assert parts.loc["conversion", "contribution"] == pytest.approx(275.0, rel=1e-12)
    assert parts.loc["average_order_value", "contribution"] == pytest.approx(0.0, abs=1e-9)
    assert parts.loc["orders_per_buyer", "contribution"] == pytest.approx(0.0, abs=1e-9)
    assert parts.attrs["total_change"] == 500.0            # exact: the factors are ratios of the totals
    assert parts["share"].sum() == pytest.approx(1.0)
    assert list(parts.index) == list(FACTORS)


def _brute_force(base: list[float], other: list[float]) -> list[float]:
    """The average over all n! orders of switching the factors one by one (the definition)."""
    n = len(base)
    parts = [0.0] * n
    orders = list(itertools.permutations(range(n)))
    for order in orders:
        current = list(base)
        for i in order:
            before = math.prod(current)
            current[i] = other[i]
            parts[i] += (math.prod(current) - before) / len(orders)
    return parts


def test_four_factors_sum_exactly_and_match_the_definition() -> None:
    base = _ue(20_000, 300, 390, 23_400.0)
    other = _ue(26_000, 312, 468, 31_824.0)          # every factor moves
    parts = decompose(base, other)
    change = other["revenue"] - base["revenue"]
    assert math.fsum(parts["contribution"]) == pytest.approx(change, rel=1e-13)
    assert parts.attrs["total_change"] == change          # exactly, as floats
    # exactness: the parts, rounded once each, add up to the change within a few ulps
    assert abs(math.fsum(parts["contribution"]) - change) <= 4 * math.ulp(max(abs(c) for c in parts["contribution"]))
    reference = _brute_force([base[f] for f in FACTORS], [other[f] for f in FACTORS])
    np.testing.assert_allclose(parts["contribution"], reference, rtol=1e-10)
    # swapping base and other flips every part
    np.testing.assert_allclose(decompose(other, base)["contribution"], -parts["contribution"], rtol=1e-12)


@given(st.lists(st.floats(0.05, 20.0), min_size=8, max_size=8))
def test_parts_always_add_up(values: list[float]) -> None:
    v0, c0, a0, o0, v1, c1, a1, o1 = values
    base = _ue(1000 * v0, 1000 * v0 * c0 / 20, 1000 * v0 * c0 / 20 * (1 + o0), 1000 * v0 * c0 / 20 * (1 + o0) * a0)
    other = _ue(1000 * v1, 1000 * v1 * c1 / 20, 1000 * v1 * c1 / 20 * (1 + o1), 1000 * v1 * c1 / 20 * (1 + o1) * a1)
    parts = decompose(base, other)
    change = math.prod(other.factors.values()) - math.prod(base.factors.values())
    assert math.fsum(parts["contribution"]) == pytest.approx(change, rel=1e-12, abs=1e-9)


def test_profit_decomposition() -> None:
    base = _ue(10_000, 200, 240, 14_400.0, margin_rate=0.4, discounts=300.0, traffic_cost=2_000.0,
               message_cost=100.0)
    other = _ue(10_000, 250, 300, 18_000.0, margin_rate=0.35, discounts=500.0, traffic_cost=2_500.0,
                message_cost=150.0)
    parts = decompose(base, other, target="profit")
    assert list(parts.index) == [*FACTORS, "margin_rate", "discounts", "traffic_cost", "message_cost"]
    assert math.fsum(parts["contribution"]) == pytest.approx(other["profit"] - base["profit"], rel=1e-12)
    assert parts.loc["traffic_cost", "contribution"] == pytest.approx(-500.0)
    assert parts.loc["discounts", "contribution"] == pytest.approx(-200.0)
    # margin * revenue: conversion 0.02 -> 0.025 and margin 0.4 -> 0.35 (midpoint rule on the
    # product 10000 * 60 * 1.2 * conversion * margin)
    k = 10_000 * 60 * 1.2
    assert parts.loc["conversion", "contribution"] == pytest.approx(k * 0.005 * (0.4 + 0.35) / 2, rel=1e-12)
    assert parts.loc["margin_rate", "contribution"] == pytest.approx(k * -0.05 * (0.02 + 0.025) / 2, rel=1e-12)


def test_decompose_refuses_mismatches() -> None:
    base = unit_economics(TOTALS)
    with pytest.raises(ForecastError) as error:
        decompose(base, unit_economics(TOTALS, per="day"))
    assert error.value.subject == "per"
    with pytest.raises(ForecastError) as error:
        decompose(base, _ue(1000, 0, 0, 0.0))
    assert error.value.subject in {"orders", "buyers"}
    with pytest.raises(ForecastError) as error:
        decompose(base, base, target="margin")
    assert error.value.subject == "target"
    with pytest.raises(TypeError):
        decompose(base, TOTALS)  # type: ignore[arg-type]
