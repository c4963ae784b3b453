"""The funnel-model score (fk.FunnelScorer) and the Truncated delays of fitted funnels, against
NumPy/SciPy references, a per-lead Python computation and Monte Carlo journeys."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pandas as pd
import pytest
from reference import dense_chain, expected_outcomes
from scipy import stats

import funnelkit as fk
from funnelkit import _core


def shop() -> fk.Funnel:
    """Per-edge delays (so the idle time tells something), a loop, a remainder with a holding
    time, stage values and a discount; times in hours."""
    return (
        fk.Funnel("shop", time_unit="hours", discount=0.9, drop_stage="lost")
        .add_stage("visit", holding=fk.Weibull(1.5, 3.0))
        .add_stage("cart")
        .add_stage("checkout", value=2.0)
        .add_stage("paid", "success", value=60.0)
        .add_stage("lost", "failure")
        .add_edge("visit", "cart", 0.3, delay=fk.LogNormal(0.0, 1.0))
        .add_edge("visit", "lost", 0.5, delay=fk.Fixed(5.0))
        .add_edge("cart", "checkout", 0.5, delay=fk.Exponential(rate=2.0))
        .add_edge("cart", "visit", 0.2, delay=fk.Weibull(0.7, 10.0))
        .add_edge("cart", "lost", 0.3, delay=fk.Fixed(4.0))
        .add_edge("checkout", "paid", 0.7, delay=fk.Gamma(2.0, 0.5))
        .add_edge("checkout", "cart", 0.3, delay=fk.LogNormal(1.0, 0.5))
    )


def frame(stages: list[str], days: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"stage": pd.Categorical(stages), "time_in_stage_days": days},
                        index=pd.Index([f"lead{i}" for i in range(len(stages))], name="lead_id"))


@pytest.fixture(scope="module")
def shop_log() -> pd.DataFrame:
    return fk.datasets.shop_events(8_000, seed=5).events


@pytest.fixture(scope="module")
def fitted(shop_log: pd.DataFrame) -> fk.FunnelFit:
    return fk.fit_funnel(shop_log, progress=False)


# ---------------------------------------------------------------- reference computations
def python_score(funnel: fk.Funnel, stage: str, idle_hours: float) -> tuple[float, float]:
    """The score by hand: w_j = p_j S_j(t) over the stage's edges (and the remainder with the
    holding time), mixed with the textbook success probabilities and values (reference.py)."""
    chain = dense_chain(funnel)
    out = expected_outcomes(chain)
    index = {name: i for i, name in enumerate(chain.names)}
    transient = np.flatnonzero(chain.transient)
    b = chain.success.astype(float)
    v = np.zeros(len(chain.names))
    b[transient], v[transient] = out["success"], out["value"]
    holding = {s.name: s.holding for s in funnel.stages}
    moves = [(e.target, e.probability, e.delay or holding[stage]) for e in funnel.edges if e.source == stage]
    rest = 1.0 - sum(p for _, p, _ in moves)
    if rest > 1e-12:
        moves.append((funnel.drop_stage, rest, holding[stage]))
    w = np.array([p * (1.0 if idle_hours == 0 else (0.0 if d is None else float(d.survival(idle_hours))))
                  for _, p, d in moves])
    w /= w.sum()
    targets = [index[t] for t, _, _ in moves]
    return float(w @ b[targets]), float(w @ (chain.value[targets] + chain.discount * v[targets]))


def monte_carlo(funnel: fk.Funnel, stage: str, idle_hours: float, n: int, seed: int) -> tuple[float, float, float]:
    """Journeys from `stage` still there after `idle_hours` (first step by rejection: its delay
    must outlast the idle time), then run to absorption with the engine's one-step sampler, all
    leads moving together. Returns P(success), mean discounted revenue and the revenue's sd."""
    chain = funnel._compiled()
    names = list(chain.names)
    absorbing = np.array([k != "transient" for k in chain.kinds])
    success = np.array([k == "success" for k in chain.kinds])
    values = np.asarray(chain.values)
    state = names.index(stage)
    nxt, delay = chain.sample_steps(state, 4 * n, seed)
    kept = nxt[delay > idle_hours][:n]
    assert len(kept) == n, "too few journeys outlast the idle time; raise the oversampling"
    current = kept.astype(np.int64)
    revenue = values[current].copy()
    weight = np.ones(n)
    seed_base = seed * 1000
    for step in range(200):
        active = ~absorbing[current]
        if not active.any():
            break
        weight[active] *= funnel.discount
        for s in np.unique(current[active]):
            rows = np.flatnonzero(active & (current == s))
            moved, _ = chain.sample_steps(int(s), len(rows), seed_base + 7919 * step + int(s))
            current[rows] = moved
            revenue[rows] += weight[rows] * values[moved]
    assert absorbing[current].all()
    return float(success[current].mean()), float(revenue.mean()), float(revenue.std())


# ---------------------------------------------------------------- the score
def test_at_time_zero_the_score_is_the_analysis_success_probability() -> None:
    funnel = shop()
    scorer = fk.FunnelScorer(funnel)
    table = funnel.analyze(progress=False).stages().to_pandas()
    names = list(table.index)
    leads = frame(names, [0.0] * len(names))
    scores = scorer.score(leads)
    revenue = scorer.extra_scores(leads)["expected_revenue"]
    np.testing.assert_allclose(scores.to_numpy(), table["success_probability"].to_numpy(), atol=1e-12)
    np.testing.assert_allclose(revenue.to_numpy(), table["expected_value"].to_numpy(), atol=1e-10)
    # sum_j p_j b_j = b_i over each transient row
    b = table["success_probability"]
    for stage in ["visit", "cart", "checkout"]:
        step = scorer.next_step(stage, 0.0)
        assert step["probability"].sum() == pytest.approx(1.0, abs=1e-15)
        np.testing.assert_allclose(step["probability"], step["row_probability"], atol=1e-15)
        assert (step["row_probability"] * b[step.index]).sum() == pytest.approx(b[stage], abs=1e-12)


@pytest.mark.parametrize(("stage", "idle_hours"), [("visit", 0.5), ("visit", 3.0), ("cart", 1.0),
                                                   ("cart", 3.5), ("checkout", 1.5)])
def test_score_and_revenue_agree_with_monte_carlo_journeys(stage: str, idle_hours: float) -> None:
    # 60k journeys: P within 5 sd of a proportion (<= 0.0103), revenue within 5 standard errors.
    funnel = shop()
    scorer = fk.FunnelScorer(funnel)
    leads = frame([stage], [idle_hours / 24])
    p, revenue, sd = monte_carlo(funnel, stage, idle_hours, 60_000, seed=int(idle_hours * 10) + len(stage))
    assert scorer.score(leads).iloc[0] == pytest.approx(p, abs=5 * 0.5 / np.sqrt(60_000))
    assert scorer.extra_scores(leads)["expected_revenue"].iloc[0] == pytest.approx(revenue, abs=5 * sd / np.sqrt(60_000))


def test_vectorised_scores_equal_a_per_lead_python_loop() -> None:
    funnel = shop()
    scorer = fk.FunnelScorer(funnel)
    rng = np.random.default_rng(3)
    stages = rng.choice(["visit", "cart", "checkout"], size=300).tolist()
    days = (rng.exponential(2.0, size=300) / 24).tolist()
    leads = frame(stages, days)
    scores = scorer.score(leads)
    revenue = scorer.extra_scores(leads)["expected_revenue"]
    for lead, stage, day in zip(leads.index, stages, days, strict=True):
        p, r = python_score(funnel, stage, day * 24)
        assert scores[lead] == pytest.approx(p, abs=1e-12)
        assert revenue[lead] == pytest.approx(r, abs=1e-10)


def test_absorbing_not_entered_and_left() -> None:
    funnel = shop()
    scorer = fk.FunnelScorer(funnel)
    analysis = funnel.analyze(progress=False)
    leads = frame(["paid", "lost", "none", "left"], [3.0, np.nan, np.nan, 1.0])
    scores = scorer.score(leads)
    assert scores.tolist()[:2] == [1.0, 0.0]
    assert scores.iloc[2] == pytest.approx(analysis.success_probability, abs=1e-12)
    assert scores.iloc[3] == 0.0  # "left" is the drop stage ("lost") here
    revenue = scorer.extra_scores(leads)["expected_revenue"]
    assert revenue.iloc[0] == 0.0
    assert revenue.iloc[2] == pytest.approx(analysis.expected_value, abs=1e-10)
    # a funnel without a stage for losses: "left" scores 0 all the same
    plain = fk.Funnel("plain").add_stage("a", holding=fk.Exponential(1.0)).add_stage("b", "success").add_edge("a", "b", 1.0)
    assert fk.FunnelScorer(plain).score(frame(["left", "a"], [1.0, 1.0])).tolist() == [0.0, 1.0]


def test_idle_time_lowers_the_score_of_a_fitted_cart_and_past_the_window_it_has_left(fitted: fk.FunnelFit) -> None:
    scorer = fk.FunnelScorer.from_fit(fitted)
    assert scorer.time_unit == "hours"
    window_days = fitted.options["window"] / pd.Timedelta(days=1)
    leads = frame(["cart", "cart", "cart", "cart", "left", "checkout"],
                  [10 / 1440, 10.0, window_days, 2 * window_days, 0.0, window_days + 1])
    scores = scorer.score(leads)
    assert scores.iloc[0] > scores.iloc[1] > 0.0
    assert scores.iloc[0] > 3 * scores.iloc[1]
    assert scores.iloc[2] == pytest.approx(0.0, abs=1e-12)  # idle >= W: the score of "left"
    assert scores.iloc[3] == pytest.approx(0.0, abs=1e-12)
    assert scores.iloc[4] == 0.0
    assert scores.iloc[5] == pytest.approx(0.0, abs=1e-12)
    revenue = scorer.extra_scores(leads)["expected_revenue"]
    assert revenue.iloc[0] > revenue.iloc[1] > 0.0
    assert revenue.iloc[2] == pytest.approx(0.0, abs=1e-9)
    step = scorer.next_step("cart", window_days)
    assert step.loc["left", "probability"] == pytest.approx(1.0, abs=1e-12)
    # and the fitted revenue of a fresh cart agrees with journeys through the fitted funnel
    p, r, sd = monte_carlo(fitted.funnel, "cart", 10 / 60, 40_000, seed=8)
    assert scores.iloc[0] == pytest.approx(p, abs=5 * 0.5 / np.sqrt(40_000))
    assert revenue.iloc[0] == pytest.approx(r, abs=5 * sd / np.sqrt(40_000))


def test_scores_the_lead_features_computed_by_the_fit_rules(fitted: fk.FunnelFit, shop_log: pd.DataFrame) -> None:
    scorer = fk.FunnelScorer.from_fit(fitted)
    at = pd.Timestamp(shop_log["timestamp"].max()) - pd.Timedelta(days=20)
    features = fk.lead_features(shop_log, at, progress=False, **scorer.feature_options())
    scores = scorer.score(features)
    revenue = scorer.extra_scores(features)["expected_revenue"]
    stage = features["stage"].astype(str)
    assert scores.between(0.0, 1.0).all() and (revenue >= 0).all()
    assert (scores[stage == "left"] == 0.0).all() and (stage == "left").any()
    assert (scores[stage == "paid"] == 1.0).all()
    assert (revenue[stage == "paid"] == 0.0).all()
    # leads further down the funnel are likelier to buy
    mean = scores.groupby(stage).mean()
    assert mean["checkout"] > mean["cart"] > mean["visit"]


def test_the_time_unit_of_the_funnel_is_respected() -> None:
    hours = shop()
    days = fk.Funnel.from_dict({**hours.to_dict(), "time_unit": "days"})
    leads = frame(["cart", "visit"], [1 / 24, 2 / 24])
    as_hours = fk.FunnelScorer(hours).score(leads)
    # the same document read as days: one hour idle is 1/24 of the funnel's unit
    np.testing.assert_allclose(fk.FunnelScorer(days).score(frame(["cart", "visit"], [1.0, 2.0])), as_hours)
    np.testing.assert_allclose(fk.FunnelScorer(days, time_unit="hours").score(leads), as_hours)
    with pytest.raises(ValueError, match="time unit"):
        fk.FunnelScorer(fk.Funnel.from_dict({**hours.to_dict(), "time_unit": "visits"}))


def test_next_step_table() -> None:
    scorer = fk.FunnelScorer(shop())
    step = scorer.next_step("cart", "3h")
    assert list(step.index) == ["checkout", "visit", "lost"]
    assert step["probability"].sum() == pytest.approx(1.0)
    survival = np.array([stats.expon(scale=0.5).sf(3.0), stats.weibull_min(0.7, scale=10.0).sf(3.0), 1.0])
    expected = step["row_probability"] * survival
    np.testing.assert_allclose(step["probability"], expected / expected.sum(), rtol=1e-12)
    np.testing.assert_allclose(step["survival"], survival, rtol=1e-12)
    assert scorer.next_step("paid", 1.0).empty
    entry = scorer.next_step("none")
    assert entry["probability"].tolist() == [1.0]
    with pytest.raises(fk.UnknownStageError, match="nope"):
        scorer.next_step("nope", 1.0)


def test_contributions_split_the_score_into_stage_and_idle_terms() -> None:
    scorer = fk.FunnelScorer(shop())
    leads = frame(["cart", "cart", "none", "paid"], [0.0, 0.2, np.nan, 1.0])
    reasons = scorer.contributions(leads)
    assert list(reasons.columns) == ["stage", "time_in_stage_days"]
    np.testing.assert_allclose(reasons.sum(axis=1), scorer.score(leads), atol=1e-15)
    assert reasons.loc["lead0", "time_in_stage_days"] == 0.0
    assert reasons.loc["lead1", "time_in_stage_days"] < 0.0
    # the numeric protocol (codes, days) gives the same
    chain_names = list(shop()._compiled().names)
    x = np.array([[chain_names.index("cart"), 0.2], [-1.0, 0.0]])
    np.testing.assert_allclose(scorer.score_matrix(x), scorer.score(leads).iloc[[1, 2]])
    np.testing.assert_allclose(scorer.contributions_matrix(x), reasons.iloc[[1, 2]].to_numpy())


def test_bad_input_raises_clear_errors() -> None:
    scorer = fk.FunnelScorer(shop())
    with pytest.raises(fk.FeatureValueError, match="lead1") as nan:
        scorer.score(frame(["cart", "visit"], [0.1, np.nan]))
    assert nan.value.subject == "time_in_stage_days"
    with pytest.raises(fk.FeatureValueError, match="negative"):
        scorer.score(frame(["cart"], [-0.5]))
    with pytest.raises(fk.FeatureValueError):
        scorer.score(frame(["cart"], [np.inf]))
    with pytest.raises(fk.UnknownStageError, match="'wishlist'") as unknown:
        scorer.score(frame(["cart", "wishlist"], [0.1, 0.1]))
    assert unknown.value.subject == "wishlist"
    with pytest.raises(fk.MissingFeatureError, match="time_in_stage_days"):
        scorer.score(pd.DataFrame({"stage": ["cart"]}))
    with pytest.raises(fk.FeatureValueError, match="stage"):
        scorer.score(pd.DataFrame({"stage": pd.Categorical([None], categories=["cart"]), "time_in_stage_days": [1.0]}))
    with pytest.raises(fk.FeatureValueError, match="code"):
        scorer.score_matrix(np.array([[0.5, 1.0]]))
    # unused categories do not matter; plain strings work too
    leads = pd.DataFrame({"stage": pd.Categorical(["cart"], categories=["cart", "wishlist"]),
                          "time_in_stage_days": [0.1]})
    assert scorer.score(leads).iloc[0] == scorer.score(pd.DataFrame({"stage": ["cart"], "time_in_stage_days": [0.1]})).iloc[0]
    # an empty frame scores nothing
    assert scorer.score(frame([], [])).empty


def test_json_and_pickle_round_trips_are_lossless(fitted: fk.FunnelFit) -> None:
    scorer = fk.FunnelScorer.from_fit(fitted)
    options = scorer.feature_options()
    assert set(options) == {"mapping", "window", "repeat", "success", "failure"}  # no session gap in this fit
    assert options["window"] == fitted.options["window"]
    assert options["success"] == ["paid"] and options["failure"] == ["unsubscribed"]
    leads = frame(["visit", "cart", "checkout", "none", "left"], [0.01, 0.3, 2.0, np.nan, 4.0])
    document = json.loads(scorer.to_json())
    assert document["type"] == "funnel"
    assert document["features"] == ["stage", "time_in_stage_days"]
    assert document["params"]["funnel"]["stages"]
    for other in (fk.Scorer.from_json(scorer.to_json()), pickle.loads(pickle.dumps(scorer))):
        assert isinstance(other, fk.FunnelScorer)
        pd.testing.assert_series_equal(other.score(leads), scorer.score(leads))
        pd.testing.assert_frame_equal(other.extra_scores(leads), scorer.extra_scores(leads))
        assert other.params() == scorer.params()
        assert pd.Timedelta(other.feature_options()["window"]) == fitted.options["window"]
        assert other.feature_options()["success"] == ["paid"]
    # a callable mapping scores but cannot be saved
    unsaveable = fk.FunnelScorer(shop(), mapping=lambda event: None)
    assert unsaveable.score(frame(["cart"], [0.1])).iloc[0] > 0
    with pytest.raises(fk.ScorerFormatError, match="mapping"):
        unsaveable.to_json()


# ---------------------------------------------------------------- Truncated and the fitted delays
def test_truncated_matches_scipy_and_round_trips() -> None:
    d = fk.Truncated(fk.Exponential(mean=2.0), 3.0)
    reference = stats.truncexpon(b=1.5, scale=2.0)
    t = np.array([0.0, 0.5, 1.0, 2.9, 3.0, 4.0])
    np.testing.assert_allclose(d.cdf(t), reference.cdf(t), atol=1e-14)
    np.testing.assert_allclose(d.survival(t), reference.sf(t), atol=1e-14)
    np.testing.assert_allclose(d.pdf(t[:-1]), reference.pdf(t[:-1]), rtol=1e-13)
    np.testing.assert_allclose(d.quantile([0.1, 0.5, 0.9]), reference.ppf([0.1, 0.5, 0.9]), rtol=1e-13)
    np.testing.assert_allclose(d.inverse_survival([0.1, 0.5, 0.9]), reference.isf([0.1, 0.5, 0.9]), rtol=1e-12)
    assert d.mean() == pytest.approx(reference.mean(), rel=1e-13)
    assert d.variance() == pytest.approx(reference.var(), rel=1e-11)
    assert d.base == fk.Exponential(mean=2.0) and d.upper == 3.0
    assert d.sample(10_000, seed=1).max() <= 3.0
    assert fk.distributions.from_json(d.to_json()) == d
    assert pickle.loads(pickle.dumps(d)) == d
    assert json.loads(d.to_json()) == {"type": "truncated", "base": {"type": "exponential", "rate": 0.5}, "upper": 3.0}
    with pytest.raises(fk.DistributionError, match="no probability below"):
        fk.Truncated(fk.Fixed(5.0), 1.0)
    with pytest.raises(fk.DistributionError, match="upper"):
        fk.Truncated(fk.Exponential(1.0), -1.0)


def _uniform_class() -> type[fk.Distribution]:
    class Uniform(fk.Distribution):
        def __init__(self, width: float) -> None:
            super().__init__()
            self.width = width

        def params(self) -> dict[str, float]:
            return {"width": self.width}

        def cdf(self, t: float) -> float:
            return min(max(t / self.width, 0.0), 1.0)

        def pdf(self, t: float) -> float:
            return 1.0 / self.width if 0 <= t <= self.width else 0.0

        def quantile(self, p: float) -> float:
            return p * self.width

    return Uniform


def test_a_truncated_python_extension_base_saves_only_when_registered() -> None:
    def funnel_with(base: fk.Distribution) -> fk.Funnel:
        return (fk.Funnel().add_stage("a").add_stage("b", "success")
                .add_edge("a", "b", 0.5, delay=fk.Truncated(base, 2.0)))

    with pytest.raises(fk.UnknownDistributionError, match="not registered"):
        funnel_with(_uniform_class()(4.0)).to_json()
    uniform = fk.register_distribution("test_uniform")(_uniform_class())
    try:
        back = fk.Funnel.from_json(funnel_with(uniform(4.0)).to_json())
        delay = back.edges[0].delay
        assert isinstance(delay, fk.Truncated) and isinstance(delay.base, uniform)
        assert delay.cdf(1.0) == pytest.approx(0.5)
        assert delay.mean() == pytest.approx(1.0, abs=1e-9)
    finally:
        fk.unregister("distribution", "test_uniform")


def test_delays_written_in_python_are_scored_too() -> None:
    """A Python extension delay works inside the engine's threads (each call takes the GIL)."""
    uniform = _uniform_class()
    funnel = (fk.Funnel("py", time_unit="days").add_stage("a", holding=fk.Fixed(3.0)).add_stage("b", "success")
              .add_edge("a", "b", 0.4, delay=uniform(2.0)))
    scores = fk.FunnelScorer(funnel).score(frame(["a"] * 5000 + ["a"], [0.5] * 5000 + [2.5]))
    # w_b = 0.4 * 0.75 / (0.4 * 0.75 + 0.6): the uniform has 3/4 of its mass beyond half a day
    assert scores.iloc[0] == pytest.approx(0.3 / 0.9, abs=1e-12)
    assert scores.iloc[-1] == 0.0  # past the uniform's support, only the holding time is pending


def test_fitted_delays_are_truncated_at_the_window(fitted: fk.FunnelFit) -> None:
    window_hours = fitted.options["window"] / pd.Timedelta(hours=1)
    rows = fitted.transitions.set_index(["source", "target"])
    checked = 0
    for edge in fitted.funnel.edges:
        family = rows.loc[(edge.source, edge.target), "delay"]
        if edge.target == "left":
            assert edge.delay == fk.Fixed(window_hours)
        elif family in ("exponential", "lognormal"):
            assert isinstance(edge.delay, fk.Truncated)
            assert edge.delay.upper == window_hours
            assert edge.delay.base.type_name() == family
            assert edge.delay.survival(window_hours) == 0.0
            checked += 1
    assert checked >= 5
    assert fitted.options["repeat"] == {}
    assert fitted.options["mapping"] is fk.fit.DEFAULT_MAPPING


def test_engine_next_step_sampling_matches_its_weights() -> None:
    """NextStep.sample draws the next stage by the conditional weights and the remaining time
    from the delay given it outlasted the idle time (5 sd on frequencies, 0.01 on survivals)."""
    chain = shop()._compiled()
    names = list(chain.names)
    engine = _core.NextStep(chain, 1)
    cart = names.index("cart")
    weights = engine.weights(cart, 0.3)
    targets, remaining = engine.sample(cart, 0.3, 200_000, 9)
    for target, w in zip(engine.targets(cart), weights, strict=True):
        share = float((targets == target).mean())
        assert share == pytest.approx(w, abs=5 * np.sqrt(w * (1 - w) / 200_000) + 1e-12)
    checkout = remaining[targets == names.index("checkout")]
    assert float((checkout > 0.5).mean()) == pytest.approx(np.exp(-2.0 * 0.5), abs=0.01)  # memoryless
    back = remaining[targets == names.index("visit")]
    weibull = stats.weibull_min(0.7, scale=10.0)
    assert float((back > 5.0).mean()) == pytest.approx(weibull.sf(5.3) / weibull.sf(0.3), abs=0.01)
