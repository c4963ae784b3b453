"""Lead features, labels and the "feature" extension kind, against independent pandas / plain
Python computations on random logs."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.scoring.features import FEATURE_NAMES

MINUTE = pd.Timedelta(minutes=1)
NAMES = ["page_view", "product_view", "add_to_cart", "begin_checkout", "purchase", "email_open", "email_click",
         "subscribe", "search", "session_start", "unsubscribe"]
ROLE = {"page_view": "page", "product_view": "product", "add_to_cart": "cart", "begin_checkout": "checkout",
        "purchase": "order", "email_open": "open", "email_click": "click"}
STAGE = {e: s for s, names in fk.fit.DEFAULT_MAPPING.items() for e in names}
START = pd.Timestamp("2026-03-01")


def random_log(seed: int, leads: int = 150, sessions: int = 600) -> pd.DataFrame:
    """Sessions of a few events minutes apart, spread over 20 days; values and products on
    some events (some missing), categories from products."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(sessions):
        lead = f"L{rng.integers(leads)}"
        t = START + pd.Timedelta(days=float(rng.random() * 20))
        for _ in range(int(rng.integers(1, 7))):
            t = t + MINUTE * float(rng.exponential(8.0))
            name = NAMES[int(rng.choice(len(NAMES), p=[0.3, 0.2, 0.1, 0.05, 0.04, 0.08, 0.05, 0.04, 0.06, 0.06, 0.02]))]
            value = float(rng.integers(5, 80)) if name in ("add_to_cart", "purchase") and rng.random() < 0.8 else np.nan
            product = int(rng.integers(1, 30)) if name in ("product_view", "add_to_cart") and rng.random() < 0.9 else None
            rows.append((lead, t, name, value, product))
    frame = pd.DataFrame(rows, columns=["lead_id", "timestamp", "event", "value", "product_id"])
    frame = frame.sample(frac=1.0, random_state=seed).reset_index(drop=True)  # any order
    frame["category"] = frame["product_id"].map(lambda p: None if pd.isna(p) else "abcde"[int(p) % 5])
    frame["product_id"] = frame["product_id"].astype("Int64")
    return frame


def reference_features(frame: pd.DataFrame, at: pd.Timestamp, gap: pd.Timedelta = 30 * MINUTE, k: int = 3,
                       decay: tuple[tuple[str, float], ...] = ()) -> pd.DataFrame:
    """Every built-in feature but the stage, by pandas groupby."""
    df = frame[frame["timestamp"] <= at].copy()
    df["order"] = np.arange(len(df))
    df = df.sort_values(["lead_id", "timestamp", "order"], kind="stable")
    df["role"] = df["event"].map(ROLE)
    g = df.groupby("lead_id", sort=False)
    out = pd.DataFrame(index=pd.Index(sorted(df["lead_id"].unique()), name="lead_id"))
    site = df[~df["role"].isin(["open", "click"])]
    new = site["lead_id"].ne(site["lead_id"].shift()) | (site["timestamp"].diff() > gap)
    site = site.assign(session=new.cumsum())
    spans = site.groupby(["lead_id", "session"])["timestamp"].agg(lambda s: (s.max() - s.min()) / MINUTE)
    out["sessions"] = spans.groupby(level=0).size()
    out["events"] = g.size()
    for name, role in [("page_views", "page"), ("product_views", "product"), ("cart_adds", "cart"),
                       ("checkouts", "checkout"), ("orders", "order"), ("email_opens", "open"),
                       ("email_clicks", "click")]:
        out[name] = df[df["role"] == role].groupby("lead_id").size()
    views = df[df["role"] == "product"]
    out["distinct_products"] = views.dropna(subset=["product_id"]).groupby("lead_id")["product_id"].nunique()
    out["distinct_categories"] = views.dropna(subset=["category"]).groupby("lead_id")["category"].nunique()
    out["cart_value"] = df[df["role"] == "cart"]["value"].fillna(0).groupby(df["lead_id"]).sum()
    out["revenue"] = df[df["role"] == "order"]["value"].fillna(0).groupby(df["lead_id"]).sum()
    out["time_on_site_min"] = spans.groupby(level=0).sum()
    out = out.fillna(0)
    out["avg_order_value"] = np.where(out["orders"] > 0, out["revenue"] / out["orders"].clip(lower=1), 0.0)
    out["avg_session_min"] = np.where(out["sessions"] > 0, out["time_on_site_min"] / out["sessions"].clip(lower=1), 0.0)
    day = pd.Timedelta(days=1)
    out["recency_days"] = (at - g["timestamp"].max()) / day
    out["tenure_days"] = (at - g["timestamp"].min()) / day
    out["active_days"] = df.assign(d=df["timestamp"].dt.floor("D")).groupby("lead_id")["d"].nunique()
    out["frequency"] = out["sessions"] / (out["tenure_days"].clip(lower=1.0) / 7.0)
    for j in range(k):
        out[f"top_category_{j + 1}"] = None
        out[f"top_category_{j + 1}_share"] = 0.0
    for lead, cats in views.dropna(subset=["category"]).groupby("lead_id")["category"]:
        counts = cats.value_counts()
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
        for j, (cat, count) in enumerate(ranked[:k]):
            out.loc[lead, f"top_category_{j + 1}"] = cat
            out.loc[lead, f"top_category_{j + 1}_share"] = count / counts.sum()
    for event, half_life in decay:
        chosen = df[df["event"] == event]
        weight = 0.5 ** (((at - chosen["timestamp"]) / day) / half_life)
        out[f"decayed_{event}_{half_life:g}d"] = weight.groupby(chosen["lead_id"]).sum()
        out[f"decayed_{event}_{half_life:g}d"] = out[f"decayed_{event}_{half_life:g}d"].fillna(0.0)
    return out


def reference_stage(frame: pd.DataFrame, at: pd.Timestamp, window: pd.Timedelta, gap: pd.Timedelta | None = None,
                    absorbing: tuple[str, ...] = ("paid", "unsubscribed"),
                    repeat: dict[str, str] | None = None) -> pd.DataFrame:
    """Current stage and days in it by the rules of docs/events.md, walked in plain Python."""
    repeat = repeat or {}
    df = frame[frame["timestamp"] <= at].copy()
    df["order"] = np.arange(len(df))
    df = df.sort_values(["lead_id", "timestamp", "order"], kind="stable")
    out = {}
    for lead, rows in df.groupby("lead_id"):
        current = entry = last = None
        entered: set[str] = set()
        result = None
        for t, name in zip(rows["timestamp"], rows["event"], strict=True):
            stage = STAGE.get(name)
            if stage is None:
                continue
            if current is not None and (t - entry > window or (gap is not None and t - last > gap)):
                current = None
            last = t
            if stage != current and stage in entered and stage in repeat:
                stage = repeat[stage]
            if stage == current:
                continue
            current, entry = stage, t
            entered.add(stage)
            if stage in absorbing:
                result = (stage, t)
                break
        if result is None:
            if current is None:
                result = ("none", rows["timestamp"].min())
            elif at - entry > window or (gap is not None and at - last > gap):
                left = entry + window if gap is None else min(entry + window, last + gap)
                result = ("left", left)
            else:
                result = (current, entry)
        out[lead] = (result[0], (at - result[1]) / pd.Timedelta(days=1))
    table = pd.DataFrame.from_dict(out, orient="index", columns=["stage", "time_in_stage_days"])
    table.index.name = "lead_id"
    return table.sort_index()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_builtin_feature_matches_pandas(seed: int) -> None:
    frame = random_log(seed)
    at = START + pd.Timedelta(days=12.3)
    decay = (("product_view", 2.0), ("email_click", 0.5))
    got = fk.lead_features(frame, at, decay=decay, event_counts=["search", "nope"], progress=False).sort_index()
    want = reference_features(frame, at, decay=decay)
    assert list(got.index) == list(want.index)
    for name in [c for c in want.columns if not c.startswith("top_category_") or c.endswith("_share")]:
        np.testing.assert_allclose(got[name].to_numpy(dtype=float), want[name].to_numpy(dtype=float),
                                   rtol=1e-9, atol=1e-9, err_msg=name)
    for j in (1, 2, 3):
        assert got[f"top_category_{j}"].astype(object).where(got[f"top_category_{j}"].notna(), None).tolist() == \
            want[f"top_category_{j}"].tolist()
    searches = frame[(frame["timestamp"] <= at) & (frame["event"] == "search")].groupby("lead_id").size()
    assert got["events_search"].equals(searches.reindex(got.index, fill_value=0).astype(np.int64).rename("events_search"))
    assert (got["events_nope"] == 0).all()
    assert got["sessions"].dtype == np.int64 and got["cart_value"].dtype == np.float64
    assert list(got.columns[: len(FEATURE_NAMES)]) == list(FEATURE_NAMES)


@pytest.mark.parametrize(("window", "gap", "success"), [("3D", None, None), ("12h", None, None),
                                                        ("2D", "1h", None), ("5D", None, [])])
def test_stage_and_time_in_it_follow_the_journey_rules(window: str, gap: str | None, success: list[str] | None) -> None:
    frame = random_log(4, leads=80, sessions=700)
    at = START + pd.Timedelta(days=15)
    got = fk.lead_features(frame, at, window=window, journey_gap=gap, success=success, failure=success,
                           progress=False).sort_index()
    absorbing = ("paid", "unsubscribed") if success is None else ()
    repeat = {"paid": "repeat"} if success == [] else None
    want = reference_stage(frame, at, pd.Timedelta(window), None if gap is None else pd.Timedelta(gap), absorbing,
                           repeat)
    assert got["stage"].astype(str).tolist() == want["stage"].tolist()
    np.testing.assert_allclose(got["time_in_stage_days"], want["time_in_stage_days"], rtol=1e-12, atol=1e-12)
    assert list(got["stage"].cat.categories[-2:]) == ["left", "none"]
    assert got["stage"].isin(["left"]).any() and got["stage"].nunique() >= 3


def test_no_look_ahead_and_thread_count_does_not_matter() -> None:
    frame = random_log(5)
    at = START + pd.Timedelta(days=9)
    full = fk.lead_features(frame, at, decay=[("page_view", 3)], progress=False)
    before = fk.lead_features(frame[frame["timestamp"] <= at], at, decay=[("page_view", 3)], progress=False)
    later = frame.assign(timestamp=frame["timestamp"] + pd.Timedelta(days=30))  # only events after `at`...
    more = fk.lead_features(pd.concat([frame, later]), at, decay=[("page_view", 3)], progress=False)
    # Rows follow the leads' order of first appearance: compare by lead.
    pd.testing.assert_frame_equal(full.sort_index(), before.sort_index(), check_categorical=False)
    pd.testing.assert_frame_equal(full.sort_index(), more.sort_index(), check_categorical=False)
    for threads in (1, 2, 5):
        pd.testing.assert_frame_equal(fk.lead_features(frame, at, decay=[("page_view", 3)], threads=threads,
                                                       progress=False), full)


def test_shop_events_have_categories_and_newsletters() -> None:
    shop = fk.datasets.shop_events(5_000, days=40, seed=3)
    events = shop.events
    assert set(events["category"].cat.categories) == set(fk.datasets.CATEGORIES)
    assert events["category"].notna().equals(events["product_id"].notna())
    per_product = events.dropna(subset=["product_id"]).groupby("product_id")["category"].nunique()
    assert (per_product == 1).all()
    mails = events[events["event"].isin(["email_open", "email_click"])]
    subscribers = set(events.loc[events["event"] == "subscribe", "lead_id"])
    assert len(mails) > 0 and set(mails["lead_id"]) <= subscribers
    # The other events did not change: the same as without newsletters.
    base = events[~events["event"].isin(["email_open", "email_click"])].reset_index(drop=True)
    assert len(base) == len(events) - len(mails)
    # Clicks are informative: buyers click more per subscriber.
    buyers = set(events.loc[events["event"] == "purchase", "lead_id"])
    clicks = mails[mails["event"] == "email_click"].groupby("lead_id").size()
    opens = mails[mails["event"] == "email_open"].groupby("lead_id").size()
    rate = (clicks.reindex(opens.index, fill_value=0) / opens)
    assert rate[rate.index.isin(buyers)].mean() > rate[~rate.index.isin(buyers)].mean()
    features = fk.lead_features(events, progress=False)
    assert features["email_opens"].sum() == (events["event"] == "email_open").sum()
    assert features["top_category_1"].notna().any()


def test_labels_and_training_set_do_not_leak() -> None:
    frame = random_log(6)
    at = START + pd.Timedelta(days=8)
    y = fk.purchase_labels(frame, at, "5D")
    want = frame[(frame["timestamp"] > at) & (frame["timestamp"] <= at + pd.Timedelta(days=5))
                 & (frame["event"] == "purchase")]["lead_id"].unique()
    seen = sorted(frame.loc[frame["timestamp"] <= at, "lead_id"].unique())
    assert sorted(y.index) == seen
    assert set(y[y == 1].index) == set(want) & set(seen)
    x, labels = fk.training_set(frame, at, "5D", decay=[("purchase", 1.0)])
    pd.testing.assert_index_equal(x.index, labels.index)
    # Features are those of the log cut at `at`: nothing after it leaks in.
    cut = fk.lead_features(frame[frame["timestamp"] <= at], at, decay=[("purchase", 1.0)])
    pd.testing.assert_frame_equal(x.sort_index(), cut.sort_index(), check_categorical=False)
    with pytest.raises(fk.LabelError, match="after the log's cut"):
        fk.purchase_labels(frame, START + pd.Timedelta(days=19), "5D")
    with pytest.raises(fk.LabelError, match="no event named"):
        fk.purchase_labels(frame, at, "1D", events=["order_paid"])


class RecentEvents(fk.LeadFeature):
    """Events in the last `days` days and the mean value of valued events: vectorised."""

    def __init__(self, days: float = 3.0) -> None:
        super().__init__()
        self.days = days

    @property
    def names(self) -> list[str]:
        return ["recent_events", "mean_value"]

    def params(self) -> dict[str, float]:
        return {"days": self.days}

    def compute(self, table: fk.scoring.LeadTable, at: int) -> np.ndarray:
        lead = table.event_lead
        recent = np.bincount(lead, weights=table.times >= at - self.days * 86_400e9, minlength=table.n_leads)
        valued = ~np.isnan(table.values)
        total = np.bincount(lead[valued], weights=table.values[valued], minlength=table.n_leads)
        count = np.bincount(lead[valued], minlength=table.n_leads)
        return np.column_stack([recent, np.divide(total, count, out=np.zeros_like(total), where=count > 0)])


def test_python_feature_matches_pandas_and_registers() -> None:
    frame = random_log(7, leads=9_000, sessions=12_000)  # several blocks
    at = START + pd.Timedelta(days=10)
    got = fk.lead_features(frame, at, features=[RecentEvents(2.0)], progress=False)
    df = frame[frame["timestamp"] <= at]
    recent = df[df["timestamp"] >= at - pd.Timedelta(days=2)].groupby("lead_id").size()
    np.testing.assert_array_equal(got["recent_events"], recent.reindex(got.index, fill_value=0))
    mean = df.dropna(subset=["value"]).groupby("lead_id")["value"].mean()
    np.testing.assert_allclose(got["mean_value"], mean.reindex(got.index, fill_value=0.0), rtol=1e-12)
    fk.register("feature", "recent_events")(RecentEvents)
    try:
        by_name = fk.lead_features(frame, at, features=["recent_events"], threads=3, progress=False)
        assert by_name["recent_events"].sum() == fk.lead_features(frame, at, features=[RecentEvents()],
                                                                  threads=1, progress=False)["recent_events"].sum()
        assert "feature" in fk.extension.EXTENSION_KINDS
    finally:
        fk.unregister("feature", "recent_events")


def test_bad_features_and_bad_input_raise_clear_errors() -> None:
    frame = random_log(8, leads=20, sessions=40)

    class Wrong(fk.LeadFeature):
        names = ["a"]

        def compute(self, table: fk.scoring.LeadTable, at: int) -> np.ndarray:
            return np.zeros(table.n_leads + 1)

    class Broken(fk.LeadFeature):
        names = ["b"]

        def compute(self, table: fk.scoring.LeadTable, at: int) -> np.ndarray:
            raise RuntimeError("boom")

    with pytest.raises(fk.FeatureValueError, match="shape"):
        fk.lead_features(frame, features=[Wrong()], progress=False)
    with pytest.raises(RuntimeError, match="boom"):
        fk.lead_features(frame, features=[Broken()], threads=2, progress=False)
    with pytest.raises(TypeError, match="must define"):
        fk.lead_features(frame, features=[fk.LeadFeature()], progress=False)
    with pytest.raises(ValueError, match="no lead feature is registered"):
        fk.lead_features(frame, features=["nope"], progress=False)
    with pytest.raises(fk.EmptyLogError, match="no event at or before"):
        fk.lead_features(frame, at="2020-01-01", progress=False)
    with pytest.raises(fk.MissingColumnError, match="sku"):
        fk.lead_features(frame, products="sku", progress=False)
    with pytest.raises(fk.FeatureValueError, match="half-life"):
        fk.lead_features(frame, decay=[("page_view", -1.0)], progress=False)
    with pytest.raises(ValueError, match="unknown role"):
        fk.lead_features(frame, roles={"visit": "page_view"}, progress=False)
    with pytest.raises(ValueError, match="window"):
        fk.lead_features(frame, window="soon", progress=False)
    # Columns the log lacks under their default names are zeros, not errors.
    plain = fk.lead_features(frame.drop(columns=["product_id", "category"]), progress=False)
    assert (plain["distinct_products"] == 0).all() and plain["top_category_1"].isna().all()
    assert math.isfinite(plain["time_in_stage_days"].max())


def test_a_feature_without_compute_is_refused_when_defined() -> None:
    with pytest.raises(TypeError, match="must define compute"):
        class Incomplete(fk.LeadFeature):  # noqa: F841 - defining it is the test
            names = ["x"]
