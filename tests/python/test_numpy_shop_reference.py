"""The NumPy contenders of benchmarks/bench_simulate.py (and its bare C++ yardstick) simulate
the same shop as funnelkit, so the benchmark compares equal work: with a cohort followed until
every lead has left, their conversion, steps and times agree with the exact analysis within
Z standard errors; with the abandoned-cart trigger their jump chain is the funnel whose cart
row is the trigger's average effect (``boosted_funnel``)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

import funnelkit as fk

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import _numpy_shop as ns
import _yardstick as ys

Z = 4.5  # tolerance in standard errors: a false alarm about once in 150,000 checks
N = 60_000  # cohort size
FOREVER = 1e9  # a horizon every journey ends before


def funnels() -> dict[str, fk.Funnel]:
    shop = fk.examples.shop_funnel()
    return {"exponential": ns.exponential_variant(shop), "lognormal/weibull": shop}


def mean_and_se(total: float, total_sq: float, count: int) -> tuple[float, float]:
    mean = total / count
    return mean, math.sqrt(max(total_sq / count - mean * mean, 0.0) / count)


def check_against_analysis(out: ns.Outcome, analysis: fk.analysis.FunnelAnalysis, time_bias: float = 0.0) -> None:
    p = analysis.success_probability
    assert out.absorbed == out.leads
    assert abs(out.purchases / out.leads - p) <= Z * math.sqrt(p * (1 - p) / out.leads)
    assert abs(out.transitions / out.leads - analysis.expected_steps) <= Z * analysis.steps_sd / math.sqrt(out.leads)
    time_se = analysis.time_sd / math.sqrt(out.leads)
    gap = out.time_to_end / out.absorbed - analysis.expected_time
    assert -Z * time_se <= gap <= Z * time_se + time_bias


def test_exponential_variant_keeps_rows_and_means() -> None:
    shop = fk.examples.shop_funnel()
    variant = ns.exponential_variant(shop)
    a, b = ns.shop_arrays(shop), ns.shop_arrays(variant)
    assert not a.exponential and b.exponential
    np.testing.assert_allclose(a.cumulative, b.cumulative)
    np.testing.assert_allclose(a.mean, b.mean, rtol=1e-12)
    assert a.mean[a.index("cart")] == pytest.approx(2.0 * math.exp(0.5))
    assert variant.analyze().expected_time == pytest.approx(shop.analyze().expected_time, rel=1e-9)


def test_odds_row_is_the_engine_formula() -> None:
    arrays = ns.shop_arrays(fk.examples.shop_funnel())
    cart = arrays.index("cart")
    row = np.diff(np.concatenate([[0.0], arrays.cumulative[cart]]))
    boosted = ns._odds_row(row, [arrays.index("checkout")], 1.5)
    # P = 0.4 -> 1.5 * 0.4 / (0.6 + 1.5 * 0.4) = 0.5; the rest keeps its proportions.
    assert boosted[arrays.index("checkout")] == pytest.approx(0.5)
    assert boosted[arrays.index("interest")] == pytest.approx(0.1 * 0.5 / 0.6)
    assert boosted.sum() == pytest.approx(1.0)
    odds = lambda q: q / (1 - q)  # noqa: E731
    assert odds(boosted[arrays.index("checkout")]) == pytest.approx(1.5 * odds(0.4))


@pytest.mark.parametrize("name", list(funnels()))
def test_per_transition_agrees_with_the_analysis(name: str) -> None:
    funnel = funnels()[name]
    out = ns.simulate_per_transition(ns.shop_arrays(funnel), np.zeros(N), FOREVER, seed=11)
    check_against_analysis(out, funnel.analyze())
    mean, se = mean_and_se(out.time_to_purchase, out.time_to_purchase_sq, out.purchases)
    assert abs(mean - funnel.analyze().time_to_success) <= Z * se


@pytest.mark.parametrize("name", list(funnels()))
def test_time_step_agrees_with_the_analysis_up_to_its_rounding(name: str) -> None:
    funnel = funnels()[name]
    analysis = funnel.analyze()
    step = 1.0 / 3.0
    out = ns.simulate_time_step(ns.shop_arrays(funnel), np.zeros(N), 3_000.0, step=step, seed=12)
    # Every stay is rounded up to whole steps (at most one step more per stay, never less), so
    # the jump chain is exact and the time to leave is late by at most a step per transition.
    check_against_analysis(out, analysis, time_bias=step * analysis.expected_steps)


@pytest.mark.parametrize("name", list(funnels()))
@pytest.mark.parametrize("version", ["per_transition", "time_step"])
def test_cart_trigger_gives_the_boosted_chain(name: str, version: str) -> None:
    funnel = funnels()[name]
    trigger = ns.CartTrigger()
    boosted = ns.boosted_funnel(funnel, trigger).analyze()
    plain = funnel.analyze()
    assert boosted.success_probability > plain.success_probability * 1.05
    arrays = ns.shop_arrays(funnel)
    if version == "per_transition":
        out = ns.simulate_per_transition(arrays, np.zeros(N), FOREVER, trigger=trigger, seed=13)
        bias = 0.0
    else:
        out = ns.simulate_time_step(arrays, np.zeros(N), 3_000.0, trigger=trigger, seed=13)
        bias = trigger.delay * boosted.expected_steps
    # The trigger keeps the holding law of the cart (the time left is drawn given the time
    # spent), so the expected time is the boosted chain's too.
    check_against_analysis(out, boosted, time_bias=bias)
    visits = boosted.stages().to_pandas().loc["cart", "expected_visits"]
    cart = arrays.index("cart")
    cart_law = arrays.holdings[cart]
    assert cart_law is not None
    # Every cart stay longer than the delay gets the message, and so does a stay that ended
    # in dropping out sooner (dropping out is not an action: the lead stays idle in the cart).
    drop = np.diff(np.concatenate([[0.0], arrays.cumulative[cart]]))[arrays.drop]
    survival = float(cart_law.survival(trigger.delay))
    expected_messages = N * visits * (survival + drop * (1.0 - survival))
    assert abs(out.messages - expected_messages) <= Z * math.sqrt(expected_messages)
    assert abs(out.opened / out.messages - trigger.open) <= Z * math.sqrt(0.24 / out.messages)


def test_the_two_versions_do_the_same_work_over_a_quarter() -> None:
    arrays = ns.shop_arrays(funnels()["exponential"])
    arrivals = ns.uniform_arrivals(30_000, 90 * 24.0, seed=3)
    exact = ns.simulate_per_transition(arrays, arrivals, 90 * 24.0, trigger=ns.CartTrigger(), seed=4)
    stepped = ns.simulate_time_step(arrays, arrivals, 90 * 24.0, trigger=ns.CartTrigger(), seed=4)
    assert exact.leads == stepped.leads == 30_000
    # Both count the moves before the horizon; the time steps delay moves by minutes, which
    # matters only for the last hours' leads.
    assert stepped.transitions == pytest.approx(exact.transitions, rel=0.03)
    assert 0 < exact.absorbed < exact.leads


def test_bare_loop_yardstick_simulates_the_same_chain(tmp_path: Path) -> None:
    binary = ys.compile_bare_loop(tmp_path)
    assert not isinstance(binary, str), binary  # the engine's own compiler builds it
    funnel = funnels()["exponential"]
    analysis = funnel.analyze()
    out = ys.run_bare_loop(binary, ns.shop_arrays(funnel), 200_000, 0.0, FOREVER, seed=5)
    p = analysis.success_probability
    assert abs(out.purchases / out.leads - p) <= Z * math.sqrt(p * (1 - p) / out.leads)
    assert abs(out.transitions / out.leads - analysis.expected_steps) <= Z * analysis.steps_sd / math.sqrt(out.leads)
    with pytest.raises(ValueError, match="exponential"):
        ys.run_bare_loop(binary, ns.shop_arrays(fk.examples.shop_funnel()), 10, 0.0, 1.0)
