"""Bad input: each problem raises its own funnelkit exception naming the culprit, never a
crash or a silently wrong number (the table in docs/errors.md)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

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
