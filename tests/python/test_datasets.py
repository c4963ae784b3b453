"""Synthetic event logs: the generating contract a fitter relies on (funnelkit.datasets)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.datasets import SHOP_EVENTS, SyntheticLog, generate_events, shop_events, shop_truth

MINUTES = fk.lognormal_from_median(0.1, 0.5)  # hours: a few minutes, never near a day


@pytest.fixture(scope="module")
def shop() -> SyntheticLog:
    # Large enough for the checkout comparison below (a few thousand checkouts per device).
    return shop_events(60_000, days=60, seed=11)


def two_step(p: float = 0.3, time_unit: str = "hours") -> fk.Funnel:
    funnel = fk.Funnel("two steps", time_unit=time_unit).add_stage("start").add_stage("paid", "success")
    return funnel.add_edge("start", "paid", p, delay=MINUTES)


def stage_runs(events: pd.DataFrame, mapping: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Each lead's stay per stage: its events mapped to stages (noise left out), consecutive
    repeats collapsed; with the stage that came next (None: nothing more was logged)."""
    stage_of = {name: stage for stage, names in mapping.items() for name in names}
    frame = events.assign(stage=events["event"].astype(str).map(stage_of)).dropna(subset=["stage"])
    frame = frame.sort_values(["lead_id", "timestamp"], kind="stable")
    same_lead = frame["lead_id"].eq(frame["lead_id"].shift())
    runs = frame[~(same_lead & frame["stage"].eq(frame["stage"].shift()))].copy()
    runs["next"] = runs["stage"].shift(-1).where(runs["lead_id"].eq(runs["lead_id"].shift(-1)))
    return runs


def test_same_seed_same_log_other_seed_other_log() -> None:
    first, again, other = (shop_events(3_000, days=20, seed=s) for s in (5, 5, 6))
    pd.testing.assert_frame_equal(first.events, again.events)
    assert (first.start, first.end) == (again.start, again.end)
    assert len(first.events) != len(other.events) or not first.events.equals(other.events)
    plain = [generate_events(fk.examples.shop_funnel(), 2_000, days=10, seed=s) for s in (1, 1, 2)]
    pd.testing.assert_frame_equal(plain[0], plain[1])
    assert not plain[0]["timestamp"].equals(plain[2]["timestamp"])


def test_columns_dtypes_and_marks(shop: SyntheticLog) -> None:
    events = shop.events
    assert list(events.columns) == ["lead_id", "timestamp", "event", "value", "product_id", "category", "source",
                                    "device"]
    assert events["lead_id"].dtype == np.int64
    assert events["timestamp"].dtype == np.dtype("datetime64[ns]")
    assert isinstance(events["event"].dtype, pd.CategoricalDtype)
    assert events["value"].dtype == np.float64 and events["product_id"].dtype == pd.Int64Dtype()
    assert list(events["source"].cat.categories) == ["organic", "ads", "email", "social"]
    assert list(events["device"].cat.categories) == ["desktop", "mobile"]
    # Sorted by time, then lead.
    keys = events[["timestamp", "lead_id"]]
    assert keys.equals(keys.sort_values(["timestamp", "lead_id"], kind="stable"))
    # Values exactly on purchases, product ids exactly on product views and cart adds.
    is_purchase = events["event"].eq("purchase")
    assert events["value"].notna().equals(is_purchase) and (events.loc[is_purchase, "value"] > 0).all()
    has_product = events["event"].isin(["product_view", "add_to_cart"])
    assert events["product_id"].notna().equals(has_product)
    products = events.loc[has_product, "product_id"].astype("int64")
    assert products.between(10_001, 12_000).all()
    top = products.value_counts(normalize=True)
    assert top.iloc[0] > 0.05 and top.iloc[:100].sum() > 0.5  # a few best sellers, a long tail
    # Segments are constant per lead and in the advertised shares.
    per_lead = events.groupby("lead_id")[["source", "device"]].nunique()
    assert (per_lead == 1).all().all()
    leads = events.drop_duplicates("lead_id")
    assert leads["device"].eq("mobile").mean() == pytest.approx(0.6, abs=0.015)
    assert leads["source"].value_counts(normalize=True)["organic"] == pytest.approx(0.4, abs=0.015)
    assert leads["lead_id"].nunique() == 60_000


def test_no_event_at_or_after_the_cut_but_journeys_still_open(shop: SyntheticLog) -> None:
    assert shop.end - shop.start == pd.Timedelta(days=60)
    assert shop.events["timestamp"].min() >= shop.start
    assert shop.events["timestamp"].max() < shop.end
    # Leads arriving near the cut are caught mid-journey: a lead is still being nurtured
    # (subscribed less than a day before the cut, no later stage yet) far more often than
    # among leads who subscribed long before.
    runs = stage_runs(shop.events, shop.mapping)
    subscribed = runs[runs["stage"] == "lead"]
    late = subscribed["timestamp"] > shop.end - pd.Timedelta(days=1)
    open_late = subscribed.loc[late, "next"].isna().mean()
    open_early = subscribed.loc[subscribed["timestamp"] < shop.end - pd.Timedelta(days=30), "next"].isna().mean()
    assert open_late > open_early + 0.3


def test_every_lead_starts_with_its_entry_event(shop: SyntheticLog) -> None:
    first = shop.events.sort_values(["lead_id", "timestamp"], kind="stable").drop_duplicates("lead_id")
    assert first["event"].eq("session_start").all()
    funnel = two_step().add_stage("returning").add_edge("returning", "paid", 0.5, delay=MINUTES)
    funnel.set_entry({"start": 3.0, "returning": 1.0})
    log = generate_events(funnel, 8_000, days=5, seed=3)
    firsts = log.sort_values(["lead_id", "timestamp"], kind="stable").drop_duplicates("lead_id")["event"]
    assert firsts.isin(["start", "returning"]).all()
    assert firsts.eq("start").mean() == pytest.approx(0.75, abs=4 * math.sqrt(0.75 * 0.25 / 8_000))


def test_extra_events_never_break_the_stage_sequence(shop: SyntheticLog) -> None:
    runs = stage_runs(shop.events, shop.mapping)
    moves = runs.dropna(subset=["next"])
    seen = set(zip(moves["stage"], moves["next"], strict=True))
    edges = {(e.source, e.target) for e in shop.funnels["desktop"].edges}
    assert seen <= edges
    assert seen == edges  # every edge, the loops back included, shows up in a log this size
    # Extras repeat only a stage's own events: a session starts once per visit, and nobody
    # pays twice without coming back through checkout.
    starts = shop.events["event"].eq("session_start").groupby(shop.events["lead_id"]).sum()
    visits = runs["stage"].eq("visit").groupby(runs["lead_id"]).sum()
    assert starts.equals(visits.reindex(starts.index, fill_value=0))
    assert shop.events["event"].eq("page_view").any()
    assert shop.events["event"].isin(["search", "login", "view_promotion"]).mean() > 0.05


def test_without_extra_events_the_log_holds_stage_entries_only() -> None:
    log = generate_events(fk.examples.shop_funnel(), 5_000, days=30, seed=4, extra_events=0)
    assert set(log["event"].cat.categories) == set(fk.examples.shop_funnel().stage_names) - {"dropped"}
    ordered = log.sort_values(["lead_id", "timestamp"], kind="stable")
    repeated = ordered["lead_id"].eq(ordered["lead_id"].shift()) & ordered["event"].eq(ordered["event"].shift())
    # shop_funnel has no self-loop, so two equal events in a row would be an extra event.
    assert not repeated.any()
    with_extras = generate_events(fk.examples.shop_funnel(), 5_000, days=30, seed=4, extra_events=2.0)
    assert len(with_extras) > 2.5 * len(log)


def test_purchase_share_matches_the_edge_probability() -> None:
    n, p = 20_000, 0.3
    log = generate_events(two_step(p), n, days=30, seed=21, events={"start": "session_start", "paid": "purchase"})
    buyers = log.loc[log["event"] == "purchase", "lead_id"]
    assert buyers.is_unique
    assert buyers.size / n == pytest.approx(p, abs=4 * math.sqrt(p * (1 - p) / n))
    # A lead who leaves emits nothing more, ever: only extras within 30 minutes of arriving.
    times = log.groupby("lead_id")["timestamp"].agg(["min", "max"])
    leavers = times.drop(index=buyers)
    assert len(leavers) == n - buyers.size
    assert (leavers["max"] - leavers["min"]).max() < pd.Timedelta(minutes=30)
    assert (leavers["max"] > leavers["min"]).mean() > 0.5  # with extra events in those minutes


def test_order_values_follow_the_distribution() -> None:
    log = generate_events(two_step(0.5), 20_000, days=30, seed=8)
    values = log.loc[log["event"] == "paid", "value"]
    # Default: log-normal, sigma 0.6, mean 60 (the stage has no value of its own).
    assert values.mean() == pytest.approx(60.0, abs=4 * values.std() / math.sqrt(values.size))
    assert np.log(values).std() == pytest.approx(0.6, abs=0.02)
    given = fk.lognormal_from_median(20.0, 0.3)
    custom = generate_events(two_step(0.5), 20_000, days=30, seed=8, order_value=given)["value"].dropna()
    assert custom.mean() == pytest.approx(given.mean(), abs=4 * math.sqrt(given.variance() / custom.size))
    valued = fk.Funnel("v").add_stage("s").add_stage("paid", "success", value=150.0).add_edge("s", "paid", 1.0)
    assert generate_events(valued, 5_000, seed=2)["value"].mean() == pytest.approx(150.0, rel=0.05)


def test_mobile_checkouts_pay_less_often_by_the_penalty(shop: SyntheticLog) -> None:
    runs = stage_runs(shop.events, shop.mapping)
    settled = runs[(runs["stage"] == "checkout") & (runs["timestamp"] < shop.end - pd.Timedelta(days=1))]
    shares = {}
    for device, funnel in shop.funnels.items():
        checkouts = settled[settled["device"] == device]
        truth = next(e.probability for e in funnel.edges if (e.source, e.target) == ("checkout", "paid"))
        share = checkouts["next"].eq("paid").mean()
        assert len(checkouts) > 1_500
        assert share == pytest.approx(truth, abs=4 * math.sqrt(truth * (1 - truth) / len(checkouts)))
        shares[device] = share
    assert shares["mobile"] < shares["desktop"]
    assert shares["mobile"] / shares["desktop"] == pytest.approx(0.8, abs=0.1)


def test_the_shop_truth_is_documented_and_fits_a_30_day_window() -> None:
    truth = shop_truth()
    assert truth.time_unit == "hours" and truth.stage_names == list(SHOP_EVENTS)
    assert all(e.delay is not None and e.delay.survival(30 * 24.0) < 1e-4 for e in truth.edges)
    assert all(s.holding is None for s in truth.stages)
    assert 0.01 < truth.analyze().success_probability < 0.05  # a few percent of visitors buy
    log = shop_events(100, days=5, seed=0, mobile_checkout_penalty=0.5)
    desktop, mobile = ({(e.source, e.target): e for e in log.funnels[device].edges} for device in ("desktop", "mobile"))
    assert desktop.keys() == mobile.keys()
    for key, edge in desktop.items():
        factor = 0.5 if key == ("checkout", "paid") else 1.0
        assert mobile[key].probability == pytest.approx(edge.probability * factor)
        assert mobile[key].delay == edge.delay
    assert log.mapping == SHOP_EVENTS


def test_weekends_are_busier() -> None:
    n = 30_000
    log = generate_events(two_step(), n, days=28, start="2026-01-05", seed=9, extra_events=0)  # 4 whole weeks
    arrivals = log.loc[log["event"] == "start", "timestamp"]
    weekend = (arrivals.dt.day_of_week >= 5).mean()
    expected = 2 * 1.2 / (5 + 2 * 1.2)
    assert weekend == pytest.approx(expected, abs=4 * math.sqrt(expected * (1 - expected) / n))


def test_a_start_with_a_time_zone_is_read_as_utc() -> None:
    log = generate_events(two_step(), 2_000, start="2026-01-05 03:00+03:00", days=1, seed=2)
    assert log["timestamp"].dt.tz is None
    assert log["timestamp"].min() >= pd.Timestamp("2026-01-05") > log["timestamp"].min() - pd.Timedelta(hours=1)
    assert log["timestamp"].max() < pd.Timestamp("2026-01-06")


def test_delays_in_the_funnels_time_unit_and_max_steps() -> None:
    daily = (
        fk.Funnel("daily", time_unit="days")
        .add_stage("a")
        .add_stage("b")
        .add_stage("done", "success")
        .add_edge("a", "b", 0.9, delay=fk.Fixed(1.0))
        .add_edge("b", "a", 0.9, delay=fk.Fixed(1.0))
        .add_edge("b", "done", 0.1, delay=fk.Fixed(1.0))
    )
    log = generate_events(daily, 2_000, days=60, seed=5, extra_events=0, max_steps=6)
    ordered = log.sort_values(["lead_id", "timestamp"], kind="stable")
    gaps = ordered.groupby("lead_id")["timestamp"].diff().dropna()
    assert (gaps == pd.Timedelta(days=1)).all()
    per_lead = ordered.groupby("lead_id").size()
    assert per_lead.max() == 7  # the entry and at most max_steps moves
    assert (per_lead == 7).mean() > 0.3  # many leads would go on: the cap cut them
    # Only entries with a zero delay can tie, and a lead's tied entries stay in order.
    instant = fk.Funnel("instant").add_stage("a").add_stage("b").add_stage("c", "success")
    instant.add_edge("a", "b", 1.0).add_edge("b", "c", 1.0)
    tied = generate_events(instant, 500, days=1, seed=1, extra_events=0)
    assert tied.groupby("lead_id")["event"].apply(lambda e: "".join(e.astype(str))).eq("abc").all()


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: generate_events(two_step(), 0), ValueError, "n_leads must be a positive integer"),
        (lambda: generate_events(two_step(), 10, days=0), ValueError, "days must be a finite number > 0"),
        (lambda: generate_events(two_step(), 10, days=float("nan")), ValueError, "days must be"),
        (lambda: generate_events(two_step(), 10, days=1e6), ValueError, "outside the range of datetime64"),
        (lambda: generate_events(two_step(), 10, extra_events=-1), ValueError, "extra_events must be"),
        (lambda: generate_events(two_step(), 10, max_steps=0), ValueError, "max_steps must be"),
        (lambda: generate_events(two_step(), 10, start="not a date"), ValueError, "start must be a date"),
        (
            lambda: generate_events(two_step(), 10, events={"start": "s"}),
            ValueError,
            r"no event for stage\(s\) \['paid'\]",
        ),
        (
            lambda: generate_events(two_step(), 10, events={"start": "s", "paid": "p", "cart": "c"}),
            fk.UnknownStageError,
            "'cart'",
        ),
        (
            lambda: generate_events(two_step(), 10, events={"start": ["s", "p"], "paid": "p"}),
            ValueError,
            "event 'p' is mapped to both stage 'start' and stage 'paid'",
        ),
        (lambda: generate_events(two_step(), 10, events={"start": [], "paid": "p"}), ValueError, "'start' must map to"),
        (
            lambda: generate_events(two_step(time_unit="fortnights"), 10),
            ValueError,
            "time_unit 'fortnights'",
        ),
        (lambda: generate_events(two_step(), 10, order_value=60.0), TypeError, "order_value must be"),  # type: ignore[arg-type]
        (lambda: shop_events(10, mobile_share=1.5), ValueError, "mobile_share must be in"),
        (lambda: shop_events(0), ValueError, "n_leads must be"),
    ],
)
def test_bad_arguments_raise_with_a_message(call: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()  # type: ignore[operator]


def test_stages_that_cannot_be_entered_need_no_event() -> None:
    funnel = two_step().add_stage("unused").add_edge("unused", "paid", 0.5).add_stage("never", "failure")
    funnel.add_edge("start", "never", 0.0)
    log = generate_events(funnel, 1_000, events={"start": "s", "paid": "p"}, seed=1, extra_events=0)
    with pytest.raises(fk.UnknownStageError) as caught:
        generate_events(funnel, 10, events={"start": "s", "paid": "p", "nope": "x"})
    assert caught.value.subject == "nope"
    assert set(log["event"].unique()) == {"s", "p"}
