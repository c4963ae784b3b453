"""Bad input: each problem raises its own funnelkit exception naming the culprit, never a
crash or a silently wrong number (the table in docs/errors.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from reference import ParamlessDistribution

import funnelkit as fk


def base() -> dict[str, Any]:
    return {
        "stages": [{"name": "visit"}, {"name": "cart"}, {"name": "paid", "kind": "success"}],
        "edges": [
            {"from": "visit", "to": "cart", "probability": 0.3},
            {"from": "cart", "to": "paid", "probability": 0.4},
        ],
    }


def edit(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    doc = base()
    change(doc)
    return doc


CASES: list[tuple[str, dict[str, Any], type[fk.FunnelError], str | None]] = [
    (
        "unknown stage",
        edit(lambda d: d["edges"].append({"from": "cart", "to": "basket", "probability": 0.1})),
        fk.UnknownStageError,
        "basket",
    ),
    ("duplicate stage", edit(lambda d: d["stages"].append({"name": "cart"})), fk.DuplicateStageError, "cart"),
    (
        "duplicate edge",
        edit(lambda d: d["edges"].append({"from": "visit", "to": "cart", "probability": 0.1})),
        fk.DuplicateEdgeError,
        "visit -> cart",
    ),
    (
        "row above one",
        edit(lambda d: d["edges"].append({"from": "visit", "to": "paid", "probability": 0.8})),
        fk.RowSumError,
        "visit",
    ),
    (
        "negative probability",
        edit(lambda d: d["edges"][0].update(probability=-0.1)),
        fk.ProbabilityError,
        "visit -> cart",
    ),
    (
        "probability above one",
        edit(lambda d: d["edges"][0].update(probability=1.5)),
        fk.ProbabilityError,
        "visit -> cart",
    ),
    (
        "NaN probability",
        edit(lambda d: d["edges"][0].update(probability=float("nan"))),
        fk.ProbabilityError,
        "visit -> cart",
    ),
    ("NaN value", edit(lambda d: d["stages"][2].update(value=float("nan"))), fk.FunnelFormatError, "stages[2].value"),
    (
        "dead end",
        edit(
            lambda d: (
                d["stages"].append({"name": "limbo"})
                or d["edges"].append({"from": "visit", "to": "limbo", "probability": 0.1})
            )
        ),
        fk.NoExitError,
        "limbo",
    ),
    (
        "never finishes",
        edit(
            lambda d: (
                d["stages"].extend([{"name": "x"}, {"name": "y"}])
                or d["edges"].extend(
                    [
                        {"from": "visit", "to": "x", "probability": 0.1},
                        {"from": "x", "to": "y", "probability": 1.0},
                        {"from": "y", "to": "x", "probability": 1.0},
                    ]
                )
            )
        ),
        fk.NoExitError,
        "x",
    ),
    (
        "edge out of absorbing stage",
        edit(lambda d: d["edges"].append({"from": "paid", "to": "visit", "probability": 0.5})),
        fk.StructureError,
        "paid -> visit",
    ),
    (
        "holding on absorbing stage",
        edit(lambda d: d["stages"][2].update(holding={"type": "fixed", "value": 1})),
        fk.StructureError,
        "paid",
    ),
    (
        "negative holding time",
        edit(lambda d: d["stages"][0].update(holding={"type": "fixed", "value": -1})),
        fk.DistributionError,
        "stages[0].holding",
    ),
    (
        "zero mean holding time",
        edit(lambda d: d["stages"][0].update(holding={"type": "exponential", "mean": 0})),
        fk.DistributionError,
        "stages[0].holding",
    ),
    (
        "unknown distribution",
        edit(lambda d: d["stages"][0].update(holding={"type": "pareto", "alpha": 2})),
        fk.UnknownDistributionError,
        "pareto",
    ),
    (
        "bad distribution parameter",
        edit(lambda d: d["stages"][0].update(holding={"type": "weibull", "k": 2})),
        fk.DistributionError,
        "stages[0].holding",
    ),
    ("unknown kind", edit(lambda d: d["stages"][0].update(kind="maybe")), fk.FunnelFormatError, "stages[0].kind"),
    ("unknown key", edit(lambda d: d.update(edgs=[])), fk.FunnelFormatError, "document"),
    (
        "wrong type",
        edit(lambda d: d["edges"][0].update(probability="high")),
        fk.FunnelFormatError,
        "edges[0].probability",
    ),
    ("no stages", {"stages": []}, fk.EmptyFunnelError, None),
    ("absorbing entry", edit(lambda d: d.update(entry="paid")), fk.StructureError, "paid"),
    ("zero entry weights", edit(lambda d: d.update(entry={"visit": 0.0})), fk.ProbabilityError, None),
    ("unknown entry", edit(lambda d: d.update(entry="home")), fk.UnknownStageError, "home"),
    ("bad discount", edit(lambda d: d.update(discount=1.5)), fk.StructureError, None),
    ("unknown remainder rule", edit(lambda d: d.update(remainder="spread")), fk.FunnelFormatError, "remainder"),
    ("blank stage name", edit(lambda d: d["stages"][1].update(name=" \t")), fk.FunnelFormatError, "stages[1].name"),
]


@pytest.mark.parametrize(("doc", "error", "subject"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_documents(doc: dict[str, Any], error: type[fk.FunnelError], subject: str | None) -> None:
    with pytest.raises(error) as info:
        fk.Funnel.from_dict(doc)
    assert info.value.subject == subject
    assert isinstance(info.value, ValueError)
    if subject is not None:
        assert subject.split("[")[0] in str(info.value)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("{not json", fk.FunnelFormatError),
        ("[1, 2]", fk.FunnelFormatError),
        ('{"format": "funnelkit.funnel", "version": 2, "stages": []}', fk.SchemaVersionError),
        ('{"format": "something else", "version": 1, "stages": []}', fk.FunnelFormatError),
        ('{"format": "funnelkit.funnel", "stages": []}', fk.FunnelFormatError),
        ('{"format": "funnelkit.funnel", "version": 1, "stages": [{"name": "a", "value": NaN}]}', fk.FunnelFormatError),
    ],
)
def test_malformed_json(text: str, error: type[fk.FunnelError]) -> None:
    with pytest.raises(error):
        fk.Funnel.from_json(text)


def test_builder_errors_name_the_problem() -> None:
    f = fk.Funnel().add_stage("visit")
    with pytest.raises(fk.UnknownStageError, match="cart"):
        f.add_edge("visit", "cart", 0.5)
    with pytest.raises(fk.DuplicateStageError):
        f.add_stage("visit")
    with pytest.raises(fk.FunnelFormatError, match="stage kind"):
        f.add_stage("x", "winner")
    with pytest.raises(fk.ProbabilityError):
        f.add_stage("paid", "success").add_edge("visit", "paid", float("inf"))
    with pytest.raises(fk.UnknownStageError):
        f.set_probability("visit", "nowhere", 0.1)
    with pytest.raises(fk.UnknownStageError):
        f.set_entry("nowhere")
    with pytest.raises(fk.ProbabilityError):
        f.set_entry({"visit": -1.0})
    with pytest.raises(fk.FunnelFormatError):
        fk.Funnel(remainder="spread")
    with pytest.raises(fk.FunnelFormatError):
        fk.Funnel.from_dict([])  # type: ignore[arg-type]


def test_validation_happens_before_analysis_not_on_load() -> None:
    doc = edit(lambda d: d["edges"].append({"from": "visit", "to": "paid", "probability": 0.8}))
    f = fk.Funnel.from_dict(doc, validate=False)  # a broken funnel can be loaded to be fixed
    with pytest.raises(fk.RowSumError):
        f.analyze()
    f.set_probability("visit", "paid", 0.1)
    assert f.analyze().success_probability == pytest.approx(0.1 + 0.3 * 0.4)


def test_missing_file_and_failed_write_leave_nothing_behind(tmp_path: Any) -> None:
    with pytest.raises(FileNotFoundError):
        fk.Funnel.from_json(tmp_path / "missing.json")
    target = tmp_path / "funnel.json"
    target.write_text("previous content")
    f = fk.examples.shop_funnel()

    f.add_stage("odd", holding=ParamlessDistribution())
    with pytest.raises(fk.UnknownDistributionError, match="register"):
        f.to_json(target)
    assert target.read_text() == "previous content"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["funnel.json"]
    assert json.loads(fk.examples.shop_funnel().to_json())["name"] == "online shop"


@pytest.mark.parametrize("source", ["", "   \n", None, 42, b"{}", ["{}"]])
def test_from_json_says_what_it_expects(source: Any) -> None:
    with pytest.raises(fk.FunnelFormatError, match="expected JSON text of a funnel document .* or a path"):
        fk.Funnel.from_json(source)


def test_from_json_names_a_missing_or_unreadable_path(tmp_path: Any) -> None:
    missing = tmp_path / "missing.json"
    for source in (missing, str(missing), "not json and not a file"):
        with pytest.raises(fk.MissingFileError, match="no file") as info:
            fk.Funnel.from_json(source)
        assert isinstance(info.value, fk.FunnelFormatError) and isinstance(info.value, FileNotFoundError)
        assert info.value.subject == str(source) and isinstance(info.value.__cause__, FileNotFoundError)
    with pytest.raises(fk.FunnelFormatError, match="cannot read") as directory:
        fk.Funnel.from_json(tmp_path)
    assert directory.value.subject == str(tmp_path)
    (tmp_path / "latin1.json").write_bytes(b"{\xff}")
    with pytest.raises(fk.FunnelFormatError, match="cannot read"):
        fk.Funnel.from_json(tmp_path / "latin1.json")


@pytest.mark.parametrize("probability", ["0.1", "abc", None, True, np.bool_(True), [0.5], 1j])
def test_add_edge_requires_a_real_number(probability: Any) -> None:
    f = fk.Funnel().add_stage("visit").add_stage("paid", "success")
    with pytest.raises(fk.ProbabilityError, match="must be a number") as info:
        f.add_edge("visit", "paid", probability)
    assert info.value.subject == "visit -> paid"
    with pytest.raises(fk.ProbabilityError):
        f.add_edge("visit", "paid", 0.5).set_probability("visit", "paid", probability)


@pytest.mark.parametrize("probability", [1, 0.5, np.float32(0.5), np.int64(0), np.float64(1.0)])
def test_add_edge_accepts_any_real_number(probability: Any) -> None:
    f = fk.Funnel().add_stage("visit").add_stage("paid", "success").add_edge("visit", "paid", probability)
    assert f.edges[0].probability == float(probability)


@pytest.mark.parametrize("name", ["", " ", "\t\n"])
def test_blank_stage_names_are_rejected(name: str) -> None:
    with pytest.raises(fk.FunnelFormatError, match="non-empty name"):
        fk.Funnel().add_stage(name)


def edge_frame(probabilities: list[Any], targets: tuple[Any, ...] = ("cart", "paid", "paid")) -> pd.DataFrame:
    return pd.DataFrame({"source": ["visit", "cart", "visit"], "target": list(targets), "probability": probabilities})


@pytest.mark.parametrize(
    ("table", "error", "message", "subject"),
    [
        (
            edge_frame([0.1, 0.2, 0.3], ("cart", "paid", "cart")),
            fk.DuplicateEdgeError,
            "row 2: edge visit -> cart is defined twice",
            "visit -> cart",
        ),
        (
            edge_frame([0.1, float("nan"), 0.3]),
            fk.ProbabilityError,
            "row 1: edge cart -> paid has probability nan",
            "cart -> paid",
        ),
        (
            edge_frame([0.1, 0.2, 1.5]),
            fk.ProbabilityError,
            "row 2: edge visit -> paid has probability 1.5",
            "visit -> paid",
        ),
        (
            edge_frame([0.1, -0.2, 0.3]),
            fk.ProbabilityError,
            "row 1: edge cart -> paid has probability -0.2",
            "cart -> paid",
        ),
        (
            edge_frame([0.1, "abc", 0.3]),
            fk.ProbabilityError,
            "row 1: edge cart -> paid has probability 'abc'",
            "cart -> paid",
        ),
        (
            edge_frame([0.1, 0.2, "0.3"]),
            fk.ProbabilityError,
            "row 2: edge visit -> paid has probability '0.3'",
            "visit -> paid",
        ),
        (
            edge_frame(["x", None, 0.3]),
            fk.ProbabilityError,
            "row 0: edge visit -> cart has probability 'x'",
            "visit -> cart",
        ),
        (
            edge_frame([0.1, None, "x"]),
            fk.ProbabilityError,
            "row 1: edge cart -> paid has probability None",
            "cart -> paid",
        ),
        (
            edge_frame([True, False, True]),
            fk.ProbabilityError,
            "row 0: edge visit -> cart has probability True",
            "visit -> cart",
        ),
        (
            edge_frame([0.1, 0.2, 0.3], ("cart", None, "paid")),
            fk.FunnelFormatError,
            "row 1: the target stage is missing",
            "target[1]",
        ),
        (
            edge_frame([0.1, 0.2, 0.3], ("cart", "  ", "paid")),
            fk.FunnelFormatError,
            "row 1: stage name '  ' is empty",
            "target[1]",
        ),
        (
            [("a", "b", 0.5), ("b", "a", "high")],
            fk.ProbabilityError,
            "row 1: edge b -> a has probability 'high'",
            "b -> a",
        ),
    ],
)
def test_from_edges_errors_name_the_first_bad_row(
    table: Any, error: type[fk.FunnelError], message: str, subject: str
) -> None:
    with pytest.raises(error) as info:
        fk.Funnel.from_edges(table, success=["paid"])
    assert str(info.value).startswith(message) and info.value.subject == subject


def test_from_edges_rejects_tables_it_cannot_read() -> None:
    with pytest.raises(fk.FunnelFormatError, match="tuple"):
        fk.Funnel.from_edges([("a", "b")])
    with pytest.raises(fk.FunnelFormatError, match="tuple"):
        fk.Funnel.from_edges([("a", "b", 0.5), ("b", "c")])
    with pytest.raises(fk.FunnelFormatError, match="DataFrame"):
        fk.Funnel.from_edges("a,b,0.5")  # type: ignore[arg-type]
    with pytest.raises(fk.FunnelFormatError, match="column"):
        fk.Funnel.from_edges({"source": ["a"], "target": ["b"]})
    with pytest.raises(fk.EmptyFunnelError):
        fk.Funnel.from_edges(pd.DataFrame({"source": [], "target": [], "probability": []}))
    with pytest.raises(fk.UnknownStageError, match="do not appear") as info:
        fk.Funnel.from_edges([(1, 2, 0.5)], success=[3])
    assert info.value.subject == "3"
