"""Built-in distributions against scipy.stats."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest
from scipy import stats

import funnelkit as fk

CASES = [
    (fk.Exponential(rate=0.4), stats.expon(scale=1 / 0.4)),
    (fk.Exponential(mean=24.0), stats.expon(scale=24.0)),
    (fk.LogNormal(mu=1.2, sigma=0.7), stats.lognorm(s=0.7, scale=math.exp(1.2))),
    (fk.Weibull(shape=1.5, scale=10.0), stats.weibull_min(c=1.5, scale=10.0)),
    (fk.Weibull(shape=0.7, scale=3.0), stats.weibull_min(c=0.7, scale=3.0)),
    (fk.Gamma(shape=2.5, scale=4.0), stats.gamma(a=2.5, scale=4.0)),
    (fk.Gamma(shape=0.5, scale=1.0), stats.gamma(a=0.5, scale=1.0)),
]
IDS = [repr(d) for d, _ in CASES]


@pytest.mark.parametrize(("dist", "ref"), CASES, ids=IDS)
def test_matches_scipy(dist: fk.Distribution, ref: stats.rv_continuous) -> None:
    t = np.array([0.01, 0.5, 1.0, 3.0, 10.0, 50.0])
    p = np.array([0.001, 0.1, 0.5, 0.9, 0.999])
    np.testing.assert_allclose(dist.cdf(t), ref.cdf(t), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dist.survival(t), ref.sf(t), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dist.pdf(t), ref.pdf(t), rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(dist.quantile(p), ref.ppf(p), rtol=1e-9)
    assert dist.mean() == pytest.approx(ref.mean(), rel=1e-12)
    assert dist.variance() == pytest.approx(ref.var(), rel=1e-9)


@pytest.mark.parametrize(("dist", "ref"), CASES, ids=IDS)
def test_samples_follow_the_distribution(dist: fk.Distribution, ref: stats.rv_continuous) -> None:
    draws = dist.sample(20_000, seed=123)
    assert stats.kstest(draws, ref.cdf).pvalue > 1e-3
    np.testing.assert_array_equal(draws, dist.sample(20_000, seed=123))  # reproducible
    assert not np.array_equal(draws, dist.sample(20_000, seed=124))


def test_empirical_quantile_table() -> None:
    d = fk.Empirical(p=[0.0, 0.5, 1.0], t=[0.0, 2.0, 10.0])
    assert d.quantile(0.25) == pytest.approx(1.0)
    assert d.cdf(6.0) == pytest.approx(0.75)
    assert d.pdf(1.0) == pytest.approx(0.25) and d.pdf(5.0) == pytest.approx(0.5 / 8)
    assert d.mean() == pytest.approx(0.5 * 1.0 + 0.5 * 6.0)
    uniform_mix = [stats.uniform(0, 2), stats.uniform(2, 8)]
    second = 0.5 * sum(u.var() + u.mean() ** 2 for u in uniform_mix)
    assert d.second_moment() == pytest.approx(second)


def test_empirical_from_durations() -> None:
    durations = np.random.default_rng(1).exponential(5.0, size=5000)
    d = fk.empirical_from_durations(durations, knots=101)
    np.testing.assert_allclose(d.quantile([0.1, 0.5, 0.9]), np.quantile(durations, [0.1, 0.5, 0.9]))
    assert d.mean() == pytest.approx(durations.mean(), rel=0.02)
    with pytest.raises(fk.DistributionError):
        fk.empirical_from_durations([1.0, -2.0])
    with pytest.raises(fk.DistributionError):
        fk.empirical_from_durations([])


def test_fixed_and_lognormal_from_median() -> None:
    assert fk.Fixed(20 / 60).quantile(0.9) == pytest.approx(1 / 3)
    d = fk.lognormal_from_median(3.0, 0.5)
    assert d.quantile(0.5) == pytest.approx(3.0)
    with pytest.raises(fk.DistributionError):
        fk.lognormal_from_median(-1.0, 0.5)


def test_shapes_scalars_and_nan() -> None:
    d = fk.Exponential(rate=1.0)
    assert isinstance(d.cdf(1.0), float)
    assert d.cdf(np.ones((2, 3))).shape == (2, 3)
    assert math.isnan(d.cdf(float("nan")))
    assert d.cdf(-1.0) == 0.0 and d.survival(-1.0) == 1.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: fk.Exponential(rate=0.0),
        lambda: fk.Exponential(mean=-2.0),
        lambda: fk.Exponential(rate=1.0, mean=1.0),
        lambda: fk.Exponential(),
        lambda: fk.LogNormal(0.0, -1.0),
        lambda: fk.Weibull(float("nan"), 1.0),
        lambda: fk.Gamma(1.0, 0.0),
        lambda: fk.Fixed(-0.5),
        lambda: fk.Empirical([0.0, 1.0], [5.0, 1.0]),
        lambda: fk.Empirical([0.2, 1.0], [1.0, 2.0]),
        lambda: fk.Exponential(rate=1.0).quantile(1.2),
    ],
)
def test_rejects_invalid_parameters(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(fk.DistributionError):
        make()


@pytest.mark.parametrize("dist", [d for d, _ in CASES] + [fk.Fixed(2.0), fk.Empirical([0.0, 1.0], [1.0, 3.0])])
def test_json_pickle_equality(dist: fk.Distribution) -> None:
    again = fk.distributions.from_json(dist.to_json())
    assert again == dist and hash(again) == hash(dist)
    assert pickle.loads(pickle.dumps(dist)) == dist
    assert type(pickle.loads(pickle.dumps(dist))) is type(dist)
    assert dist.type_name() in repr(dist)
    assert dist != fk.Exponential(rate=123.0)


def test_long_sampling_can_be_interrupted() -> None:
    import os
    import signal
    import threading

    timer = threading.Timer(0.02, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            fk.Exponential(rate=1.0).sample(30_000_000, seed=1)  # ~0.3 s of work, stopped early
    finally:
        timer.join()
