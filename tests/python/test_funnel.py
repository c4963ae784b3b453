"""Building funnels, their JSON document, pickling and the Python protocols."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import random_funnel

import funnelkit as fk


def test_builder_chains_and_reads_back() -> None:
    f = (
        fk.Funnel("shop", time_unit="days", discount=0.95, metadata={"team": "growth"})
        .add_stage("visit", holding=fk.Exponential(mean=1.0), metadata={"source": "ads"})
        .add_stage("paid", "success", value=60.0)
        .add_edge("visit", "paid", 0.02, delay=fk.Fixed(0.5), metadata={"channel": "email"})
    )
    assert len(f) == 2 and "visit" in f and "nope" not in f
    assert f.stage_names == ["visit", "paid"]
    assert f.stages[0] == fk.Stage("visit", "transient", 0.0, fk.Exponential(mean=1.0), {"source": "ads"})
    assert f.edges[0] == fk.Edge("visit", "paid", 0.02, fk.Fixed(0.5), {"channel": "email"})
    assert (f.name, f.time_unit, f.discount, f.metadata) == ("shop", "days", 0.95, {"team": "growth"})
    assert f.remainder == "drop" and f.drop_stage == "dropped" and f.entry == {}
    assert [s.name for s in f] == ["visit", "paid"]
    assert "2 stages" in repr(f) and "<table" in f._repr_html_()


def test_mutation_invalidates_the_compiled_chain() -> None:
    f = fk.examples.nurturing_funnel()
    assert f.analyze().success_probability == pytest.approx(0.03)
    f.set_probability("warm_lead", "paid", 0.15)
    assert f.analyze().success_probability == pytest.approx(0.01 + 0.2 * 0.15)
    f.set_value("paid", 100.0)
    assert f.analyze().expected_value == pytest.approx(100 * 0.04)


def test_entry_weights_are_normalised() -> None:
    f = (
        fk.Funnel()
        .add_stage("ads")
        .add_stage("search")
        .add_stage("paid", "success")
        .add_edge("ads", "paid", 0.01)
        .add_edge("search", "paid", 0.05)
        .set_entry({"ads": 3, "search": 1})
    )
    assert f.analyze().success_probability == pytest.approx(0.75 * 0.01 + 0.25 * 0.05)
    assert f.most_likely_path().stages == ("search", "paid")


def test_json_round_trip_is_lossless(tmp_path: Path) -> None:
    f = fk.examples.shop_funnel().set_entry({"visit": 0.9, "lead": 0.1})
    text = f.to_json()
    assert json.loads(text)["format"] == "funnelkit.funnel" and json.loads(text)["version"] == 1
    again = fk.Funnel.from_json(text)
    assert again == f and again.to_json() == text
    path = tmp_path / "sub" / "shop.json"
    f.to_json(path)
    assert fk.Funnel.from_json(path) == f
    assert fk.Funnel.from_json(str(path)) == f
    assert list(tmp_path.glob("sub/.*tmp")) == []  # no temporary file left behind
    a, b = f.analyze(), fk.Funnel.from_json(path).analyze()
    assert a.success_probability == b.success_probability and a.expected_time == b.expected_time


def test_from_dict_accepts_distribution_objects_and_json_dicts() -> None:
    f = fk.Funnel.from_dict(
        {
            "name": "d",
            "stages": [
                {"name": "visit", "holding": fk.Weibull(shape=1.2, scale=3.0)},
                {"name": "cart", "holding": {"type": "exponential", "mean": 2.0}},
                {"name": "paid", "kind": "success", "value": 10},
            ],
            "edges": [
                {"from": "visit", "to": "cart", "probability": 0.1},
                {"from": "cart", "to": "paid", "probability": 0.5, "delay": fk.Fixed(1.0)},
            ],
        }
    )
    assert f.stages[1].holding == fk.Exponential(rate=0.5)
    assert f.edges[1].delay == fk.Fixed(1.0)
    assert fk.Funnel.from_dict(f.to_dict()) == f


def test_pickle_and_copy() -> None:
    f = fk.examples.lifecycle_funnel()
    g = pickle.loads(pickle.dumps(f))
    assert g == f and g is not f
    h = f.copy().set_value("first_purchase", 1.0)
    assert h != f and f.stages[0].value == 60.0
    with pytest.raises(TypeError):
        hash(f)


def test_transition_matrix_is_stochastic() -> None:
    p = fk.examples.shop_funnel().transition_matrix()
    assert list(p.index) == [*fk.examples.shop_funnel().stage_names, "dropped"]
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert p.loc["visit", "lead"] == 0.25 and p.loc["visit", "dropped"] == pytest.approx(0.73)


def test_strict_remainder_rule() -> None:
    f = fk.Funnel(remainder="strict").add_stage("a").add_stage("b", "success").add_edge("a", "b", 0.5)
    with pytest.raises(fk.RowSumError) as info:
        f.analyze()
    assert info.value.subject == "a"
    f.set_probability("a", "b", 1.0)
    assert f.analyze().success_probability == 1.0


def test_existing_failure_stage_takes_the_remainder() -> None:
    f = (
        fk.Funnel(drop_stage="lost")
        .add_stage("a")
        .add_stage("b", "success")
        .add_stage("lost", "failure")
        .add_edge("a", "b", 0.25)
    )
    a = f.analyze()
    assert a.stage_names == ["a", "b", "lost"]
    assert a.outcome_probabilities() == {"b": 0.25, "lost": 0.75}


def test_zero_probability_edges_are_kept_for_sensitivity() -> None:
    f = fk.examples.nurturing_funnel(nurture=False)
    sens = f.analyze().sensitivity().to_pandas().set_index(["source", "target"])
    # what a first nurturing conversion point would be worth: every warm lead is a candidate
    assert sens.loc[("warm_lead", "paid"), "d_success"] == pytest.approx(0.2)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 15))
def test_random_funnels_round_trip_exactly(seed: int, n: int) -> None:
    f = random_funnel(np.random.default_rng(seed), n, n_success=2, discount=0.9)
    text = f.to_json()
    again = fk.Funnel.from_json(text)
    assert again.to_json() == text
    assert pickle.loads(pickle.dumps(f)) == f
    a, b = f.analyze(), again.analyze()
    assert (a.success_probability, a.expected_value, a.time_sd) == (b.success_probability, b.expected_value, b.time_sd)


def test_from_edges_builds_from_a_pandas_table() -> None:
    shop = fk.examples.shop_funnel()
    table = shop.edge_table()
    assert list(table.columns) == ["source", "target", "probability", "delay"]
    rebuilt = fk.Funnel.from_edges(
        table, success=["paid"], failure=["unsubscribed"], values={"paid": 60.0}, name="rebuilt"
    )
    assert rebuilt.analyze().success_probability == pytest.approx(shop.analyze().success_probability)
    assert rebuilt.name == "rebuilt"
    renamed = table.rename(columns={"probability": "p"})
    with pytest.raises(fk.FunnelFormatError, match="column"):
        fk.Funnel.from_edges(renamed)
    assert fk.Funnel.from_edges(renamed, probability="p", success=["paid"]).stage_names[:2] == ["visit", "lead"]
    with pytest.raises(fk.EmptyFunnelError):
        fk.Funnel.from_edges([])
    with pytest.raises(fk.UnknownStageError):
        fk.Funnel.from_edges([("a", "b", 0.5)], success=["paid"])
    with pytest.raises(fk.ProbabilityError):
        fk.Funnel.from_edges([("a", "b", float("nan"))], success=["b"])
    stages = shop.stage_table()
    assert stages.loc["paid", "value"] == 60.0 and stages.loc["visit", "kind"] == "transient"


def test_from_edges_takes_dataframes_column_mappings_structured_arrays_and_tuples() -> None:
    rows = [("visit", "cart", 0.25), ("cart", "paid", 0.5), ("visit", "lost", 0.125)]
    frame = pd.DataFrame(rows, columns=["source", "target", "probability"])
    columns = {name: frame[name].to_numpy() for name in frame.columns}
    structured = np.array(rows, dtype=[("source", "U8"), ("target", "U8"), ("probability", "f8")])
    built = [
        fk.Funnel.from_edges(edges, success=["paid"], failure=["lost"], values={"paid": 8.0})
        for edges in (frame, columns, structured, rows, tuple(rows))
    ]
    for f in built:
        assert f == built[0]
    f = built[0]
    assert f.stage_names == ["visit", "cart", "paid", "lost"]  # first appearance, source before target
    assert [s.kind for s in f.stages] == ["transient", "transient", "success", "failure"]
    assert [(e.source, e.target, e.probability) for e in f.edges] == rows
    assert f.analyze().expected_value == pytest.approx(0.25 * 0.5 * 8.0)
    f.add_edge("cart", "visit", 0.25)  # a bulk-built funnel stays an ordinary funnel
    with pytest.raises(fk.DuplicateEdgeError):
        f.add_edge("visit", "cart", 0.1)


def test_from_edges_names_integer_ids_as_strings() -> None:
    table = pd.DataFrame({"source": [10, 20, 10], "target": [20, 30, 40], "probability": [0.5, 0.5, 0.25]})
    f = fk.Funnel.from_edges(table, success=[30], failure=["40"], values={30: 2.0})
    assert f.stage_names == ["10", "20", "30", "40"]
    assert f.stages[2].kind == "success" and f.stages[2].value == 2.0 and f.stages[3].kind == "failure"
    assert "10" in f and 10 not in f
    mixed = fk.Funnel.from_edges([(7, "7", 0.5), ("7", 8, 0.5)], success=["8"], remainder="drop")
    assert mixed.stage_names == ["7", "8"]  # 7 and "7" are one stage named "7"
    assert [(e.source, e.target) for e in mixed.edges] == [("7", "7"), ("7", "8")]


def test_from_edges_scales_linearly() -> None:
    # 200,000 edges: the former per-row Python loop and linear duplicate scan needed minutes.
    n = 50_000
    source = np.repeat(np.arange(n), 4)
    target = (source + np.tile(np.arange(1, 5), n)) % (n + 1)
    f = fk.Funnel.from_edges(
        {"source": source, "target": target, "probability": np.full(source.size, 0.2)}, success=[n]
    )
    assert len(f) == n + 1 and f._core.edge_count() == 4 * n
    assert f.stage_names[:3] == ["0", "1", "2"] and f.edges[-1].target == str((n - 1 + 4) % (n + 1))
    f.validate()


def test_len_and_membership_use_the_engine_index() -> None:
    f = fk.examples.shop_funnel()
    assert len(f) == len(f.stages) == len(f.stage_names)
    assert all(name in f for name in f.stage_names)
    assert "nowhere" not in f and None not in f and 3 not in f


def test_metadata_writes_through_and_nested_values_are_read_only() -> None:
    f = fk.Funnel(metadata={"owner": "growth"})
    f.metadata["tags"] = ["ads", "email"]
    f.metadata["limits"] = {"daily": 10}
    assert f.metadata == {"owner": "growth", "tags": ["ads", "email"], "limits": {"daily": 10}}
    assert json.loads(f.to_json())["metadata"]["tags"] == ["ads", "email"]
    assert "tags" in f.metadata and len(f.metadata) == 3 and set(f.metadata) == {"owner", "tags", "limits"}
    del f.metadata["owner"]
    assert "owner" not in f.metadata
    with pytest.raises(KeyError):
        del f.metadata["owner"]
    with pytest.raises(TypeError, match="read-only"):
        f.metadata["limits"]["daily"] = 20
    with pytest.raises(TypeError, match="read-only"):
        f.metadata["tags"].append("social")
    with pytest.raises(TypeError, match="read-only"):
        f.metadata["limits"].update(weekly=50)
    with pytest.raises(TypeError, match="strings"):
        f.metadata[1] = "x"  # type: ignore[index]
    with pytest.raises(TypeError):
        f.metadata["bad"] = {1, 2}  # not JSON
    limits = f.metadata["limits"].copy()  # a copy is an ordinary dict again
    limits["daily"] = 20
    f.metadata["limits"] = limits
    assert f.metadata["limits"] == {"daily": 20} and json.dumps(f.metadata["limits"]) == '{"daily": 20}'
    assert pickle.loads(pickle.dumps(f.metadata["tags"])) == ["ads", "email"]
    f.metadata = {"fresh": True}
    assert f.metadata.copy() == {"fresh": True} and repr(f.metadata) == "{'fresh': True}"
    with pytest.raises(TypeError, match="mapping"):
        f.metadata = ["not", "a", "mapping"]  # type: ignore[assignment]
    g = f.copy()
    g.metadata["fresh"] = False
    assert f.metadata["fresh"] is True  # copies do not share metadata


def test_stage_and_edge_snapshots_have_read_only_metadata() -> None:
    f = fk.Funnel().add_stage("a", metadata={"k": 1}).add_stage("b", "success").add_edge("a", "b", 0.5)
    with pytest.raises(TypeError, match="read-only"):
        f.stages[0].metadata["k"] = 2
    assert f.stages[0].metadata == {"k": 1} and f.stages[1].metadata == {} and f.edges[0].metadata == {}


def test_bulk_binding_checks_shapes() -> None:
    f = fk.Funnel().add_stage("a").add_stage("b", "success")
    with pytest.raises(ValueError, match="same length"):
        f._core.add_edges(np.array([0]), np.array([1, 0]), np.array([0.5]))
    with pytest.raises(ValueError, match="1-D"):
        f._core.add_edges(np.zeros((1, 1)), np.array([1]), np.array([0.5]))
    with pytest.raises(ValueError, match="one entry per stage"):
        f._core.add_stages(["c"], ["transient", "success"], np.zeros(1))
    with pytest.raises(fk.FunnelFormatError, match="stage kind"):
        f._core.add_stages(["c", "d"], ["transient", "winner"], np.zeros(2))
    assert f.stage_names == ["a", "b"]  # nothing added by the failed call
    f._core.add_edges(np.array([0]), np.array([1]), np.array([0.5]))
    assert f.analyze().success_probability == 0.5
