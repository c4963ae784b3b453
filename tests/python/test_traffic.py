"""Traffic plans: channels by share or by volume, weekly and yearly seasonality, growth, cohorts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk

MONDAY = pd.Timestamp("2024-01-01 09:00")


def test_one_free_channel_by_default_and_constant_without_seasonality() -> None:
    plan = fk.TrafficPlan(500)
    assert plan.channel_names == ["direct"] and plan.cost_per_visitor.tolist() == [0.0]
    np.testing.assert_array_equal(plan._expected(MONDAY, 10), np.full((10, 1), 500.0))
    assert not plan.exact_counts


def test_shares_and_the_channels_without_one_split_the_rest() -> None:
    plan = fk.TrafficPlan(1000, channels=[fk.Channel("ads", share=0.5, cost_per_visitor=0.3),
                                          fk.Channel("seo"), fk.Channel("social")])
    assert plan.daily_per_channel().tolist() == [500.0, 250.0, 250.0]
    assert plan.cost_per_visitor.tolist() == [0.3, 0.0, 0.0]
    own = fk.TrafficPlan(None, channels=[fk.Channel("a", visitors_per_day=10), fk.Channel("b", visitors_per_day=30)])
    assert own._expected(MONDAY, 2).tolist() == [[10.0, 30.0], [10.0, 30.0]]


def test_weekly_factors_are_mean_normalised_from_monday() -> None:
    weekly = [1, 1, 1, 1, 1, 1.5, 1.5]
    plan = fk.TrafficPlan(700, weekly=weekly)
    expected = plan._expected(MONDAY + pd.Timedelta(days=2), 7)[:, 0]  # from a Wednesday
    mean = np.mean(weekly)
    assert expected.sum() == pytest.approx(7 * 700)
    assert expected[0] == pytest.approx(700 / mean) and expected[3] == pytest.approx(700 * 1.5 / mean)  # Saturday


def test_growth_compounds_per_30_days_and_yearly_by_calendar_month() -> None:
    plan = fk.TrafficPlan(100, growth=0.1)
    expected = plan._expected(MONDAY, 61)[:, 0]
    assert expected[0] == 100 and expected[30] == pytest.approx(110) and expected[60] == pytest.approx(121)
    yearly = [2.0] + [1.0] * 11
    seasonal = fk.TrafficPlan(100, yearly=yearly)._expected(pd.Timestamp("2024-01-30"), 3)[:, 0]
    assert seasonal == pytest.approx([200 / np.mean(yearly)] * 2 + [100 / np.mean(yearly)])


def test_cohort_is_exact_on_the_first_day() -> None:
    plan = fk.TrafficPlan.cohort(1234)
    assert plan.exact_counts and plan.channel_names == ["cohort"]
    expected = plan._expected(MONDAY, 5)
    assert expected[:, 0].tolist() == [1234.0, 0, 0, 0, 0]
    with pytest.raises(fk.StrategyError, match="cohort"):
        fk.TrafficPlan.cohort(-1)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: fk.TrafficPlan(100, channels=[fk.Channel("a", share=0.5), fk.Channel("b", share=0.3)]), "sum to 0.8"),
        (lambda: fk.TrafficPlan(100, channels=[fk.Channel("a", share=0.7), fk.Channel("b", share=0.7)]), "sum to 1.4"),
        (lambda: fk.TrafficPlan(100, channels=[fk.Channel("a", visitors_per_day=3)]), "channel 'a' gives"),
        (lambda: fk.TrafficPlan(None, channels=[fk.Channel("a", share=1.0)]), "'a' has none"),
        (lambda: fk.TrafficPlan(-5), "visitors_per_day"),
        (lambda: fk.TrafficPlan(100, weekly=[1, 2, 3]), "weekly needs 7"),
        (lambda: fk.TrafficPlan(100, yearly=[0.0] * 12), "yearly needs 12"),
        (lambda: fk.TrafficPlan(100, growth=-1.0), "growth"),
        (lambda: fk.TrafficPlan(100, channels=[fk.Channel("a"), fk.Channel("a")]), "unique"),
        (lambda: fk.Channel("a", share=0.5, visitors_per_day=10), "not both"),
        (lambda: fk.Channel("a", cost_per_visitor=-0.1), "cost_per_visitor"),
        (lambda: fk.Channel("a", share=1.5), "share"),
    ],
)
def test_bad_plans_say_what_is_wrong(build: object, message: str) -> None:
    with pytest.raises(fk.StrategyError, match=message):
        build()  # type: ignore[operator]
