"""Evaluation metrics against scikit-learn, tie handling, tables, errors and plots."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics

import funnelkit as fk


def _data(n: int, seed: int, decimals: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """Labels related to the scores, and scores rounded so that many tie."""
    rng = np.random.default_rng(seed)
    scores = np.round(rng.random(n), decimals)
    labels = (rng.random(n) < 0.1 + 0.6 * scores).astype(np.int64)
    labels[:2] = [0, 1]
    return labels, scores


@pytest.mark.parametrize(("n", "seed", "decimals"), [(10, 0, 1), (500, 1, 2), (20_000, 2, 2), (3_000, 3, 6)])
def test_metrics_equal_sklearn(n: int, seed: int, decimals: int) -> None:
    labels, scores = _data(n, seed, decimals)
    result = fk.evaluate(labels, scores)
    assert result.auc == pytest.approx(metrics.roc_auc_score(labels, scores), abs=1e-12)
    assert result.log_loss == pytest.approx(metrics.log_loss(labels, y_proba=scores), abs=1e-12)
    assert result.brier == pytest.approx(metrics.brier_score_loss(labels, scores), abs=1e-12)
    assert result.base_rate == pytest.approx(labels.mean(), abs=1e-15)
    for drop in (True, False):
        fpr, tpr, thresholds = metrics.roc_curve(labels, scores, drop_intermediate=drop)
        curve = result.roc_curve(drop_intermediate=drop)
        np.testing.assert_allclose(curve["fpr"], fpr, rtol=0, atol=1e-12)
        np.testing.assert_allclose(curve["tpr"], tpr, rtol=0, atol=1e-12)
        np.testing.assert_array_equal(curve["threshold"], thresholds)


def test_log_loss_clips_scores_of_zero_and_one_like_sklearn() -> None:
    labels = np.array([0, 1, 1, 0, 1])
    scores = np.array([1.0, 0.0, 1.0, 0.0, 0.5])
    result = fk.evaluate(labels, scores)
    assert result.log_loss == pytest.approx(metrics.log_loss(labels, y_proba=scores), abs=1e-12)
    assert np.isfinite(result.log_loss)


def test_auc_counts_ties_as_half() -> None:
    # one buyer and one non-buyer with the same score: AUC exactly 1/2; then by hand
    assert fk.evaluate([0, 1], [0.3, 0.3]).auc == 0.5
    # pairs (buyer, non-buyer): (0.9, 0.1) win, (0.9, 0.4) win, (0.4, 0.1) win, (0.4, 0.4) tie
    assert fk.evaluate([1, 1, 0, 0], [0.9, 0.4, 0.1, 0.4]).auc == pytest.approx(3.5 / 4)


def test_points_skip_log_loss_and_brier_with_a_note() -> None:
    labels, scores = _data(400, 5)
    points = 100 * scores - 20  # rule points: outside [0, 1], same order
    result = fk.evaluate(labels, points)
    assert result.log_loss is None and result.brier is None
    assert "not [0, 1]" in result.note and "log loss" in result.note
    assert result.auc == pytest.approx(metrics.roc_auc_score(labels, points), abs=1e-12)
    assert result.gains.equals(fk.evaluate(labels, scores).gains)  # ranking tables depend only on the order


def test_gain_and_lift_by_decile_match_a_direct_count() -> None:
    rng = np.random.default_rng(7)
    n = 1_000  # distinct scores: deciles are exact groups of 100
    scores = rng.permutation(n) / n
    labels = (rng.random(n) < scores).astype(int)
    gains = fk.evaluate(labels, scores).gains
    order = np.argsort(-scores)
    per_decile = labels[order].reshape(10, 100).sum(axis=1)
    np.testing.assert_array_equal(gains["leads"], 100)
    np.testing.assert_allclose(gains["buyers"], per_decile)
    np.testing.assert_allclose(gains["share_of_buyers"], np.cumsum(per_decile) / labels.sum())
    np.testing.assert_allclose(gains["share_of_leads"], np.arange(1, 11) / 10)
    np.testing.assert_allclose(gains["lift"], (per_decile / 100) / labels.mean())
    np.testing.assert_allclose(gains["cumulative_lift"], gains["share_of_buyers"] / gains["share_of_leads"])
    assert gains["share_of_buyers"].iloc[-1] == pytest.approx(1.0)


def test_gain_splits_tied_scores_pro_rata() -> None:
    # all scores equal: any order is as good as another, so each decile holds a tenth of the buyers
    labels = np.array([1, 0, 0, 1, 0, 0, 0, 0, 1, 0] * 10)
    gains = fk.evaluate(labels, np.full(100, 0.2)).gains
    np.testing.assert_allclose(gains["share_of_buyers"], np.arange(1, 11) / 10)
    np.testing.assert_allclose(gains["lift"], 1.0)


def test_calibration_bins_count_rates_and_wilson_intervals() -> None:
    labels, scores = _data(5_000, 11, decimals=4)
    table = fk.evaluate(labels, scores, bins=5).calibration
    assert len(table) == 5 and table["count"].sum() == 5_000
    edges = np.quantile(scores, [0.2, 0.4, 0.6, 0.8])
    which = np.searchsorted(edges, scores, side="left")
    for k, row in table.iterrows():
        chosen = which == k
        assert row["count"] == chosen.sum()
        assert row["mean_score"] == pytest.approx(scores[chosen].mean())
        assert row["observed_rate"] == pytest.approx(labels[chosen].mean())
        assert row["score_low"] == scores[chosen].min() and row["score_high"] == scores[chosen].max()
        # Wilson score interval (statsmodels' proportion_confint(method="wilson")), by hand
        z, n, p = 1.959963984540054, chosen.sum(), labels[chosen].mean()
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
        assert row["lower"] == pytest.approx(centre - half) and row["upper"] == pytest.approx(centre + half)
        assert row["lower"] <= row["observed_rate"] <= row["upper"]


def test_calibration_keeps_equal_scores_in_one_bin() -> None:
    labels = np.array([0, 1] * 50)
    scores = np.r_[np.full(80, 0.1), np.linspace(0.5, 0.9, 20)]
    table = fk.evaluate(labels, scores, bins=10).calibration
    assert table["count"].sum() == 100
    assert (table["score_low"].to_numpy()[1:] > table["score_high"].to_numpy()[:-1]).all()
    assert table["count"].iloc[0] == 80


def test_series_are_aligned_by_lead() -> None:
    labels = pd.Series([1, 0, 0, 1], index=["a", "b", "c", "d"])
    scores = pd.Series([0.1, 0.9, 0.8, 0.2], index=["d", "c", "b", "a"])  # a and d buy, and score low
    assert fk.evaluate(labels, scores).auc == 0.0
    with pytest.raises(fk.LabelError, match="not on the same leads"):
        fk.evaluate(labels, pd.Series([0.1, 0.2, 0.3, 0.4], index=list("abcx")))


@pytest.mark.parametrize(
    ("labels", "scores", "error", "match"),
    [
        ([1, 1, 1], [0.1, 0.2, 0.3], fk.LabelError, "all 3 labels are 1"),
        ([0, 0], [0.1, 0.2], fk.LabelError, "labels are 0"),
        ([0, 1, 2], [0.1, 0.2, 0.3], fk.LabelError, "must be 0/1"),
        ([0, 1, np.nan], [0.1, 0.2, 0.3], fk.LabelError, "must be 0/1"),
        (["no", "yes"], [0.1, 0.2], fk.LabelError, "must be 0/1"),
        ([0, 1, 1], [0.1, 0.2], fk.LabelError, "3 labels for 2 scores"),
        ([], [], fk.LabelError, "no labels"),
        ([0, 1, 1], [0.1, np.nan, 0.3], fk.FeatureValueError, "NaN or infinite"),
        ([0, 1, 1], [0.1, np.inf, 0.3], fk.FeatureValueError, "NaN or infinite"),
    ],
)
def test_bad_labels_and_scores_raise_clear_errors(labels: list[object], scores: list[float], error: type,
                                                  match: str) -> None:
    with pytest.raises(error, match=match):
        fk.evaluate(labels, scores)


def test_boolean_labels_are_accepted() -> None:
    labels, scores = _data(200, 3)
    assert fk.evaluate(labels.astype(bool), scores).auc == fk.evaluate(labels, scores).auc


def test_compare_scorers_puts_metrics_side_by_side() -> None:
    labels, scores = _data(2_000, 4)
    noise = np.random.default_rng(0).random(2_000)
    table = fk.compare_scorers({"model": scores, "noise": noise, "points": 10 * scores}, labels)
    assert list(table.index) == ["model", "noise", "points"]
    assert table.loc["model", "auc"] == pytest.approx(metrics.roc_auc_score(labels, scores), abs=1e-12)
    assert table.loc["noise", "brier"] == pytest.approx(metrics.brier_score_loss(labels, noise), abs=1e-12)
    assert table.loc["model", "auc"] == table.loc["points", "auc"]
    assert np.isnan(table.loc["points", "log_loss"])
    assert table.loc["model", "gain_at_20"] > table.loc["noise", "gain_at_20"]
    assert table["n"].tolist() == [2_000] * 3


def test_compare_scorers_scores_features_with_scorers() -> None:
    @fk.register("scorer", "test_eval_carts")
    class Carts(fk.Scorer):
        @property
        def feature_names(self) -> list[str]:
            return ["cart_adds"]

        def score_matrix(self, x: np.ndarray) -> np.ndarray:
            return x[:, 0] / (1 + x[:, 0])

        def params(self) -> dict[str, object]:
            return {}

    try:
        features = pd.DataFrame({"cart_adds": [0, 3, 1, 0]}, index=list("abcd"))
        labels = pd.Series([0, 1, 1, 0], index=list("abcd"))
        table = fk.compare_scorers({"carts": Carts()}, labels, features=features)
        assert table.loc["carts", "auc"] == 1.0
        with pytest.raises(ValueError, match="features="):
            fk.compare_scorers({"carts": Carts()}, labels)
    finally:
        fk.unregister("scorer", "test_eval_carts")


def test_to_dict_is_json_ready_and_repr_html_shows_the_tables() -> None:
    labels, scores = _data(300, 8)
    result = fk.evaluate(labels, scores)
    document = json.loads(json.dumps(result.to_dict()))
    assert document["auc"] == result.auc and len(document["gains"]) == 10
    assert document["calibration"][0]["count"] == result.calibration["count"].iloc[0]
    page = result._repr_html_()
    assert "AUC" in page and "<table" in page and "share_of_buyers" in page
    assert "AUC" in repr(result)


def test_plots_draw_the_curves() -> None:
    pytest.importorskip("matplotlib")
    labels, scores = _data(500, 9)
    result = fk.evaluate(labels, scores)
    figure = result.plot()
    calibration, gain, roc = figure.axes
    assert len(calibration.lines) >= 2  # the points (with error bars) and the diagonal
    _, y = gain.lines[0].get_data()
    np.testing.assert_allclose(y[1:], result.gains["share_of_buyers"])
    assert "AUC" in roc.get_legend().get_texts()[0].get_text()
    import matplotlib.pyplot as plt

    plt.close(figure)
