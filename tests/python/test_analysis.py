"""Analytics against independent NumPy computations, closed forms, brute force and finite
differences."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from reference import dense_chain, expected_outcomes, random_funnel

import funnelkit as fk


@settings(max_examples=60, deadline=None)
@example(seed=943, n=11, discount=1.0)  # a stage that cannot succeed: exact zeros, not round-off
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), discount=st.sampled_from([1.0, 0.9, 0.5]))
def test_random_chains_match_numpy(seed: int, n: int, discount: float) -> None:
    rng = np.random.default_rng(seed)
    funnel = random_funnel(rng, n, n_success=int(rng.integers(1, 3)), discount=discount)
    chain = dense_chain(funnel)
    ref = expected_outcomes(chain)
    analysis = funnel.analyze()
    table = analysis.stages().to_pandas()
    transient = chain.transient
    names = [name for name, t in zip(chain.names, transient, strict=True) if t]
    assert list(table.index) == chain.names

    np.testing.assert_allclose(table.loc[names, "success_probability"], ref["success"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(table.loc[names, "expected_steps"], ref["steps"], rtol=1e-9)
    np.testing.assert_allclose(table.loc[names, "steps_sd"] ** 2, ref["steps_var"], rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(table.loc[names, "expected_time"], ref["time"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(table.loc[names, "time_sd"] ** 2, ref["time_var"], rtol=1e-8, atol=1e-9)
    # where success is impossible by structure funnelkit says exactly 0 and NaN, not round-off
    possible = ref["success"] > 1e-12
    np.testing.assert_allclose(
        table.loc[names, "time_to_success"][possible], ref["time_to_success"][possible], rtol=1e-8
    )
    assert np.isnan(table.loc[names, "time_to_success"][~possible]).all()
    assert (table.loc[names, "success_probability"][~possible] == 0).all()
    np.testing.assert_allclose(table.loc[names, "expected_value"], ref["value"], rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(table.loc[names, "expected_visits"], ref["visits"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(table.loc[names, "reached"], ref["reach"], rtol=1e-9, atol=1e-12)
    absorption = analysis.absorption().to_pandas()
    np.testing.assert_allclose(absorption.loc[names].to_numpy(), ref["absorption"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(absorption.sum(axis=1), 1.0, atol=1e-9)
    assert ((absorption >= 0) & (absorption <= 1)).all().all()
    assert analysis.success_probability == pytest.approx(ref["entry_success"], rel=1e-9, abs=1e-12)
    assert analysis.expected_value == pytest.approx(ref["entry_value"], rel=1e-9, abs=1e-10)
    assert analysis.expected_time == pytest.approx(ref["entry_time"], rel=1e-9, abs=1e-12)


def test_nurturing_triples_buyers_and_revenue() -> None:
    visitors = 10_000
    base = fk.examples.nurturing_funnel(nurture=False).analyze()
    nurtured = fk.examples.nurturing_funnel().analyze()
    assert base.success_probability * visitors == pytest.approx(0.01 * visitors, rel=1e-12)
    assert nurtured.success_probability * visitors == pytest.approx(0.03 * visitors, rel=1e-12)
    assert nurtured.expected_value == pytest.approx(3 * base.expected_value, rel=1e-12)
    report = fk.examples.nurturing_funnel().analyze().conversion(visitors=visitors).to_pandas()
    assert report.loc["warm_lead", "reached_count"] == pytest.approx(2_000)
    assert report.loc["paid", "reached_count"] == pytest.approx(300)


def test_linear_funnel_closed_forms() -> None:
    # visit -(0.3)-> cart -(0.4)-> checkout -(0.5)-> paid, drop-outs elsewhere
    f = (
        fk.Funnel("linear")
        .add_stage("visit", holding=fk.Exponential(mean=1.0))
        .add_stage("cart", holding=fk.Exponential(mean=2.0))
        .add_stage("checkout", holding=fk.Fixed(0.5))
        .add_stage("paid", "success", value=80.0)
        .add_edge("visit", "cart", 0.3)
        .add_edge("cart", "checkout", 0.4)
        .add_edge("checkout", "paid", 0.5)
    )
    a = f.analyze()
    assert a.success_probability == pytest.approx(0.06, rel=1e-14)
    assert a.expected_value == pytest.approx(0.06 * 80, rel=1e-13)
    assert a.time_to_success == pytest.approx(1 + 2 + 0.5, rel=1e-13)
    assert a.expected_time == pytest.approx(1 + 0.3 * 2 + 0.12 * 0.5, rel=1e-13)
    conv = a.conversion().to_pandas()
    np.testing.assert_allclose(conv["reached"], [1, 0.3, 0.12, 0.06])
    np.testing.assert_allclose(conv["from_previous"].iloc[1:], [0.3, 0.4, 0.5])
    np.testing.assert_allclose(conv["dropped"], [0.7, 0.18, 0.06, 0.0])
    np.testing.assert_allclose(conv["drop_rate"], [0.7, 0.6, 0.5, 0.0])
    # every entrant ends somewhere: dropped shares plus conversions make 1
    assert conv["dropped"].sum() + a.success_probability == pytest.approx(1.0)
    assert f.most_likely_path() == fk.Path(("visit", "cart", "checkout", "paid"), pytest.approx(0.06))


def test_geometric_loop_closed_form() -> None:
    # A lead returns to "browse" with probability q each time: visits are geometric.
    q = 0.6
    f = (
        fk.Funnel()
        .add_stage("browse", holding=fk.Exponential(mean=3.0))
        .add_stage("buy", "success", value=10.0)
        .add_edge("browse", "browse", q)
        .add_edge("browse", "buy", 0.1)
    )
    a = f.analyze()
    visits = 1 / (1 - q)
    assert a.stages().to_pandas().loc["browse", "expected_visits"] == pytest.approx(visits)
    assert a.expected_steps == pytest.approx(visits)
    assert a.steps_sd**2 == pytest.approx(q / (1 - q) ** 2)
    assert a.success_probability == pytest.approx(0.1 / (1 - q))
    assert a.expected_time == pytest.approx(3.0 * visits)


def test_removal_effects_match_brute_force() -> None:
    f = fk.examples.shop_funnel()
    a = f.analyze()
    effects = a.removal_effects().to_pandas()
    for stage in ["lead", "interest", "cart", "checkout"]:
        removed = f.copy()
        for e in f.edges:
            if e.target == stage:
                removed.set_probability(e.source, e.target, 0.0)
        b = removed.analyze()
        assert effects.loc[stage, "conversions_lost"] == pytest.approx(a.success_probability - b.success_probability)
        assert effects.loc[stage, "value_lost"] == pytest.approx(a.expected_value - b.expected_value)
    assert effects["attribution_share"].sum() == pytest.approx(1.0)
    assert effects["removal_effect"].is_monotonic_decreasing


def test_discounted_removal_matches_brute_force() -> None:
    f = fk.examples.lifecycle_funnel()
    a = f.analyze()
    effects = a.removal_effects().to_pandas()
    for stage in ["repeat_purchase", "dormant"]:
        removed = f.copy()
        for e in f.edges:
            if e.target == stage:
                removed.set_probability(e.source, e.target, 0.0)
        assert effects.loc[stage, "value_lost"] == pytest.approx(a.expected_value - removed.analyze().expected_value)


@pytest.mark.parametrize("make", [fk.examples.shop_funnel, fk.examples.lifecycle_funnel])
def test_sensitivities_match_finite_differences(make) -> None:  # type: ignore[no-untyped-def]
    f = make()
    sens = f.analyze().sensitivity().to_pandas()
    h = 1e-6
    for row in sens.itertuples():
        up, down = f.copy(), f.copy()
        up.set_probability(row.source, row.target, row.probability + h)
        down.set_probability(row.source, row.target, row.probability - h)
        au, ad = up.analyze(), down.analyze()
        assert row.d_success == pytest.approx((au.success_probability - ad.success_probability) / (2 * h), abs=1e-7)
        assert row.d_value == pytest.approx((au.expected_value - ad.expected_value) / (2 * h), rel=1e-5, abs=1e-6)
        assert row.d_time == pytest.approx((au.expected_time - ad.expected_time) / (2 * h), rel=1e-5, abs=1e-5)


def test_monte_carlo_journeys_agree() -> None:
    """Simulate journeys in NumPy from the funnel's own description and compare."""
    f = fk.examples.shop_funnel()
    chain = dense_chain(f)
    rng = np.random.default_rng(11)
    stage_holding = {s.name: s.holding for s in f.stages}
    n = len(chain.names)
    runs = 20_000
    times = np.zeros(runs)
    success = np.zeros(runs, dtype=bool)
    state = np.zeros(runs, dtype=int)
    alive = np.ones(runs, dtype=bool)
    cumulative = np.cumsum(chain.p, axis=1)
    while alive.any():
        idx = np.flatnonzero(alive)
        u = rng.random(idx.size)
        nxt = np.array([np.searchsorted(cumulative[s], x, side="right") for s, x in zip(state[idx], u, strict=True)])
        nxt = np.minimum(nxt, n - 1)
        for k, s in enumerate(state[idx]):
            holding = stage_holding[chain.names[s]]
            if holding is not None:
                times[idx[k]] += holding.quantile(rng.random())
        state[idx] = nxt
        done = ~chain.transient[nxt]
        success[idx[done]] = chain.success[nxt[done]]
        alive[idx[done]] = False
    a = f.analyze()
    assert success.mean() == pytest.approx(a.success_probability, abs=4 * math.sqrt(0.01 / runs))
    assert times.mean() == pytest.approx(a.expected_time, abs=4 * a.time_sd / math.sqrt(runs))
    assert times.std() == pytest.approx(a.time_sd, rel=0.08)


def test_reports_are_dataframes_and_html() -> None:
    a = fk.examples.shop_funnel().analyze()
    for table in [a.summary(), a.stages(), a.absorption(), a.conversion(100), a.removal_effects(), a.sensitivity()]:
        frame = table.to_pandas()
        assert isinstance(frame, pd.DataFrame) and len(frame) == len(table) > 0
        assert "<table" in table._repr_html_()
        assert table.title in repr(table)
        assert isinstance(table.to_dict(), dict)
    assert "<table" in a._repr_html_()
    assert "conversion" in repr(a)
    assert set(a.outcome_probabilities()) == {"paid", "unsubscribed", "dropped"}
    assert sum(a.outcome_probabilities().values()) == pytest.approx(1.0)
    np.testing.assert_allclose(a.conversion()["reached"], a.conversion().to_pandas()["reached"])


def test_conversion_along_a_path() -> None:
    a = fk.examples.shop_funnel().analyze()
    path = a.conversion(path=["visit", "cart", "paid"]).to_pandas()
    assert list(path.index) == ["visit", "cart", "paid"]
    with pytest.raises(fk.UnknownStageError):
        a.conversion(path=["visit", "basket"])
    with pytest.raises(ValueError, match="at least one"):
        a.conversion(path=[])
    with pytest.raises(ValueError, match="visitors"):
        a.conversion(visitors=-5)


def test_most_likely_path_to_any_stage() -> None:
    f = fk.examples.shop_funnel()
    assert f.most_likely_path("unsubscribed").stages == ("visit", "lead", "unsubscribed")
    assert f.most_likely_path("unsubscribed").probability == pytest.approx(0.25 * 0.05)
    with pytest.raises(fk.UnknownStageError):
        f.most_likely_path("nowhere")


def test_large_sparse_funnel_is_fast_and_correct() -> None:
    rng = np.random.default_rng(5)
    f = fk.Funnel("long").add_stage("s0")
    n = 3000
    for i in range(1, n):
        f.add_stage(f"s{i}")
    f.add_stage("win", "success")
    for i in range(n - 1):
        f.add_edge(f"s{i}", f"s{i + 1}", 0.999)
        if i > 10 and rng.random() < 0.1:
            f.add_edge(f"s{i}", f"s{i - 5}", 0.0005)  # some loops back
    f.add_edge(f"s{n - 1}", "win", 0.9)
    chain = dense_chain(f)
    ref = expected_outcomes(chain)
    a = f.analyze()
    assert a.success_probability == pytest.approx(ref["entry_success"], rel=1e-9)
    np.testing.assert_allclose(a.stages().to_pandas()["reached"].to_numpy()[:n], ref["reach"], rtol=1e-9, atol=1e-14)
