"""Sensitivity: elasticities of the expected-value path against hand-computed ones (exact for
inputs the metrics are linear in), a holding time against the closed form of a two-step
exponential funnel, one elasticity against finite differences of the simulation with common
random numbers; one-sided differences; the table and the tornado chart."""

from __future__ import annotations

import math

import numpy as np
import pytest
from matplotlib.patches import Rectangle

import funnelkit as fk
from funnelkit.errors import ForecastError
from funnelkit.forecasting._totals import path_totals
from funnelkit.forecasting.base import Base
from funnelkit.forecasting.changes import EdgeProbability
from funnelkit.forecasting.sensitivity import Parameter, Sensitivity, parameters, sensitivity

P1, P2, VALUE, MARGIN = 0.2, 0.3, 50.0, 0.3
SHARES, COSTS = {"search": 0.6, "social": 0.4}, {"search": 0.4, "social": 0.1}
VISITORS, DAYS = 1_000.0, 90
M1, M2 = 1.0, 2.0  # mean holding times (days) of visit and cart


def linear_base(p1: float = P1, margin: float = MARGIN) -> Base:
    funnel = (fk.Funnel("linear", time_unit="days")
              .add_stage("visit", holding=fk.Exponential(mean=M1))
              .add_stage("cart", holding=fk.Exponential(mean=M2))
              .add_stage("paid", kind="success", value=VALUE)
              .add_edge("visit", "cart", p1).add_edge("cart", "paid", P2))
    plan = fk.TrafficPlan(VISITORS, channels=[fk.Channel(n, share=s, cost_per_visitor=COSTS[n])
                                              for n, s in SHARES.items()])
    return Base(funnel, plan, economics=fk.Economics(margin=margin))


@pytest.fixture(scope="module")
def linear() -> Sensitivity:
    return sensitivity(linear_base(), horizon=f"{DAYS}D")


def test_every_parameter_is_listed(linear: Sensitivity) -> None:
    assert set(linear.table["parameter"]) == {
        "p(visit -> cart)", "p(cart -> paid)", "holding(visit)", "holding(cart)", "traffic", "traffic(search)",
        "traffic(social)", "cost per visitor", "cost per visitor(search)", "cost per visitor(social)",
        "order value", "margin"}
    assert (linear.table["difference"] == "central").all()
    ranked = np.abs(linear.table["elasticity_revenue"].to_numpy())
    assert (np.diff(ranked) <= 1e-12).all()  # ranked by |elasticity of revenue|


def test_revenue_elasticities_of_linear_inputs_are_exact(linear: Sensitivity) -> None:
    # revenue = visitors x p1 x p2 x value x (share of journeys finished in the horizon):
    # linear in traffic, in each edge probability and in the order value; free of margin and costs
    for name in ("traffic", "order value", "p(visit -> cart)", "p(cart -> paid)"):
        assert linear.elasticity(name, "revenue") == pytest.approx(1.0, abs=1e-9), name
    for name in ("margin", "cost per visitor", "cost per visitor(search)", "cost per visitor(social)"):
        assert linear.elasticity(name, "revenue") == pytest.approx(0.0, abs=1e-12), name
    # one channel's elasticity is its share of the revenue: its share of the visitors
    for name, share in SHARES.items():
        assert linear.elasticity(f"traffic({name})", "revenue") == pytest.approx(share, abs=1e-9)


def test_profit_elasticities_against_hand_computed(linear: Sensitivity) -> None:
    totals = path_totals(linear_base(), horizon=f"{DAYS}D")
    revenue, profit = totals["revenue"], totals["profit"]
    cost = {n: DAYS * VISITORS * SHARES[n] * COSTS[n] for n in SHARES}
    assert totals["traffic_cost"] == pytest.approx(sum(cost.values()), rel=1e-12)
    assert profit == pytest.approx(MARGIN * revenue - sum(cost.values()), rel=1e-12)
    # profit = m R - C: d log P / d log m = d log P / d log value = m R / P; to a channel's
    # cost: -C_c / P; to a channel's traffic: (m R_c - C_c) / P with R_c = share_c R
    assert linear.elasticity("margin", "profit") == pytest.approx(MARGIN * revenue / profit, rel=1e-9)
    assert linear.elasticity("order value", "profit") == pytest.approx(MARGIN * revenue / profit, rel=1e-9)
    assert linear.elasticity("p(cart -> paid)", "profit") == pytest.approx(MARGIN * revenue / profit, rel=1e-9)
    for name in SHARES:
        assert linear.elasticity(f"cost per visitor({name})", "profit") == pytest.approx(-cost[name] / profit,
                                                                                         rel=1e-9)
        assert linear.elasticity(f"traffic({name})", "profit") == pytest.approx(
            (MARGIN * SHARES[name] * revenue - cost[name]) / profit, rel=1e-9)
    assert linear.elasticity("traffic", "profit") == pytest.approx(1.0, abs=1e-9)
    row = linear.table.set_index("parameter").loc["margin"]
    assert row["change_profit_10pct"] == pytest.approx(0.1 * MARGIN * revenue, rel=1e-9)


def _finished_share(m1: float, m2: float, horizon: float) -> float:
    """Arrivals spread evenly over [0, H], T = T1 + T2 exponential (means m1 != m2): the
    share of them with arrival + T < H, (1/H) * integral_0^H P(T <= t) dt."""
    a, b = 1 / m1, 1 / m2
    survival = (b * (1 - math.exp(-a * horizon)) / a - a * (1 - math.exp(-b * horizon)) / b) / (b - a)
    return (horizon - survival) / horizon


def test_holding_time_elasticity_against_the_closed_form(linear: Sensitivity) -> None:
    # d log R / d log m2 of R ~ integral_0^H P(T1 + T2 <= t) dt, the derivative by a fine central
    # difference of the closed form; the path rounds each move to 1/24 day
    # (measured: 4e-7 apart; tolerance 1e-5)
    h = 1e-6
    exact = (math.log(_finished_share(M1, M2 * (1 + h), DAYS)) - math.log(_finished_share(M1, M2 * (1 - h), DAYS))) / (
        math.log1p(h) - math.log1p(-h))
    assert exact == pytest.approx(-M2 / (DAYS - M1 - M2), rel=0.05)  # the long-horizon limit
    assert linear.elasticity("holding(cart)", "revenue") == pytest.approx(exact, abs=1e-5)


def test_one_sided_where_the_row_is_full() -> None:
    s = sensitivity(linear_base(p1=1.0, margin=1.0), horizon="30D", changes=["edge", "margin"])
    table = s.table.set_index("parameter")
    assert table.loc["p(visit -> cart)", "difference"].startswith("one-sided (backward)")
    assert "sum" in table.loc["p(visit -> cart)", "difference"]
    assert table.loc["margin", "difference"].startswith("one-sided (backward)")
    assert table.loc["p(cart -> paid)", "difference"] == "central"
    # linear in both: the backward difference is exact too
    assert table.loc["p(visit -> cart)", "elasticity_revenue"] == pytest.approx(1.0, abs=1e-9)
    assert table.loc["margin", "elasticity_revenue"] == pytest.approx(0.0, abs=1e-12)


def test_against_finite_differences_of_the_simulation() -> None:
    # The shop funnel (loops, log-normal and Weibull holding times): the elasticity of revenue
    # to p(lead -> interest) from the path's central difference at step 0.1, against the same
    # difference of simulated mean revenue: two runs (factor 1.1 and 0.9) with one seed, so that
    # both share traffic and every lead's draws (common random numbers). Tolerance: 5 standard
    # errors of the paired per-replicate differences plus 0.02 for the path's time rounding.
    base = Base(fk.examples.shop_funnel(), fk.TrafficPlan(500))
    horizon, step, replicates = "30D", 0.1, 20
    s = sensitivity(base, horizon=horizon, step=step, changes=["edge"], metrics=("revenue",))
    analytic = s.elasticity("p(lead -> interest)")
    assert 0.5 < analytic < 0.9  # not 1: leads also reach the cart straight from the visit

    def revenue(factor: float) -> np.ndarray:
        changed = EdgeProbability("lead", "interest", factor=factor).apply(base)
        sim = fk.simulate(changed.funnel, changed.traffic, horizon=horizon, replicates=replicates, seed=7,
                          progress=False)
        totals: np.ndarray = sim.per_replicate("revenue").sum(axis=0).to_numpy(dtype=np.float64)
        return totals

    up, down = revenue(1 + step), revenue(1 - step)
    mid = 0.5 * (up.mean() + down.mean())
    per_replicate = (up - down) / (2 * step * mid)
    simulated = per_replicate.mean()
    se = per_replicate.std(ddof=1) / math.sqrt(replicates)
    assert abs(simulated - analytic) < 5 * se + 0.02, (simulated, analytic, se)


def test_own_parameters_and_kinds() -> None:
    base = linear_base()
    own = Parameter("cart -> paid (own)", "edge", P2, lambda f: EdgeProbability("cart", "paid", factor=f))
    s = sensitivity(base, horizon="30D", changes=[own, "margin"], metrics=("purchases",))
    assert list(s.table["parameter"]) == ["cart -> paid (own)", "margin"]
    assert s.elasticity("cart -> paid (own)") == pytest.approx(1.0, abs=1e-9)
    assert [p.kind for p in parameters(base, ["holding"])] == ["holding", "holding"]


def test_strict_remainder_leaves_the_drop_edges_out() -> None:
    funnel = (fk.Funnel("strict", remainder="strict", drop_stage="lost")
              .add_stage("visit").add_stage("paid", kind="success", value=10.0).add_stage("lost", kind="failure")
              .add_edge("visit", "paid", 0.1).add_edge("visit", "lost", 0.9))
    names = [p.name for p in parameters(Base(funnel, fk.TrafficPlan(100)), ["edge"])]
    assert names == ["p(visit -> paid)"]


def test_table_html_and_tornado(linear: Sensitivity) -> None:
    frame = linear.to_pandas()
    assert list(frame.columns) == ["parameter", "kind", "base_value", "elasticity_revenue", "elasticity_profit",
                                   "change_revenue_10pct", "change_profit_10pct", "difference"]
    assert "Sensitivity over 90D" in linear._repr_html_()
    assert "elasticity_profit" in repr(linear)
    assert linear.ranked("profit")["parameter"].iloc[0] in {"traffic", "margin", "order value", "p(visit -> cart)",
                                                           "p(cart -> paid)"}
    ax = linear.plot("profit", top=5)
    assert len(ax.patches) == 10  # +10% and -10% bar of each of the top 5
    widths = sorted(abs(p.get_width()) for p in ax.patches if isinstance(p, Rectangle))
    assert widths[-1] == pytest.approx(abs(linear.ranked("profit")["change_profit_10pct"].iloc[0]))


def test_bad_input() -> None:
    base = linear_base()
    with pytest.raises(ForecastError, match="unknown metric 'sales'"):
        sensitivity(base, metrics=("sales",))
    with pytest.raises(ForecastError, match="step"):
        sensitivity(base, step=0.0)
    with pytest.raises(ForecastError, match="unknown parameter kind 'edges'"):
        sensitivity(base, changes=["edges"])
    with pytest.raises(ForecastError, match="no parameter 'p'"):
        sensitivity(base, horizon="5D", changes=["margin"]).elasticity("p")
    with pytest.raises(TypeError, match="needs a Base"):
        sensitivity(base.funnel)  # type: ignore[arg-type]
