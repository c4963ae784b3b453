"""Changes to the funnel: edge probabilities (under the funnel's remainder rule), removed and
rerouted edges, holding times and delays scaled exactly, stage values (see
:mod:`funnelkit.forecasting.changes` for the rules).

    >>> import funnelkit as fk
    >>> scale_distribution(fk.LogNormal(0.0, 0.5), 2.0).params()["mu"] == math.log(2.0)
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from funnelkit import _core
from funnelkit.errors import DistributionError, RowSumError, UnknownStageError
from funnelkit.forecasting._change import (
    Change,
    ScenarioError,
    UnknownEdgeError,
    _amount,
    _factor,
    _name,
    _one_of,
    _times,
)
from funnelkit.forecasting.base import Base
from funnelkit.funnel import Funnel

__all__ = ["EdgeProbability", "OrderValue", "RemoveEdge", "Reroute", "ScaleDelay", "ScaleHolding", "scale_distribution"]

#: Rows may exceed 1 by this much (the engine's tolerance, model/funnel.hpp).
ROW_TOLERANCE = 1e-9


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
