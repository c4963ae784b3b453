"""fk.simulate end to end: reproducibility (seed, thread count), Ctrl-C, the horizon and the
start in the funnel's units, the initial population, bad arguments, common random numbers in
compare_strategies, and the loop simulate -> fit -> compare on the shop funnel."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.simulation import run as run_module


def shop_run(**options: Any) -> fk.Simulation:
    defaults: dict[str, Any] = {"horizon": "21D", "replicates": 3, "seed": 4, "progress": False}
    return fk.simulate(fk.examples.shop_funnel(), 800, fk.strategies.must_have(), **{**defaults, **options})


def assert_same(a: fk.Simulation, b: fk.Simulation) -> None:
    pd.testing.assert_frame_equal(a.daily, b.daily)
    pd.testing.assert_frame_equal(a.triggers, b.triggers)
    assert a.counts == b.counts


def test_results_do_not_depend_on_the_thread_count() -> None:
    one = shop_run(threads=1, keep_events=True, keep_leads=True)
    two = shop_run(threads=2, keep_events=True, keep_leads=True)
    assert_same(one, two)
    pd.testing.assert_frame_equal(one.events, two.events)
    pd.testing.assert_frame_equal(one.messages, two.messages)
    pd.testing.assert_frame_equal(one.leads, two.leads)
    assert one.counts["messages"] > 0  # the strategy did send


def test_the_same_seed_repeats_and_another_seed_differs() -> None:
    assert_same(shop_run(), shop_run())
    other = shop_run(seed=5)
    assert not np.array_equal(other.daily["arrivals"].to_numpy(), shop_run().daily["arrivals"].to_numpy())


def test_horizon_is_converted_to_the_funnel_unit_and_days_are_bins() -> None:
    sim = shop_run(horizon="36h", replicates=1)  # the shop funnel is in hours
    assert sim.days == 2
    assert list(sim.daily.index) == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-01-06")]
    # arrivals stop at the horizon: the second day is half a day
    assert sim.daily["arrivals"].iloc[1] < 0.75 * sim.daily["arrivals"].iloc[0]
    late = shop_run(horizon=48.0, replicates=1, start="2026-03-02 15:30")  # a number: hours already
    assert late.days == 2 and late.start == pd.Timestamp("2026-03-02")
    days = fk.Funnel.from_dict({**fk.examples.shop_funnel().to_dict(), "time_unit": "days"})
    assert fk.simulate(days, 100, horizon="3D", replicates=1, progress=False).days == 3


def test_ctrl_c_stops_the_run_without_a_result(monkeypatch: pytest.MonkeyPatch) -> None:
    def interrupting(run: Any, **_: Any) -> Any:
        def report(done: int, total: int) -> None:
            raise KeyboardInterrupt

        return run(report)

    monkeypatch.setattr(run_module, "with_progress", interrupting)
    with pytest.raises(KeyboardInterrupt):
        fk.simulate(fk.examples.shop_funnel(), 5_000, horizon="60D", replicates=4, progress=True)


def test_a_population_starts_in_its_stages_and_converts_as_the_funnel_score_says() -> None:
    funnel = fk.examples.shop_funnel()
    n = 20_000
    population = pd.DataFrame({"stage": ["cart"] * n, "time_in_stage_days": [0.05] * n},
                              index=pd.RangeIndex(n, name="lead"))
    sim = fk.simulate(funnel, fk.TrafficPlan.cohort(0), None, horizon="400D", replicates=1, seed=2,
                      population=population, keep_leads=True, progress=False)
    leads = sim.leads
    assert len(leads) == n and leads["population_id"].tolist() == list(range(n))
    assert (leads["channel"] == "population").all()
    p = float(fk.FunnelScorer(funnel).score(population.iloc[:1].assign(stage=pd.Categorical(["cart"]))).iloc[0])
    converted = (leads["final_stage"] == "paid").mean()
    assert abs(converted - p) < 4 * math.sqrt(p * (1 - p) / n)
    hours = population.rename(columns={"time_in_stage_days": "time_in_stage"}).assign(time_in_stage=1.2)
    again = fk.simulate(funnel, fk.TrafficPlan.cohort(0), None, horizon="400D", replicates=1, seed=2,
                        population=hours, progress=False)
    pd.testing.assert_frame_equal(again.daily, sim.daily)  # 0.05 days == 1.2 hours


def test_bad_arguments_raise_clear_errors() -> None:
    funnel = fk.examples.shop_funnel()
    with pytest.raises(fk.UnknownStageError, match="basket"):
        fk.simulate(funnel, 10, population=pd.DataFrame({"stage": ["basket"], "time_in_stage": [1.0]}),
                    progress=False)
    with pytest.raises(fk.FeatureValueError, match="time in stage"):
        fk.simulate(funnel, 10, population=pd.DataFrame({"stage": ["cart"], "time_in_stage": [-1.0]}),
                    progress=False)
    with pytest.raises(ValueError, match="horizon"):
        fk.simulate(funnel, 10, horizon="0D", progress=False)
    with pytest.raises(ValueError, match="horizon"):
        fk.simulate(funnel, 10, horizon="-3D", progress=False)
    with pytest.raises(ValueError, match="replicates"):
        fk.simulate(funnel, 10, replicates=0, progress=False)
    with pytest.raises(TypeError, match="Funnel"):
        fk.simulate("shop", 10, progress=False)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="TrafficPlan"):
        fk.simulate(funnel, "many", progress=False)  # type: ignore[arg-type]


def test_a_fitted_funnel_is_simulated_through_its_funnel() -> None:
    log = fk.datasets.shop_events(3_000, seed=1)
    fit = fk.fit_funnel(log.events, progress=False)
    a = fk.simulate(fit, 200, horizon="5D", replicates=2, progress=False)
    b = fk.simulate(fit.funnel, 200, horizon="5D", replicates=2, progress=False)
    pd.testing.assert_frame_equal(a.daily, b.daily)


def test_compare_strategies_uses_common_random_numbers() -> None:
    comparison = fk.compare_strategies(fk.examples.shop_funnel(), 1_500, {"none": None,
                                                                          "must-have": fk.strategies.must_have()},
                                       horizon="30D", replicates=6, seed=9, progress=False)
    none, must = comparison["none"], comparison["must-have"]
    # the same traffic in both arms
    pd.testing.assert_series_equal(none.daily["arrivals"], must.daily["arrivals"])
    deltas = comparison.deltas
    assert deltas.loc[("must-have", "arrivals"), "sd"] == 0.0
    assert deltas.loc[("must-have", "messages"), "mean"] > 0
    # paired differences are far less noisy than either arm
    paired = deltas.loc[("must-have", "buyers"), "sd"]
    assert paired < none.totals.loc["buyers", "sd"]
    table = comparison.table
    assert table.loc["must-have", "incremental_buyers_low"] <= table.loc["must-have", "incremental_buyers"]
    assert set(table.index) == {"none", "must-have"}


def test_simulate_fit_compare_closes_the_loop() -> None:
    truth = fk.examples.shop_funnel()
    sim = fk.simulate(truth, 1_500, None, horizon="120D", replicates=1, seed=7, keep_events=True, progress=False)
    events = sim.events
    assert events["lead_id"].dtype == np.int64
    assert set(events["event"].astype(str)) <= {s.name for s in truth.stages}
    stages = [s.name for s in truth.stages]
    # 99.9% intervals for nine edges: a correct engine misses one in about 1% of seeds (seed 6
    # does, by 3.1 standard errors on lead -> unsubscribed; larger runs agree to 0.2 of one)
    fit = fk.fit_funnel(events, {s: s for s in stages}, window="30D", level=0.999, progress=False)
    probabilities = {(e.source, e.target): e.probability for e in truth.edges}
    seen = fit.transitions[fit.transitions.target != "left"]
    assert set(zip(seen.source, seen.target, strict=True)) <= set(probabilities)
    for row in seen.itertuples():
        assert row.lower <= probabilities[(row.source, row.target)] <= row.upper, (row.source, row.target)
    fitted = fit.funnel.analyze().success_probability
    assert fitted == pytest.approx(truth.analyze().success_probability, rel=0.1)
