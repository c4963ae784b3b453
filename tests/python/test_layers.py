"""Funnel layers: assignment against a plain-Python reference (thresholds, shares with ties,
conditions, order), the reasons text, counts and the pyramid plot, and bad input."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import funnelkit as fk
from funnelkit.scoring.layers import DEFAULT_LAYERS

Row = dict[str, Any]


def reference_layers(
    features: pd.DataFrame,
    scores: list[float],
    layers: list[tuple[str, float | None, float | None, Callable[[Row], bool] | None]],
) -> list[str]:
    """Lead by lead: the first layer whose criteria all hold; a top share counts, among the leads
    not yet placed, those scoring at least as much, which must be at most floor(share x n)."""
    rows = features.to_dict("records")
    placed: list[str | None] = [None] * len(rows)
    for k, (name, min_score, top_share, when) in enumerate(layers):
        unplaced = [i for i in range(len(rows)) if placed[i] is None]
        pool = [scores[i] for i in unplaced]
        chosen = []
        for i in unplaced:
            if k == len(layers) - 1:
                chosen.append(i)
                continue
            ok = True
            if when is not None:
                ok = ok and bool(when(rows[i]))
            if min_score is not None:
                ok = ok and scores[i] >= min_score
            if top_share is not None:
                ok = ok and sum(1 for p in pool if p >= scores[i]) <= math.floor(top_share * len(pool) + 1e-9)
            if ok:
                chosen.append(i)
        for i in chosen:
            placed[i] = name
    return [str(p) for p in placed]


def frame(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"orders": (rng.random(n) < 0.1).astype(int), "cart_adds": rng.poisson(1.0, n),
         "stage": pd.Categorical(rng.choice(["visit", "cart", "checkout"], n))},
        index=pd.Index([f"l{i}" for i in range(n)], name="lead_id"),
    )


# -- assignment against the reference -------------------------------------------------------------------
_layer = st.tuples(
    st.none() | st.integers(0, 6).map(float),
    st.none() | st.sampled_from([0.1, 0.25, 0.3, 0.5, 1.0]),
    st.sampled_from([None, "orders > 0", "cart_adds >= 2"]),
).filter(lambda t: any(v is not None for v in t))

_PREDICATES: dict[str, Callable[[Row], bool]] = {
    "orders > 0": lambda row: row["orders"] > 0,
    "cart_adds >= 2": lambda row: row["cart_adds"] >= 2,
}


@given(
    specs=st.lists(_layer, min_size=0, max_size=4),
    scores=st.lists(st.integers(0, 8).map(float), min_size=1, max_size=40),  # many ties
    seed=st.integers(0, 100),
)
def test_layers_match_reference(specs: list[tuple[Any, ...]], scores: list[float], seed: int) -> None:
    features = frame(len(scores), seed)
    layers = [fk.Layer(f"L{k}", min_score=m, top_share=s, when=w) for k, (m, s, w) in enumerate(specs)]
    layers.append(fk.Layer("rest"))
    got = fk.assign_layers(features, pd.Series(scores, index=features.index), layers)
    expected = reference_layers(
        features, scores, [(f"L{k}", m, s, None if w is None else _PREDICATES[w]) for k, (m, s, w) in enumerate(specs)]
        + [("rest", None, None, None)],
    )
    assert got["layer"].astype(str).tolist() == expected
    assert list(got["layer"].cat.categories) == [layer.name for layer in reversed(layers)]
    assert got["layer"].cat.ordered


def test_default_layers() -> None:
    features = pd.DataFrame({"orders": [0] * 19 + [2]}, index=pd.Index(range(20), name="lead_id"))
    scores = pd.Series(np.arange(20, dtype=float), index=features.index)
    got = fk.assign_layers(features, scores)["layer"]
    # customer: lead 19; hot: top 10% of the other 19 -> floor(1.9) = 1 lead (18);
    # warm: top 30% of the remaining 18 -> floor(5.4) = 5 leads (13..17); cold: the rest.
    assert got.iloc[19] == "customer"
    assert got.iloc[18] == "hot"
    assert got.iloc[13:18].tolist() == ["warm"] * 5
    assert (got.iloc[:13] == "cold").all()
    assert list(got.cat.categories) == ["cold", "warm", "hot", "customer"]
    assert (got >= "warm").sum() == 7
    assert [layer.name for layer in DEFAULT_LAYERS] == ["customer", "hot", "warm", "cold"]


def test_ties_are_never_split() -> None:
    features = pd.DataFrame(index=range(10))
    scores = [9.0, 9.0, 9.0, 5.0, 5.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    layers = [fk.Layer("top", top_share=0.2), fk.Layer("next", top_share=0.5), fk.Layer("rest")]
    # top 20% = 2 leads, but three tie at 9: none placed. Next: 50% of all 10 = 5: 9s and 5s.
    assert fk.assign_layers(features, scores, layers)["layer"].astype(str).tolist() == ["next"] * 5 + ["rest"] * 5
    layers = [fk.Layer("top", top_share=0.3), fk.Layer("rest")]
    assert fk.assign_layers(features, scores, layers)["layer"].astype(str).tolist() == ["top"] * 3 + ["rest"] * 7


def test_conditions_as_expressions_and_callables_on_stages() -> None:
    features = frame(50, seed=1)
    scores = np.linspace(0, 1, 50)
    by_expression = fk.assign_layers(
        features, scores, [fk.Layer("checkout", when="stage == 'checkout'"), fk.Layer("hot", min_score=0.8),
                           fk.Layer("cold")])
    by_callable = fk.assign_layers(
        features, scores, [fk.Layer("checkout", when=lambda f: f["stage"] == "checkout"),
                           fk.Layer("hot", min_score=0.8), fk.Layer("cold")])
    pd.testing.assert_frame_equal(by_expression, by_callable)
    layer = by_expression["layer"]
    assert ((layer == "checkout") == (features["stage"] == "checkout")).all()
    assert ((layer == "hot") == ((features["stage"] != "checkout") & (scores >= 0.8))).all()
    # A combined layer: hot carts only.
    both = fk.assign_layers(features, scores, [fk.Layer("hot cart", min_score=0.5, when="stage == 'cart'"),
                                               fk.Layer("other")])
    assert ((both["layer"] == "hot cart") == ((features["stage"] == "cart") & (scores >= 0.5))).all()


def test_scores_are_aligned_by_lead() -> None:
    features = frame(6, seed=2)
    scores = pd.Series([5.0, 4.0, 3.0, 2.0, 1.0, 0.0], index=features.index)
    shuffled = scores.iloc[[3, 0, 5, 1, 4, 2]]
    layers = [fk.Layer("hot", min_score=3.5), fk.Layer("cold")]
    expected = fk.assign_layers(features, scores, layers)
    pd.testing.assert_frame_equal(fk.assign_layers(features, shuffled, layers), expected)


# -- reasons ------------------------------------------------------------------------------------------------
def test_reasons_from_rule_points() -> None:
    features = pd.DataFrame({"orders": [0, 0, 0], "cart_adds": [2, 0, 1], "recency_days": [1.0, 40.0, 10.0]},
                            index=pd.Index(["a", "b", "c"], name="lead_id"))
    scorer = fk.RuleScorer([fk.Rule("recency_days", "<=", 3, points=10), fk.Rule("cart_adds", ">=", 1, points=20),
                            fk.Rule("recency_days", ">", 30, points=-20), fk.Rule("cart_adds", points=2.5)])
    got = fk.assign_layers(features, scorer, [fk.Layer("hot", min_score=20), fk.Layer("cold")])
    assert got["reasons"].tolist() == [
        "cart_adds >= 1 (+20), recency_days <= 3 (+10), per cart_adds (+5)",
        "",
        "cart_adds >= 1 (+20), per cart_adds (+2.5)",
    ]
    assert got["layer"].astype(str).tolist() == ["hot", "cold", "hot"]
    two = fk.assign_layers(features, scorer, [fk.Layer("all", min_score=-100), fk.Layer("rest")], reasons=1)
    assert two["reasons"].tolist() == ["cart_adds >= 1 (+20)", "", "cart_adds >= 1 (+20)"]
    none = fk.assign_layers(features, scorer.score(features), [fk.Layer("all", min_score=-100), fk.Layer("rest")])
    assert none["reasons"].tolist() == ["", "", ""]


def test_reasons_from_any_contributions() -> None:
    # As a logistic regression gives them: log-odds per feature, some negative, ties keep column order.
    features = pd.DataFrame(index=pd.Index([1, 2], name="lead_id"))
    contributions = pd.DataFrame({"recency_days": [0.4567, -1.0], "cart_adds": [1.25, 0.0],
                                  "sessions": [0.4567, np.nan],
                                  "revenue": [250.0, 0.001]}, index=features.index)
    got = fk.assign_layers(features, [0.9, 0.1], [fk.Layer("hot", min_score=0.5), fk.Layer("cold")],
                           contributions=contributions)
    assert got["reasons"].tolist() == ["revenue (+250), cart_adds (+1.25), recency_days (+0.457)", "revenue (+0.001)"]


# -- counts, plot, display -------------------------------------------------------------------------------
def test_layer_counts_plot_and_html() -> None:
    features = frame(100, seed=4)
    assigned = fk.assign_layers(features, np.arange(100.0))
    counts = fk.layer_counts(assigned)
    table = counts.to_pandas()
    assert table.index.tolist() == ["cold", "warm", "hot", "customer"]
    assert table["leads"].tolist() == assigned["layer"].value_counts().reindex(table.index).tolist()
    assert table["leads"].sum() == 100 and table["share"].sum() == pytest.approx(1.0)
    assert "<table" in counts._repr_html_() and "cold" in repr(counts)
    ax = counts.plot()
    widths = [bar.get_width() for bar in ax.patches]
    assert widths == table["leads"].astype(float).tolist()
    tops = [bar.get_y() for bar in ax.patches]
    assert tops == sorted(tops, reverse=True)  # the coldest layer on top
    assert ax.texts[0].get_text().startswith("cold: ")
    plt.close("all")
    empty = fk.layer_counts(fk.assign_layers(features.iloc[:0], []))
    assert empty.to_pandas()["leads"].tolist() == [0, 0, 0, 0]


# -- bad input -------------------------------------------------------------------------------------------
def test_bad_layers() -> None:
    features = frame(5, seed=0)
    with pytest.raises(ValueError, match="last layer .*'hot'.* catches every lead"):
        fk.assign_layers(features, np.zeros(5), [fk.Layer("hot", min_score=1)])
    with pytest.raises(ValueError, match="layer 'a' has no min_score"):
        fk.assign_layers(features, np.zeros(5), [fk.Layer("a"), fk.Layer("b")])
    with pytest.raises(ValueError, match="unique"):
        fk.assign_layers(features, np.zeros(5), [fk.Layer("a", min_score=1), fk.Layer("a")])
    with pytest.raises(ValueError, match="top_share"):
        fk.Layer("a", top_share=1.5)
    with pytest.raises(ValueError, match="min_score"):
        fk.Layer("a", min_score=float("nan"))
    with pytest.raises(ValueError, match="at least one layer"):
        fk.assign_layers(features, np.zeros(5), [])


def test_bad_conditions_and_scores() -> None:
    features = frame(5, seed=0).drop(columns="orders")
    with pytest.raises(fk.MissingFeatureError, match="layer 'customer'.*orders") as caught:
        fk.assign_layers(features, np.zeros(5))
    assert caught.value.subject == "customer"
    with pytest.raises(ValueError, match="layer 'x': when=.* one boolean per lead"):
        fk.assign_layers(features, np.zeros(5), [fk.Layer("x", when="cart_adds + 1"), fk.Layer("y")])
    with pytest.raises(ValueError, match="layer 'x': when='1 > 0' must give one boolean per lead"):
        fk.assign_layers(features, np.zeros(5), [fk.Layer("x", when="1 > 0"), fk.Layer("y")])
    with pytest.raises(ValueError, match="layer 'x': cannot evaluate"):
        fk.assign_layers(features, np.zeros(5), [fk.Layer("x", when="cart_adds >"), fk.Layer("y")])
    with pytest.raises(fk.FeatureValueError, match="NaN or infinite .* lead 'l2'"):
        fk.assign_layers(features, [0, 1, np.nan, 0, 0], [fk.Layer("x", min_score=1), fk.Layer("y")])
    with pytest.raises(ValueError, match="one value per lead"):
        fk.assign_layers(features, [0.0, 1.0], [fk.Layer("x", min_score=1), fk.Layer("y")])
    with pytest.raises(ValueError, match="indexed like the features"):
        fk.assign_layers(features, pd.Series(np.zeros(5)), [fk.Layer("x", min_score=1), fk.Layer("y")])
    with pytest.raises(ValueError, match="reasons must be"):
        fk.assign_layers(features, np.zeros(5), reasons=-1)
    with pytest.raises(TypeError, match="layer_counts needs"):
        fk.layer_counts(pd.Series(["a"]))
