"""Rule points: against a plain pandas computation of the same rules, caps and floors, event
rules and their feature requests, JSON files, documents and pickles, and bad rules or features."""

from __future__ import annotations

import json
import math
import operator
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funnelkit as fk
from funnelkit.scoring.rules import DEFAULT_RULES, default_rule_scorer

_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
            "!=": operator.ne}


def reference_points(frame: pd.DataFrame, rules: list[dict[str, Any]], floor: float | None = None,
                     cap: float | None = None) -> tuple[pd.Series, pd.DataFrame]:
    """The rules of plain dicts applied with pandas, independently of funnelkit's Rule."""
    columns = {}
    for k, rule in enumerate(rules):
        if "event" in rule:
            hl = rule.get("half_life_days")
            feature = f"decayed_{rule['event']}_{hl:g}d" if hl is not None else f"events_{rule['event']}"
        else:
            feature = rule["feature"]
        x = frame[feature].astype(float)
        value = rule.get("value")
        if value is None:
            hit = pd.Series(True, index=frame.index)
        elif rule.get("op", ">=") == "between":
            hit = (x >= value[0]) & (x <= value[1])
        else:
            hit = _COMPARE[rule.get("op", ">=")](x, value)
        per_unit = rule.get("per_unit", value is None)
        points = rule["points"] * x if per_unit else pd.Series(float(rule["points"]), index=frame.index)
        points = points.where(hit, 0.0)
        if rule.get("cap") is not None:
            points = points.clip(-rule["cap"], rule["cap"])
        columns[k] = points
    total = pd.Series(0.0, index=frame.index)
    for k in range(len(rules)):
        total = total + columns[k]
    total = total.clip(lower=floor, upper=cap)
    return total, pd.DataFrame(columns, index=frame.index)


def shop_frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "cart_adds": rng.poisson(0.8, n),
            "checkouts": rng.poisson(0.2, n),
            "orders": rng.poisson(0.1, n),
            "recency_days": np.round(rng.exponential(10.0, n), 2),
            "sessions": rng.poisson(2.0, n) + 1,
            "page_views": rng.poisson(6.0, n),
            "email_clicks": rng.poisson(0.5, n),
            "decayed_add_to_cart_7d": rng.exponential(0.7, n),
            "decayed_product_view_7d": rng.exponential(3.0, n),
            "events_subscribe": rng.integers(0, 2, n),
            "events_unsubscribe": (rng.random(n) < 0.05).astype(int),
        },
        index=pd.Index([f"lead{i}" for i in range(n)], name="lead_id"),
    )


# -- points against pandas -----------------------------------------------------------------------------
_rule = st.fixed_dictionaries(
    {
        "feature": st.sampled_from(["a", "b", "c"]),
        "op": st.sampled_from(["<", "<=", ">", ">=", "==", "!=", "between"]),
        "points": st.integers(-40, 40).map(lambda p: p / 4),
    },
    optional={
        "value": st.integers(0, 5),
        "per_unit": st.booleans(),
        "cap": st.integers(0, 20).map(float),
    },
)


def _valid(rule: dict[str, Any]) -> dict[str, Any]:
    rule = dict(rule)
    if rule["op"] == "between" and "value" in rule:
        rule["value"] = [rule["value"], rule["value"] + 2]
    if "value" not in rule:
        rule["per_unit"] = True
    return rule


@given(
    rules=st.lists(_rule.map(_valid), min_size=1, max_size=6),
    values=st.lists(st.integers(0, 14).map(lambda v: v / 2), min_size=3 * 12, max_size=3 * 12),
    floor=st.none() | st.integers(-10, 0).map(float),
    cap=st.none() | st.integers(1, 30).map(float),
)
def test_points_match_pandas(rules: list[dict[str, Any]], values: list[float], floor: float | None,
                             cap: float | None) -> None:
    frame = pd.DataFrame(np.reshape(values, (12, 3)), columns=["a", "b", "c"])
    named = [{**rule, "name": f"r{k}"} for k, rule in enumerate(rules)]
    scorer = fk.RuleScorer(named, floor=floor, cap=cap)
    expected, parts = reference_points(frame, named, floor, cap)
    np.testing.assert_array_equal(scorer.score(frame).to_numpy(), expected.to_numpy())
    contributions = scorer.contributions(frame)
    assert list(contributions.columns) == [f"r{k}" for k in range(len(rules))]
    np.testing.assert_array_equal(contributions.to_numpy(), parts.to_numpy())


def test_default_rules_match_pandas_on_a_random_shop_frame() -> None:
    frame = shop_frame(5_000, seed=3)
    scorer = default_rule_scorer()
    plain = [rule.to_dict() for rule in DEFAULT_RULES]
    expected, parts = reference_points(frame, plain, 0.0, 100.0)
    np.testing.assert_array_equal(scorer.score(frame).to_numpy(), expected.to_numpy())
    np.testing.assert_array_equal(scorer.contributions(frame).to_numpy(), parts.to_numpy())
    assert (scorer.score(frame) >= 0).all() and (scorer.score(frame) <= 100).all()
    assert scorer.feature_options() == {
        "decay": [("add_to_cart", 7.0), ("product_view", 7.0)],
        "event_counts": ["subscribe", "unsubscribe"],
    }


def test_same_scores_on_any_thread_count() -> None:
    frame = shop_frame(60_000, seed=5)
    one = fk.RuleScorer(DEFAULT_RULES, floor=0, threads=1)
    many = fk.RuleScorer(DEFAULT_RULES, floor=0, threads=4)
    np.testing.assert_array_equal(one.score(frame).to_numpy(), many.score(frame).to_numpy())
    np.testing.assert_array_equal(one.contributions(frame).to_numpy(), many.contributions(frame).to_numpy())


def test_caps_floors_and_negative_rules() -> None:
    frame = pd.DataFrame({"cart_adds": [0, 2, 9], "bounces": [0, 1, 10], "events_unsubscribe": [0, 1, 0]})
    scorer = fk.RuleScorer(
        [fk.Rule("cart_adds", points=5, cap=30), fk.Rule("bounces", points=-4, cap=20),
         fk.Rule(event="unsubscribe", op=">=", value=1, points=-50)],
        floor=-30, cap=25,
    )
    # 0 | 10 - 4 - 50 = -44 -> -30 | 30 (capped from 45) - 20 (capped from -40) = 10
    assert scorer.score(frame).tolist() == [0.0, -30.0, 10.0]
    assert scorer.contributions(frame).loc[2].tolist() == [30.0, -20.0, 0.0]
    assert fk.RuleScorer([], floor=1.0).score(frame).tolist() == [1.0, 1.0, 1.0]


def test_between_includes_both_ends_and_equality_is_exact() -> None:
    frame = pd.DataFrame({"x": [0.999, 1.0, 2.0, 3.0, 3.001]})
    assert fk.RuleScorer([fk.Rule("x", "between", [1, 3], points=1)]).score(frame).tolist() == [0, 1, 1, 1, 0]
    assert fk.RuleScorer([fk.Rule("x", "==", 2, points=1)]).score(frame).tolist() == [0, 0, 1, 0, 0]
    assert fk.RuleScorer([fk.Rule("x", "!=", 2, points=1)]).score(frame).tolist() == [1, 1, 0, 1, 1]


def test_per_unit_rule_with_a_condition() -> None:
    frame = pd.DataFrame({"page_views": [1, 3, 8]})
    scorer = fk.RuleScorer([fk.Rule("page_views", ">=", 3, points=0.5, per_unit=True)])
    assert scorer.score(frame).tolist() == [0.0, 1.5, 4.0]
    assert scorer.reason_names == ["per page_views if >= 3"]


# -- names, event rules, feature requests --------------------------------------------------------------
def test_default_names_and_event_columns() -> None:
    rules = [
        fk.Rule("cart_adds", ">=", 1, points=20),
        fk.Rule("recency_days", "between", [0, 3.5], points=10),
        fk.Rule(event="add_to_cart", points=5, half_life_days=7, cap=30),
        fk.Rule(event="add_to_cart", points=2, half_life_days=0.5),
        fk.Rule(event="unsubscribe", op=">=", value=1, points=-50),
        fk.Rule(event="page_view", points=0.1),
    ]
    assert [r.name for r in rules] == [
        "cart_adds >= 1", "recency_days in [0, 3.5]", "per add_to_cart (half-life 7d)",
        "per add_to_cart (half-life 0.5d)", "unsubscribe >= 1", "per page_view",
    ]
    assert [r.feature for r in rules] == [
        "cart_adds", "recency_days", "decayed_add_to_cart_7d", "decayed_add_to_cart_0.5d", "events_unsubscribe",
        "events_page_view",
    ]
    scorer = fk.RuleScorer(rules)
    assert scorer.feature_names == ["cart_adds", "recency_days", "decayed_add_to_cart_7d", "decayed_add_to_cart_0.5d",
                                    "events_unsubscribe", "events_page_view"]
    assert scorer.feature_options() == {"decay": [("add_to_cart", 7.0), ("add_to_cart", 0.5)],
                                        "event_counts": ["unsubscribe", "page_view"]}
    assert fk.RuleScorer([fk.Rule("orders", ">", 0, points=1)]).feature_options() == {}


def test_duplicate_names_are_refused_naming_the_rule() -> None:
    with pytest.raises(fk.ScorerFormatError, match="'cart_adds >= 1': two rules"):
        fk.RuleScorer([fk.Rule("cart_adds", ">=", 1, points=20), fk.Rule("cart_adds", ">=", 1, points=5)])
    scorer = fk.RuleScorer([fk.Rule("cart_adds", ">=", 1, points=20),
                            fk.Rule("cart_adds", ">=", 1, points=5, name="second")])
    assert scorer.reason_names == ["cart_adds >= 1", "second"]


# -- documents ------------------------------------------------------------------------------------------
def _scorer() -> fk.RuleScorer:
    return fk.RuleScorer(
        [fk.Rule("cart_adds", ">=", 1, points=20), fk.Rule("recency_days", "between", [0, 3], points=10),
         fk.Rule(event="add_to_cart", points=5, half_life_days=7, cap=30, name="carts"),
         fk.Rule("page_views", ">", 4, points=0.5, per_unit=True, cap=8)],
        floor=0, cap=100,
    )


def test_json_round_trip() -> None:
    scorer = _scorer()
    document = json.loads(scorer.to_json())
    assert document["type"] == "rules"
    assert document["features"] == scorer.feature_names
    assert document["params"]["rules"][2] == {"event": "add_to_cart", "half_life_days": 7.0, "points": 5, "cap": 30,
                                              "name": "carts"}
    again = fk.Scorer.from_json(scorer.to_json())
    assert isinstance(again, fk.RuleScorer)
    assert again.rules == scorer.rules and again.params() == scorer.params()
    frame = shop_frame(300)
    pd.testing.assert_series_equal(again.score(frame), scorer.score(frame))


def test_pickle_and_save_load(tmp_path: Path) -> None:
    scorer = _scorer()
    frame = shop_frame(100)
    clone = pickle.loads(pickle.dumps(scorer))
    assert clone.params() == scorer.params()
    pd.testing.assert_frame_equal(clone.contributions(frame), scorer.contributions(frame))
    assert pickle.loads(pickle.dumps(scorer.rules[2])) == scorer.rules[2]
    scorer.save(tmp_path / "rules.json")
    loaded = fk.Scorer.load(tmp_path / "rules.json")
    pd.testing.assert_series_equal(loaded.score(frame), scorer.score(frame))


def test_rules_file_in_every_shape(tmp_path: Path) -> None:
    rules = [{"feature": "cart_adds", "op": ">=", "value": 1, "points": 20},
             {"event": "add_to_cart", "half_life_days": 7, "points": 5, "cap": 30}]
    frame = shop_frame(50)
    expected, _ = reference_points(frame, rules, 0.0, None)
    (tmp_path / "list.json").write_text(json.dumps(rules))
    (tmp_path / "object.json").write_text(json.dumps({"rules": rules, "floor": 0}))
    fk.RuleScorer(rules, floor=0).save(tmp_path / "document.json")
    assert fk.RuleScorer.from_file(tmp_path / "list.json").floor is None
    for name in ("object.json", "document.json"):
        scorer = fk.RuleScorer.from_file(tmp_path / name)
        np.testing.assert_array_equal(scorer.score(frame).to_numpy(), expected.to_numpy())
    (tmp_path / "bad.json").write_text(json.dumps({"rules": rules, "flor": 0}))
    with pytest.raises(fk.ScorerFormatError, match="flor"):
        fk.RuleScorer.from_file(tmp_path / "bad.json")
    with pytest.raises(fk.ScorerFormatError, match="no rules file"):
        fk.RuleScorer.from_file(tmp_path / "missing.json")


def test_rules_are_immutable_values() -> None:
    rule = fk.Rule("cart_adds", ">=", 1, points=20)
    with pytest.raises(AttributeError, match="immutable"):
        rule.points = 5
    twin = fk.Rule("cart_adds", ">=", 1.0, points=20.0)
    assert rule == twin and hash(rule) == hash(twin)
    assert len({rule, twin, fk.Rule("cart_adds", ">=", 2, points=20)}) == 2


def test_repr() -> None:
    assert repr(fk.Rule("cart_adds", ">=", 1, points=20)) == "Rule(feature='cart_adds', op='>=', value=1, points=20)"
    assert repr(fk.Rule(event="x", points=2, name="n")) == "Rule(event='x', points=2, name='n')"
    assert repr(_scorer()) == "RuleScorer(4 rules, floor=0, cap=100)"


# -- bad rules and bad features -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"feature": "x", "op": "=>", "value": 1, "points": 1, "name": "r"}, r"rule 'r': unknown op '=>'"),
        ({"feature": "x", "op": ">=", "value": 1, "points": math.nan}, r"rule 'x': points must be a finite number"),
        ({"feature": "x", "op": ">=", "value": 1}, "points are required"),
        ({"event": "add_to_cart", "points": 1, "half_life_days": -7}, r"'add_to_cart': half_life_days must be"),
        ({"event": "add_to_cart", "points": 1, "half_life_days": 0}, "half_life_days must be"),
        ({"feature": "x", "points": 1, "half_life_days": 7}, "event rules only"),
        ({"feature": "x", "op": ">=", "value": math.inf, "points": 1}, "value must be a finite number"),
        ({"feature": "x", "op": "between", "value": [3, 1], "points": 1}, r"lower <= upper"),
        ({"feature": "x", "op": "between", "value": 3, "points": 1}, r"value=\[lower, upper\]"),
        ({"feature": "x", "points": 1, "per_unit": False}, "must give points per unit"),
        ({"feature": "x", "points": 1, "cap": -1}, "cap must be"),
        ({"points": 1}, "either a feature or an event"),
        ({"feature": "x", "event": "y", "points": 1}, "either a feature or an event"),
    ],
)
def test_bad_rules_raise_naming_the_rule(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(fk.ScorerFormatError, match=message):
        fk.Rule(**kwargs)
    with pytest.raises(fk.ScorerFormatError, match=message):
        fk.RuleScorer([kwargs])


def test_bad_documents() -> None:
    with pytest.raises(fk.ScorerFormatError, match=r"rule 'r': unknown key\(s\) 'pionts'"):
        fk.RuleScorer([{"feature": "x", "pionts": 1, "name": "r"}])
    document = json.loads(_scorer().to_json())
    document["params"]["rules"][0]["op"] = "~"
    with pytest.raises(fk.ScorerFormatError, match="unknown op '~'"):
        fk.Scorer.from_dict(document)
    with pytest.raises(fk.ScorerFormatError, match="floor 5 exceeds cap 1"):
        fk.RuleScorer([], floor=5, cap=1)
    with pytest.raises(fk.ScorerFormatError, match="list of rules"):
        fk.RuleScorer({"feature": "x", "points": 1})  # type: ignore[arg-type]


def test_missing_and_bad_feature_values() -> None:
    scorer = _scorer()
    frame = shop_frame(20).drop(columns="decayed_add_to_cart_7d")
    with pytest.raises(fk.MissingFeatureError, match="decayed_add_to_cart_7d") as caught:
        scorer.score(frame)
    assert caught.value.subject == "decayed_add_to_cart_7d"
    frame = shop_frame(20)
    frame.loc["lead3", "page_views"] = np.nan
    with pytest.raises(fk.FeatureValueError, match="'page_views' has 1 NaN .* lead 'lead3'"):
        scorer.score(frame)
    with pytest.raises(fk.FeatureValueError, match="page_views"):
        scorer.contributions(frame)


def test_engine_checks_its_input_too() -> None:
    scorer = _scorer()
    x = np.ones((3, len(scorer.feature_names)))
    x[1, 2] = np.inf
    with pytest.raises(fk.FeatureValueError, match="decayed_add_to_cart_7d") as caught:
        scorer.score_matrix(x)
    assert caught.value.subject == "decayed_add_to_cart_7d"
    with pytest.raises(fk.MissingFeatureError):
        scorer.score_matrix(np.ones((3, 2)))
    assert scorer.score_matrix(np.ones((0, len(scorer.feature_names)))).shape == (0,)
    assert scorer.contributions_matrix(np.ones((0, len(scorer.feature_names)))).shape == (0, 4)


# -- end to end on a generated shop log ----------------------------------------------------------------
def test_default_rules_end_to_end_on_shop_events() -> None:
    shop = fk.datasets.shop_events(3_000, days=30, seed=2)
    at = pd.Timestamp("2026-01-25")
    scorer = default_rule_scorer()
    features = fk.lead_features(shop.events, at=at, progress=False, **scorer.feature_options())
    # The event columns the rules read mean what the rules say: decayed counts by half-life.
    events = shop.events[shop.events["timestamp"] <= at]
    carts = events[events["event"] == "add_to_cart"]
    age_days = (at - carts["timestamp"]).dt.total_seconds() / 86_400
    decayed = (0.5 ** (age_days / 7)).groupby(carts["lead_id"]).sum()
    np.testing.assert_allclose(features["decayed_add_to_cart_7d"].to_numpy(),
                               decayed.reindex(features.index, fill_value=0.0).to_numpy(), rtol=1e-9, atol=1e-12)
    unsubscribed = events[events["event"] == "unsubscribe"].groupby("lead_id").size()
    np.testing.assert_array_equal(features["events_unsubscribe"].to_numpy(),
                                  unsubscribed.reindex(features.index, fill_value=0).to_numpy())
    # Points as pandas computes them from the same features.
    expected, _ = reference_points(features, [rule.to_dict() for rule in DEFAULT_RULES], 0.0, 100.0)
    scores = scorer.score(features)
    np.testing.assert_array_equal(scores.to_numpy(), expected.to_numpy())
    assert scores.std() > 0
    # Layers: customers are the leads with orders; every hotter layer scores at least as high.
    assigned = fk.assign_layers(features, scorer)
    assert ((assigned["layer"] == "customer") == (features["orders"] > 0)).all()
    rest = assigned["layer"] != "customer"
    by_layer = scores[rest].groupby(assigned["layer"][rest], observed=True)
    low, high = by_layer.min(), by_layer.max()
    assert low["hot"] > high["warm"] and low["warm"] > high["cold"]
    counts = fk.layer_counts(assigned).to_pandas()["leads"]
    assert counts.sum() == len(features)
    assert counts["hot"] <= 0.1 * rest.sum()
    assert (assigned["reasons"][scores > 0] != "").all()
