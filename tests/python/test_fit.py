"""Fitting funnels from event logs: the journey rules, the estimates and their intervals."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from journey_reference import count_journeys
from scipy import optimize, stats

import funnelkit as fk

STAGE_EVENTS = {"a": "ev_a", "b": "ev_b", "c": "ev_c", "paid": "ev_paid"}
HOUR = 3600.0


def frame_of(rows: list[tuple[int, float, str | None]]) -> pd.DataFrame:
    events = [STAGE_EVENTS[s] if s is not None else "noise" for _, _, s in rows]
    return pd.DataFrame({"lead_id": [r[0] for r in rows], "timestamp": [r[1] * HOUR for r in rows], "event": events})


rows_strategy = st.lists(
    st.tuples(st.integers(0, 5), st.floats(0, 100, allow_nan=False).map(lambda t: round(t, 3)),
              st.sampled_from(["a", "b", "c", "paid", None])),
    min_size=1, max_size=60,
)


@given(rows_strategy, st.sampled_from([5.0, 10.0, 40.0]), st.booleans())
def test_counts_match_an_independent_statement_of_the_rules(rows, window, with_repeat):
    if all(s is None for _, _, s in rows):
        return
    cut = 100.0
    repeat = {"paid": "repeat"} if with_repeat else {}
    absorbing = set() if with_repeat else {"paid"}
    expected = count_journeys(rows, window, cut, absorbing, repeat)
    fit = fk.fit_funnel(frame_of(rows), STAGE_EVENTS, window=window, observed_until=pd.Timestamp(cut * HOUR, unit="s"),
                        success=[] if with_repeat else ["paid"], repeat=repeat)
    seen = fit.transitions[fit.transitions.target != "left"]
    assert {(r.source, r.target): r.count for r in seen.itertuples()} == dict(expected.transitions)
    stages = fit.stages.set_index("stage")
    for column, counter in [("entries", expected.entries), ("losses", expected.losses),
                            ("censored", expected.censored), ("starts", expected.starts)]:
        assert stages[column][stages[column] > 0].to_dict() == {k: v for k, v in counter.items() if v}, column


def test_probabilities_are_counts_over_followed_up_entries_with_intervals_from_the_beta_posterior():
    rows = [(lead, 0.0, "a") for lead in range(10)] + [(lead, 1.0, "b") for lead in range(3)]
    fit = fk.fit_funnel(frame_of(rows), STAGE_EVENTS, window=24.0, observed_until=pd.Timestamp(1000 * HOUR, unit="s"))
    row = fit.transitions.set_index(["source", "target"]).loc[("a", "b")]
    assert (row["count"], row["exposure"], row["probability"]) == (3, 10, 0.3)
    # Jeffreys interval without a prior
    assert row["lower"] == pytest.approx(stats.beta.ppf(0.025, 3.5, 7.5), rel=1e-10)
    assert row["upper"] == pytest.approx(stats.beta.ppf(0.975, 3.5, 7.5), rel=1e-10)
    smoothed = fk.fit_funnel(frame_of(rows), STAGE_EVENTS, window=24.0, prior=1.0,
                             observed_until=pd.Timestamp(1000 * HOUR, unit="s"))
    row = smoothed.transitions.set_index(["source", "target"]).loc[("a", "b")]
    assert row["probability"] == pytest.approx((3 + 1) / (10 + 2))  # outcomes: b and leaving
    assert row["upper"] == pytest.approx(stats.beta.ppf(0.975, 4, 8), rel=1e-10)
    edge = next(e for e in smoothed.funnel.edges if (e.source, e.target) == ("a", "b"))
    assert edge.metadata["count"] == 3 and edge.metadata["exposure"] == 10


def test_the_fitted_funnel_round_trips_through_json_with_its_counts():
    rows = [(lead, 0.0, "a") for lead in range(20)] + [(lead, 0.5 + lead / 10, "paid") for lead in range(8)]
    fit = fk.fit_funnel(frame_of(rows), STAGE_EVENTS, window=24.0, observed_until=pd.Timestamp(1000 * HOUR, unit="s"))
    again = fk.Funnel.from_json(fit.funnel.to_json())
    assert again == fit.funnel
    assert again.analyze().success_probability == pytest.approx(8 / 20)
    assert [s.metadata.get("entries") for s in again.stages if s.name == "a"] == [20]


def test_duration_fits_match_scipy_maximum_likelihood():
    rng = np.random.default_rng(5)
    durations = rng.lognormal(1.0, 0.7, 4000)
    window = 40.0
    durations = durations[durations <= window]
    exponential, lognormal = fk._core.fit_durations(durations, window, 0.95)

    def negative_loglik(theta):
        mu, sigma = theta[0], math.exp(theta[1])
        return -(stats.lognorm.logpdf(durations, sigma, scale=math.exp(mu)).sum()
                 - durations.size * stats.lognorm.logcdf(window, sigma, scale=math.exp(mu)))

    best = optimize.minimize(negative_loglik, [0.5, 0.0], method="Nelder-Mead",
                             options={"xatol": 1e-10, "fatol": 1e-12})
    assert lognormal["params"][0] == pytest.approx(best.x[0], abs=1e-6)
    assert lognormal["params"][1] == pytest.approx(math.exp(best.x[1]), abs=1e-6)
    assert lognormal["log_likelihood"] == pytest.approx(-best.fun, rel=1e-9)

    def exp_negative_loglik(log_mean):
        return -(stats.expon.logpdf(durations, scale=math.exp(log_mean)).sum()
                 - durations.size * stats.expon.logcdf(window, scale=math.exp(log_mean)))

    best_exp = optimize.minimize_scalar(exp_negative_loglik, bounds=(-5, 10), method="bounded",
                                        options={"xatol": 1e-12})
    assert exponential["params"][0] == pytest.approx(math.exp(best_exp.x), rel=1e-6)
    assert lognormal["aic"] < exponential["aic"]  # the generating family wins


def test_chunks_and_parts_give_the_counts_of_the_whole(tmp_path):
    rng = np.random.default_rng(11)
    n = 3000
    frame = pd.DataFrame({
        "lead_id": rng.integers(0, 400, n),
        "timestamp": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.uniform(0, 30 * 24, n), unit="h"),
        "event": rng.choice(["ev_a", "ev_b", "ev_c", "ev_paid", "noise"], n),
    })
    cut = frame.timestamp.max()
    whole = fk.fit_funnel(frame, STAGE_EVENTS, window="2D")
    columns = ["source", "target", "count", "exposure"]
    chunks = [frame[frame.lead_id % 3 == k] for k in range(3)]
    pd.testing.assert_frame_equal(fk.fit_funnel(chunks, STAGE_EVENTS, window="2D", observed_until=cut)
                                  .transitions[columns], whole.transitions[columns])
    frame.to_parquet(tmp_path / "log.parquet")
    frame.to_csv(tmp_path / "log.csv", index=False)
    for path in (tmp_path / "log.parquet", tmp_path / "log.csv"):
        parted = fk.fit_funnel(path, STAGE_EVENTS, window="2D", parts=4)
        pd.testing.assert_frame_equal(parted.transitions[columns], whole.transitions[columns])
        assert parted.options["observed_until"] == cut
    with pytest.raises(ValueError, match="observed_until"):
        fk.fit_funnel(chunks, STAGE_EVENTS)


def test_results_do_not_depend_on_the_thread_count_or_row_order():
    rng = np.random.default_rng(2)
    n = 20_000
    frame = pd.DataFrame({"lead_id": rng.integers(0, 3000, n).astype(str),
                          "timestamp": rng.uniform(0, 40 * 86400, n).round(),
                          "event": rng.choice(["ev_a", "ev_b", "ev_c", "ev_paid"], n)})
    one = fk.fit_funnel(frame, STAGE_EVENTS, window="3D", threads=1)
    two = fk.fit_funnel(frame.sample(frac=1, random_state=4), STAGE_EVENTS, window="3D", threads=2)
    columns = ["source", "target", "count", "exposure", "probability", "median_duration"]
    # Shuffling changes only the order of ties, which the rounded times make common: counts agree
    # whenever no two events of a lead share a timestamp.
    if not frame.duplicated(["lead_id", "timestamp"]).any():
        pd.testing.assert_frame_equal(one.transitions[columns], two.transitions[columns])
    same = fk.fit_funnel(frame, STAGE_EVENTS, window="3D", threads=2)
    pd.testing.assert_frame_equal(one.transitions, same.transitions)


def test_compare_fits_matches_the_chi_square_test_of_two_proportions():
    def log_with(rate: float, leads: int, offset: int) -> pd.DataFrame:
        buyers = int(rate * leads)
        rows = [(offset + i, 0.0, "a") for i in range(leads)] + [(offset + i, 1.0, "paid") for i in range(buyers)]
        return frame_of(rows)

    cut = pd.Timestamp(1000 * HOUR, unit="s")
    first = fk.fit_funnel(log_with(0.30, 2000, 0), STAGE_EVENTS, window=24.0, observed_until=cut)
    second = fk.fit_funnel(log_with(0.25, 1500, 10_000), STAGE_EVENTS, window=24.0, observed_until=cut)
    table = fk.compare_fits(first, second)
    row = table.loc[("a", "paid")]
    _, p_value, _, _ = stats.chi2_contingency([[600, 1400], [375, 1125]], correction=False)
    assert row["p_value"] == pytest.approx(p_value, rel=1e-9)
    assert row["difference"] == pytest.approx(0.25 - 0.30)
    assert bool(row["significant"]) and row["prob_higher"] < 0.01


def test_bad_input_raises_clear_errors():
    good = frame_of([(1, 0.0, "a"), (1, 1.0, "b")])
    with pytest.raises(fk.MissingColumnError, match="lead_id"):
        fk.fit_funnel(good.drop(columns="lead_id"), STAGE_EVENTS)
    with pytest.raises(fk.EventDataError, match="null lead"):
        fk.fit_funnel(good.assign(lead_id=[1, None]), STAGE_EVENTS)
    with pytest.raises(fk.EventDataError, match="unparseable"):
        fk.fit_funnel(good.assign(timestamp=["2026-01-01", "not a time"]), STAGE_EVENTS)
    with pytest.raises(fk.EventDataError, match="after observed_until"):
        fk.fit_funnel(good, STAGE_EVENTS, observed_until=pd.Timestamp(0.5 * HOUR, unit="s"))
    with pytest.raises(fk.EmptyLogError):
        fk.fit_funnel(good.iloc[:0], STAGE_EVENTS)
    with pytest.raises(fk.UnknownStageError, match="nope"):
        fk.fit_funnel(good, STAGE_EVENTS, success=["nope"])
    with pytest.raises(ValueError, match="two stages"):
        fk.fit_funnel(good, {"a": "ev_a", "b": "ev_a"})
    with pytest.raises(fk.EventLogError, match="no event of the log maps"):
        fk.fit_funnel(good, {"x": "other"})
    with pytest.raises(ValueError, match="window"):
        fk.fit_funnel(good, STAGE_EVENTS, window=-1)
    noisy = frame_of([(1, 0.0, "a"), (1, 0.5, None), (1, 1.0, "b")])
    with pytest.raises(fk.EventLogError, match="noise"):
        fk.fit_funnel(noisy, STAGE_EVENTS, unmapped="raise")
    with pytest.warns(fk.UnmappedEventsWarning, match="noise"):
        fit = fk.fit_funnel(noisy, STAGE_EVENTS, unmapped="report")
    assert fit.unmapped.to_dict() == {"noise": 1}
    skipped = fk.fit_funnel(good.assign(timestamp=[0.0, math.nan]), STAGE_EVENTS, errors="skip")
    assert skipped.options["events_used"] == 1


def _truth_table(funnel: fk.Funnel) -> dict[tuple[str, str], float]:
    return {(e.source, e.target): e.probability for e in funnel.edges}


def _check_recovered(fit: fk.FunnelFit, truth: fk.Funnel) -> None:
    """Every generating probability lies in its fitted interval; no transition was invented."""
    expected = _truth_table(truth)
    seen = fit.transitions[fit.transitions.target != "left"]
    assert set(zip(seen.source, seen.target, strict=True)) <= set(expected)
    for row in seen.itertuples():
        assert row.lower <= expected[(row.source, row.target)] <= row.upper, (row.source, row.target)


def test_round_trip_recovers_the_shop_and_its_delays():
    log = fk.datasets.shop_events(60_000, seed=1)
    events = fk.read_events(log.events, segments=["device"])
    fit = fk.fit_funnel(events.where_segment("device", "desktop"), level=0.999)
    truth = log.funnels["desktop"]
    _check_recovered(fit, truth)
    delays = {(e.source, e.target): e.delay for e in truth.edges}
    checked = 0
    for row in fit.transitions[fit.transitions.target != "left"].itertuples():
        true_delay = delays[(row.source, row.target)]
        params = true_delay.params()
        if true_delay.type_name() == "lognormal" and row.count >= 300:
            assert row.lognormal_mu_low <= params["mu"] <= row.lognormal_mu_high, (row.source, row.target)
            assert row.lognormal_sigma_low <= params["sigma"] <= row.lognormal_sigma_high
            assert row.delay == "lognormal"  # AIC picks the generating family
            checked += 1
    assert checked >= 5
    # the order value: the success stage's value is the average order value
    paid = fit.stages.set_index("stage").loc["paid", "value"]
    assert paid == pytest.approx(60.0, rel=0.05)


@pytest.mark.parametrize("seed", [3, 4])
def test_round_trip_recovers_loops_with_returns_weeks_later_despite_the_cut(seed):
    """A lifecycle funnel whose leads come back after days to weeks, in a log cut after 120
    days: the followed-up entries give unbiased estimates; counting every entry whose outcome
    is not yet known as a loss does not."""
    truth = (
        fk.Funnel("returns", time_unit="hours")
        .add_stage("visit").add_stage("interest").add_stage("cart").add_stage("paid", "success")
        .add_edge("visit", "interest", 0.5, delay=fk.lognormal_from_median(0.2, 0.5))
        .add_edge("interest", "visit", 0.35, delay=fk.lognormal_from_median(7 * 24, 0.5))  # a week later
        .add_edge("interest", "cart", 0.25, delay=fk.lognormal_from_median(1.0, 0.5))
        .add_edge("cart", "paid", 0.4, delay=fk.lognormal_from_median(2.0, 0.5))
        .add_edge("cart", "interest", 0.2, delay=fk.lognormal_from_median(3 * 24, 0.4))
    )
    events = fk.datasets.generate_events(truth, 40_000, days=120, seed=seed)
    fit = fk.fit_funnel(events, {s: s for s in ["visit", "interest", "cart", "paid"]}, window="40D", level=0.999)
    _check_recovered(fit, truth)
    assert fit.stages.set_index("stage").loc["interest", "censored"] > 1000  # the cut matters here
    naive = fk.fit_funnel(events, {s: s for s in ["visit", "interest", "cart", "paid"]}, window="40D",
                          observed_until=pd.Timestamp("2100-01-01"))
    naive_return = naive.transitions.set_index(["source", "target"]).loc[("interest", "visit"), "upper"]
    assert naive_return < 0.35  # biased low: far outside its own interval


def test_round_trip_on_a_random_funnel_with_exponential_delays():
    rng = np.random.default_rng(8)
    names = [f"s{i}" for i in range(8)]
    truth = fk.Funnel("random", time_unit="hours")
    for name in names:
        truth.add_stage(name)
    truth.add_stage("paid", "success")
    for i, name in enumerate(names):
        targets = rng.choice([*names[:i], *names[i + 1:], "paid"], size=3, replace=False)
        shares = rng.dirichlet(np.ones(4))[:3] * 0.9  # the rest leaves
        for target, share in zip(targets, shares, strict=True):
            truth.add_edge(name, str(target), float(share), delay=fk.Exponential(mean=float(rng.uniform(1, 48))))
    events = fk.datasets.generate_events(truth, 30_000, days=60, seed=2)
    fit = fk.fit_funnel(events, {s: s for s in [*names, "paid"]}, window="20D", level=0.999, durations="exponential")
    _check_recovered(fit, truth)
    means = {(e.source, e.target): e.delay.mean() for e in truth.edges}
    for row in fit.transitions[(fit.transitions.target != "left") & (fit.transitions["count"] >= 200)].itertuples():
        assert row.exponential_mean_low <= means[(row.source, row.target)] <= row.exponential_mean_high
    assert fit.funnel.analyze().success_probability == pytest.approx(truth.analyze().success_probability, rel=0.1)


def test_a_journey_starting_at_an_absorbing_stage_leaves_the_funnel_analysable():
    # Lead 2's first mapped event is an unsubscribe: counted as a start, never an entry weight.
    frame = pd.DataFrame({"lead_id": [1, 1, 2, 3], "timestamp": pd.to_datetime(
        ["2026-01-01", "2026-01-02", "2026-01-01", "2026-03-01"]),
        "event": ["page_view", "add_to_cart", "unsubscribe", "page_view"]})
    fit = fk.fit_funnel(frame, window="7D", progress=False)
    assert int(fit.stages.set_index("stage").loc["unsubscribed", "starts"]) == 1
    assert fit.funnel.analyze().success_probability == 0.0
    assert set(fit.funnel.to_dict()["entry"]) == {"visit"}


def test_a_stage_entered_only_in_the_last_window_stays_in_the_funnel():
    # "cart" is entered only within the window before the cut: censored, yet leads are in it.
    frame = pd.DataFrame({"lead_id": [1, 1, 2, 2], "timestamp": pd.to_datetime(
        ["2026-01-01", "2026-01-02", "2026-02-27", "2026-02-28"]),
        "event": ["page_view", "product_view", "page_view", "add_to_cart"]})
    fit = fk.fit_funnel(frame, window="7D", progress=False)
    assert "cart" in fit.funnel
    placeholder = fit.transitions.set_index(["source", "target"])
    assert ("cart", "left") not in placeholder.index  # not estimated: a placeholder edge only
    assert fit.funnel.analyze().success_probability == 0.0
