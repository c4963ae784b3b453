"""The batch scoring job: same numbers as scoring in memory, parts, atomic output, errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk
from funnelkit.scoring._options import merge_feature_options
from funnelkit.scoring.job import load_scorers


class CartScore(fk.Scorer):
    """A probability from cart adds and recency, with contributions and an extra output."""

    def __init__(self, days: float = 7.0) -> None:
        self.days = days

    @property
    def feature_names(self) -> list[str]:
        return ["cart_adds", "recency_days"]

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        return x[:, 0] / (1.0 + x[:, 0]) * np.exp(-x[:, 1] / self.days)

    def contributions_matrix(self, x: np.ndarray) -> np.ndarray:
        return np.c_[x[:, 0], -x[:, 1] / self.days]

    def extra_scores(self, features: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"expected_carts": 2.0 * features["cart_adds"].to_numpy()}, index=features.index)

    def params(self) -> dict[str, Any]:
        return {"days": self.days}


class DecayScore(fk.Scorer):
    """Reads a decayed count that lead_features computes only when asked (feature_options)."""

    def __init__(self, event: str = "add_to_cart", half_life: float = 3.0) -> None:
        self.event, self.half_life = event, half_life

    @property
    def feature_names(self) -> list[str]:
        return [f"decayed_{self.event}_{self.half_life:g}d"]

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        return x[:, 0]

    def feature_options(self) -> dict[str, Any]:
        return {"decay": [(self.event, self.half_life)]}

    def params(self) -> dict[str, Any]:
        return {"event": self.event, "half_life": self.half_life}


class Failing(fk.Scorer):
    """Scores the first ``after`` blocks of leads, then raises ``error`` (a failure mid-job)."""

    calls = 0

    def __init__(self, after: int = 1, error: str = "runtime") -> None:
        self.after, self.error = after, error

    @property
    def feature_names(self) -> list[str]:
        return ["events"]

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        Failing.calls += 1
        if Failing.calls > self.after:
            raise KeyboardInterrupt if self.error == "interrupt" else RuntimeError("scorer failed mid-job")
        return x[:, 0]

    def params(self) -> dict[str, Any]:
        return {"after": self.after, "error": self.error}


@pytest.fixture(autouse=True)
def registered() -> Iterator[None]:
    names = {"test_job_carts": CartScore, "test_job_decay": DecayScore, "test_job_failing": Failing}
    for name, cls in names.items():
        fk.register("scorer", name)(cls)
    Failing.calls = 0
    try:
        yield
    finally:
        for name in names:
            fk.unregister("scorer", name)


@pytest.fixture(scope="module")
def shop() -> pd.DataFrame:
    return fk.datasets.shop_events(4_000, days=45, seed=21, returning=2.0, return_days=3.0).events


@pytest.fixture(scope="module")
def shop_file(shop: pd.DataFrame, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("events") / "events.parquet"
    shop.to_parquet(path, index=False)
    return path


def _sorted(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values("lead_id").reset_index(drop=True)


def test_the_job_equals_scoring_in_memory(shop: pd.DataFrame) -> None:
    at = pd.Timestamp("2026-02-01 12:00")
    table = fk.score_leads(shop, {"cart": CartScore(), "decay": DecayScore()}, at=at)
    assert isinstance(table, pd.DataFrame)
    features = fk.lead_features(shop, at, decay=[("add_to_cart", 3.0)])
    assert list(table.columns) == ["lead_id", "cart_score", "cart_expected_carts", "decay_score", "scored_at"]
    np.testing.assert_array_equal(table["lead_id"], features.index)
    np.testing.assert_array_equal(table["cart_score"], CartScore().score(features))
    np.testing.assert_array_equal(table["decay_score"], features["decayed_add_to_cart_3d"])
    np.testing.assert_array_equal(table["cart_expected_carts"], 2.0 * features["cart_adds"])
    assert (table["scored_at"] == at).all()


def test_default_scoring_time_is_the_logs_cut_and_later_events_do_not_matter(shop: pd.DataFrame) -> None:
    table = fk.score_leads(shop, CartScore())
    assert list(table.columns) == ["lead_id", "test_job_carts_score", "test_job_carts_expected_carts", "scored_at"]
    assert table["scored_at"].iloc[0] == shop["timestamp"].max()
    at = pd.Timestamp("2026-01-20")
    full = fk.score_leads(shop, CartScore(), at=at)
    past = fk.score_leads(shop[shop["timestamp"] <= at], CartScore(), at=at)
    pd.testing.assert_frame_equal(_sorted(full), _sorted(past))


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_written_file_equals_the_table_and_the_summary_counts(shop: pd.DataFrame, shop_file: Path, tmp_path: Path,
                                                              suffix: str) -> None:
    output = tmp_path / f"scores{suffix}"
    expected = fk.score_leads(shop_file, CartScore(), layers=True)
    summary = fk.score_leads(shop_file, CartScore(), layers=True, output=output)
    assert isinstance(summary, fk.JobSummary)
    written = pd.read_parquet(output) if suffix == ".parquet" else pd.read_csv(output, parse_dates=["scored_at"])
    assert list(written.columns) == list(expected.columns)
    if suffix == ".csv":
        written["reasons"] = written["reasons"].fillna("")
        np.testing.assert_array_equal(written["layer"].astype(str), expected["layer"].astype(str))
        written["layer"] = expected["layer"]
        pd.testing.assert_frame_equal(written, expected, check_dtype=False, check_exact=False, rtol=1e-15)
    else:
        pd.testing.assert_frame_equal(written, expected)
    assert summary.leads == len(expected) and summary.rows == len(shop)
    assert summary.output == output and summary.format == suffix[1:]
    assert sum(summary.layers.values()) == summary.leads
    assert summary.layers == expected["layer"].value_counts(sort=False).to_dict()
    assert sorted(p.name for p in tmp_path.iterdir()) == [output.name]  # no temporary file left
    assert "scored" in str(summary) and json.dumps(summary.to_dict())


@pytest.mark.parametrize(("parts", "layers"), [(1, None), (3, None), (4, True), (7, "json")])
def test_parts_equal_one_pass(shop_file: Path, tmp_path: Path, parts: int, layers: Any) -> None:
    if layers == "json":
        layers = tmp_path / "layers.json"
        layers.write_text(json.dumps([{"name": "customer", "when": "orders > 0"},
                                      {"name": "hot", "top_share": 0.05},
                                      {"name": "warm", "top_share": 0.2, "when": "events >= 3"},
                                      {"name": "cold"}]))
    scorers = {"cart": CartScore(), "decay": DecayScore()}
    whole = fk.score_leads(shop_file, scorers, layers=layers, layer_by="decay")
    output = tmp_path / "parts.parquet"
    summary = fk.score_leads(shop_file, scorers, layers=layers, layer_by="decay", parts=parts, output=output)
    split = pd.read_parquet(output)
    assert isinstance(summary, fk.JobSummary) and summary.parts == parts and summary.leads == len(whole)
    pd.testing.assert_frame_equal(_sorted(split), _sorted(whole))
    in_memory = fk.score_leads(shop_file, scorers, layers=layers, layer_by="decay", parts=parts)
    assert isinstance(in_memory, pd.DataFrame)
    pd.testing.assert_frame_equal(_sorted(in_memory), _sorted(whole))
    if layers is not None:
        assert whole["layer"].nunique() >= 3  # the layers are really in play


def test_layers_and_reasons_come_from_assign_layers(shop: pd.DataFrame) -> None:
    table = fk.score_leads(shop, {"a": CartScore(2.0), "b": CartScore(30.0)}, layers=True, layer_by="b", reasons=2)
    features = fk.lead_features(shop)
    scorer = CartScore(30.0)
    expected = fk.assign_layers(features, scorer.score(features), reasons=2,
                                contributions=scorer.contributions(features))
    np.testing.assert_array_equal(table["layer"].astype(str), expected["layer"].astype(str))
    np.testing.assert_array_equal(table["reasons"], expected["reasons"])
    assert table["reasons"].str.contains("cart_adds").any()
    assert list(table.columns) == ["lead_id", "a_score", "a_expected_carts", "b_score", "b_expected_carts", "layer",
                                   "reasons", "scored_at"]


def test_scorers_from_saved_files_and_default_names(tmp_path: Path, shop: pd.DataFrame) -> None:
    CartScore(3.0).save(tmp_path / "cart.json")
    named = load_scorers([tmp_path / "cart.json", CartScore(), DecayScore()])
    assert list(named) == ["test_job_carts", "test_job_carts_2", "test_job_decay"]
    assert named["test_job_carts"].days == 3.0  # type: ignore[attr-defined]
    table = fk.score_leads(shop, {"saved": str(tmp_path / "cart.json")})
    assert isinstance(table, pd.DataFrame)
    np.testing.assert_array_equal(table["saved_score"], fk.score_leads(shop, CartScore(3.0))["test_job_carts_score"])


def test_feature_options_are_merged() -> None:
    merged = merge_feature_options([("a", {"decay": [("add_to_cart", 3.0)], "window": "30D"}),
                                    ("b", {"decay": [["add_to_cart", 3.0], ("purchase", 7.0)], "window": "30D"}),
                                    ("c", {"event_counts": ["purchase"]}), ("d", {"event_counts": True})])
    assert merged == {"decay": [("add_to_cart", 3.0), ("purchase", 7.0)], "window": "30D", "event_counts": True}
    with pytest.raises(ValueError, match=r"'window': a needs '30D' but b needs '7D'"):
        merge_feature_options([("a", {"window": "30D"}), ("b", {"window": "7D"})])


@pytest.mark.parametrize("error", ["runtime", "interrupt"])
@pytest.mark.parametrize("parts", [None, 3])
def test_a_failed_or_interrupted_job_leaves_no_file(shop_file: Path, tmp_path: Path, error: str,
                                                    parts: int | None) -> None:
    output = tmp_path / "scores.parquet"
    output.write_bytes(b"yesterday's scores")
    # with parts the first part is already in the temporary file when the second one fails
    expected: type[BaseException] = KeyboardInterrupt if error == "interrupt" else RuntimeError
    with pytest.raises(expected):
        fk.score_leads(shop_file, Failing(after=1 if parts else 0, error=error), output=output, parts=parts)
    assert output.read_bytes() == b"yesterday's scores"
    assert [p.name for p in tmp_path.iterdir()] == ["scores.parquet"]
    fresh = tmp_path / "new.csv"
    with pytest.raises(expected):
        Failing.calls = 0
        fk.score_leads(shop_file, Failing(after=1 if parts else 0, error=error), output=fresh, parts=parts)
    assert not fresh.exists() and [p.name for p in tmp_path.iterdir()] == ["scores.parquet"]


def test_bad_arguments_raise_before_any_work(shop: pd.DataFrame, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot tell the output format"):
        fk.score_leads(shop, CartScore(), output=tmp_path / "scores.txt")
    with pytest.raises(ValueError, match="does not exist"):
        fk.score_leads(shop, CartScore(), output=tmp_path / "missing" / "scores.csv")
    with pytest.raises(ValueError, match="layer_by='nope'"):
        fk.score_leads(shop, CartScore(), layers=True, layer_by="nope")
    with pytest.raises(TypeError, match="parts= needs the path"):
        fk.score_leads(shop, CartScore(), parts=2)
    with pytest.raises(ValueError, match="parts must be a positive integer"):
        fk.score_leads(tmp_path / "x.csv", CartScore(), parts=0)
    with pytest.raises(ValueError, match="reasons"):
        fk.score_leads(shop, CartScore(), reasons=-1)
    with pytest.raises(ValueError, match="no layers file"):
        fk.score_leads(shop, CartScore(), layers=tmp_path / "layers.json")
    (tmp_path / "bad.json").write_text('[{"name": "hot", "top_share": 2}, {"name": "cold"}]')
    with pytest.raises(ValueError, match=r"bad\.json.*top_share"):
        fk.score_leads(shop, CartScore(), layers=tmp_path / "bad.json")
    with pytest.raises(fk.ScorerFormatError, match="no scorer file"):
        fk.score_leads(shop, tmp_path / "missing.json")
    assert list(tmp_path.iterdir()) == [tmp_path / "bad.json"]


def test_missing_feature_and_bad_data_errors(shop: pd.DataFrame) -> None:
    class NeedsMissing(CartScore):
        @property
        def feature_names(self) -> list[str]:
            return ["no_such_feature"]

    with pytest.raises(fk.MissingFeatureError, match="no_such_feature"):
        fk.score_leads(shop, NeedsMissing())
    with pytest.raises(fk.MissingColumnError, match="who"):
        fk.score_leads(shop, CartScore(), read_options={"lead": "who"})
    with pytest.raises(fk.EmptyLogError):
        fk.score_leads(shop.iloc[:0], CartScore())


def test_builtin_scorers_saved_and_scored_together(shop: pd.DataFrame, shop_file: Path, tmp_path: Path) -> None:
    funnel = fk.FunnelScorer.from_fit(fk.fit_funnel(shop, progress=False))
    columns = ["sessions", "cart_adds", "checkouts", "recency_days", "orders"]
    x, y = fk.training_set(shop, "2026-01-20", horizon="14D")
    assert 0 < y.sum() < len(y)
    logistic = fk.LogisticRegression(C=1.0).fit(x[columns], y)
    funnel.save(tmp_path / "funnel.json")
    logistic.save(tmp_path / "logistic.json")
    summary = fk.score_leads(shop_file, {"funnel": tmp_path / "funnel.json", "logistic": tmp_path / "logistic.json"},
                             output=tmp_path / "scores.parquet", parts=2)
    assert isinstance(summary, fk.JobSummary)
    written = _sorted(pd.read_parquet(tmp_path / "scores.parquet"))
    assert list(written.columns) == ["lead_id", "funnel_score", "funnel_expected_revenue", "logistic_score",
                                     "scored_at"]
    features = fk.lead_features(shop, **funnel.feature_options()).sort_index()
    np.testing.assert_array_equal(written["lead_id"], features.index)
    np.testing.assert_allclose(written["funnel_score"], funnel.score(features), rtol=1e-15)
    np.testing.assert_allclose(written["funnel_expected_revenue"], funnel.extra_scores(features)["expected_revenue"],
                               rtol=1e-15)
    np.testing.assert_allclose(written["logistic_score"], logistic.score(features), rtol=1e-15)


def test_results_do_not_depend_on_the_thread_count(shop: pd.DataFrame) -> None:
    one = fk.score_leads(shop, {"cart": CartScore(), "decay": DecayScore()}, threads=1)
    many = fk.score_leads(shop, {"cart": CartScore(), "decay": DecayScore()}, threads=4)
    pd.testing.assert_frame_equal(one, many)
