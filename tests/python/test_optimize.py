"""Strategy optimisation: the best candidate under a budget or a minimum margin, infeasibility,
random search, common random numbers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import funnelkit as fk
from funnelkit.forecasting import _totals as totals_module
from funnelkit.forecasting import optimize as optimize_module
from funnelkit.forecasting.base import Base
from funnelkit.forecasting.changes import ScenarioError, TriggerDelay, TriggerDiscount, TriggerOff
from funnelkit.forecasting.optimize import (
    InfeasibleStrategyError,
    Optimization,
    OptimizationError,
    optimize_strategy,
)

#: Small enough for a few seconds per test: 500 visitors a day, 30 days, 4 replicates.
RUN = {"horizon": "30D", "replicates": 4, "seed": 3}


def shop_base(discount: float = 0.0) -> Base:
    """visit -> cart -> checkout -> paid, in hours, with two cart reminders: "strong" (two
    letters, each moving half of its readers to checkout) and "weak" (one letter that moves
    no one)."""
    funnel = (fk.Funnel("small shop", time_unit="hours")
              .add_stage("visit", holding=fk.Exponential(mean=0.2))
              .add_stage("cart", holding=fk.Exponential(mean=3.0))
              .add_stage("checkout", holding=fk.Exponential(mean=0.5))
              .add_stage("paid", "success", value=80.0)
              .add_edge("visit", "cart", 0.3).add_edge("cart", "checkout", 0.2).add_edge("checkout", "paid", 0.6))

    def letter(after: str, move: float) -> fk.Message:
        return fk.Message(after=after, channel="email", cost=0.01, open=1.0, discount=discount,
                          effect=fk.MoveTo("checkout", move))

    strong = fk.Trigger("strong", fk.when.idle("cart"), [letter("30min", 0.5), letter("1h", 0.5)])
    weak = fk.Trigger("weak", fk.when.idle("cart"), [letter("30min", 0.0)])
    plan = fk.TrafficPlan(channels=[fk.Channel("web", share=1.0, cost_per_visitor=0.05)], visitors_per_day=500)
    return Base(funnel, plan, fk.Strategy([strong, weak]), fk.Economics(margin=0.3))


ONLY_STRONG, ONLY_WEAK, NONE = TriggerOff("weak"), TriggerOff("strong"), [TriggerOff("strong"), TriggerOff("weak")]
SPACE = {"reminder": [ONLY_STRONG, ONLY_WEAK, NONE]}


@pytest.fixture(scope="module")
def unconstrained() -> Optimization:
    return optimize_strategy(shop_base(), SPACE, **RUN)


def test_the_clearly_best_candidate_is_chosen_and_its_numbers_are_the_simulations(unconstrained):
    result = unconstrained
    table = result.table
    assert list(table.columns[:1]) == ["reminder"] and len(table) == 3
    assert table["feasible"].all() and table["best"].sum() == 1
    assert result.best.axes == {"reminder": "'weak' off"}
    assert result.changes == (ONLY_STRONG,)
    assert [t.name for t in result.best_base.strategy.triggers] == ["strong"]
    # the strong reminder earns clearly more than the weak one, which only costs
    strong, weak, none = table["objective"]
    assert strong > weak and strong > none and none > weak
    # independent: simulate the chosen base and the base strategy with the same seed
    best_run = fk.simulate(result.best_base.funnel, result.best_base.traffic, result.best_base.strategy,
                           progress=False, economics=result.best_base.economics, **RUN).replicate_totals
    base = shop_base()
    base_run = fk.simulate(base.funnel, base.traffic, base.strategy, progress=False, economics=base.economics,
                           **RUN).replicate_totals
    y = best_run["profit"].to_numpy()
    d = y - base_run["profit"].to_numpy()
    half = stats.t.ppf(0.975, 3) * d.std(ddof=1) / 2.0
    assert result.value == pytest.approx(y.mean(), rel=1e-12)
    assert result.improvement == pytest.approx(d.mean(), rel=1e-12)
    assert result.interval == pytest.approx((d.mean() - half, d.mean() + half), rel=1e-9)
    row = result.row
    half_y = stats.t.ppf(0.975, 3) * y.std(ddof=1) / 2.0
    assert (row["low"], row["high"]) == pytest.approx((y.mean() - half_y, y.mean() + half_y), rel=1e-9)
    assert row["messages"] == pytest.approx(best_run["messages"].mean())
    assert row["margin_share"] == pytest.approx(best_run["margin"].mean() / best_run["revenue"].mean())
    # no discount: the margin share is the margin rate; no reminder: no messages
    assert table["margin_share"].to_numpy() == pytest.approx([0.3, 0.3, 0.3])
    assert table["messages"].iloc[2] == 0 and table["messages"].iloc[0] > table["messages"].iloc[1] > 0
    np.testing.assert_array_equal(result.replicate_objective[result.best.name].to_numpy(), y)
    assert list(result.replicate_objective.columns) == ["(base)", *table.index]


def test_a_budget_that_excludes_the_best_chooses_the_next_best(unconstrained):
    messages = unconstrained.table["messages"]
    budget = float(messages.iloc[0]) - 1.0   # the strong reminder sends more than this
    assert budget > messages.iloc[1]
    result = optimize_strategy(shop_base(), SPACE, budget=budget, **RUN)
    assert result.table["feasible"].tolist() == [False, True, True]
    assert result.table["over_budget"].tolist() == [True, False, False]
    assert not result.table["below_margin"].any()
    # the weak reminder only costs: with the strong one out, no reminder is the next best
    assert result.best.axes == {"reminder": "'strong' off; 'weak' off"}
    assert result.budget == budget
    # infeasible candidates stay in the table with the same numbers
    pd.testing.assert_series_equal(result.table["objective"], unconstrained.table["objective"])


def test_a_budget_between_the_two_reminders_with_no_none_option_picks_the_weak_one(unconstrained):
    messages = unconstrained.table["messages"]
    budget = float(messages.iloc[1]) + 1.0
    result = optimize_strategy(shop_base(), {"reminder": [ONLY_STRONG, ONLY_WEAK]}, budget=budget, **RUN)
    assert result.best.changes == (ONLY_WEAK,)
    assert result.table["feasible"].tolist() == [False, True]


def test_infeasible_for_all_says_which_constraint_binds_and_by_how_much(unconstrained):
    weak_messages = float(unconstrained.table["messages"].iloc[1])
    with pytest.raises(InfeasibleStrategyError, match="message budget binds") as caught:
        optimize_strategy(shop_base(), {"reminder": [ONLY_STRONG, ONLY_WEAK]}, budget=10, **RUN)
    assert isinstance(caught.value, ValueError) and caught.value.subject == "budget"
    assert f"{weak_messages:,.1f} per replicate" in str(caught.value)
    assert f"{weak_messages - 10:,.1f} over the budget of 10" in str(caught.value)
    assert len(caught.value.table) == 2 and not caught.value.table["feasible"].any()

    # a 10% offer takes margin: no candidate that sends letters reaches the margin rate,
    # and without letters the share is exactly the rate, 0.3 < 0.35
    with pytest.raises(InfeasibleStrategyError, match="minimum margin binds") as caught:
        optimize_strategy(shop_base(discount=0.1), SPACE, min_margin=0.35, **RUN)
    assert caught.value.subject == "min_margin"
    assert "highest margin share is 0.3000" in str(caught.value) and "0.0500 below the minimum of 0.35" in str(
        caught.value)


def test_budget_and_margin_binding_together():
    # the strong reminder keeps the margin but sends too much; the weak one with an offer
    # sends less but gives margin away
    space = {"reminder": [ONLY_STRONG, [ONLY_WEAK, TriggerDiscount("weak", 0.1)]]}
    free = optimize_strategy(shop_base(), space, **RUN).table
    budget = float(free["messages"].iloc[1]) + 1.0
    assert free["messages"].iloc[0] > budget and free["margin_share"].iloc[1] < 0.299
    with pytest.raises(InfeasibleStrategyError, match="bind together") as caught:
        optimize_strategy(shop_base(), space, budget=budget, min_margin=0.299, **RUN)
    assert caught.value.subject == "budget, min_margin"
    short = 0.299 - float(free["margin_share"].iloc[1])
    assert f"highest margin share is {free['margin_share'].iloc[1]:.4f}" in str(caught.value)
    assert f"{short:.4f} below the minimum of 0.299" in str(caught.value)


def test_a_minimum_margin_excludes_discounted_candidates():
    result = optimize_strategy(shop_base(discount=0.1), SPACE, min_margin=0.299, **RUN)
    shares = result.table["margin_share"]
    assert shares.iloc[2] == pytest.approx(0.3) and (shares.iloc[:2] < 0.299).all()
    assert result.table["below_margin"].tolist() == [True, True, False]
    assert not result.table["over_budget"].any()
    assert result.best.changes == tuple(NONE)


def test_random_search_evaluates_k_distinct_candidates_reproducibly():
    space = {"delay": [TriggerDelay("strong", after=a, step=1) for a in ("10min", "20min")],
             "second": [None, TriggerDelay("strong", after="2h", step=2)],
             "reminder": [ONLY_STRONG, ONLY_WEAK, None]}   # last: the delays edit "strong" before it may go
    first = optimize_strategy(shop_base(), space, method="random", samples=5, **RUN)
    again = optimize_strategy(shop_base(), space, method="random", samples=5, **RUN)
    assert len(first.table) == 5 and first.table.index.is_unique and first.space_size == 12
    pd.testing.assert_frame_equal(first.table, again.table)
    other = optimize_strategy(shop_base(), space, method="random", samples=5, **{**RUN, "seed": 4})
    assert set(other.table.index) != set(first.table.index)
    # more samples than combinations: all of them, in grid order
    everything = optimize_strategy(shop_base(), {"reminder": SPACE["reminder"]}, method="random", samples=10,
                                   **RUN)
    assert list(everything.table["reminder"]) == ["'weak' off", "'strong' off", "'strong' off; 'weak' off"]


def test_common_random_numbers_identical_candidates_give_identical_values():
    # both values leave the base as it is (no discount; a delay x1)
    space = {"same": [TriggerDiscount("strong", 0.0), TriggerDelay("strong", factor=1.0)]}
    result = optimize_strategy(shop_base(), space, **RUN)
    a, b = result.table.index
    np.testing.assert_array_equal(result.replicate_objective[a], result.replicate_objective[b])
    np.testing.assert_array_equal(result.replicate_objective[a], result.replicate_objective["(base)"])
    assert result.table.loc[a, "delta"] == 0.0 and result.table.loc[a, "delta_low"] == 0.0
    assert result.best.name == a   # a tie goes to the first


def test_plot_repr_and_to_pandas(unconstrained):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    ax = unconstrained.plot()
    assert ax.get_xlabel() == "messages per replicate"
    ax = unconstrained.plot("reminder")
    assert ax.get_xlabel() == "reminder"
    with pytest.raises(OptimizationError, match="x_axis"):
        unconstrained.plot("nothing")
    assert "Best profit of 3 candidates" in repr(unconstrained)
    assert "<table" in unconstrained._repr_html_()
    frame = unconstrained.to_pandas()
    frame.iloc[0, 1] = math.nan
    assert not math.isnan(unconstrained.table.iloc[0, 1])


@pytest.mark.parametrize(("arguments", "match"), [
    ({"objective": "happiness"}, "objective must be one of"),
    ({"budget": -1}, "budget must be None or a number >= 0"),
    ({"min_margin": 1.5}, r"min_margin must be None or a number in \[0, 1\]"),
    ({"method": "anneal"}, "method must be"),
    ({"method": "random"}, "needs samples"),
    ({"samples": 3}, "samples is for method='random'"),
    ({"replicates": 1}, "replicates must be an integer >= 2"),
])
def test_bad_arguments(arguments, match):
    with pytest.raises(OptimizationError, match=match):
        optimize_strategy(shop_base(), SPACE, **{**RUN, **arguments})


def test_bad_spaces():
    with pytest.raises(OptimizationError, match="non-empty mapping"):
        optimize_strategy(shop_base(), {}, **RUN)
    with pytest.raises(ScenarioError, match="twice"):
        optimize_strategy(shop_base(), {"x": [ONLY_WEAK, ONLY_WEAK]}, **RUN)
    with pytest.raises(OptimizationError, match="other than the table's columns"):
        optimize_strategy(shop_base(), {"objective": [ONLY_WEAK]}, **RUN)


def counting_simulate(monkeypatch, stop_at: int | None = None) -> list[fk.Strategy | None]:
    """Replace the optimiser's simulate by one that records each strategy simulated (and
    raises KeyboardInterrupt at call ``stop_at``, counted from 1)."""
    seen: list[fk.Strategy | None] = []
    real = totals_module.simulate

    def recording(funnel, traffic, strategy, **kwargs):
        seen.append(strategy)
        if stop_at is not None and len(seen) == stop_at:
            raise KeyboardInterrupt
        return real(funnel, traffic, strategy, **kwargs)

    monkeypatch.setattr(totals_module, "simulate", recording)
    return seen


def test_identical_candidates_are_simulated_once_and_say_which_they_repeat(monkeypatch):
    seen = counting_simulate(monkeypatch)
    # "strong" off last: both of its delays give the same strategy; 30min is the base's own
    space = {"delay": [TriggerDelay("strong", after="10min", step=1), TriggerDelay("strong", after="30min", step=1)],
             "on": [None, TriggerOff("strong")]}
    result = optimize_strategy(shop_base(), space, **RUN)
    table = result.table
    names = list(table.index)
    assert len(seen) == 3 and result.timing["evaluations"] == 3   # base, 10min, strong off
    assert table["same_as"].isna().tolist() == [True, True, False, False]
    assert table["same_as"].iloc[2:].tolist() == ["(base)", names[1]]
    for repeat, original in ((names[2], "(base)"), (names[3], names[1])):
        np.testing.assert_array_equal(result.replicate_objective[repeat], result.replicate_objective[original])
    # independent: the repeated rows hold what simulating them would give
    for name in names[2:]:
        applied = result.candidates[names.index(name)].apply(shop_base())
        run = fk.simulate(applied.funnel, applied.traffic, applied.strategy, economics=applied.economics,
                          progress=False, **RUN).replicate_totals
        assert table.loc[name, "objective"] == pytest.approx(run["profit"].mean(), rel=1e-12)
        assert table.loc[name, "messages"] == pytest.approx(run["messages"].mean(), rel=1e-12)
    assert table.loc[names[2], "delta"] == 0.0


class FakeBar:
    def __init__(self, total):
        self.total, self.updates, self.postfix, self.closed = total, 0, "", False

    def update(self, n):
        self.updates += n

    def set_postfix_str(self, text, refresh=True):
        self.postfix = text

    def close(self):
        self.closed = True


def test_progress_bar_counts_the_simulations_and_shows_the_top_objective(monkeypatch):
    assert optimize_module._bar(3, False) is None
    bars: list[FakeBar] = []
    monkeypatch.setattr(optimize_module, "_bar", lambda total, enabled: bars.append(FakeBar(total)) or bars[-1])
    result = optimize_strategy(shop_base(), SPACE, **RUN)
    (bar,) = bars
    assert bar.total == bar.updates == 4 and bar.closed
    assert bar.postfix == f"top profit {result.table['objective'].max():,.2f}"


def test_ctrl_c_stops_the_search_and_closes_the_bar(monkeypatch):
    bars: list[FakeBar] = []
    monkeypatch.setattr(optimize_module, "_bar", lambda total, enabled: bars.append(FakeBar(total)) or bars[-1])
    seen = counting_simulate(monkeypatch, stop_at=2)
    with pytest.raises(KeyboardInterrupt):
        optimize_strategy(shop_base(), SPACE, **RUN)
    assert len(seen) == 2 and bars[0].closed and bars[0].updates == 1


def test_repr_numbers_the_rows_instead_of_repeating_the_labels(unconstrained):
    body = repr(unconstrained).splitlines()
    assert body[1].split()[:2] == ["reminder", "objective"]
    assert body[2].startswith("0 ") and "candidate [" not in "\n".join(body[1:])


def test_a_warm_up_counts_the_objective_from_the_start():
    # The objective per replicate equals compare_scenarios' with the same warm-up, seed and
    # replicates (one simulation code path), and the warm-up changes the runs.
    base = shop_base()
    space = {"strong": [None, TriggerOff("strong")]}
    warm = optimize_strategy(base, space, horizon="14D", replicates=4, seed=3, warm_up="20D", progress=False)
    cold = optimize_strategy(base, space, horizon="14D", replicates=4, seed=3, progress=False)
    check = fk.compare_scenarios(base, [fk.Scenario("off", [TriggerOff("strong")])], horizon="14D", replicates=4,
                                 seed=3, warm_up="20D", metrics=["profit"])
    expected = check.replicate_totals["base"]["profit"].to_numpy()
    assert warm.replicate_objective["(base)"].to_numpy() == pytest.approx(expected, rel=1e-12)
    assert not np.allclose(cold.replicate_objective["(base)"].to_numpy(), expected)
