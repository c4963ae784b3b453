"""The Scorer base: documents, their versions and the checks every scorer's features get."""

from __future__ import annotations

import json
import pickle
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import funnelkit as fk


class Carts(fk.Scorer):
    def __init__(self, weight: float = 1.0) -> None:
        self.weight = weight

    @property
    def feature_names(self) -> list[str]:
        return ["cart_adds", "recency_days"]

    def score_matrix(self, x: np.ndarray) -> np.ndarray:
        return self.weight * x[:, 0] / (1.0 + x[:, 1])

    def contributions_matrix(self, x: np.ndarray) -> np.ndarray:
        return np.column_stack([self.weight * x[:, 0], -x[:, 1]])

    def params(self) -> dict[str, float]:
        return {"weight": self.weight}


@pytest.fixture
def carts() -> Iterator[type[Carts]]:
    fk.register("scorer", "test_carts")(Carts)
    yield Carts
    fk.unregister("scorer", "test_carts")


FEATURES = pd.DataFrame({"cart_adds": [2, 0, 1], "recency_days": [1.0, 3.0, 0.0], "stage": pd.Categorical(
    ["cart", "visit", "cart"])}, index=pd.Index(["a", "b", "c"], name="lead_id"))


def test_scores_contributions_documents_and_pickles(carts: type[Carts], tmp_path: Path) -> None:
    scorer = carts(2.0)
    scores = scorer.score(FEATURES)
    assert scores.name == "score" and scores.index.equals(FEATURES.index)
    np.testing.assert_allclose(scores.to_numpy(), [2.0, 0.0, 2.0])
    assert list(scorer.contributions(FEATURES).columns) == ["cart_adds", "recency_days"]
    document = scorer.to_dict()
    assert document == {"format": "funnelkit-scorer", "version": 1, "type": "test_carts",
                        "features": ["cart_adds", "recency_days"], "params": {"weight": 2.0}}
    scorer.save(tmp_path / "s.json")
    assert not list(tmp_path.glob(".*tmp"))  # written through a temporary file, then renamed
    for copy in (fk.Scorer.load(tmp_path / "s.json"), pickle.loads(pickle.dumps(scorer))):
        assert isinstance(copy, carts) and copy.weight == 2.0
        pd.testing.assert_series_equal(copy.score(FEATURES), scores)


def test_documents_of_another_kind_version_or_feature_set_are_refused(carts: type[Carts], tmp_path: Path) -> None:
    good = carts().to_dict()
    with pytest.raises(fk.ScorerFormatError, match="version 2"):
        fk.Scorer.from_dict({**good, "version": 2})
    with pytest.raises(fk.ScorerFormatError, match="not a funnelkit scorer"):
        fk.Scorer.from_dict({**good, "format": "funnelkit.funnel"})
    with pytest.raises(fk.ScorerFormatError, match="unknown scorer type 'nope'"):
        fk.Scorer.from_dict({**good, "type": "nope"})
    with pytest.raises(fk.ScorerFormatError, match="lists features"):
        fk.Scorer.from_dict({**good, "features": ["cart_adds"]})
    with pytest.raises(fk.ScorerFormatError, match="cannot rebuild"):
        fk.Scorer.from_dict({**good, "params": {"weight": 1.0, "colour": "red"}})
    with pytest.raises(fk.ScorerFormatError, match="malformed"):
        fk.Scorer.from_json("{not json")
    with pytest.raises(fk.ScorerFormatError, match="no scorer file"):
        fk.Scorer.load(tmp_path / "missing.json")
    (tmp_path / "old.json").write_text(json.dumps({**good, "version": 0}))
    with pytest.raises(fk.ScorerFormatError) as error:
        fk.Scorer.load(tmp_path / "old.json")
    assert error.value.subject == "version"


def test_an_unregistered_scorer_cannot_be_loaded_back() -> None:
    text = Carts().to_json()
    assert json.loads(text)["type"] == "unregistered:Carts"
    with pytest.raises(fk.ScorerFormatError, match="register"):
        fk.Scorer.from_json(text)


def test_features_are_checked_before_scoring(carts: type[Carts]) -> None:
    scorer = carts()
    with pytest.raises(fk.MissingFeatureError, match="recency_days") as missing:
        scorer.score(FEATURES.drop(columns=["recency_days"]))
    assert missing.value.subject == "recency_days"
    bad = FEATURES.assign(recency_days=[1.0, np.inf, np.nan])
    with pytest.raises(fk.FeatureValueError, match="2 NaN or infinite value.*lead 'b'"):
        scorer.score(bad)
    with pytest.raises(fk.FeatureValueError, match="not numeric"):
        scorer.score(FEATURES.assign(cart_adds=FEATURES["stage"]))
    with pytest.raises(TypeError, match="DataFrame"):
        scorer.score(FEATURES.to_numpy())  # type: ignore[arg-type]


def test_the_engine_scores_a_python_scorer_through_its_trampoline(carts: type[Carts]) -> None:
    from funnelkit import _core

    rng = np.random.default_rng(3)
    x = np.asfortranarray(rng.integers(0, 5, size=(10_001, 2)).astype(np.float64))
    scorer = carts(1.5)
    direct = scorer.score_matrix(x)
    engine = scorer.engine()
    assert isinstance(engine, _core.Scorer)
    for threads, block_rows in [(1, 10_001), (2, 333), (4, 1)]:
        np.testing.assert_array_equal(_core.score_in_blocks(engine, x, threads, block_rows), direct)

    class Short(Carts):
        def score_matrix(self, x: np.ndarray) -> np.ndarray:
            return np.zeros(len(x) - 1)

    with pytest.raises(fk.FeatureValueError, match="returned 99 values for 100"):
        _core.score_in_blocks(Short().engine(), x[:100], 2, 1000)

    class Failing(Carts):
        def score_matrix(self, x: np.ndarray) -> np.ndarray:
            raise ZeroDivisionError("no scores today")

    with pytest.raises(ZeroDivisionError, match="no scores today"):  # raised from an engine thread
        _core.score_in_blocks(Failing().engine(), x, 2, 100)
