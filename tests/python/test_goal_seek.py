"""Goal seek against closed forms (revenue proportional to an edge probability and to traffic,
profit affine in the margin rate), with SciPy and with the bisection used without it; goals
out of reach say the range reached and why."""

from __future__ import annotations

import sys

import pytest

import funnelkit as fk
from funnelkit.forecasting._totals import path_totals
from funnelkit.forecasting.base import Base
from funnelkit.forecasting.changes import ChannelTraffic, EdgeProbability, Margin
from funnelkit.forecasting.goal_seek import GoalSeekError, InfeasibleGoalError, goal_seek

P2, HORIZON = 0.3, "60D"


def base() -> Base:
    funnel = (fk.Funnel("linear", time_unit="days")
              .add_stage("visit", holding=fk.Exponential(mean=1.0))
              .add_stage("cart", holding=fk.Exponential(mean=2.0))
              .add_stage("paid", kind="success", value=50.0)
              .add_edge("visit", "cart", 0.2).add_edge("cart", "paid", P2))
    return Base(funnel, fk.TrafficPlan(1_000, channels=[fk.Channel("ads", cost_per_visitor=0.25)]))


def edge(x: float) -> EdgeProbability:
    return EdgeProbability("cart", "paid", probability=x)


@pytest.fixture(scope="module")
def totals() -> dict[str, float]:
    return path_totals(base(), horizon=HORIZON)


def test_edge_probability_for_a_revenue_target(totals: dict[str, float]) -> None:
    # revenue is proportional to p(cart -> paid): x = p0 x target / R0
    target = 1.25 * totals["revenue"]
    goal = goal_seek(base(), "revenue", target, edge, bounds=(0.0, 1.0), horizon=HORIZON)
    assert goal.x == pytest.approx(P2 * 1.25, rel=1e-9)
    assert goal.value == pytest.approx(target, rel=1e-9)
    assert goal.base_value == pytest.approx(totals["revenue"], rel=1e-12)
    assert goal.method == "brentq"
    assert goal.change == f"p(cart -> paid) = {goal.x:g}"
    assert goal.to_dict()["metric"] == "revenue" and "Goal seek" in goal._repr_html_()


def test_bisection_without_scipy(monkeypatch: pytest.MonkeyPatch, totals: dict[str, float]) -> None:
    monkeypatch.setitem(sys.modules, "scipy", None)
    monkeypatch.setitem(sys.modules, "scipy.optimize", None)
    target = 0.8 * totals["revenue"]
    goal = goal_seek(base(), "revenue", target, edge, bounds=(0.0, 1.0), horizon=HORIZON)
    assert goal.method == "bisection"
    assert goal.x == pytest.approx(P2 * 0.8, rel=1e-9)


def test_traffic_for_a_revenue_target(totals: dict[str, float]) -> None:
    goal = goal_seek(base(), "revenue", 2.5 * totals["revenue"], lambda x: ChannelTraffic(factor=x),
                     bounds=(0.5, 4.0), horizon=HORIZON)
    assert goal.x == pytest.approx(2.5, rel=1e-9)


def test_margin_for_a_profit_target(totals: dict[str, float]) -> None:
    # profit = m R - C: m = (target + C) / R
    target = 0.5 * totals["revenue"] - totals["traffic_cost"] + 1_000.0
    goal = goal_seek(base(), "profit", target, lambda x: Margin(margin=x), bounds=(0.0, 1.0), horizon=HORIZON)
    assert goal.x == pytest.approx((target + totals["traffic_cost"]) / totals["revenue"], rel=1e-9)


def test_infeasible_goal_says_the_range_and_why(totals: dict[str, float]) -> None:
    most = totals["revenue"] / P2  # p(cart -> paid) = 1
    with pytest.raises(InfeasibleGoalError) as raised:
        goal_seek(base(), "revenue", 2 * most, edge, bounds=(0.0, 1.0), horizon=HORIZON)
    message = str(raised.value)
    assert isinstance(raised.value, ValueError)
    assert "cannot be reached" in message and "above the most the bounds give" in message
    assert f"{most:,.6g}" in message and "p(cart -> paid) = 1" in message and f"{0.0:,.6g}" in message
    with pytest.raises(InfeasibleGoalError, match="below the least"):
        goal_seek(base(), "revenue", 0.5 * totals["revenue"], edge, bounds=(0.2, 1.0), horizon=HORIZON)
    with pytest.raises(InfeasibleGoalError, match="does not move revenue"):
        goal_seek(base(), "revenue", 2 * totals["revenue"], lambda x: Margin(margin=x), bounds=(0.1, 0.9),
                  horizon=HORIZON)


def test_bad_input(totals: dict[str, float]) -> None:
    with pytest.raises(GoalSeekError, match="low < high"):
        goal_seek(base(), "revenue", 1.0, edge, bounds=(1.0, 0.0))
    with pytest.raises(GoalSeekError, match="unknown metric"):
        goal_seek(base(), "sales", 1.0, edge, bounds=(0.0, 1.0))
    with pytest.raises(GoalSeekError, match=r"at x = 1\.125 the change cannot be applied .*narrow the bounds"):
        goal_seek(base(), "revenue", totals["revenue"], edge, bounds=(0.0, 1.5), horizon=HORIZON)
    with pytest.raises(GoalSeekError, match="target_value must be a finite number"):
        goal_seek(base(), "revenue", float("nan"), edge, bounds=(0.0, 1.0))
