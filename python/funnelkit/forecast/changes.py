"""What a what-if scenario can change: small frozen records, each with an ``apply(base)`` that
returns a new :class:`~funnelkit.forecast.base.Base` and never touches the one it was given.

    >>> import funnelkit as fk
    >>> from funnelkit.forecast.base import Base
    >>> from funnelkit.forecast.changes import EdgeProbability
    >>> funnel = (fk.Funnel("shop").add_stage("visit").add_stage("cart")
    ...           .add_stage("paid", kind="success", value=50.0)
    ...           .add_edge("visit", "cart", 0.2).add_edge("cart", "paid", 0.3))
    >>> base = Base(funnel, fk.TrafficPlan(1_000))
    >>> better = EdgeProbability("cart", "paid", factor=1.1)       # +10% relative
    >>> better.label()
    'p(cart -> paid) x1.1'
    >>> round(better.apply(base).funnel.analyze().success_probability, 12)   # 0.2 * 0.33
    0.066
    >>> base.funnel.edges[1].probability                              # the base is unchanged
    0.3

The remainder rule
------------------
A stage's edges may sum below 1; what is left over follows the funnel's remainder rule. Under
``remainder="drop"`` the leftover is the chance of leaving at that stage, so a change to one
edge moves the difference to (or from) that leftover and the other edges keep their
probabilities. Under ``remainder="strict"`` the row's edge to the drop stage is the leftover:
it takes the difference (the edge is added when the drop stage is a real stage and the row has
none). Either way a row that would sum above 1 raises the funnel's own
:class:`~funnelkit.RowSumError` naming the stage.

Every change checks its numbers when built (a factor must be finite and > 0:
:class:`ScenarioError`) and its names when applied: an unknown stage raises
:class:`~funnelkit.UnknownStageError`, an unknown edge :class:`UnknownEdgeError`, an unknown
channel :class:`UnknownChannelError`, an unknown trigger or campaign
:class:`UnknownTriggerError`; all are ``ValueError`` s whose ``subject`` is the name.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from funnelkit import _core
from funnelkit._edges import is_real_number
from funnelkit.errors import DistributionError, FunnelError, RowSumError, StrategyError, UnknownStageError
from funnelkit.forecast.base import Base
from funnelkit.funnel import Funnel
from funnelkit.simulation._durations import Duration, duration_json, to_units
from funnelkit.simulation.strategy import Strategy
from funnelkit.simulation.traffic import Channel, TrafficPlan
from funnelkit.simulation.triggers import Campaign, Message, Trigger

__all__ = [
    "CHANGES",
    "Change",
    "ChannelCost",
    "ChannelTraffic",
    "ControlShare",
    "EdgeProbability",
    "Margin",
    "OrderValue",
    "RemoveEdge",
    "Reroute",
    "ScaleDelay",
    "ScaleHolding",
    "ScenarioError",
    "ScenarioFormatError",
    "TriggerDelay",
    "TriggerDiscount",
    "TriggerOff",
    "UnknownChannelError",
    "UnknownEdgeError",
    "UnknownTriggerError",
    "change_from_dict",
    "scale_distribution",
]

#: Rows may exceed 1 by this much (the engine's tolerance, model/funnel.hpp).
ROW_TOLERANCE = 1e-9


# -- errors ----------------------------------------------------------------------------------
class ScenarioError(FunnelError):
    """A scenario or change that cannot be built or applied: a factor that is not a finite
    number > 0, a probability outside [0, 1], a change that needs something the base lacks."""


class ScenarioFormatError(ScenarioError):
    """A scenario document of another format or version, or with unknown fields or kinds."""


class UnknownEdgeError(ScenarioError):
    """A change naming an edge ``"source -> target"`` that the funnel does not have."""


class UnknownChannelError(ScenarioError):
    """A change naming a traffic channel that the plan does not have."""


class UnknownTriggerError(ScenarioError):
    """A change naming a trigger or campaign that the strategy does not have."""


# -- checks ----------------------------------------------------------------------------------
def _factor(value: object, where: str) -> float:
    if not is_real_number(value) or not math.isfinite(float(value)) or float(value) <= 0:  # type: ignore[arg-type]
        raise ScenarioError(f"{where}: factor must be a finite number > 0, got {value!r}", subject=where)
    return float(value)  # type: ignore[arg-type]


def _amount(value: object, where: str, *, upper: float = math.inf) -> float:
    """A finite number in [0, upper]."""
    if not is_real_number(value) or not math.isfinite(float(value)) or not 0.0 <= float(value) <= upper:  # type: ignore[arg-type]
        bound = f"in [0, {upper:g}]" if math.isfinite(upper) else ">= 0 and finite"
        raise ScenarioError(f"{where} must be a number {bound}, got {value!r}", subject=where)
    return float(value)  # type: ignore[arg-type]


def _name(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ScenarioError(f"{where} must be a non-empty string, got {value!r}", subject=where)
    return value


def _one_of(change: object, first: str, second: str) -> str:
    """The name of the one field of ``first``/``second`` that is set; both or neither is an error."""
    given = [name for name in (first, second) if getattr(change, name) is not None]
    if len(given) != 1:
        kind = type(change).__name__
        raise ScenarioError(f"{kind}: give exactly one of {first} and {second}", subject=kind)
    return given[0]


def _times(factor: float) -> str:
    return f"x{factor:g}"


# -- distributions ---------------------------------------------------------------------------
def scale_distribution(distribution: _core.Distribution, factor: float) -> _core.Distribution:
    """The law of ``factor * T`` for ``T`` drawn from ``distribution``, built exactly.

    Exponential: rate / f. Log-normal: mu + log f. Weibull and gamma: scale x f. Fixed:
    value x f. Empirical: every knot time x f. Truncated: its base scaled and its upper bound
    x f. Every moment scales as it should (mean x f, variance x f²) and every quantile x f.
    A Python distribution cannot be scaled exactly and raises
    :class:`~funnelkit.DistributionError`.

    >>> import funnelkit as fk
    >>> scale_distribution(fk.Exponential(mean=2.0), 1.5).mean()
    3.0
    >>> scale_distribution(fk.Truncated(fk.Fixed(2.0), 5.0), 2.0).params()["upper"]
    10.0
    """
    f = _factor(factor, "scale_distribution")
    kind = type(distribution)
    if kind not in _SCALABLE:
        name = kind.__qualname__
        raise DistributionError(
            f"cannot scale a {name} distribution: only the built-in ones (exponential, lognormal, weibull, "
            "gamma, fixed, empirical, truncated) have an exact scaled law; give the stage a built-in "
            "distribution or set the new one yourself",
            subject=name,
        )
    p = distribution.params()
    if kind is _core.Exponential:
        return _core.Exponential(rate=p["rate"] / f)
    if kind is _core.LogNormal:
        return _core.LogNormal(p["mu"] + math.log(f), p["sigma"])
    if kind is _core.Weibull:
        return _core.Weibull(p["shape"], p["scale"] * f)
    if kind is _core.Gamma:
        return _core.Gamma(p["shape"], p["scale"] * f)
    if kind is _core.Fixed:
        return _core.Fixed(p["value"] * f)
    if kind is _core.Empirical:
        return _core.Empirical(list(p["p"]), [t * f for t in p["t"]])
    assert isinstance(distribution, _core.Truncated)
    return _core.Truncated(scale_distribution(distribution.base, f), distribution.upper * f)


_SCALABLE = (_core.Exponential, _core.LogNormal, _core.Weibull, _core.Gamma, _core.Fixed, _core.Empirical,
             _core.Truncated)


# -- the funnel as editable parts ------------------------------------------------------------
def _parts(funnel: Funnel) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Stages and edges as plain dicts (copies: editing them changes nothing)."""
    return [dict(s) for s in funnel._core.stages()], [dict(e) for e in funnel._core.edges()]


def _rebuild(funnel: Funnel, stages: list[dict[str, Any]], edges: list[dict[str, Any]]) -> Funnel:
    """A new funnel with ``funnel``'s settings and entry and these stages and edges."""
    core = funnel._core
    out = Funnel(core.name, time_unit=core.time_unit, remainder=core.remainder, drop_stage=core.drop_stage,
                 discount=core.discount, metadata=core.metadata)
    for s in stages:
        out._core.add_stage(s["name"], s["kind"], float(s["value"]), s["holding"], s["metadata"] or None)
    for e in edges:
        out._core.add_edge(e["source"], e["target"], float(e["probability"]), e["delay"], e["metadata"] or None)
    if core.entry:
        out._core.set_entry(list(core.entry))
    return out


def _check_stage(funnel: Funnel, stage: str, where: str) -> None:
    if not funnel._core.has_stage(stage):
        raise UnknownStageError(f"{where}: the funnel has no stage {stage!r}", subject=stage)


def _edge_position(funnel: Funnel, edges: list[dict[str, Any]], source: str, target: str, where: str) -> int:
    _check_stage(funnel, source, where)
    _check_stage(funnel, target, where)
    for i, edge in enumerate(edges):
        if edge["source"] == source and edge["target"] == target:
            return i
    leaving = [e["target"] for e in edges if e["source"] == source]
    raise UnknownEdgeError(
        f"{where}: the funnel has no edge {source} -> {target} (edges from {source!r} go to: "
        f"{', '.join(map(repr, leaving)) or 'nowhere'})",
        subject=f"{source} -> {target}",
    )


def _settle_row(funnel: Funnel, edges: list[dict[str, Any]], source: str, where: str) -> list[dict[str, Any]]:
    """Apply the remainder rule to ``source``'s row after an edit (see the module's docstring)."""
    drop = funnel.drop_stage
    row = [e for e in edges if e["source"] == source]
    if funnel.remainder != "strict":
        total = math.fsum(e["probability"] for e in row)
        if total > 1.0 + ROW_TOLERANCE:
            raise RowSumError(f"{where}: outgoing probabilities of stage {source!r} would sum to {total:.6f} > 1",
                              subject=source)
        return edges
    others = math.fsum(e["probability"] for e in row if e["target"] != drop)
    if others > 1.0 + ROW_TOLERANCE:
        raise RowSumError(f"{where}: outgoing probabilities of stage {source!r} (without its edge to the drop "
                          f"stage {drop!r}) would sum to {others:.6f} > 1", subject=source)
    rest = max(0.0, 1.0 - others)
    to_drop = [e for e in row if e["target"] == drop]
    if to_drop:
        to_drop[0]["probability"] = rest
    elif rest > ROW_TOLERANCE:
        if not funnel._core.has_stage(drop):
            raise RowSumError(
                f"{where}: under the strict remainder rule the edges of stage {source!r} would sum to "
                f"{others:.6f} < 1 and the funnel has no drop stage {drop!r} to take the rest",
                subject=source,
            )
        last = max(i for i, e in enumerate(edges) if e["source"] == source)
        edges.insert(last + 1, {"source": source, "target": drop, "probability": rest, "delay": None,
                                "metadata": {}})
    return edges


def _strict_drop_edge(funnel: Funnel, target: str, where: str) -> None:
    if funnel.remainder == "strict" and target == funnel.drop_stage:
        raise ScenarioError(f"{where}: under the strict remainder rule the edge to the drop stage is what the "
                            "other edges leave over; change those instead", subject=where)


# -- the base class --------------------------------------------------------------------------
class Change(ABC):
    """One edit of a :class:`~funnelkit.forecast.base.Base`; subclasses are frozen dataclasses."""

    #: The change's name in scenario documents.
    kind: ClassVar[str]

    @abstractmethod
    def apply(self, base: Base) -> Base:
        """A new base with this change made; ``base`` is left as it was."""

    @abstractmethod
    def label(self) -> str:
        """A short text for tables and scenario names (``"p(cart -> checkout) x1.1"``)."""

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": ..., field: value, ...}``: plain JSON values."""
        document: dict[str, Any] = {"kind": self.kind}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, (datetime.timedelta, np.timedelta64)):
                value = duration_json(value)
            document[f.name] = value
        return document

    def __str__(self) -> str:
        return self.label()


# -- funnel changes --------------------------------------------------------------------------
@dataclass(frozen=True)
class EdgeProbability(Change):
    """Set an edge's probability (``probability``) or multiply it (``factor``: 1.1 is +10%
    relative). The difference goes to (or comes from) the row's remainder.

    >>> EdgeProbability("cart", "checkout", probability=0.5).label()
    'p(cart -> checkout) = 0.5'
    """

    kind: ClassVar[str] = "edge_probability"
    source: str
    target: str
    probability: float | None = None
    factor: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", _name(self.source, "EdgeProbability.source"))
        object.__setattr__(self, "target", _name(self.target, "EdgeProbability.target"))
        if _one_of(self, "probability", "factor") == "factor":
            object.__setattr__(self, "factor", _factor(self.factor, "EdgeProbability.factor"))
        else:
            object.__setattr__(self, "probability", _amount(self.probability, "EdgeProbability.probability",
                                                            upper=1.0))

    def label(self) -> str:
        edge = f"p({self.source} -> {self.target})"
        return f"{edge} {_times(self.factor)}" if self.factor is not None else f"{edge} = {self.probability:g}"

    def apply(self, base: Base) -> Base:
        """New probability ``p * factor`` or ``probability``; the row is settled by the
        remainder rule (a sum above 1 raises :class:`~funnelkit.RowSumError`)."""
        funnel, where = base.funnel, self.label()
        stages, edges = _parts(funnel)
        i = _edge_position(funnel, edges, self.source, self.target, where)
        _strict_drop_edge(funnel, self.target, where)
        old = edges[i]["probability"]
        edges[i]["probability"] = old * self.factor if self.factor is not None else self.probability
        return base.replace(funnel=_rebuild(funnel, stages, _settle_row(funnel, edges, self.source, where)))


@dataclass(frozen=True)
class RemoveEdge(Change):
    """Take an edge out; its probability goes to the row's remainder (leaving the funnel).

    >>> RemoveEdge("cart", "checkout").label()
    'remove cart -> checkout'
    """

    kind: ClassVar[str] = "remove_edge"
    source: str
    target: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", _name(self.source, "RemoveEdge.source"))
        object.__setattr__(self, "target", _name(self.target, "RemoveEdge.target"))

    def label(self) -> str:
        return f"remove {self.source} -> {self.target}"

    def apply(self, base: Base) -> Base:
        """The funnel without the edge; under the strict rule the row's drop edge grows by its
        probability."""
        funnel, where = base.funnel, self.label()
        stages, edges = _parts(funnel)
        i = _edge_position(funnel, edges, self.source, self.target, where)
        _strict_drop_edge(funnel, self.target, where)
        del edges[i]
        return base.replace(funnel=_rebuild(funnel, stages, _settle_row(funnel, edges, self.source, where)))


@dataclass(frozen=True)
class Reroute(Change):
    """Send an edge's leads to another stage: ``source -> target`` with probability p becomes
    ``source -> to`` (added to that edge's probability if it exists; a new edge keeps the
    moved edge's delay and metadata, an existing one keeps its own delay). Rerouting to a
    virtual drop stage is removing the edge.

    >>> Reroute("cart", "survey", "checkout").label()
    'reroute cart -> survey to checkout'
    """

    kind: ClassVar[str] = "reroute"
    source: str
    target: str
    to: str

    def __post_init__(self) -> None:
        for what in ("source", "target", "to"):
            object.__setattr__(self, what, _name(getattr(self, what), f"Reroute.{what}"))
        if self.to == self.target:
            raise ScenarioError(f"{self.label()}: the new target is the old one", subject=self.label())

    def label(self) -> str:
        return f"reroute {self.source} -> {self.target} to {self.to}"

    def apply(self, base: Base) -> Base:
        """The funnel with the edge's probability moved to ``source -> to``; the row's sum
        does not change."""
        funnel, where = base.funnel, self.label()
        stages, edges = _parts(funnel)
        i = _edge_position(funnel, edges, self.source, self.target, where)
        moved = edges.pop(i)
        if self.to == funnel.drop_stage and not funnel._core.has_stage(self.to):
            return base.replace(funnel=_rebuild(funnel, stages, _settle_row(funnel, edges, self.source, where)))
        _check_stage(funnel, self.to, where)
        existing = [e for e in edges if e["source"] == self.source and e["target"] == self.to]
        if existing:
            existing[0]["probability"] += moved["probability"]
        else:
            edges.insert(i, {**moved, "target": self.to})
        return base.replace(funnel=_rebuild(funnel, stages, _settle_row(funnel, edges, self.source, where)))


@dataclass(frozen=True)
class ScaleHolding(Change):
    """Multiply the time leads spend in a stage by ``factor`` (the holding-time law is scaled
    exactly: :func:`scale_distribution`). Edges out of the stage with their own delay are not
    affected (use :class:`ScaleDelay`).

    >>> ScaleHolding("cart", 0.5).label()
    'holding(cart) x0.5'
    """

    kind: ClassVar[str] = "scale_holding"
    stage: str
    factor: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "stage", _name(self.stage, "ScaleHolding.stage"))
        object.__setattr__(self, "factor", _factor(self.factor, "ScaleHolding.factor"))

    def label(self) -> str:
        return f"holding({self.stage}) {_times(self.factor)}"

    def apply(self, base: Base) -> Base:
        """The funnel with the stage's holding time ``T`` replaced by ``factor * T``."""
        funnel, where = base.funnel, self.label()
        _check_stage(funnel, self.stage, where)
        stages, edges = _parts(funnel)
        stage = next(s for s in stages if s["name"] == self.stage)
        if stage["holding"] is None:
            raise ScenarioError(f"{where}: stage {self.stage!r} has no holding time to scale", subject=self.stage)
        stage["holding"] = scale_distribution(stage["holding"], self.factor)
        return base.replace(funnel=_rebuild(funnel, stages, edges))


@dataclass(frozen=True)
class ScaleDelay(Change):
    """Multiply an edge's delay by ``factor`` (its law scaled exactly).

    >>> ScaleDelay("checkout", "paid", 2).label()
    'delay(checkout -> paid) x2'
    """

    kind: ClassVar[str] = "scale_delay"
    source: str
    target: str
    factor: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", _name(self.source, "ScaleDelay.source"))
        object.__setattr__(self, "target", _name(self.target, "ScaleDelay.target"))
        object.__setattr__(self, "factor", _factor(self.factor, "ScaleDelay.factor"))

    def label(self) -> str:
        return f"delay({self.source} -> {self.target}) {_times(self.factor)}"

    def apply(self, base: Base) -> Base:
        """The funnel with the edge's delay ``T`` replaced by ``factor * T``."""
        funnel, where = base.funnel, self.label()
        stages, edges = _parts(funnel)
        edge = edges[_edge_position(funnel, edges, self.source, self.target, where)]
        if edge["delay"] is None:
            raise ScenarioError(f"{where}: edge {self.source} -> {self.target} has no delay of its own to scale "
                                f"(its time is the holding time of {self.source!r}: use ScaleHolding)",
                                subject=f"{self.source} -> {self.target}")
        edge["delay"] = scale_distribution(edge["delay"], self.factor)
        return base.replace(funnel=_rebuild(funnel, stages, edges))


@dataclass(frozen=True)
class OrderValue(Change):
    """Set (``value``) or multiply (``factor``) a stage's value, the average order value at a
    purchase stage; ``stage=None``: every stage with a positive value.

    >>> OrderValue(factor=1.1).label(), OrderValue("paid", value=70).label()
    ('order value x1.1', 'value(paid) = 70')
    """

    kind: ClassVar[str] = "order_value"
    stage: str | None = None
    value: float | None = None
    factor: float | None = None

    def __post_init__(self) -> None:
        if self.stage is not None:
            object.__setattr__(self, "stage", _name(self.stage, "OrderValue.stage"))
        if _one_of(self, "value", "factor") == "factor":
            object.__setattr__(self, "factor", _factor(self.factor, "OrderValue.factor"))
        else:
            object.__setattr__(self, "value", _amount(self.value, "OrderValue.value"))

    def label(self) -> str:
        what = "order value" if self.stage is None else f"value({self.stage})"
        return f"{what} {_times(self.factor)}" if self.factor is not None else f"{what} = {self.value:g}"

    def apply(self, base: Base) -> Base:
        """The funnel with ``value * factor`` or ``value`` at the stage(s)."""
        funnel, where = base.funnel, self.label()
        if self.stage is None:
            targets = [s.name for s in funnel.stages if s.value > 0]
            if not targets:
                raise ScenarioError(f"{where}: no stage of the funnel has a positive value", subject=where)
        else:
            _check_stage(funnel, self.stage, where)
            targets = [self.stage]
        out = funnel.copy()
        values = {s.name: s.value for s in funnel.stages}
        for name in targets:
            out.set_value(name, values[name] * self.factor if self.factor is not None else float(self.value or 0.0))
        return base.replace(funnel=out)


# -- traffic ---------------------------------------------------------------------------------
def _channel_position(plan: TrafficPlan, channel: str, where: str) -> int:
    names = plan.channel_names
    if channel not in names:
        raise UnknownChannelError(f"{where}: the traffic plan has no channel {channel!r} (channels: "
                                  f"{', '.join(map(repr, names))})", subject=channel)
    return names.index(channel)


@dataclass(frozen=True)
class ChannelTraffic(Change):
    """Multiply a channel's visitors (``factor``) or set its visitors per day
    (``visitors_per_day``); ``channel=None``: the whole plan (channels keep their shares).

    Changing one channel gives every channel its own visitors per day (the plan's total is no
    longer fixed); seasonality, growth and costs are kept.

    >>> ChannelTraffic("search", factor=2).label(), ChannelTraffic(visitors_per_day=500).label()
    ('traffic(search) x2', 'traffic = 500/day')
    """

    kind: ClassVar[str] = "channel_traffic"
    channel: str | None = None
    factor: float | None = None
    visitors_per_day: float | None = None

    def __post_init__(self) -> None:
        if self.channel is not None:
            object.__setattr__(self, "channel", _name(self.channel, "ChannelTraffic.channel"))
        if _one_of(self, "factor", "visitors_per_day") == "factor":
            object.__setattr__(self, "factor", _factor(self.factor, "ChannelTraffic.factor"))
        else:
            object.__setattr__(self, "visitors_per_day", _amount(self.visitors_per_day,
                                                                 "ChannelTraffic.visitors_per_day"))

    def label(self) -> str:
        what = "traffic" if self.channel is None else f"traffic({self.channel})"
        return f"{what} {_times(self.factor)}" if self.factor is not None else f"{what} = {self.visitors_per_day:g}/day"

    def apply(self, base: Base) -> Base:
        """A new traffic plan with the channel's visitors per day ``v * factor`` or
        ``visitors_per_day``."""
        plan, where = base.traffic, self.label()
        daily = plan.daily_per_channel()
        if self.channel is None:
            total = float(daily.sum())
            new_total = total * self.factor if self.factor is not None else float(self.visitors_per_day or 0.0)
            if plan.visitors_per_day is not None:
                return base.replace(traffic=dataclasses.replace(plan, visitors_per_day=new_total))
            if total == 0.0 and new_total > 0.0:
                raise ScenarioError(f"{where}: the plan has no visitors to scale; set a channel's visitors",
                                    subject=where)
            daily = daily * (new_total / total) if total > 0 else daily
        else:
            i = _channel_position(plan, self.channel, where)
            daily[i] = daily[i] * self.factor if self.factor is not None else float(self.visitors_per_day or 0.0)
        channels = [Channel(c.name, visitors_per_day=float(v), cost_per_visitor=c.cost_per_visitor)
                    for c, v in zip(plan.channels or (), daily, strict=True)]
        return base.replace(traffic=dataclasses.replace(plan, visitors_per_day=None, channels=channels))


@dataclass(frozen=True)
class ChannelCost(Change):
    """Set (``cost_per_visitor``) or multiply (``factor``) what a channel's visitor costs;
    ``channel=None``: every channel.

    >>> ChannelCost("search", cost_per_visitor=0.3).label()
    'cost per visitor(search) = 0.3'
    """

    kind: ClassVar[str] = "channel_cost"
    channel: str | None = None
    cost_per_visitor: float | None = None
    factor: float | None = None

    def __post_init__(self) -> None:
        if self.channel is not None:
            object.__setattr__(self, "channel", _name(self.channel, "ChannelCost.channel"))
        if _one_of(self, "cost_per_visitor", "factor") == "factor":
            object.__setattr__(self, "factor", _factor(self.factor, "ChannelCost.factor"))
        else:
            object.__setattr__(self, "cost_per_visitor", _amount(self.cost_per_visitor,
                                                                 "ChannelCost.cost_per_visitor"))

    def label(self) -> str:
        what = "cost per visitor" if self.channel is None else f"cost per visitor({self.channel})"
        return f"{what} {_times(self.factor)}" if self.factor is not None else f"{what} = {self.cost_per_visitor:g}"

    def apply(self, base: Base) -> Base:
        """A new traffic plan with the channel's cost per visitor changed."""
        plan = base.traffic
        channels = list(plan.channels or ())
        positions = range(len(channels)) if self.channel is None else [
            _channel_position(plan, self.channel, self.label())]
        for i in positions:
            old = channels[i].cost_per_visitor
            new = old * self.factor if self.factor is not None else float(self.cost_per_visitor or 0.0)
            channels[i] = dataclasses.replace(channels[i], cost_per_visitor=new)
        return base.replace(traffic=dataclasses.replace(plan, channels=channels))


# -- economics -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Margin(Change):
    """Set (``margin``) or multiply (``factor``) the margin rate, the share of revenue kept;
    the result must stay in [0, 1].

    >>> Margin(0.35).label()
    'margin = 0.35'
    """

    kind: ClassVar[str] = "margin"
    margin: float | None = None
    factor: float | None = None

    def __post_init__(self) -> None:
        if _one_of(self, "margin", "factor") == "factor":
            object.__setattr__(self, "factor", _factor(self.factor, "Margin.factor"))
        else:
            object.__setattr__(self, "margin", _amount(self.margin, "Margin.margin", upper=1.0))

    def label(self) -> str:
        return f"margin {_times(self.factor)}" if self.factor is not None else f"margin = {self.margin:g}"

    def apply(self, base: Base) -> Base:
        """New economics with margin ``m * factor`` or ``margin``."""
        old = base.economics.margin
        new = old * self.factor if self.factor is not None else float(self.margin or 0.0)
        if new > 1.0:
            raise ScenarioError(f"{self.label()}: the margin would be {new:g}, above 1", subject="margin")
        return base.replace(economics=dataclasses.replace(base.economics, margin=new))


# -- the trigger strategy --------------------------------------------------------------------
def _strategy(base: Base, where: str) -> Strategy:
    if base.strategy is None:
        raise ScenarioError(f"{where}: the base has no trigger strategy", subject=where)
    return base.strategy


def _sender(strategy: Strategy, name: str, where: str) -> Trigger | Campaign:
    senders: list[Trigger | Campaign] = [*strategy.triggers, *strategy.campaigns]
    for sender in senders:
        if sender.name == name:
            return sender
    raise UnknownTriggerError(f"{where}: the strategy has no trigger or campaign {name!r} (it has: "
                              f"{', '.join(map(repr, strategy.senders)) or 'none'})", subject=name)


def _with_sender(strategy: Strategy, name: str, new: Trigger | Campaign | None) -> Strategy:
    """The strategy with sender ``name`` replaced by ``new`` (None: removed)."""
    triggers = [new if t.name == name else t for t in strategy.triggers]
    campaigns = [new if c.name == name else c for c in strategy.campaigns]
    return strategy.with_(triggers=[t for t in triggers if t is not None],
                          campaigns=[c for c in campaigns if c is not None])


def _edit_steps(sender: Trigger | Campaign, step: int | None, edit: Callable[[Message], Message],
                where: str) -> Trigger | Campaign:
    try:
        if isinstance(sender, Campaign):
            if step not in (None, 1):
                raise ScenarioError(f"{where}: campaign {sender.name!r} has one message (step 1), not step {step}",
                                    subject=sender.name)
            return dataclasses.replace(sender, message=edit(sender.message))
        steps = list(sender.steps)
        if step is not None and not 1 <= step <= len(steps):
            raise ScenarioError(f"{where}: trigger {sender.name!r} has steps 1 to {len(steps)}, not {step}",
                                subject=sender.name)
        for k in range(len(steps)) if step is None else [step - 1]:
            steps[k] = edit(steps[k])
        return dataclasses.replace(sender, steps=steps)
    except StrategyError as error:
        if isinstance(error, ScenarioError):
            raise
        raise StrategyError(f"{where}: {error}", subject=error.subject) from error


def _step(value: object, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ScenarioError(f"{where}: step must be a positive integer (1 is the first message) or None, "
                            f"got {value!r}", subject=where)
    return int(value)


def _scale_duration(value: Duration, factor: float) -> Duration:
    """``value * factor``: numbers stay numbers (in the funnel's unit), anything else becomes
    a :class:`pandas.Timedelta`."""
    if is_real_number(value):
        return float(value) * factor  # type: ignore[arg-type]
    hours = to_units(value, "hours", "Message.after")
    return pd.Timedelta(hours=hours * factor)


@dataclass(frozen=True)
class TriggerDelay(Change):
    """Set (``after``: ``"2h"``, a timedelta or a number in the funnel's unit) or multiply
    (``factor``) when a trigger's step goes out, counted from the trigger's start; ``step``
    (from 1) picks one message, None every message. A campaign's message delay shifts its
    sends. Steps must stay in order (else :class:`~funnelkit.StrategyError`).

    >>> TriggerDelay("abandoned cart", after="2h", step=1).label()
    "after('abandoned cart' step 1) = 2h"
    """

    kind: ClassVar[str] = "trigger_delay"
    trigger: str
    after: Duration | None = None
    factor: float | None = None
    step: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "trigger", _name(self.trigger, "TriggerDelay.trigger"))
        object.__setattr__(self, "step", _step(self.step, "TriggerDelay.step"))
        if _one_of(self, "after", "factor") == "factor":
            object.__setattr__(self, "factor", _factor(self.factor, "TriggerDelay.factor"))
        else:
            to_units(self.after, "hours", "TriggerDelay.after")

    def label(self) -> str:
        which = f"{self.trigger!r}" + ("" if self.step is None else f" step {self.step}")
        if self.factor is not None:
            return f"after({which}) {_times(self.factor)}"
        shown = self.after if isinstance(self.after, (str, int, float)) else duration_json(self.after)
        return f"after({which}) = {shown}"

    def apply(self, base: Base) -> Base:
        """A new strategy whose step(s) go out ``after`` (or ``after * factor``) from the start."""
        where = self.label()
        strategy = _strategy(base, where)
        sender = _sender(strategy, self.trigger, where)

        def edit(message: Message) -> Message:
            after = _scale_duration(message.after, self.factor) if self.factor is not None else self.after
            return dataclasses.replace(message, after=after)

        return base.replace(strategy=_with_sender(strategy, self.trigger, _edit_steps(sender, self.step, edit, where)))


@dataclass(frozen=True)
class TriggerDiscount(Change):
    """Set the discount (share of the order value given away when the offer is used) of a
    trigger's step (from 1; None: every step) or a campaign's message.

    >>> TriggerDiscount("abandoned cart", 0.1).label()
    "discount('abandoned cart') = 0.1"
    """

    kind: ClassVar[str] = "trigger_discount"
    trigger: str
    discount: float
    step: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "trigger", _name(self.trigger, "TriggerDiscount.trigger"))
        object.__setattr__(self, "discount", _amount(self.discount, "TriggerDiscount.discount", upper=1.0))
        object.__setattr__(self, "step", _step(self.step, "TriggerDiscount.step"))

    def label(self) -> str:
        which = f"{self.trigger!r}" + ("" if self.step is None else f" step {self.step}")
        return f"discount({which}) = {self.discount:g}"

    def apply(self, base: Base) -> Base:
        """A new strategy with the step's (or steps') discount set."""
        where = self.label()
        strategy = _strategy(base, where)
        sender = _sender(strategy, self.trigger, where)
        edited = _edit_steps(sender, self.step, lambda m: dataclasses.replace(m, discount=self.discount), where)
        return base.replace(strategy=_with_sender(strategy, self.trigger, edited))


@dataclass(frozen=True)
class TriggerOff(Change):
    """Switch a trigger (or campaign) off: the strategy without it.

    >>> TriggerOff("abandoned cart").label()
    "'abandoned cart' off"
    """

    kind: ClassVar[str] = "trigger_off"
    trigger: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "trigger", _name(self.trigger, "TriggerOff.trigger"))

    def label(self) -> str:
        return f"{self.trigger!r} off"

    def apply(self, base: Base) -> Base:
        """A new strategy without the trigger."""
        where = self.label()
        strategy = _strategy(base, where)
        _sender(strategy, self.trigger, where)
        return base.replace(strategy=_with_sender(strategy, self.trigger, None))


@dataclass(frozen=True)
class ControlShare(Change):
    """Set the control share (leads held out, in [0, 1)) of a trigger or campaign; None:
    every trigger and campaign.

    >>> ControlShare(0.2, "abandoned cart").label()
    "control share('abandoned cart') = 0.2"
    """

    kind: ClassVar[str] = "control_share"
    share: float
    trigger: str | None = None

    def __post_init__(self) -> None:
        share = _amount(self.share, "ControlShare.share", upper=1.0)
        if share >= 1.0:
            raise ScenarioError("ControlShare.share must be below 1 (1 would leave no one to message)",
                                subject="ControlShare.share")
        object.__setattr__(self, "share", share)
        if self.trigger is not None:
            object.__setattr__(self, "trigger", _name(self.trigger, "ControlShare.trigger"))

    def label(self) -> str:
        which = "" if self.trigger is None else f"({self.trigger!r})"
        return f"control share{which} = {self.share:g}"

    def apply(self, base: Base) -> Base:
        """A new strategy with the control share(s) set."""
        where = self.label()
        strategy = _strategy(base, where)
        names = strategy.senders if self.trigger is None else [_sender(strategy, self.trigger, where).name]
        for name in names:
            sender = _sender(strategy, name, where)
            strategy = _with_sender(strategy, name, dataclasses.replace(sender, control_share=self.share))
        return base.replace(strategy=strategy)


# -- documents -------------------------------------------------------------------------------
#: Every change by its ``kind`` in scenario documents.
CHANGES: Mapping[str, type[Change]] = {
    cls.kind: cls
    for cls in (EdgeProbability, RemoveEdge, Reroute, ScaleHolding, ScaleDelay, OrderValue, ChannelTraffic,
                ChannelCost, Margin, TriggerDelay, TriggerDiscount, TriggerOff, ControlShare)
}


def change_from_dict(document: Mapping[str, Any], where: str = "change") -> Change:
    """The change a ``{"kind": ..., ...}`` document describes (see :meth:`Change.to_dict`).

    >>> change_from_dict({"kind": "margin", "margin": 0.4})
    Margin(margin=0.4, factor=None)
    """
    if not isinstance(document, Mapping):
        raise ScenarioFormatError(f"{where}: a change must be an object with a 'kind'", subject=where)
    cls = CHANGES.get(str(document.get("kind")))
    if cls is None:
        raise ScenarioFormatError(f"{where}: unknown change kind {document.get('kind')!r} (kinds: "
                                  f"{', '.join(CHANGES)})", subject=where)
    known = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    arguments = {k: v for k, v in document.items() if k != "kind"}
    unknown = sorted(set(arguments) - known)
    if unknown:
        raise ScenarioFormatError(f"{where}: unknown fields {unknown} for a {cls.kind!r} change", subject=where)
    try:
        return cls(**arguments)
    except TypeError as error:
        raise ScenarioFormatError(f"{where}: {error}", subject=where) from error
