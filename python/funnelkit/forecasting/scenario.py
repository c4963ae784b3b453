"""What-if scenarios: a name and a list of changes to a base (funnel, traffic, strategy,
economics), kept as plain data so that a notebook can build, save and compare many of them.

    >>> import funnelkit as fk
    >>> from funnelkit.forecasting.scenario import Base, Scenario, grid
    >>> from funnelkit.forecasting.changes import ChannelTraffic, EdgeProbability
    >>> funnel = (fk.Funnel("shop").add_stage("visit").add_stage("cart")
    ...           .add_stage("paid", kind="success", value=50.0)
    ...           .add_edge("visit", "cart", 0.2).add_edge("cart", "paid", 0.3))
    >>> base = Base(funnel, fk.TrafficPlan(1_000))
    >>> better_cart = Scenario("better cart", [EdgeProbability("cart", "paid", factor=1.1)])
    >>> round(better_cart.apply(base).funnel.analyze().success_probability, 12)
    0.066
    >>> Scenario.from_json(better_cart.to_json()) == better_cart
    True
    >>> scenarios = grid("shop",
    ...                  cart=[None, EdgeProbability("cart", "paid", factor=1.1)],
    ...                  traffic=[ChannelTraffic(factor=f) for f in (0.5, 1.0, 2.0)])
    >>> len(scenarios), scenarios[-1].name
    (6, 'shop [cart: p(cart -> paid) x1.1; traffic: traffic x2]')

Documents look like ``{"format": "funnelkit-scenario", "version": 1, "name": ...,
"description": ..., "axes": {...}, "changes": [{"kind": "edge_probability", ...}, ...]}``
(the change kinds are :data:`~funnelkit.forecasting.changes.CHANGES`); another format or version
raises :class:`~funnelkit.forecasting.changes.ScenarioFormatError`.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pandas as pd

from funnelkit.forecasting.base import Base
from funnelkit.forecasting.changes import Change, ScenarioError, ScenarioFormatError, change_from_dict
from funnelkit.scoring.base import write_atomically

__all__ = ["SCENARIO_FORMAT", "SCENARIO_VERSION", "Base", "Scenario", "grid"]

SCENARIO_FORMAT = "funnelkit-scenario"
SCENARIO_VERSION = 1

#: One value of a grid axis: a change, several changes made together, or None (no change).
AxisValue = Change | Sequence[Change] | None


@dataclass(frozen=True)
class Scenario:
    """A named list of changes to a :class:`Base`, made in order by :meth:`apply`.

    Parameters
    ----------
    name:
        Shown in comparisons; unique within a comparison.
    changes:
        The :mod:`~funnelkit.forecasting.changes` to make, in order (none: the base itself).
    description:
        Free text.
    axes:
        For scenarios made by :func:`grid`: each axis name with the label of its value here,
        so that results can be tabulated by axis.
    """

    name: str
    changes: Sequence[Change] = ()
    description: str = ""
    axes: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ScenarioError(f"a scenario needs a non-empty name, got {self.name!r}", subject="name")
        changes = (self.changes,) if isinstance(self.changes, Change) else tuple(self.changes)
        for k, change in enumerate(changes):
            if not isinstance(change, Change):
                raise ScenarioError(f"scenario {self.name!r} change {k + 1}: expected a Change (e.g. "
                                    f"EdgeProbability), got {type(change).__name__}", subject=self.name)
        object.__setattr__(self, "changes", changes)
        if not isinstance(self.description, str):
            raise ScenarioError(f"scenario {self.name!r}: description must be a string", subject=self.name)
        if not isinstance(self.axes, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.axes.items()
        ):
            raise ScenarioError(f"scenario {self.name!r}: axes must map names to labels (strings)",
                                subject=self.name)
        object.__setattr__(self, "axes", dict(self.axes))

    # -- use ---------------------------------------------------------------------------------
    def apply(self, base: Base) -> Base:
        """A new base with every change made, in order; ``base`` and its objects are left as
        they were (the funnel is copied first, so the result shares nothing mutable with it).
        The result's funnel is validated."""
        if not isinstance(base, Base):
            raise TypeError(f"Scenario.apply needs a Base, got {type(base).__name__}")
        out = base.copy()
        for change in self.changes:
            out = change.apply(out)
        out.funnel.validate()
        return out

    def then(self, *changes: Change, name: str | None = None) -> Scenario:
        """This scenario with more changes after its own (``name``: a new name)."""
        return Scenario(name or self.name, (*self.changes, *changes), self.description, self.axes)

    def summary(self) -> str:
        """The changes as one line (``"p(cart -> paid) x1.1; traffic x2"``; ``"base"``: none)."""
        return "; ".join(change.label() for change in self.changes) or "base"

    # -- documents ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SCENARIO_FORMAT,
            "version": SCENARIO_VERSION,
            "name": self.name,
            "description": self.description,
            "axes": dict(self.axes),
            "changes": [change.to_dict() for change in self.changes],
        }

    @staticmethod
    def from_dict(document: Mapping[str, Any]) -> Scenario:
        """The scenario a document describes (see :meth:`to_dict`)."""
        if not isinstance(document, Mapping) or document.get("format") != SCENARIO_FORMAT:
            raise ScenarioFormatError(f"not a funnelkit scenario document (format must be {SCENARIO_FORMAT!r})",
                                      subject="format")
        if document.get("version") != SCENARIO_VERSION:
            raise ScenarioFormatError(f"scenario document version {document.get('version')!r}; this funnelkit "
                                      f"reads version {SCENARIO_VERSION}", subject="version")
        unknown = sorted(set(document) - {"format", "version", "name", "description", "axes", "changes"})
        if unknown:
            raise ScenarioFormatError(f"unknown scenario fields {unknown}", subject=unknown[0])
        changes = document.get("changes", [])
        if not isinstance(changes, list):
            raise ScenarioFormatError("'changes' must be a list", subject="changes")
        return Scenario(
            name=document.get("name"),  # type: ignore[arg-type]  # checked by __post_init__
            changes=[change_from_dict(c, f"changes[{k}]") for k, c in enumerate(changes)],
            description=document.get("description", ""),
            axes=document.get("axes") or {},
        )

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)

    @staticmethod
    def from_json(text: str) -> Scenario:
        try:
            document = json.loads(text)
        except (TypeError, json.JSONDecodeError) as error:
            raise ScenarioFormatError(f"scenario JSON is malformed: {error}") from error
        return Scenario.from_dict(document)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the scenario's JSON document to ``path`` atomically."""
        write_atomically(Path(path), self.to_json().encode())

    @staticmethod
    def load(path: str | os.PathLike[str]) -> Scenario:
        """Read a scenario saved with :meth:`save`."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError as error:
            raise ScenarioFormatError(f"no scenario file at {os.fspath(path)!r}",
                                      subject=os.fspath(path)) from error
        return Scenario.from_json(text)

    # -- display -----------------------------------------------------------------------------
    def to_pandas(self) -> pd.DataFrame:
        """One row per change: its kind and label."""
        return pd.DataFrame({"kind": [c.kind for c in self.changes], "change": [c.label() for c in self.changes]},
                            index=pd.RangeIndex(1, len(self.changes) + 1, name="step"))

    def _repr_html_(self) -> str:
        import html

        header = f"<strong>Scenario {html.escape(self.name)}</strong>"
        if self.description:
            header += f"<br>{html.escape(self.description)}"
        return f"<div>{header}{self.to_pandas().to_html(border=0)}</div>"


def _as_changes(value: AxisValue, where: str) -> tuple[Change, ...]:
    if value is None:
        return ()
    if isinstance(value, Change):
        return (value,)
    many = isinstance(value, Iterable) and not isinstance(value, (str, bytes, Mapping))
    changes: tuple[object, ...] = tuple(value) if many else (value,)
    for change in changes:
        if not isinstance(change, Change):
            raise ScenarioError(f"grid axis {where!r}: values must be changes, lists of changes or None, got "
                                f"{type(change).__name__}", subject=where)
    return cast("tuple[Change, ...]", changes)


def grid(base_name: str = "base", **axes: Iterable[AxisValue]) -> list[Scenario]:
    """Every combination of one value per axis, as scenarios (the cartesian product, the last
    axis varying fastest).

    Each axis is a list of values; a value is a change, a list of changes made together, or
    None (the base as it is on that axis). A scenario's name is ``base_name`` followed by each
    axis's label (``"shop [cart: p(cart -> paid) x1.1; traffic: base]"``), and its ``axes``
    maps each axis to that label. Labels must differ within an axis (names stay unique).

    >>> from funnelkit.forecasting.changes import Margin
    >>> [s.name for s in grid("shop", margin=[Margin(m) for m in (0.2, 0.3)])]
    ['shop [margin: margin = 0.2]', 'shop [margin: margin = 0.3]']
    """
    if not isinstance(base_name, str) or not base_name:
        raise ScenarioError(f"grid: base_name must be a non-empty string, got {base_name!r}", subject="base_name")
    if not axes:
        return [Scenario(base_name)]
    columns: list[list[tuple[str, tuple[Change, ...]]]] = []
    for axis, values in axes.items():
        if isinstance(values, (Change, str)) or not isinstance(values, Iterable):
            raise ScenarioError(f"grid axis {axis!r}: expected a list of values, got {type(values).__name__}",
                                subject=axis)
        column = []
        for value in values:
            changes = _as_changes(value, axis)
            column.append(("; ".join(c.label() for c in changes) or "base", changes))
        if not column:
            raise ScenarioError(f"grid axis {axis!r} has no values", subject=axis)
        labels = [label for label, _ in column]
        repeated = next((label for label in labels if labels.count(label) > 1), None)
        if repeated is not None:
            raise ScenarioError(f"grid axis {axis!r} has the value {repeated!r} twice", subject=axis)
        columns.append(column)
    names = list(axes)
    scenarios = []
    for combination in itertools.product(*columns):
        shown = "; ".join(f"{axis}: {label}" for axis, (label, _) in zip(names, combination, strict=True))
        scenarios.append(Scenario(
            f"{base_name} [{shown}]",
            [change for _, changes in combination for change in changes],
            axes={axis: label for axis, (label, _) in zip(names, combination, strict=True)},
        ))
    return scenarios
