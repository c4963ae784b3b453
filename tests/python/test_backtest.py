"""Time-based backtests: folds in the right windows, and no look-ahead."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk

START = pd.Timestamp("2026-01-01")
DAY = pd.Timedelta("1D")


def shop_log(n: int = 2_500, days: int = 70, seed: int = 0) -> pd.DataFrame:
    """Leads browse, add to cart and buy over ``days``; the more carts, the likelier a purchase
    (many buyers every week, so that every fold has both classes)."""
    rng = np.random.default_rng(seed)
    frames = []
    for lead in range(n):
        first = rng.uniform(0, days - 3)
        times = first + np.cumsum(rng.exponential(2.0, size=rng.integers(1, 12)))
        kinds = np.where(rng.random(times.size) < 0.3, "add_to_cart", "page_view")
        carts = (kinds == "add_to_cart").cumsum()
        bought = rng.random(times.size) < 0.04 * carts
        frames.append(pd.DataFrame({"lead_id": f"L{lead}", "t": times, "event": kinds}))
        if bought.any():
            frames.append(pd.DataFrame({"lead_id": f"L{lead}", "t": times[bought] + rng.exponential(0.5, bought.sum()),
                                        "event": "purchase"}))
    events = pd.concat(frames, ignore_index=True)
    events = events[events["t"] < days]
    events["timestamp"] = START + pd.to_timedelta(events.pop("t"), unit="D")
    return events.reset_index(drop=True)


class CartScore(fk.Scorer):
    """An unsupervised score: cart adds, decayed by recency."""

    @property
    def feature_names(self) -> list[str]:
        return ["cart_adds", "recency_days"]

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        return x[:, 0] / (1.0 + x[:, 0]) * np.exp(-x[:, 1] / 14.0)

    def params(self) -> dict[str, Any]:
        return {}


class CartRate(CartScore):
    """A supervised one: the training buyer rate per number of cart adds (capped at ``cap``)."""

    def __init__(self, cap: int = 3) -> None:
        self.cap = cap

    def fit(self, features: pd.DataFrame, labels: pd.Series) -> CartRate:
        carts = np.minimum(features["cart_adds"].to_numpy(), self.cap)
        self.rates_ = [float(labels[carts == k].mean()) if (carts == k).any() else 0.0 for k in range(self.cap + 1)]
        self.trained_on_ = len(labels)
        return self

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(self.rates_)[np.minimum(x[:, 0], self.cap).astype(int)]

    def get_params(self, deep: bool = False) -> dict[str, Any]:
        return {"cap": self.cap}

    def params(self) -> dict[str, Any]:
        return {"cap": self.cap}


@pytest.fixture(scope="module")
def events() -> pd.DataFrame:
    return shop_log()


def bought(events: pd.DataFrame, low: pd.Timestamp, high: pd.Timestamp, leads: pd.Index) -> np.ndarray:
    """Independently: 1 for the leads with a purchase in (low, high]."""
    window = events[(events["event"] == "purchase") & (events["timestamp"] > low) & (events["timestamp"] <= high)]
    return leads.isin(window["lead_id"]).astype(np.int64)


def test_folds_train_before_the_cut_and_test_after_it(events: pd.DataFrame) -> None:
    seen: list[tuple[pd.DataFrame, pd.Series]] = []

    def make(features: pd.DataFrame, labels: pd.Series) -> fk.Scorer:
        seen.append((features, labels))
        return CartScore()

    start, week = pd.Timestamp("2026-01-29"), pd.Timedelta("7D")
    result = fk.backtest(events, make, start=start, folds=4, period="7D", horizon="7D")
    assert len(seen) == 4 and len(result.folds) == 4
    for k in range(4):
        cut = start + k * week
        row = result.folds.iloc[k]
        assert (row["train_at"], row["cut"], row["test_end"]) == (cut - week, cut, cut + week)
        features, labels = seen[k]
        # training: features from events up to cut - h, labels over (cut - h, cut]: all known at the cut
        past = events[events["timestamp"] <= cut - week]
        pd.testing.assert_frame_equal(features, fk.lead_features(past, at=cut - week, observed_until=cut - week))
        np.testing.assert_array_equal(labels.to_numpy(), bought(events, cut - week, cut, features.index))
        # test: features as of the cut, labels over (cut, cut + h]
        test_features = fk.lead_features(events[events["timestamp"] <= cut], at=cut, observed_until=cut)
        evaluation = result.evaluations[k]
        np.testing.assert_array_equal(evaluation.labels, bought(events, cut, cut + week, test_features.index))
        np.testing.assert_array_equal(evaluation.scores, CartScore().score(test_features).to_numpy())
        assert row["auc"] == evaluation.auc and row["test_buyers"] == evaluation.positives
        assert row["train_buyers"] == labels.sum() and row["train_leads"] == len(labels)


def test_training_never_sees_events_after_the_cut(events: pd.DataFrame) -> None:
    """Scrambling everything after fold 1's cut (who did what) changes nothing fold 1 trains on."""
    start = pd.Timestamp("2026-02-05")
    rng = np.random.default_rng(1)
    scrambled = events.copy()
    after = scrambled["timestamp"] > start
    scrambled.loc[after, "lead_id"] = rng.permutation(scrambled.loc[after, "lead_id"].to_numpy())
    scrambled.loc[after, "event"] = rng.permutation(scrambled.loc[after, "event"].to_numpy())
    trained: dict[str, tuple[pd.DataFrame, pd.Series]] = {}
    for name, log in (("original", events), ("scrambled", scrambled)):
        def make(features: pd.DataFrame, labels: pd.Series, name: str = name) -> fk.Scorer:
            trained.setdefault(name, (features, labels))
            return CartScore()

        fk.backtest(log, make, start=start, folds=2, horizon="10D")
    # (the rows' order follows the leads' first rows in the input, which scrambling moves)
    pd.testing.assert_frame_equal(trained["original"][0].sort_index(), trained["scrambled"][0].sort_index())
    pd.testing.assert_series_equal(trained["original"][1].sort_index(), trained["scrambled"][1].sort_index())
    assert trained["original"][1].sum() > 0


def test_an_estimator_is_cloned_and_fitted_per_fold(events: pd.DataFrame) -> None:
    estimator = CartRate(cap=2)
    result = fk.backtest(events, estimator, start="2026-02-01", folds=3, period="5D", horizon="10D")
    assert not hasattr(estimator, "rates_")  # the template stays unfitted
    fitted = result.scorers
    assert len({id(s) for s in fitted}) == 3 and all(isinstance(s, CartRate) and s.cap == 2 for s in fitted)
    assert [s.trained_on_ for s in fitted] == result.folds["train_leads"].tolist()
    assert result.folds["auc"].between(0.5, 1.0).all()  # carts predict purchases in this log
    # an already fitted one is used as it is in every fold
    again = fk.backtest(events, fitted[0], start="2026-02-01", folds=2, horizon="10D")
    assert again.scorers == (fitted[0], fitted[0])
    unsupervised = CartScore()
    assert fk.backtest(events, unsupervised, start="2026-02-01", folds=2).scorers == (unsupervised, unsupervised)


def test_windows_past_the_logs_cut_and_bad_arguments_are_errors(events: pd.DataFrame) -> None:
    with pytest.raises(fk.LabelError, match="after the log's cut"):
        fk.backtest(events, CartScore(), start="2026-02-20", folds=4, period="7D", horizon="7D")
    with pytest.raises(ValueError, match="start later"):
        fk.backtest(events, CartScore(), start="2026-01-03", horizon="7D")
    with pytest.raises(ValueError, match="folds"):
        fk.backtest(events, CartScore(), start="2026-02-01", folds=0)
    with pytest.raises(ValueError, match="horizon must be a duration"):
        fk.backtest(events, CartScore(), start="2026-02-01", horizon="soon")
    with pytest.raises(TypeError, match="make_scorer"):
        fk.backtest(events, 42, start="2026-02-01", folds=1)


def test_a_fold_without_buyers_names_the_fold(events: pd.DataFrame) -> None:
    quiet = events[~((events["event"] == "purchase") & (events["timestamp"] > pd.Timestamp("2026-02-08")))]
    with pytest.raises(fk.LabelError, match=r"backtest fold 2 \(cut 2026-02-08"):
        fk.backtest(quiet, CartScore(), start="2026-02-01", folds=2, period="7D", horizon="7D")


def test_result_tables_and_plot(events: pd.DataFrame) -> None:
    result = fk.backtest(events, CartScore(), start="2026-02-01", folds=3)
    assert result.mean_auc == pytest.approx(result.folds["auc"].mean())
    assert len(result.to_dict()["folds"]) == 3 and "Backtest" in result._repr_html_()
    pytest.importorskip("matplotlib")
    figure = result.plot()
    left, right = figure.axes[0], figure.axes[1]
    np.testing.assert_allclose(left.lines[0].get_ydata(), result.folds["auc"])
    assert len([line for line in right.lines if line.get_label().startswith("fold")]) == 3
    import matplotlib.pyplot as plt

    plt.close(figure)


def test_logistic_regression_is_fitted_per_fold_without_touching_the_template(events: pd.DataFrame) -> None:
    columns = ["sessions", "events", "cart_adds", "recency_days", "tenure_days", "stage"]
    template = fk.LogisticRegression(C=0.5, features=columns)
    result = fk.backtest(events, template, start="2026-02-01", folds=2, horizon="10D")
    assert not template.__sklearn_is_fitted__()
    first, second = result.scorers
    assert isinstance(first, fk.LogisticRegression) and first is not second and first.C == 0.5
    # fold 2 is fitted on its own training set: the same as fitting by hand
    x, y = fk.training_set(events, pd.Timestamp("2026-02-08") - pd.Timedelta("10D"), horizon="10D")
    by_hand = fk.LogisticRegression(C=0.5, features=columns).fit(x, y)
    np.testing.assert_allclose(second.coef_, by_hand.coef_, rtol=1e-12)
    assert result.folds["auc"].min() > 0.5
