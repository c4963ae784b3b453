"""fk.simulate against the exact analysis: with no triggers, a cohort entering at the start and
a horizon long enough for every journey to end, the simulated conversion, mean time to
purchase and revenue per lead must agree with ``Funnel.analyze()``.

Tolerance: 4 standard errors of the simulated estimate (a binomial standard error for the
conversion; the sample standard deviation over sqrt(n) for the time to purchase and the
revenue per lead). With three such checks per funnel a correct engine fails about once in
5,000 runs, and the seeds are fixed, so the tests are deterministic; a biased engine (a delay
off by a few percent, a lost transition) fails them."""

from __future__ import annotations

import math

import numpy as np
import pytest

import funnelkit as fk

N_PER_REPLICATE = 40_000
REPLICATES = 3


def check_against_analysis(funnel: fk.Funnel, horizon: str, seed: int) -> None:
    analysis = funnel.analyze()
    sim = fk.simulate(funnel, fk.TrafficPlan.cohort(N_PER_REPLICATE), None, horizon=horizon,
                      replicates=REPLICATES, seed=seed, keep_leads=True, progress=False)
    leads = sim.leads
    n = len(leads)
    assert n == N_PER_REPLICATE * REPLICATES == sim.counts["leads"]
    # every journey has ended: no lead is left in a transient stage at the horizon
    transient = [name for name, kind in zip(analysis.stage_names, funnel._compiled().kinds, strict=True)
                 if kind == "transient"]
    assert sum(sim.totals.loc[f"in_{stage}", "mean"] for stage in transient) == 0

    success = {s.name for s in funnel.stages if s.kind == "success"}
    converted = leads["final_stage"].astype(str).isin(success).to_numpy()
    p = analysis.success_probability
    assert abs(converted.mean() - p) < 4 * math.sqrt(p * (1 - p) / n)

    times = leads["time_to_purchase"].to_numpy()[converted]
    assert abs(times.mean() - analysis.time_to_success) < 4 * times.std(ddof=1) / math.sqrt(times.size)

    revenue = leads["revenue"].to_numpy()
    assert abs(revenue.mean() - analysis.expected_value) < 4 * revenue.std(ddof=1) / math.sqrt(n)
    # the daily series add up to the same revenue
    assert sim.totals.loc["revenue", "mean"] * REPLICATES == pytest.approx(revenue.sum())


def test_shop_funnel_agrees_with_the_analysis() -> None:
    check_against_analysis(fk.examples.shop_funnel(), horizon="730D", seed=11)


def random_funnel(seed: int) -> fk.Funnel:
    """Eight stages with random edges (some looping back), lognormal and Weibull delays per
    edge, in days; a tenth or more of every stage's leads drop out, so journeys end."""
    rng = np.random.default_rng(seed)
    names = [f"s{i}" for i in range(8)]
    funnel = fk.Funnel("random", time_unit="days")
    for name in names:
        funnel.add_stage(name)
    funnel.add_stage("paid", "success", value=80.0)
    funnel.add_stage("lost", "failure")
    for i, name in enumerate(names):
        targets = rng.choice([*names[:i], *names[i + 1:], "paid", "lost"], size=3, replace=False)
        shares = rng.dirichlet(np.ones(4))[:3] * 0.9
        for k, (target, share) in enumerate(zip(targets, shares, strict=True)):
            delay = (fk.lognormal_from_median(float(rng.uniform(0.5, 5.0)), float(rng.uniform(0.3, 0.9))) if k % 2
                     else fk.Weibull(shape=float(rng.uniform(0.7, 2.5)), scale=float(rng.uniform(0.5, 6.0))))
            funnel.add_edge(name, str(target), float(share), delay=delay)
    return funnel


def test_random_funnel_with_lognormal_and_weibull_delays_agrees_with_the_analysis() -> None:
    funnel = random_funnel(5)
    assert funnel.analyze().success_probability > 0.05  # a funnel worth checking
    check_against_analysis(funnel, horizon="1500D", seed=3)
